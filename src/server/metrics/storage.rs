//! A store wrapper counting failed operations.

use std::sync::Arc;

use super::Metrics;
use crate::clock::UnixTime;
use crate::crypto::SecretDigest;
use crate::storage::{
    AccessRecord, ClientRecord, CodeExpectation, CodeOutcome, GrantRecord, HealthCheck, NewAccess,
    Redemption, RotateOutcome, Rotation, Storage, StorageError, StorageStats,
};

/// `inner`, with each failed operation counted in [`Metrics`] (by kind of
/// error) and logged (`warn`, with the operation; storage errors name keys,
/// which hold digests, never secrets). Answers are unchanged.
pub struct MeteredStorage<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S> MeteredStorage<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }

    fn count<T>(&self, operation: &'static str, result: Result<T, StorageError>) -> Result<T, StorageError> {
        if let Err(error) = &result {
            self.metrics.record_storage_error(error);
            tracing::warn!(operation, %error, "storage error");
        }
        result
    }
}

#[async_trait::async_trait]
impl<S: Storage> Storage for MeteredStorage<S> {
    async fn put_client(&self, client: ClientRecord) -> Result<(), StorageError> {
        self.count("put_client", self.inner.put_client(client).await)
    }

    async fn get_client(&self, client_id: &str) -> Result<Option<ClientRecord>, StorageError> {
        self.count("get_client", self.inner.get_client(client_id).await)
    }

    async fn delete_client(&self, client_id: &str, now: UnixTime) -> Result<bool, StorageError> {
        self.count("delete_client", self.inner.delete_client(client_id, now).await)
    }

    async fn list_clients(&self) -> Result<Vec<String>, StorageError> {
        self.count("list_clients", self.inner.list_clients().await)
    }

    async fn put_grant(
        &self,
        grant: GrantRecord,
        access: Option<NewAccess>,
        now: UnixTime,
    ) -> Result<(), StorageError> {
        self.count("put_grant", self.inner.put_grant(grant, access, now).await)
    }

    async fn get_grant(&self, grant_id: &str, now: UnixTime) -> Result<Option<GrantRecord>, StorageError> {
        self.count("get_grant", self.inner.get_grant(grant_id, now).await)
    }

    async fn consume_code(
        &self,
        grant_id: &str,
        code_digest: &SecretDigest,
        expect: &CodeExpectation,
        redemption: Redemption,
        now: UnixTime,
    ) -> Result<CodeOutcome, StorageError> {
        let result = self.inner.consume_code(grant_id, code_digest, expect, redemption, now).await;
        self.count("consume_code", result)
    }

    async fn get_access(
        &self,
        grant_id: &str,
        digest: &SecretDigest,
        now: UnixTime,
    ) -> Result<Option<AccessRecord>, StorageError> {
        self.count("get_access", self.inner.get_access(grant_id, digest, now).await)
    }

    async fn rotate_refresh(
        &self,
        grant_id: &str,
        client_id: &str,
        presented: &SecretDigest,
        rotation: Rotation,
        now: UnixTime,
    ) -> Result<RotateOutcome, StorageError> {
        let result = self.inner.rotate_refresh(grant_id, client_id, presented, rotation, now).await;
        self.count("rotate_refresh", result)
    }

    async fn revoke_grant(&self, grant_id: &str) -> Result<bool, StorageError> {
        self.count("revoke_grant", self.inner.revoke_grant(grant_id).await)
    }

    async fn revoke_token(
        &self,
        grant_id: &str,
        client_id: &str,
        digest: &SecretDigest,
        now: UnixTime,
    ) -> Result<Option<GrantRecord>, StorageError> {
        self.count("revoke_token", self.inner.revoke_token(grant_id, client_id, digest, now).await)
    }

    async fn list_grants(&self, subject: &str, now: UnixTime) -> Result<Vec<GrantRecord>, StorageError> {
        self.count("list_grants", self.inner.list_grants(subject, now).await)
    }

    async fn stats(&self, now: UnixTime) -> Result<StorageStats, StorageError> {
        self.count("stats", self.inner.stats(now).await)
    }

    async fn health(&self) -> HealthCheck {
        self.inner.health().await
    }

    fn consistency_window(&self) -> Option<u64> {
        self.inner.consistency_window()
    }

    async fn sweep(&self, now: UnixTime) -> Result<u64, StorageError> {
        self.count("sweep", self.inner.sweep(now).await)
    }
}
