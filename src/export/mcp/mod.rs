//! `jetstress mcp-serve`: the board's telemetry as read-only MCP tools, over
//! stdio (default) or streamable HTTP (`--http`). This file owns the wiring: runtime, collector, shared state,
//! transport, shutdown. Tools live in [`tools`], their outputs in [`views`]
//! and [`diagnosis`], the HTTP policy in [`http`].

pub(crate) mod diagnosis;
pub(crate) mod handler;
pub(crate) mod http;
pub(crate) mod predictions;
pub(crate) mod state;
pub(crate) mod stdio;
pub(crate) mod tools;
pub(crate) mod views;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use rmcp::ServiceExt;
use tokio_util::sync::CancellationToken;

use std::path::PathBuf;

use crate::collector::{self, CollectorHandle};
use crate::export::addr::ListenAddr;
use crate::export::auth::{check_bind, Service};
use crate::export::metrics::Metrics;
use crate::probes::{Prober, Root, Watch};
use handler::McpServer;
use state::ServerState;
use tools::{Registry, TOOLS};

/// Env var carrying the HTTP bearer token (keeps it out of `ps`).
pub const TOKEN_ENV: &str = "JETSTRESS_MCP_TOKEN";

/// What `mcp-serve` serves, and how.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub root: PathBuf,
    pub interval: Duration,
    pub watches: Vec<Watch>,
    /// Streamable HTTP at this address instead of stdio.
    pub http: Option<ListenAddr>,
    /// Bearer token every HTTP request must carry.
    pub token: Option<String>,
    /// Also serve Prometheus `/metrics` here, with this token (checked by the
    /// caller), fed from the same collector and predictors.
    pub metrics: Option<(SocketAddr, Option<String>)>,
    /// ANSI colours in the stderr log lines.
    pub ansi_logs: bool,
}

/// Run the server until the client goes away (stdio) or a signal (both).
pub fn run(args: &ServeOptions) -> anyhow::Result<ExitCode> {
    init_logging(args.ansi_logs);
    let token: Option<Arc<str>> = match args.token.as_deref().map(str::trim) {
        Some("") => anyhow::bail!("the token is empty (--token / {TOKEN_ENV})"),
        Some(t) => Some(Arc::from(t)),
        None => None,
    };
    if let Some(http) = &args.http {
        check_bind(Service::Mcp, http.addr, token.as_deref())?;
    } else if token.is_some() {
        tracing::warn!("--token only applies to --http; ignored on stdio");
    }
    // Probes run on their own thread so a slow sysfs read never delays a call;
    // the protocol runs on one thread (cheaper per call than a work-stealing
    // pool: no cross-thread wake-ups for a request that takes microseconds).
    let probe_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("jetstress-probe")
        .enable_time()
        .build()?;
    let prober = Prober::new(Root::new(&args.root), args.watches.clone());
    let collector = {
        let _in_probe_rt = probe_rt.enter();
        collector::spawn(prober, args.interval)
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(serve(&collector, args, token));
    collector.stop();
    // A blocking stdin read (non-pipe stdin) must not hold the process open.
    rt.shutdown_timeout(Duration::from_millis(200));
    probe_rt.shutdown_timeout(Duration::from_millis(200));
    result.map(|()| ExitCode::SUCCESS)
}

fn init_logging(ansi: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("JETSTRESS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // stdout is the protocol on stdio: logs only ever go to stderr.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_env_filter(filter)
        .try_init();
}

/// Build the shared state on a running collector, then serve on the chosen transport.
pub async fn serve(
    collector: &CollectorHandle,
    args: &ServeOptions,
    token: Option<Arc<str>>,
) -> anyhow::Result<()> {
    let state = Arc::new(ServerState::new(collector.latest(), TOOLS.len()));
    let metrics = match &args.metrics {
        Some((addr, metrics_token)) => {
            let m = Arc::new(Metrics::new());
            let (bound, _task) =
                crate::export::metrics::serve(*addr, metrics_token.clone(), m.clone())
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot serve /metrics on {addr}: {e}"))?;
            eprintln!("jetstress mcp-serve: metrics on http://{bound}/metrics");
            Some(m)
        }
        None => None,
    };
    let follower = state.follow(collector.subscribe(), metrics);
    // Answer the first call from a real sample, not an empty one.
    let _ = state.snapshot().await;
    let server = McpServer::new(state, Arc::new(Registry::new()));

    let shutdown = CancellationToken::new();
    let signals = tokio::spawn(cancel_on_signal(shutdown.clone()));
    let result = match &args.http {
        Some(addr) => http::serve(server, addr, token, shutdown.clone()).await,
        None => serve_stdio(server, shutdown.clone()).await,
    };
    signals.abort();
    follower.abort();
    result
}

async fn serve_stdio(server: McpServer, shutdown: CancellationToken) -> anyhow::Result<()> {
    let closing = CancellationToken::new();
    let (reader, writer) = rmcp::transport::stdio_pipes();
    let reader = stdio::EofNotify::new(reader, closing.clone());
    let running = server
        .with_closing(closing)
        .serve((reader, writer))
        .await
        .map_err(|e| anyhow::anyhow!("MCP session did not start: {e}"))?;
    let ct = running.cancellation_token();
    tokio::select! {
        r = running.waiting() => { r.map_err(|e| anyhow::anyhow!("MCP session failed: {e}"))?; }
        () = shutdown.cancelled() => ct.cancel(),
    }
    Ok(())
}

async fn cancel_on_signal(shutdown: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            shutdown.cancel();
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    shutdown.cancel();
}
