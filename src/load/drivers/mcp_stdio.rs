//! A lean MCP client for the load path's stdio sessions: the `initialize`
//! handshake, `tools/list` and `tools/call` as newline-delimited JSON-RPC.
//! A call is written straight into the session's out-buffer (one write per
//! batch of calls), and a reply is routed by id after reading only its
//! envelope and `isError`. rmcp's generic message model (an untagged enum
//! tried variant by variant, a service task between caller and pipe) took
//! about 60 % of the load thread per call; this path keeps the protocol's
//! behaviour: server pings are answered, other server requests get
//! "method not found", notifications and unparsable lines are ignored (as
//! the official SDKs do), a call dropped before its reply (a timeout) sends
//! `notifications/cancelled`. HTTP targets and `jetstress check` keep rmcp.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rmcp::model::{
    InitializeRequestParams, InitializeResult, ListToolsResult, ProtocolVersion, Tool,
};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::{oneshot, Notify};
use tokio_util::sync::CancellationToken;

use crate::load::drivers::reach::Failure;
use crate::load::stats::ErrorKind;

/// A line longer than this is discarded (its request then times out).
const MAX_LINE: usize = 64 << 20;
/// The out-buffer's capacity is given back above this after a write.
const KEEP_OUT: usize = 1 << 20;

/// How a request other than a call ended: the `result` JSON, or why not.
type RawAnswer = Result<String, RawError>;

/// Why a handshake or listing request got no result.
#[derive(Debug, Clone)]
pub enum RawError {
    /// The server answered with a JSON-RPC error: its code and message.
    Rpc(i64, String),
    /// The server answered, but its result is not the method's (what the
    /// parse found).
    NotMcp(String),
    /// The session closed first.
    Closed,
}

enum Waiter {
    Call(oneshot::Sender<Result<(), ErrorKind>>),
    Raw(oneshot::Sender<RawAnswer>),
}

struct Inner {
    next_id: AtomicU64,
    pending: Mutex<HashMap<u64, Waiter>>,
    /// Lines waiting for the writer task.
    out: Mutex<Vec<u8>>,
    wake_writer: Notify,
    closed: CancellationToken,
}

/// One live stdio session. Dropping it closes the pipes and kills the child.
pub struct StdioSession {
    inner: Arc<Inner>,
    /// `serverInfo.name` from the `initialize` reply.
    pub server_name: Option<String>,
    _child: Child,
}

/// The envelope of any incoming message; everything else is skipped.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    method: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
}

/// What a call's result says of itself.
#[derive(Deserialize)]
struct CallResult {
    #[serde(rename = "isError", default)]
    is_error: Option<bool>,
}

#[derive(Deserialize)]
struct RpcError {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
}

impl Inner {
    fn new() -> Inner {
        Inner {
            next_id: AtomicU64::new(0),
            pending: Mutex::new(HashMap::new()),
            out: Mutex::new(Vec::with_capacity(4096)),
            wake_writer: Notify::new(),
            closed: CancellationToken::new(),
        }
    }

    fn push(&self, write: impl FnOnce(&mut Vec<u8>)) {
        if let Ok(mut out) = self.out.lock() {
            write(&mut out);
        }
        self.wake_writer.notify_one();
    }

    /// The session is over: every waiting request fails.
    fn close(&self) {
        self.closed.cancel();
        let drained: Vec<Waiter> = match self.pending.lock() {
            Ok(mut p) => p.drain().map(|(_, w)| w).collect(),
            Err(_) => Vec::new(),
        };
        for w in drained {
            match w {
                Waiter::Call(tx) => {
                    let _ = tx.send(Err(ErrorKind::Transport));
                }
                Waiter::Raw(tx) => {
                    let _ = tx.send(Err(RawError::Closed));
                }
            }
        }
    }

