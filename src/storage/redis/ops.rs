//! The [`Storage`] operations of [`RedisStorage`].

use std::collections::BTreeMap;

use serde_json::json;

use crate::clock::{Clock, SystemClock, UnixTime};
use crate::crypto::SecretDigest;
use crate::storage::{
    AccessRecord, ClientRecord, CodeExpectation, CodeOutcome, GrantRecord, HealthCheck, NewAccess,
    Redemption, RotateOutcome, Rotation, Storage, StorageError, StorageStats, RETIRED_REFRESH_KEPT,
};

use super::connection::Connection;
use super::wire::{decode, decode_grant, encode_grant, ttl};
use super::{RedisStorage, SCRIPTS};

/// Keys fetched per pipeline, and `SCAN`'s `COUNT` hint.
pub(super) const BATCH: usize = 500;

impl RedisStorage {
    /// `put_grant` in one round trip: EVALSHA and the index writes in one
    /// pipeline. `None` when the server does not know the script yet.
    async fn put_pipelined(
        &self,
        connection: &mut Connection,
        keys: &[String],
        args: &[String],
        indexes: &[redis::Cmd],
    ) -> Result<Option<i64>, StorageError> {
        let mut pipe = redis::pipe();
        pipe.cmd("EVALSHA").arg(SCRIPTS.put.get_hash()).arg(keys.len()).arg(keys).arg(args);
        for index in indexes {
            pipe.add_command(index.clone()).ignore();
        }
        self.bounded(async {
            match pipe.query_async::<(i64,)>(connection).await {
                Ok((stored,)) => Ok(Some(stored)),
                Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => Ok(None),
                Err(e) => Err(e),
            }
        })
        .await
    }

    fn to_json<T: serde::Serialize>(&self, value: &T) -> Result<String, StorageError> {
        serde_json::to_string(value)
            .map_err(|e| StorageError::Configuration(format!("encoding a record: {e}")))
    }

    /// Decodes a script's answer: a tag, then the grant and access JSON for successes.
    fn answer(
        &self,
        grant_id: &str,
        reply: &[String],
    ) -> Result<Option<(GrantRecord, AccessRecord)>, StorageError> {
        match reply {
            [_, grant, access] => {
                let key = self.keys.grant(grant_id);
                Ok(Some((decode_grant(&key, grant)?, decode(&key, access)?)))
            }
            _ => Ok(None),
        }
    }

    /// The keys of the access tokens a stored grant names (none if it is gone).
    async fn access_keys_of(&self, grant_id: &str) -> Result<Vec<String>, StorageError> {
        let key = self.keys.grant(grant_id);
        let mut connection = self.connection()?;
        let json: Option<String> =
            self.bounded(redis::cmd("GET").arg(&key).query_async(&mut connection)).await?;
        let Some(json) = json else { return Ok(Vec::new()) };
        let grant = decode_grant(&key, &json)?;
        Ok(grant.access_tokens.iter().map(|a| self.keys.access(grant_id, &a.digest)).collect())
    }

    fn unexpected(&self, grant_id: &str, reply: &[String]) -> StorageError {
        StorageError::Corrupt {
            key: self.keys.grant(grant_id),
            reason: format!("unexpected script reply {reply:?}"),
        }
    }

    /// Every key of this prefix, by `SCAN` (never `KEYS`; every master of a cluster).
    pub(crate) async fn scan_keys(&self) -> Result<Vec<String>, StorageError> {
        self.scan_matching(&self.keys.scan_pattern(), BATCH).await
    }

    /// `GET` of many keys (pipelined in batches; one by one on a cluster, where
    /// they sit in different slots).
    pub(super) async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, StorageError> {
        let mut connection = self.connection()?;
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH) {
            let commands = chunk.iter().map(redis::Cmd::get).collect();
            let values = self.each(&mut connection, commands).await?;
            for (key, value) in chunk.iter().zip(values) {
                out.push(self.reply(key, value)?);
            }
        }
        Ok(out)
    }
}

