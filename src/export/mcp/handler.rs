//! The MCP face of the server: an rmcp [`ServerHandler`] that lists the
//! registry's tools and routes `tools/call` to them. Cheap to clone (two
//! `Arc`s), so the HTTP transport makes one per session.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use tokio_util::sync::CancellationToken;

use super::state::ServerState;
use super::tools::{parse_args, Call, NoArgs, Registry};

pub const INSTRUCTIONS: &str = "jetstress: read-only telemetry of this machine (an NVIDIA Jetson or any Linux box). \
Start with system_diagnosis for a one-call health summary; thermal_status, memory_status, gpu_status, \
power_status and board_info give details. echo and sleep_ms calibrate load tests. No tool changes anything.";

#[derive(Clone)]
pub struct McpServer {
    state: Arc<ServerState>,
    registry: Arc<Registry>,
    /// Cancelled when the transport's client has gone: waiting tools stop.
    closing: CancellationToken,
}

impl McpServer {
    pub fn new(state: Arc<ServerState>, registry: Arc<Registry>) -> Self {
        McpServer {
            state,
            registry,
            closing: CancellationToken::new(),
        }
    }

    /// Stop waiting tools (`sleep_ms`) when `closing` is cancelled.
    pub fn with_closing(mut self, closing: CancellationToken) -> Self {
        self.closing = closing;
        self
    }

    async fn call(
        &self,
        req: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let Some((index, def)) = self.registry.find(&req.name) else {
            return Err(ErrorData::invalid_params(
                format!("unknown tool '{}'", req.name),
                None,
            ));
        };
        self.state.count_call(index);
        let args = req.arguments.unwrap_or_default();
        match &def.call {
            Call::Plain(f) => f(&self.state, args),
            // The future also stops on the request's own cancellation.
            Call::Async(f) => tokio::select! {
                r = f(args, ctx.ct.clone()) => r,
                () = self.closing.cancelled() => Err(ErrorData::invalid_request("the client has gone", None)),
            },
            Call::Snapshot(f) => {
                let _: NoArgs = parse_args(def.name, args)?;
                match self.state.snapshot().await {
                    Some(s) => Ok(f(&self.state, &s)),
                    None => Ok(CallToolResult::error(vec![ContentBlock::text(
                        "no sample from the collector yet (the probes have not answered); try again shortly",
                    )])),
                }
            }
        }
    }
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("jetstress", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(
            self.registry.tools().to_vec(),
        ))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.registry.tool(name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.call(request, context).await.map(Into::into)
    }
}
