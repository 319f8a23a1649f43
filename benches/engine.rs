//! Engine benchmarks (custom harness; `cargo bench --bench engine`):
//!
//! 1. throughput — calls/s at 64 in flight against a fast local stdio server,
//!    and the engine's own CPU per call (getrusage of this process only);
//! 2. latency truth — a tool that sleeps 20 ms, at 50 rps: p50 vs 20 ms;
//! 3. coordinated omission — a server that stalls 1 s once every 10 s, at
//!    100 rps: p99 from the scheduled time beside the service-time p99.
//!
//! `JETSTRESS_BENCH=throughput,latency,co` picks parts (default: all);
//! `JETSTRESS_BENCH_SERVER=stub|everything|builtin` picks the throughput
//! server (default `stub`: this binary re-run as a minimal Rust stdio MCP
//! server; `builtin`: `jetstress mcp-serve` once it exists);
//! `JETSTRESS_BENCH_THREADS=N` gives the load runtime N threads (default 1).

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Duration;

use jetstress::load::PhaseSpec;
use jetstress::load::{
    Command, Engine, EngineConfig, EngineEvent, MixEntry, PhaseEvent, RunSummary,
};
use jetstress::load::{Endpoint, McpTargetSpec};

fn repo(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// Minimal stdio MCP server: answers initialize, tools/list and tools/call
/// (`echo` at once; `sleep_ms {ms}` after sleeping on its own thread).
fn stub_server() {
    use std::sync::{Arc, Mutex};
    let mut lock = std::io::BufReader::with_capacity(1 << 16, std::io::stdin());
    let shared = Arc::new(Mutex::new(std::io::BufWriter::new(std::io::stdout())));
    let mut line = String::new();
    loop {
        line.clear();
        if lock.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        let id = v.get("id").cloned();
        let reply = match (v.get("method").and_then(|m| m.as_str()), id) {
            (Some("initialize"), Some(id)) => {
                let ver = v["params"]["protocolVersion"].clone();
                serde_json::json!({"jsonrpc":"2.0","id":id,"result":{"protocolVersion":ver,
                    "capabilities":{"tools":{}},"serverInfo":{"name":"stub","version":"1"}}})
            }
            (Some("tools/list"), Some(id)) => {
                serde_json::json!({"jsonrpc":"2.0","id":id,"result":{"tools":[
                {"name":"echo","inputSchema":{"type":"object","properties":{}}},
                {"name":"sleep_ms","inputSchema":{"type":"object","properties":{"ms":{"type":"integer"}}}}]}})
            }
            (Some("tools/call"), Some(id)) if v["params"]["name"] == "sleep_ms" => {
                let ms = v["params"]["arguments"]["ms"].as_u64().unwrap_or(0);
                let out = shared.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(ms));
                    let reply = serde_json::json!({"jsonrpc":"2.0","id":id,"result":{
                        "content":[{"type":"text","text":"ok"}],"isError":false}});
                    let mut o = out.lock().unwrap();
                    let _ = serde_json::to_writer(&mut *o, &reply);
                    let _ = o.write_all(b"\n");
                    let _ = o.flush();
                });
                continue;
            }
            (Some("tools/call"), Some(id)) => serde_json::json!({"jsonrpc":"2.0","id":id,"result":{
                "content":[{"type":"text","text":"ok"}],"isError":false}}),
            (Some(_), Some(id)) => serde_json::json!({"jsonrpc":"2.0","id":id,"result":{}}),
            _ => continue,
        };
        let mut out = shared.lock().unwrap();
        let _ = serde_json::to_writer(&mut *out, &reply);
        let _ = out.write_all(b"\n");
        // Flush only when no more input is waiting, so bursts are batched.
        if lock.buffer().is_empty() {
            let _ = out.flush();
        }
    }
}

fn cpu_time() -> Duration {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &raw mut u) };
    let t = |tv: libc::timeval| Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000);
    t(u.ru_utime) + t(u.ru_stime)
}

async fn run_phase(cfg: EngineConfig, phase: PhaseSpec) -> RunSummary {
    let engine = Engine::spawn(cfg).await.expect("engine starts");
    let mut ev = engine.events();
    engine.send(Command::StartPhase(phase)).await;
    loop {
        if let Ok(EngineEvent::Phase(PhaseEvent::Stopped { .. })) = ev.recv().await {
            break;
        }
    }
    let mut s = engine.summary().await.unwrap();
    while s.in_flight > 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        s = engine.summary().await.unwrap();
    }
    engine.shutdown().await;
    s
}

fn fault(args: &[&str]) -> McpTargetSpec {
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
        sessions: 1,
    }
}

