//! Request limits: the HTTP layer asks a [`RateLimiter`] "may key K in
//! bucket B proceed?" before it does the work of `/register`, `/token`,
//! `/authorize`, `/introspect` and `/revoke`, and answers `429 Too Many Requests` with `Retry-After` when
//! it may not (RFC 6749-shaped JSON, `too_many_requests` as the MCP
//! TypeScript SDK's authorization server answers; on `/authorize` a page,
//! never a redirect, since the redirect URI is not trusted yet).
//!
//! The rules are [`RateLimits`] in the provider's
//! configuration. Keys: the client's address for the per-IP buckets, which
//! the host tells the HTTP layer as a [`ClientIp`] request extension (axum:
//! from `ConnectInfo`; Workers: `CF-Connecting-IP`; Deno: `remoteAddr`).
//! Nothing reads `X-Forwarded-For`: behind a proxy, the host sets the
//! address it trusts. Without a `ClientIp`, per-IP limits do not apply.
//!
//! The per-client rule of `/token` counts a request only once the client is
//! known to be the one it names, so that nobody can spend another client's
//! limit by naming its `client_id`: a confidential client after the provider
//! checked its secret (a wrong secret counts only against its address), a
//! public client, which anyone can name, after its code or refresh token
//! checked out (see `Limits::count_after`).
//!
//! Limiters: natively (feature `rate-limit`, part of `server`) [`OAuthHttp::new`]
//! installs [`KeyedRateLimiter`] (governor, in memory, per process); in
//! wasm the JS host supplies one (the package's in-memory limiter, or
//! Cloudflare's Rate Limiting binding). A limiter that cannot answer lets
//! the request through: limits protect the service, they must not stop it.
//!
//! [`OAuthHttp::new`]: super::OAuthHttp::new

#[cfg(all(feature = "rate-limit", not(target_arch = "wasm32")))]
mod keyed;
mod owed;

use std::net::IpAddr;

use bytes::Bytes;
use http::header::RETRY_AFTER;
use http::{Response, StatusCode};

use super::errors::{json_error, set_dynamic};
use super::page::page;
use crate::config::{RateLimit, RateLimits};
use crate::storage::MaybeSend;

#[cfg(all(feature = "rate-limit", not(target_arch = "wasm32")))]
pub use keyed::KeyedRateLimiter;

/// What a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// `/register`, keyed by client IP.
    RegisterPerIp,
    /// `/register` from everyone (one key).
    RegisterTotal,
    /// `/token`, keyed by client IP.
    TokenPerIp,
    /// `/token`, keyed by the `client_id` of a client that proved it is that
    /// client (its secret, or for a public client its code or refresh token).
    TokenPerClient,
    /// `/authorize`, keyed by client IP.
    AuthorizePerIp,
    /// `/introspect`, keyed by client IP.
    IntrospectPerIp,
    /// `/revoke`, keyed by client IP.
    RevokePerIp,
}

impl Bucket {
    /// Every bucket.
    pub const ALL: [Bucket; 7] = [
        Self::RegisterPerIp,
        Self::RegisterTotal,
        Self::TokenPerIp,
        Self::TokenPerClient,
        Self::AuthorizePerIp,
        Self::IntrospectPerIp,
        Self::RevokePerIp,
    ];

    /// The name of its rule (`ProviderConfig::rate_limits`; the JS `rateLimits` key).
    pub fn name(self) -> &'static str {
        match self {
            Self::RegisterPerIp => "registerPerIp",
            Self::RegisterTotal => "registerTotal",
            Self::TokenPerIp => "tokenPerIp",
            Self::TokenPerClient => "tokenPerClient",
            Self::AuthorizePerIp => "authorizePerIp",
            Self::IntrospectPerIp => "introspectPerIp",
            Self::RevokePerIp => "revokePerIp",
        }
    }

    /// Its rule in `limits`; `None`: not limited.
    pub fn rule(self, limits: &RateLimits) -> Option<RateLimit> {
        match self {
            Self::RegisterPerIp => limits.register_per_ip,
            Self::RegisterTotal => limits.register_total,
            Self::TokenPerIp => limits.token_per_ip,
            Self::TokenPerClient => limits.token_per_client,
            Self::AuthorizePerIp => limits.authorize_per_ip,
            Self::IntrospectPerIp => limits.introspect_per_ip,
            Self::RevokePerIp => limits.revoke_per_ip,
        }
    }
}

/// Refused: retry after this many seconds (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

/// Decides whether a request may proceed. Implementations hold their rules.
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
pub trait RateLimiter: MaybeSend {
    /// Counts one request of `key` in `bucket`: `Ok` to proceed, or how long
    /// to wait. A limiter that fails should answer `Ok`.
    async fn check(&self, bucket: Bucket, key: &str) -> Result<(), RetryAfter>;
}

/// The key of the per-IP limits, set by the host as a request extension.
/// IPv6 addresses count by their /64 (what one subscriber usually gets), so
/// one host cannot step around its limit through its own address range.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientIp(pub String);

