//! MCP tool-call generator: connects N client sessions per target (stdio
//! children through the lean client of [`mcp_stdio`](super::mcp_stdio),
//! streamable-HTTP URLs through `rmcp`), keeps each session alive
//! (a dead server is restarted with exponential backoff and every failure is
//! counted), lists tools, and performs one `tools/call` with a timeout that
//! cancels the request. It also owns growing and shrinking a running target's
//! sessions (`set_sessions`: a users phase gives each virtual user its own
//! session, up to a cap) and the spread of connect times (spawn or connect to
//! the `initialize` reply). Child processes get their own process group and
//! `PR_SET_PDEATHSIG(SIGKILL)`, their stderr goes to a log file, and they are
//! killed when their session stops or is removed. Each target also keeps
//! how long its sessions were down (from a death or failed connect to the
//! next successful connect) against how long they existed: two atomic
//! accumulators plus one "down since" per session slot, so fixed memory
//! however often a server dies.

use std::borrow::Cow;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use rmcp::model::{CallToolRequestParams, JsonObject, Tool};
use rmcp::service::{Peer, RoleClient, ServiceError};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ClientCacheConfig, ServiceExt};
use serde_json::Value;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::load::drivers::mcp_stdio::{RawError, StdioSession};
use crate::load::drivers::reach;
use crate::load::engine::events::{EngineEvent, TargetEvent};
use crate::load::engine::Spread;
use crate::load::stats::{ErrorKind, Hist};

/// Where an MCP target lives.
#[derive(Debug, Clone, PartialEq)]
pub enum Endpoint {
    /// A command (program + args) spawned as a stdio child per session.
    Stdio {
        program: PathBuf,
        args: Vec<String>,
        env: Vec<(String, String)>,
    },
    /// A streamable-HTTP URL.
    Http { url: String },
}

impl Endpoint {
    /// `stdio` or `http`, as the run summary names the transport.
    pub fn kind(&self) -> &'static str {
        match self {
            Endpoint::Stdio { .. } => "stdio",
            Endpoint::Http { .. } => "http",
        }
    }
}

/// One MCP target as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct McpTargetSpec {
    /// Name given in the scenario; else the server's reported name; else the command's stem.
    pub name: Option<String>,
    pub endpoint: Endpoint,
    /// Concurrent client sessions (each stdio session is its own child process).
    pub sessions: usize,
}

impl McpTargetSpec {
    /// The name used when neither the scenario nor the server gives one.
    pub fn fallback_name(&self) -> String {
        match &self.endpoint {
            Endpoint::Stdio { program, args, .. } => {
                // `node …/server.js` or `python3 x.py`: the script's stem says more than the interpreter.
                let interp = program
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("target");
                let script = args
                    .iter()
                    .find(|a| !a.starts_with('-') && Path::new(a).extension().is_some());
                match (interp, script) {
                    ("node" | "python3" | "python" | "deno" | "bun", Some(s)) => Path::new(s)
                        .file_stem()
                        .and_then(|s| s.to_str())
                        .unwrap_or(interp)
                        .to_string(),
                    _ => interp.to_string(),
                }
            }
            Endpoint::Http { url } => url
                .split("://")
                .nth(1)
                .and_then(|r| r.split('/').next())
                .unwrap_or("http")
                .to_string(),
        }
    }
}

/// Split `"CMD ARGS…"` on whitespace, honouring simple single/double quotes.
pub fn split_command(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut has = false;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                has = true;
            }
            (None, c) if c.is_whitespace() => {
                if has || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    has = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if quote.is_some() {
        return Err(format!("unclosed quote in command '{s}'"));
    }
    if has || !cur.is_empty() {
        out.push(cur);
    }
    if out.is_empty() {
        return Err("empty command".into());
    }
    Ok(out)
}

/// Arguments built from a tool's input schema: each property's `default`,
/// and a plain placeholder for required properties without one.
pub fn schema_default_args(schema: &JsonObject) -> JsonObject {
    let mut out = JsonObject::new();
    let props = schema.get("properties").and_then(Value::as_object);
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map_or(Vec::new(), |r| r.iter().filter_map(Value::as_str).collect());
    if let Some(props) = props {
        for (k, p) in props {
            if let Some(d) = p.get("default") {
                out.insert(k.clone(), d.clone());
            } else if required.contains(&k.as_str()) {
                out.insert(k.clone(), placeholder(p));
            }
        }
    }
    out
}

