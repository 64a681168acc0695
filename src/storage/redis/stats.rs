//! `stats()` without a scan: a sorted set per kind of live record, scored by
//! its expiry, so that a scrape costs O(log n) per kind however many records
//! Redis holds.
//!
//! | key | members | score |
//! |---|---|---|
//! | `<prefix>{stats}:clients` | client ids | `expires_at` (`+inf` for a kept client) |
//! | `<prefix>{stats}:access` | access-token keys | the token's `expires_at` |
//! | `<prefix>{stats}:refresh` | ids of grants with a refresh chain | the grant's `expires_at` |
//! | `<prefix>{stats}:codes` | ids of grants with an unused code | the code's (or the grant's, if sooner) `expires_at` |
//!
//! Why not counters: a counter of live records never sees a record expire by
//! its TTL. Scored by expiry, `ZCOUNT <set> (now +inf` counts exactly the
//! records still live at `now`, with nothing to do when one expires;
//! [`sweep`](super::RedisStorage) drops the dead members with
//! `ZREMRANGEBYSCORE`. Writes keep them: on one server inside the scripts
//! (their keys passed after the script's own, so still one round trip), on a
//! cluster by commands after the script.
//!
//! On a cluster the four sets share the hash tag `{stats}`: one slot, so one
//! master takes a `ZADD` for every token issued and rotated (a hot key:
//! issuance is bounded by what that master serves, ~100k commands/s), and
//! the writes are not atomic with the scripts: after a crash between the two,
//! or for tokens revoked by reuse or code replay (the script alone knows
//! them), a token stays counted until its expiry (`revoke_grant` reads the
//! grant's tokens first, `revoke_token` gets them from its script). The error never outlives
//! the record's own lifetime. Records written before this layout are not
//! counted until they are rewritten (a refresh) or expire;
//! [`RedisStorage::rebuild_counts`] counts them once, after an upgrade.

use redis::Cmd;

use super::connection::Connection;
use super::ops::BATCH;
use super::wire::{decode, decode_grant, KeyKind, Keys};
use super::{RedisStorage, SCRIPTS};
use crate::clock::UnixTime;
use crate::storage::{AccessRecord, ClientRecord, GrantRecord, StorageError, StorageStats};

/// The kinds of records counted, in the order `stats()` reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counted {
    Clients,
    Access,
    Refresh,
    Codes,
}

impl Counted {
    const ALL: [Counted; 4] = [Counted::Clients, Counted::Access, Counted::Refresh, Counted::Codes];

    fn name(self) -> &'static str {
        match self {
            Counted::Clients => "clients",
            Counted::Access => "access",
            Counted::Refresh => "refresh",
            Counted::Codes => "codes",
        }
    }
}

impl Keys {
    /// The sorted set of one kind of live record (`common.lua` finds it by its `{stats}:` tail).
    pub(crate) fn counted(&self, kind: Counted) -> String {
        format!("{}{{stats}}:{}", self.prefix(), kind.name())
    }

    /// The sets a script keeps itself, passed after its own keys: all of
    /// them on one server, none on a cluster (other slots).
    pub(super) fn counted_by_scripts(&self, connection: &Connection) -> Vec<String> {
        match connection {
            Connection::Single(_) => {
                [Counted::Access, Counted::Refresh, Counted::Codes].map(|kind| self.counted(kind)).to_vec()
            }
            Connection::Cluster(_) => Vec::new(),
        }
    }
}

/// `ZADD` of a member at its expiry, or `ZREM` without one.
fn count(keys: &Keys, kind: Counted, member: &str, expires_at: Option<f64>) -> Cmd {
    match expires_at {
        Some(score) => Cmd::zadd(keys.counted(kind), member, score),
        None => Cmd::zrem(keys.counted(kind), member),
    }
}

/// What `common.lua`'s `count_grant` does: the grant's pending code and refresh chain.
fn grant_counts(keys: &Keys, grant: &GrantRecord) -> [Cmd; 2] {
    let code = grant.code.as_ref().filter(|code| !code.used);
    let code_expiry = code.map(|code| code.expires_at.min(grant.expires_at) as f64);
    let refresh_expiry = grant.refresh.as_ref().map(|_| grant.expires_at as f64);
    [
        count(keys, Counted::Codes, &grant.id, code_expiry),
        count(keys, Counted::Refresh, &grant.id, refresh_expiry),
    ]
}

impl RedisStorage {
    /// A client stored (`None`: deleted), for the commands of `put_client` / `delete_client`.
    pub(crate) fn client_count(&self, client_id: &str, expires_at: Option<Option<UnixTime>>) -> Cmd {
        let score = expires_at.map(|at| at.map_or(f64::INFINITY, |at| at as f64));
        count(&self.keys, Counted::Clients, client_id, score)
    }

    /// Cluster only (the scripts do it on one server): counts a grant a
    /// script stored, with the access token it issued (key, expiry), and
    /// indexes it by client and subject. Best-effort: the grant is stored
    /// already, so a failure here must not fail the operation; it is
    /// repaired by the next write of the grant, or by expiry.
    pub(super) async fn counted_on_cluster(
        &self,
        connection: &mut Connection,
        grant: &GrantRecord,
        access: Option<(&str, UnixTime)>,
        now: UnixTime,
    ) {
        let Connection::Cluster(_) = connection else { return };
        let mut commands = grant_counts(&self.keys, grant).to_vec();
        if let Some((key, expires_at)) = access {
            commands.push(count(&self.keys, Counted::Access, key, Some(expires_at as f64)));
        }
        let _ = self.each(connection, commands).await;
        let seconds = super::wire::ttl(grant.expires_at, now);
        let mut indexes = vec![self.keys.client_grants(&grant.client_id)];
        indexes.extend(grant.subject.as_deref().map(|subject| self.keys.subject(subject)));
        for index in indexes {
            let mut invocation = SCRIPTS.index.key(&index);
            invocation.arg(&grant.id).arg(seconds);
            let _ = self.bounded(invocation.invoke_async::<i64>(connection)).await;
        }
    }