#[async_trait::async_trait]
impl Storage for RedisStorage {
    async fn put_client(&self, client: ClientRecord) -> Result<(), StorageError> {
        let json = self.to_json(&client)?;
        let mut connection = self.connection()?;
        let key = self.keys.client(&client.client_id);
        // A registration that has not completed an authorization expires;
        // a plain SET (a kept client) clears that TTL.
        let set = match client.ttl() {
            Some(ttl) => redis::Cmd::set_ex(key, json, ttl),
            None => redis::Cmd::set(key, json),
        };
        let commands = vec![
            set,
            redis::Cmd::sadd(self.keys.clients(), &client.client_id),
            self.client_count(&client.client_id, Some(client.expires_at)),
        ];
        self.each(&mut connection, commands).await.map(drop)
    }

    async fn get_client(&self, client_id: &str) -> Result<Option<ClientRecord>, StorageError> {
        let key = self.keys.client(client_id);
        let mut connection = self.connection()?;
        let json: Option<String> =
            self.bounded(redis::cmd("GET").arg(&key).query_async(&mut connection)).await?;
        json.map(|j| decode(&key, &j)).transpose()
    }

    async fn delete_client(&self, client_id: &str, _now: UnixTime) -> Result<bool, StorageError> {
        let index = self.keys.client_grants(client_id);
        let mut connection = self.connection()?;
        let commands = vec![
            redis::Cmd::del(self.keys.client(client_id)),
            redis::Cmd::srem(self.keys.clients(), client_id),
            redis::Cmd::smembers(&index),
            self.client_count(client_id, None),
        ];
        let mut replies = self.each(&mut connection, commands).await?.into_iter();
        let mut next = || replies.next().unwrap_or(redis::Value::Nil);
        let deleted: u64 = self.reply(&index, next())?;
        let _ = next();
        let grants: Vec<String> = self.reply(&index, next())?;
        for grant_id in grants {
            self.revoke_grant(&grant_id).await?;
        }
        self.bounded(redis::cmd("DEL").arg(&index).query_async::<()>(&mut connection)).await?;
        Ok(deleted > 0)
    }

    async fn list_clients(&self) -> Result<Vec<String>, StorageError> {
        let mut connection = self.connection()?;
        let mut ids: Vec<String> = self
            .bounded(redis::cmd("SMEMBERS").arg(self.keys.clients()).query_async(&mut connection))
            .await?;
        ids.sort();
        Ok(ids)
    }

    async fn put_grant(
        &self,
        grant: GrantRecord,
        access: Option<NewAccess>,
        now: UnixTime,
    ) -> Result<(), StorageError> {
        let mut connection = self.connection()?;
        let access_key = access.as_ref().map(|access| self.keys.access(&grant.id, &access.digest));
        let mut keys = vec![self.keys.grant(&grant.id)];
        keys.extend(access_key.clone());
        keys.extend(self.keys.counted_by_scripts(&connection));
        let mut args = vec![encode_grant(&grant)?, ttl(grant.expires_at, now).to_string()];
        if let Some(access) = &access {
            args.push(self.to_json(&access.record)?);
            args.push(ttl(access.record.expires_at, now).to_string());
        }
        // On one server the script indexes and counts the grant itself.
        let pipelined = match connection {
            Connection::Single(_) => self.put_pipelined(&mut connection, &keys, &args, &[]).await?,
            Connection::Cluster(_) => None,
        };
        let stored = match pipelined {
            Some(stored) => stored,
            None => {
                // A cluster (indexes in other slots), or the script not yet
                // loaded on this server: the script alone, then (cluster) the
                // indexes and counts.
                let mut invocation = SCRIPTS.put.prepare_invoke();
                for key in &keys {
                    invocation.key(key);
                }
                for arg in &args {
                    invocation.arg(arg);
                }
                let stored: i64 = self.bounded(invocation.invoke_async(&mut connection)).await?;
                if stored == 1 {
                    let issued = access_key.as_deref().zip(access.as_ref().map(|a| a.record.expires_at));
                    self.counted_on_cluster(&mut connection, &grant, issued, now).await;
                    self.prune_client_index(&mut connection, &grant).await;
                }
                stored
            }
        };
        if stored == 0 {
            return Err(StorageError::Conflict(format!("grant {} exists", grant.id)));
        }
        Ok(())
    }