fn placeholder(p: &Value) -> Value {
    if let Some(e) = p
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return e.clone();
    }
    let min = p.get("minimum").cloned();
    match p.get("type").and_then(Value::as_str) {
        Some("string") => Value::String("jetstress".into()),
        Some("integer" | "number") => min.unwrap_or(Value::from(1)),
        Some("boolean") => Value::Bool(false),
        Some("array") => Value::Array(vec![]),
        Some("object") => Value::Object(Default::default()),
        _ => Value::Null,
    }
}

/// Classify a failed call.
pub fn classify(e: &ServiceError) -> ErrorKind {
    match e {
        ServiceError::McpError(_) => ErrorKind::Rpc,
        ServiceError::Timeout { .. } => ErrorKind::Timeout,
        _ => ErrorKind::Transport,
    }
}

/// `down_since_us` of a session that is not down.
const UP: u64 = u64::MAX;

/// One client session: the live peer (or none while connecting or
/// restarting), its child's pid, and the token that stops its supervisor.
/// A removed session's slot is dropped; a session added later gets a new one.
struct SessionSlot {
    peer: RwLock<Option<Session>>,
    pid: RwLock<Option<u32>>,
    /// A child of the target's token, so `stop()` stops every session.
    cancel: CancellationToken,
    /// When the slot was made, µs on the target's clock ([`Uptime::now_us`]).
    created_us: u64,
    /// Since when the session is down (a death or failed connect not yet
    /// followed by a successful connect), µs on the target's clock; [`UP`]
    /// while it is up or still making its first connect.
    down_since_us: AtomicU64,
}

impl SessionSlot {
    fn new(cancel: CancellationToken, created_us: u64) -> Self {
        SessionSlot {
            peer: RwLock::new(None),
            pid: RwLock::new(None),
            cancel,
            created_us,
            down_since_us: AtomicU64::new(UP),
        }
    }

    fn peer(&self) -> Option<Session> {
        self.peer.read().ok().and_then(|p| p.clone())
    }

    fn set_peer(&self, peer: Option<Session>) {
        if let Ok(mut p) = self.peer.write() {
            *p = peer;
        }
    }

    fn pid(&self) -> Option<u32> {
        self.pid.read().ok().and_then(|p| *p)
    }

    fn set_pid(&self, pid: Option<u32>) {
        if let Ok(mut p) = self.pid.write() {
            *p = pid;
        }
    }

    /// Stop the supervisor, kill the child's group, forget peer and pid,
    /// and hand its lifetime and any open down time to `uptime` (the slot is
    /// no longer counted there once it is removed).
    fn close(&self, uptime: &Uptime) {
        self.cancel.cancel();
        kill_group(self.pid());
        self.set_pid(None);
        self.set_peer(None);
        let now = uptime.now_us();
        uptime.end_down(self, now);
        uptime
            .retired_us
            .fetch_add(now.saturating_sub(self.created_us), Ordering::Relaxed);
    }
}

/// How long a target's sessions were down, against how long they existed
/// (session·seconds, so sessions added and removed by `set_sessions` count
/// for the time they were there). All times are µs since the target started.
struct Uptime {
    started: Instant,
    /// Down time of finished down spells (and of removed slots' open ones).
    down_us: AtomicU64,
    /// Lifetimes of removed slots.
    retired_us: AtomicU64,
    /// When `stop()` was called ([`UP`] while running): the clock stops there.
    stopped_us: AtomicU64,
}

impl Uptime {
    fn new(started: Instant) -> Self {
        Uptime {
            started,
            down_us: AtomicU64::new(0),
            retired_us: AtomicU64::new(0),
            stopped_us: AtomicU64::new(UP),
        }
    }

    /// µs since the target started, or the stop time once it stopped.
    fn now_us(&self) -> u64 {
        let now = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(UP - 1);
        now.min(self.stopped_us.load(Ordering::Relaxed))
    }

