//! The `jetstress.check/1` document, its verdict, the terminal table
//! (tool × outcome, then each finding with the exact arguments sent) and
//! `check.md`. Pure.

use serde::{Deserialize, Serialize};

use super::lifecycle::{Lifecycle, Limits};
use super::outcome::Outcome;

pub const SCHEMA: &str = "jetstress.check/1";

/// PASS or FAIL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckResult {
    #[serde(rename = "PASS")]
    Pass,
    #[serde(rename = "FAIL")]
    Fail,
}

impl CheckResult {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckResult::Pass => "PASS",
            CheckResult::Fail => "FAIL",
        }
    }
}

/// How many probes of a tool ended each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeCounts {
    pub graceful: u32,
    pub accepted: u32,
    pub hang: u32,
    pub crash: u32,
    pub protocol: u32,
}

impl OutcomeCounts {
    pub fn add(&mut self, o: Outcome) {
        *self.get_mut(o) += 1;
    }

    fn get_mut(&mut self, o: Outcome) -> &mut u32 {
        match o {
            Outcome::Graceful => &mut self.graceful,
            Outcome::Accepted => &mut self.accepted,
            Outcome::Hang => &mut self.hang,
            Outcome::Crash => &mut self.crash,
            Outcome::Protocol => &mut self.protocol,
        }
    }

    pub fn get(&self, o: Outcome) -> u32 {
        match o {
            Outcome::Graceful => self.graceful,
            Outcome::Accepted => self.accepted,
            Outcome::Hang => self.hang,
            Outcome::Crash => self.crash,
            Outcome::Protocol => self.protocol,
        }
    }
}

/// A probe worth a look: its name, outcome and what happened (the exact
/// arguments sent, long strings shortened, and the server's answer; for a
/// crash, the tail of its stderr).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub probe: String,
    pub outcome: Outcome,
    pub detail: String,
}

/// The probes of one tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolReport {
    pub tool: String,
    pub probes: u32,
    pub outcomes: OutcomeCounts,
    /// Every probe worse than graceful, and a refused control call.
    pub findings: Vec<Finding>,
}

/// One protocol probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProtocolReport {
    pub probe: String,
    pub outcome: Outcome,
    /// What happened (the terminal and `check.md` show it).
    #[serde(skip)]
    pub detail: String,
}

/// A whole check: `jetstress.check/1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    pub schema: String,
    pub target: String,
    pub tools: Vec<ToolReport>,
    pub protocol: Vec<ProtocolReport>,
    pub lifecycle: Option<Lifecycle>,
    pub result: CheckResult,
}

impl CheckReport {
    /// A report with its verdict: FAIL when any probe is worse than
    /// graceful or the lifecycle broke a limit.
    pub fn new(
        target: String,
        tools: Vec<ToolReport>,
        protocol: Vec<ProtocolReport>,
        lifecycle: Option<Lifecycle>,
        limits: &Limits,
    ) -> CheckReport {
        let mut r = CheckReport {
            schema: SCHEMA.into(),
            target,
            tools,
            protocol,
            lifecycle,
            result: CheckResult::Pass,
        };
        if !r.failures(limits).is_empty() {
            r.result = CheckResult::Fail;
        }
        r
    }

    /// Why the check fails, one line each (empty: it passes).
    pub fn failures(&self, limits: &Limits) -> Vec<String> {
        let mut out = Vec::new();
        for t in &self.tools {
            let bad: Vec<String> = Outcome::ALL
                .iter()
                .filter(|o| o.is_finding() && t.outcomes.get(**o) > 0)
                .map(|o| format!("{} {o}", t.outcomes.get(*o)))
                .collect();
            if !bad.is_empty() {
                out.push(format!("tool {}: {}", t.tool, bad.join(", ")));
            }
        }
        for p in self.protocol.iter().filter(|p| p.outcome.is_finding()) {
            out.push(format!("protocol {}: {}", p.probe, p.outcome));
        }
        if let Some(lc) = &self.lifecycle {
            out.extend(
                lc.broken(limits)
                    .into_iter()
                    .map(|b| format!("lifecycle: {b}")),
            );
        }
        out
    }

