//! The [`Storage`] methods of [`KvStorage`]: each one a few host calls
//! around the helpers and pure transitions of the parent module.

use crate::clock::{Clock, SystemClock, UnixTime};
use crate::crypto::SecretDigest;
use crate::storage::{
    health_components, AccessRecord, ClientRecord, CodeExpectation, CodeOutcome, GrantRecord, HealthCheck,
    NewAccess, Redemption, RotateOutcome, Rotation, Storage, StorageError, StorageStats,
};

use super::keys::{classify, GrantKey};
use super::{KvCheck, KvHost, KvStorage, Step};

#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
impl<H: KvHost> Storage for KvStorage<H> {
    async fn put_client(&self, client: ClientRecord) -> Result<(), StorageError> {
        // Configured and kept clients do not expire (TTL 0); a registration
        // that has not completed an authorization lives from its issue time.
        let ttl = client.ttl().map_or(0, |ttl| ttl.max(self.caps.min_ttl_seconds));
        self.write(&self.keys.client(&client.client_id), &client, ttl).await
    }

    async fn get_client(&self, client_id: &str) -> Result<Option<ClientRecord>, StorageError> {
        self.read(&self.keys.client(client_id)).await
    }

    async fn delete_client(&self, client_id: &str, _now: UnixTime) -> Result<bool, StorageError> {
        let key = self.keys.client(client_id);
        let existed = self.host.get(&key).await?.is_some();
        self.host.delete(&key).await?;
        let prefix = self.keys.client_grants_prefix(client_id);
        for grant_id in self.indexed(&prefix).await? {
            // The index may be stale; only the grant record says whose it is.
            let removed = self.remove_grant_if(&grant_id, &|grant| grant.client_id == client_id).await?;
            if removed.is_none() {
                self.host.delete(&self.keys.by_client(client_id, &grant_id)).await?;
            }
        }
        Ok(existed)
    }

    async fn list_clients(&self) -> Result<Vec<String>, StorageError> {
        let mut ids = self.indexed(&self.keys.clients_prefix()).await?;
        super::sort_keys(&mut ids);
        ids.dedup();
        Ok(ids)
    }

    async fn put_grant(
        &self,
        grant: GrantRecord,
        access: Option<NewAccess>,
        now: UnixTime,
    ) -> Result<(), StorageError> {
        let key = self.keys.grant(&grant.id);
        let conflict = || StorageError::Conflict(format!("grant {} exists", grant.id));
        // Without atomics the commit's check is not honoured: look first
        // (grant ids are random, so a collision is not a race anyone wins).
        if !self.caps.atomic && self.host.get(&key).await?.is_some() {
            return Err(conflict());
        }
        let mut writes = self.grant_writes(&grant, None, now)?;
        if let Some(access) = &access {
            writes.push(self.access_write(&access.digest, &access.record, now)?);
        }
        let absent = KvCheck { key, version: None };
        if !self.host.commit(&[absent], &writes).await? {
            return Err(conflict());
        }
        Ok(())
    }

    async fn get_grant(&self, grant_id: &str, now: UnixTime) -> Result<Option<GrantRecord>, StorageError> {
        let grant: Option<GrantRecord> = self.read(&self.keys.grant(grant_id)).await?;
        Ok(grant.filter(|g| g.is_live(now)))
    }

    async fn consume_code(
        &self,
        grant_id: &str,
        code_digest: &SecretDigest,
        expect: &CodeExpectation,
        redemption: Redemption,
        now: UnixTime,
    ) -> Result<CodeOutcome, StorageError> {
        let outcome = self
            .transition(grant_id, |grant| {
                let Some(mut grant) = grant else { return Ok(Step::Answer(CodeOutcome::NotFound)) };
                let before = grant.clone();
                Ok(match grant.redeem_code(code_digest, expect, &redemption, now) {
                    CodeOutcome::Redeemed(grant, access) => {
                        let mut writes = self.grant_writes(&grant, Some(&before), now)?;
                        writes.push(self.access_write(&redemption.access_digest, &access, now)?);
                        Step::Commit(writes, CodeOutcome::Redeemed(grant, access))
                    }
                    CodeOutcome::Replayed => Step::Commit(self.removal(&before), CodeOutcome::Replayed),
                    other => Step::Answer(other),
                })
            })
            .await?;
        if outcome == CodeOutcome::Replayed {
            self.remove_stray_access(grant_id).await?;
        }
        Ok(outcome)
    }

