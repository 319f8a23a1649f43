//! Protocol probes over streamable HTTP, through the raw HTTP client: the
//! stdio probes that mean the same here (unknown tool and method, invalid
//! JSON, no `id`, no `method`, `jsonrpc` ≠ "2.0", a batch, a call before
//! `initialize` — without any session, on a fresh connection —, a
//! duplicate id) and HTTP's own: an unknown `Mcp-Session-Id` (404
//! expected), no `Accept` (406 expected), and a `DELETE` of a session
//! then its reuse (404 expected). After each, the valid call must still
//! work on the client's own session. (The 32 concurrent calls go through
//! rmcp's typed client, in the runner.)

use std::time::Duration;

use serde_json::{json, Value};

use super::httpreply::{reply_of, responses};
use super::outcome::{after_fault, classify, then_text, Judged, Outcome, Reply};
use super::protocol::{answers_text, call_msg, GoodCall, ProtocolProbe};
use super::rawhttp::{RawHttp, Session};
use crate::load::invalid::Expect;

/// Why a probe was not sent over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotSent {
    #[error("the server keeps no sessions (it gave no Mcp-Session-Id)")]
    NoSession,
    #[error("only over plain http:// (a raw connection)")]
    NotPlainHttp,
    #[error("no tool's control call succeeded")]
    NoGoodCall,
    #[error("not an HTTP probe here")]
    Elsewhere,
}

/// Run one probe on the client's own (initialized) session.
pub async fn run(
    p: ProtocolProbe,
    raw: &RawHttp,
    timeout: Duration,
    good: Option<&GoodCall>,
) -> Result<Judged, NotSent> {
    let own = Session::Own;
    let reply = match p {
        ProtocolProbe::UnknownTool => {
            raw.call_tool("jetstress_no_such_tool", &json!({}), timeout)
                .await
        }
        ProtocolProbe::UnknownMethod => {
            let id = raw.fresh_id();
            let msg = json!({"jsonrpc": "2.0", "id": id, "method": "jetstress/no_such_method",
                             "params": {}});
            raw.send(&msg, own, Some(&id), false, timeout).await
        }
        ProtocolProbe::InvalidJson => {
            let body = br#"{"jsonrpc": "2.0", "id": "jetstress-invalid", "method": "ping""#;
            raw.send_bytes(body.to_vec(), own, None, false, timeout)
                .await
        }
        ProtocolProbe::NoId => {
            let msg = json!({"jsonrpc": "2.0", "method": "tools/list", "params": {}});
            raw.send(&msg, own, None, false, timeout).await
        }
        ProtocolProbe::NoMethod => {
            let id = raw.fresh_id();
            let msg = json!({"jsonrpc": "2.0", "id": id, "params": {}});
            raw.send(&msg, own, Some(&id), false, timeout).await
        }
        ProtocolProbe::BadVersion => {
            let id = raw.fresh_id();
            let msg = json!({"jsonrpc": "1.0", "id": id, "method": "tools/list", "params": {}});
            raw.send(&msg, own, Some(&id), false, timeout).await
        }
        ProtocolProbe::Batch => return Ok(batch(raw, timeout, good).await),
        ProtocolProbe::BeforeInitialize => match RawHttp::new(raw.url()) {
            // Its own client: a fresh connection, and no session at all.
            Ok(fresh) => {
                let reply = fresh.good_call(good, Session::Without, timeout).await;
                raw.note(fresh.take_strays());
                reply
            }
            Err(e) => Reply::Closed(e.to_string()),
        },
        ProtocolProbe::DuplicateId => return Ok(duplicate(raw, timeout, good).await),
        ProtocolProbe::UnknownSession => {
            raw.session().ok_or(NotSent::NoSession)?;
            let bogus = format!("jetstress-no-such-session-{}", std::process::id());
            raw.good_call(good, Session::Id(&bogus), timeout).await
        }
        ProtocolProbe::NoAccept => {
            let id = raw.fresh_id();
            let msg = call_msg(&id, good);
            raw.post_without_accept(&msg, own, timeout)
                .await
                .ok_or(NotSent::NotPlainHttp)?
        }
        ProtocolProbe::DeleteSession => return delete(raw, timeout, good).await,
        ProtocolProbe::CancelInFlight | ProtocolProbe::Concurrent | ProtocolProbe::HugeLine => {
            return Err(NotSent::Elsewhere)
        }
    };
    let after = next_call(raw, &reply, timeout, good).await;
    Ok(judge(p, &reply, &raw.take_strays(), after.as_ref()))
}