    /// The session died or failed to connect at `now`: down from then,
    /// unless it already is (a failed reconnect keeps the first death's
    /// time). Nothing once the slot is cancelled (removed or stopped).
    fn start_down(slot: &SessionSlot, now: u64) {
        if slot.cancel.is_cancelled() {
            return;
        }
        let _ = slot
            .down_since_us
            .compare_exchange(UP, now, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// The session is up again (or removed): its down spell ends at `now`.
    fn end_down(&self, slot: &SessionSlot, now: u64) {
        let since = slot.down_since_us.swap(UP, Ordering::Relaxed);
        if since != UP {
            self.down_us
                .fetch_add(now.saturating_sub(since), Ordering::Relaxed);
        }
    }

    /// `(down, existed)` in µs: finished spells plus each live slot's open
    /// one until now, against removed slots' lifetimes plus live slots' ages.
    fn totals(&self, slots: &[Arc<SessionSlot>]) -> (u64, u64) {
        let now = self.now_us();
        let mut down = self.down_us.load(Ordering::Relaxed);
        let mut existed = self.retired_us.load(Ordering::Relaxed);
        for s in slots {
            let since = s.down_since_us.load(Ordering::Relaxed);
            if since != UP {
                down += now.saturating_sub(since);
            }
            existed += now.saturating_sub(s.created_us);
        }
        (down, existed)
    }
}

/// What every session's supervisor of one target shares.
struct Shared {
    spec: McpTargetSpec,
    /// The target's name, as events carry it.
    target: String,
    log_dir: PathBuf,
    log_name: String,
    events: broadcast::Sender<EngineEvent>,
    failures: Arc<AtomicU64>,
    restarts: Arc<AtomicU64>,
    /// Microseconds from spawn (stdio) or connect (HTTP) to the `initialize`
    /// reply, one value per successful connect: fixed memory however many.
    connects: Mutex<Hist>,
    uptime: Uptime,
}

impl Shared {
    fn record_connect(&self, took: Duration) {
        if let Ok(mut h) = self.connects.lock() {
            h.record(u64::try_from(took.as_micros()).unwrap_or(u64::MAX));
        }
    }

    fn emit(&self, ev: TargetEvent) {
        let _ = self.events.send(EngineEvent::Target(ev));
    }

    /// The file the target's stderr is written to.
    fn stderr_log(&self) -> PathBuf {
        stderr_log_path(&self.log_dir, &self.log_name)
    }
}

/// A running target: its sessions and their supervisors.
pub struct McpTarget {
    pub name: String,
    pub spec: McpTargetSpec,
    /// Growable: `set_sessions` adds slots at the end and drops them from it.
    sessions: RwLock<Vec<Arc<SessionSlot>>>,
    next: AtomicUsize,
    /// Session failures (deaths plus failed connects) since the start.
    pub failures: Arc<AtomicU64>,
    /// Successful restarts since the start.
    pub restarts: Arc<AtomicU64>,
    /// Tools listed by the first session.
    pub tools: Vec<Tool>,
    cancel: CancellationToken,
    shared: Arc<Shared>,
    /// Where supervisors of sessions added later are spawned (`set_sessions`
    /// is sync and may be called from any thread).
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for McpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpTarget")
            .field("name", &self.name)
            .field("sessions", &self.sessions())
            .finish()
    }
}

/// How long the first session may take to come up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Why a session ended when its server closed it.
const SERVER_CLOSED: &str = "the server closed the connection";
/// A session that lived this long resets the backoff.
const STABLE_AFTER: Duration = Duration::from_secs(10);

/// A live session to call tools on: a stdio child through the lean client,
/// or an rmcp peer (streamable HTTP).
#[derive(Clone)]
enum Session {
    Stdio(Arc<StdioSession>),
    Rmcp(Peer<RoleClient>),
}

impl Session {
    async fn call(&self, tool: &str, args: Option<&Arc<JsonObject>>) -> Result<(), ErrorKind> {
        match self {
            Session::Stdio(s) => s.call(tool, args.map(|a| &**a)).await,
            Session::Rmcp(peer) => call_peer(peer, tool, args).await,
        }
    }
}

/// A connected session as its supervisor holds it.
enum Service {
    Stdio(Arc<StdioSession>),
    Rmcp(rmcp::service::RunningService<RoleClient, ()>),
}

impl Service {
    fn session(&self) -> Session {
        match self {
            Service::Stdio(s) => Session::Stdio(s.clone()),
            Service::Rmcp(r) => Session::Rmcp(r.peer().clone()),
        }
    }

