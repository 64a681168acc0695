//! The authorization endpoint (RFC 6749 §4.1.1, OAuth 2.1 §4.1): parse and
//! check a request, then let the host app complete it after login and consent.
//!
//! Until the client and its redirect URI are trusted, every error is shown to
//! the user ([`AuthorizeError::BadRequest`]), never redirected: that is what
//! keeps the endpoint from being an open redirector. A redirect URI that
//! anyone could have registered (dynamic registration, a metadata document)
//! is not trusted for errors either, until the user has acted
//! ([`AuthorizeError::Unvetted`]; RFC 9700 §4.11.2).

use serde_json::{Map, Value};

use super::{AuditKind, Provider};
use crate::crypto::{is_valid_s256_challenge, random_id, timed_secret, SecretDigest};
use crate::error::{ErrorCode, OAuthError};
use crate::params::Params;
use crate::storage::{ClientOrigin, GrantRecord, PendingCode, Storage};
use crate::uri::Uri;
use crate::validate::{
    is_valid_resource, is_valid_state, parse_scope, redirect_uri_matches, same_resource, MAX_STATE_LEN,
};

/// A checked authorization request, waiting for the user's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    /// The client.
    pub client_id: String,
    /// Its name, for the consent page (escape it).
    pub client_name: Option<String>,
    /// The checked redirect URI.
    pub redirect_uri: String,
    /// Scopes asked for (already limited to what the client may have).
    pub scopes: Vec<String>,
    /// The client's `state`, echoed back.
    pub state: Option<String>,
    /// The PKCE S256 challenge.
    pub code_challenge: String,
    /// The resource the tokens will be for (RFC 8707).
    pub resource: String,
    /// Whether `client_id` is the URL of the client's metadata document
    /// (CIMD): the consent page should show that URL, since it is the only
    /// thing vouching for the name (draft-ietf-oauth-client-id-metadata-document-01 §6).
    pub metadata_document: bool,
    /// Whether every redirect URI of the client is loopback, so that any
    /// program on the user's machine could be the one receiving the code:
    /// the consent page should warn (MCP security considerations; RFC 8252 §8.3).
    pub loopback_only: bool,
}

/// Why an authorization request failed, and where to say so.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthorizeError {
    /// The client or redirect URI cannot be trusted: show an error page (400).
    BadRequest(OAuthError),
    /// The redirect URI is registered, but by a client nobody vetted (dynamic
    /// registration or a metadata document) and the user has not acted yet:
    /// show the error (400) with a link back to the client's site, never
    /// redirect to it, or anyone could use this server as an open
    /// redirector (RFC 9700 §4.11.2).
    Unvetted {
        /// The error.
        error: OAuthError,
        /// The origin of the redirect URI (`https://app.example`) for a link
        /// back; `None` for a private-use scheme (`com.example.app:/cb`),
        /// which a page cannot link to safely.
        site: Option<String>,
    },
    /// The operator's own (configured) client: send the error to its
    /// redirect URI (RFC 6749 §4.1.2.1).
    Redirect {
        /// The URL to redirect to (error, description, state and iss included).
        location: String,
        /// The error.
        error: OAuthError,
    },
}

impl AuthorizeError {
    /// The error itself, whichever way it is to be shown.
    pub fn error(&self) -> &OAuthError {
        match self {
            Self::BadRequest(error) | Self::Unvetted { error, .. } | Self::Redirect { error, .. } => error,
        }
    }
}

/// The user's decision, as the host app reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Approval {
    /// Who approved.
    pub subject: String,
    /// The scopes granted: `None` grants all asked for; otherwise a subset.
    pub scopes: Option<Vec<String>>,
    /// Application data handed back on every verification of the grant's tokens.
    pub props: Map<String, Value>,
}

