//! `Arc<S>` is a store too, so one store can serve a provider and, say, a
//! health endpoint or the JS object that created it; `Arc<dyn Storage>` lets
//! the wasm bindings pick a backend at run time.

use std::sync::Arc;

use super::*;

#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
impl<T: Storage + ?Sized> Storage for Arc<T> {
    async fn put_client(&self, client: ClientRecord) -> Result<(), StorageError> {
        (**self).put_client(client).await
    }
    async fn get_client(&self, client_id: &str) -> Result<Option<ClientRecord>, StorageError> {
        (**self).get_client(client_id).await
    }
    async fn delete_client(&self, client_id: &str, now: UnixTime) -> Result<bool, StorageError> {
        (**self).delete_client(client_id, now).await
    }
    async fn list_clients(&self) -> Result<Vec<String>, StorageError> {
        (**self).list_clients().await
    }
    async fn put_grant(
        &self,
        grant: GrantRecord,
        access: Option<NewAccess>,
        now: UnixTime,
    ) -> Result<(), StorageError> {
        (**self).put_grant(grant, access, now).await
    }
    async fn get_grant(&self, grant_id: &str, now: UnixTime) -> Result<Option<GrantRecord>, StorageError> {
        (**self).get_grant(grant_id, now).await
    }
    async fn consume_code(
        &self,
        grant_id: &str,
        code_digest: &SecretDigest,
        expect: &CodeExpectation,
        redemption: Redemption,
        now: UnixTime,
    ) -> Result<CodeOutcome, StorageError> {
        (**self).consume_code(grant_id, code_digest, expect, redemption, now).await
    }
    async fn get_access(
        &self,
        grant_id: &str,
        digest: &SecretDigest,
        now: UnixTime,
    ) -> Result<Option<AccessRecord>, StorageError> {
        (**self).get_access(grant_id, digest, now).await
    }
    async fn rotate_refresh(
        &self,
        grant_id: &str,
        client_id: &str,
        presented: &SecretDigest,
        rotation: Rotation,
        now: UnixTime,
    ) -> Result<RotateOutcome, StorageError> {
        (**self).rotate_refresh(grant_id, client_id, presented, rotation, now).await
    }
    async fn revoke_grant(&self, grant_id: &str) -> Result<bool, StorageError> {
        (**self).revoke_grant(grant_id).await
    }
    async fn revoke_token(
        &self,
        grant_id: &str,
        client_id: &str,
        digest: &SecretDigest,
        now: UnixTime,
    ) -> Result<Option<GrantRecord>, StorageError> {
        (**self).revoke_token(grant_id, client_id, digest, now).await
    }
    async fn list_grants(&self, subject: &str, now: UnixTime) -> Result<Vec<GrantRecord>, StorageError> {
        (**self).list_grants(subject, now).await
    }
    async fn stats(&self, now: UnixTime) -> Result<StorageStats, StorageError> {
        (**self).stats(now).await
    }
    async fn health(&self) -> HealthCheck {
        (**self).health().await
    }
    fn consistency_window(&self) -> Option<u64> {
        (**self).consistency_window()
    }
    async fn sweep(&self, now: UnixTime) -> Result<u64, StorageError> {
        (**self).sweep(now).await
    }
}
