//! A whole check: connect, list the tools, send each tool's probes and judge
//! them (restarting a server that died or stopped answering), the protocol
//! probes, then the lifecycle of N fresh instances. An HTTP target gets
//! two clients: rmcp's typed one and the raw one (for what the typed one
//! cannot send), each with its own session. Every child is killed
//! when the check ends or its future is dropped (an interrupted check).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::http::HttpServer;
use super::lifecycle::{self, Limits};
use super::outcome::{classify, Judged, Outcome, Reply};
use super::protocol::{self, GoodCall, ProtocolProbe, CONCURRENT};
use super::protocol_http;
use super::raw::{RawServer, StdioSpec};
use super::rawhttp::RawHttp;
use super::report::{CheckReport, Finding, OutcomeCounts, ProtocolReport, ToolReport};
use super::CheckError;
use crate::load::invalid::{derive, show_arguments, Expect, Probe};

/// The server a check probes.
#[derive(Debug, Clone)]
pub enum CheckTarget {
    Stdio(StdioSpec),
    Http(String),
}

/// What to check and how.
#[derive(Debug, Clone)]
pub struct CheckPlan {
    pub target: CheckTarget,
    /// The target as the report names it.
    pub name: String,
    /// A file-safe stem for the stderr logs.
    pub label: String,
    /// Lifecycle instances (stdio only; 0: no lifecycle check).
    pub instances: usize,
    /// How long a call may take before it counts as a hang.
    pub timeout: Duration,
    pub log_dir: PathBuf,
    pub limits: Limits,
}

/// How long a server may take to come up (at least the call timeout).
const START_TIMEOUT: Duration = Duration::from_secs(10);

enum Conn {
    Stdio(Box<RawServer>),
    Http {
        typed: HttpServer,
        raw: Box<RawHttp>,
    },
}

struct Runner<'a> {
    plan: &'a CheckPlan,
    conn: Conn,
    spawns: usize,
    /// Set when a server could not be restarted: later probes are not sent.
    broken: Option<String>,
    progress: &'a mut dyn FnMut(Step, &str),
}

/// What a progress line tells: the check began with so many steps (each
/// tool, the protocol probes, the lifecycle), a step ended, or a note.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Started { steps: usize },
    Finished,
    Note,
}

impl CheckPlan {
    fn start_timeout(&self) -> Duration {
        self.timeout.max(START_TIMEOUT)
    }
}

async fn spawn_stdio(
    plan: &CheckPlan,
    spec: &StdioSpec,
    seq: usize,
    initialize: bool,
) -> Result<RawServer, CheckError> {
    let mut s = RawServer::spawn(spec, &plan.log_dir, &format!("{}-{seq}", plan.label))?;
    if initialize {
        s.initialize(plan.start_timeout()).await?;
    }
    Ok(s)
}