    async fn get_grant(&self, grant_id: &str, now: UnixTime) -> Result<Option<GrantRecord>, StorageError> {
        let key = self.keys.grant(grant_id);
        let mut connection = self.connection()?;
        let json: Option<String> =
            self.bounded(redis::cmd("GET").arg(&key).query_async(&mut connection)).await?;
        Ok(json.map(|j| decode_grant(&key, &j)).transpose()?.filter(|g| g.is_live(now)))
    }

    async fn consume_code(
        &self,
        grant_id: &str,
        code_digest: &SecretDigest,
        expect: &CodeExpectation,
        redemption: Redemption,
        now: UnixTime,
    ) -> Result<CodeOutcome, StorageError> {
        let args = json!({
            "now": now,
            "code_digest": code_digest,
            "client_id": expect.client_id,
            "redirect_uri": expect.redirect_uri,
            "code_challenge": expect.code_challenge,
            "resource": expect.resource,
            "access_digest": redemption.access_digest,
            "access_expires_at": redemption.access_expires_at,
            "refresh": redemption.refresh,
            "grant_expires_at": redemption.grant_expires_at,
        });
        let mut connection = self.connection()?;
        let access_key = self.keys.access(grant_id, &redemption.access_digest);
        let mut invocation = SCRIPTS.redeem.key(self.keys.grant(grant_id));
        invocation.key(&access_key);
        for key in self.keys.counted_by_scripts(&connection) {
            invocation.key(key);
        }
        invocation.arg(self.keys.access_prefix(grant_id)).arg(args.to_string());
        let reply: Vec<String> = self.bounded(invocation.invoke_async(&mut connection)).await?;
        let outcome = match reply.first().map(String::as_str) {
            Some("redeemed") => match self.answer(grant_id, &reply)? {
                Some((grant, access)) => CodeOutcome::Redeemed(grant, access),
                None => return Err(self.unexpected(grant_id, &reply)),
            },
            Some("not_found") => CodeOutcome::NotFound,
            Some("mismatch") => CodeOutcome::Mismatch,
            Some("resource_mismatch") => CodeOutcome::ResourceMismatch,
            Some("replayed") => CodeOutcome::Replayed,
            _ => return Err(self.unexpected(grant_id, &reply)),
        };
        match &outcome {
            CodeOutcome::Redeemed(grant, access) => {
                let issued = Some((access_key.as_str(), access.expires_at));
                self.counted_on_cluster(&mut connection, grant, issued, now).await;
            }
            CodeOutcome::Replayed => self.uncounted_on_cluster(&mut connection, grant_id, &[]).await,
            _ => {}
        }
        Ok(outcome)
    }

