//! What a streamable-HTTP MCP server sent back, read as JSON-RPC: the
//! framing of a `text/event-stream` body (the `data:` of each event), a
//! JSON body, the responses either holds, and the [`Reply`] to one request
//! from the HTTP status and those responses; also the head of a raw
//! HTTP/1.1 response. Pure: the raw HTTP client feeds it bytes.

use serde_json::Value;

use super::jsonrpc::{parse_line, plain_reply, quote, tool_reply, Incoming, RpcError};
use super::outcome::Reply;

/// How a body is framed, by its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Json,
    Sse,
    Other,
}

impl Framing {
    /// From a `Content-Type` value (its essence, any case).
    pub fn of(content_type: &str) -> Framing {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/json" => Framing::Json,
            "text/event-stream" => Framing::Sse,
            _ => Framing::Other,
        }
    }

    /// The body's name in a finding.
    fn source(self) -> &'static str {
        match self {
            Framing::Json => "the JSON body",
            Framing::Sse => "the SSE stream",
            Framing::Other => "the body",
        }
    }
}

/// The events of an SSE body as it arrives, chunk by chunk: lines end in
/// LF, CRLF or CR; `data:` lines are joined; a blank line ends an event;
/// comments, `id:`, `retry:` and events of a type other than `message`
/// are passed over, and so are events without data (SSE priming events).
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    after_cr: bool,
    data: String,
    other_type: bool,
}

impl SseParser {
    /// Read a chunk; the data of each event it completes.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        for &b in bytes {
            if std::mem::take(&mut self.after_cr) && b == b'\n' {
                continue;
            }
            match b {
                b'\n' => self.end_line(&mut out),
                b'\r' => {
                    self.end_line(&mut out);
                    self.after_cr = true;
                }
                _ => self.line.push(b),
            }
        }
        out
    }

    /// The stream ended: an event cut off before its blank line still counts.
    pub fn finish(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.line.is_empty() {
            self.end_line(&mut out);
        }
        self.dispatch(&mut out);
        out
    }

    fn end_line(&mut self, out: &mut Vec<String>) {
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line[0] == b':' {
            return;
        }
        let text = String::from_utf8_lossy(&line);
        let (name, value) = match text.split_once(':') {
            Some((n, v)) => (n, v.strip_prefix(' ').unwrap_or(v)),
            None => (&*text, ""),
        };
        match name {
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
            }
            "event" => self.other_type = !(value.is_empty() || value == "message"),
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<String>) {
        let mut data = std::mem::take(&mut self.data);
        let other = std::mem::take(&mut self.other_type);
        data.pop();
        if !other && !data.trim().is_empty() {
            out.push(data);
        }
    }
}

/// One HTTP exchange as read.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    pub status: u16,
    pub content_type: String,
    /// The JSON-RPC messages in a JSON or SSE body.
    pub messages: Vec<Incoming>,
    /// The start of the body, quoted, when it is a refusal or not JSON-RPC.
    pub text: String,
    pub empty: bool,
    /// Why the body was not read to its end (over the cap, the stream broke).
    pub cut: Option<String>,
}

fn success(status: u16) -> bool {
    (200..300).contains(&status)
}

impl Exchange {
    /// From a body read whole.
    pub fn from_body(
        status: u16,
        content_type: &str,
        body: &[u8],
        cut: Option<String>,
    ) -> Exchange {
        let mut ex = Exchange {
            status,
            content_type: content_type.to_string(),
            messages: Vec::new(),
            text: String::new(),
            empty: body.is_empty(),
            cut,
        };
        let framing = Framing::of(content_type);
        match framing {
            Framing::Json => ex.messages = parse_line(body),
            Framing::Sse => {
                let mut p = SseParser::default();
                let mut events = p.feed(body);
                events.extend(p.finish());
                ex.push_events(&events);
            }
            Framing::Other => {}
        }
        if framing == Framing::Other || !success(status) {
            ex.text = quote(&String::from_utf8_lossy(body));
        }
        ex
    }

