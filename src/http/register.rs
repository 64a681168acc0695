//! Dynamic client registration (RFC 7591): MCP clients register themselves
//! with a JSON document and get their `client_id` (and secret) back.

use bytes::Bytes;
use http::{Request, Response, StatusCode};

use super::body;
use super::errors::{error_response, json_response};
use super::rate_limit::{too_many_requests, Bucket, Limited};
use crate::error::{ErrorCode, OAuthError};
use crate::provider::{ClientMetadata, Provider};
use crate::storage::Storage;

/// `POST /register`: `201 Created` with the client's information, never
/// cached (it holds the secret once); `403 access_denied` when registration
/// is disabled, and `429` over a limit (per client IP, then for everyone),
/// both before the body is even read.
pub(crate) async fn register<S: Storage>(
    provider: &Provider<S>,
    (limits, ip): Limited<'_>,
    request: &Request<Bytes>,
) -> Response<Bytes> {
    if !provider.config().allow_dynamic_registration {
        return error_response(&OAuthError::new(
            ErrorCode::AccessDenied,
            "dynamic client registration is disabled",
        ));
    }
    let limited = match limits.check_ip(ip, Bucket::RegisterPerIp).await {
        Ok(()) => limits.check(Bucket::RegisterTotal, "").await,
        refused => refused,
    };
    if let Err(retry) = limited {
        return too_many_requests("registration", retry);
    }
    let metadata: ClientMetadata = match body::json(request) {
        Ok(metadata) => metadata,
        Err(response) => return response,
    };
    match provider.register_client(metadata).await {
        Ok(client) => json_response(StatusCode::CREATED, &client),
        Err(error) => error_response(&error),
    }
}
