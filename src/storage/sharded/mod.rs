//! `ShardedStorage`: the [`Storage`] contract over many stores, each owning
//! the grants whose id hashes to it, reached through a [`ShardTransport`].
//!
//! This is how the provider runs on Cloudflare Durable Objects: each shard is
//! one object holding a strongly consistent store, every token names its
//! grant, so every token-endpoint operation is one message to one shard,
//! which runs the whole operation (its versioned read and its commit) next to
//! its data ([`execute`]). No global object caps throughput at one object's
//! limit: load spreads over the shards by grant.
//!
//! Where each record lives, and why:
//! - A grant, its code, refresh chain and access tokens: in the grant's shard,
//!   so a transition never spans two shards.
//! - The per-subject and per-client index entries of a grant: in the grant's
//!   shard too, written in the same commit as the grant, so an index never
//!   disagrees with what it indexes. Listing a user's grants asks every shard
//!   (a settings page, not a hot path).
//! - A client: in the shard its id hashes to. Token requests read it once per
//!   provider cache period (10 s), so the token endpoint's cost stays one
//!   message per request in the steady state.
//! - Counts (`stats`), `list_clients` and `sweep`: the sum over every shard.
//!
//! The shard count is part of the data layout: changing it re-routes grant
//! ids, so keep it fixed for a deployment (start a new key prefix to change it).

mod ops;
mod wire;

use crate::clock::UnixTime;
use crate::crypto::SecretDigest;

use super::{
    AccessRecord, ClientRecord, CodeExpectation, CodeOutcome, GrantRecord, HealthCheck, MaybeSend, NewAccess,
    Redemption, RotateOutcome, Rotation, Storage, StorageError, StorageStats,
};
pub use ops::{execute, StorageOp};
use wire::Wire;

/// The future [`ShardTransport::send`] returns (what `async_trait` makes of it).
#[cfg(target_arch = "wasm32")]
type SendFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, StorageError>> + 'a>>;
#[cfg(not(target_arch = "wasm32"))]
type SendFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, StorageError>> + Send + 'a>>;

/// Shards when the deployment does not say: at about 1,000 requests/s per
/// Durable Object, room for some 32,000 requests/s.
pub const DEFAULT_SHARDS: u32 = 32;

/// How [`ShardedStorage`] reaches a shard: one encoded [`StorageOp`] in, its
/// encoded reply out (the output of [`execute`] on the shard).
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
pub trait ShardTransport: MaybeSend {
    /// How many shards there are; fixed for a deployment.
    fn shard_count(&self) -> u32;

    /// Sends `request` to shard `shard` (below [`shard_count`](Self::shard_count)).
    /// A shard that cannot be reached or throws is [`StorageError::Unavailable`].
    async fn send(&self, shard: u32, request: String) -> Result<String, StorageError>;
}

/// The storage contract over shards; see the module docs.
#[derive(Debug, Clone)]
pub struct ShardedStorage<T: ShardTransport> {
    transport: T,
}

/// A reply that is not the method's `Result`: the shard is not ours, or broken.
fn undecodable(shard: u32, error: String) -> StorageError {
    StorageError::Corrupt { key: format!("shard {shard}"), reason: format!("undecodable reply: {error}") }
}

impl<T: ShardTransport> ShardedStorage<T> {
    /// Storage over the shards `transport` reaches.
    pub fn new(transport: T) -> Self {
        Self { transport }
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The shard that owns grant `grant_id`: from the first 32 bits of a
    /// SHA-256, so the mapping is the same in every build and runtime.
    pub fn shard_of_grant(&self, grant_id: &str) -> u32 {
        self.shard_of("grant:", grant_id)
    }

    /// The shard that holds client `client_id`.
    pub fn shard_of_client(&self, client_id: &str) -> u32 {
        self.shard_of("client:", client_id)
    }

    fn shard_of(&self, domain: &str, id: &str) -> u32 {
        let hex = SecretDigest::of(&format!("{domain}{id}")).to_hex();
        let high = u32::from_str_radix(&hex[..8], 16).unwrap_or(0);
        high % self.transport.shard_count().max(1)
    }

    /// Sends `op` to `shard` and decodes the method's `Result<R, StorageError>`.
    async fn call<R: Wire>(&self, shard: u32, op: &StorageOp) -> Result<R, StorageError> {
        let text = self.send(shard, op).await?;
        ops::read_reply::<R>(&text).map_err(|e| undecodable(shard, e))?
    }

    /// Encodes `op` and hands back the transport's own future: one copy of
    /// the encoding and the send for every reply type `call` decodes, not a
    /// copy inlined into each (this code ships in the wasm module).
    #[inline(never)]
    fn send(&self, shard: u32, op: &StorageOp) -> SendFuture<'_> {
        self.transport.send(shard, op.encode())
    }

