//! The tool mix: weighted entries from the scenario, resolved against the
//! tools each target lists, the HTTP and the LLM endpoints into the ops the engine
//! schedules (`target:tool` names, schema-default arguments, and the
//! invalid probes an `invalid_pct` share of calls draws from).

use std::sync::Arc;

use rmcp::model::JsonObject;

use rand::Rng;

use super::invalid::{load_probes, InvalidOp};
use crate::load::drivers::http::HttpEndpoint;
use crate::load::drivers::llm::{LlmEndpoint, LlmSample};
use crate::load::drivers::mcp::{schema_default_args, McpTarget};
use crate::load::stats::ErrorKind;

/// One weighted entry of the tool mix.
#[derive(Debug, Clone, PartialEq)]
pub struct MixEntry {
    /// `target:tool` for MCP, an endpoint name for HTTP (a bare tool name when there is one MCP target).
    pub tool: String,
    pub weight: f64,
    /// Arguments; `None`: the tool's schema defaults.
    pub args: Option<JsonObject>,
    /// Share of this entry's calls, %, replaced by invalid inputs; `None`: the run's `invalid_pct`.
    pub invalid_pct: Option<f64>,
}

pub(super) enum OpKind {
    Mcp {
        target: Arc<McpTarget>,
        tool: String,
        args: Option<Arc<JsonObject>>,
    },
    Http(HttpEndpoint),
    Llm(LlmEndpoint),
}

/// How one call ended: its error kind (`None`: it succeeded), the HTTP
/// status of an LLM endpoint that refused it, and an LLM reply's figures.
pub(super) struct Reply {
    pub(super) error: Option<ErrorKind>,
    pub(super) status: Option<u16>,
    pub(super) llm: Option<Box<LlmSample>>,
}

impl From<Result<(), ErrorKind>> for Reply {
    fn from(r: Result<(), ErrorKind>) -> Self {
        Reply {
            error: r.err(),
            status: None,
            llm: None,
        }
    }
}

pub(super) struct Op {
    pub(super) name: String,
    pub(super) kind: OpKind,
    /// MCP ops with an invalid share whose tool's schema forbids something.
    pub(super) invalid: Option<InvalidOp>,
}

impl Op {
    /// Send one call as `user` (on the user's own session of an MCP target;
    /// HTTP and LLM endpoints share one connection pool; `None`: round
    /// robin), or invalid probe `probe` in its place.
    ///
    /// The MCP and LLM calls' futures (rmcp's, the stream reader's) are
    /// boxed: unboxed they made every request's task 3.8 KB, copied on each
    /// spawn even for an HTTP request, whose 0.5 KB future stays inline.
    pub(super) async fn send(&self, user: Option<usize>, probe: Option<usize>) -> Reply {
        match &self.kind {
            OpKind::Mcp { target, tool, args } => {
                let args = match probe {
                    Some(i) => self.invalid.as_ref().and_then(|inv| inv.probes.get(i)),
                    None => args.as_ref(),
                };
                match user {
                    Some(u) => Box::pin(target.call_on(u, tool, args)).await.into(),
                    None => Box::pin(target.call(tool, args)).await.into(),
                }
            }
            OpKind::Http(ep) => ep.call().await.into(),
            OpKind::Llm(ep) => match Box::pin(ep.call()).await {
                Ok(s) => Reply {
                    error: None,
                    status: None,
                    llm: Some(Box::new(s)),
                },
                Err(f) => Reply {
                    error: Some(f.kind),
                    status: f.status,
                    llm: None,
                },
            },
        }
    }

    pub(super) fn is_llm(&self) -> bool {
        matches!(self.kind, OpKind::Llm(_))
    }

    /// Whether this call should be an invalid one, and which probe.
    pub(super) fn draw_invalid(&self, rng: &mut impl Rng) -> Option<usize> {
        let inv = self.invalid.as_ref()?;
        (rng.random::<f64>() < inv.frac).then(|| rng.random_range(0..inv.probes.len()))
    }

    /// Probes this op can draw from.
    pub(super) fn probe_count(&self) -> usize {
        self.invalid.as_ref().map_or(0, |i| i.probes.len())
    }

    /// Is `user`'s own session of this op's target up?
    pub(super) fn session_ready(&self, user: usize) -> bool {
        match &self.kind {
            OpKind::Mcp { target, .. } => target.session_ready(user),
            OpKind::Http(_) | OpKind::Llm(_) => true,
        }
    }
}

