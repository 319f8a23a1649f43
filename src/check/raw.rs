//! A raw newline-delimited JSON-RPC client over a stdio server's stdin and
//! stdout, for what rmcp's typed API will not send (arguments that are not
//! an object, invalid JSON, a wrong `jsonrpc`, a batch) and to see what it
//! would hide (noise on stdout, replies to the wrong id). The child is
//! started the way every jetstress child is ([`stdio_command`]: own process
//! group, `PR_SET_PDEATHSIG`, stderr to a log file) and its whole process
//! group is killed when the client is dropped.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin};
use tokio::sync::mpsc;

use super::jsonrpc::{parse_line, plain_reply, tool_reply, Incoming, RpcError};
use super::outcome::Reply;
use super::CheckError;
use crate::load::{kill_group, stderr_log, stderr_log_path, stdio_command};

/// The protocol version offered in `initialize`.
pub const PROTOCOL_VERSION: &str = "2025-06-18";

/// How a stdio server is started.
#[derive(Debug, Clone)]
pub struct StdioSpec {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

/// How responses with a `null` id are taken while waiting for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NullId {
    /// An error with id `null` answers the request waited for: some servers
    /// (rmcp among them) answer a request they cannot decode that way.
    Answers,
    /// It answers something sent before (an invalid line): note it, go on.
    Earlier,
}

/// One running stdio server.
pub struct RawServer {
    child: Child,
    pid: u32,
    stdin: Option<ChildStdin>,
    rx: mpsc::UnboundedReceiver<Incoming>,
    next_id: u64,
    log: PathBuf,
    spawned: Instant,
    /// Output seen that is not a correct message: noise, malformed JSON-RPC,
    /// replies to ids never sent (or answered twice).
    strays: Vec<String>,
    /// Ids sent whose reply may still come (timed out, cancelled, fired
    /// without waiting) or that were answered already.
    settled: HashSet<Value>,
    /// Ids sent and not yet answered.
    open: HashSet<Value>,
    /// Errors with a null id not taken as an answer.
    pub null_errors: Vec<RpcError>,
    /// Replies to ids sent without waiting for them, in arrival order.
    answers: Vec<(Value, Result<Value, RpcError>)>,
}

impl std::fmt::Debug for RawServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawServer").field("pid", &self.pid).finish()
    }
}

