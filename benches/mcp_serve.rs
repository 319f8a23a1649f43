//! Throughput and latency of `jetstress mcp-serve` over stdio, measured with
//! the rmcp client: `echo` with 64 calls in flight for ~5 s (calls/s), the
//! server's peak RSS under that load (`VmHWM`), and `thermal_status` round-trip
//! latency (one call in flight, p50/p99 from an HDR histogram).
//!
//! Run: `cargo bench --bench mcp_serve` (cargo builds the release binary first;
//! `CARGO_BIN_EXE_jetstress` points at it). Optional env: `MCP_BENCH_SECS`
//! (default 5), `MCP_BENCH_INFLIGHT` (default 64), `MCP_BENCH_CLIENT_THREADS=2`
//! (client on a two-worker runtime instead of one thread).

use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rmcp::model::{CallToolRequestParams, JsonObject};
use rmcp::transport::TokioChildProcess;
use rmcp::ServiceExt;
use serde_json::json;
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_jetstress");
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/orin-agx-r36");

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn vm_kb(pid: u32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// User + system CPU seconds of a process, from `/proc/<pid>/stat`.
fn proc_cpu_s(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the `(comm)`: state is field 3, utime 14, stime 15.
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        f.get(i - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks(14) + ticks(15)) / hz
}

fn echo_params() -> CallToolRequestParams {
    let mut a = JsonObject::new();
    a.insert("message".into(), json!("ping"));
    CallToolRequestParams::new("echo").with_arguments(a)
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; any other argument is a filter we ignore.
    let secs = env_num("MCP_BENCH_SECS", 5);
    let inflight = env_num("MCP_BENCH_INFLIGHT", 64) as usize;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run(secs, inflight))
}

async fn run(secs: u64, inflight: usize) -> anyhow::Result<()> {
    let mut cmd = Command::new(BIN);
    cmd.args(["--root", ROOT, "mcp-serve"]).kill_on_drop(true);
    let (transport, _) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::null())
        .spawn()?;
    let pid = transport
        .id()
        .ok_or_else(|| anyhow::anyhow!("server has no pid"))?;
    let client = ().serve(transport).await?;
    println!("mcp_serve bench: {BIN} --root {ROOT} mcp-serve (stdio), pid {pid}");

    // Warm up.
    for _ in 0..1000 {
        client.call_tool(echo_params()).await?;
    }

    // echo, `inflight` calls outstanding, for `secs` seconds.
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let (server_cpu0, client_cpu0) = (proc_cpu_s(pid), proc_cpu_s(std::process::id()));
    let mut workers = Vec::with_capacity(inflight);
    for _ in 0..inflight {
        let peer = client.peer().clone();
        let (done, failed, stop) = (done.clone(), failed.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let params = echo_params();
            while !stop.load(Ordering::Relaxed) {
                match peer.call_tool(params.clone()).await {
                    Ok(_) => done.fetch_add(1, Ordering::Relaxed),
                    Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let calls = done.load(Ordering::Relaxed);
    let server_cpu = proc_cpu_s(pid) - server_cpu0;
    let client_cpu = proc_cpu_s(std::process::id()) - client_cpu0;
    let rss_peak = vm_kb(pid, "VmHWM:").unwrap_or(0);
    let rss_now = vm_kb(pid, "VmRSS:").unwrap_or(0);
    println!(
        "echo, {inflight} in flight: {calls} calls in {elapsed:.2} s = {:.0} calls/s ({} failed)",
        calls as f64 / elapsed,
        failed.load(Ordering::Relaxed)
    );
    println!(
        "CPU per call: server {:.1} µs ({:.0} % of a core), rmcp client {:.1} µs ({:.0} % of a core)",
        1e6 * server_cpu / calls.max(1) as f64,
        100.0 * server_cpu / elapsed,
        1e6 * client_cpu / calls.max(1) as f64,
        100.0 * client_cpu / elapsed
    );
    println!(
        "server RSS: peak (VmHWM) {:.1} MiB, now {:.1} MiB",
        rss_peak as f64 / 1024.0,
        rss_now as f64 / 1024.0
    );

    // thermal_status, one call in flight.
    let mut hist = Histogram::<u64>::new_with_bounds(1, 10_000_000, 3)?;
    let params = CallToolRequestParams::new("thermal_status");
    let until = Instant::now() + Duration::from_secs(secs.clamp(1, 3));
    let server_cpu0 = proc_cpu_s(pid);
    while Instant::now() < until {
        let t = Instant::now();
        let r = client.call_tool(params.clone()).await?;
        assert!(r.structured_content.is_some());
        hist.saturating_record(t.elapsed().as_micros() as u64);
    }
    let server_cpu = proc_cpu_s(pid) - server_cpu0;
    println!(
        "thermal_status, 1 in flight: {} calls, server CPU {:.1} µs per call, p50 {} µs, p99 {} µs, max {} µs",
        hist.len(),
        1e6 * server_cpu / hist.len().max(1) as f64,
        hist.value_at_quantile(0.50),
        hist.value_at_quantile(0.99),
        hist.max()
    );
    client.cancel().await?;
    Ok(())
}