impl ClientIp {
    /// The key for `ip`: IPv4 as is (also when IPv4-mapped), IPv6 as its /64.
    pub fn from_ip(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self(v4.to_string()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(v4.to_string()),
                None => {
                    let s = v6.segments();
                    Self(format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3]))
                }
            },
        }
    }
}

/// The limiter of an [`OAuthHttp`](super::OAuthHttp), if any, and the
/// address of the request at hand.
pub(crate) type Limited<'a> = (&'a Limits, Option<&'a str>);

/// The limiter of an [`OAuthHttp`](super::OAuthHttp), if any, and the
/// keys that went over a limit counted after the fact.
pub(crate) struct Limits {
    limiter: Option<Box<dyn RateLimiter>>,
    owed: owed::Owed,
}

impl Limits {
    pub(crate) fn new(
        limiter: Option<Box<dyn RateLimiter>>,
        clock: std::sync::Arc<dyn crate::clock::Clock>,
    ) -> Self {
        Self { limiter, owed: owed::Owed::new(clock) }
    }

    /// Counts `key` in `bucket`.
    pub(crate) async fn check(&self, bucket: Bucket, key: &str) -> Result<(), RetryAfter> {
        match &self.limiter {
            Some(limiter) => limiter.check(bucket, key).await,
            None => Ok(()),
        }
    }

    /// Counts the client's address in `bucket`; passes when the host named
    /// no address.
    pub(crate) async fn check_ip(&self, ip: Option<&str>, bucket: Bucket) -> Result<(), RetryAfter> {
        match ip {
            Some(ip) => self.check(bucket, ip).await,
            None => Ok(()),
        }
    }

    /// Before the work of a request that will be counted only after it
    /// succeeded ([`count_after`](Self::count_after)): refuses `key` while a
    /// request it already had served went over the limit, and once that
    /// wait is over, counts the request that went over (so a client kept at
    /// its limit gets exactly its limit, not one more per refill).
    pub(crate) async fn check_owed(&self, bucket: Bucket, key: &str) -> Result<(), RetryAfter> {
        if self.limiter.is_none() {
            return Ok(());
        }
        match self.owed.take(bucket, key)? {
            false => Ok(()),
            true => self.count_after(bucket, key).await,
        }
    }

    /// Counts a request whose work is done and cannot be taken back (a
    /// public client's code is spent): over the limit, it is still answered,
    /// and `key` owes it ([`check_owed`](Self::check_owed) refuses until
    /// the limiter's wait is over, then counts it).
    pub(crate) async fn count_after(&self, bucket: Bucket, key: &str) -> Result<(), RetryAfter> {
        let counted = self.check(bucket, key).await;
        if let Err(retry) = counted {
            self.owed.owe(bucket, key, retry);
        }
        counted
    }
}

/// The default limiter: governor's, natively with feature `rate-limit`.
#[cfg(all(feature = "rate-limit", not(target_arch = "wasm32")))]
pub(crate) fn default_limiter(
    limits: &RateLimits,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
) -> Option<Box<dyn RateLimiter>> {
    Some(Box::new(KeyedRateLimiter::with_clock(limits, clock)))
}

/// No limiter unless the host gives one (wasm: the JS host's).
#[cfg(not(all(feature = "rate-limit", not(target_arch = "wasm32"))))]
pub(crate) fn default_limiter(
    _limits: &RateLimits,
    _clock: std::sync::Arc<dyn crate::clock::Clock>,
) -> Option<Box<dyn RateLimiter>> {
    None
}

fn description(what: &str, retry: RetryAfter) -> String {
    format!("too many {what} requests; retry after {} seconds", retry.0)
}

/// `429` JSON for `/token` and `/register`, with `Retry-After`.
pub(crate) fn too_many_requests(what: &str, retry: RetryAfter) -> Response<Bytes> {
    let mut response =
        json_error(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", &description(what, retry));
    set_dynamic(&mut response, RETRY_AFTER, &retry.0.max(1).to_string());
    response
}

/// `429` page for `/authorize`, with `Retry-After`: never a redirect.
pub(crate) fn too_many_requests_page(retry: RetryAfter) -> Response<Bytes> {
    let text = description("authorization", retry);
    let advice = "Wait a little, then start again from the application that sent you here.";
    let mut response = page(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", &text, advice);
    set_dynamic(&mut response, RETRY_AFTER, &retry.0.max(1).to_string());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_by_its_64() {
        let a = ClientIp::from_ip("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = ClientIp::from_ip("2001:db8:1:2:bbbb::2".parse().unwrap());
        let c = ClientIp::from_ip("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.0, "2001:db8:1:2::/64");
        assert_eq!(ClientIp::from_ip("::ffff:192.0.2.7".parse().unwrap()).0, "192.0.2.7");
        assert_eq!(ClientIp::from_ip("192.0.2.7".parse().unwrap()).0, "192.0.2.7");
    }
}
