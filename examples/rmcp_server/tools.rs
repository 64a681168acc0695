//! The MCP side: an rmcp `ServerHandler` whose tools read the caller's
//! `AuthInfo`, and the step-up check in front of rmcp for the tool that
//! needs more than the `mcp` scope.
//!
//! rmcp hands each tool the HTTP request's `Parts` (in the request context's
//! extensions); the bearer layer put the verified `AuthInfo` in theirs.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, JsonObject,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{json, Value};
use simply_mcp_oauth::provider::AuthInfo;
use simply_mcp_oauth::server::BearerGuard;

use crate::OAuth;

/// The scope every request to `/mcp` needs.
pub const MCP_SCOPE: &str = "mcp";
/// The further scope of `server_stats`.
pub const ADMIN_SCOPE: &str = "mcp:admin";
/// The scope each tool needs beyond [`MCP_SCOPE`].
const TOOL_SCOPES: &[(&str, &str)] = &[("server_stats", ADMIN_SCOPE)];
/// The largest MCP message the step-up check reads (rmcp's own limit).
const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

fn extra_scope(tool: &str) -> Option<&'static str> {
    TOOL_SCOPES.iter().find(|(name, _)| *name == tool).map(|(_, scope)| *scope)
}

/// The tools; one instance per MCP session (rmcp's service factory clones it).
#[derive(Clone)]
pub struct Tools {
    oauth: OAuth,
}

impl Tools {
    pub fn new(oauth: OAuth) -> Self {
        Self { oauth }
    }

    async fn server_stats(&self) -> CallToolResult {
        match self.oauth.provider().get_stats().await {
            Ok(stats) => CallToolResult::structured(json!(stats)),
            Err(error) => CallToolResult::error(vec![ContentBlock::text(error.to_string())]),
        }
    }
}

fn tool(name: &'static str, description: &'static str) -> Tool {
    let schema: JsonObject =
        [("type".to_string(), json!("object")), ("properties".to_string(), json!({}))].into_iter().collect();
    Tool::new(name, description, schema)
}

/// The `AuthInfo` of the HTTP request behind this MCP request.
fn caller(context: &RequestContext<RoleServer>) -> Result<&AuthInfo, ErrorData> {
    context
        .extensions
        .get::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<AuthInfo>())
        .ok_or_else(|| ErrorData::internal_error("no AuthInfo: /mcp is not behind the bearer layer", None))
}

impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("simply-mcp-oauth-rmcp-example", env!("CARGO_PKG_VERSION")))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(vec![
            tool("whoami", "Who is calling: the token's subject, client, scopes and resource."),
            tool(
                "server_stats",
                "The authorization server's counts of clients and tokens (scope mcp:admin).",
            ),
        ]))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let auth = caller(&context)?;
        // `step_up` answered a missing scope with a 403 already; this stays
        // true if the handler is ever served without it.
        if let Some(scope) = extra_scope(&request.name) {
            if !auth.scopes.iter().any(|held| held == scope) {
                let refusal = format!("{} needs the scope {scope}", request.name);
                return Ok(CallToolResult::error(vec![ContentBlock::text(refusal)]).into());
            }
        }
        let result = match request.name.as_ref() {
            "whoami" => CallToolResult::structured(json!({
                "subject": auth.subject,
                "clientId": auth.client_id,
                "scopes": auth.scopes,
                "resource": auth.resource,
            })),
            "server_stats" => self.server_stats().await,
            other => return Err(ErrorData::invalid_params(format!("no tool named {other:?}"), None)),
        };
        Ok(result.into())
    }
}

/// Middleware between the bearer layer and rmcp: a `tools/call` of a tool
/// whose scope the token lacks is answered `403 insufficient_scope` with the
/// challenge that names every scope it needs, so the client re-authorizes
/// for them (MCP authorization, "Step-Up Authorization"). A tool result
/// could not do this: it travels inside a `200`.
pub async fn step_up(State(guard): State<BearerGuard>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_MESSAGE_BYTES).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "the MCP message is too large").into_response();
    };
    let needed = scopes_needed(&bytes);
    if let (false, Some(auth)) = (needed.is_empty(), parts.extensions.get::<AuthInfo>()) {
        if let Err(challenge) = guard.step_up(&parts, auth, &needed).await {
            return challenge;
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// The extra scopes of the tools a JSON-RPC message (or batch) calls.
fn scopes_needed(message: &[u8]) -> Vec<&'static str> {
    let Ok(value) = serde_json::from_slice::<Value>(message) else { return Vec::new() };
    let calls = match &value {
        Value::Array(batch) => batch.iter().collect(),
        single => vec![single],
    };
    let mut needed = Vec::new();
    for call in calls.into_iter().filter(|m| m["method"] == "tools/call") {
        if let Some(scope) = call["params"]["name"].as_str().and_then(extra_scope) {
            if !needed.contains(&scope) {
                needed.push(scope);
            }
        }
    }
    needed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_calls_of_the_guarded_tool_need_more() {
        let call =
            |name: &str| json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name}});
        assert_eq!(scopes_needed(call("server_stats").to_string().as_bytes()), [ADMIN_SCOPE]);
        assert!(scopes_needed(call("whoami").to_string().as_bytes()).is_empty());
        let batch = json!([call("whoami"), call("server_stats"), call("server_stats")]);
        assert_eq!(scopes_needed(batch.to_string().as_bytes()), [ADMIN_SCOPE]);
        let listing = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
        assert!(scopes_needed(listing.to_string().as_bytes()).is_empty());
        assert!(scopes_needed(b"not json").is_empty());
    }
}
