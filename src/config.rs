//! Provider configuration, in the seed's shape and with the seed's defaults.
//!
//! ```
//! use simply_mcp_oauth::{ClientConfig, ProviderConfig};
//!
//! let config = ProviderConfig {
//!     clients: vec![ClientConfig {
//!         client_id: "my-client".into(),
//!         client_secret: Some("my-secret".into()),
//!         redirect_uris: vec!["http://localhost:3000/callback".into()],
//!         scopes: vec!["read".into(), "write".into()],
//!     }],
//!     ..ProviderConfig::new("https://auth.example.com")
//! };
//! assert_eq!(config.token_expiration, 3600);
//! assert_eq!(config.refresh_token_expiration, 86400);
//! assert_eq!(config.code_expiration, 600);
//! config.validate().unwrap();
//! ```

use std::fmt;
use std::sync::Arc;

use crate::audit::AuditEvent;
use crate::validate::{check_redirect_uri, is_valid_resource, is_valid_scope_token};

mod rate_limits;

pub use rate_limits::{RateLimit, RateLimits};

/// Seconds an access token lives (the seed's `tokenExpiration`).
pub const DEFAULT_TOKEN_EXPIRATION: u64 = 3600;
/// Seconds a refresh token lives (the seed's `refreshTokenExpiration`).
pub const DEFAULT_REFRESH_TOKEN_EXPIRATION: u64 = 86_400;
/// Seconds the previous refresh token keeps retrying after a rotation (see
/// [`ProviderConfig::refresh_grace_seconds`]).
pub const DEFAULT_REFRESH_GRACE: u64 = 30;
/// Longest `refresh_grace_seconds` accepted: past a few minutes, a grace
/// period is a refresh token shared with whoever stole it.
pub const MAX_REFRESH_GRACE: u64 = 300;
/// Seconds an authorization code lives (the seed's `codeExpiration`).
pub const DEFAULT_CODE_EXPIRATION: u64 = 600;
/// Prefix of every storage key (the seed's `keyPrefix`).
pub const DEFAULT_KEY_PREFIX: &str = "oauth:";
/// Longest lifetime accepted for anything: ten years. Far beyond any sane
/// setting, and far below any overflow.
pub const MAX_LIFETIME: u64 = 10 * 365 * 86_400;
/// Seconds a dynamically registered client lives until it completes an
/// authorization (its first token); then it stays.
pub const DEFAULT_REGISTRATION_LIFETIME: u64 = 86_400;
/// Longest `registration_lifetime` accepted: a day, so that a flood of
/// registrations that never complete is gone within a day.
pub const MAX_REGISTRATION_LIFETIME: u64 = 86_400;

/// A client known from configuration (the seed's `clients[]` entries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// The `client_id`.
    pub client_id: String,
    /// The secret of a confidential client; `None` makes a public client that
    /// must use PKCE and authenticates with `none`.
    pub client_secret: Option<String>,
    /// Exact redirect URIs (loopback URIs match on any port, RFC 8252 §7.3).
    pub redirect_uris: Vec<String>,
    /// Scopes this client may be granted.
    pub scopes: Vec<String>,
}

/// A callback that receives audit events. It never sees a secret.
pub type AuditHook = Arc<dyn Fn(&AuditEvent) + Send + Sync>;