    fn server_name(&self) -> Option<String> {
        match self {
            Service::Stdio(s) => s.server_name.clone(),
            Service::Rmcp(r) => r
                .peer()
                .peer_info()
                .and_then(|i| i.server_info.as_ref().map(|s| s.name.clone())),
        }
    }

    async fn list_tools(&self) -> Result<Vec<Tool>, String> {
        match self {
            Service::Stdio(s) => s.list_tools().await.map_err(|e| match e {
                RawError::Rpc(code, m) => reach::rpc_error_words(code, &m),
                RawError::NotMcp(m) => m,
                RawError::Closed => reach::CLOSED.into(),
            }),
            Service::Rmcp(r) => r
                .peer()
                .list_all_tools()
                .await
                .map_err(|e| reach::request_words(&e)),
        }
    }

    /// A future that resolves when the session ends by itself (why, in
    /// words), and the token that ends an rmcp session sooner.
    fn watch(
        self,
    ) -> (
        Option<rmcp::service::RunningServiceCancellationToken>,
        futures::future::BoxFuture<'static, String>,
    ) {
        match self {
            Service::Stdio(s) => (
                None,
                Box::pin(async move {
                    s.closed().await;
                    SERVER_CLOSED.to_string()
                }),
            ),
            Service::Rmcp(r) => (
                Some(r.cancellation_token()),
                Box::pin(async move { quit_reason(&r.waiting().await) }),
            ),
        }
    }
}

struct Connected {
    service: Service,
    pid: Option<u32>,
    /// Spawn (stdio) or connect (HTTP) to the `initialize` reply.
    took: Duration,
}

fn log_file(log_dir: &Path, name: &str) -> std::io::Result<std::fs::File> {
    std::fs::create_dir_all(log_dir)?;
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(stderr_log_path(log_dir, name))
}

/// Where a stdio child's stderr goes: `DIR/<name>.stderr.log` (appended),
/// or nowhere when the file cannot be opened.
pub fn stderr_log(log_dir: &Path, name: &str) -> Stdio {
    match log_file(log_dir, name) {
        Ok(f) => Stdio::from(f),
        Err(_) => Stdio::null(),
    }
}

/// The file [`stderr_log`] appends to, the name made file-safe.
pub fn stderr_log_path(log_dir: &Path, name: &str) -> PathBuf {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    log_dir.join(format!("{safe}.stderr.log"))
}

/// A stdio server's command as every jetstress child is started: its own
/// process group (so [`kill_group`] takes its children too),
/// `PR_SET_PDEATHSIG(SIGKILL)` (it dies with jetstress, even when jetstress
/// is killed) and killed when its handle is dropped. Stdio is the caller's.
pub fn stdio_command(
    program: &Path,
    args: &[String],
    env: &[(String, String)],
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args).envs(env.iter().map(|(k, v)| (k, v)));
    cmd.process_group(0).kill_on_drop(true);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            );
            Ok(())
        });
    }
    cmd
}

/// Connect one session. A failure reads in plain words ([`reach`]): "cannot
/// reach URL: connection refused — is the server running? …".
async fn connect(
    spec: &McpTargetSpec,
    log_dir: &Path,
    log_name: &str,
) -> anyhow::Result<Connected> {
    let began = Instant::now();
    let log = stderr_log_path(log_dir, log_name);
    let plain = |e: &(dyn std::error::Error + 'static)| {
        anyhow::anyhow!(reach::describe(
            &spec.endpoint,
            e,
            CONNECT_TIMEOUT,
            Some(&log)
        ))
    };
    let timed_out = || {
        anyhow::anyhow!(reach::words(
            &spec.endpoint,
            &reach::Failure::Timeout,
            CONNECT_TIMEOUT,
            Some(&log)
        ))
    };
    let (service, pid) = match &spec.endpoint {
        Endpoint::Stdio { program, args, env } => {
            let mut cmd = stdio_command(program, args, env);
            cmd.stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(stderr_log(log_dir, log_name));
            let child = cmd.spawn().map_err(|e| plain(&e))?;
            let pid = child.id();
            let session = tokio::time::timeout(CONNECT_TIMEOUT, StdioSession::start(child))
                .await
                .map_err(|_| timed_out())?
                .map_err(|f| {
                    anyhow::anyhow!(reach::words(
                        &spec.endpoint,
                        &f,
                        CONNECT_TIMEOUT,
                        Some(&log)
                    ))
                })?;
            (Service::Stdio(Arc::new(session)), pid)
        }
        Endpoint::Http { url } => {
            let t = StreamableHttpClientTransport::from_uri(url.as_str());
            let svc = tokio::time::timeout(CONNECT_TIMEOUT, ().serve(t))
                .await
                .map_err(|_| timed_out())?
                .map_err(|e| plain(&e))?;
            svc.peer()
                .set_response_cache_config(ClientCacheConfig::disabled())
                .await;
            (Service::Rmcp(svc), None)
        }
    };
    let took = began.elapsed();
    Ok(Connected { service, pid, took })
}

