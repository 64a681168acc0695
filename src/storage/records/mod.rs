//! What storage holds, and the pure state transitions on it.
//!
//! A grant (one client's consent for one subject) owns its authorization code,
//! its refresh-token chain and its access tokens. Every atomic storage
//! operation is a transition on one grant, written here once as a plain
//! function; each backend only supplies the atomicity (a lock for memory, one
//! Lua script for Redis, a compare-and-swap for a key-value host).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::clock::UnixTime;
use crate::crypto::SecretDigest;

/// How a client authenticates at the token endpoint (RFC 7591 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// HTTP Basic with the client id and secret.
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// A public client: no secret, PKCE required.
    None,
}

impl AuthMethod {
    /// The RFC 7591 name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
        }
    }
}

/// Where a client came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientOrigin {
    /// From `ProviderConfig::clients`.
    Configured,
    /// From dynamic registration (RFC 7591).
    Registered,
    /// From a Client ID Metadata Document fetched from the `client_id` URL
    /// (draft-ietf-oauth-client-id-metadata-document). Never stored: the
    /// document is the source of truth, cached in memory within its HTTP
    /// cache lifetime (see `cimd::cache`).
    MetadataDocument,
}

/// A registered OAuth client. The secret is kept only as a salted digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRecord {
    /// The `client_id`.
    pub client_id: String,
    /// Salted SHA-256 of the secret (salt: the client id); `None` for public clients.
    pub secret_digest: Option<SecretDigest>,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Scopes this client may be granted.
    pub scopes: Vec<String>,
    /// Grant types it may use (`authorization_code`, `refresh_token`, `client_credentials`).
    pub grant_types: Vec<String>,
    /// Its token endpoint authentication method.
    pub auth_method: AuthMethod,
    /// A human-readable name (shown on the consent page, escaped).
    pub client_name: Option<String>,
    /// Configured, registered or described by a metadata document.
    pub origin: ClientOrigin,
    /// When it was created; a record that expires is written at this time,
    /// so stores derive its TTL from `expires_at - issued_at`.
    pub issued_at: UnixTime,
    /// Until when a registered client that has not completed an
    /// authorization yet exists; `None` (configured clients, and registered
    /// ones once their first token was issued): for good.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<UnixTime>,
}

impl ClientRecord {
    /// Whether the client still exists at `now`.
    pub fn is_live(&self, now: UnixTime) -> bool {
        self.expires_at.is_none_or(|at| now < at)
    }

    /// Seconds the store keeps the record, counted from its `issued_at`;
    /// `None`: no TTL.
    pub fn ttl(&self) -> Option<u64> {
        self.expires_at.map(|at| at.saturating_sub(self.issued_at).max(1))
    }
}

/// An authorization code waiting for its exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCode {
    /// Digest of the code.
    pub digest: SecretDigest,
    /// The redirect URI of the authorization request, to be repeated at exchange.
    pub redirect_uri: String,
    /// The PKCE S256 challenge.
    pub code_challenge: String,
    /// Set once the code has been exchanged; a second use is a replay.
    pub used: bool,
    /// When the code stops being exchangeable.
    pub expires_at: UnixTime,
}

/// The refresh-token chain of a grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshChain {
    /// Digest of the refresh token to use next.
    pub current: SecretDigest,
    /// Digest of the token `current` was derived from: accepted again (and
    /// answered with the same successor) for the grace period after
    /// `rotated_at`, as long as `current` is unused; after it, presenting it
    /// is reuse (RFC 9700 §4.14.2).
    pub previous: Option<SecretDigest>,
    /// When `current` was issued (by the rotation that made `previous` the
    /// previous token). Records written before this field existed read 0:
    /// their previous token's grace is long over, so presenting it is reuse,
    /// as it would be after any rotation of today's.
    #[serde(default)]
    pub rotated_at: UnixTime,
    /// Salt that derived `current` from `previous`.
    pub salt: String,
    /// Digests of older tokens, newest last; presenting one is reuse.
    pub retired: Vec<SecretDigest>,
    /// Number of rotations so far.
    pub generation: u64,
}