    /// Take the data of SSE events: each is one JSON-RPC message (or a batch).
    pub fn push_events(&mut self, events: &[String]) {
        for data in events {
            self.messages.extend(parse_line(data.as_bytes()));
        }
    }

    fn framing(&self) -> Framing {
        Framing::of(&self.content_type)
    }
}

/// The responses in an exchange, sorted out against the ids waited for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Responses {
    /// Replies to ids waited for (waiting for none: every reply), in order.
    pub by_id: Vec<(Value, Result<Value, RpcError>)>,
    /// Errors with a null id: answers to what could not be read.
    pub nulls: Vec<RpcError>,
    /// What is not a correct answer: noise, malformed messages, replies to
    /// ids never sent or answered twice.
    pub strays: Vec<String>,
}

/// Sort out the messages of `ex`, waiting for the replies to `want`.
pub fn responses(ex: &Exchange, want: &[Value]) -> Responses {
    let source = ex.framing().source();
    let mut r = Responses::default();
    for m in &ex.messages {
        match m {
            Incoming::Response { id, body } if id.is_null() => match body {
                Err(e) => r.nulls.push(e.clone()),
                Ok(_) => r.strays.push(format!("a result with id null in {source}")),
            },
            Incoming::Response { id, body } if want.is_empty() || want.contains(id) => {
                if r.by_id.iter().any(|(g, _)| g == id) {
                    r.strays.push(format!("id {id} answered twice in {source}"));
                } else {
                    r.by_id.push((id.clone(), body.clone()));
                }
            }
            Incoming::Response { id, .. } => r.strays.push(format!(
                "a reply to id {id}, which was never sent, in {source}"
            )),
            Incoming::Noise(text) => r.strays.push(format!("not JSON in {source}: {text}")),
            Incoming::Malformed(why) => {
                r.strays
                    .push(format!("malformed JSON-RPC in {source}: {why}"));
            }
            Incoming::Request { .. } | Incoming::Notification { .. } => {}
        }
    }
    r
}

/// Whether every reply waited for has come (waiting for none: any reply),
/// or an error with a null id that answers what could not be read.
pub fn complete(messages: &[Incoming], want: &[Value]) -> bool {
    let mut got = 0;
    for m in messages {
        if let Incoming::Response { id, body } = m {
            if id.is_null() && body.is_err() {
                return true;
            }
            if want.is_empty() {
                return true;
            }
            if want.contains(id) {
                got += 1;
            }
        }
    }
    !want.is_empty() && got >= want.len()
}

/// What a refusal (a status other than 2xx) said.
fn refusal(ex: &Exchange) -> String {
    let error = ex.messages.iter().find_map(|m| match m {
        Incoming::Response { body: Err(e), .. } => Some(e),
        _ => None,
    });
    match error {
        Some(e) => format!("JSON-RPC error {}: {}", e.code, quote(&e.message)),
        None => ex.text.clone(),
    }
}

/// The reply to the request `id` (`None`: a message without one), and
/// the stray output around it. `tool`: check it as a `tools/call` result.
pub fn reply_of(ex: &Exchange, id: Option<&Value>, tool: bool) -> (Reply, Vec<String>) {
    if !success(ex.status) {
        let body = refusal(ex);
        return (
            Reply::HttpStatus {
                status: ex.status,
                body,
            },
            Vec::new(),
        );
    }
    if ex.empty {
        return (Reply::NoReply { status: ex.status }, Vec::new());
    }
    let want: Vec<Value> = id.into_iter().cloned().collect();
    let mut r = responses(ex, &want);
    let null = r.nulls.first().cloned().map(Err);
    let answer = r.by_id.first().map(|(_, b)| b.clone()).or(null);
    if let Some(body) = answer {
        let reply = if tool {
            tool_reply(&body)
        } else {
            plain_reply(&body)
        };
        return (reply, r.strays);
    }
    let to = id.map_or(String::new(), |i| format!(" to id {i}"));
    let why = if let Some(cut) = &ex.cut {
        cut.clone()
    } else if !r.strays.is_empty() {
        r.strays.remove(0)
    } else if ex.framing() == Framing::Other {
        format!(
            "HTTP {} with a body of type {:?}, not JSON-RPC: {}",
            ex.status, ex.content_type, ex.text
        )
    } else {
        format!("{} held no response{to}", ex.framing().source())
    };
    // The first stray (or the cut) says why; the rest would only repeat it.
    (Reply::Malformed(why), Vec::new())
}