/// SIGKILL the process group a child of [`stdio_command`] leads.
pub fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid {
        // The child leads its own process group: take its children too.
        unsafe {
            libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
        }
    }
}

impl McpTarget {
    /// Connect the first session (listing tools and learning the server's name),
    /// then start every session's supervisor.
    pub async fn start(
        spec: McpTargetSpec,
        log_dir: PathBuf,
        events: broadcast::Sender<EngineEvent>,
    ) -> anyhow::Result<Arc<McpTarget>> {
        let log_name = spec.name.clone().unwrap_or_else(|| spec.fallback_name());
        let n = spec.sessions.max(1);
        let began = Instant::now();
        // Bring every session up at once so the first requests find them ready.
        let mut conns: Vec<anyhow::Result<Connected>> =
            futures::future::join_all((0..n).map(|_| connect(&spec, &log_dir, &log_name))).await;
        let Some(lead) = conns.iter().position(Result::is_ok) else {
            return Err(conns.swap_remove(0).err().expect("all sessions failed"));
        };
        let first = conns[lead].as_ref().expect("lead session connected");
        let tools = first
            .service
            .list_tools()
            .await
            .map_err(|e| anyhow::anyhow!("tools/list failed: {e}"))?;
        let server_name = first.service.server_name();
        let name = spec
            .name
            .clone()
            .or(server_name.filter(|n| !n.is_empty()))
            .unwrap_or_else(|| spec.fallback_name());
        let cancel = CancellationToken::new();
        let sessions: Vec<Arc<SessionSlot>> = (0..n)
            .map(|_| Arc::new(SessionSlot::new(cancel.child_token(), 0)))
            .collect();
        let failures = Arc::new(AtomicU64::new(0));
        let restarts = Arc::new(AtomicU64::new(0));
        let shared = Arc::new(Shared {
            spec: spec.clone(),
            target: name.clone(),
            log_dir,
            log_name,
            events,
            failures: failures.clone(),
            restarts: restarts.clone(),
            connects: Mutex::new(Hist::new()),
            uptime: Uptime::new(began),
        });
        let target = Arc::new(McpTarget {
            name: name.clone(),
            spec,
            sessions: RwLock::new(sessions.clone()),
            next: AtomicUsize::new(0),
            failures,
            restarts,
            tools,
            cancel,
            shared: shared.clone(),
            runtime: tokio::runtime::Handle::current(),
        });
        for (i, (conn, slot)) in conns.into_iter().zip(sessions).enumerate() {
            match &conn {
                // Live before `start` returns: the first request of a phase
                // that starts at once must find it (the supervisor task may
                // not have run yet).
                Ok(c) => {
                    shared.record_connect(c.took);
                    slot.set_peer(Some(c.service.session()));
                    slot.set_pid(c.pid);
                }
                Err(e) => {
                    shared.failures.fetch_add(1, Ordering::Relaxed);
                    // Down since the start: its first connect failed.
                    slot.down_since_us.store(0, Ordering::Relaxed);
                    shared.emit(TargetEvent::Died {
                        target: name.clone(),
                        session: i,
                        reason: format!("{e:#}"),
                        restarting: true,
                        stderr_log: Some(shared.stderr_log()),
                    });
                }
            }
            let sup = Supervisor {
                shared: shared.clone(),
                index: i,
                slot,
            };
            tokio::spawn(sup.run(conn.ok()));
        }
        Ok(target)
    }

