//! Engine integration tests against real servers: the fault-injecting stdio
//! server (tests/fault-server), `@modelcontextprotocol/server-everything` over
//! stdio and streamable HTTP, and a loopback axum HTTP server.

use std::path::PathBuf;
use std::time::Duration;

use jetstress::load::HttpEndpointSpec;
use jetstress::load::PhaseSpec;
use jetstress::load::{
    Command, Engine, EngineConfig, EngineEvent, EngineHandle, MixEntry, PhaseEvent, PhaseSummary,
    RunSummary,
};
use jetstress::load::{Endpoint, McpTargetSpec};
use serde_json::json;

pub(crate) fn repo(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(p)
}

pub(crate) fn fault_server(args: &[&str], sessions: usize) -> McpTargetSpec {
    let mut a = vec![repo("tests/fault-server/fault_server.py")
        .display()
        .to_string()];
    a.extend(args.iter().map(ToString::to_string));
    McpTargetSpec {
        name: Some("fault".into()),
        endpoint: Endpoint::Stdio {
            program: "python3".into(),
            args: a,
            env: vec![],
        },
        sessions,
    }
}

pub(crate) fn everything_js() -> PathBuf {
    let p = repo(
        "tests/mcp-servers/node_modules/@modelcontextprotocol/server-everything/dist/index.js",
    );
    assert!(
        p.exists(),
        "{} is missing: run `cd tests/mcp-servers && npm ci`",
        p.display()
    );
    p
}

pub(crate) fn mix(entries: &[(&str, f64, serde_json::Value)]) -> Vec<MixEntry> {
    entries
        .iter()
        .map(|(t, w, a)| MixEntry {
            tool: t.to_string(),
            weight: *w,
            args: a.as_object().cloned(),
            invalid_pct: None,
        })
        .collect()
}

fn constant(rate: f64, secs: f64) -> PhaseSpec {
    PhaseSpec::custom(&[(rate, Duration::from_secs_f64(secs))], false)
}

pub(crate) fn config(
    targets: Vec<McpTargetSpec>,
    mix: Vec<MixEntry>,
) -> (EngineConfig, tempfile::TempDir) {
    let logs = tempfile::tempdir().unwrap();
    let c = EngineConfig {
        mcp_targets: targets,
        mix,
        timeout: Duration::from_millis(500),
        log_dir: logs.path().to_path_buf(),
        window: Duration::from_millis(200),
        ..Default::default()
    };
    (c, logs)
}