    async fn get_access(
        &self,
        grant_id: &str,
        digest: &SecretDigest,
        now: UnixTime,
    ) -> Result<Option<AccessRecord>, StorageError> {
        let key = self.keys.access(grant_id, digest);
        let mut connection = self.connection()?;
        let json: Option<String> =
            self.bounded(redis::cmd("GET").arg(&key).query_async(&mut connection)).await?;
        let record: Option<AccessRecord> = json.map(|j| decode(&key, &j)).transpose()?;
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
        let args = json!({
            "now": now,
            "client_id": client_id,
            "presented": presented,
            "successor": rotation.successor,
            "salt": rotation.salt,
            "access_digest": rotation.access_digest,
            "access_expires_at": rotation.access_expires_at,
            "grant_expires_at": rotation.grant_expires_at,
            "scopes": rotation.scopes,
            "resource": rotation.resource,
            "grace_seconds": rotation.grace_seconds,
            "retired_kept": RETIRED_REFRESH_KEPT,
        });
        let mut connection = self.connection()?;
        let access_key = self.keys.access(grant_id, &rotation.access_digest);
        let mut invocation = SCRIPTS.rotate.key(self.keys.grant(grant_id));
        invocation.key(&access_key);
        for key in self.keys.counted_by_scripts(&connection) {
            invocation.key(key);
        }
        invocation.arg(self.keys.access_prefix(grant_id)).arg(args.to_string());
        let reply: Vec<String> = self.bounded(invocation.invoke_async(&mut connection)).await?;
        let tag = reply.first().map(String::as_str);
        let outcome = match (tag, self.answer(grant_id, &reply)?) {
            (Some("rotated"), Some((grant, access))) => RotateOutcome::Rotated(grant, access),
            (Some("retried"), Some((grant, access))) => RotateOutcome::Retried(grant, access),
            (Some("not_found"), None) => RotateOutcome::NotFound,
            (Some("scope_exceeded"), None) => RotateOutcome::ScopeExceeded,
            (Some("resource_mismatch"), None) => RotateOutcome::ResourceMismatch,
            (Some("reused"), None) => RotateOutcome::Reused,
            _ => return Err(self.unexpected(grant_id, &reply)),
        };
        match &outcome {
            RotateOutcome::Rotated(grant, access) | RotateOutcome::Retried(grant, access) => {
                let issued = Some((access_key.as_str(), access.expires_at));
                self.counted_on_cluster(&mut connection, grant, issued, now).await;
            }
            RotateOutcome::Reused => self.uncounted_on_cluster(&mut connection, grant_id, &[]).await,
            _ => {}
        }
        Ok(outcome)
    }

    async fn revoke_grant(&self, grant_id: &str) -> Result<bool, StorageError> {
        let mut connection = self.connection()?;
        // On a cluster, the access tokens to uncount are read first (the
        // script alone sees them); a token issued in between stays counted
        // until it expires.
        let access_keys = match connection {
            Connection::Cluster(_) => self.access_keys_of(grant_id).await?,
            Connection::Single(_) => Vec::new(),
        };
        let mut invocation = SCRIPTS.revoke.key(self.keys.grant(grant_id));
        for key in self.keys.counted_by_scripts(&connection) {
            invocation.key(key);
        }
        invocation.arg(self.keys.access_prefix(grant_id));
        let revoked: i64 = self.bounded(invocation.invoke_async(&mut connection)).await?;
        if revoked == 1 {
            self.uncounted_on_cluster(&mut connection, grant_id, &access_keys).await;
        }
        Ok(revoked == 1)
    }

    async fn revoke_token(
        &self,
        grant_id: &str,
        client_id: &str,
        digest: &SecretDigest,
        now: UnixTime,
    ) -> Result<Option<GrantRecord>, StorageError> {
        let mut connection = self.connection()?;
        let grant_key = self.keys.grant(grant_id);
        let mut invocation = SCRIPTS.revoke_token.key(&grant_key);
        invocation.key(self.keys.access(grant_id, digest));
        for key in self.keys.counted_by_scripts(&connection) {
            invocation.key(key);
        }
        invocation.arg(self.keys.access_prefix(grant_id)).arg(client_id).arg(digest.to_hex()).arg(now);
        let revoked: Option<String> = self.bounded(invocation.invoke_async(&mut connection)).await?;
        let grant = revoked.map(|json| decode_grant(&grant_key, &json)).transpose()?;
        if let Some(grant) = &grant {
            let access_keys: Vec<String> =
                grant.access_tokens.iter().map(|a| self.keys.access(grant_id, &a.digest)).collect();
            self.uncounted_on_cluster(&mut connection, grant_id, &access_keys).await;
        }
        Ok(grant)
    }