impl Runner<'_> {
    async fn restart(&mut self) {
        match &mut self.conn {
            Conn::Stdio(old) => {
                old.kill().await;
                let CheckTarget::Stdio(spec) = &self.plan.target else {
                    return;
                };
                self.spawns += 1;
                match spawn_stdio(self.plan, spec, self.spawns, true).await {
                    Ok(s) => self.conn = Conn::Stdio(Box::new(s)),
                    Err(e) => self.broken = Some(e.to_string()),
                }
            }
            Conn::Http { typed, raw } => {
                let t = self.plan.start_timeout();
                let renewed = match typed.reconnect(t).await {
                    Ok(()) => raw.initialize(t).await,
                    Err(e) => Err(e),
                };
                if let Err(e) = renewed {
                    self.broken = Some(e.to_string());
                }
            }
        }
        if let Some(b) = &self.broken {
            (self.progress)(
                Step::Note,
                &format!("the server could not be restarted: {b}"),
            );
        }
    }

    async fn alive(&mut self) -> Reply {
        let t = self.plan.timeout;
        match &mut self.conn {
            Conn::Stdio(s) => s.ping(t).await,
            Conn::Http { typed, .. } => typed.alive(t).await,
        }
    }

    /// Send one probe and judge it. Over HTTP, arguments that are not an
    /// object go through the raw client, and its own session must still
    /// answer after them.
    async fn probe(&mut self, tool: &str, p: &Probe) -> Judged {
        if let Some(b) = &self.broken {
            return Judged {
                outcome: Outcome::Crash,
                detail: format!("not sent: the server could not be restarted: {b}"),
                normal: false,
            };
        }
        let t = self.plan.timeout;
        let (reply, by_raw) = match &mut self.conn {
            Conn::Stdio(s) => (s.call_tool(tool, &p.arguments, t).await, false),
            Conn::Http { typed, raw } => match typed.call_tool(tool, &p.arguments, t).await {
                Some(r) => (r, false),
                None => (raw.call_tool(tool, &p.arguments, t).await, true),
            },
        };
        let after = match (&self.conn, &reply) {
            (_, Reply::Closed(_)) => None,
            (Conn::Http { raw, .. }, _) if by_raw => Some(raw.alive(None, t).await),
            _ => Some(self.alive().await),
        };
        let strays = match &mut self.conn {
            Conn::Stdio(s) => s.take_strays(),
            Conn::Http { raw, .. } => raw.take_strays(),
        };
        let judged = classify(p.expect, &reply, &strays, after.as_ref());
        // Gone, silent, or (over HTTP) its session refused: start afresh.
        if matches!(reply, Reply::Closed(_))
            || matches!(
                after,
                Some(Reply::Closed(_) | Reply::Timeout(_) | Reply::HttpStatus { .. })
            )
        {
            self.restart().await;
        }
        judged
    }

    /// Every probe of one tool.
    async fn tool(&mut self, tool: &Value, good: &mut Option<(GoodCall, Duration)>) -> ToolReport {
        let name = tool
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let schema: Map<String, Value> = tool
            .get("inputSchema")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let began = Instant::now();
        let mut report = ToolReport {
            tool: name.clone(),
            probes: 0,
            outcomes: OutcomeCounts::default(),
            findings: Vec::new(),
        };
        for p in derive(&schema) {
            let sent = Instant::now();
            let j = self.probe(&name, &p).await;
            report.probes += 1;
            report.outcomes.add(j.outcome);
            let detail = format!("sent {} → {}", show_arguments(&p.arguments), j.detail);
            if p.expect == Expect::Control && j.outcome == Outcome::Graceful {
                if j.normal {
                    let took = sent.elapsed();
                    if good.as_ref().is_none_or(|(_, t)| took < *t) {
                        *good = Some((
                            GoodCall {
                                tool: name.clone(),
                                arguments: p.arguments.clone(),
                            },
                            took,
                        ));
                    }
                } else {
                    report.findings.push(Finding {
                        probe: p.name.clone(),
                        outcome: j.outcome,
                        detail: format!("the control call was refused: {detail}"),
                    });
                }
            }
            if j.outcome.is_finding() {
                report.findings.push(Finding {
                    probe: p.name,
                    outcome: j.outcome,
                    detail,
                });
            }
        }
        (self.progress)(
            Step::Finished,
            &format!(
                "tool {name}: {} probes, {} finding(s) ({:.1} s)",
                report.probes,
                report
                    .findings
                    .iter()
                    .filter(|f| f.outcome.is_finding())
                    .count(),
                began.elapsed().as_secs_f64()
            ),
        );
        report
    }

    /// The protocol probes a stdio server gets.
    async fn protocol_stdio(
        &mut self,
        spec: &StdioSpec,
        good: Option<&GoodCall>,
    ) -> Vec<ProtocolReport> {
        let mut out = Vec::new();
        for p in ProtocolProbe::ALL.into_iter().filter(|p| p.over_stdio()) {
            let t = self.plan.timeout;
            let j = if let Some(b) = &self.broken {
                Judged {
                    outcome: Outcome::Crash,
                    detail: format!("not sent: the server could not be restarted: {b}"),
                    normal: false,
                }
            } else if p.needs_fresh_server() {
                self.spawns += 1;
                match spawn_stdio(self.plan, spec, self.spawns, false).await {
                    Ok(mut fresh) => {
                        // It is only starting: give it the start timeout.
                        let j = protocol::run(p, &mut fresh, self.plan.start_timeout(), good).await;
                        fresh.kill().await;
                        j
                    }
                    Err(e) => Judged {
                        outcome: Outcome::Crash,
                        detail: e.to_string(),
                        normal: false,
                    },
                }
            } else {
                let Conn::Stdio(s) = &mut self.conn else {
                    continue;
                };
                let j = protocol::run(p, s, t, good).await;
                if matches!(j.outcome, Outcome::Crash | Outcome::Hang) {
                    self.restart().await;
                }
                j
            };
            out.push(ProtocolReport {
                probe: p.as_str().to_string(),
                outcome: j.outcome,
                detail: j.detail,
            });
        }
        out
    }

    /// The protocol probes an HTTP server gets: the raw client's, and the
    /// 32 concurrent calls through the typed one.
    async fn protocol_http(&mut self, good: Option<&GoodCall>) -> Vec<ProtocolReport> {
        let mut out = Vec::new();
        let mut not_sent = Vec::new();
        for p in ProtocolProbe::ALL.into_iter().filter(|p| p.over_http()) {
            let t = self.plan.timeout;
            let j = if let Some(b) = &self.broken {
                Judged {
                    outcome: Outcome::Crash,
                    detail: format!("not sent: the server could not be restarted: {b}"),
                    normal: false,
                }
            } else {
                let Conn::Http { typed, raw } = &self.conn else {
                    continue;
                };
                let sent = if p == ProtocolProbe::Concurrent {
                    concurrent_http(typed, good, t)
                        .await
                        .ok_or(protocol_http::NotSent::NoGoodCall)
                } else {
                    protocol_http::run(p, raw, t, good).await
                };
                match sent {
                    Ok(j) => j,
                    Err(why) => {
                        if why != protocol_http::NotSent::Elsewhere {
                            not_sent.push(format!("{}: {why}", p.as_str()));
                        }
                        continue;
                    }
                }
            };
            if matches!(j.outcome, Outcome::Crash | Outcome::Hang) {
                self.restart().await;
            }
            out.push(ProtocolReport {
                probe: p.as_str().to_string(),
                outcome: j.outcome,
                detail: j.detail,
            });
        }
        if !not_sent.is_empty() {
            (self.progress)(
                Step::Note,
                &format!("protocol probes not sent: {}", not_sent.join("; ")),
            );
        }
        out
    }
}

