//! The request limits of the HTTP layer, as configuration: plain rules with
//! the defaults; [`crate::http::rate_limit`] enforces them.

#[cfg(not(target_arch = "wasm32"))]
use super::{ConfigError, MAX_LIFETIME};

/// A request limit: at most `limit` requests per `period` seconds, with
/// bursts up to `limit` (a token bucket that refills evenly over `period`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per period (and the largest burst).
    pub limit: u32,
    /// The period, in seconds.
    pub period: u64,
}

impl RateLimit {
    /// `limit` requests per `period` seconds.
    pub const fn per(limit: u32, period: u64) -> Self {
        Self { limit, period }
    }
}

/// The request limits of the HTTP layer (the JS `rateLimits`); `None`
/// turns one off. A request over a limit gets `429 too_many_requests` with
/// `Retry-After`. Per-IP limits apply when the host tells the HTTP layer the
/// client's address (see [`crate::http::ClientIp`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// `/register` per client IP (`registerPerIp`). Default 20 per hour, as
    /// the MCP TypeScript SDK's authorization server.
    pub register_per_ip: Option<RateLimit>,
    /// `/register` from everyone together (`registerTotal`): with the
    /// [`registration_lifetime`](super::ProviderConfig::registration_lifetime)
    /// it bounds what a flood from any number of addresses can leave stored:
    /// at most `limit × (1 + lifetime / period)` registrations that never
    /// complete (a first burst of `limit`, then `limit` per `period`).
    /// Default 1,000 per hour.
    pub register_total: Option<RateLimit>,
    /// `/token` per client IP (`tokenPerIp`). Default 120 per minute.
    pub token_per_ip: Option<RateLimit>,
    /// `/token` per `client_id` (`tokenPerClient`), counting only requests
    /// of a client that proved it is that client: a confidential client's
    /// once its secret checked out, a public client's once its code or
    /// refresh token did (others count per address only, so naming a
    /// client's id cannot lock it out). Default 300 per minute. A
    /// metadata-document client id is shared by every user of that
    /// application: raise it for one with many users.
    pub token_per_client: Option<RateLimit>,
    /// `/authorize` per client IP (`authorizePerIp`). Default 100 per 15
    /// minutes, as the MCP TypeScript SDK's authorization server.
    pub authorize_per_ip: Option<RateLimit>,
    /// `/introspect` per client IP (`introspectPerIp`): bounds secret
    /// guessing and the metadata fetches a URL client id causes. Default 600
    /// per minute, room for a resource server that introspects each request.
    pub introspect_per_ip: Option<RateLimit>,
    /// `/revoke` per client IP (`revokePerIp`). Default 60 per minute: a
    /// client revokes at sign-out.
    pub revoke_per_ip: Option<RateLimit>,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            register_per_ip: Some(RateLimit::per(20, 3600)),
            register_total: Some(RateLimit::per(1000, 3600)),
            token_per_ip: Some(RateLimit::per(120, 60)),
            token_per_client: Some(RateLimit::per(300, 60)),
            authorize_per_ip: Some(RateLimit::per(100, 900)),
            introspect_per_ip: Some(RateLimit::per(600, 60)),
            revoke_per_ip: Some(RateLimit::per(60, 60)),
        }
    }
}

impl RateLimits {
    /// No limits at all (benchmarks, or a gateway in front that limits).
    pub const fn off() -> Self {
        Self {
            register_per_ip: None,
            register_total: None,
            token_per_ip: None,
            token_per_client: None,
            authorize_per_ip: None,
            introspect_per_ip: None,
            revoke_per_ip: None,
        }
    }

    /// Each limit with its JS name.
    pub fn named(&self) -> [(&'static str, Option<RateLimit>); 7] {
        [
            ("registerPerIp", self.register_per_ip),
            ("registerTotal", self.register_total),
            ("tokenPerIp", self.token_per_ip),
            ("tokenPerClient", self.token_per_client),
            ("authorizePerIp", self.authorize_per_ip),
            ("introspectPerIp", self.introspect_per_ip),
            ("revokePerIp", self.revoke_per_ip),
        ]
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for (name, rule) in self.named() {
            let Some(rule) = rule else { continue };
            if rule.limit == 0 {
                return Err(ConfigError::new(format!("rateLimits.{name}.limit"), "must be at least 1"));
            }
            if rule.period == 0 || rule.period > MAX_LIFETIME {
                return Err(ConfigError::new(
                    format!("rateLimits.{name}.period"),
                    format!("must be between 1 and {MAX_LIFETIME} seconds"),
                ));
            }
        }
        Ok(())
    }
}
