//! What a server did with a probe: the [`Outcome`] (`graceful`, `accepted`,
//! `hang`, `crash`, `protocol`), judged from the reply the client saw, the
//! stray output around it and whether the server still answered afterwards.
//! Pure.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::load::invalid::Expect;

/// The outcome of one probe, worst last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A JSON-RPC error or an `isError: true` result (or, for input the schema
    /// allows, any answer), and the server kept serving.
    Graceful,
    /// A normal result for input the server's own schema forbids.
    Accepted,
    /// Protocol trouble: a malformed reply, a reply to the wrong id, or
    /// output that is not JSON-RPC.
    Protocol,
    /// No answer within the timeout.
    Hang,
    /// The process exited or the connection dropped.
    Crash,
}

impl Outcome {
    /// Every outcome, in the order the counts are written.
    pub const ALL: [Outcome; 5] = [
        Outcome::Graceful,
        Outcome::Accepted,
        Outcome::Hang,
        Outcome::Crash,
        Outcome::Protocol,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Graceful => "graceful",
            Outcome::Accepted => "accepted",
            Outcome::Hang => "hang",
            Outcome::Crash => "crash",
            Outcome::Protocol => "protocol",
        }
    }

    /// Anything worse than graceful is a finding and fails the check.
    pub fn is_finding(self) -> bool {
        self != Outcome::Graceful
    }
}

impl PartialEq<&str> for Outcome {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What came back for one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A `result`. `is_error`: a tool result with `isError: true`.
    Result { is_error: bool, summary: String },
    /// A JSON-RPC error.
    Error { code: i64, message: String },
    /// Nothing within this long (the request was then cancelled).
    Timeout(Duration),
    /// The process exited or the connection dropped; why, with the
    /// server's last stderr lines where there are any.
    Closed(String),
    /// An answer that is not a correct one: why.
    Malformed(String),
}

impl Reply {
    /// Whether the server answered (a result or an error).
    pub fn answered(&self) -> bool {
        matches!(self, Reply::Result { .. } | Reply::Error { .. })
    }

    /// The reply in words, for a finding's detail.
    pub fn describe(&self) -> String {
        match self {
            Reply::Result {
                is_error: false,
                summary,
            } => format!("a normal result ({summary})"),
            Reply::Result {
                is_error: true,
                summary,
            } => format!("an isError result ({summary})"),
            Reply::Error { code, message } => format!("JSON-RPC error {code}: {message}"),
            Reply::Timeout(t) => format!("no answer within {} ms; cancelled", t.as_millis()),
            Reply::Closed(why) => why.clone(),
            Reply::Malformed(why) => format!("a malformed reply: {why}"),
        }
    }
}

/// A probe's outcome and what happened, in words.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub outcome: Outcome,
    pub detail: String,
    /// The reply was a normal result (for a control call: it succeeded).
    pub normal: bool,
}