/// Run one phase to completion, wait for in-flight requests, return the summary.
pub(crate) async fn run_phase(engine: &EngineHandle, spec: PhaseSpec) -> RunSummary {
    let mut ev = engine.events();
    let name = spec.name.clone();
    engine.send(Command::StartPhase(spec)).await;
    loop {
        match tokio::time::timeout(Duration::from_secs(60), ev.recv())
            .await
            .expect("phase ended")
        {
            Ok(EngineEvent::Phase(PhaseEvent::Stopped { phase, .. })) if phase == name => break,
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(e) => panic!("events closed: {e}"),
        }
    }
    for _ in 0..300 {
        let s = engine.summary().await.unwrap();
        if s.in_flight == 0 {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("requests still in flight");
}

fn tool<'a>(p: &'a PhaseSummary, name: &str) -> &'a jetstress::load::ToolSummary {
    p.stages[0]
        .tools
        .iter()
        .find(|t| t.tool == name)
        .unwrap_or_else(|| panic!("no row {name}: {:?}", p.stages[0].tools))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_server_error_kinds_and_timeouts() {
    let m = mix(&[
        ("fault:delay", 1.0, json!({"ms": 5})),
        ("fault:flaky", 1.0, json!({"error_rate": 1.0})),
        ("fault:rpcfail", 1.0, json!({})),
        ("fault:hang", 1.0, json!({})),
    ]);
    let (c, _logs) = config(vec![fault_server(&[], 2)], m);
    let engine = Engine::spawn(c).await.unwrap();
    assert_eq!(
        engine.ops,
        ["fault:delay", "fault:flaky", "fault:rpcfail", "fault:hang"]
    );
    let s = run_phase(&engine, constant(80.0, 1.0)).await;
    let p = &s.phases[0];
    assert_eq!(p.status, "completed");
    assert!(
        (75..=81).contains(&p.stages[0].scheduled),
        "{}",
        p.stages[0].scheduled
    );
    let delay = tool(p, "fault:delay");
    assert!(delay.count > 5 && delay.errors == 0, "{delay:?}");
    assert!(
        delay.service_ms.p50 >= 5.0 && delay.latency_ms.p50 >= delay.service_ms.p50 - 0.5,
        "{delay:?}"
    );
    let flaky = tool(p, "fault:flaky");
    assert_eq!(
        flaky.error_kinds.get("tool"),
        Some(&flaky.count),
        "{flaky:?}"
    );
    let rpc = tool(p, "fault:rpcfail");
    assert_eq!(rpc.error_kinds.get("rpc"), Some(&rpc.count), "{rpc:?}");
    let hang = tool(p, "fault:hang");
    assert_eq!(
        hang.error_kinds.get("timeout"),
        Some(&hang.count),
        "{hang:?}"
    );
    // The timeout cancels the request: latency stops at ~500 ms.
    assert!(
        hang.latency_ms.max >= 490.0 && hang.latency_ms.max < 1500.0,
        "{hang:?}"
    );
    engine.shutdown().await;
}

/// A server whose `tools/list` result is no tool list is named as not
/// speaking MCP there, with what the parse found; not as an "error 0" it
/// never sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tools_list_reply_that_is_no_tool_list_is_named_as_such() {
    let m = mix(&[("fault:delay", 1.0, json!({"ms": 0}))]);
    let (c, _logs) = config(vec![fault_server(&["--bad-list"], 1)], m);
    let e = match Engine::spawn(c).await {
        Ok(engine) => {
            engine.shutdown().await;
            panic!("the engine started on a server with no tool list");
        }
        Err(e) => format!("{e:#}"),
    };
    assert!(
        e.contains("tools/list failed: its reply to tools/list is not an MCP one: invalid type"),
        "{e}"
    );
    assert!(!e.contains("error 0"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_server_is_restarted_and_the_phase_goes_on() {
    let (c, logs) = config(
        vec![fault_server(&["--exit-after", "15"], 1)],
        mix(&[("fault:delay", 1.0, json!({}))]),
    );
    let engine = Engine::spawn(c).await.unwrap();
    let mut ev = engine.events();
    let s = run_phase(&engine, constant(40.0, 2.5)).await;
    let p = &s.phases[0];
    assert_eq!(p.status, "completed");
    let t = &s.targets[0];
    assert!(t.failures >= 2, "{t:?}");
    assert!(t.restarts >= 2, "{t:?}");
    let d = tool(p, "fault:delay");
    assert!(
        d.error_kinds.get("transport").copied().unwrap_or(0) > 0,
        "{d:?}"
    );
    // Far more successes than one server life allows: the restarts served the phase.
    assert!(d.count - d.errors > 30, "{d:?}");
    let mut died = false;
    while let Ok(e) = ev.try_recv() {
        died |= matches!(
            e,
            EngineEvent::Target(jetstress::load::TargetEvent::Died { .. })
        );
    }
    assert!(died, "a Died target event");
    let log = std::fs::read_to_string(logs.path().join("fault.stderr.log")).unwrap();
    assert!(
        log.contains("exit-after reached"),
        "child stderr goes to the log file: {log}"
    );
    engine.shutdown().await;
}

/// A server that dies is down from its death until a restart connects,
/// and that time is taken from its uptime: each restart came after at least
/// one backoff sleep (100 ms, doubling, at most 5 s), so `down_s` is at
/// least the sum of the sleeps before the restarts it saw.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_server_loses_uptime_while_it_is_down() {
    let (c, _logs) = config(
        vec![fault_server(&["--exit-after", "15"], 1)],
        mix(&[("fault:delay", 1.0, json!({}))]),
    );
    let engine = Engine::spawn(c).await.unwrap();
    let s = run_phase(&engine, constant(40.0, 2.5)).await;
    let t = &s.targets[0];
    assert!(t.restarts >= 1, "{t:?}");
    let up = t.uptime_pct.expect("uptime measured");
    assert!(up > 0.0 && up < 100.0, "{t:?}");
    let slept: f64 = (0..t.restarts)
        .map(|k| (0.1 * 2f64.powi(k as i32)).min(5.0))
        .sum();
    assert!(
        t.down_s >= 0.1 && t.down_s >= slept,
        "{t:?}, slept {slept} s"
    );
    // The share follows from the down time: one session over the run.
    assert!(
        up <= 100.0 * (1.0 - t.down_s / (s.elapsed_s + 5.0)) + 1e-9,
        "{t:?} over {} s",
        s.elapsed_s
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_lag_allowed_requests_beyond_max_in_flight_are_dropped_at_once() {
    let (mut c, _logs) = config(
        vec![fault_server(&[], 2)],
        mix(&[("fault:delay", 1.0, json!({"ms": 400}))]),
    );
    c.max_in_flight = 4;
    c.max_lag = Duration::ZERO;
    let engine = Engine::spawn(c).await.unwrap();
    let s = run_phase(&engine, constant(50.0, 1.0)).await;
    let st = &s.phases[0].stages[0];
    assert!(st.dropped >= 30, "{st:?}");
    assert_eq!(st.all.count + st.dropped, st.scheduled);
    assert!(st.all.count <= 12, "{st:?}");
    let d = tool(&s.phases[0], "fault:delay");
    assert_eq!(d.error_kinds.get("dropped"), Some(&st.dropped));
    engine.shutdown().await;
}

/// At the cap a due request waits for a slot (up to `max_lag`) and its wait
/// is in its latency, as oha's latency correction counts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_beyond_max_in_flight_wait_for_a_slot_within_max_lag() {
    let delay_ms = 100.0;
    let (mut c, _logs) = config(
        vec![fault_server(&[], 2)],
        mix(&[("fault:delay", 1.0, json!({"ms": delay_ms}))]),
    );
    c.max_in_flight = 2;
    c.max_lag = Duration::from_secs(5);
    let engine = Engine::spawn(c).await.unwrap();
    // 30 rps for 1 s against at most 2 / 0.1 s = 20 rps, then 5 rps for 2 s
    // while the backlog drains.
    let (over, capacity) = (30.0, 2.0 / (delay_ms / 1000.0));
    let spec = PhaseSpec::custom(
        &[
            (over, Duration::from_secs(1)),
            (5.0, Duration::from_secs(2)),
        ],
        false,
    );
    let s = run_phase(&engine, spec).await;
    let p = &s.phases[0];
    let (first, all) = (
        &p.stages[0],
        p.stages.iter().map(|s| s.scheduled).sum::<u64>(),
    );
    let done: u64 = p.stages.iter().map(|s| s.all.count).sum();
    let dropped: u64 = p.stages.iter().map(|s| s.dropped).sum();
    assert_eq!(dropped, 0, "{p:?}");
    assert_eq!(done, all, "{p:?}");
    // The first stage's backlog reaches (over − capacity) · 1 s requests,
    // i.e. that many / capacity seconds of wait; at least half of it shows.
    let wait_s = (over - capacity) / capacity;
    let extra_ms = first.all.latency_ms.max - first.all.service_ms.max;
    assert!(extra_ms >= wait_s * 1000.0 / 2.0, "{first:?}");
    assert!(
        first.all.latency_ms.max < 5000.0 + first.all.service_ms.max,
        "{first:?}"
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_a_phase_replaces_the_running_one_and_rate_factor_scales() {
    let (c, _logs) = config(
        vec![fault_server(&[], 1)],
        mix(&[("fault:delay", 1.0, json!({}))]),
    );
    let engine = Engine::spawn(c).await.unwrap();
    let mut ev = engine.events();
    let mut long = constant(20.0, 60.0);
    long.name = "long".into();
    engine.send(Command::StartPhase(long)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut short = PhaseSpec::custom(
        &[
            (20.0, Duration::from_secs(1)),
            (20.0, Duration::from_secs(1)),
        ],
        false,
    );
    short.name = "short".into();
    engine.send(Command::SetRateFactor(2.0)).await;
    let s = run_phase(&engine, short).await;
    assert_eq!(s.phases.len(), 2);
    assert_eq!(s.phases[0].name, "long");
    assert_eq!(s.phases[0].status, "replaced");
    assert_eq!(s.phases[1].status, "completed");
    // Factor 2: 40 rps per stage.
    for st in &s.phases[1].stages {
        assert!((38..=42).contains(&st.scheduled), "{st:?}");
    }
    let mut stopped = Vec::new();
    while let Ok(e) = ev.try_recv() {
        if let EngineEvent::Phase(PhaseEvent::Stopped { phase, reason, .. }) = e {
            stopped.push((phase, reason.to_string()));
        }
    }
    assert_eq!(stopped[0], ("long".to_string(), "replaced".to_string()));
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stress_stops_at_the_breaking_point() {
    let (mut c, _logs) = config(
        vec![fault_server(&[], 2)],
        mix(&[("fault:delay", 1.0, json!({"ms": 100}))]),
    );
    c.max_in_flight = 8; // at most 80 rps at 100 ms per call: 120 rps must drop ~1/3
    let engine = Engine::spawn(c).await.unwrap();
    let spec = PhaseSpec::stress(&jetstress::load::StressParams {
        start_rate: 20.0,
        step_rate: 100.0,
        step_every: Duration::from_millis(700),
        max_rate: 200.0,
        ..Default::default()
    });
    let s = run_phase(&engine, spec).await;
    let p = &s.phases[0];
    assert_eq!(p.status, "breaking point");
    let bp = p.breaking_point.as_ref().unwrap();
    assert!(bp.found);
    assert_eq!(bp.last_good_rps, Some(20.0));
    assert_eq!(bp.first_bad_rps, Some(120.0));
    assert!(bp.reason.contains("dropped"), "{bp:?}");
    // The broken stage is judged once its own requests finish, by which time
    // the next stage may have begun; nothing runs after that.
    assert!(p.stages.len() <= 3, "{:?}", p.stages);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_everything_over_stdio_lists_and_calls_tools() {
    let spec = McpTargetSpec {
        name: None,
        endpoint: Endpoint::Stdio {
            program: "node".into(),
            args: vec![everything_js().display().to_string(), "stdio".into()],
            env: vec![],
        },
        sessions: 2,
    };
    // No mix: every listed tool with schema-default arguments.
    let (c, _logs) = config(vec![spec], vec![]);
    let engine = Engine::spawn(c).await.unwrap();
    assert!(
        engine
            .ops
            .iter()
            .any(|o| o == "mcp-servers/everything:echo"),
        "{:?}",
        engine.ops
    );
    assert!(engine.ops.len() >= 5);
    let s = run_phase(&engine, constant(40.0, 1.0)).await;
    let st = &s.phases[0].stages[0];
    assert!(st.all.count >= 35, "{st:?}");
    assert_eq!(s.targets[0].name, "mcp-servers/everything");
    // echo with its placeholder message succeeds.
    if let Some(echo) = st.tools.iter().find(|t| t.tool.ends_with(":echo")) {
        assert_eq!(echo.errors, 0, "{echo:?}");
    }
    engine.shutdown().await;
}

async fn wait_port(port: u16) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("port {port} never opened");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `server-everything` serving streamable HTTP on a free port, and its URL.
pub(crate) async fn everything_http() -> (tokio::process::Child, String) {
    let port = free_port();
    let child = tokio::process::Command::new("node")
        .arg(everything_js())
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    wait_port(port).await;
    (child, format!("http://127.0.0.1:{port}/mcp"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_everything_over_streamable_http() {
    let (mut child, url) = everything_http().await;
    let spec = McpTargetSpec {
        name: Some("everything".into()),
        endpoint: Endpoint::Http { url },
        sessions: 3,
    };
    let (c, _logs) = config(
        vec![spec],
        mix(&[("everything:echo", 1.0, json!({"message": "hi"}))]),
    );
    let engine = Engine::spawn(c).await.unwrap();
    let s = run_phase(&engine, constant(30.0, 1.0)).await;
    let echo = tool(&s.phases[0], "everything:echo");
    assert!(echo.count >= 25, "{echo:?}");
    assert_eq!(echo.errors, 0, "{echo:?}");
    assert_eq!(s.targets[0].kind, "http");
    engine.shutdown().await;
    let _ = child.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_endpoints_are_rows_and_status_400_is_an_error() {
    use axum::routing::{get, post};
    let app = axum::Router::new()
        .route("/health", get(|| async { "ok" }))
        .route(
            "/v1/chat/completions",
            post(|| async { (axum::http::StatusCode::TOO_MANY_REQUESTS, "busy") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let (mut c, _logs) = config(vec![], vec![]);
    c.http = vec![
        HttpEndpointSpec {
            name: "health".into(),
            method: "GET".into(),
            url: format!("http://{addr}/health"),
            headers: vec![],
            body: None,
        },
        HttpEndpointSpec {
            name: "chat".into(),
            method: "POST".into(),
            url: format!("http://{addr}/v1/chat/completions"),
            headers: vec![("authorization".into(), "Bearer test".into())],
            body: Some(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]})),
        },
    ];
    let engine = Engine::spawn(c).await.unwrap();
    let s = run_phase(&engine, constant(40.0, 1.0)).await;
    let h = tool(&s.phases[0], "health");
    assert!(h.count > 5 && h.errors == 0, "{h:?}");
    let chat = tool(&s.phases[0], "chat");
    assert!(chat.count > 5, "{chat:?}");
    assert_eq!(chat.error_kinds.get("tool"), Some(&chat.count), "{chat:?}");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_windows_stream_per_tool_stats() {
    let (c, _logs) = config(
        vec![fault_server(&[], 1)],
        mix(&[("fault:delay", 1.0, json!({"ms": 1}))]),
    );
    let engine = Engine::spawn(c).await.unwrap();
    let mut ev = engine.events();
    engine.send(Command::StartPhase(constant(50.0, 1.0))).await;
    let mut windows = 0;
    let mut seen = 0;
    while let Ok(Ok(e)) = tokio::time::timeout(Duration::from_secs(3), ev.recv()).await {
        match e {
            EngineEvent::LoadWindow(w) => {
                windows += 1;
                seen += w.all.count;
                assert!(w.window_s > 0.1 && w.window_s < 0.5, "{}", w.window_s);
                if w.all.count > 0 {
                    assert_eq!(w.tools[0].tool, "fault:delay");
                }
            }
            EngineEvent::Phase(PhaseEvent::Stopped { .. }) => break,
            _ => {}
        }
    }
    assert!(windows >= 3, "{windows}");
    assert!(seen >= 30, "{seen}");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spike_report_compares_the_three_stages() {
    let (c, _logs) = config(
        vec![fault_server(&[], 2)],
        mix(&[("fault:delay", 1.0, json!({"ms": 2}))]),
    );
    let engine = Engine::spawn(c).await.unwrap();
    let spec = PhaseSpec::spike(&jetstress::load::SpikeParams {
        baseline_rate: 20.0,
        peak_rate: 100.0,
        baseline: Duration::from_secs(1),
        spike: Duration::from_secs(1),
        recovery: Duration::from_millis(1500),
    });
    let s = run_phase(&engine, spec).await;
    let p = &s.phases[0];
    assert_eq!(
        p.stages.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["baseline", "spike", "recovery"]
    );
    assert!(
        (95..=105).contains(&p.stages[1].scheduled),
        "{:?}",
        p.stages[1]
    );
    let r = p.spike.as_ref().unwrap();
    assert!(r.baseline_p95_ms > 2.0 && r.spike_p95_ms > 2.0, "{r:?}");
    assert_eq!(r.errors, [0, 0, 0]);
    let expected = (r.spike_p95_ms - r.baseline_p95_ms) / r.baseline_p95_ms * 100.0;
    assert!((r.latency_increase_pct - expected).abs() < 1e-6);
    // The whole-phase table merges every stage: its counts are the stages' sums.
    for w in &p.whole {
        let per_stage: u64 = p
            .stages
            .iter()
            .flat_map(|s| s.tools.iter().filter(|t| t.tool == w.tool))
            .map(|t| t.count)
            .sum();
        assert_eq!(w.count, per_stage, "{}", w.tool);
    }
    assert!(!p.whole.is_empty());
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_rows_carry_the_servers_rss_and_available_memory() {
    let col = jetstress::collector::spawn(
        jetstress::probes::Prober::new(jetstress::probes::Root::new("/"), vec![]),
        Duration::from_millis(100),
    );
    let (mut c, _logs) = config(
        vec![fault_server(&[], 2)],
        mix(&[("fault:delay", 1.0, json!({}))]),
    );
    c.snapshots = Some(col.latest());
    c.collector = Some(col.commands());
    let engine = Engine::spawn(c).await.unwrap();
    let spec = PhaseSpec::soak(&jetstress::load::SoakParams {
        rate: 30.0,
        duration: Duration::from_millis(2600),
        row_every: Duration::from_millis(500),
    });
    let s = run_phase(&engine, spec).await;
    let soak = s.phases[0].soak.as_ref().unwrap();
    assert!(soak.rows.len() >= 5, "{:?}", soak.rows);
    let last = soak.rows.last().unwrap();
    // Two python children: tens of MB together.
    assert!(last.rss_mb.unwrap() > 5.0, "{last:?}");
    assert!(last.available_mb.unwrap() > 0.0);
    assert!(
        soak.rows
            .iter()
            .all(|r| r.success_pct == 100.0 || r.count == 0),
        "{:?}",
        soak.rows
    );
    assert!(soak.rss_slope_mb_per_h.is_some());
    assert_ne!(soak.verdict, "too short to judge");
    engine.shutdown().await;
    col.stop();
}

fn live_pids_with(marker: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter(|e| {
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            let zombie = stat
                .rsplit(')')
                .next()
                .is_some_and(|s| s.trim_start().starts_with('Z'));
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            !zombie && String::from_utf8_lossy(&cmd).contains(marker)
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_handle_stops_the_load_and_the_children() {
    let marker = format!("engine-drop-{}", std::process::id());
    let (c, _logs) = config(
        vec![fault_server(&["--name", &marker], 2)],
        mix(&[("fault:delay", 1.0, json!({}))]),
    );
    let engine = Engine::spawn(c).await.unwrap();
    engine.send(Command::StartPhase(constant(10.0, 60.0))).await;
    assert_eq!(live_pids_with(&marker), 2);
    drop(engine);
    for _ in 0..100 {
        if live_pids_with(&marker) == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("children outlived the engine handle");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stress_stage_is_judged_with_its_slowest_requests() {
    // Every call takes 1.5 s: none has finished when the 1 s stage ends.
    let (mut c, _logs) = config(
        vec![fault_server(&[], 2)],
        mix(&[("fault:delay", 1.0, json!({"ms": 1500}))]),
    );
    c.timeout = Duration::from_secs(5);
    let engine = Engine::spawn(c).await.unwrap();
    let spec = PhaseSpec::stress(&jetstress::load::StressParams {
        start_rate: 5.0,
        step_rate: 5.0,
        step_every: Duration::from_secs(1),
        max_rate: 15.0,
        criteria: jetstress::load::BreakCriteria {
            max_p95_ms: 1000.0,
            ..Default::default()
        },
    });
    let s = run_phase(&engine, spec).await;
    let p = &s.phases[0];
    let bp = p.breaking_point.as_ref().unwrap();
    assert!(bp.found, "{bp:?}");
    assert_eq!(bp.first_bad_rps, Some(5.0), "{bp:?}");
    assert_eq!(bp.last_good_rps, None);
    assert!(bp.reason.contains("p95"), "{bp:?}");
    engine.shutdown().await;
}