/// How many retired refresh digests a grant remembers for reuse detection.
pub const RETIRED_REFRESH_KEPT: usize = 16;

/// An access token of a grant, as the grant remembers it for cascading revocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedAccess {
    /// Digest of the token.
    pub digest: SecretDigest,
    /// When it expires.
    pub expires_at: UnixTime,
}

/// One client's authorization for one subject: the unit of revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRecord {
    /// Random id; also the prefix of every token of the grant.
    pub id: String,
    /// The client.
    pub client_id: String,
    /// The resource owner; `None` for `client_credentials`.
    pub subject: Option<String>,
    /// Scopes granted.
    pub scopes: Vec<String>,
    /// The resource (RFC 8707) tokens of this grant are for.
    pub resource: String,
    /// Application data attached at consent, handed back on every verification.
    pub props: Map<String, Value>,
    /// When consent was given.
    pub created_at: UnixTime,
    /// When the grant ends unless renewed: the code's expiry while pending,
    /// then the current refresh token's (or the access token's without refresh).
    pub expires_at: UnixTime,
    /// The authorization code, kept after use to detect replays.
    pub code: Option<PendingCode>,
    /// The refresh chain, once tokens are issued with refresh.
    pub refresh: Option<RefreshChain>,
    /// Live access tokens.
    pub access_tokens: Vec<IssuedAccess>,
}

/// What a verified access token stands for; stored under the token's digest so
/// that verification is one read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRecord {
    /// The grant it belongs to.
    pub grant_id: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The resource owner, if any.
    pub subject: Option<String>,
    /// Its scopes (possibly fewer than the grant's).
    pub scopes: Vec<String>,
    /// Its audience (RFC 8707).
    pub resource: String,
    /// The grant's props.
    pub props: Map<String, Value>,
    /// When it was issued.
    pub issued_at: UnixTime,
    /// When it expires.
    pub expires_at: UnixTime,
}

/// A new access token to store along with a grant transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAccess {
    /// Digest of the token.
    pub digest: SecretDigest,
    /// What it stands for.
    pub record: AccessRecord,
}

/// What the token request must agree with for a code to be redeemed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeExpectation {
    /// The authenticated client.
    pub client_id: String,
    /// The `redirect_uri` of the token request.
    pub redirect_uri: String,
    /// S256 of the presented `code_verifier`.
    pub code_challenge: String,
    /// The `resource` of the token request, if any (RFC 8707 §2.2).
    pub resource: Option<String>,
}

/// The tokens to issue when a code is redeemed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redemption {
    /// Digest of the new access token.
    pub access_digest: SecretDigest,
    /// When it expires.
    pub access_expires_at: UnixTime,
    /// Digest of the first refresh token, if the client may refresh.
    pub refresh: Option<SecretDigest>,
    /// The grant's new expiry (the refresh token's, or the access token's).
    pub grant_expires_at: UnixTime,
}

/// Result of [`Storage::consume_code`](crate::storage::Storage::consume_code).
// Built once per token request and matched at once: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CodeOutcome {
    /// Redeemed: the grant as it now stands and the access token stored with it.
    Redeemed(GrantRecord, AccessRecord),
    /// No such code (or grant), or it expired: nothing changed.
    NotFound,
    /// The request did not match the code (client, redirect URI or PKCE): nothing changed.
    Mismatch,
    /// The token request named another resource than the authorization request: nothing changed.
    ResourceMismatch,
    /// The code was used before: the grant and all its tokens are revoked.
    Replayed,
}