/// Everything the provider needs to know.
#[derive(Clone)]
pub struct ProviderConfig {
    /// The issuer identifier (RFC 8414 §2): an `https` URL (or `http` on loopback)
    /// without query or fragment. Endpoint URLs are built under it.
    pub issuer: String,
    /// The protected resource (the MCP server URL) tokens are meant for, when
    /// the client names none (RFC 8707). `None` means `<issuer>/mcp`.
    pub resource: Option<String>,
    /// Further resources a client may ask a token for.
    pub extra_resources: Vec<String>,
    /// Configured clients.
    pub clients: Vec<ClientConfig>,
    /// Scopes the server knows. `None` means the union of the clients' scopes,
    /// or `["mcp"]` when that is empty.
    pub scopes_supported: Option<Vec<String>>,
    /// Seconds an access token lives.
    pub token_expiration: u64,
    /// Seconds a refresh token lives; each rotation starts a new lifetime.
    pub refresh_token_expiration: u64,
    /// Seconds after a rotation during which the previous refresh token is
    /// still accepted and answered with the same successor, so that several
    /// processes of one MCP client refreshing at once, or a client retrying a
    /// response it lost, all get the one new token. Afterwards presenting it
    /// is reuse and revokes the grant (RFC 9700 §4.14.2). 0: no grace, the
    /// previous token is reuse at once. Default [`DEFAULT_REFRESH_GRACE`]
    /// (30 s: longer than a refresh burst or a retry after a dropped
    /// connection takes, short enough that a thief's use is caught when the
    /// client refreshes next); at most [`MAX_REFRESH_GRACE`].
    pub refresh_grace_seconds: u64,
    /// Seconds an authorization code lives.
    pub code_expiration: u64,
    /// Whether `/register` (RFC 7591) is open.
    pub allow_dynamic_registration: bool,
    /// Receives an event for each security-relevant action.
    pub audit: Option<AuditHook>,
    /// Allows metadata-document client ids on loopback hosts (`http://` or
    /// `https://` on `localhost`, `127.0.0.0/8`, `[::1]`): for local
    /// development and tests only. Off by default.
    pub cimd_allow_loopback: bool,
    /// Seconds a dynamically registered client lives until it completes an
    /// authorization (its first token is issued); then it stays. At most
    /// [`MAX_REGISTRATION_LIFETIME`], so abandoned registrations are gone
    /// within a day.
    pub registration_lifetime: u64,
    /// Request limits of `/register`, `/token` and `/authorize`, enforced by
    /// the HTTP layer's rate limiter (see [`crate::http::rate_limit`]).
    pub rate_limits: RateLimits,
}

impl ProviderConfig {
    /// A configuration with the seed's defaults and no clients.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into().trim_end_matches('/').to_string(),
            resource: None,
            extra_resources: Vec::new(),
            clients: Vec::new(),
            scopes_supported: None,
            token_expiration: DEFAULT_TOKEN_EXPIRATION,
            refresh_token_expiration: DEFAULT_REFRESH_TOKEN_EXPIRATION,
            refresh_grace_seconds: DEFAULT_REFRESH_GRACE,
            code_expiration: DEFAULT_CODE_EXPIRATION,
            allow_dynamic_registration: true,
            audit: None,
            cimd_allow_loopback: false,
            registration_lifetime: DEFAULT_REGISTRATION_LIFETIME,
            rate_limits: RateLimits::default(),
        }
    }

    /// The default protected resource.
    pub fn default_resource(&self) -> String {
        self.resource.clone().unwrap_or_else(|| format!("{}/mcp", self.issuer.trim_end_matches('/')))
    }

    /// Every resource a token may be bound to.
    pub fn resources(&self) -> Vec<String> {
        let mut all = vec![self.default_resource()];
        all.extend(self.extra_resources.iter().cloned());
        all
    }

    /// The scopes advertised and accepted.
    pub fn effective_scopes(&self) -> Vec<String> {
        if let Some(scopes) = &self.scopes_supported {
            return scopes.clone();
        }
        let mut scopes: Vec<String> = Vec::new();
        for scope in self.clients.iter().flat_map(|c| c.scopes.iter()) {
            if !scopes.contains(scope) {
                scopes.push(scope.clone());
            }
        }
        if scopes.is_empty() {
            scopes.push("mcp".to_string());
        }
        scopes
    }

    /// Checks every field; the error names the field at fault.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_issuer(&self.issuer)?;
        for (field, value) in [
            ("tokenExpiration", self.token_expiration),
            ("refreshTokenExpiration", self.refresh_token_expiration),
            ("codeExpiration", self.code_expiration),
        ] {
            if value == 0 || value > MAX_LIFETIME {
                return Err(ConfigError::new(field, format!("must be between 1 and {MAX_LIFETIME} seconds")));
            }
        }
        if self.refresh_grace_seconds > MAX_REFRESH_GRACE {
            return Err(ConfigError::new(
                "refreshGraceSeconds",
                format!("must be between 0 and {MAX_REFRESH_GRACE} seconds"),
            ));
        }
        if self.registration_lifetime == 0 || self.registration_lifetime > MAX_REGISTRATION_LIFETIME {
            return Err(ConfigError::new(
                "registrationLifetime",
                format!("must be between 1 and {MAX_REGISTRATION_LIFETIME} seconds"),
            ));
        }
        // In wasm the JS host's limiter holds its own rules (`rateLimits`).
        #[cfg(not(target_arch = "wasm32"))]
        self.rate_limits.validate()?;
        for resource in self.resources() {
            if !is_valid_resource(&resource) {
                return Err(ConfigError::new("resource", "must be an absolute URI without a fragment"));
            }
        }
        let supported = self.effective_scopes();
        for scope in &supported {
            if !is_valid_scope_token(scope) {
                return Err(ConfigError::new(
                    "scopesSupported",
                    format!("{scope:?} is not a valid scope token"),
                ));
            }
        }
        let mut seen = Vec::new();
        for (i, client) in self.clients.iter().enumerate() {
            client.validate(i, &supported)?;
            if seen.contains(&&client.client_id) {
                return Err(ConfigError::new(
                    format!("clients[{i}].clientId"),
                    format!("{:?} is configured twice", client.client_id),
                ));
            }
            seen.push(&client.client_id);
        }
        Ok(())
    }
}

impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("issuer", &self.issuer)
            .field("resource", &self.default_resource())
            .field("clients", &self.clients.len())
            .field("token_expiration", &self.token_expiration)
            .field("refresh_token_expiration", &self.refresh_token_expiration)
            .field("refresh_grace_seconds", &self.refresh_grace_seconds)
            .field("code_expiration", &self.code_expiration)
            .field("registration_lifetime", &self.registration_lifetime)
            .field("rate_limits", &self.rate_limits)
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    fn validate(&self, index: usize, supported: &[String]) -> Result<(), ConfigError> {
        let field = |name: &str| format!("clients[{index}].{name}");
        if self.client_id.is_empty() || self.client_id.len() > 255 {
            return Err(ConfigError::new(field("clientId"), "must be 1 to 255 characters"));
        }
        if self.client_id.chars().any(|c| c.is_control()) {
            return Err(ConfigError::new(field("clientId"), "must not contain control characters"));
        }
        if matches!(&self.client_secret, Some(s) if s.is_empty()) {
            return Err(ConfigError::new(field("clientSecret"), "must not be empty"));
        }
        if self.redirect_uris.is_empty() {
            return Err(ConfigError::new(field("redirectUris"), "must name at least one URI"));
        }
        for (j, uri) in self.redirect_uris.iter().enumerate() {
            if let Err(reason) = check_redirect_uri(uri) {
                return Err(ConfigError::new(format!("{}[{j}]", field("redirectUris")), reason.to_string()));
            }
        }
        for scope in &self.scopes {
            if !supported.contains(scope) {
                return Err(ConfigError::new(
                    field("scopes"),
                    format!("{scope:?} is not in scopesSupported"),
                ));
            }
        }
        Ok(())
    }
}

fn check_issuer(issuer: &str) -> Result<(), ConfigError> {
    let url = crate::uri::Uri::parse(issuer)
        .map_err(|e| ConfigError::new("issuer", format!("is not a URL: it has {e}")))?;
    let allowed = url.scheme_is("https") || (url.scheme_is("http") && url.is_loopback());
    if !allowed {
        return Err(ConfigError::new("issuer", "must use https (http only on loopback)"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::new("issuer", "must have no query or fragment"));
    }
    Ok(())
}

/// A configuration field that is wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {field} {reason}")]
pub struct ConfigError {
    /// The field, as a user writes it (`clients[0].redirectUris`).
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl ConfigError {
    /// A new error for `field`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into() }
    }
}
