//! Dynamic client registration (RFC 7591): MCP clients register themselves.

use serde::{Deserialize, Serialize};

use super::clients::secret_digest;
use super::{AuditKind, Provider};
use crate::crypto::{random_id, random_secret};
use crate::error::{ErrorCode, OAuthError};
use crate::storage::{AuthMethod, ClientOrigin, ClientRecord, Storage};
use crate::validate::{check_redirect_uri, is_displayable_name, parse_scope};

/// Most redirect URIs one registration may carry.
const MAX_REDIRECT_URIS: usize = 10;
/// Longest client name accepted.
const MAX_CLIENT_NAME: usize = 200;

/// Registration metadata (RFC 7591 §2). Unknown fields are ignored, as §2 asks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ClientMetadata {
    /// Redirect URIs; required for the authorization code grant.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// `none` (public), `client_secret_basic` (default) or `client_secret_post`.
    pub token_endpoint_auth_method: Option<String>,
    /// Defaults to `["authorization_code", "refresh_token"]`.
    pub grant_types: Option<Vec<String>>,
    /// Must be `["code"]` if present.
    pub response_types: Option<Vec<String>>,
    /// A display name.
    pub client_name: Option<String>,
    /// Space-separated scopes; defaults to every supported scope.
    pub scope: Option<String>,
}

/// The registration response (RFC 7591 §3.2.1). Holds the client secret once.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct RegisteredClient {
    /// The new client id.
    pub client_id: String,
    /// The secret, for confidential clients: shown this once, stored only as a digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// When the client was created.
    pub client_id_issued_at: u64,
    /// 0: the secret does not expire.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<u64>,
    /// Registered redirect URIs.
    pub redirect_uris: Vec<String>,
    /// The authentication method.
    pub token_endpoint_auth_method: &'static str,
    /// Allowed grant types.
    pub grant_types: Vec<String>,
    /// Always `["code"]`.
    pub response_types: Vec<&'static str>,
    /// The name, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// Allowed scopes, space-separated.
    pub scope: String,
}

impl std::fmt::Debug for RegisteredClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisteredClient")
            .field("client_id", &self.client_id)
            .field("has_secret", &self.client_secret.is_some())
            .finish_non_exhaustive()
    }
}

/// The grant types a self-registered client may hold: `authorization_code`
/// and `refresh_token` only (the default is both). Open registration exists so
/// that a user can connect a new app, after consent; `client_credentials`
/// would let anyone on the internet mint a token that stands for no user. A
/// machine client is the operator's decision: a configured client with a
/// secret (see the README, "Machine clients").
fn registrable_grant_types(requested: Option<Vec<String>>) -> Result<Vec<String>, String> {
    let grant_types =
        requested.unwrap_or_else(|| vec!["authorization_code".to_string(), "refresh_token".to_string()]);
    for grant_type in &grant_types {
        match grant_type.as_str() {
            "authorization_code" | "refresh_token" => {}
            "client_credentials" => {
                return Err("grant type \"client_credentials\" is not available through dynamic \
                            registration; ask the operator for a configured client"
                    .into())
            }
            other => return Err(format!("grant type {other:?} is not supported for this client")),
        }
    }
    // A refresh token only comes with a code: without `authorization_code`
    // the client could never obtain a token, so it is refused, not stored.
    if !grant_types.iter().any(|g| g == "authorization_code") {
        return Err("grant_types must include authorization_code".into());
    }
    Ok(grant_types)
}

