//! A raw JSON-RPC client over streamable HTTP (reqwest), for what rmcp's
//! typed client will not send — arguments that are not an object, invalid
//! JSON, a batch, no session or an unknown one, no `Accept`, a `DELETE`
//! then reuse — and to see what it would hide: a 4xx, a 202 to a request,
//! noise in the SSE stream. It keeps its own session (`initialize`, the
//! `Mcp-Session-Id` it is given, `notifications/initialized`). A reply is
//! read whether it is JSON or SSE, stopping at the response waited for, at
//! most [`MAX_REPLY_BYTES`], within the timeout; `httpreply` reads it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::httpreply::{complete, parse_head, reply_of, responses, Exchange, Framing, SseParser};
use super::jsonrpc::{quote, Incoming};
use super::outcome::Reply;
use super::protocol::{call_msg, GoodCall};
use super::raw::PROTOCOL_VERSION;
use super::CheckError;

/// The most of one reply read (an SSE stream that never answers stops here).
pub const MAX_REPLY_BYTES: usize = 4 << 20;
/// The most of a raw response head (and refusal body) read.
const MAX_HEAD_BYTES: usize = 64 << 10;
const SESSION_HEADER: &str = "mcp-session-id";
const VERSION_HEADER: &str = "mcp-protocol-version";
const ACCEPT_BOTH: &str = "application/json, text/event-stream";

/// Which `Mcp-Session-Id` a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Session<'a> {
    /// This client's own (none if the server gave none).
    Own,
    /// None at all.
    Without,
    /// This one.
    Id(&'a str),
}

/// One raw client and its session.
pub struct RawHttp {
    client: reqwest::Client,
    url: String,
    session: Option<String>,
    /// The protocol version the server chose, sent as `MCP-Protocol-Version`
    /// once initialized.
    version: Option<String>,
    next_id: AtomicU64,
    /// Output seen that is not a correct answer, since the last take.
    strays: Mutex<Vec<String>>,
}

impl std::fmt::Debug for RawHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawHttp")
            .field("url", &self.url)
            .field("session", &self.session)
            .finish()
    }
}

/// A failed request in words: cannot connect, or the connection dropped;
/// with the causes reqwest keeps behind its own message.
fn dropped(e: &reqwest::Error) -> String {
    let mut why = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        why.push_str(&format!(": {s}"));
        source = s.source();
    }
    if e.is_connect() {
        format!("cannot connect: {why}")
    } else {
        format!("the connection dropped: {why}")
    }
}