    /// Change the number of sessions to `n` (at least 1). New sessions connect
    /// in the background, each under its own supervisor (same backoff,
    /// restarts, failure counting and events as the first ones); sessions
    /// with an index `>= n` are stopped at once and their children killed.
    /// Nothing happens after `stop()`.
    pub fn set_sessions(&self, n: usize) {
        let n = n.max(1);
        if self.cancel.is_cancelled() {
            return;
        }
        let (removed, added) = {
            let Ok(mut v) = self.sessions.write() else {
                return;
            };
            if n < v.len() {
                (v.split_off(n), Vec::new())
            } else {
                let now = self.shared.uptime.now_us();
                let added: Vec<(usize, Arc<SessionSlot>)> = (v.len()..n)
                    .map(|i| {
                        let slot = SessionSlot::new(self.cancel.child_token(), now);
                        (i, Arc::new(slot))
                    })
                    .collect();
                v.extend(added.iter().map(|(_, s)| s.clone()));
                (Vec::new(), added)
            }
        };
        for slot in removed {
            slot.close(&self.shared.uptime);
        }
        for (index, slot) in added {
            let sup = Supervisor {
                shared: self.shared.clone(),
                index,
                slot,
            };
            self.runtime.spawn(sup.run(None));
        }
    }

    /// The number of sessions configured now (live or not).
    pub fn sessions(&self) -> usize {
        self.sessions.read().map_or(0, |v| v.len())
    }

    /// Sessions with a connected peer now.
    pub fn live_sessions(&self) -> usize {
        self.sessions.read().map_or(0, |v| {
            v.iter()
                .filter(|s| s.peer.read().is_ok_and(|p| p.is_some()))
                .count()
        })
    }

    /// Whether session `i % sessions()` has a connected peer.
    pub fn session_ready(&self, i: usize) -> bool {
        self.session_peer(i).is_some()
    }

    /// p50 / p95 / max in ms of every successful connect of every session
    /// since the start (spawn or connect to the `initialize` reply); `None`
    /// before the first.
    pub fn initialize_ms(&self) -> Option<Spread> {
        let h = self.shared.connects.lock().ok()?;
        let ms = |us: u64| us as f64 / 1000.0;
        h.with_dense(|h| Spread {
            p50: ms(h.value_at_quantile(0.50)),
            p95: ms(h.value_at_quantile(0.95)),
            max: ms(h.max()),
        })
    }

    /// Seconds the sessions were down (from a death or failed connect to the
    /// next successful connect; a session still down counts until now), and
    /// uptime in % of the session·seconds they existed since the target
    /// started (`100 × (1 − down / (sessions × elapsed))` while the session
    /// count did not change); `None` before any time passed. After `stop()`
    /// both stay as they were at the stop.
    pub fn uptime(&self) -> (f64, Option<f64>) {
        let (down, existed) = match self.sessions.read() {
            Ok(v) => self.shared.uptime.totals(&v),
            Err(_) => return (0.0, None),
        };
        let pct = (existed > 0).then(|| 100.0 * (1.0 - (down as f64 / existed as f64).min(1.0)));
        (down as f64 / 1e6, pct)
    }

    /// Current child PIDs (stdio targets), for RSS watching.
    pub fn pids(&self) -> Vec<u32> {
        self.session_pids().into_iter().flatten().collect()
    }

    /// Each session's child PID, by session index (`None` while it is
    /// connecting or restarting, and always for HTTP targets).
    pub fn session_pids(&self) -> Vec<Option<u32>> {
        self.sessions
            .read()
            .map(|v| v.iter().map(|s| s.pid()).collect())
            .unwrap_or_default()
    }

    /// Call `tool` on the next live session (round robin, skipping sessions
    /// that are still connecting or restarting); `Err(kind)` on failure, and
    /// `Transport` when no session is up at all.
    pub async fn call(&self, tool: &str, args: Option<&Arc<JsonObject>>) -> Result<(), ErrorKind> {
        let peer = self.round_robin().ok_or(ErrorKind::Transport)?;
        peer.call(tool, args).await
    }

    /// Call `tool` on session `session % sessions()` (a virtual user's own);
    /// while that one is not live, on the next live session as `call` does.
    pub async fn call_on(
        &self,
        session: usize,
        tool: &str,
        args: Option<&Arc<JsonObject>>,
    ) -> Result<(), ErrorKind> {
        let peer = self
            .session_peer(session)
            .or_else(|| self.round_robin())
            .ok_or(ErrorKind::Transport)?;
        peer.call(tool, args).await
    }

    fn session_peer(&self, i: usize) -> Option<Session> {
        let v = self.sessions.read().ok()?;
        if v.is_empty() {
            return None;
        }
        v[i % v.len()].peer()
    }