    /// Cluster only: uncounts a revoked grant and the access tokens it named.
    pub(super) async fn uncounted_on_cluster(
        &self,
        connection: &mut Connection,
        grant_id: &str,
        access_keys: &[String],
    ) {
        let Connection::Cluster(_) = connection else { return };
        let mut commands = vec![
            count(&self.keys, Counted::Codes, grant_id, None),
            count(&self.keys, Counted::Refresh, grant_id, None),
        ];
        commands.extend(access_keys.iter().map(|key| count(&self.keys, Counted::Access, key, None)));
        let _ = self.each(connection, commands).await;
    }

    /// Cluster only, on a new grant: prunes two other ids at random from the
    /// client's index whose grant is gone (three drawn, the new one skipped;
    /// `put.lua` does the same on one server).
    pub(super) async fn prune_client_index(&self, connection: &mut Connection, grant: &GrantRecord) {
        let Connection::Cluster(_) = connection else { return };
        let index = self.keys.client_grants(&grant.client_id);
        let sample = redis::cmd("SRANDMEMBER").arg(&index).arg(3).to_owned();
        let Ok(ids) = self.bounded(sample.query_async::<Vec<String>>(connection)).await else { return };
        for id in ids.into_iter().filter(|id| *id != grant.id) {
            let exists = Cmd::exists(self.keys.grant(&id));
            if let Ok(false) = self.bounded(exists.query_async::<bool>(connection)).await {
                let _ = self.bounded(Cmd::srem(&index, &id).query_async::<()>(connection)).await;
            }
        }
    }

    /// The live records at `now`: one `ZCOUNT` per kind, pipelined.
    pub(crate) async fn read_counts(&self, now: UnixTime) -> Result<StorageStats, StorageError> {
        let mut connection = self.connection()?;
        let after_now = format!("({now}");
        let commands = Counted::ALL
            .iter()
            .map(|kind| {
                redis::cmd("ZCOUNT").arg(self.keys.counted(*kind)).arg(&after_now).arg("+inf").to_owned()
            })
            .collect();
        let replies = self.each(&mut connection, commands).await?;
        let mut counts = [0u64; 4];
        for ((kind, reply), n) in Counted::ALL.iter().zip(replies).zip(counts.iter_mut()) {
            *n = self.reply(&self.keys.counted(*kind), reply)?;
        }
        let [client_count, token_count, refresh_token_count, authorization_code_count] = counts;
        Ok(StorageStats {
            client_count,
            token_count,
            refresh_token_count,
            authorization_code_count,
            memory_usage: None,
            active_connections: Some(1),
        })
    }

    /// Drops the members dead at `now` from every set; how many.
    pub(crate) async fn prune_counts(&self, now: UnixTime) -> Result<u64, StorageError> {
        let mut connection = self.connection()?;
        let commands = Counted::ALL
            .iter()
            .map(|kind| {
                redis::cmd("ZREMRANGEBYSCORE").arg(self.keys.counted(*kind)).arg("-inf").arg(now).to_owned()
            })
            .collect();
        let replies = self.each(&mut connection, commands).await?;
        let mut removed = 0u64;
        for (kind, reply) in Counted::ALL.iter().zip(replies) {
            removed += self.reply::<u64>(&self.keys.counted(*kind), reply)?;
        }
        Ok(removed)
    }

    /// Counts every record already stored into the sets `stats()` reads, and
    /// returns the counts at `now`. Run it once after upgrading from a version
    /// without them (until then, records written before are not counted);
    /// running it again changes nothing. One `SCAN` pass and a `GET` of
    /// every record: O(records), unlike `stats()`.
    pub async fn rebuild_counts(&self, now: UnixTime) -> Result<StorageStats, StorageError> {
        let keys = self.scan_keys().await?;
        let wanted: Vec<String> =
            keys.into_iter().filter(|key| self.keys.classify(key) != KeyKind::Other).collect();
        let values = self.get_many(&wanted).await?;
        let mut commands = Vec::new();
        for (key, value) in wanted.iter().zip(values) {
            let Some(json) = value else { continue };
            match self.keys.classify(key) {
                KeyKind::Client(id) => {
                    let client: ClientRecord = decode(key, &json)?;
                    commands.push(self.client_count(id, Some(client.expires_at)));
                }
                KeyKind::Grant => commands.extend(grant_counts(&self.keys, &decode_grant(key, &json)?)),
                KeyKind::Access => {
                    let access: AccessRecord = decode(key, &json)?;
                    commands.push(count(&self.keys, Counted::Access, key, Some(access.expires_at as f64)));
                }
                KeyKind::Other => {}
            }
        }
        let mut connection = self.connection()?;
        while !commands.is_empty() {
            let batch: Vec<Cmd> = commands.drain(..commands.len().min(BATCH)).collect();
            self.each(&mut connection, batch).await?;
        }
        self.read_counts(now).await
    }
}