/// The valid call after a probe, on the client's own session (none after
/// a dropped connection: that is a crash already).
async fn next_call(
    raw: &RawHttp,
    reply: &Reply,
    timeout: Duration,
    good: Option<&GoodCall>,
) -> Option<Reply> {
    if matches!(reply, Reply::Closed(_)) {
        None
    } else {
        Some(raw.alive(good, timeout).await)
    }
}

/// A probe's reply judged: a refusal (4xx) or a JSON-RPC error is
/// graceful; a normal result to what must be refused is `accepted`; a 202
/// is fine only for what a server may leave unanswered; a 5xx is
/// `protocol`; the valid call after it must work.
fn judge(p: ProtocolProbe, reply: &Reply, strays: &[String], after: Option<&Reply>) -> Judged {
    if matches!(reply, Reply::NoReply { .. }) && p.may_go_unanswered() {
        return unanswered(reply.describe(), strays, after);
    }
    let refuse = p.forbids_a_result() || p == ProtocolProbe::UnknownSession;
    let expect = if refuse {
        Expect::Reject
    } else {
        Expect::Allow
    };
    let mut j = classify(expect, reply, strays, after);
    match j.outcome {
        Outcome::Accepted if p == ProtocolProbe::UnknownSession => {
            j.detail = format!("{}, for a session id it never issued", reply.describe());
        }
        Outcome::Accepted => {
            j.detail = format!("{}, for a request it must refuse", reply.describe());
        }
        Outcome::Graceful => j.detail.push_str(note(p, reply)),
        _ => {}
    }
    j
}

/// What is worth saying about a graceful reply.
fn note(p: ProtocolProbe, reply: &Reply) -> &'static str {
    let status = match reply {
        Reply::HttpStatus { status, .. } => Some(*status),
        _ => None,
    };
    match (p, status, reply) {
        (ProtocolProbe::UnknownSession, Some(s), _) if s != 404 => " (the spec asks for 404)",
        (ProtocolProbe::NoAccept, Some(s), _) if s != 406 => " (406 is usual)",
        (ProtocolProbe::NoAccept, None, Reply::Result { .. }) => {
            ": answered without Accept (lenient)"
        }
        (ProtocolProbe::BeforeInitialize, None, Reply::Result { .. }) => {
            ": answered without a session (a server that keeps none?)"
        }
        _ => "",
    }
}

/// A message left unanswered (a 202): graceful if the valid call after it works.
fn unanswered(what: String, strays: &[String], after: Option<&Reply>) -> Judged {
    let judged = |outcome, detail| Judged {
        outcome,
        detail,
        normal: false,
    };
    if let Some(a) = after {
        if let Some(fault) = after_fault(a) {
            return judged(fault, format!("{what}{}", then_text(a)));
        }
    }
    if let Some(s) = strays.first() {
        return judged(Outcome::Protocol, format!("{s}; after {what}"));
    }
    judged(
        Outcome::Graceful,
        format!("{what}; the next valid call was answered"),
    )
}

/// Two pings in one JSON array: refused (a server on 2025-06-18 need not
/// take batches), answered item by item, or one error; then the valid call.
async fn batch(raw: &RawHttp, timeout: Duration, good: Option<&GoodCall>) -> Judged {
    let (a, b) = (raw.fresh_id(), raw.fresh_id());
    let batch = json!([
        {"jsonrpc": "2.0", "id": a, "method": "ping"},
        {"jsonrpc": "2.0", "id": b, "method": "ping"}
    ]);
    let body = serde_json::to_vec(&batch).unwrap_or_default();
    let ids = [a, b];
    let (reply, answers) = match raw
        .exchange(raw.post_bytes(body, Session::Own), &ids, timeout)
        .await
    {
        Err(r) => (r, None),
        Ok((ex, _)) => {
            let r = responses(&ex, &ids);
            let answered =
                (200..300).contains(&ex.status) && !(r.by_id.is_empty() && r.nulls.is_empty());
            if answered {
                raw.note(r.strays);
                let text = answers_text(&r.by_id, &r.nulls);
                let reply = Reply::Result {
                    is_error: false,
                    summary: text.clone(),
                };
                (reply, Some(text))
            } else {
                let (reply, strays) = reply_of(&ex, Some(&ids[0]), false);
                raw.note(strays);
                (reply, None)
            }
        }
    };
    let after = next_call(raw, &reply, timeout, good).await;
    let strays = raw.take_strays();
    let mut j = judge(ProtocolProbe::Batch, &reply, &strays, after.as_ref());
    if let (Outcome::Graceful, Some(text)) = (j.outcome, answers) {
        j.detail = format!("{text}; the next valid call was answered");
    }
    j
}