/// The status and `Content-Type` of a raw HTTP/1.x response head (up to
/// the blank line); `None` when it is not one.
pub fn parse_head(head: &str) -> Option<(u16, String)> {
    let mut lines = head.lines();
    let mut status_line = lines.next()?.split_whitespace();
    if !status_line.next()?.starts_with("HTTP/1.") {
        return None;
    }
    let status = status_line.next()?.parse::<u16>().ok()?;
    let content_type = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-type"))
        .map_or(String::new(), |(_, v)| v.trim().to_string());
    Some((status, content_type))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const SSE_RMCP: &str = "data: \nid: 0/0\nretry: 3000\n\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-32601,\"message\":\"jetstress/no_such\"}}\nid: 1/0\n\n";
    const SSE_TS: &str = "event: message\r\nid: 9d1c\r\ndata: {\"result\":{},\"jsonrpc\":\"2.0\",\"id\":5}\r\n\r\nevent: message\r\nid: ef92\r\ndata: {\"result\":{},\"jsonrpc\":\"2.0\",\"id\":6}\r\n\r\n";

    fn sse(body: &str) -> Exchange {
        Exchange::from_body(200, "text/event-stream", body.as_bytes(), None)
    }

    #[test]
    fn sse_events_in_any_chunking_and_line_ending() {
        let whole: Vec<String> = {
            let mut p = SseParser::default();
            let mut e = p.feed(SSE_TS.as_bytes());
            e.extend(p.finish());
            e
        };
        assert_eq!(whole.len(), 2);
        assert_eq!(whole[0], r#"{"result":{},"jsonrpc":"2.0","id":5}"#);
        // Byte by byte (a CRLF split across chunks) gives the same events.
        let mut p = SseParser::default();
        let mut bytewise = Vec::new();
        for b in SSE_TS.as_bytes() {
            bytewise.extend(p.feed(std::slice::from_ref(b)));
        }
        bytewise.extend(p.finish());
        assert_eq!(bytewise, whole);
        // CR alone ends lines too; data lines join with LF; comments and
        // other event types are passed over; the last event may lack its
        // blank line.
        let mut p = SseParser::default();
        let mut e = p.feed(
            b": keep-alive\r\rdata: {\"a\":\rdata: 1}\r\revent: endpoint\ndata: /x\n\ndata:2",
        );
        e.extend(p.finish());
        assert_eq!(e, vec!["{\"a\":\n1}".to_string(), "2".to_string()]);
    }

    #[test]
    fn the_reply_to_the_id_waited_for() {
        // rmcp: a priming event without data, then the error.
        let (r, strays) = reply_of(&sse(SSE_RMCP), Some(&json!(7)), false);
        assert_eq!(
            r,
            Reply::Error {
                code: -32601,
                message: "jetstress/no_such".into()
            }
        );
        assert!(strays.is_empty());
        // The TypeScript SDK: one event per batch member.
        let ex = sse(SSE_TS);
        let got = responses(&ex, &[json!(5), json!(6)]);
        assert_eq!(got.by_id.len(), 2);
        assert!(complete(&ex.messages, &[json!(5), json!(6)]));
        assert!(!complete(&ex.messages, &[json!(5), json!(8)]));
        // Waiting for 6, the reply to 5 is stray.
        let (r, strays) = reply_of(&ex, Some(&json!(6)), false);
        assert!(r.answered());
        assert_eq!(
            strays,
            vec!["a reply to id 5, which was never sent, in the SSE stream"]
        );
        // A JSON body; a tool result is checked as one.
        let body =
            br#"{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"hi"}]}}"#;
        let ex = Exchange::from_body(200, "application/json; charset=utf-8", body, None);
        let (r, _) = reply_of(&ex, Some(&json!(3)), true);
        assert_eq!(
            r,
            Reply::Result {
                is_error: false,
                summary: "text: hi".into()
            }
        );
        // An error with a null id answers a request that could not be read.
        let body =
            br#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}"#;
        let ex = Exchange::from_body(200, "application/json", body, None);
        assert!(complete(&ex.messages, &[json!(4)]));
        let (r, _) = reply_of(&ex, Some(&json!(4)), false);
        assert!(matches!(r, Reply::Error { code: -32700, .. }), "{r:?}");
    }

    #[test]
    fn statuses_and_empty_bodies() {
        let ex = Exchange::from_body(202, "", b"", None);
        assert_eq!(reply_of(&ex, None, false).0, Reply::NoReply { status: 202 });
        let ex = Exchange::from_body(404, "text/plain", b"Not Found: Session not found", None);
        assert_eq!(
            reply_of(&ex, Some(&json!(1)), false).0,
            Reply::HttpStatus {
                status: 404,
                body: "Not Found: Session not found".into()
            }
        );
        // A refusal with a JSON-RPC error body says the error.
        let body = br#"{"jsonrpc":"2.0","error":{"code":-32000,"message":"Bad Request: No valid session ID provided"}}"#;
        let ex = Exchange::from_body(400, "application/json", body, None);
        assert_eq!(
            reply_of(&ex, Some(&json!(1)), false).0.describe(),
            "HTTP 400: JSON-RPC error -32000: Bad Request: No valid session ID provided"
        );
    }

    #[test]
    fn malformed_bodies_name_their_source() {
        let bad = |ex: &Exchange| match reply_of(ex, Some(&json!(1)), false) {
            (Reply::Malformed(why), strays) => {
                assert!(strays.is_empty(), "{strays:?}");
                why
            }
            other => panic!("{other:?}"),
        };
        let ex = Exchange::from_body(200, "application/json", b"{\"jsonrpc\": \"2.0\", ", None);
        assert_eq!(
            bad(&ex),
            "not JSON in the JSON body: {\"jsonrpc\": \"2.0\","
        );
        assert_eq!(
            bad(&sse("data: hello\n\n")),
            "not JSON in the SSE stream: hello"
        );
        assert_eq!(
            bad(&sse("data: {\"jsonrpc\":\"1.0\",\"id\":1,\"result\":{}}\n\n")),
            "malformed JSON-RPC in the SSE stream: jsonrpc is not \"2.0\": {\"id\":1,\"jsonrpc\":\"1.0\",\"result\":{}}"
        );
        assert_eq!(
            bad(&sse(": only a comment\n\n")),
            "the SSE stream held no response to id 1"
        );
        let ex = Exchange::from_body(200, "text/html", b"<html>", None);
        assert_eq!(
            bad(&ex),
            "HTTP 200 with a body of type \"text/html\", not JSON-RPC: <html>"
        );
        let cut = Some("the SSE stream passed 4 MiB without a response".to_string());
        let ex = Exchange::from_body(200, "text/event-stream", b"data: {}\n\n", cut);
        assert_eq!(bad(&ex), "the SSE stream passed 4 MiB without a response");
    }

    #[test]
    fn raw_response_heads() {
        let head = "HTTP/1.1 406 Not Acceptable\r\ncontent-type: application/json\r\ncontent-length: 3\r\n";
        assert_eq!(parse_head(head), Some((406, "application/json".into())));
        assert_eq!(
            parse_head("HTTP/1.0 200 OK\r\n"),
            Some((200, String::new()))
        );
        assert_eq!(parse_head("SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(parse_head(""), None);
    }
}
