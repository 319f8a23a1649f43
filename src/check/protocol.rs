//! Protocol probes over a raw stdio connection: an unknown tool and method,
//! invalid JSON, a request without `id` / without `method` / with `jsonrpc`
//! ≠ "2.0", a batch, a request before `initialize`, a duplicate id, the
//! cancellation of an in-flight call, 32 identical calls at once, and a
//! line over 16 MiB. Requests a server may ignore are followed by a `ping`
//! that must still be answered, so no probe waits out the timeout on a
//! server that simply drops them. The probe names are shared with the
//! HTTP probes (`protocol_http`), some of which only HTTP has.

use std::time::Duration;

use serde_json::{json, Value};

use super::jsonrpc::{quote, RpcError};
use super::outcome::{classify, Judged, Outcome, Reply};
use super::raw::RawServer;
use crate::load::invalid::Expect;

/// The size of the huge line: past the 16 MiB many servers cap a line at.
pub const HUGE_LINE: usize = 17 << 20;
/// How many identical calls go out at once.
pub const CONCURRENT: usize = 32;

/// One protocol probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolProbe {
    UnknownTool,
    UnknownMethod,
    InvalidJson,
    NoId,
    NoMethod,
    BadVersion,
    Batch,
    BeforeInitialize,
    DuplicateId,
    CancelInFlight,
    Concurrent,
    HugeLine,
    /// HTTP: a request with an `Mcp-Session-Id` the server never issued.
    UnknownSession,
    /// HTTP: a request without an `Accept` header.
    NoAccept,
    /// HTTP: `DELETE` of a session, then a request on it.
    DeleteSession,
}

impl ProtocolProbe {
    /// Every probe, in the order they run.
    pub const ALL: [ProtocolProbe; 15] = [
        ProtocolProbe::UnknownTool,
        ProtocolProbe::UnknownMethod,
        ProtocolProbe::InvalidJson,
        ProtocolProbe::NoId,
        ProtocolProbe::NoMethod,
        ProtocolProbe::BadVersion,
        ProtocolProbe::Batch,
        ProtocolProbe::BeforeInitialize,
        ProtocolProbe::DuplicateId,
        ProtocolProbe::CancelInFlight,
        ProtocolProbe::Concurrent,
        ProtocolProbe::HugeLine,
        ProtocolProbe::UnknownSession,
        ProtocolProbe::NoAccept,
        ProtocolProbe::DeleteSession,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProtocolProbe::UnknownTool => "unknown_tool",
            ProtocolProbe::UnknownMethod => "unknown_method",
            ProtocolProbe::InvalidJson => "invalid_json",
            ProtocolProbe::NoId => "no_id",
            ProtocolProbe::NoMethod => "no_method",
            ProtocolProbe::BadVersion => "bad_jsonrpc_version",
            ProtocolProbe::Batch => "batch",
            ProtocolProbe::BeforeInitialize => "before_initialize",
            ProtocolProbe::DuplicateId => "duplicate_id",
            ProtocolProbe::CancelInFlight => "cancel_in_flight",
            ProtocolProbe::Concurrent => "concurrent_32",
            ProtocolProbe::HugeLine => "huge_line",
            ProtocolProbe::UnknownSession => "unknown_session",
            ProtocolProbe::NoAccept => "no_accept",
            ProtocolProbe::DeleteSession => "delete_session",
        }
    }

    /// Whether a stdio server gets it (the session and header probes are HTTP's).
    pub fn over_stdio(self) -> bool {
        !matches!(
            self,
            ProtocolProbe::UnknownSession | ProtocolProbe::NoAccept | ProtocolProbe::DeleteSession
        )
    }

    /// Whether an HTTP server gets it: not the cancellation, nor the 17 MiB
    /// line (a stdio framing limit; an HTTP body's limit is met by the tool
    /// probes' 1 MiB strings).
    pub fn over_http(self) -> bool {
        !matches!(
            self,
            ProtocolProbe::CancelInFlight | ProtocolProbe::HugeLine
        )
    }

    /// Whether a server may take it without answering (over HTTP: a 202
    /// with no body) so long as it keeps serving: what it cannot read, and
    /// a message without an id.
    pub fn may_go_unanswered(self) -> bool {
        matches!(
            self,
            ProtocolProbe::InvalidJson
                | ProtocolProbe::NoId
                | ProtocolProbe::NoMethod
                | ProtocolProbe::BadVersion
                | ProtocolProbe::Batch
        )
    }

    /// Whether a normal result to it means the server accepted what it must refuse.
    pub fn forbids_a_result(self) -> bool {
        matches!(
            self,
            ProtocolProbe::UnknownTool | ProtocolProbe::UnknownMethod | ProtocolProbe::NoMethod
        )
    }

    /// Whether it needs a server that has not been initialized.
    pub fn needs_fresh_server(self) -> bool {
        self == ProtocolProbe::BeforeInitialize
    }
}

/// The tool call used where a probe needs a real one (cancellation, the
/// concurrent calls): a tool whose control call succeeded.
#[derive(Debug, Clone, PartialEq)]
pub struct GoodCall {
    pub tool: String,
    pub arguments: Value,
}

