//! A running MCP target's sessions grown and shrunk at run time
//! (`McpTarget::set_sessions`, what a users phase does), against the built-in
//! `jetstress mcp-serve` over stdio (one child per session: the children are
//! checked in /proc) and over streamable HTTP on a loopback port.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jetstress::load::{schema_default_args, Endpoint, EngineEvent, McpTarget, McpTargetSpec};
use rmcp::model::JsonObject;
use tokio::sync::broadcast;

const BIN: &str = env!("CARGO_BIN_EXE_jetstress");
const ORIN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/orin-agx-r36");
const WAIT: Duration = Duration::from_secs(20);
/// A tool of `mcp-serve` without required arguments.
const TOOL: &str = "board_info";

fn server_args() -> Vec<String> {
    ["--root", ORIN, "--interval", "100ms", "mcp-serve"]
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn stdio_spec(sessions: usize) -> McpTargetSpec {
    McpTargetSpec {
        name: Some("serve".into()),
        endpoint: Endpoint::Stdio {
            program: BIN.into(),
            args: server_args(),
            env: vec![],
        },
        sessions,
    }
}

/// Poll `ok` every 50 ms until it holds or `WAIT` passes.
async fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !ok() {
        assert!(t0.elapsed() < WAIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether `pid` is a process that has not exited (present in /proc and not a zombie).
fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // "pid (comm) S …": the state follows the last ')'.
    let state = stat
        .rsplit(')')
        .next()
        .and_then(|r| r.trim().chars().next());
    !matches!(state, Some('Z' | 'X'))
}

/// Whether `pid` is gone from /proc altogether (exited and reaped).
fn reaped(pid: u32) -> bool {
    !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

fn tool_args(target: &McpTarget) -> Arc<JsonObject> {
    let tool = target
        .tools
        .iter()
        .find(|t| t.name == TOOL)
        .unwrap_or_else(|| panic!("{TOOL} not listed"));
    Arc::new(schema_default_args(&tool.input_schema))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_sessions_grow_and_shrink() {
    let logs = tempfile::tempdir().unwrap();
    let (events, _rx) = broadcast::channel::<EngineEvent>(256);
    let target = McpTarget::start(stdio_spec(1), logs.path().to_path_buf(), events)
        .await
        .expect("target starts");
    assert_eq!(target.sessions(), 1);
    assert_eq!(target.live_sessions(), 1);
    let args = tool_args(&target);
    let mut seen: HashSet<u32> = target.pids().into_iter().collect();

    // Grow: three more children, each its own session.
    target.set_sessions(4);
    assert_eq!(target.sessions(), 4);
    wait_until("4 live sessions with 4 children", || {
        let pids: HashSet<u32> = target.pids().into_iter().collect();
        target.live_sessions() == 4 && pids.len() == 4 && pids.iter().all(|&p| alive(p))
    })
    .await;
    let pids = target.session_pids();
    assert!(pids.iter().all(Option::is_some), "{pids:?}");
    seen.extend(pids.iter().flatten());
    assert!((0..4).all(|i| target.session_ready(i)));
    assert!(target.session_ready(7), "7 % 4 is session 3");
    target
        .call_on(3, TOOL, Some(&args))
        .await
        .expect("call on session 3");
    target
        .call(TOOL, Some(&args))
        .await
        .expect("round robin call");
    let init = target.initialize_ms().expect("connect times kept");
    assert!(
        init.max >= init.p95 && init.p95 >= init.p50 && init.p50 > 0.0,
        "{init:?}"
    );
    target.set_sessions(4); // idempotent
    assert_eq!(target.pids().len(), 4);

    // Shrink: sessions 2 and 3 stop, their children exit and are reaped.
    let removed: Vec<u32> = pids[2..].iter().flatten().copied().collect();
    target.set_sessions(2);
    assert_eq!(target.sessions(), 2);
    wait_until("2 children left, the removed ones reaped", || {
        target.pids().len() == 2 && removed.iter().all(|&p| reaped(p))
    })
    .await;
    assert_eq!(target.session_pids()[..], pids[..2]);
    assert_eq!(target.live_sessions(), 2);
    target
        .call_on(3, TOOL, Some(&args))
        .await
        .expect("3 % 2 is session 1");
    assert_eq!(
        target.failures.load(std::sync::atomic::Ordering::Relaxed),
        0
    );

    // Shrinking to 0 keeps one; growing again brings new children.
    target.set_sessions(0);
    assert_eq!(target.sessions(), 1);
    target.set_sessions(3);
    wait_until("3 live sessions again", || {
        target.live_sessions() == 3 && target.pids().len() == 3
    })
    .await;
    seen.extend(target.pids());

    // Stop: no child left.
    target.stop();
    wait_until("every child reaped after stop", || {
        seen.iter().all(|&p| reaped(p))
    })
    .await;
    assert!(target.call(TOOL, Some(&args)).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_sessions_grow() {
    let (mut server, url) = crate::mcp_serve::http_server(&[], None).await;
    let logs = tempfile::tempdir().unwrap();
    let (events, mut rx) = broadcast::channel::<EngineEvent>(256);
    let spec = McpTargetSpec {
        name: Some("serve-http".into()),
        endpoint: Endpoint::Http { url },
        sessions: 1,
    };
    let target = McpTarget::start(spec, logs.path().to_path_buf(), events)
        .await
        .expect("target starts");
    let args = tool_args(&target);
    target.set_sessions(3);
    wait_until("3 live HTTP sessions", || target.live_sessions() == 3).await;
    assert!(target.pids().is_empty());
    target
        .call_on(2, TOOL, Some(&args))
        .await
        .expect("call on session 2");
    let init = target.initialize_ms().expect("connect times kept");
    assert!(init.max >= init.p50 && init.p50 > 0.0, "{init:?}");
    // Every session said it started, the added ones included.
    let mut started = HashSet::new();
    while let Ok(ev) = rx.try_recv() {
        if let EngineEvent::Target(jetstress::load::TargetEvent::Started { session, .. }) = ev {
            started.insert(session);
        }
    }
    assert_eq!(started, HashSet::from([0, 1, 2]));
    target.set_sessions(1);
    assert_eq!(target.live_sessions(), 1);
    target
        .call_on(2, TOOL, Some(&args))
        .await
        .expect("2 % 1 is session 0");
    target.stop();
    let _ = server.kill().await;
}