/// The ops and weights of the mix, and the entries skipped because they name
/// a target in `left_out` (one that never connected). A mix that names only
/// such targets' tools is an error.
pub(super) fn resolve_mix(
    mix: &[MixEntry],
    targets: &[Arc<McpTarget>],
    endpoints: &[HttpEndpoint],
    llms: &[LlmEndpoint],
    left_out: &[&str],
    invalid_pct: f64,
) -> anyhow::Result<(Vec<Op>, Vec<f64>, Vec<String>)> {
    let mut ops = Vec::new();
    let mut weights = Vec::new();
    let mut skipped = Vec::new();
    if mix.is_empty() {
        let (ops, weights) = every_op(targets, endpoints, llms, invalid_pct);
        return Ok((ops, weights, skipped));
    }
    for m in mix {
        if !(m.weight.is_finite() && m.weight >= 0.0) {
            anyhow::bail!("mix entry '{}': weight must be ≥ 0", m.tool);
        }
        if let Some(op) = endpoint_op(m, endpoints, llms)? {
            ops.push(op);
            weights.push(m.weight);
            continue;
        }
        let (target, tool) = match m.tool.rsplit_once(':') {
            Some((tn, _)) if left_out.contains(&tn) => {
                skipped.push(m.tool.clone());
                continue;
            }
            // A bare tool name of the one MCP target, which never connected.
            None if targets.is_empty() && left_out.len() == 1 => {
                skipped.push(m.tool.clone());
                continue;
            }
            Some((tn, tool)) => {
                let t = targets.iter().find(|t| t.name == tn).ok_or_else(|| {
                    let known: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
                    anyhow::anyhow!(
                        "mix entry '{}': no target named '{tn}' (targets: {})",
                        m.tool,
                        known.join(", ")
                    )
                })?;
                (t, tool)
            }
            None if targets.len() == 1 => (&targets[0], m.tool.as_str()),
            None => anyhow::bail!(
                "mix entry '{}': name the target as 'target:tool' (or an HTTP endpoint)",
                m.tool
            ),
        };
        let listed = target
            .tools
            .iter()
            .find(|t| t.name == tool)
            .ok_or_else(|| {
                let known: Vec<&str> = target.tools.iter().map(|t| t.name.as_ref()).collect();
                anyhow::anyhow!(
                    "mix entry '{}': target '{}' has no tool '{tool}' (tools: {})",
                    m.tool,
                    target.name,
                    known.join(", ")
                )
            })?;
        let args = m
            .args
            .clone()
            .unwrap_or_else(|| schema_default_args(&listed.input_schema));
        ops.push(Op {
            name: format!("{}:{tool}", target.name),
            kind: OpKind::Mcp {
                target: target.clone(),
                tool: tool.to_string(),
                args: Some(Arc::new(args)),
            },
            invalid: invalid_op(m.invalid_pct.unwrap_or(invalid_pct), &listed.input_schema),
        });
        weights.push(m.weight);
    }
    if ops.is_empty() && !skipped.is_empty() {
        anyhow::bail!(
            "the tool mix names only tools of targets that did not connect ({})",
            skipped.join(", ")
        );
    }
    if weights.iter().sum::<f64>() <= 0.0 && !ops.is_empty() {
        anyhow::bail!("the tool mix has no positive weight");
    }
    Ok((ops, weights, skipped))
}

/// A mix entry naming an HTTP or LLM endpoint, as its op (`None`: it names an MCP tool).
fn endpoint_op(
    m: &MixEntry,
    endpoints: &[HttpEndpoint],
    llms: &[LlmEndpoint],
) -> anyhow::Result<Option<Op>> {
    let kind = if let Some(ep) = llms.iter().find(|e| e.spec.name == m.tool) {
        OpKind::Llm(ep.clone())
    } else if let Some(ep) = endpoints.iter().find(|e| e.spec.name == m.tool) {
        OpKind::Http(ep.clone())
    } else {
        return Ok(None);
    };
    if m.invalid_pct.is_some_and(|p| p > 0.0) {
        anyhow::bail!(
            "mix entry '{}': invalid_pct applies to MCP tools (an HTTP endpoint has no input schema)",
            m.tool
        );
    }
    Ok(Some(Op {
        name: m.tool.clone(),
        kind,
        invalid: None,
    }))
}

/// No mix given: every listed tool of every target, every HTTP and LLM
/// endpoint, at weight 1.
fn every_op(
    targets: &[Arc<McpTarget>],
    endpoints: &[HttpEndpoint],
    llms: &[LlmEndpoint],
    invalid_pct: f64,
) -> (Vec<Op>, Vec<f64>) {
    let mut ops = Vec::new();
    for t in targets {
        for tool in &t.tools {
            ops.push(Op {
                name: format!("{}:{}", t.name, tool.name),
                kind: OpKind::Mcp {
                    target: t.clone(),
                    tool: tool.name.to_string(),
                    args: Some(Arc::new(schema_default_args(&tool.input_schema))),
                },
                invalid: invalid_op(invalid_pct, &tool.input_schema),
            });
        }
    }
    for ep in endpoints {
        ops.push(Op {
            name: ep.spec.name.clone(),
            kind: OpKind::Http(ep.clone()),
            invalid: None,
        });
    }
    for ep in llms {
        ops.push(Op {
            name: ep.spec.name.clone(),
            kind: OpKind::Llm(ep.clone()),
            invalid: None,
        });
    }
    let weights = vec![1.0; ops.len()];
    (ops, weights)
}

/// An op's invalid share, if it has one and its tool's schema forbids anything.
fn invalid_op(pct: f64, schema: &JsonObject) -> Option<InvalidOp> {
    if pct <= 0.0 {
        return None;
    }
    let probes = load_probes(schema);
    (!probes.is_empty()).then(|| InvalidOp {
        frac: (pct / 100.0).min(1.0),
        probes,
    })
}