impl<S: Storage> Provider<S> {
    /// Registers a client from its metadata.
    pub async fn register_client(&self, metadata: ClientMetadata) -> Result<RegisteredClient, OAuthError> {
        if !self.config.allow_dynamic_registration {
            return Err(OAuthError::new(ErrorCode::AccessDenied, "dynamic client registration is disabled"));
        }
        let bad = |why: String| OAuthError::new(ErrorCode::InvalidClientMetadata, why);
        let auth_method = match metadata.token_endpoint_auth_method.as_deref() {
            None | Some("client_secret_basic") => AuthMethod::ClientSecretBasic,
            Some("client_secret_post") => AuthMethod::ClientSecretPost,
            Some("none") => AuthMethod::None,
            Some(other) => return Err(bad(format!("token_endpoint_auth_method {other:?} is not supported"))),
        };
        let grant_types = registrable_grant_types(metadata.grant_types.clone()).map_err(bad)?;
        if let Some(types) = &metadata.response_types {
            if types.iter().any(|t| t != "code") {
                return Err(bad("only the response type \"code\" is supported".into()));
            }
        }
        let uses_code = grant_types.iter().any(|g| g == "authorization_code");
        if uses_code && metadata.redirect_uris.is_empty() {
            return Err(OAuthError::new(ErrorCode::InvalidRedirectUri, "redirect_uris is required"));
        }
        if metadata.redirect_uris.len() > MAX_REDIRECT_URIS {
            return Err(OAuthError::new(
                ErrorCode::InvalidRedirectUri,
                format!("at most {MAX_REDIRECT_URIS} redirect_uris are accepted"),
            ));
        }
        for uri in &metadata.redirect_uris {
            check_redirect_uri(uri).map_err(|why| {
                OAuthError::new(ErrorCode::InvalidRedirectUri, format!("redirect URI {why}"))
            })?;
        }
        if let Some(name) = &metadata.client_name {
            check_client_name(name)?;
        }
        let scopes = match &metadata.scope {
            None => self.scopes.clone(),
            Some(scope) => {
                let scopes = parse_scope(scope).ok_or_else(|| bad("scope is malformed".into()))?;
                if let Some(unknown) = scopes.iter().find(|s| !self.scopes.contains(s)) {
                    return Err(bad(format!("scope {unknown:?} is not supported")));
                }
                scopes
            }
        };

        let now = self.now();
        let client_id = format!("mcp_{}", random_id()?);
        let secret = match auth_method {
            AuthMethod::None => None,
            _ => Some(random_secret()?),
        };
        let record = ClientRecord {
            client_id: client_id.clone(),
            secret_digest: secret.as_deref().map(|s| secret_digest(&client_id, s)),
            redirect_uris: metadata.redirect_uris.clone(),
            scopes: scopes.clone(),
            grant_types: grant_types.clone(),
            auth_method,
            client_name: metadata.client_name.clone(),
            origin: ClientOrigin::Registered,
            issued_at: now,
            // Until its first token: a registration nobody completes is gone
            // after this, so a flood of them cannot fill the store.
            expires_at: Some(now + self.config.registration_lifetime),
        };
        self.storage.put_client(record.clone()).await?;
        self.clients.put(&record, now);
        self.audit(AuditKind::ClientRegistered, Some(&client_id), None, None);
        Ok(RegisteredClient {
            client_secret_expires_at: secret.as_ref().map(|_| 0),
            client_secret: secret,
            client_id,
            client_id_issued_at: now,
            redirect_uris: metadata.redirect_uris,
            token_endpoint_auth_method: auth_method.as_str(),
            grant_types,
            response_types: vec!["code"],
            client_name: metadata.client_name,
            scope: scopes.join(" "),
        })
    }
}

/// A `client_name` is shown on consent pages: at most [`MAX_CLIENT_NAME`]
/// characters, none of them control or bidi formatting characters (see
/// [`is_displayable_name`]), so a name cannot pass for another app's.
fn check_client_name(name: &str) -> Result<(), OAuthError> {
    if name.chars().count() > MAX_CLIENT_NAME || !is_displayable_name(name) {
        return Err(OAuthError::new(
            ErrorCode::InvalidClientMetadata,
            format!(
                "client_name must be at most {MAX_CLIENT_NAME} characters, without control or bidirectional formatting characters"
            ),
        ));
    }
    Ok(())
}