/// Judge one probe: the reply to it, the stray output seen while it ran
/// (lines that are not JSON-RPC, replies to ids never sent), and the
/// liveness check after it (`None` when none was made).
pub fn classify(expect: Expect, reply: &Reply, strays: &[String], after: Option<&Reply>) -> Judged {
    let normal = matches!(
        reply,
        Reply::Result {
            is_error: false,
            ..
        }
    );
    let judged = |outcome, detail| Judged {
        outcome,
        detail,
        normal,
    };
    let then = after.map_or(String::new(), |a| match a {
        a if a.answered() => String::new(),
        Reply::Timeout(t) => format!("; then no answer to a ping within {} ms", t.as_millis()),
        other => format!("; then {}", other.describe()),
    });
    // A server that died crashed, whatever else it did; one that wrote
    // noise or answered the wrong id broke the protocol (even if the real
    // answer then never came); one that is silent hangs.
    if matches!(reply, Reply::Closed(_)) || matches!(after, Some(Reply::Closed(_))) {
        return judged(Outcome::Crash, format!("{}{then}", reply.describe()));
    }
    if let Some(s) = strays.first() {
        let more = if strays.len() > 1 {
            format!(" (and {} more)", strays.len() - 1)
        } else {
            String::new()
        };
        return judged(
            Outcome::Protocol,
            format!("{s}{more}; the reply: {}{then}", reply.describe()),
        );
    }
    if matches!(reply, Reply::Timeout(_)) || matches!(after, Some(Reply::Timeout(_))) {
        return judged(Outcome::Hang, format!("{}{then}", reply.describe()));
    }
    if let Reply::Malformed(_) = reply {
        return judged(Outcome::Protocol, reply.describe());
    }
    if let Some(a @ Reply::Malformed(_)) = after {
        return judged(
            Outcome::Protocol,
            format!("{}; then {}", reply.describe(), a.describe()),
        );
    }
    if normal && expect == Expect::Reject {
        return judged(
            Outcome::Accepted,
            format!("{} for input its schema forbids", reply.describe()),
        );
    }
    judged(Outcome::Graceful, reply.describe())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> Reply {
        Reply::Result {
            is_error: false,
            summary: "text: ok".into(),
        }
    }

    fn rpc() -> Reply {
        Reply::Error {
            code: -32602,
            message: "bad".into(),
        }
    }

    #[test]
    fn wire_strings() {
        assert_eq!(serde_json::to_value(Outcome::Protocol).unwrap(), "protocol");
        for o in Outcome::ALL {
            let back: Outcome = serde_json::from_value(serde_json::json!(o.as_str())).unwrap();
            assert_eq!(back, o);
        }
        assert!(Outcome::Hang == "hang");
        assert!(!Outcome::Graceful.is_finding() && Outcome::Accepted.is_finding());
    }

    #[test]
    fn each_outcome_from_what_was_seen() {
        let t = Duration::from_millis(300);
        let o = |e, r: &Reply, s: &[String], a: Option<&Reply>| classify(e, r, s, a).outcome;
        let tool_error = Reply::Result {
            is_error: true,
            summary: "text: no".into(),
        };
        assert_eq!(
            o(Expect::Reject, &rpc(), &[], Some(&ok())),
            Outcome::Graceful
        );
        assert_eq!(
            o(Expect::Reject, &tool_error, &[], Some(&ok())),
            Outcome::Graceful
        );
        assert_eq!(
            o(Expect::Reject, &ok(), &[], Some(&ok())),
            Outcome::Accepted
        );
        // An edge case the schema allows may be answered normally.
        assert_eq!(o(Expect::Allow, &ok(), &[], Some(&ok())), Outcome::Graceful);
        assert_eq!(o(Expect::Control, &ok(), &[], None), Outcome::Graceful);
        assert_eq!(
            o(Expect::Reject, &Reply::Timeout(t), &[], Some(&ok())),
            Outcome::Hang
        );
        let gone = Reply::Closed("the process exited (status 3)".into());
        assert_eq!(o(Expect::Reject, &gone, &[], None), Outcome::Crash);
        assert_eq!(
            o(Expect::Reject, &Reply::Timeout(t), &[], Some(&gone)),
            Outcome::Crash
        );
        // Answered, then died or stopped answering.
        assert_eq!(o(Expect::Reject, &rpc(), &[], Some(&gone)), Outcome::Crash);
        assert_eq!(
            o(Expect::Reject, &rpc(), &[], Some(&Reply::Timeout(t))),
            Outcome::Hang
        );
        let noise = ["stdout noise: \"hello\"".to_string()];
        assert_eq!(
            o(Expect::Reject, &rpc(), &noise, Some(&ok())),
            Outcome::Protocol
        );
        let bad = Reply::Malformed("result without content".into());
        assert_eq!(o(Expect::Reject, &bad, &[], Some(&ok())), Outcome::Protocol);
    }

    #[test]
    fn details_say_what_happened() {
        let d = classify(Expect::Reject, &ok(), &[], Some(&ok())).detail;
        assert_eq!(d, "a normal result (text: ok) for input its schema forbids");
        let d = classify(
            Expect::Reject,
            &rpc(),
            &[],
            Some(&Reply::Timeout(Duration::from_secs(5))),
        )
        .detail;
        assert_eq!(
            d,
            "JSON-RPC error -32602: bad; then no answer to a ping within 5000 ms"
        );
    }
}