impl RawServer {
    /// Start the server; its stderr goes to `LOG_DIR/<name>.stderr.log`.
    pub fn spawn(spec: &StdioSpec, log_dir: &Path, name: &str) -> Result<RawServer, CheckError> {
        let mut cmd = stdio_command(&spec.program, &spec.args, &spec.env);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr_log(log_dir, name));
        let spawned = Instant::now();
        let mut child = cmd.spawn().map_err(|source| CheckError::Spawn {
            program: spec.program.display().to_string(),
            source,
        })?;
        let pid = child.id().unwrap_or(0);
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let (tx, rx) = mpsc::unbounded_channel();
        if let Some(out) = stdout {
            tokio::spawn(async move {
                let mut r = BufReader::with_capacity(1 << 16, out);
                let mut line = Vec::new();
                loop {
                    line.clear();
                    match r.read_until(b'\n', &mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {
                            for m in parse_line(&line) {
                                if tx.send(m).is_err() {
                                    return;
                                }
                            }
                        }
                    }
                }
            });
        }
        Ok(RawServer {
            child,
            pid,
            stdin,
            rx,
            next_id: 1,
            log: stderr_log_path(log_dir, name),
            spawned,
            strays: Vec::new(),
            settled: HashSet::new(),
            open: HashSet::new(),
            null_errors: Vec::new(),
            answers: Vec::new(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Since the process was started.
    pub fn age(&self) -> Duration {
        self.spawned.elapsed()
    }

    /// `initialize`, then `notifications/initialized`; the time from the
    /// spawn to the `initialize` reply.
    pub async fn initialize(&mut self, timeout: Duration) -> Result<Duration, CheckError> {
        let params = json!({
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "jetstress-check", "version": env!("CARGO_PKG_VERSION")}
        });
        let reply = self
            .call("initialize", params, timeout, NullId::Answers)
            .await;
        let took = self.spawned.elapsed();
        match reply {
            Reply::Result { .. } => {}
            other => return Err(CheckError::Initialize(other.describe())),
        }
        self.notify("notifications/initialized", json!({})).await;
        Ok(took)
    }

    /// `tools/list`, every page.
    pub async fn list_tools(&mut self, timeout: Duration) -> Result<Vec<Value>, CheckError> {
        let mut tools = Vec::new();
        let mut cursor: Option<Value> = None;
        for _ in 0..100 {
            let params = match &cursor {
                Some(c) => json!({ "cursor": c }),
                None => json!({}),
            };
            let id = self.request("tools/list", params).await;
            match self.wait_body(&id, timeout, NullId::Answers).await {
                Ok(Ok(r)) => {
                    let page = r.get("tools").and_then(Value::as_array).ok_or_else(|| {
                        CheckError::ListTools("a result without a tools array".into())
                    })?;
                    tools.extend(page.iter().cloned());
                    cursor = r.get("nextCursor").filter(|c| !c.is_null()).cloned();
                    if cursor.is_none() {
                        return Ok(tools);
                    }
                }
                Ok(Err(e)) => {
                    return Err(CheckError::ListTools(format!(
                        "JSON-RPC error {}: {}",
                        e.code, e.message
                    )))
                }
                Err(reply) => return Err(CheckError::ListTools(reply.describe())),
            }
        }
        Ok(tools)
    }

    /// The next id, as sent.
    pub fn fresh_id(&mut self) -> Value {
        let id = Value::from(self.next_id);
        self.next_id += 1;
        id
    }

    /// Write one line (a newline is added). `false` when the pipe is gone.
    pub async fn send_line(&mut self, line: &[u8]) -> bool {
        let Some(stdin) = self.stdin.as_mut() else {
            return false;
        };
        let ok = stdin.write_all(line).await.is_ok()
            && stdin.write_all(b"\n").await.is_ok()
            && stdin.flush().await.is_ok();
        if !ok {
            self.stdin = None;
        }
        ok
    }

    /// Send a request with a fresh id; its id.
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.fresh_id();
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.send_raw(&id, &msg).await;
        id
    }

    /// Send a message that carries `id` (built by the caller, maybe invalid),
    /// and expect its reply.
    pub async fn send_raw(&mut self, id: &Value, msg: &Value) {
        self.open.insert(id.clone());
        let text = serde_json::to_vec(msg).unwrap_or_default();
        self.send_line(&text).await;
    }

    /// Send a notification.
    pub async fn notify(&mut self, method: &str, params: Value) {
        let msg = json!({"jsonrpc": "2.0", "method": method, "params": params});
        let text = serde_json::to_vec(&msg).unwrap_or_default();
        self.send_line(&text).await;
    }

    /// `notifications/cancelled` for `id`; its reply may still come.
    pub async fn cancel(&mut self, id: &Value, reason: &str) {
        self.settle(id);
        self.notify(
            "notifications/cancelled",
            json!({"requestId": id, "reason": reason}),
        )
        .await;
    }

    /// A reply to `id` is expected without waiting for it (see [`RawServer::take_answers`]).
    pub fn expect_reply(&mut self, id: &Value) {
        self.open.insert(id.clone());
    }

    /// A reply to `id` that still comes is no fault.
    pub fn settle(&mut self, id: &Value) {
        self.open.remove(id);
        self.settled.insert(id.clone());
    }

    /// Take the replies to ids sent without waiting (see [`RawServer::send_raw`]).
    pub fn take_answers(&mut self) -> Vec<(Value, Result<Value, RpcError>)> {
        std::mem::take(&mut self.answers)
    }

    /// Take the null-id errors seen since the last call.
    pub fn take_null_errors(&mut self) -> Vec<RpcError> {
        std::mem::take(&mut self.null_errors)
    }

    /// Wait until every id in `ids` is answered (or the timeout): each id's
    /// reply, and the ids answered more than once.
    pub async fn collect(
        &mut self,
        ids: &[Value],
        timeout: Duration,
    ) -> (
        Vec<(Value, Result<Value, RpcError>)>,
        Vec<Value>,
        Option<Reply>,
    ) {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut got: Vec<(Value, Result<Value, RpcError>)> = Vec::new();
        let mut twice = Vec::new();
        let mut ended = None;
        while got.len() < ids.len() {
            match self.next(deadline).await {
                None => {
                    ended = Some(Reply::Timeout(timeout));
                    break;
                }
                Some(None) => {
                    ended = Some(Reply::Closed(self.closed_why().await));
                    break;
                }
                Some(Some(Incoming::Response { id, body })) if ids.contains(&id) => {
                    if got.iter().any(|(g, _)| *g == id) {
                        twice.push(id);
                    } else {
                        self.settle(&id);
                        got.push((id, body));
                    }
                }
                Some(Some(Incoming::Response { id, body })) => self.unexpected(id, &body),
                Some(Some(Incoming::Noise(text))) => {
                    self.strays.push(format!("stdout noise: {text}"));
                }
                Some(Some(Incoming::Malformed(why))) => {
                    self.strays.push(format!("malformed JSON-RPC: {why}"));
                }
                Some(Some(_)) => {}
            }
        }
        for id in ids {
            self.settle(id);
        }
        (got, twice, ended)
    }

    /// Take the stray output seen since the last call.
    pub fn take_strays(&mut self) -> Vec<String> {
        std::mem::take(&mut self.strays)
    }

    /// The next message before `deadline`: `None` on timeout, `Some(None)`
    /// when the output has ended. Requests from the server are answered here
    /// (`ping` with an empty result, anything else "method not found": this
    /// client offers no capabilities).
    pub async fn next(&mut self, deadline: tokio::time::Instant) -> Option<Option<Incoming>> {
        loop {
            let m = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .ok()?;
            match m {
                Some(Incoming::Request { id, method }) => {
                    let reply = if method == "ping" {
                        json!({"jsonrpc": "2.0", "id": id, "result": {}})
                    } else {
                        json!({"jsonrpc": "2.0", "id": id,
                               "error": {"code": -32601, "message": "jetstress check offers no client capabilities"}})
                    };
                    let text = serde_json::to_vec(&reply).unwrap_or_default();
                    self.send_line(&text).await;
                }
                Some(Incoming::Notification { .. }) => {}
                other => return Some(other),
            }
        }
    }

    /// Note a response that answers nothing waited for.
    fn unexpected(&mut self, id: Value, body: &Result<Value, RpcError>) {
        if self.open.remove(&id) {
            // Sent and not waited for (a batch member, a fired request).
            self.settled.insert(id.clone());
            self.answers.push((id, body.clone()));
            return;
        }
        if self.settled.contains(&id) && !id.is_null() {
            return;
        }
        match body {
            Err(e) if id.is_null() => self.null_errors.push(e.clone()),
            Ok(_) if id.is_null() => self.strays.push("a result with id null".into()),
            _ => self
                .strays
                .push(format!("a reply to id {id}, which was never sent")),
        }
    }

    /// Wait for the response to `id`: its body, or the [`Reply`] that says
    /// why none came (timeout, closed).
    pub async fn wait_body(
        &mut self,
        id: &Value,
        timeout: Duration,
        null_id: NullId,
    ) -> Result<Result<Value, RpcError>, Reply> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match self.next(deadline).await {
                None => return Err(Reply::Timeout(timeout)),
                Some(None) => return Err(Reply::Closed(self.closed_why().await)),
                Some(Some(Incoming::Response { id: rid, body })) => {
                    if &rid == id {
                        self.settle(id);
                        return Ok(body);
                    }
                    if rid.is_null() && body.is_err() && null_id == NullId::Answers {
                        self.settle(id);
                        return Ok(body);
                    }
                    self.unexpected(rid, &body);
                }
                Some(Some(Incoming::Noise(text))) => {
                    self.strays.push(format!("stdout noise: {text}"));
                }
                Some(Some(Incoming::Malformed(why))) => {
                    self.strays.push(format!("malformed JSON-RPC: {why}"));
                }
                Some(Some(_)) => {}
            }
        }
    }

    /// Send `method` and wait for its reply; on a timeout the request is
    /// cancelled (`notifications/cancelled`).
    pub async fn call(
        &mut self,
        method: &str,
        params: Value,
        timeout: Duration,
        null_id: NullId,
    ) -> Reply {
        let id = self.request(method, params).await;
        self.wait_reply(&id, timeout, null_id, method == "tools/call")
            .await
    }

    /// Wait for `id`'s reply (a tool result is checked as one).
    pub async fn wait_reply(
        &mut self,
        id: &Value,
        timeout: Duration,
        null_id: NullId,
        tool: bool,
    ) -> Reply {
        match self.wait_body(id, timeout, null_id).await {
            Ok(body) if tool => tool_reply(&body),
            Ok(body) => plain_reply(&body),
            Err(r @ Reply::Timeout(_)) => {
                self.cancel(id, "jetstress check: timed out").await;
                r
            }
            Err(r) => r,
        }
    }

    /// A `tools/call` with these (maybe not object) arguments.
    pub async fn call_tool(&mut self, name: &str, arguments: &Value, timeout: Duration) -> Reply {
        self.call(
            "tools/call",
            json!({"name": name, "arguments": arguments}),
            timeout,
            NullId::Answers,
        )
        .await
    }

    /// A `ping`: whether the server still answers.
    pub async fn ping(&mut self, timeout: Duration) -> Reply {
        self.call("ping", json!({}), timeout, NullId::Earlier).await
    }

    /// Why the output ended: the exit status if the process is gone, and
    /// the last lines of its stderr.
    pub async fn closed_why(&mut self) -> String {
        let status = tokio::time::timeout(Duration::from_millis(500), self.child.wait())
            .await
            .ok()
            .and_then(Result::ok);
        let mut why = match status {
            Some(s) => format!("the process exited ({s})"),
            None => "the server closed its stdout".to_string(),
        };
        let tail = self.stderr_tail();
        if !tail.is_empty() {
            why.push_str(&format!("; stderr: {tail}"));
        }
        why
    }

    /// The last few lines of the server's stderr (at most 600 bytes).
    pub fn stderr_tail(&self) -> String {
        let Ok(bytes) = std::fs::read(&self.log) else {
            return String::new();
        };
        let from = bytes.len().saturating_sub(600);
        let text = String::from_utf8_lossy(&bytes[from..]);
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        lines[lines.len().saturating_sub(5)..].join(" ⏎ ")
    }

    /// Close stdin (the MCP way to ask a stdio server to exit).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Wait up to `d` for the process to exit.
    pub async fn wait_exit(&mut self, d: Duration) -> bool {
        tokio::time::timeout(d, self.child.wait()).await.is_ok()
    }

    /// Send `sig` to the process itself.
    pub fn signal(&self, sig: libc::c_int) {
        if self.pid > 0 {
            // SAFETY: a plain kill(2) on our own child's pid.
            unsafe {
                libc::kill(self.pid as libc::pid_t, sig);
            }
        }
    }

    /// Kill the whole process group and reap the process.
    pub async fn kill(&mut self) {
        kill_group(Some(self.pid).filter(|p| *p > 0));
        let _ = tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await;
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        // The child's own handle kills the leader (kill_on_drop); its
        // group goes with it here.
        if self.child.try_wait().ok().flatten().is_none() {
            kill_group(Some(self.pid).filter(|p| *p > 0));
        }
    }
}