    fn register(&self, w: Waiter) -> Option<u64> {
        if self.closed.is_cancelled() {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.pending.lock().ok()?.insert(id, w);
        // A close between the check and the insert has drained the map
        // already: nothing would ever answer this one.
        if self.closed.is_cancelled() {
            self.pending.lock().ok()?.remove(&id);
            return None;
        }
        Some(id)
    }

    /// One incoming line.
    fn handle(&self, line: &[u8]) {
        let Ok(env) = serde_json::from_slice::<Envelope>(line) else {
            return;
        };
        match (env.method, env.id) {
            (Some(method), Some(id)) => {
                // A request from the server.
                let id = id.get();
                self.push(|out| {
                    if method == "ping" {
                        let _ = writeln!(out, r#"{{"jsonrpc":"2.0","id":{id},"result":{{}}}}"#);
                    } else {
                        let _ = write!(
                            out,
                            r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":-32601,"message":"#
                        );
                        let _ = serde_json::to_writer(
                            &mut *out,
                            &format!("method not found: {method}"),
                        );
                        out.extend_from_slice(b"}}\n");
                    }
                });
            }
            (None, Some(id)) => {
                let Ok(n) = id.get().parse::<u64>() else {
                    return;
                };
                let Some(w) = self.pending.lock().ok().and_then(|mut p| p.remove(&n)) else {
                    return;
                };
                match w {
                    Waiter::Call(tx) => {
                        let answer = match (env.result, env.error) {
                            (_, Some(_)) => Err(ErrorKind::Rpc),
                            (Some(r), None) => match serde_json::from_str::<CallResult>(r.get()) {
                                Ok(c) if c.is_error == Some(true) => Err(ErrorKind::Tool),
                                Ok(_) => Ok(()),
                                Err(_) => Err(ErrorKind::Transport),
                            },
                            (None, None) => Err(ErrorKind::Transport),
                        };
                        let _ = tx.send(answer);
                    }
                    Waiter::Raw(tx) => {
                        let answer = match (env.result, env.error) {
                            (_, Some(e)) => {
                                let e =
                                    serde_json::from_str::<RpcError>(e.get()).unwrap_or(RpcError {
                                        code: 0,
                                        message: e.get().to_string(),
                                    });
                                Err(RawError::Rpc(e.code, e.message))
                            }
                            (Some(r), None) => Ok(r.get().to_string()),
                            (None, None) => Ok("null".into()),
                        };
                        let _ = tx.send(answer);
                    }
                }
            }
            // Notifications, and anything without a method or an id.
            _ => {}
        }
    }
}

/// Removes a call that is dropped before its answer (a timeout) and tells
/// the server it was cancelled.
struct CallGuard<'a> {
    inner: &'a Inner,
    id: u64,
    done: bool,
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let was_pending = self
            .inner
            .pending
            .lock()
            .ok()
            .and_then(|mut p| p.remove(&self.id))
            .is_some();
        if was_pending && !self.inner.closed.is_cancelled() {
            let id = self.id;
            self.inner.push(|out| {
                let _ = writeln!(
                    out,
                    r#"{{"jsonrpc":"2.0","method":"notifications/cancelled","params":{{"requestId":{id},"reason":"timed out"}}}}"#
                );
            });
        }
    }
}

