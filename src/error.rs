//! The one error type the protocol speaks: an RFC 6749 §5.2 error code with a
//! human-readable description. The HTTP layer maps each code to its status once.

/// An OAuth error code (RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1, RFC 7591 §3.2.2,
/// RFC 8707 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    /// Malformed request.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// Code or refresh token invalid, expired, revoked or for another client.
    InvalidGrant,
    /// The client may not use this grant type.
    UnauthorizedClient,
    /// Unknown grant type.
    UnsupportedGrantType,
    /// Only `code` is supported.
    UnsupportedResponseType,
    /// Scope unknown or beyond what is allowed.
    InvalidScope,
    /// Resource indicator not acceptable (RFC 8707).
    InvalidTarget,
    /// The resource owner or server refused.
    AccessDenied,
    /// RFC 7009: this token type cannot be revoked.
    UnsupportedTokenType,
    /// RFC 7591: a bad redirect URI in registration.
    InvalidRedirectUri,
    /// RFC 7591: other bad registration metadata.
    InvalidClientMetadata,
    /// RFC 6750: missing, expired or revoked bearer token.
    InvalidToken,
    /// RFC 6750: the token lacks a required scope.
    InsufficientScope,
    /// The store is unreachable; retry later.
    TemporarilyUnavailable,
    /// An unexpected fault on our side.
    ServerError,
}

impl ErrorCode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::InvalidClientMetadata => "invalid_client_metadata",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::ServerError => "server_error",
        }
    }
}

/// An OAuth error: a code and a description safe to show the client (it never
/// contains a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {description}", code.as_str())]
pub struct OAuthError {
    /// The code.
    pub code: ErrorCode,
    /// Why, for the developer reading the response.
    pub description: String,
}

impl OAuthError {
    /// A new error.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self { code, description: description.into() }
    }

    /// `invalid_request` with a description.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    /// `invalid_grant` with a description.
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    /// `invalid_client` with a description.
    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidClient, description)
    }
}

impl From<crate::crypto::RandomnessError> for OAuthError {
    fn from(_: crate::crypto::RandomnessError) -> Self {
        Self::new(ErrorCode::ServerError, "no randomness available")
    }
}