/// A proposed rotation of a grant's refresh token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotation {
    /// Digest of the successor derived from the presented token and `salt`.
    pub successor: SecretDigest,
    /// The salt used.
    pub salt: String,
    /// Digest of the access token issued with it.
    pub access_digest: SecretDigest,
    /// When that access token expires.
    pub access_expires_at: UnixTime,
    /// The grant's new expiry.
    pub grant_expires_at: UnixTime,
    /// Narrower scopes for the new access token (RFC 6749 §6); `None` keeps the grant's.
    pub scopes: Option<Vec<String>>,
    /// The `resource` of the request, if any.
    pub resource: Option<String>,
    /// Seconds after a rotation during which the previous token still
    /// retries (`ProviderConfig::refresh_grace_seconds`); 0: never.
    pub grace_seconds: u64,
}

/// Result of [`Storage::rotate_refresh`](crate::storage::Storage::rotate_refresh).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RotateOutcome {
    /// The presented token was current: the chain moved on to the proposed successor.
    Rotated(GrantRecord, AccessRecord),
    /// The presented token was the previous one, within the grace period and
    /// with its successor unused: the answer is the same successor (derive it
    /// again from the chain's salt); only the new access token was stored.
    Retried(GrantRecord, AccessRecord),
    /// Unknown token, expired grant, or a client other than the grant's: nothing changed.
    NotFound,
    /// Scopes beyond the grant's were asked for: nothing changed.
    ScopeExceeded,
    /// Another resource than the grant's was asked for: nothing changed.
    ResourceMismatch,
    /// A retired token, or the previous one after its grace period: the
    /// grant and all its tokens are revoked.
    Reused,
}

impl GrantRecord {
    /// Whether the grant still exists at `now`.
    pub fn is_live(&self, now: UnixTime) -> bool {
        self.expires_at > now
    }

    /// The access record of a new token of this grant.
    pub fn access_record(
        &self,
        scopes: &[String],
        issued_at: UnixTime,
        expires_at: UnixTime,
    ) -> AccessRecord {
        AccessRecord {
            grant_id: self.id.clone(),
            client_id: self.client_id.clone(),
            subject: self.subject.clone(),
            scopes: scopes.to_vec(),
            resource: self.resource.clone(),
            props: self.props.clone(),
            issued_at,
            expires_at,
        }
    }

    fn issue_access(
        &mut self,
        digest: SecretDigest,
        scopes: &[String],
        now: UnixTime,
        expires_at: UnixTime,
    ) -> AccessRecord {
        self.access_tokens.retain(|a| a.expires_at > now);
        self.access_tokens.push(IssuedAccess { digest, expires_at });
        self.access_record(scopes, now, expires_at)
    }

    fn resource_agrees(&self, asked: Option<&str>) -> bool {
        asked.is_none_or(|r| r.trim_end_matches('/') == self.resource.trim_end_matches('/'))
    }

    /// The code-redemption transition: exactly one redemption; a second
    /// presentation of a used code answers [`CodeOutcome::Replayed`], on which
    /// the store revokes the grant.
    pub fn redeem_code(
        &mut self,
        code_digest: &SecretDigest,
        expect: &CodeExpectation,
        redemption: &Redemption,
        now: UnixTime,
    ) -> CodeOutcome {
        let Some(code) = self.code.as_ref() else { return CodeOutcome::NotFound };
        if !code.digest.matches(code_digest) {
            return CodeOutcome::NotFound;
        }
        if code.used {
            return CodeOutcome::Replayed;
        }
        if code.expires_at <= now || !self.is_live(now) {
            return CodeOutcome::NotFound;
        }
        let agrees = self.client_id == expect.client_id
            && code.redirect_uri == expect.redirect_uri
            && crate::crypto::constant_time_eq(&code.code_challenge, &expect.code_challenge);
        if !agrees {
            return CodeOutcome::Mismatch;
        }
        if !self.resource_agrees(expect.resource.as_deref()) {
            return CodeOutcome::ResourceMismatch;
        }
        if let Some(code) = self.code.as_mut() {
            code.used = true;
        }
        self.refresh = redemption.refresh.map(|first| RefreshChain {
            current: first,
            previous: None,
            rotated_at: now,
            salt: String::new(),
            retired: Vec::new(),
            generation: 0,
        });
        self.expires_at = redemption.grant_expires_at;
        let scopes = self.scopes.clone();
        let access = self.issue_access(redemption.access_digest, &scopes, now, redemption.access_expires_at);
        CodeOutcome::Redeemed(self.clone(), access)
    }

