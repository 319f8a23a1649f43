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
    /// Protocol trouble: a malformed reply, a reply to the wrong id,
    /// output that is not JSON-RPC, no response to a request, or an HTTP 5xx.
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
    /// An HTTP 2xx with no body (202 Accepted): no JSON-RPC response.
    NoReply { status: u16 },
    /// An HTTP status other than 2xx, and what its body said (4xx: a
    /// refusal; 5xx: the server failed).
    HttpStatus { status: u16, body: String },
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
            Reply::NoReply { status } => format!("HTTP {status} with no body"),
            Reply::HttpStatus { status, body } if body.is_empty() => format!("HTTP {status}"),
            Reply::HttpStatus { status, body } => format!("HTTP {status}: {body}"),
        }
    }

    /// An HTTP refusal (4xx) rather than a failure.
    pub fn refused(&self) -> bool {
        matches!(self, Reply::HttpStatus { status, .. } if *status < 500)
    }
}

/// What is wrong with the liveness check after a probe (`None`: it was
/// answered): gone or refused (a session it dropped), silent, or garbled.
pub fn after_fault(after: &Reply) -> Option<Outcome> {
    match after {
        a if a.answered() => None,
        Reply::Closed(_) | Reply::HttpStatus { .. } => Some(Outcome::Crash),
        Reply::Timeout(_) => Some(Outcome::Hang),
        _ => Some(Outcome::Protocol),
    }
}

/// The liveness check in words, to follow a probe's reply (empty when it
/// was answered).
pub fn then_text(after: &Reply) -> String {
    match after {
        a if a.answered() => String::new(),
        Reply::Timeout(t) => format!("; then no answer to a ping within {} ms", t.as_millis()),
        other => format!("; then {}", other.describe()),
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
    let then = after.map_or(String::new(), then_text);
    let fault = after.and_then(after_fault);
    // A server that died crashed, whatever else it did; one that wrote
    // noise or answered the wrong id broke the protocol (even if the real
    // answer then never came); one that is silent hangs.
    if matches!(reply, Reply::Closed(_)) || fault == Some(Outcome::Crash) {
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
    if matches!(reply, Reply::Timeout(_)) || fault == Some(Outcome::Hang) {
        return judged(Outcome::Hang, format!("{}{then}", reply.describe()));
    }
    match reply {
        Reply::Malformed(_) => return judged(Outcome::Protocol, reply.describe()),
        Reply::NoReply { .. } => {
            return judged(
                Outcome::Protocol,
                format!(
                    "{}: no JSON-RPC response to a request{then}",
                    reply.describe()
                ),
            )
        }
        Reply::HttpStatus { status, .. } if *status >= 500 => {
            return judged(Outcome::Protocol, format!("{}{then}", reply.describe()))
        }
        _ => {}
    }
    if fault == Some(Outcome::Protocol) {
        return judged(Outcome::Protocol, format!("{}{then}", reply.describe()));
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
    fn http_statuses_and_empty_answers() {
        let o = |e, r: &Reply, a: Option<&Reply>| classify(e, r, &[], a).outcome;
        let not_found = Reply::HttpStatus {
            status: 404,
            body: "Not Found: Session not found".into(),
        };
        let failed = Reply::HttpStatus {
            status: 500,
            body: "boom".into(),
        };
        let none = Reply::NoReply { status: 202 };
        // A 4xx is a refusal; a 5xx is a failure; a request needs a response.
        assert!(not_found.refused() && !failed.refused() && !not_found.answered());
        assert_eq!(
            o(Expect::Reject, &not_found, Some(&ok())),
            Outcome::Graceful
        );
        assert_eq!(o(Expect::Reject, &failed, Some(&ok())), Outcome::Protocol);
        assert_eq!(o(Expect::Allow, &none, Some(&ok())), Outcome::Protocol);
        // The next valid call must still work: refused or failed, it crashed.
        assert_eq!(o(Expect::Reject, &rpc(), Some(&not_found)), Outcome::Crash);
        assert_eq!(o(Expect::Reject, &failed, Some(&failed)), Outcome::Crash);
        assert_eq!(o(Expect::Reject, &rpc(), Some(&none)), Outcome::Protocol);
        assert_eq!(after_fault(&ok()), None);
        assert_eq!(after_fault(&not_found), Some(Outcome::Crash));
        let d = classify(Expect::Reject, &not_found, &[], Some(&ok())).detail;
        assert_eq!(d, "HTTP 404: Not Found: Session not found");
        let d = classify(Expect::Reject, &rpc(), &[], Some(&failed)).detail;
        assert_eq!(d, "JSON-RPC error -32602: bad; then HTTP 500: boom");
        assert_eq!(none.describe(), "HTTP 202 with no body");
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