impl<S: Storage> Provider<S> {
    /// Parses and checks an authorization request.
    pub async fn parse_authorization(&self, params: &Params) -> Result<AuthorizationRequest, AuthorizeError> {
        let page = AuthorizeError::BadRequest;
        let client_id = params.required("client_id").map_err(page)?;
        let client = self
            .known_client(client_id)
            .await
            .map_err(|error| page(as_page_error(error)))?
            .ok_or_else(|| page(OAuthError::invalid_request("unknown client_id")))?;
        let redirect_uri = params.required("redirect_uri").map_err(page)?;
        if !client.redirect_uris.iter().any(|r| redirect_uri_matches(r, redirect_uri)) {
            return Err(page(OAuthError::invalid_request("redirect_uri is not registered for this client")));
        }
        // From here on the redirect URI is the client's own; errors go back
        // to it only if the operator configured the client. An invalid state
        // is not echoed, not even in the error redirect.
        let state = params.single("state").ok().flatten().filter(|s| is_valid_state(s)).map(str::to_string);
        let refuse = |error: OAuthError| match client.origin {
            ClientOrigin::Configured => AuthorizeError::Redirect {
                location: self.error_location(redirect_uri, &error, state.as_deref()),
                error,
            },
            ClientOrigin::Registered | ClientOrigin::MetadataDocument => {
                AuthorizeError::Unvetted { error, site: web_origin(redirect_uri) }
            }
        };
        let state = params.single("state").map_err(refuse)?.map(str::to_string);
        if state.as_deref().is_some_and(|s| !is_valid_state(s)) {
            return Err(refuse(OAuthError::invalid_request(format!(
                "state must be 1 to {MAX_STATE_LEN} visible ASCII characters (RFC 6749 Appendix A.5)"
            ))));
        }
        match params.single("response_type").map_err(refuse)? {
            Some("code") => {}
            None => return Err(refuse(OAuthError::invalid_request("response_type is required"))),
            Some(_) => {
                return Err(refuse(OAuthError::new(
                    ErrorCode::UnsupportedResponseType,
                    "only response_type=code is supported",
                )))
            }
        }
        if !client.grant_types.iter().any(|g| g == "authorization_code") {
            return Err(refuse(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "this client may not use the authorization code grant",
            )));
        }
        let code_challenge = params
            .single("code_challenge")
            .map_err(refuse)?
            .ok_or_else(|| refuse(OAuthError::invalid_request("code_challenge is required (PKCE)")))?;
        match params.single("code_challenge_method").map_err(refuse)? {
            Some("S256") => {}
            _ => return Err(refuse(OAuthError::invalid_request("code_challenge_method must be S256"))),
        }
        if !is_valid_s256_challenge(code_challenge) {
            return Err(refuse(OAuthError::invalid_request(
                "code_challenge must be 43 base64url characters",
            )));
        }
        let scope = params.single("scope").map_err(refuse)?;
        let scopes = match (client.origin, scope) {
            // Anyone may register a client with every scope, so a registered
            // client's own list is its default, not a ceiling: step-up
            // (MCP's 403 insufficient_scope, then a wider request) works
            // without registering again. The user still consents to each.
            (ClientOrigin::Registered, Some(scope)) => {
                self.requested_scopes(Some(scope), &self.config.effective_scopes())
            }
            (_, scope) => self.requested_scopes(scope, &client.scopes),
        }
        .map_err(refuse)?;
        let resource = self.requested_resource(params.single("resource").map_err(refuse)?).map_err(refuse)?;
        let loopback_only = client.redirect_uris.iter().all(|r| Uri::parse(r).is_ok_and(|u| u.is_loopback()));
        Ok(AuthorizationRequest {
            metadata_document: client.origin == ClientOrigin::MetadataDocument,
            loopback_only,
            client_id: client.client_id,
            client_name: client.client_name,
            redirect_uri: redirect_uri.to_string(),
            scopes,
            state,
            code_challenge: code_challenge.to_string(),
            resource,
        })
    }

    /// Completes an approved request: stores the grant with its code and
    /// returns the URL to redirect the user to (`code`, `state`, `iss`).
    pub async fn complete_authorization(
        &self,
        request: &AuthorizationRequest,
        approval: Approval,
    ) -> Result<String, OAuthError> {
        if approval.subject.is_empty() {
            return Err(OAuthError::invalid_request("the approving subject is empty"));
        }
        let scopes = match approval.scopes {
            None => request.scopes.clone(),
            Some(granted) => {
                if let Some(extra) = granted.iter().find(|s| !request.scopes.contains(s)) {
                    return Err(OAuthError::new(
                        ErrorCode::InvalidScope,
                        format!("scope {extra:?} was not requested"),
                    ));
                }
                granted
            }
        };
        if self.known_client(&request.client_id).await?.is_none() {
            return Err(OAuthError::invalid_request("the client no longer exists"));
        }
        let now = self.now();
        let grant_id = random_id()?;
        let code = format!("{grant_id}.{}", timed_secret(now)?);
        let expires_at = now + self.config.code_expiration;
        let grant = GrantRecord {
            id: grant_id.clone(),
            client_id: request.client_id.clone(),
            subject: Some(approval.subject.clone()),
            scopes,
            resource: request.resource.clone(),
            props: approval.props,
            created_at: now,
            expires_at,
            code: Some(PendingCode {
                digest: SecretDigest::of(&code),
                redirect_uri: request.redirect_uri.clone(),
                code_challenge: request.code_challenge.clone(),
                used: false,
                expires_at,
            }),
            refresh: None,
            access_tokens: Vec::new(),
        };
        self.storage.put_grant(grant, None, now).await?;
        self.audit(
            AuditKind::AuthorizationGranted,
            Some(&request.client_id),
            Some(&approval.subject),
            Some(&grant_id),
        );
        let mut pairs = vec![("code", code.as_str())];
        if let Some(state) = &request.state {
            pairs.push(("state", state));
        }
        pairs.push(("iss", &self.config.issuer));
        Ok(append_query(&request.redirect_uri, &pairs))
    }

    /// The redirect for a user who said no (`access_denied`).
    pub fn deny_authorization(&self, request: &AuthorizationRequest) -> String {
        let error = OAuthError::new(ErrorCode::AccessDenied, "the user denied the request");
        self.error_location(&request.redirect_uri, &error, request.state.as_deref())
    }

    fn error_location(&self, redirect_uri: &str, error: &OAuthError, state: Option<&str>) -> String {
        let mut pairs =
            vec![("error", error.code.as_str()), ("error_description", error.description.as_str())];
        if let Some(state) = state {
            pairs.push(("state", state));
        }
        pairs.push(("iss", &self.config.issuer));
        append_query(redirect_uri, &pairs)
    }

    /// Scopes asked for, or all the client may have when none are named.
    pub(crate) fn requested_scopes(
        &self,
        scope: Option<&str>,
        allowed: &[String],
    ) -> Result<Vec<String>, OAuthError> {
        let Some(scope) = scope else { return Ok(allowed.to_vec()) };
        let scopes = parse_scope(scope)
            .ok_or_else(|| OAuthError::new(ErrorCode::InvalidScope, "scope is malformed"))?;
        if let Some(bad) = scopes.iter().find(|s| !allowed.contains(s)) {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                format!("scope {bad:?} is not allowed for this client"),
            ));
        }
        Ok(scopes)
    }

    /// The resource asked for (RFC 8707), or the default one.
    pub(crate) fn requested_resource(&self, resource: Option<&str>) -> Result<String, OAuthError> {
        let Some(resource) = resource else { return Ok(self.config.default_resource()) };
        if !is_valid_resource(resource) {
            return Err(OAuthError::new(
                ErrorCode::InvalidTarget,
                "resource must be an absolute URI without a fragment",
            ));
        }
        self.config
            .resources()
            .into_iter()
            .find(|known| same_resource(known, resource))
            .ok_or_else(|| OAuthError::new(ErrorCode::InvalidTarget, "unknown resource"))
    }
}

/// A client that cannot be resolved (`invalid_client`, as a metadata
/// document failure is at `/token`) is a `400` page here, with the same
/// description: the user is shown what was wrong, the client is not told.
fn as_page_error(error: OAuthError) -> OAuthError {
    if error.code == ErrorCode::InvalidClient {
        OAuthError::invalid_request(error.description)
    } else {
        error
    }
}

/// The origin of an `http(s)` redirect URI, for a link back to the client's
/// site; `None` for any other scheme.
fn web_origin(redirect_uri: &str) -> Option<String> {
    let uri = Uri::parse(redirect_uri).ok()?;
    if uri.scheme_is("https") || uri.scheme_is("http") {
        uri.origin()
    } else {
        None
    }
}

/// Appends query parameters to a URI that already passed validation, leaving
/// the rest of the string exactly as the client sent it.
fn append_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    crate::uri::append_query_pairs(uri, pairs.iter().copied())
}