    async fn get_access(
        &self,
        grant_id: &str,
        digest: &SecretDigest,
        now: UnixTime,
    ) -> Result<Option<AccessRecord>, StorageError> {
        let record: Option<AccessRecord> = self.read(&self.keys.access(grant_id, digest)).await?;
        Ok(record.filter(|a| a.answers(grant_id, now)))
    }

    async fn rotate_refresh(
        &self,
        grant_id: &str,
        client_id: &str,
        presented: &SecretDigest,
        rotation: Rotation,
        now: UnixTime,
    ) -> Result<RotateOutcome, StorageError> {
        let outcome = self
            .transition(grant_id, |grant| {
                let Some(mut grant) = grant else { return Ok(Step::Answer(RotateOutcome::NotFound)) };
                let before = grant.clone();
                Ok(match grant.rotate_refresh(client_id, presented, &rotation, now) {
                    RotateOutcome::Rotated(grant, access) => {
                        let mut writes = self.grant_writes(&grant, Some(&before), now)?;
                        writes.push(self.access_write(&rotation.access_digest, &access, now)?);
                        Step::Commit(writes, RotateOutcome::Rotated(grant, access))
                    }
                    RotateOutcome::Retried(grant, access) => {
                        // Same expiry: the index keys keep theirs.
                        let ttl = self.ttl(grant.expires_at, now);
                        let writes = vec![
                            self.set(self.keys.grant(grant_id), &grant, ttl)?,
                            self.access_write(&rotation.access_digest, &access, now)?,
                        ];
                        Step::Commit(writes, RotateOutcome::Retried(grant, access))
                    }
                    RotateOutcome::Reused => Step::Commit(self.removal(&before), RotateOutcome::Reused),
                    other => Step::Answer(other),
                })
            })
            .await?;
        if outcome == RotateOutcome::Reused {
            self.remove_stray_access(grant_id).await?;
        }
        Ok(outcome)
    }

    async fn revoke_grant(&self, grant_id: &str) -> Result<bool, StorageError> {
        Ok(self.remove_grant_if(grant_id, &|_| true).await?.is_some())
    }

    /// One versioned read and one checked commit: the token is checked
    /// against the grant as read, and the removal applies only to that state.
    /// (Without atomics, a token the grant does not list costs one more read.)
    async fn revoke_token(
        &self,
        grant_id: &str,
        client_id: &str,
        digest: &SecretDigest,
        now: UnixTime,
    ) -> Result<Option<GrantRecord>, StorageError> {
        let listed = |grant: &GrantRecord| {
            grant.access_tokens.iter().any(|a| a.expires_at > now && a.digest.matches(digest))
        };
        let ours = |grant: &GrantRecord| grant.is_live(now) && grant.client_id == client_id;
        let removed =
            self.remove_grant_if(grant_id, &|g| ours(g) && (g.holds_refresh(digest) || listed(g))).await?;
        if removed.is_some() || self.caps.atomic {
            return Ok(removed);
        }
        // Without atomics a lost race may have stored an access token its
        // grant does not list: its own record says whose it is.
        match self.get_access(grant_id, digest, now).await? {
            Some(access) if access.client_id == client_id => self.remove_grant_if(grant_id, &ours).await,
            _ => Ok(None),
        }
    }

