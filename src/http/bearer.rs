//! The resource side: bearer tokens on requests to the MCP server (RFC 6750)
//! and the challenge that points clients to the metadata (RFC 9728 §5.1).
//! Tokens without a user (`client_credentials`) pass only where the route
//! opts in ([`MachineClients`]).

use bytes::Bytes;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, Response, StatusCode};

use super::errors::{error_response, error_with_status, quoted_string_safe, set_dynamic};
use super::metadata::resource_metadata_url;
use crate::error::{ErrorCode, OAuthError};
use crate::provider::{AuthInfo, Provider};
use crate::storage::Storage;
use crate::validate::same_resource;

/// The scope that asks for refresh tokens (OpenID Connect Core §11); a
/// resource never asks for it in a challenge.
const OFFLINE_ACCESS: &str = "offline_access";

/// Longest `Authorization` header value considered.
const MAX_AUTHORIZATION_LEN: usize = 8192;

/// What the `Authorization` header of a request holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Credential {
    /// No bearer credentials (none at all, or another scheme).
    Missing,
    /// A `Bearer` header that is not a well-formed token.
    Malformed(&'static str),
    /// A syntactically valid bearer token.
    Token(String),
}

/// Reads the bearer token; the scheme is case-insensitive (RFC 7235 §2.1).
pub(crate) fn credential(headers: &HeaderMap) -> Credential {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => return Credential::Missing,
        (Some(value), None) => value,
        (Some(_), Some(_)) => return Credential::Malformed("only one Authorization header is allowed"),
    };
    if value.len() > MAX_AUTHORIZATION_LEN {
        return Credential::Malformed("the Authorization header is too long");
    }
    let Ok(value) = value.to_str() else {
        return Credential::Malformed("the Authorization header is not ASCII");
    };
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Credential::Missing;
    }
    let token = rest.trim_start_matches(' ');
    if token.is_empty() {
        return Credential::Malformed("the Bearer token is missing");
    }
    if !is_b64token(token) {
        return Credential::Malformed("the Bearer token is malformed");
    }
    Credential::Token(token.to_string())
}

/// RFC 6750 §2.1: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/'))
}

/// Whether a protected route accepts tokens that stand for no user: those of
/// the `client_credentials` grant (MCP's client-credentials extension,
/// SEP-1046). A user's resource must never be reached by one by accident, so
/// routes refuse them unless they opt in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MachineClients {
    /// Only tokens a user approved (the default).
    #[default]
    Refused,
    /// Tokens without a user too, for routes built for machine clients.
    Allowed,
}

