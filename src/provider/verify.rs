//! Verifying access tokens (the protected route), the token format they
//! share with codes and refresh tokens, and the answer to a token an
//! eventually consistent store does not show yet.

use std::sync::Mutex;

use serde::Serialize;
use serde_json::{Map, Value};

use super::Provider;
use crate::clock::UnixTime;
use crate::crypto::{secret_issued_at, SecretDigest};
use crate::error::{ErrorCode, OAuthError};
use crate::storage::{AccessRecord, Storage};

/// Length of a grant id: 16 random bytes in base64url.
const GRANT_ID_LEN: usize = 22;
/// Grants [`Ended`] remembers at most.
const ENDED_KEPT: usize = 256;

/// Splits `<grant id>.<secret>`; `None` for anything else.
pub(crate) fn split_token(token: &str) -> Option<(&str, &str)> {
    let (grant_id, secret) = token.split_once('.')?;
    let base64url = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (grant_id.len() == GRANT_ID_LEN && base64url(grant_id) && secret.len() == 43 && base64url(secret))
        .then_some((grant_id, secret))
}

/// The last grants this provider revoked (newest last), kept only over an
/// eventually consistent store. There a revoked token and one not visible
/// here yet both read as absent; whoever revoked it knows which, as a KV
/// location sees its own writes at once. A revocation stays true, so the
/// list needs no expiry, only a bound; past it, the time rule decides.
#[derive(Default)]
pub(crate) struct Ended(Mutex<Vec<String>>);

impl Ended {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn remember(&self, grant_id: &str) {
        let mut ended = self.lock();
        if ended.len() >= ENDED_KEPT {
            ended.remove(0);
        }
        ended.push(grant_id.to_string());
    }

    fn contains(&self, grant_id: &str) -> bool {
        self.lock().iter().any(|id| id == grant_id)
    }
}

/// What a valid access token stands for (the `auth` of the protected route).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthInfo {
    /// The client it was issued to.
    pub client_id: String,
    /// The user, if any.
    pub subject: Option<String>,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// Its audience (RFC 8707).
    pub resource: String,
    /// The props attached at consent.
    pub props: Map<String, Value>,
    /// When it expires (Unix seconds).
    pub expires_at: UnixTime,
    /// The grant it belongs to.
    pub grant_id: String,
}

impl AuthInfo {
    fn from_record(record: AccessRecord) -> Self {
        Self {
            client_id: record.client_id,
            subject: record.subject,
            scopes: record.scopes,
            resource: record.resource,
            props: record.props,
            expires_at: record.expires_at,
            grant_id: record.grant_id,
        }
    }
}

impl<S: Storage> Provider<S> {
    /// The answer to a code or token the store does not show: `refusal`, or
    /// a retryable 503 when the store is eventually consistent and the token
    /// may just not have reached this location yet, because its embedded issue
    /// time is within the store's window of now and this provider did not
    /// revoke its grant. The time decides nothing else: forging it earns a
    /// 503 while it is within the window, then the refusal.
    pub(super) fn unseen_or(&self, token: &str, refusal: OAuthError) -> OAuthError {
        let Some(window) = self.storage.consistency_window() else { return refusal };
        let Some((grant_id, secret)) = split_token(token) else { return refusal };
        let recent = secret_issued_at(secret).is_some_and(|issued| issued.abs_diff(self.now()) <= window);
        if !recent || self.ended.contains(grant_id) {
            return refusal;
        }
        OAuthError::new(
            ErrorCode::TemporarilyUnavailable,
            "this token was issued moments ago and is not visible here yet; retry shortly",
        )
    }

    /// Notes that a grant was revoked here, for [`unseen_or`](Self::unseen_or).
    pub(super) fn ended(&self, grant_id: &str) {
        if self.storage.consistency_window().is_some() {
            self.ended.remember(grant_id);
        }
    }

    /// Verifies an access token: one storage read. `invalid_token` for
    /// anything not live (a 503 for a new one an eventually consistent store
    /// does not show yet).
    pub async fn verify_access_token(&self, token: &str) -> Result<AuthInfo, OAuthError> {
        let invalid = || OAuthError::new(ErrorCode::InvalidToken, "the access token is invalid or expired");
        let (grant_id, _) = split_token(token).ok_or_else(invalid)?;
        let record = self.storage.get_access(grant_id, &SecretDigest::of(token), self.now()).await?;
        let record = record.ok_or_else(|| self.unseen_or(token, invalid()))?;
        Ok(AuthInfo::from_record(record))
    }
}