    async fn list_grants(&self, subject: &str, now: UnixTime) -> Result<Vec<GrantRecord>, StorageError> {
        let mut grants: Vec<GrantRecord> = Vec::new();
        for grant_id in self.indexed(&self.keys.subject_prefix(subject)).await? {
            let grant: Option<GrantRecord> = self.read(&self.keys.grant(&grant_id)).await?;
            if let Some(grant) = grant.filter(|g| g.is_live(now) && g.subject.as_deref() == Some(subject)) {
                // Kept in (created_at, id) order as they come: a subject holds few grants.
                let at = grants.partition_point(|g| (g.created_at, &g.id) < (grant.created_at, &grant.id));
                grants.insert(at, grant);
            }
        }
        Ok(grants)
    }

    async fn stats(&self, now: UnixTime) -> Result<StorageStats, StorageError> {
        let mut stats = StorageStats::default();
        for key in self.list_all(&self.keys.grants_prefix()).await? {
            let GrantKey::Grant(_) = classify(&self.keys, &key) else { continue };
            let Some(grant) = self.read::<GrantRecord>(&key).await? else { continue };
            // Access tokens are counted from the grant that lists them: one read per grant, not per token.
            stats.token_count += grant.access_tokens.iter().filter(|a| a.expires_at > now).count() as u64;
            if grant.is_live(now) {
                stats.refresh_token_count += u64::from(grant.refresh.is_some());
                stats.authorization_code_count +=
                    u64::from(grant.code.as_ref().is_some_and(|c| !c.used && c.expires_at > now));
            }
        }
        stats.client_count = self.list_clients().await?.len() as u64;
        Ok(stats)
    }

    fn consistency_window(&self) -> Option<u64> {
        let window = self.consistency_window;
        (!self.caps.consistent_reads && window > 0).then_some(window)
    }

    async fn health(&self) -> HealthCheck {
        let started = SystemClock.now_millis();
        let result = self.probe().await;
        let atomicity =
            if self.caps.atomic { "atomic" } else { "best-effort (host has no atomic operations)" };
        let components = health_components(&[
            ("backend", "kv"),
            ("atomicity", atomicity),
            ("minTtlSeconds", &self.caps.min_ttl_seconds.to_string()),
            ("consistentReads", &self.caps.consistent_reads.to_string()),
            ("consistencyWindowSeconds", &self.consistency_window().unwrap_or(0).to_string()),
        ]);
        let (healthy, message, errors) = match result {
            Ok(()) if self.caps.atomic => (true, "KvStorage is healthy".to_string(), Vec::new()),
            Ok(()) => (
                true,
                "KvStorage is healthy; single use of codes and refresh tokens is best-effort on this host"
                    .to_string(),
                Vec::new(),
            ),
            Err(e) => (false, "KvStorage is unavailable".to_string(), vec![HealthCheck::reason(&e)]),
        };
        HealthCheck::finished(started, healthy, message, components, errors)
    }

    /// Lists every client, grant and access key and deletes the expired ones
    /// (one read per key): for hosts that do not evict by TTL, or to reclaim space early.
    /// Hosts that honour the TTLs `KvStorage` passes need it only rarely.
    async fn sweep(&self, now: UnixTime) -> Result<u64, StorageError> {
        let mut removed = 0;
        for key in self.list_all(&self.keys.clients_prefix()).await? {
            if let Some(client) = self.read::<ClientRecord>(&key).await? {
                if !client.is_live(now) {
                    self.host.delete(&key).await?;
                    removed += 1;
                }
            }
        }
        for key in self.list_all(&self.keys.grants_prefix()).await? {
            match classify(&self.keys, &key) {
                GrantKey::Grant(grant_id) => {
                    removed +=
                        u64::from(self.remove_grant_if(grant_id, &|g| !g.is_live(now)).await?.is_some());
                }
                GrantKey::Access => {
                    if let Some(access) = self.read::<AccessRecord>(&key).await? {
                        if !access.is_live(now) {
                            self.host.delete(&key).await?;
                            removed += 1;
                        }
                    }
                }
                GrantKey::Other => {}
            }
        }
        Ok(removed)
    }
}
