//! A streamable-HTTP target through rmcp's typed client: tool calls with a
//! timeout (a dropped call sends `notifications/cancelled`), a liveness
//! check, and a new session when the old one is gone. Arguments that are
//! not an object cannot be sent this way; the runner sends those through
//! the raw client (`rawhttp`).

use std::borrow::Cow;
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, JsonObject};
use rmcp::service::{RoleClient, RunningService, ServiceError};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ClientCacheConfig, ServiceExt};
use serde_json::Value;

use super::jsonrpc::quote;
use super::outcome::Reply;
use super::CheckError;

/// One client session with an HTTP MCP server.
pub struct HttpServer {
    url: String,
    service: RunningService<RoleClient, ()>,
}

impl std::fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpServer")
            .field("url", &self.url)
            .finish()
    }
}

fn reply_of(e: &ServiceError, timeout: Duration) -> Reply {
    match e {
        ServiceError::McpError(e) => Reply::Error {
            code: i64::from(e.code.0),
            message: quote(&e.message),
        },
        ServiceError::Timeout { .. } => Reply::Timeout(timeout),
        ServiceError::TransportClosed | ServiceError::TransportSend(_) => {
            Reply::Closed(format!("the connection dropped: {e}"))
        }
        other => Reply::Malformed(other.to_string()),
    }
}

impl HttpServer {
    /// Connect and initialize.
    pub async fn connect(url: &str, timeout: Duration) -> Result<HttpServer, CheckError> {
        let t = StreamableHttpClientTransport::from_uri(url);
        let service = tokio::time::timeout(timeout, ().serve(t))
            .await
            .map_err(|_| {
                CheckError::Initialize(format!("no answer from {url} within {timeout:?}"))
            })?
            .map_err(|e| CheckError::Initialize(e.to_string()))?;
        service
            .peer()
            .set_response_cache_config(ClientCacheConfig::disabled())
            .await;
        Ok(HttpServer {
            url: url.to_string(),
            service,
        })
    }

    /// Every tool, as the JSON the server listed.
    pub async fn list_tools(&self) -> Result<Vec<Value>, CheckError> {
        let tools = self
            .service
            .peer()
            .list_all_tools()
            .await
            .map_err(|e| CheckError::ListTools(e.to_string()))?;
        Ok(tools
            .iter()
            .filter_map(|t| serde_json::to_value(t).ok())
            .collect())
    }

    /// `tools/call`; `None` when the arguments are not an object (rmcp's
    /// typed API cannot send them).
    pub async fn call_tool(&self, name: &str, args: &Value, timeout: Duration) -> Option<Reply> {
        let Value::Object(o) = args else {
            return None;
        };
        let params = CallToolRequestParams::new(Cow::Owned(name.to_string()))
            .with_arguments(JsonObject::clone(o));
        let peer = self.service.peer();
        Some(
            match tokio::time::timeout(timeout, peer.call_tool(params)).await {
                Err(_) => Reply::Timeout(timeout),
                Ok(Ok(r)) => {
                    let text = r
                        .content
                        .iter()
                        .find_map(|c| c.as_text().map(|t| quote(&t.text)));
                    Reply::Result {
                        is_error: r.is_error == Some(true),
                        summary: text.map_or_else(
                            || format!("{} content block(s)", r.content.len()),
                            |t| format!("text: {t}"),
                        ),
                    }
                }
                Ok(Err(e @ ServiceError::TransportSend(_))) => {
                    // An HTTP refusal (a 413 for a body over the server's
                    // limit) fails the send but leaves the session up: an
                    // answer, not a dropped connection.
                    if self.alive(timeout).await.answered() {
                        let text = e.to_string();
                        let why = text
                            .find("unexpected server response: ")
                            .map_or(text.as_str(), |i| &text[i..]);
                        Reply::Error {
                            code: 0,
                            message: format!("refused by the HTTP transport: {}", quote(why)),
                        }
                    } else {
                        reply_of(&e, timeout)
                    }
                }
                Ok(Err(e)) => reply_of(&e, timeout),
            },
        )
    }

    /// Whether the server still answers (`tools/list`).
    pub async fn alive(&self, timeout: Duration) -> Reply {
        match tokio::time::timeout(timeout, self.service.peer().list_tools(None)).await {
            Err(_) => Reply::Timeout(timeout),
            Ok(Ok(r)) => Reply::Result {
                is_error: false,
                summary: format!("{} tools", r.tools.len()),
            },
            Ok(Err(e)) => reply_of(&e, timeout),
        }
    }

    /// A new session in place of this one.
    pub async fn reconnect(&mut self, timeout: Duration) -> Result<(), CheckError> {
        let fresh = HttpServer::connect(&self.url, timeout).await?;
        let old = std::mem::replace(self, fresh);
        old.service.cancellation_token().cancel();
        Ok(())
    }
}
