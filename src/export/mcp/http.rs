//! Streamable HTTP transport for `mcp-serve --http`: the bind policy
//! (loopback unless a token is set), the bearer-token check, Origin/Host
//! validation and the request-body cap, around rmcp's `StreamableHttpService`
//! mounted at `/mcp` on axum.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use super::handler::McpServer;
use crate::export::addr::ListenAddr;
use crate::export::auth::bearer_matches;

/// `--http` without a value.
pub const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:7400";
/// Where the MCP endpoint lives.
pub const MCP_PATH: &str = "/mcp";
/// Largest accepted request body (413 beyond).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most concurrent MCP sessions (each idle one expires after rmcp's 5 min
/// keep-alive); a new `initialize` beyond this gets 503, so memory stays bounded.
pub const MAX_SESSIONS: usize = 1024;
/// Browser origins allowed to talk to the server (requests without `Origin`,
/// i.e. non-browser clients, always pass): local pages only, as the MCP spec
/// asks of local servers to stop DNS-rebinding attacks.
pub const ALLOWED_ORIGINS: &[&str] =
    &["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"];

async fn require_token(State(token): State<Arc<str>>, req: Request, next: Next) -> Response {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if bearer_matches(value, &token) {
        next.run(req).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "missing or wrong bearer token\n",
        )
            .into_response()
    }
}

/// Refuse a new session (a POST without `Mcp-Session-Id`) once [`MAX_SESSIONS`] are open.
async fn limit_sessions(
    State(sessions): State<Arc<LocalSessionManager>>,
    req: Request,
    next: Next,
) -> Response {
    let opens_session =
        req.method() == axum::http::Method::POST && !req.headers().contains_key("mcp-session-id");
    if opens_session && sessions.sessions.read().await.len() >= MAX_SESSIONS {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("too many MCP sessions (at most {MAX_SESSIONS}); close one or retry later\n"),
        )
            .into_response();
    }
    next.run(req).await
}

/// The axum app: rmcp's streamable HTTP service at [`MCP_PATH`], behind the
/// token check when a token is set.
pub fn router(
    server: McpServer,
    listen: &ListenAddr,
    token: Option<Arc<str>>,
    ct: CancellationToken,
) -> axum::Router {
    let addr = listen.addr;
    let mut config = StreamableHttpServerConfig::default()
        .with_max_request_body_bytes(MAX_BODY_BYTES)
        .with_allowed_origins(ALLOWED_ORIGINS.iter().copied())
        .enforce_origin_validation()
        .with_cancellation_token(ct);
    if addr.ip().is_unspecified() {
        // 0.0.0.0 / [::]: any Host name may reach us; the token is the guard.
        config = config.disable_allowed_hosts();
    } else {
        // The bound address, and the name it was given by (`board-7.lab:7400`):
        // clients send that name as Host.
        let mut hosts = config.allowed_hosts.clone();
        if !addr.ip().is_loopback() {
            hosts.push(addr.ip().to_string());
        }
        hosts.extend(listen.host.clone());
        config = config.with_allowed_hosts(hosts);
    }
    let sessions = Arc::new(LocalSessionManager::default());
    let service: StreamableHttpService<McpServer, LocalSessionManager> =
        StreamableHttpService::new(move || Ok(server.clone()), sessions.clone(), config);
    let app = axum::Router::new()
        .nest_service(MCP_PATH, service)
        .layer(middleware::from_fn_with_state(sessions, limit_sessions));
    match token {
        Some(t) => app.layer(middleware::from_fn_with_state(t, require_token)),
        None => app,
    }
}

/// Serve until `shutdown` is cancelled.
pub async fn serve(
    server: McpServer,
    listen: &ListenAddr,
    token: Option<Arc<str>>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen.addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let local = listener.local_addr()?;
    let app = router(server, listen, token, shutdown.child_token());
    eprintln!("jetstress mcp-serve: listening on http://{local}{MCP_PATH}");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled_owned().await })
        .await?;
    Ok(())
}