/// A valid call: the good tool call where there is one, else `tools/list`.
pub(crate) fn call_msg(id: &Value, call: Option<&GoodCall>) -> Value {
    match call {
        Some(c) => json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                          "params": {"name": c.tool, "arguments": c.arguments}}),
        None => json!({"jsonrpc": "2.0", "id": id, "method": "tools/list", "params": {}}),
    }
}

pub(crate) fn answers_text(
    answers: &[(Value, Result<Value, RpcError>)],
    nulls: &[RpcError],
) -> String {
    let mut parts: Vec<String> = answers
        .iter()
        .map(|(id, b)| match b {
            Ok(r) => format!("a result to id {id} ({})", quote(&r.to_string())),
            Err(e) => format!("error {} to id {id}: {}", e.code, quote(&e.message)),
        })
        .collect();
    parts.extend(
        nulls
            .iter()
            .map(|e| format!("error {} with id null: {}", e.code, quote(&e.message))),
    );
    if parts.is_empty() {
        "no reply".into()
    } else {
        parts.join("; ")
    }
}

/// After something a server may ignore: a `ping` must still be answered;
/// the replies that came to what was fired are judged with it.
async fn barrier(s: &mut RawServer, timeout: Duration, forbid_result: bool) -> Judged {
    let ping = s.ping(timeout).await;
    let strays = s.take_strays();
    let answers = s.take_answers();
    let nulls = s.take_null_errors();
    let what = answers_text(&answers, &nulls);
    let mut j = classify(Expect::Allow, &ping, &strays, None);
    if j.outcome == Outcome::Graceful {
        if forbid_result && answers.iter().any(|(_, b)| b.is_ok()) {
            j.outcome = Outcome::Accepted;
            j.detail = format!("{what}, for a request it must refuse");
        } else {
            j.detail = format!("{what}; a ping after it was answered");
        }
    } else {
        j.detail = format!("{what}; then the ping: {}", j.detail);
    }
    j
}