impl StdioSession {
    /// Start a session on a spawned child whose stdin and stdout are piped:
    /// `initialize`, then `notifications/initialized`. The caller bounds the
    /// time it may take.
    pub async fn start(mut child: Child) -> Result<StdioSession, Failure> {
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(Failure::Other("the child's stdio is not piped".into()));
        };
        let inner = Arc::new(Inner::new());
        tokio::spawn(write_loop(inner.clone(), stdin));
        tokio::spawn(read_loop(
            inner.clone(),
            BufReader::with_capacity(64 << 10, stdout),
        ));
        let mut hello = InitializeRequestParams::default();
        hello.protocol_version = ProtocolVersion::LATEST_WITH_INITIALIZE;
        let params = serde_json::to_string(&hello)
            .map_err(|e| Failure::Other(format!("initialize: {e}")))?;
        let reply = request(&inner, "initialize", &params)
            .await
            .map_err(|e| match e {
                RawError::Closed => Failure::Closed,
                RawError::Rpc(_, m) => Failure::NotMcp(format!("initialize was refused: {m}")),
                RawError::NotMcp(m) => Failure::NotMcp(m),
            })?;
        let info: InitializeResult = serde_json::from_str(&reply)
            .map_err(|_| Failure::NotMcp("its reply to initialize is not an MCP one".into()))?;
        inner.push(|out| {
            out.extend_from_slice(
                b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n",
            );
        });
        Ok(StdioSession {
            inner,
            server_name: Some(info.server_info.name),
            _child: child,
        })
    }

    /// Every tool the server lists, following `nextCursor`.
    pub async fn list_tools(&self) -> Result<Vec<Tool>, RawError> {
        let mut tools = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let params = match &cursor {
                Some(c) => serde_json::json!({ "cursor": c }).to_string(),
                None => "{}".into(),
            };
            let reply = request(&self.inner, "tools/list", &params).await?;
            let page: ListToolsResult = serde_json::from_str(&reply).map_err(|e| {
                RawError::NotMcp(format!("its reply to tools/list is not an MCP one: {e}"))
            })?;
            tools.extend(page.tools);
            match page.next_cursor {
                Some(c) if !c.is_empty() && tools.len() < 100_000 => cursor = Some(c),
                _ => return Ok(tools),
            }
        }
    }

    /// One `tools/call`: `Rpc` for a JSON-RPC error, `Tool` for
    /// `isError: true`, `Transport` when the session is down or the reply
    /// is not a call result. Dropping the future cancels the call.
    pub async fn call(
        &self,
        tool: &str,
        args: Option<&serde_json::Map<String, serde_json::Value>>,
    ) -> Result<(), ErrorKind> {
        let (tx, rx) = oneshot::channel();
        let id = self
            .inner
            .register(Waiter::Call(tx))
            .ok_or(ErrorKind::Transport)?;
        let mut guard = CallGuard {
            inner: &self.inner,
            id,
            done: false,
        };
        self.inner.push(|out| {
            let _ = write!(
                out,
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"#
            );
            let _ = serde_json::to_writer(&mut *out, tool);
            if let Some(a) = args {
                out.extend_from_slice(b",\"arguments\":");
                let _ = serde_json::to_writer(&mut *out, a);
            }
            out.extend_from_slice(b"}}\n");
        });
        let answer = rx.await.unwrap_or(Err(ErrorKind::Transport));
        guard.done = true;
        answer
    }

    /// Resolves when the session has ended (the child closed its stdout or a
    /// write failed).
    pub async fn closed(&self) {
        self.inner.closed.cancelled().await;
    }
}

impl Drop for StdioSession {
    fn drop(&mut self) {
        self.inner.close();
    }
}

async fn request(inner: &Inner, method: &str, params: &str) -> RawAnswer {
    let (tx, rx) = oneshot::channel();
    let id = inner.register(Waiter::Raw(tx)).ok_or(RawError::Closed)?;
    inner.push(|out| {
        let _ = writeln!(
            out,
            r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{params}}}"#
        );
    });
    rx.await.unwrap_or(Err(RawError::Closed))
}

async fn write_loop(inner: Arc<Inner>, mut stdin: ChildStdin) {
    let mut buf = Vec::with_capacity(4096);
    loop {
        tokio::select! {
            biased;
            () = inner.closed.cancelled() => return,
            () = inner.wake_writer.notified() => {}
        }
        if let Ok(mut out) = inner.out.lock() {
            std::mem::swap(&mut *out, &mut buf);
        }
        if buf.is_empty() {
            continue;
        }
        if stdin.write_all(&buf).await.is_err() {
            inner.close();
            return;
        }
        buf.clear();
        if buf.capacity() > KEEP_OUT {
            buf = Vec::with_capacity(4096);
        }
    }
}

async fn read_loop(inner: Arc<Inner>, mut reader: BufReader<ChildStdout>) {
    let mut line = Vec::with_capacity(4096);
    loop {
        line.clear();
        let read = tokio::select! {
            biased;
            () = inner.closed.cancelled() => break,
            r = read_line(&mut reader, &mut line) => r,
        };
        match read {
            Ok(true) => {
                let l = line.strip_suffix(b"\n").unwrap_or(&line);
                let l = l.strip_suffix(b"\r").unwrap_or(l);
                if !l.is_empty() {
                    inner.handle(l);
                }
                if line.capacity() > KEEP_OUT {
                    line = Vec::with_capacity(4096);
                }
            }
            Ok(false) | Err(_) => break,
        }
    }
    inner.close();
}

