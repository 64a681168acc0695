//! A minimal MCP endpoint (Streamable HTTP, JSON responses only): enough for
//! a client to connect through OAuth, list the one tool and call it.

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use http::StatusCode;
use serde_json::{json, Value};

use axum::extract::State;

use simply_mcp_oauth::provider::AuthInfo;
use simply_mcp_oauth::server::trace::record_client_id;
use simply_mcp_oauth::server::{buffer_request, json_response, BearerGuard};

/// The MCP revision this endpoint speaks.
const PROTOCOL_VERSION: &str = "2025-06-18";

/// JSON-RPC 2.0 error codes.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;

/// `POST /mcp`: `401`/`403` for a missing, dead, foreign or under-scoped
/// token, sent after the body was read so the connection stays usable
/// ([`BearerGuard::check_request`]).
pub(super) async fn handle(State(guard): State<BearerGuard>, request: Request) -> Response {
    let (auth, request) = match guard.check_request(request).await {
        Ok(checked) => checked,
        Err(rejection) => return rejection,
    };
    record_client_id(&auth.client_id);
    let request = match buffer_request(request).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let message: Value = match serde_json::from_slice(request.body()) {
        Ok(message) => message,
        Err(_) => return rpc_error(StatusCode::BAD_REQUEST, Value::Null, PARSE_ERROR, "Parse error"),
    };
    let Some(object) = message.as_object() else {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            Value::Null,
            INVALID_REQUEST,
            "expected one JSON-RPC object",
        );
    };
    let id = object.get("id").cloned();
    let id_ok = matches!(&id, None | Some(Value::String(_)) | Some(Value::Number(_)));
    let method = object.get("method").and_then(Value::as_str);
    let (true, Some("2.0"), Some(method)) = (id_ok, object.get("jsonrpc").and_then(Value::as_str), method)
    else {
        let id = id.filter(|_| id_ok).unwrap_or(Value::Null);
        return rpc_error(StatusCode::BAD_REQUEST, id, INVALID_REQUEST, "Invalid Request");
    };
    // A notification (no id) gets no JSON-RPC answer.
    let Some(id) = id else {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::ACCEPTED;
        return response;
    };
    let params = object.get("params").cloned().unwrap_or(Value::Null);
    match call(method, &params, &auth) {
        Ok(result) => json_response(StatusCode::OK, &json!({ "jsonrpc": "2.0", "id": id, "result": result })),
        Err((code, message)) => rpc_error(StatusCode::OK, id, code, message),
    }
}

/// The methods this server knows.
fn call(method: &str, params: &Value, auth: &AuthInfo) -> Result<Value, (i64, &'static str)> {
    match method {
        "initialize" => Ok(json!({
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": { "tools": {} },
            "serverInfo": { "name": "simply-mcp-oauth-demo", "version": env!("CARGO_PKG_VERSION") },
        })),
        "ping" => Ok(json!({})),
        "tools/list" => Ok(json!({ "tools": [{
            "name": "whoami",
            "description": "Who the access token was issued to, and with which scopes.",
            "inputSchema": { "type": "object", "properties": {} },
        }]})),
        "tools/call" => match params.get("name").and_then(Value::as_str) {
            Some("whoami") => {
                let text = format!(
                    "subject: {}\nclient: {}\nscopes: {}",
                    auth.subject.as_deref().unwrap_or("(none)"),
                    auth.client_id,
                    auth.scopes.join(" ")
                );
                Ok(json!({ "content": [{ "type": "text", "text": text }], "isError": false }))
            }
            _ => Err((INVALID_PARAMS, "Unknown tool")),
        },
        _ => Err((METHOD_NOT_FOUND, "Method not found")),
    }
}

fn rpc_error(status: StatusCode, id: Value, code: i64, message: &str) -> Response {
    json_response(
        status,
        &json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } }),
    )
}