    /// The refresh-rotation transition (design §3): the current token rotates;
    /// the previous one retries (same successor) while
    /// `now < rotated_at + grace_seconds`, and is reuse from then on; a
    /// retired one is reuse. On reuse the store revokes the grant
    /// (RFC 9700 §4.14.2).
    pub fn rotate_refresh(
        &mut self,
        client_id: &str,
        presented: &SecretDigest,
        rotation: &Rotation,
        now: UnixTime,
    ) -> RotateOutcome {
        if !self.is_live(now) || self.client_id != client_id {
            return RotateOutcome::NotFound;
        }
        let Some(chain) = self.refresh.as_ref() else { return RotateOutcome::NotFound };
        let is_current = chain.current.matches(presented);
        let is_previous = chain.previous.is_some_and(|p| p.matches(presented));
        if is_previous && now >= chain.rotated_at.saturating_add(rotation.grace_seconds) {
            return RotateOutcome::Reused;
        }
        if !is_current && !is_previous {
            if chain.retired.iter().any(|r| r.matches(presented)) {
                return RotateOutcome::Reused;
            }
            return RotateOutcome::NotFound;
        }
        let scopes = match &rotation.scopes {
            None => self.scopes.clone(),
            Some(asked) if asked.iter().all(|s| self.scopes.contains(s)) => asked.clone(),
            Some(_) => return RotateOutcome::ScopeExceeded,
        };
        if !self.resource_agrees(rotation.resource.as_deref()) {
            return RotateOutcome::ResourceMismatch;
        }
        if is_current {
            if let Some(chain) = self.refresh.as_mut() {
                if let Some(old) = chain.previous.take() {
                    chain.retired.push(old);
                    let excess = chain.retired.len().saturating_sub(RETIRED_REFRESH_KEPT);
                    chain.retired.drain(..excess);
                }
                chain.previous = Some(chain.current);
                chain.rotated_at = now;
                chain.current = rotation.successor;
                chain.salt = rotation.salt.clone();
                chain.generation += 1;
            }
            self.expires_at = rotation.grant_expires_at;
        }
        let access = self.issue_access(rotation.access_digest, &scopes, now, rotation.access_expires_at);
        if is_current {
            RotateOutcome::Rotated(self.clone(), access)
        } else {
            RotateOutcome::Retried(self.clone(), access)
        }
    }

    /// Whether `digest` is the grant's current or previous refresh token (the
    /// two a client may still hold; RFC 7009 revocation accepts either).
    pub fn holds_refresh(&self, digest: &SecretDigest) -> bool {
        self.refresh.as_ref().is_some_and(|chain| {
            chain.current.matches(digest) || chain.previous.is_some_and(|p| p.matches(digest))
        })
    }

    /// Digests of every access token the grant has issued and not seen expire.
    pub fn access_digests(&self) -> impl Iterator<Item = &SecretDigest> {
        self.access_tokens.iter().map(|a| &a.digest)
    }
}

impl AccessRecord {
    /// Whether the token is still valid at `now`.
    pub fn is_live(&self, now: UnixTime) -> bool {
        self.expires_at > now
    }

    /// Whether this record answers a lookup of a token of `grant_id` at
    /// `now`: live, and of that grant (a token's key names its grant).
    pub fn answers(&self, grant_id: &str, now: UnixTime) -> bool {
        self.grant_id == grant_id && self.is_live(now)
    }
}

#[cfg(test)]
mod tests;
