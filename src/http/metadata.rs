//! Discovery documents: RFC 8414 authorization server metadata and RFC 9728
//! protected resource metadata, which MCP clients fetch before anything else.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, PRAGMA};
use http::{Response, StatusCode};
use serde_json::{json, Value};

use super::errors::{json_response, set_static};
use crate::provider::Provider;
use crate::storage::Storage;
use crate::uri::Uri;

/// Well-known suffix of RFC 8414 authorization server metadata.
pub(crate) const AUTHORIZATION_SERVER: &str = "/.well-known/oauth-authorization-server";
/// Well-known suffix of RFC 9728 protected resource metadata.
pub(crate) const PROTECTED_RESOURCE: &str = "/.well-known/oauth-protected-resource";

/// Client authentication methods every authenticated endpoint accepts.
const AUTH_METHODS: [&str; 3] = ["client_secret_basic", "client_secret_post", "none"];

/// The RFC 8414 document: where every endpoint is and what it supports.
pub(crate) fn authorization_server<S: Storage>(provider: &Provider<S>) -> Value {
    let config = provider.config();
    let issuer = config.issuer.trim_end_matches('/');
    let mut document = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "revocation_endpoint": format!("{issuer}/revoke"),
        "introspection_endpoint": format!("{issuer}/introspect"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "scopes_supported": provider.scopes_supported(),
        "authorization_response_iss_parameter_supported": true,
    });
    if config.allow_dynamic_registration {
        document["registration_endpoint"] = json!(format!("{issuer}/register"));
    }
    if provider.supports_metadata_documents() {
        // draft-ietf-oauth-client-id-metadata-document-01 §5: https URLs are
        // accepted as client ids and resolved from their documents.
        document["client_id_metadata_document_supported"] = json!(true);
    }
    document
}

/// The RFC 9728 document of one protected resource (the MCP server).
pub(crate) fn protected_resource<S: Storage>(provider: &Provider<S>, resource: &str) -> Value {
    json!({
        "resource": resource,
        "authorization_servers": [provider.config().issuer.trim_end_matches('/')],
        "scopes_supported": provider.scopes_supported(),
        "bearer_methods_supported": ["header"],
    })
}

/// A metadata document as a cacheable JSON response (for `HEAD`, without body).
pub(crate) fn document_response(document: &Value, head: bool) -> Response<Bytes> {
    let mut response = json_response(StatusCode::OK, document);
    response.headers_mut().remove(PRAGMA);
    set_static(&mut response, CACHE_CONTROL, "public, max-age=3600");
    if head {
        *response.body_mut() = Bytes::new();
    }
    response
}

/// The path of a URL with any trailing `/` removed (`""` for the root): the
/// part RFC 8414 §3.1 and RFC 9728 §3.1 append to the well-known prefix.
pub(crate) fn path_suffix(url: &str) -> Option<String> {
    let url = Uri::parse(url).ok()?;
    Some(url.path().trim_end_matches('/').to_string())
}

/// Where the metadata of `resource` lives (RFC 9728 §3.1): the well-known
/// prefix inserted between the host and the path. `None` if `resource` is
/// not an absolute hierarchical URL.
pub fn resource_metadata_url(resource: &str) -> Option<String> {
    let url = Uri::parse(resource).ok()?;
    let origin = url.origin()?;
    let path = url.path().trim_end_matches('/');
    let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
    Some(format!("{origin}{PROTECTED_RESOURCE}{path}{query}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_url_inserts_the_well_known_prefix() {
        assert_eq!(
            resource_metadata_url("https://mcp.example/api/mcp/").as_deref(),
            Some("https://mcp.example/.well-known/oauth-protected-resource/api/mcp")
        );
        assert_eq!(
            resource_metadata_url("http://localhost:8080").as_deref(),
            Some("http://localhost:8080/.well-known/oauth-protected-resource")
        );
        assert_eq!(resource_metadata_url("urn:example:mcp"), None);
        assert_eq!(path_suffix("https://x.example/auth/").as_deref(), Some("/auth"));
    }
}