    /// The terminal table: tool × outcome counts, the findings, the
    /// protocol probes, the lifecycle and the verdict.
    pub fn table(&self, limits: &Limits) -> String {
        let mut out = format!("check of {}\n", self.target);
        let w = self
            .tools
            .iter()
            .map(|t| t.tool.chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        out.push_str(&format!("{:<w$}  probes", "tool"));
        for o in Outcome::ALL {
            out.push_str(&format!(" {:>9}", o.as_str()));
        }
        out.push('\n');
        for t in &self.tools {
            out.push_str(&format!("{:<w$}  {:>6}", t.tool, t.probes));
            for o in Outcome::ALL {
                out.push_str(&format!(" {:>9}", t.outcomes.get(o)));
            }
            out.push('\n');
        }
        let findings: Vec<(&str, &Finding)> = self
            .tools
            .iter()
            .flat_map(|t| t.findings.iter().map(move |f| (t.tool.as_str(), f)))
            .collect();
        if !findings.is_empty() {
            out.push_str("findings:\n");
            for (tool, f) in findings {
                out.push_str(&format!(
                    "  {tool} {} [{}]: {}\n",
                    f.probe, f.outcome, f.detail
                ));
            }
        }
        if !self.protocol.is_empty() {
            out.push_str("protocol:\n");
            for p in &self.protocol {
                out.push_str(&format!(
                    "  {:<20} {:<9} {}\n",
                    p.probe,
                    p.outcome.as_str(),
                    p.detail
                ));
            }
        }
        if let Some(lc) = &self.lifecycle {
            out.push_str(&lifecycle_lines(lc, limits, "  "));
        }
        for f in self.failures(limits) {
            out.push_str(&format!("FAIL {f}\n"));
        }
        out.push_str(&format!("result: {}\n", self.result.as_str()));
        out
    }

    /// `check.md`.
    pub fn markdown(&self, limits: &Limits) -> String {
        let mut md = format!(
            "# jetstress check: {}\n\n**Result: {}**\n\n",
            self.target,
            self.result.as_str()
        );
        for f in self.failures(limits) {
            md.push_str(&format!("- {f}\n"));
        }
        md.push_str("\n## Tools\n\n| tool | probes |");
        for o in Outcome::ALL {
            md.push_str(&format!(" {o} |"));
        }
        md.push_str("\n|---|---:|");
        for _ in Outcome::ALL {
            md.push_str("---:|");
        }
        md.push('\n');
        for t in &self.tools {
            md.push_str(&format!("| `{}` | {} |", t.tool, t.probes));
            for o in Outcome::ALL {
                md.push_str(&format!(" {} |", t.outcomes.get(o)));
            }
            md.push('\n');
        }
        let any = self.tools.iter().any(|t| !t.findings.is_empty());
        if any {
            md.push_str("\n## Findings\n\n");
            for t in &self.tools {
                for f in &t.findings {
                    md.push_str(&format!(
                        "- `{}` `{}` **{}**: {}\n",
                        t.tool,
                        f.probe,
                        f.outcome,
                        f.detail.replace('|', "\\|")
                    ));
                }
            }
        }
        if !self.protocol.is_empty() {
            md.push_str("\n## Protocol\n\n| probe | outcome | what happened |\n|---|---|---|\n");
            for p in &self.protocol {
                md.push_str(&format!(
                    "| `{}` | {} | {} |\n",
                    p.probe,
                    p.outcome,
                    p.detail.replace('|', "\\|")
                ));
            }
        }
        if let Some(lc) = &self.lifecycle {
            md.push_str("\n## Lifecycle\n\n");
            md.push_str(&lifecycle_lines(lc, limits, "- "));
        }
        md
    }
}

fn lifecycle_lines(lc: &Lifecycle, limits: &Limits, lead: &str) -> String {
    let mut out = format!("lifecycle: {} instance(s)\n", lc.instances);
    let i = &lc.initialize_ms;
    out.push_str(&format!(
        "{lead}initialize p50 {:.0} ms · p95 {:.0} ms · max {:.0} ms (limit {:.0} ms)\n",
        i.p50, i.p95, i.max, limits.initialize_ms
    ));
    out.push_str(&format!(
        "{lead}RSS after tools/list mean {:.1} MB · max {:.1} MB (limit {:.0} MB) · open fds max {}\n",
        lc.rss_mb.mean, lc.rss_mb.max, limits.rss_mb, lc.fds.max
    ));
    out.push_str(&format!(
        "{lead}shutdown: {} on stdin close · {} on SIGTERM · {} on SIGKILL · {} process(es) left behind\n",
        lc.shutdown.stdin, lc.shutdown.sigterm, lc.shutdown.sigkill, lc.orphans
    ));
    for f in &lc.failed {
        out.push_str(&format!("{lead}did not come up: {f}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(name: &str, outcomes: &[Outcome]) -> ToolReport {
        let mut counts = OutcomeCounts::default();
        let mut findings = Vec::new();
        for (i, o) in outcomes.iter().enumerate() {
            counts.add(*o);
            if o.is_finding() {
                findings.push(Finding {
                    probe: format!("p{i}"),
                    outcome: *o,
                    detail: "sent {} → a normal result".into(),
                });
            }
        }
        ToolReport {
            tool: name.into(),
            probes: outcomes.len() as u32,
            outcomes: counts,
            findings,
        }
    }

    #[test]
    fn the_verdict_follows_the_findings_and_the_limits() {
        let limits = Limits::default();
        let ok = CheckReport::new(
            "t".into(),
            vec![tool("a", &[Outcome::Graceful, Outcome::Graceful])],
            vec![ProtocolReport {
                probe: "batch".into(),
                outcome: Outcome::Graceful,
                detail: String::new(),
            }],
            Some(Lifecycle {
                instances: 1,
                ..Lifecycle::default()
            }),
            &limits,
        );
        assert_eq!(ok.result, CheckResult::Pass);
        let v = serde_json::to_value(&ok).unwrap();
        assert_eq!(v["schema"], "jetstress.check/1");
        assert_eq!(v["result"], "PASS");
        assert_eq!(v["tools"][0]["outcomes"]["graceful"], 2);
        assert!(v["protocol"][0].get("detail").is_none());
        let back: CheckReport = serde_json::from_value(v).unwrap();
        assert_eq!(back.tools[0].outcomes, ok.tools[0].outcomes);

        let bad = CheckReport::new(
            "t".into(),
            vec![tool(
                "a",
                &[Outcome::Graceful, Outcome::Accepted, Outcome::Accepted],
            )],
            vec![],
            None,
            &limits,
        );
        assert_eq!(bad.result, CheckResult::Fail);
        assert_eq!(bad.failures(&limits), ["tool a: 2 accepted"]);
        let table = bad.table(&limits);
        assert!(
            table.contains("a p1 [accepted]: sent {} → a normal result"),
            "{table}"
        );
        assert!(table.ends_with("result: FAIL\n"), "{table}");
        let md = bad.markdown(&limits);
        assert!(md.contains("**Result: FAIL**"), "{md}");
        assert!(md.contains("| `a` | 3 | 1 | 2 | 0 | 0 | 0 |"), "{md}");

        let mut lc = Lifecycle {
            instances: 2,
            ..Lifecycle::default()
        };
        lc.orphans = 1;
        let leaky = CheckReport::new("t".into(), vec![], vec![], Some(lc), &limits);
        assert_eq!(leaky.result, CheckResult::Fail);
        assert_eq!(
            leaky.failures(&limits),
            ["lifecycle: 1 process(es) left behind"]
        );
    }
}