    /// The next live session's peer, round robin.
    fn round_robin(&self) -> Option<Session> {
        let v = self.sessions.read().ok()?;
        let n = v.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n).find_map(|k| v[(start + k) % n].peer())
    }

    /// Stop every session and kill the children.
    pub fn stop(&self) {
        let u = &self.shared.uptime;
        let _ = u
            .stopped_us
            .compare_exchange(UP, u.now_us(), Ordering::Relaxed, Ordering::Relaxed);
        self.cancel.cancel();
        for pid in self.pids() {
            kill_group(Some(pid));
        }
    }
}

async fn call_peer(
    peer: &Peer<RoleClient>,
    tool: &str,
    args: Option<&Arc<JsonObject>>,
) -> Result<(), ErrorKind> {
    let mut params = CallToolRequestParams::new(Cow::Owned(tool.to_string()));
    if let Some(a) = args {
        params = params.with_arguments((**a).clone());
    }
    match peer.call_tool(params).await {
        Ok(r) if r.is_error == Some(true) => Err(ErrorKind::Tool),
        Ok(_) => Ok(()),
        Err(e) => Err(classify(&e)),
    }
}

impl Drop for McpTarget {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Supervisor {
    shared: Arc<Shared>,
    index: usize,
    slot: Arc<SessionSlot>,
}

impl Supervisor {
    fn emit(&self, ev: TargetEvent) {
        self.shared.emit(ev);
    }