    /// Sends `op` to every shard in turn (rare operations: listings, counts,
    /// sweeps) and gathers the answers.
    async fn on_every_shard<R: Wire>(&self, op: &StorageOp) -> Result<Vec<R>, StorageError> {
        let mut replies = Vec::new();
        for shard in 0..self.transport.shard_count().max(1) {
            replies.push(self.call(shard, op).await?);
        }
        Ok(replies)
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
impl<T: ShardTransport> Storage for ShardedStorage<T> {
    async fn put_client(&self, client: ClientRecord) -> Result<(), StorageError> {
        let shard = self.shard_of_client(&client.client_id);
        self.call(shard, &StorageOp::PutClient(client)).await
    }

    async fn get_client(&self, client_id: &str) -> Result<Option<ClientRecord>, StorageError> {
        self.call(self.shard_of_client(client_id), &StorageOp::GetClient(client_id.into())).await
    }

    /// Every shard drops the client's grants it holds; the client's own
    /// shard also drops the client.
    async fn delete_client(&self, client_id: &str, now: UnixTime) -> Result<bool, StorageError> {
        let existed: Vec<bool> = self.on_every_shard(&StorageOp::DeleteClient(client_id.into(), now)).await?;
        Ok(existed.contains(&true))
    }

    async fn list_clients(&self) -> Result<Vec<String>, StorageError> {
        let mut ids: Vec<String> = self
            .on_every_shard::<Vec<String>>(&StorageOp::ListClients)
            .await?
            .into_iter()
            .flatten()
            .collect();
        super::kv::sort_keys(&mut ids);
        ids.dedup();
        Ok(ids)
    }

    async fn put_grant(
        &self,
        grant: GrantRecord,
        access: Option<NewAccess>,
        now: UnixTime,
    ) -> Result<(), StorageError> {
        let shard = self.shard_of_grant(&grant.id);
        self.call(shard, &StorageOp::PutGrant(grant, access, now)).await
    }

    async fn get_grant(&self, grant_id: &str, now: UnixTime) -> Result<Option<GrantRecord>, StorageError> {
        self.call(self.shard_of_grant(grant_id), &StorageOp::GetGrant(grant_id.into(), now)).await
    }

    async fn consume_code(
        &self,
        grant_id: &str,
        code_digest: &SecretDigest,
        expect: &CodeExpectation,
        redemption: Redemption,
        now: UnixTime,
    ) -> Result<CodeOutcome, StorageError> {
        let op = StorageOp::ConsumeCode(grant_id.into(), *code_digest, expect.clone(), redemption, now);
        self.call(self.shard_of_grant(grant_id), &op).await
    }

    async fn get_access(
        &self,
        grant_id: &str,
        digest: &SecretDigest,
        now: UnixTime,
    ) -> Result<Option<AccessRecord>, StorageError> {
        self.call(self.shard_of_grant(grant_id), &StorageOp::GetAccess(grant_id.into(), *digest, now)).await
    }

    async fn rotate_refresh(
        &self,
        grant_id: &str,
        client_id: &str,
        presented: &SecretDigest,
        rotation: Rotation,
        now: UnixTime,
    ) -> Result<RotateOutcome, StorageError> {
        let op = StorageOp::RotateRefresh(grant_id.into(), client_id.into(), *presented, rotation, now);
        self.call(self.shard_of_grant(grant_id), &op).await
    }

    async fn revoke_grant(&self, grant_id: &str) -> Result<bool, StorageError> {
        self.call(self.shard_of_grant(grant_id), &StorageOp::RevokeGrant(grant_id.into())).await
    }

    async fn revoke_token(
        &self,
        grant_id: &str,
        client_id: &str,
        digest: &SecretDigest,
        now: UnixTime,
    ) -> Result<Option<GrantRecord>, StorageError> {
        self.call(
            self.shard_of_grant(grant_id),
            &StorageOp::RevokeToken(grant_id.into(), client_id.into(), *digest, now),
        )
        .await
    }

    async fn list_grants(&self, subject: &str, now: UnixTime) -> Result<Vec<GrantRecord>, StorageError> {
        let mut grants: Vec<GrantRecord> = Vec::new();
        for found in
            self.on_every_shard::<Vec<GrantRecord>>(&StorageOp::ListGrants(subject.into(), now)).await?
        {
            for grant in found {
                let at = grants.partition_point(|g| (g.created_at, &g.id) < (grant.created_at, &grant.id));
                grants.insert(at, grant);
            }
        }
        Ok(grants)
    }

    async fn stats(&self, now: UnixTime) -> Result<StorageStats, StorageError> {
        let mut total = StorageStats::default();
        for stats in self.on_every_shard::<StorageStats>(&StorageOp::Stats(now)).await? {
            total.token_count += stats.token_count;
            total.refresh_token_count += stats.refresh_token_count;
            total.authorization_code_count += stats.authorization_code_count;
            total.client_count += stats.client_count;
        }
        Ok(total)
    }

    /// Asks one shard (the first): a probe of every shard would cost one
    /// message each on every health check.
    async fn health(&self) -> HealthCheck {
        let started = crate::clock::Clock::now_millis(&crate::clock::SystemClock);
        let shards = self.transport.shard_count().to_string();
        match self.call::<HealthCheck>(0, &StorageOp::Health).await {
            Ok(mut health) => {
                health.components.insert("shards".into(), shards);
                health.components.insert("sharding".into(), "by grant id".into());
                health
            }
            Err(error) => {
                let components = super::health_components(&[("shards", &shards)]);
                let message = "the storage shards are unavailable".to_string();
                HealthCheck::finished(started, false, message, components, vec![HealthCheck::reason(&error)])
            }
        }
    }

    async fn sweep(&self, now: UnixTime) -> Result<u64, StorageError> {
        Ok(self.on_every_shard::<u64>(&StorageOp::Sweep(now)).await?.into_iter().sum())
    }
}

#[cfg(test)]
mod tests;
