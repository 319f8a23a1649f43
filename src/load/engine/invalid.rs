//! Invalid inputs inside a load phase (`invalid_pct`): per MCP op, the
//! share of its calls replaced by a probe its tool's own schema forbids
//! (drawn at random from the probes `load::invalid` derives), and what the
//! server did with them — `graceful` (an error reply), `accepted` (a normal
//! result: it does not validate), `hang` (no answer within the timeout) or
//! `crash` (the session or process went away) — counted apart from the
//! valid calls, with the latency of the error replies beside. Fixed-size
//! state: one probe list per op (built once), four counters per op, one
//! histogram per phase.

use std::sync::Arc;

use rmcp::model::JsonObject;
use serde::{Deserialize, Serialize};

use crate::load::invalid::{derive, Expect};
use crate::load::stats::{ErrorKind, Hist, Percentiles};

/// Probes whose arguments serialize longer than this are left out of load
/// (the 1 MiB string of `jetstress check`): a phase keeps its probe lists
/// for its whole run, and a Nano has little memory to spare.
pub const MAX_LOAD_PROBE_BYTES: usize = 64 * 1024;

/// What the server did with one invalid call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvalidOutcome {
    Graceful,
    Accepted,
    Hang,
    Crash,
}

impl InvalidOutcome {
    pub const ALL: [InvalidOutcome; 4] = [
        InvalidOutcome::Graceful,
        InvalidOutcome::Accepted,
        InvalidOutcome::Hang,
        InvalidOutcome::Crash,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InvalidOutcome::Graceful => "graceful",
            InvalidOutcome::Accepted => "accepted",
            InvalidOutcome::Hang => "hang",
            InvalidOutcome::Crash => "crash",
        }
    }

    /// The outcome of a call that ended this way (`None`: it was never sent).
    pub fn of(result: Result<(), ErrorKind>) -> Option<InvalidOutcome> {
        match result {
            Ok(()) => Some(InvalidOutcome::Accepted),
            Err(ErrorKind::Rpc | ErrorKind::Tool | ErrorKind::Http) => {
                Some(InvalidOutcome::Graceful)
            }
            Err(ErrorKind::Timeout) => Some(InvalidOutcome::Hang),
            Err(ErrorKind::Transport | ErrorKind::Stream) => Some(InvalidOutcome::Crash),
            Err(ErrorKind::Dropped) => None,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One op's invalid share and the probes to draw from.
#[derive(Debug, Clone)]
pub(super) struct InvalidOp {
    /// Share of the op's calls replaced, 0–1.
    pub(super) frac: f64,
    pub(super) probes: Vec<Arc<JsonObject>>,
}

/// The probes a tool with this schema forbids, with object arguments (the
/// typed clients send nothing else) of at most [`MAX_LOAD_PROBE_BYTES`].
pub(super) fn load_probes(schema: &JsonObject) -> Vec<Arc<JsonObject>> {
    derive(schema)
        .into_iter()
        .filter(|p| p.expect == Expect::Reject)
        .filter_map(|p| match p.arguments {
            serde_json::Value::Object(o) => Some(o),
            _ => None,
        })
        .filter(|o| serde_json::to_vec(o).is_ok_and(|b| b.len() <= MAX_LOAD_PROBE_BYTES))
        .map(Arc::new)
        .collect()
}

/// Outcome counts, in [`InvalidOutcome::ALL`] order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidCounts {
    pub sent: u64,
    pub graceful: u64,
    pub accepted: u64,
    pub hang: u64,
    pub crash: u64,
}

impl InvalidCounts {
    pub fn add(&mut self, o: InvalidOutcome) {
        self.sent += 1;
        *match o {
            InvalidOutcome::Graceful => &mut self.graceful,
            InvalidOutcome::Accepted => &mut self.accepted,
            InvalidOutcome::Hang => &mut self.hang,
            InvalidOutcome::Crash => &mut self.crash,
        } += 1;
    }

    pub fn get(&self, o: InvalidOutcome) -> u64 {
        match o {
            InvalidOutcome::Graceful => self.graceful,
            InvalidOutcome::Accepted => self.accepted,
            InvalidOutcome::Hang => self.hang,
            InvalidOutcome::Crash => self.crash,
        }
    }

    pub fn merge(&mut self, o: &InvalidCounts) {
        self.sent += o.sent;
        self.graceful += o.graceful;
        self.accepted += o.accepted;
        self.hang += o.hang;
        self.crash += o.crash;
    }

    /// Anything worse than graceful.
    pub fn findings(&self) -> u64 {
        self.accepted + self.hang + self.crash
    }
}

/// One tool's invalid calls in a phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvalidToolSummary {
    pub tool: String,
    #[serde(flatten)]
    pub counts: InvalidCounts,
}

/// A phase's invalid calls (`jetstress.run/1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvalidSummary {
    /// Probes available per tool, summed (tools whose schema forbids nothing have none).
    pub probes: usize,
    #[serde(flatten)]
    pub counts: InvalidCounts,
    /// Latency of the graceful (error) replies.
    pub error_reply_ms: Percentiles,
    pub tools: Vec<InvalidToolSummary>,
}