fn base(targets: Vec<McpTargetSpec>, mix: Vec<MixEntry>) -> EngineConfig {
    EngineConfig {
        mcp_targets: targets,
        mix,
        log_dir: std::env::temp_dir().join("jetstress-bench"),
        // JETSTRESS_BENCH_THREADS: the load runtime's threads (default 1).
        threads: std::env::var("JETSTRESS_BENCH_THREADS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1),
        ..Default::default()
    }
}

async fn throughput() {
    let which = std::env::var("JETSTRESS_BENCH_SERVER").unwrap_or_else(|_| "stub".into());
    let sessions: usize = std::env::var("JETSTRESS_BENCH_SESSIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let rate: f64 = std::env::var("JETSTRESS_BENCH_RATE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60_000.0);
    let (endpoint, tool, args) = match which.as_str() {
        "everything" => (
            Endpoint::Stdio {
                program: "node".into(),
                args: vec![
                    repo("tests/mcp-servers/node_modules/@modelcontextprotocol/server-everything/dist/index.js")
                        .display()
                        .to_string(),
                    "stdio".into(),
                ],
                env: vec![],
            },
            "echo",
            serde_json::json!({"message": "x"}),
        ),
        "builtin" => (
            Endpoint::Stdio {
                program: repo("target/release/jetstress"),
                args: vec!["mcp-serve".into()],
                env: vec![],
            },
            "echo",
            serde_json::json!({"message": "x"}),
        ),
        _ => (
            Endpoint::Stdio {
                program: std::env::current_exe().unwrap(),
                args: vec!["--stub-server".into()],
                env: vec![],
            },
            "echo",
            serde_json::json!({}),
        ),
    };
    let target = McpTargetSpec {
        name: Some("t".into()),
        endpoint,
        sessions,
    };
    let mix = vec![MixEntry {
        tool: format!("t:{tool}"),
        weight: 1.0,
        args: args.as_object().cloned(),
        invalid_pct: None,
    }];
    let mut cfg = base(vec![target], mix);
    cfg.max_in_flight = 64;
    let secs = 5.0;
    let cpu0 = cpu_time();
    let s = run_phase(
        cfg,
        PhaseSpec::custom(&[(rate, Duration::from_secs_f64(secs))], false),
    )
    .await;
    let cpu = cpu_time().checked_sub(cpu0).unwrap();
    let st = &s.phases[0].stages[0];
    let ok = st.all.count - (st.all.errors - st.dropped);
    println!(
        "throughput [{which}, {sessions} sessions, 64 in flight, offered {rate} rps for {secs} s]: \
         {:.0} calls/s ok ({} ok, {} failed, {} dropped); engine CPU {:.1} µs/call; service p50 {:.3} ms p99 {:.3} ms",
        ok as f64 / st.duration_s,
        ok,
        st.all.errors - st.dropped,
        st.dropped,
        cpu.as_secs_f64() * 1e6 / (st.all.count.max(1)) as f64,
        st.all.service_ms.p50,
        st.all.service_ms.p99,
    );
}

async fn latency_truth() {
    let which = std::env::var("JETSTRESS_BENCH_SERVER").unwrap_or_else(|_| "stub".into());
    let (target, tool) = match which.as_str() {
        "fault" => (fault(&[]), "fault:delay"),
        "builtin" => (
            McpTargetSpec {
                name: Some("t".into()),
                endpoint: Endpoint::Stdio {
                    program: repo("target/release/jetstress"),
                    args: vec!["mcp-serve".into()],
                    env: vec![],
                },
                sessions: 1,
            },
            "t:sleep_ms",
        ),
        _ => (
            McpTargetSpec {
                name: Some("t".into()),
                endpoint: Endpoint::Stdio {
                    program: std::env::current_exe().unwrap(),
                    args: vec!["--stub-server".into()],
                    env: vec![],
                },
                sessions: 1,
            },
            "t:sleep_ms",
        ),
    };
    let args = serde_json::json!({"ms": 20});
    let mix = vec![MixEntry {
        tool: tool.into(),
        weight: 1.0,
        args: args.as_object().cloned(),
        invalid_pct: None,
    }];
    let cpu0 = cpu_time();
    let s = run_phase(
        base(vec![target], mix),
        PhaseSpec::custom(&[(50.0, Duration::from_secs(20))], false),
    )
    .await;
    let cpu = cpu_time().checked_sub(cpu0).unwrap();
    let a = &s.phases[0].stages[0].all;
    println!(
        "latency truth [{which}: {tool} 20 ms, 50 rps, 20 s, {} calls]: latency p50 {:.3} ms (error {:+.3} ms), \
         p99 {:.3} ms; service p50 {:.3} ms; engine CPU {:.1} % of a core",
        a.count,
        a.latency_ms.p50,
        a.latency_ms.p50 - 20.0,
        a.latency_ms.p99,
        a.service_ms.p50,
        cpu.as_secs_f64() / s.phases[0].duration_s * 100.0
    );
}

async fn coordinated_omission() {
    let mix = vec![MixEntry {
        tool: "fault:delay".into(),
        weight: 1.0,
        args: serde_json::json!({"ms": 0}).as_object().cloned(),
        invalid_pct: None,
    }];
    let mut cfg = base(
        vec![fault(&["--stall-every", "10", "--stall-ms", "1000"])],
        mix,
    );
    cfg.max_in_flight = 1024;
    let s = run_phase(
        cfg,
        PhaseSpec::custom(&[(100.0, Duration::from_secs(30))], false),
    )
    .await;
    let a = &s.phases[0].stages[0].all;
    println!(
        "coordinated omission [stall 1 s every 10 s, 100 rps, 30 s, {} calls]: latency p99 {:.1} ms (max {:.1}); \
         service p99 {:.1} ms; latency p50 {:.2} ms",
        a.count, a.latency_ms.p99, a.latency_ms.max, a.service_ms.p99, a.latency_ms.p50
    );
}

fn main() {
    if std::env::args().any(|a| a == "--stub-server") {
        stub_server();
        return;
    }
    let parts = std::env::var("JETSTRESS_BENCH").unwrap_or_else(|_| "throughput,latency,co".into());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for p in parts.split(',') {
            match p.trim() {
                "throughput" => throughput().await,
                "latency" => latency_truth().await,
                "co" => coordinated_omission().await,
                other => eprintln!("unknown part '{other}'"),
            }
        }
    });
}