impl RawHttp {
    /// A client for `url`, with no session yet (and its own connections).
    pub fn new(url: &str) -> Result<RawHttp, CheckError> {
        let client = reqwest::Client::builder()
            .build()
            .map_err(CheckError::HttpClient)?;
        Ok(RawHttp {
            client,
            url: url.to_string(),
            session: None,
            version: None,
            next_id: AtomicU64::new(1),
            strays: Mutex::new(Vec::new()),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The session the server gave at `initialize` (none: it keeps none).
    pub fn session(&self) -> Option<&str> {
        self.session.as_deref()
    }

    /// The next id, as sent.
    pub fn fresh_id(&self) -> Value {
        Value::from(self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Take the stray output seen since the last call.
    pub fn take_strays(&self) -> Vec<String> {
        self.strays
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default()
    }

    /// Keep stray output seen outside [`RawHttp::send`].
    pub fn note(&self, strays: Vec<String>) {
        if let Ok(mut s) = self.strays.lock() {
            s.extend(strays);
        }
    }

    /// `initialize` (its `Mcp-Session-Id` kept), then
    /// `notifications/initialized`.
    pub async fn initialize(&mut self, timeout: Duration) -> Result<(), CheckError> {
        self.session = None;
        self.version = None;
        let id = self.fresh_id();
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "jetstress-check", "version": env!("CARGO_PKG_VERSION")}
        }});
        let fail = |r: &Reply| CheckError::Initialize(format!("raw HTTP client: {}", r.describe()));
        let (ex, session) = self
            .exchange(
                self.post(&msg, Session::Without),
                std::slice::from_ref(&id),
                timeout,
            )
            .await
            .map_err(|r| fail(&r))?;
        let (reply, _) = reply_of(&ex, Some(&id), false);
        if !matches!(reply, Reply::Result { .. }) {
            return Err(fail(&reply));
        }
        self.version = responses(&ex, &[id])
            .by_id
            .first()
            .and_then(|(_, b)| b.as_ref().ok())
            .and_then(|r| r.get("protocolVersion"))
            .and_then(Value::as_str)
            .filter(|v| HeaderValue::from_str(v).is_ok())
            .map(str::to_string)
            .or(Some(PROTOCOL_VERSION.to_string()));
        self.session = session.filter(|s| HeaderValue::from_str(s).is_ok());
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        self.send(&note, Session::Own, None, false, timeout).await;
        Ok(())
    }

    /// A POST of `body` (JSON bytes, maybe invalid) with the usual headers.
    pub fn post_bytes(&self, body: Vec<u8>, session: Session<'_>) -> reqwest::RequestBuilder {
        let mut b = self
            .client
            .post(&self.url)
            .header(ACCEPT, ACCEPT_BOTH)
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(v) = &self.version {
            b = b.header(VERSION_HEADER, v);
        }
        match session {
            Session::Own => {
                if let Some(s) = &self.session {
                    b = b.header(SESSION_HEADER, s);
                }
            }
            Session::Without => {}
            Session::Id(s) => b = b.header(SESSION_HEADER, s),
        }
        b
    }

    fn post(&self, msg: &Value, session: Session<'_>) -> reqwest::RequestBuilder {
        self.post_bytes(serde_json::to_vec(msg).unwrap_or_default(), session)
    }

    /// Send a request and read its reply (waiting for the responses to
    /// `want`) within `timeout`; the exchange and any `Mcp-Session-Id` it
    /// carried, or why there is none (timeout, connection).
    pub async fn exchange(
        &self,
        req: reqwest::RequestBuilder,
        want: &[Value],
        timeout: Duration,
    ) -> Result<(Exchange, Option<String>), Reply> {
        match tokio::time::timeout(timeout, self.read(req, want)).await {
            Err(_) => Err(Reply::Timeout(timeout)),
            Ok(r) => r,
        }
    }

    async fn read(
        &self,
        req: reqwest::RequestBuilder,
        want: &[Value],
    ) -> Result<(Exchange, Option<String>), Reply> {
        let mut resp = req.send().await.map_err(|e| Reply::Closed(dropped(&e)))?;
        let status = resp.status().as_u16();
        let header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header(CONTENT_TYPE.as_str()).unwrap_or_default();
        let session = header(SESSION_HEADER);
        if !((200..300).contains(&status) && Framing::of(&content_type) == Framing::Sse) {
            let mut body = Vec::new();
            let mut cut = None;
            while let Some(c) = resp.chunk().await.map_err(|e| Reply::Closed(dropped(&e)))? {
                if body.len() + c.len() > MAX_REPLY_BYTES {
                    cut = Some(format!("the body passed {} MiB", MAX_REPLY_BYTES >> 20));
                    break;
                }
                body.extend_from_slice(&c);
            }
            return Ok((
                Exchange::from_body(status, &content_type, &body, cut),
                session,
            ));
        }
        let mut ex = Exchange::from_body(status, &content_type, b"", None);
        let mut parser = SseParser::default();
        let mut total = 0;
        loop {
            let chunk = resp
                .chunk()
                .await
                .map_err(|e| Reply::Closed(format!("{} (mid-stream)", dropped(&e))))?;
            let ended = chunk.is_none();
            let events = match chunk {
                Some(c) => {
                    total += c.len();
                    ex.empty &= c.is_empty();
                    if total > MAX_REPLY_BYTES {
                        ex.cut = Some(format!(
                            "the SSE stream passed {} MiB without the response",
                            MAX_REPLY_BYTES >> 20
                        ));
                        break;
                    }
                    parser.feed(&c)
                }
                None => parser.finish(),
            };
            let seen = ex.messages.len();
            ex.push_events(&events);
            self.answer_server(&ex.messages[seen..]).await;
            if ended || complete(&ex.messages, want) {
                break;
            }
        }
        Ok((ex, session))
    }

    /// Requests the server sent in a stream: `ping` answered, anything
    /// else refused (this client offers no capabilities).
    async fn answer_server(&self, messages: &[Incoming]) {
        for m in messages {
            let Incoming::Request { id, method } = m else {
                continue;
            };
            let reply = if method == "ping" {
                json!({"jsonrpc": "2.0", "id": id, "result": {}})
            } else {
                json!({"jsonrpc": "2.0", "id": id,
                       "error": {"code": -32601, "message": "jetstress check offers no client capabilities"}})
            };
            let req = self.post(&reply, Session::Own);
            let _ = tokio::time::timeout(Duration::from_secs(2), req.send()).await;
        }
    }

    /// Send `msg` (with the session `session`) and take the reply to `id`
    /// (`None`: it carries none); on a timeout the request is cancelled.
    pub async fn send(
        &self,
        msg: &Value,
        session: Session<'_>,
        id: Option<&Value>,
        tool: bool,
        timeout: Duration,
    ) -> Reply {
        let body = serde_json::to_vec(msg).unwrap_or_default();
        self.send_bytes(body, session, id, tool, timeout).await
    }

    /// [`RawHttp::send`] for bytes that need not be JSON.
    pub async fn send_bytes(
        &self,
        body: Vec<u8>,
        session: Session<'_>,
        id: Option<&Value>,
        tool: bool,
        timeout: Duration,
    ) -> Reply {
        let want: Vec<Value> = id.into_iter().cloned().collect();
        match self
            .exchange(self.post_bytes(body, session), &want, timeout)
            .await
        {
            Ok((ex, _)) => {
                let (reply, strays) = reply_of(&ex, id, tool);
                self.note(strays);
                reply
            }
            Err(r @ Reply::Timeout(_)) => {
                if let Some(id) = id {
                    self.cancel(id, session).await;
                }
                r
            }
            Err(r) => r,
        }
    }

    /// `notifications/cancelled` for `id`, not waited on for long.
    async fn cancel(&self, id: &Value, session: Session<'_>) {
        let msg = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                         "params": {"requestId": id, "reason": "jetstress check: timed out"}});
        let req = self.post(&msg, session);
        let _ = tokio::time::timeout(Duration::from_secs(2), req.send()).await;
    }

    /// A `tools/call` with these (maybe not object) arguments.
    pub async fn call_tool(&self, name: &str, arguments: &Value, timeout: Duration) -> Reply {
        let id = self.fresh_id();
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                         "params": {"name": name, "arguments": arguments}});
        self.send(&msg, Session::Own, Some(&id), true, timeout)
            .await
    }

    /// Send the valid call (the good tool call where there is one, else
    /// `tools/list`) on `session`.
    pub async fn good_call(
        &self,
        good: Option<&GoodCall>,
        session: Session<'_>,
        timeout: Duration,
    ) -> Reply {
        let id = self.fresh_id();
        let msg = call_msg(&id, good);
        self.send(&msg, session, Some(&id), good.is_some(), timeout)
            .await
    }

    /// Whether this client's session still answers the valid call.
    pub async fn alive(&self, good: Option<&GoodCall>, timeout: Duration) -> Reply {
        self.good_call(good, Session::Own, timeout).await
    }

    /// `DELETE` of `session`: no body on a 2xx, else the status.
    pub async fn delete(&self, session: &str, timeout: Duration) -> Reply {
        let mut req = self
            .client
            .delete(&self.url)
            .header(SESSION_HEADER, session);
        if let Some(v) = &self.version {
            req = req.header(VERSION_HEADER, v);
        }
        match self.exchange(req, &[], timeout).await {
            Ok((ex, _)) if (200..300).contains(&ex.status) => Reply::NoReply { status: ex.status },
            Ok((ex, _)) => reply_of(&ex, None, false).0,
            Err(r) => r,
        }
    }

    /// End this client's session (a `DELETE`, not waited on for long).
    pub async fn close(&mut self) {
        if let Some(s) = self.session.take() {
            self.delete(&s, Duration::from_secs(2)).await;
        }
    }

    /// A POST without an `Accept` header, over a plain TCP connection
    /// (reqwest always adds `Accept: */*`): the status it got (a 2xx as a
    /// result, its body not read). `None` when the URL is not `http://`.
    pub async fn post_without_accept(
        &self,
        msg: &Value,
        session: Session<'_>,
        timeout: Duration,
    ) -> Option<Reply> {
        let url = reqwest::Url::parse(&self.url).ok()?;
        if url.scheme() != "http" {
            return None;
        }
        let host = url.host_str()?.to_string();
        let port = url.port_or_known_default()?;
        let mut path = url.path().to_string();
        if let Some(q) = url.query() {
            path.push('?');
            path.push_str(q);
        }
        let session = match session {
            Session::Own => self.session.clone(),
            Session::Without => None,
            Session::Id(s) => Some(s.to_string()),
        };
        let body = serde_json::to_vec(msg).unwrap_or_default();
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        if let Some(v) = &self.version {
            head.push_str(&format!("{VERSION_HEADER}: {v}\r\n"));
        }
        if let Some(s) = session {
            head.push_str(&format!("{SESSION_HEADER}: {s}\r\n"));
        }
        head.push_str("\r\n");
        let exchange = async {
            let addr = format!("{host}:{port}");
            let mut s = tokio::net::TcpStream::connect(&addr)
                .await
                .map_err(|e| Reply::Closed(format!("cannot connect to {addr}: {e}")))?;
            let sent = async {
                s.write_all(head.as_bytes()).await?;
                s.write_all(&body).await?;
                s.flush().await
            };
            sent.await
                .map_err(|e| Reply::Closed(format!("the connection dropped: {e}")))?;
            read_head(&mut s).await
        };
        Some(match tokio::time::timeout(timeout, exchange).await {
            Err(_) => Reply::Timeout(timeout),
            Ok(Err(r) | Ok(r)) => r,
        })
    }
}

