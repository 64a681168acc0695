//! Clients: configured ones, their authentication, listing and deletion.

use super::{AuditKind, Provider};
use crate::cimd::{self, MetadataFetcher};
use crate::clock::UnixTime;
use crate::config::ClientConfig;
use crate::crypto::SecretDigest;
use crate::error::OAuthError;
use crate::storage::{AuthMethod, ClientOrigin, ClientRecord, Storage};

/// The credentials a client presented at an endpoint.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientAuth {
    /// The `client_id`.
    pub client_id: String,
    /// The secret, if one was sent.
    pub secret: Option<String>,
    /// How it was sent.
    pub method: AuthMethod,
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientAuth")
            .field("client_id", &self.client_id)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("method", &self.method)
            .finish()
    }
}

impl ClientAuth {
    /// A public client identifying itself (`none`).
    pub fn public(client_id: impl Into<String>) -> Self {
        Self { client_id: client_id.into(), secret: None, method: AuthMethod::None }
    }

    /// A confidential client with its secret in the form body.
    pub fn post(client_id: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            secret: Some(secret.into()),
            method: AuthMethod::ClientSecretPost,
        }
    }
}

/// The digest a client secret is stored as: salted with the client id, so two
/// clients configured with the same secret do not share a digest.
pub(crate) fn secret_digest(client_id: &str, secret: &str) -> SecretDigest {
    SecretDigest::salted(client_id, secret)
}

/// The stored form of a configured client.
pub(crate) fn configured_record(client: &ClientConfig, now: UnixTime) -> ClientRecord {
    let secret_digest = client.client_secret.as_deref().map(|s| secret_digest(&client.client_id, s));
    let mut grant_types = vec!["authorization_code".to_string(), "refresh_token".to_string()];
    if secret_digest.is_some() {
        grant_types.push("client_credentials".to_string());
    }
    ClientRecord {
        client_id: client.client_id.clone(),
        secret_digest,
        redirect_uris: client.redirect_uris.clone(),
        scopes: client.scopes.clone(),
        grant_types,
        auth_method: if secret_digest.is_some() { AuthMethod::ClientSecretBasic } else { AuthMethod::None },
        client_name: None,
        origin: ClientOrigin::Configured,
        issued_at: now,
        expires_at: None,
    }
}

impl<S: Storage> Provider<S> {
    /// A client by id (`None` for a registration that expired).
    pub async fn get_client(&self, client_id: &str) -> Result<Option<ClientRecord>, OAuthError> {
        Ok(self.storage.get_client(client_id).await?.filter(|c| c.is_live(self.now())))
    }

    /// Every client id (the seed's `listClients()`).
    pub async fn list_clients(&self) -> Result<Vec<String>, OAuthError> {
        Ok(self.storage.list_clients().await?)
    }

    /// Deletes a client and revokes every grant it holds.
    pub async fn delete_client(&self, client_id: &str) -> Result<bool, OAuthError> {
        self.clients.remove(client_id);
        let deleted = self.storage.delete_client(client_id, self.now()).await?;
        if deleted {
            self.audit(AuditKind::ClientDeleted, Some(client_id), None, None);
        }
        Ok(deleted)
    }

    /// Authenticates a client at the token, revocation or introspection
    /// endpoint (RFC 6749 §2.3). Confidential clients must present their
    /// secret (basic or post); public clients must present none.
    pub async fn authenticate_client(&self, auth: &ClientAuth) -> Result<ClientRecord, OAuthError> {
        let failed = |why: &str| {
            self.audit(AuditKind::ClientAuthFailed, Some(&auth.client_id), None, None);
            Err(OAuthError::invalid_client(why.to_string()))
        };
        let Some(client) = self.known_client(&auth.client_id).await? else {
            return failed("client authentication failed");
        };
        match (&client.secret_digest, &auth.secret) {
            (Some(stored), Some(secret)) => {
                if !stored.matches(&secret_digest(&client.client_id, secret)) {
                    return failed("client authentication failed");
                }
            }
            (Some(_), None) => return failed("this client must authenticate with its secret"),
            (None, Some(_)) => return failed("this public client has no secret"),
            (None, None) => {}
        }
        Ok(client)
    }

    /// A client known by id, without authentication, from the cache of
    /// recent reads when it is there (see `client_cache`). With a metadata
    /// fetcher, an id that is a metadata URL (and not a configured client's)
    /// is resolved from its document instead; a failure there is
    /// `invalid_client` with a description of what was wrong.
    pub(crate) async fn known_client(&self, client_id: &str) -> Result<Option<ClientRecord>, OAuthError> {
        if let Some(fetcher) = self.metadata_fetcher(client_id) {
            let resolved = cimd::resolve(
                fetcher,
                &self.documents,
                client_id,
                self.config.cimd_allow_loopback,
                &self.scopes,
                || self.now(),
            )
            .await;
            return match resolved {
                Ok(client) => Ok(Some(client)),
                Err(cimd::CimdError::Fetch(cimd::FetchError::Busy)) => Err(OAuthError::new(
                    crate::error::ErrorCode::TemporarilyUnavailable,
                    cimd::FetchError::Busy.to_string(),
                )),
                Err(error) => {
                    self.audit(AuditKind::ClientAuthFailed, Some(client_id), None, None);
                    Err(OAuthError::invalid_client(error.to_string()))
                }
            };
        }
        let now = self.now();
        if let Some(client) = self.clients.get(client_id, now) {
            return Ok(client.is_live(now).then_some(client));
        }
        // A registration that expired reads as absent even where the store
        // has not evicted it yet.
        let client = self.storage.get_client(client_id).await?.filter(|c| c.is_live(now));
        if let Some(client) = &client {
            self.clients.put(client, now);
        }
        Ok(client)
    }

    /// Makes a registered client that was issued its first token permanent
    /// (it had lived [`ProviderConfig::registration_lifetime`] until now).
    /// One write, once per client: a configured or already kept client costs
    /// nothing here. Best-effort: the tokens are issued already, and a failed
    /// write is tried again at the client's next token.
    ///
    /// [`ProviderConfig::registration_lifetime`]: crate::ProviderConfig::registration_lifetime
    pub(crate) async fn keep_client(&self, client: &ClientRecord) {
        if client.expires_at.is_none() || client.origin != ClientOrigin::Registered {
            return;
        }
        let kept = ClientRecord { expires_at: None, ..client.clone() };
        if self.storage.put_client(kept.clone()).await.is_ok() {
            self.clients.put(&kept, self.now());
        }
    }

    /// The fetcher to resolve `client_id` with, when it names a metadata
    /// document. Configured clients keep their ids even if they look like
    /// URLs; registered ones never do (they are `mcp_<random>`), so no
    /// stored client is shadowed and none is read from storage for a URL.
    fn metadata_fetcher(&self, client_id: &str) -> Option<&dyn MetadataFetcher> {
        let fetcher = self.fetcher.as_deref()?;
        let is_url = cimd::is_metadata_client_id(client_id, self.config.cimd_allow_loopback);
        (is_url && !self.config.clients.iter().any(|c| c.client_id == client_id)).then_some(fetcher)
    }
}

/// Whether `client` may use `grant_type`.
pub(crate) fn allows_grant(client: &ClientRecord, grant_type: &str) -> bool {
    client.grant_types.iter().any(|g| g == grant_type)
}
