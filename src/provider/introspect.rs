//! RFC 7662 introspection: what a live access or refresh token stands for.

use serde::Serialize;

use super::verify::split_token;
use super::{ClientAuth, Provider};
use crate::clock::UnixTime;
use crate::crypto::SecretDigest;
use crate::error::OAuthError;
use crate::storage::{AccessRecord, ClientOrigin, GrantRecord, Storage};

/// Which kind of token a string turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An access token.
    Access,
    /// A refresh token.
    Refresh,
}

/// An RFC 7662 §2.2 introspection answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Introspection {
    /// Whether the token is live.
    pub active: bool,
    /// Its scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Its client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Its subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Its audience.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// The issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<UnixTime>,
    /// Issue time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<UnixTime>,
    /// `access_token` or `refresh_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
}

impl<S: Storage> Provider<S> {
    /// Finds what a token string is, if it is live: an access token, or a
    /// refresh token (current or previous) of a live grant.
    async fn classify(&self, token: &str) -> Result<Option<(TokenKind, GrantOrAccess)>, OAuthError> {
        let Some((grant_id, _)) = split_token(token) else { return Ok(None) };
        let now = self.now();
        let digest = SecretDigest::of(token);
        if let Some(access) = self.storage.get_access(grant_id, &digest, now).await? {
            return Ok(Some((TokenKind::Access, GrantOrAccess::Access(access))));
        }
        let Some(grant) = self.storage.get_grant(grant_id, now).await? else { return Ok(None) };
        let is_refresh = grant.holds_refresh(&digest);
        Ok(is_refresh.then_some((TokenKind::Refresh, GrantOrAccess::Grant(grant))))
    }

    /// RFC 7662 introspection by an authenticated client. Only a configured
    /// confidential client (the operator's resource server, RFC 7662 §2.1)
    /// sees any token. Any other client sees only tokens issued to itself:
    /// a public one, since anyone can name it; a dynamically registered or
    /// metadata-document one, since anyone can create it. Another client's
    /// token reads as `{"active": false}` (RFC 7662 §2.2), as if unknown.
    pub async fn introspect(&self, auth: &ClientAuth, token: &str) -> Result<Introspection, OAuthError> {
        let caller = self.authenticate_client(auth).await?;
        let Some((kind, found)) = self.classify(token).await? else {
            return Ok(Introspection::default());
        };
        let (client_id, subject, scopes, resource, exp, iat) = match found {
            GrantOrAccess::Access(a) => {
                (a.client_id, a.subject, a.scopes, a.resource, a.expires_at, a.issued_at)
            }
            GrantOrAccess::Grant(g) => {
                (g.client_id, g.subject, g.scopes, g.resource, g.expires_at, g.created_at)
            }
        };
        let resource_server = caller.origin == ClientOrigin::Configured && caller.secret_digest.is_some();
        if !resource_server && caller.client_id != client_id {
            return Ok(Introspection::default());
        }
        Ok(Introspection {
            active: true,
            scope: Some(scopes.join(" ")),
            client_id: Some(client_id),
            sub: subject,
            aud: Some(resource),
            iss: Some(self.config.issuer.clone()),
            exp: Some(exp),
            iat: Some(iat),
            token_type: Some(match kind {
                TokenKind::Access => "access_token",
                TokenKind::Refresh => "refresh_token",
            }),
        })
    }
}

#[allow(clippy::large_enum_variant)]
enum GrantOrAccess {
    Access(AccessRecord),
    Grant(GrantRecord),
}