    async fn run(self, mut first: Option<Connected>) {
        let sh = &*self.shared;
        let cancel = &self.slot.cancel;
        let mut backoff = BACKOFF_START;
        let mut attempt_failed_before = false;
        loop {
            let conn = if let Some(c) = first.take() {
                Ok(c)
            } else {
                // Biased: a session being removed must not count as a failure
                // when its child's death is seen at the same time.
                tokio::select! {
                    biased;
                    () = cancel.cancelled() => return,
                    c = connect(&sh.spec, &sh.log_dir, &sh.log_name) => {
                        if let Ok(c) = &c {
                            sh.record_connect(c.took);
                        }
                        c
                    }
                }
            };
            match conn {
                Ok(Connected { service, pid, .. }) => {
                    sh.uptime.end_down(&self.slot, sh.uptime.now_us());
                    if attempt_failed_before {
                        sh.restarts.fetch_add(1, Ordering::Relaxed);
                        self.emit(TargetEvent::Restarted {
                            target: sh.target.clone(),
                            session: self.index,
                            pid,
                        });
                    } else {
                        self.emit(TargetEvent::Started {
                            target: sh.target.clone(),
                            session: self.index,
                            pid,
                        });
                    }
                    self.slot.set_pid(pid);
                    self.slot.set_peer(Some(service.session()));
                    let up = Instant::now();
                    let (ct, ended) = service.watch();
                    let quit = tokio::select! {
                        biased;
                        () = cancel.cancelled() => None,
                        q = ended => Some(q),
                    };
                    self.slot.set_peer(None);
                    kill_group(pid);
                    self.slot.set_pid(None);
                    match quit {
                        None => {
                            if let Some(ct) = ct {
                                ct.cancel();
                            }
                            return;
                        }
                        Some(q) => {
                            sh.failures.fetch_add(1, Ordering::Relaxed);
                            Uptime::start_down(&self.slot, sh.uptime.now_us());
                            self.emit(TargetEvent::Died {
                                target: sh.target.clone(),
                                session: self.index,
                                reason: q,
                                restarting: true,
                                stderr_log: Some(sh.stderr_log()),
                            });
                            if up.elapsed() >= STABLE_AFTER {
                                backoff = BACKOFF_START;
                            }
                        }
                    }
                }
                Err(e) => {
                    sh.failures.fetch_add(1, Ordering::Relaxed);
                    Uptime::start_down(&self.slot, sh.uptime.now_us());
                    self.emit(TargetEvent::Died {
                        target: sh.target.clone(),
                        session: self.index,
                        reason: format!("{e:#}"),
                        restarting: true,
                        stderr_log: Some(sh.stderr_log()),
                    });
                }
            }
            attempt_failed_before = true;
            tokio::select! {
                biased;
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }
}

/// Why a session ended, in words for the event log (not Rust's Debug text).
fn quit_reason(q: &Result<rmcp::service::QuitReason, tokio::task::JoinError>) -> String {
    use rmcp::service::QuitReason;
    match q {
        Ok(QuitReason::Closed) => SERVER_CLOSED.into(),
        Ok(QuitReason::Cancelled) => "the session was cancelled".into(),
        Ok(QuitReason::JoinError(e)) | Err(e) => format!("the session task failed: {e}"),
        Ok(_) => "the session ended".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_counts_down_spells_against_session_seconds() {
        const S: u64 = 1_000_000;
        let u = Uptime::new(
            Instant::now()
                .checked_sub(Duration::from_secs(20))
                .expect("a clock 20 s past its origin"),
        );
        // The clock reads 10 s from here on, as after `stop()` at 10 s.
        u.stopped_us.store(10 * S, Ordering::Relaxed);
        let token = CancellationToken::new();
        let a = Arc::new(SessionSlot::new(token.child_token(), 0));
        let b = Arc::new(SessionSlot::new(token.child_token(), 4 * S));
        let c = Arc::new(SessionSlot::new(token.child_token(), 0));
        // a: died at 2 s, back at 3 s; died at 7 s, a reconnect failed at
        // 8 s (the spell still starts at 7 s), still down at the end.
        Uptime::start_down(&a, 2 * S);
        u.end_down(&a, 3 * S);
        Uptime::start_down(&a, 7 * S);
        Uptime::start_down(&a, 8 * S);
        // b: added at 4 s, never down. c: down from 5 s until it is removed
        // at 10 s; a death its supervisor sees after the removal is not counted.
        Uptime::start_down(&c, 5 * S);
        c.close(&u);
        Uptime::start_down(&c, 10 * S);
        let (down, existed) = u.totals(&[a.clone(), b]);
        let (a_down, c_down) = ((3 - 2) + (10 - 7), 10 - 5);
        let (a_life, b_life, c_life) = (10, 10 - 4, 10);
        assert_eq!(down, (a_down + c_down) * S);
        assert_eq!(existed, (a_life + b_life + c_life) * S);
        assert_eq!(c.down_since_us.load(Ordering::Relaxed), UP);
        // Back up at the end: the open spell closes where it was counted.
        u.end_down(&a, 10 * S);
        assert_eq!(u.totals(&[a]).0, (a_down + c_down) * S);
    }

    #[test]
    fn commands_split_with_quotes() {
        assert_eq!(
            split_command("node a.js stdio").unwrap(),
            ["node", "a.js", "stdio"]
        );
        assert_eq!(
            split_command("sh -c 'echo hi'").unwrap(),
            ["sh", "-c", "echo hi"]
        );
        assert_eq!(split_command("x \"\"").unwrap(), ["x", ""]);
        assert!(split_command("a 'b").is_err());
        assert!(split_command("  ").is_err());
    }

    #[test]
    fn fallback_names() {
        let s = |p: &str, a: &[&str]| McpTargetSpec {
            name: None,
            endpoint: Endpoint::Stdio {
                program: p.into(),
                args: a.iter().map(ToString::to_string).collect(),
                env: vec![],
            },
            sessions: 1,
        };
        assert_eq!(
            s("/usr/bin/python3", &["tests/fault-server/fault_server.py"]).fallback_name(),
            "fault_server"
        );
        assert_eq!(s("/opt/mcp-fs", &["--root", "/"]).fallback_name(), "mcp-fs");
        let h = McpTargetSpec {
            name: None,
            endpoint: Endpoint::Http {
                url: "http://127.0.0.1:3001/mcp".into(),
            },
            sessions: 1,
        };
        assert_eq!(h.fallback_name(), "127.0.0.1:3001");
    }

    #[test]
    fn schema_defaults_and_placeholders() {
        let schema: JsonObject = serde_json::from_str(
            r#"{"type":"object","properties":{"message":{"type":"string"},"n":{"type":"integer","default":3},
                "opt":{"type":"string"},"mode":{"type":"string","enum":["a","b"]}},"required":["message","mode"]}"#,
        )
        .unwrap();
        let a = schema_default_args(&schema);
        assert_eq!(a.get("message"), Some(&Value::from("jetstress")));
        assert_eq!(a.get("n"), Some(&Value::from(3)));
        assert_eq!(a.get("mode"), Some(&Value::from("a")));
        assert!(!a.contains_key("opt"));
    }
}