/// Read a raw response head and, for a refusal, the start of its body.
async fn read_head(s: &mut tokio::net::TcpStream) -> Result<Reply, Reply> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Ok(Reply::Malformed(format!(
                "an HTTP response head over {} KiB",
                MAX_HEAD_BYTES >> 10
            )));
        }
        let n = s
            .read(&mut chunk)
            .await
            .map_err(|e| Reply::Closed(format!("the connection dropped: {e}")))?;
        if n == 0 {
            return Err(Reply::Closed(
                "the server closed the connection without an HTTP response".into(),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let Some((status, content_type)) = parse_head(&head) else {
        return Ok(Reply::Malformed(format!(
            "not an HTTP response: {}",
            quote(&head)
        )));
    };
    if (200..300).contains(&status) {
        return Ok(Reply::Result {
            is_error: false,
            summary: format!("HTTP {status}, {content_type:?}"),
        });
    }
    // A refusal is short and the server closes after it (Connection:
    // close); what has not come within a moment is left unread.
    let mut body = buf[end + 4..].to_vec();
    while body.len() < MAX_HEAD_BYTES {
        match tokio::time::timeout(Duration::from_millis(250), s.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => body.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    let ex = Exchange::from_body(status, &content_type, &body, None);
    Ok(reply_of(&ex, None, false).0)
}