/// The same request twice at once with one id: each answered (or refused).
async fn duplicate(raw: &RawHttp, timeout: Duration, good: Option<&GoodCall>) -> Judged {
    let id: Value = raw.fresh_id();
    let msg = json!({"jsonrpc": "2.0", "id": id, "method": "tools/list", "params": {}});
    let (first, second) = tokio::join!(
        raw.send(&msg, Session::Own, Some(&id), false, timeout),
        raw.send(&msg, Session::Own, Some(&id), false, timeout)
    );
    let after = next_call(raw, &second, timeout, good).await;
    let strays = raw.take_strays();
    let p = ProtocolProbe::DuplicateId;
    let one = judge(p, &first, &[], None);
    let two = judge(p, &second, &strays, after.as_ref());
    let outcome = one.outcome.max(two.outcome);
    let detail = if outcome == Outcome::Graceful {
        format!(
            "first: {}; second: {}; the next valid call was answered",
            kind(&first),
            kind(&second)
        )
    } else {
        format!("first: {}; second: {}", one.detail, two.detail)
    };
    Judged {
        outcome,
        detail,
        normal: false,
    }
}

/// A graceful reply, short: its kind, or what it said.
fn kind(reply: &Reply) -> String {
    match reply {
        Reply::Result {
            is_error: false, ..
        } => "a result".into(),
        Reply::Result { is_error: true, .. } => "an isError result".into(),
        Reply::Error { code, .. } => format!("error {code}"),
        other => other.describe(),
    }
}

/// A second session opened and `DELETE`d, then used: 404 expected (405:
/// the server does not let clients end sessions); the own session must
/// still work after.
async fn delete(
    raw: &RawHttp,
    timeout: Duration,
    good: Option<&GoodCall>,
) -> Result<Judged, NotSent> {
    let crashed = |detail| Judged {
        outcome: Outcome::Crash,
        detail,
        normal: false,
    };
    let mut other = match RawHttp::new(raw.url()) {
        Ok(o) => o,
        Err(e) => return Ok(crashed(e.to_string())),
    };
    if let Err(e) = other.initialize(timeout).await {
        return Ok(crashed(format!("a second session did not open: {e}")));
    }
    let Some(sid) = other.session().map(str::to_string) else {
        return Err(NotSent::NoSession);
    };
    let del = other.delete(&sid, timeout).await;
    let (reply, lead) = match &del {
        Reply::NoReply { status } => {
            let reuse = other.good_call(good, Session::Own, timeout).await;
            (
                reuse,
                format!("DELETE: HTTP {status}; then on the session: "),
            )
        }
        Reply::HttpStatus { status: 405, .. } => (
            del.clone(),
            "the server does not let clients end sessions: DELETE: ".to_string(),
        ),
        _ => (del.clone(), "DELETE: ".to_string()),
    };
    let after = next_call(raw, &reply, timeout, good).await;
    let mut strays = other.take_strays();
    strays.extend(raw.take_strays());
    let expect = if matches!(del, Reply::NoReply { .. }) {
        Expect::Reject
    } else {
        Expect::Allow
    };
    let mut j = classify(expect, &reply, &strays, after.as_ref());
    j.detail = match (j.outcome, &reply) {
        (Outcome::Accepted, _) => format!("{lead}{}, though it had ended", reply.describe()),
        (Outcome::Graceful, Reply::HttpStatus { status, .. })
            if *status != 404 && matches!(del, Reply::NoReply { .. }) =>
        {
            format!("{lead}{} (the spec asks for 404)", j.detail)
        }
        _ => format!("{lead}{}", j.detail),
    };
    Ok(j)
}