    async fn list_grants(&self, subject: &str, now: UnixTime) -> Result<Vec<GrantRecord>, StorageError> {
        let index = self.keys.subject(subject);
        let mut connection = self.connection()?;
        let ids: Vec<String> =
            self.bounded(redis::cmd("SMEMBERS").arg(&index).query_async(&mut connection)).await?;
        let keys: Vec<String> = ids.iter().map(|id| self.keys.grant(id)).collect();
        let values = self.get_many(&keys).await?;
        let (mut grants, mut gone) = (Vec::new(), Vec::new());
        for ((id, key), value) in ids.iter().zip(&keys).zip(values) {
            match value {
                Some(json) => {
                    let grant = decode_grant(key, &json)?;
                    if grant.subject.as_deref() == Some(subject) && grant.is_live(now) {
                        grants.push(grant);
                    }
                }
                None => gone.push(id.clone()),
            }
        }
        if !gone.is_empty() {
            // Best-effort pruning of ids whose grant was revoked or evicted.
            let _ = self
                .bounded(redis::cmd("SREM").arg(&index).arg(&gone).query_async::<()>(&mut connection))
                .await;
        }
        grants.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(grants)
    }

    /// Cost: one `ZCOUNT` per kind of record, pipelined, O(log n) each
    /// (`stats.rs`); never a scan.
    async fn stats(&self, now: UnixTime) -> Result<StorageStats, StorageError> {
        self.read_counts(now).await
    }

    async fn health(&self) -> HealthCheck {
        let started = SystemClock.now_millis();
        // No address and no key prefix: `/health` may be open to the network.
        let mut components = BTreeMap::from([
            ("backend".to_string(), "redis".to_string()),
            ("atomicity".to_string(), "atomic (Lua scripts)".to_string()),
        ]);
        let ping = async {
            let mut connection = self.connection()?;
            self.bounded(redis::cmd("PING").query_async::<String>(&mut connection)).await
        };
        let result = ping.await;
        let (healthy, message, errors) = match result {
            Ok(_) => (true, format!("{} is healthy", self.config.name), Vec::new()),
            Err(e) => {
                self.log(format_args!("health check failed: {e}"));
                (false, format!("{} is unhealthy", self.config.name), vec![HealthCheck::reason(&e)])
            }
        };
        components.insert("connection".into(), if healthy { "up" } else { "down" }.into());
        HealthCheck::finished(started, healthy, message, components, errors)
    }

    /// Redis evicts expired records by their TTL; this removes registrations
    /// expired by `now` that Redis still holds, and prunes the index of
    /// client ids of the ones it evicted (so a flood of registrations leaves
    /// no ids behind), and the dead members of the sets `stats()` counts.
    /// One `SMEMBERS` and a pipelined `GET` of every client.
    async fn sweep(&self, now: UnixTime) -> Result<u64, StorageError> {
        self.prune_counts(now).await?;
        let ids = self.list_clients().await?;
        let keys: Vec<String> = ids.iter().map(|id| self.keys.client(id)).collect();
        let values = self.get_many(&keys).await?;
        let (mut gone, mut removed) = (Vec::new(), 0);
        for ((id, key), value) in ids.iter().zip(&keys).zip(values) {
            let expired = match value {
                Some(json) => !decode::<ClientRecord>(key, &json)?.is_live(now),
                None => true,
            };
            if expired {
                gone.push(id.clone());
            }
        }
        let mut connection = self.connection()?;
        for chunk in gone.chunks(BATCH) {
            let mut commands: Vec<redis::Cmd> =
                chunk.iter().map(|id| redis::Cmd::del(self.keys.client(id))).collect();
            commands.push(redis::Cmd::srem(self.keys.clients(), chunk));
            let replies = self.each(&mut connection, commands).await?;
            for (id, reply) in chunk.iter().zip(replies) {
                removed += self.reply::<u64>(&self.keys.client(id), reply)?;
            }
        }
        Ok(removed)
    }
}