/// Checks a credential against `resource` and `required_scopes`; the `Err`
/// is the response to send.
pub(crate) async fn authenticate<S: Storage>(
    provider: &Provider<S>,
    credential: Credential,
    resource: &str,
    required_scopes: &[String],
    machines: MachineClients,
) -> Result<AuthInfo, Response<Bytes>> {
    let metadata = resource_metadata_url(resource);
    // Every challenge names the scopes the route needs (MCP authorization,
    // "Protected Resource Metadata Discovery"), never `offline_access`:
    // refresh tokens are the authorization server's business, not a route's.
    // A route that lists it is not refused for it either.
    let needed: Vec<&str> =
        required_scopes.iter().map(String::as_str).filter(|s| *s != OFFLINE_ACCESS).collect();
    let scope = (!needed.is_empty()).then(|| needed.join(" "));
    let challenge = |error: Option<&OAuthError>| challenge(metadata.as_deref(), error, scope.as_deref());
    let token = match credential {
        Credential::Missing => {
            let error = OAuthError::new(ErrorCode::InvalidToken, "a bearer token is required");
            return Err(with_challenge(error_response(&error), &challenge(None)));
        }
        Credential::Malformed(why) => {
            let error = OAuthError::invalid_request(why);
            let response = error_with_status(StatusCode::BAD_REQUEST, &error);
            return Err(with_challenge(response, &challenge(Some(&error))));
        }
        Credential::Token(token) => token,
    };
    let info = match provider.verify_access_token(&token).await {
        Ok(info) => info,
        Err(error) if error.code == ErrorCode::InvalidToken => {
            return Err(with_challenge(error_response(&error), &challenge(Some(&error))));
        }
        Err(error) => return Err(error_response(&error)),
    };
    if !same_resource(&info.resource, resource) {
        let error = OAuthError::new(
            ErrorCode::InvalidToken,
            "the access token was issued for another resource (audience)",
        );
        return Err(with_challenge(error_response(&error), &challenge(Some(&error))));
    }
    // A valid token of the wrong kind: 403, as for a missing scope (RFC 6750
    // §3.1). A 401 would tell the client to fetch another token, and the
    // client_credentials grant would hand it the same kind again.
    if info.subject.is_none() && machines == MachineClients::Refused {
        let error = OAuthError::new(
            ErrorCode::InsufficientScope,
            "this resource needs a token a user approved; tokens of the client_credentials grant are not accepted",
        );
        return Err(with_challenge(error_response(&error), &challenge(Some(&error))));
    }
    if let Some(missing) = needed.iter().find(|s| !info.scopes.iter().any(|held| held == *s)) {
        let error = OAuthError::new(
            ErrorCode::InsufficientScope,
            format!("the access token lacks the scope {}", quoted_string_safe(missing)),
        );
        return Err(with_challenge(error_response(&error), &challenge(Some(&error))));
    }
    Ok(info)
}

/// `Bearer resource_metadata="…"[, error="…", error_description="…"][, scope="…"]`.
/// Without an error attribute when no credentials were sent (RFC 6750 §3.1).
fn challenge(metadata: Option<&str>, error: Option<&OAuthError>, scope: Option<&str>) -> String {
    let mut params: Vec<String> = Vec::new();
    if let Some(url) = metadata {
        params.push(format!("resource_metadata=\"{}\"", quoted_string_safe(url)));
    }
    if let Some(error) = error {
        params.push(format!("error=\"{}\"", error.code.as_str()));
        params.push(format!("error_description=\"{}\"", quoted_string_safe(&error.description)));
    }
    if let Some(scope) = scope {
        params.push(format!("scope=\"{}\"", quoted_string_safe(scope)));
    }
    if params.is_empty() {
        "Bearer".to_string()
    } else {
        format!("Bearer {}", params.join(", "))
    }
}

fn with_challenge(mut response: Response<Bytes>, challenge: &str) -> Response<Bytes> {
    // The challenge holds only printable ASCII (see `quoted_string_safe`).
    set_dynamic(&mut response, WWW_AUTHENTICATE, challenge);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn reads_bearer_tokens() {
        assert_eq!(credential(&headers(&[])), Credential::Missing);
        assert_eq!(credential(&headers(&["Basic abc"])), Credential::Missing);
        assert_eq!(credential(&headers(&["bEaReR abc.def"])), Credential::Token("abc.def".into()));
        assert!(matches!(credential(&headers(&["Bearer"])), Credential::Malformed(_)));
        assert!(matches!(credential(&headers(&["Bearer a b"])), Credential::Malformed(_)));
        assert!(matches!(credential(&headers(&["Bearer ="])), Credential::Malformed(_)));
        assert!(matches!(credential(&headers(&["Bearer a", "Bearer b"])), Credential::Malformed(_)));
    }

    #[test]
    fn challenge_format() {
        assert_eq!(challenge(Some("https://x/m"), None, None), "Bearer resource_metadata=\"https://x/m\"");
        let e = OAuthError::new(ErrorCode::InsufficientScope, "needs \"write\"");
        assert_eq!(
            challenge(None, Some(&e), Some("read write")),
            "Bearer error=\"insufficient_scope\", error_description=\"needs ?write?\", scope=\"read write\""
        );
    }
}