/// Run one probe on a live, initialized server (or, for
/// [`ProtocolProbe::BeforeInitialize`], one that was only started).
pub async fn run(
    p: ProtocolProbe,
    s: &mut RawServer,
    timeout: Duration,
    good: Option<&GoodCall>,
) -> Judged {
    match p {
        ProtocolProbe::UnknownTool => {
            let reply = s
                .call_tool("jetstress_no_such_tool", &json!({}), timeout)
                .await;
            after_call(s, &reply, timeout).await
        }
        ProtocolProbe::UnknownMethod => {
            let reply = s
                .call(
                    "jetstress/no_such_method",
                    json!({}),
                    timeout,
                    super::raw::NullId::Answers,
                )
                .await;
            after_call(s, &reply, timeout).await
        }
        ProtocolProbe::InvalidJson => {
            s.send_line(br#"{"jsonrpc": "2.0", "id": "jetstress-invalid", "method": "ping""#)
                .await;
            barrier(s, timeout, false).await
        }
        ProtocolProbe::NoId => {
            s.send_line(br#"{"jsonrpc":"2.0","method":"tools/list","params":{}}"#)
                .await;
            barrier(s, timeout, false).await
        }
        ProtocolProbe::NoMethod => {
            let id = s.fresh_id();
            s.send_raw(&id, &json!({"jsonrpc": "2.0", "id": id, "params": {}}))
                .await;
            barrier(s, timeout, true).await
        }
        ProtocolProbe::BadVersion => {
            let id = s.fresh_id();
            s.send_raw(
                &id,
                &json!({"jsonrpc": "1.0", "id": id, "method": "tools/list", "params": {}}),
            )
            .await;
            barrier(s, timeout, false).await
        }
        ProtocolProbe::Batch => {
            let (a, b) = (s.fresh_id(), s.fresh_id());
            let batch = json!([
                {"jsonrpc": "2.0", "id": a, "method": "ping"},
                {"jsonrpc": "2.0", "id": b, "method": "ping"}
            ]);
            // Both ids may be answered (or the batch refused as a whole).
            s.expect_reply(&a);
            s.expect_reply(&b);
            s.send_line(&serde_json::to_vec(&batch).unwrap_or_default())
                .await;
            barrier(s, timeout, false).await
        }
        ProtocolProbe::BeforeInitialize => {
            let id = s.fresh_id();
            s.send_raw(
                &id,
                &json!({"jsonrpc": "2.0", "id": id, "method": "tools/list", "params": {}}),
            )
            .await;
            barrier(s, timeout, false).await
        }
        ProtocolProbe::DuplicateId => {
            let id = s.fresh_id();
            let msg = json!({"jsonrpc": "2.0", "id": id, "method": "tools/list", "params": {}});
            s.send_raw(&id, &msg).await;
            s.send_raw(&id, &msg).await;
            barrier(s, timeout, false).await
        }
        ProtocolProbe::CancelInFlight => {
            let id = s.fresh_id();
            s.send_raw(&id, &call_msg(&id, good)).await;
            s.cancel(&id, "jetstress check: cancel in flight").await;
            barrier(s, timeout, false).await
        }
        ProtocolProbe::Concurrent => concurrent(s, timeout, good).await,
        ProtocolProbe::HugeLine => {
            let id = s.fresh_id();
            let pad = "x".repeat(HUGE_LINE);
            let msg = json!({"jsonrpc": "2.0", "id": id, "method": "ping",
                             "params": {"_meta": {"jetstress_pad": pad}}});
            s.send_raw(&id, &msg).await;
            barrier(s, timeout.max(Duration::from_secs(5)), false).await
        }
        // The runner sends these only over HTTP (`protocol_http`).
        ProtocolProbe::UnknownSession | ProtocolProbe::NoAccept | ProtocolProbe::DeleteSession => {
            Judged {
                outcome: Outcome::Graceful,
                detail: "not sent: an HTTP probe".into(),
                normal: false,
            }
        }
    }
}

/// A probe sent as a normal request: its reply, then a ping.
async fn after_call(s: &mut RawServer, reply: &Reply, timeout: Duration) -> Judged {
    let after = if matches!(reply, Reply::Closed(_)) {
        None
    } else {
        Some(s.ping(timeout).await)
    };
    let strays = s.take_strays();
    classify(Expect::Reject, reply, &strays, after.as_ref())
}

/// What a reply is, to compare replies: a result, a tool error, or an error code.
fn kind(body: &Result<Value, RpcError>) -> String {
    match body {
        Ok(r) if r.get("isError") == Some(&Value::Bool(true)) => "an isError result".into(),
        Ok(_) => "a result".into(),
        Err(e) => format!("error {}", e.code),
    }
}

async fn concurrent(s: &mut RawServer, timeout: Duration, good: Option<&GoodCall>) -> Judged {
    let mut ids = Vec::new();
    for _ in 0..CONCURRENT {
        let id = s.fresh_id();
        let msg = call_msg(&id, good);
        s.send_line(&serde_json::to_vec(&msg).unwrap_or_default())
            .await;
        ids.push(id);
    }
    let (got, twice, ended) = s.collect(&ids, timeout).await;
    let strays = s.take_strays();
    let what = match good {
        Some(g) => format!("{CONCURRENT} × tools/call {}", g.tool),
        None => format!("{CONCURRENT} × tools/list"),
    };
    let judged = |outcome, detail| Judged {
        outcome,
        detail,
        normal: false,
    };
    match ended {
        Some(r @ Reply::Closed(_)) => {
            return judged(
                Outcome::Crash,
                format!("{what}: {} answered, then {}", got.len(), r.describe()),
            )
        }
        Some(Reply::Timeout(_)) => {
            return judged(
                Outcome::Hang,
                format!(
                    "{what}: {} of {CONCURRENT} unanswered within {} ms",
                    CONCURRENT - got.len(),
                    timeout.as_millis()
                ),
            )
        }
        _ => {}
    }
    if let Some(first) = strays.first() {
        return judged(Outcome::Protocol, format!("{what}: {first}"));
    }
    if let Some(id) = twice.first() {
        return judged(Outcome::Protocol, format!("{what}: id {id} answered twice"));
    }
    let mut kinds: Vec<String> = got.iter().map(|(_, b)| kind(b)).collect();
    kinds.sort();
    kinds.dedup();
    if kinds.len() > 1 {
        return judged(
            Outcome::Protocol,
            format!("{what}: the replies disagree ({})", kinds.join(" vs ")),
        );
    }
    let after = s.ping(timeout).await;
    if !after.answered() {
        let mut j = classify(Expect::Allow, &after, &[], None);
        j.detail = format!("{what}: all answered; then the ping: {}", j.detail);
        return j;
    }
    judged(
        Outcome::Graceful,
        format!(
            "{what}: every id answered once, all {}",
            kinds.first().map_or("", String::as_str)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_stable() {
        let mut names: Vec<&str> = ProtocolProbe::ALL.iter().map(|p| p.as_str()).collect();
        assert_eq!(names[0], "unknown_tool");
        assert_eq!(names[10], "concurrent_32");
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ProtocolProbe::ALL.len());
        assert!(ProtocolProbe::UnknownMethod.forbids_a_result());
        assert!(!ProtocolProbe::Batch.forbids_a_result());
        assert!(!ProtocolProbe::NoAccept.over_stdio() && ProtocolProbe::NoAccept.over_http());
        assert!(ProtocolProbe::HugeLine.over_stdio() && !ProtocolProbe::HugeLine.over_http());
    }

    #[test]
    fn answers_in_words() {
        let a = vec![(json!(3), Ok(json!({})))];
        let n = vec![RpcError {
            code: -32600,
            message: "Invalid request".into(),
        }];
        assert_eq!(
            answers_text(&a, &n),
            "a result to id 3 ({}); error -32600 with id null: Invalid request"
        );
        assert_eq!(answers_text(&[], &[]), "no reply");
    }
}