/// A phase's tally: per op and in all, and the error replies' latency.
pub(super) struct InvalidStats {
    per_op: Vec<[u64; 4]>,
    all: InvalidCounts,
    replies: Hist,
}

impl InvalidStats {
    pub(super) fn new(ops: usize) -> Self {
        InvalidStats {
            per_op: vec![[0; 4]; ops],
            all: InvalidCounts::default(),
            replies: Hist::new(),
        }
    }

    pub(super) fn record(&mut self, op: usize, o: InvalidOutcome, latency_us: u64) {
        if let Some(row) = self.per_op.get_mut(op) {
            row[o.index()] += 1;
        }
        self.all.add(o);
        if o == InvalidOutcome::Graceful {
            self.replies.record(latency_us);
        }
    }

    /// The phase is over: keep the reply histogram as a sparse copy.
    pub(super) fn freeze(&mut self) {
        self.replies.freeze();
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.replies.heap_bytes()
    }

    /// `None` when no invalid call was sent. `names`: the ops in mix order;
    /// `probes`: the probes each op could draw from.
    pub(super) fn summary(&self, names: &[String], probes: &[usize]) -> Option<InvalidSummary> {
        if self.all.sent == 0 {
            return None;
        }
        let tools = self
            .per_op
            .iter()
            .zip(names)
            .filter(|(row, _)| row.iter().sum::<u64>() > 0)
            .map(|(row, name)| InvalidToolSummary {
                tool: name.clone(),
                counts: InvalidCounts {
                    sent: row.iter().sum(),
                    graceful: row[InvalidOutcome::Graceful.index()],
                    accepted: row[InvalidOutcome::Accepted.index()],
                    hang: row[InvalidOutcome::Hang.index()],
                    crash: row[InvalidOutcome::Crash.index()],
                },
            })
            .collect();
        Some(InvalidSummary {
            probes: probes.iter().sum(),
            counts: self.all,
            error_reply_ms: Percentiles::of(&self.replies),
            tools,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(v: serde_json::Value) -> JsonObject {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn load_probes_are_forbidden_object_arguments_without_the_huge_string() {
        let s = schema(json!({
            "type": "object",
            "properties": {"message": {"type": "string", "maxLength": 100}},
            "required": ["message"],
            "additionalProperties": false
        }));
        let probes = load_probes(&s);
        assert!(!probes.is_empty());
        for p in &probes {
            let v = serde_json::Value::Object((**p).clone());
            assert_ne!(
                crate::load::invalid::judge(&serde_json::Value::Object(s.clone()), &v),
                crate::load::invalid::Verdict::Valid,
                "{v}"
            );
            assert!(serde_json::to_vec(&v).unwrap().len() <= MAX_LOAD_PROBE_BYTES);
        }
        // The missing property, the extra one and a too-long string are among them.
        assert!(probes.iter().any(|p| !p.contains_key("message")));
        assert!(probes.iter().any(|p| p.contains_key("jetstress_extra")));
        assert!(probes.iter().any(|p| p
            .get("message")
            .and_then(|m| m.as_str())
            .is_some_and(|m| m.len() == 101)));
    }

    #[test]
    fn a_schema_that_forbids_nothing_gives_no_probes() {
        assert!(load_probes(&schema(json!({"type": "object"}))).is_empty());
    }

    #[test]
    fn outcomes_follow_the_reply() {
        use InvalidOutcome as O;
        assert_eq!(O::of(Ok(())), Some(O::Accepted));
        assert_eq!(O::of(Err(ErrorKind::Rpc)), Some(O::Graceful));
        assert_eq!(O::of(Err(ErrorKind::Tool)), Some(O::Graceful));
        assert_eq!(O::of(Err(ErrorKind::Timeout)), Some(O::Hang));
        assert_eq!(O::of(Err(ErrorKind::Transport)), Some(O::Crash));
        assert_eq!(O::of(Err(ErrorKind::Dropped)), None);
    }

    #[test]
    fn stats_count_per_tool_and_time_only_error_replies() {
        let mut s = InvalidStats::new(2);
        s.record(0, InvalidOutcome::Graceful, 2_000);
        s.record(0, InvalidOutcome::Graceful, 4_000);
        s.record(1, InvalidOutcome::Accepted, 90_000);
        let names = vec!["a".to_string(), "b".to_string()];
        let sum = s.summary(&names, &[3, 2]).unwrap();
        assert_eq!(sum.probes, 5);
        assert_eq!(sum.counts.sent, 3);
        assert_eq!(sum.counts.graceful, 2);
        assert_eq!(sum.counts.accepted, 1);
        assert_eq!(sum.tools.len(), 2);
        assert_eq!(sum.tools[1].counts.accepted, 1);
        assert!(sum.error_reply_ms.max < 5.0, "{:?}", sum.error_reply_ms);
        assert!(InvalidStats::new(1).summary(&names[..1], &[1]).is_none());
    }
}