/// [`CONCURRENT`] identical calls at once through rmcp's typed client
/// (`None` without a good call to make).
async fn concurrent_http(h: &HttpServer, good: Option<&GoodCall>, t: Duration) -> Option<Judged> {
    let g = good?;
    let replies =
        futures::future::join_all((0..CONCURRENT).map(|_| h.call_tool(&g.tool, &g.arguments, t)))
            .await;
    let replies: Vec<Reply> = replies.into_iter().flatten().collect();
    let hung = replies
        .iter()
        .filter(|r| matches!(r, Reply::Timeout(_)))
        .count();
    let gone = replies.iter().any(|r| matches!(r, Reply::Closed(_)));
    let mut kinds: Vec<&str> = replies
        .iter()
        .map(|r| match r {
            Reply::Result {
                is_error: false, ..
            } => "a result",
            Reply::Result { is_error: true, .. } => "an isError result",
            Reply::Error { .. } => "an error",
            _ => "no answer",
        })
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    let what = format!("{CONCURRENT} × tools/call {}", g.tool);
    let (outcome, detail) = if gone {
        (Outcome::Crash, format!("{what}: the connection dropped"))
    } else if hung > 0 {
        (Outcome::Hang, format!("{what}: {hung} unanswered"))
    } else if kinds.len() > 1 {
        (
            Outcome::Protocol,
            format!("{what}: the replies disagree ({})", kinds.join(" vs ")),
        )
    } else {
        (Outcome::Graceful, format!("{what}: all {}", kinds.join("")))
    };
    Some(Judged {
        outcome,
        detail,
        normal: false,
    })
}

/// Run a whole check. `progress` gets a line per tool and stage.
pub async fn run(
    plan: &CheckPlan,
    progress: &mut dyn FnMut(Step, &str),
) -> Result<CheckReport, CheckError> {
    let (conn, tools) = match &plan.target {
        CheckTarget::Stdio(spec) => {
            let mut s = spawn_stdio(plan, spec, 0, true).await?;
            let tools = s.list_tools(plan.timeout.max(START_TIMEOUT)).await?;
            (Conn::Stdio(Box::new(s)), tools)
        }
        CheckTarget::Http(url) => {
            let typed = HttpServer::connect(url, plan.start_timeout()).await?;
            let tools = typed.list_tools().await?;
            let mut raw = RawHttp::new(url)?;
            raw.initialize(plan.start_timeout()).await?;
            (
                Conn::Http {
                    typed,
                    raw: Box::new(raw),
                },
                tools,
            )
        }
    };
    let lifecycle_step =
        usize::from(matches!(plan.target, CheckTarget::Stdio(_)) && plan.instances > 0);
    progress(
        Step::Started {
            steps: tools.len() + 1 + lifecycle_step,
        },
        &format!("{}: {} tool(s)", plan.name, tools.len()),
    );
    let mut runner = Runner {
        plan,
        conn,
        spawns: 0,
        broken: None,
        progress,
    };
    let mut good = None;
    let mut reports = Vec::new();
    for t in &tools {
        reports.push(runner.tool(t, &mut good).await);
    }
    let good = good.map(|(g, _)| g);
    let began = Instant::now();
    let protocol = match &plan.target {
        CheckTarget::Stdio(spec) => runner.protocol_stdio(spec, good.as_ref()).await,
        CheckTarget::Http(_) => runner.protocol_http(good.as_ref()).await,
    };
    (runner.progress)(
        Step::Finished,
        &format!(
            "protocol: {} probes ({:.1} s)",
            protocol.len(),
            began.elapsed().as_secs_f64()
        ),
    );
    match &mut runner.conn {
        Conn::Stdio(s) => s.kill().await,
        Conn::Http { raw, .. } => raw.close().await,
    }
    let lifecycle = match &plan.target {
        CheckTarget::Stdio(spec) if plan.instances > 0 => {
            let began = Instant::now();
            let lc = lifecycle::run(
                spec,
                plan.instances,
                plan.start_timeout(),
                &plan.log_dir,
                &plan.label,
            )
            .await;
            (runner.progress)(
                Step::Finished,
                &format!(
                    "lifecycle: {} instance(s) ({:.1} s)",
                    lc.instances,
                    began.elapsed().as_secs_f64()
                ),
            );
            Some(lc)
        }
        _ => None,
    };
    Ok(CheckReport::new(
        plan.name.clone(),
        reports,
        protocol,
        lifecycle,
        &plan.limits,
    ))
}