/// One line into `line` (a line over [`MAX_LINE`] is skipped whole);
/// `false` at end of stream.
async fn read_line(
    r: &mut (impl AsyncBufRead + Unpin),
    line: &mut Vec<u8>,
) -> std::io::Result<bool> {
    let mut skipping = false;
    loop {
        let avail = r.fill_buf().await?;
        if avail.is_empty() {
            return Ok(false);
        }
        let (chunk, end) = match avail.iter().position(|&b| b == b'\n') {
            Some(i) => (&avail[..=i], true),
            None => (avail, false),
        };
        let n = chunk.len();
        if !skipping {
            if line.len() + n > MAX_LINE {
                skipping = true;
                *line = Vec::new();
            } else {
                line.extend_from_slice(chunk);
            }
        }
        r.consume(n);
        if end {
            if skipping {
                skipping = false;
                continue;
            }
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_split_and_an_oversized_one_is_skipped() {
        let big = vec![b'x'; MAX_LINE + 10];
        let mut input = b"one\r\n".to_vec();
        input.extend_from_slice(&big);
        input.extend_from_slice(b"\ntwo\nthree");
        let mut r = BufReader::with_capacity(1 << 16, &input[..]);
        let mut line = Vec::new();
        assert!(read_line(&mut r, &mut line).await.unwrap());
        assert_eq!(line, b"one\r\n");
        line.clear();
        assert!(read_line(&mut r, &mut line).await.unwrap());
        assert_eq!(line, b"two\n");
        line.clear();
        // A last line without its newline is an incomplete message.
        assert!(!read_line(&mut r, &mut line).await.unwrap());
    }

    fn out(i: &Inner) -> String {
        String::from_utf8(std::mem::take(&mut *i.out.lock().unwrap())).unwrap()
    }

    #[tokio::test]
    async fn replies_are_routed_by_id_and_classified() {
        let i = Inner::new();
        let mut rx = Vec::new();
        for _ in 0..5 {
            let (tx, r) = oneshot::channel();
            i.register(Waiter::Call(tx)).unwrap();
            rx.push(r);
        }
        i.handle(br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"x"}}"#);
        i.handle(br#"{"jsonrpc":"2.0","id":0,"result":{"content":[{"type":"text","text":"ok"}]}}"#);
        i.handle(br#"{"jsonrpc":"2.0","id":2,"result":{"content":[],"isError":true}}"#);
        i.handle(br#"{"jsonrpc":"2.0","id":3,"result":"not an object"}"#);
        // Noise, an unknown id and a notification change nothing.
        i.handle(b"debug output on stdout");
        i.handle(br#"{"jsonrpc":"2.0","id":100004,"result":{}}"#);
        i.handle(br#"{"jsonrpc":"2.0","method":"notifications/message","params":{}}"#);
        let got: Vec<_> = rx
            .iter_mut()
            .take(4)
            .map(|r| r.try_recv().unwrap())
            .collect();
        assert_eq!(
            got,
            [
                Ok(()),
                Err(ErrorKind::Rpc),
                Err(ErrorKind::Tool),
                Err(ErrorKind::Transport)
            ]
        );
        assert!(rx[4].try_recv().is_err(), "id 4 is still waiting");
        i.close();
        assert_eq!(rx[4].try_recv().unwrap(), Err(ErrorKind::Transport));
    }

    #[test]
    fn server_requests_are_answered() {
        let i = Inner::new();
        i.handle(br#"{"jsonrpc":"2.0","id":"s-1","method":"ping"}"#);
        i.handle(br#"{"jsonrpc":"2.0","id":7,"method":"roots/list"}"#);
        let text = out(&i);
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["id"], "s-1");
        assert_eq!(lines[0]["result"], serde_json::json!({}));
        assert_eq!(lines[1]["id"], 7);
        assert_eq!(lines[1]["error"]["code"], -32601);
        assert_eq!(lines[1]["error"]["message"], "method not found: roots/list");
    }

    #[test]
    fn a_dropped_call_is_cancelled_once() {
        let i = Inner::new();
        let (tx, _rx) = oneshot::channel();
        let id = i.register(Waiter::Call(tx)).unwrap();
        drop(CallGuard {
            inner: &i,
            id,
            done: false,
        });
        let text = out(&i);
        let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(v["method"], "notifications/cancelled");
        assert_eq!(v["params"]["requestId"], id);
        assert!(i.pending.lock().unwrap().is_empty());
    }
}
