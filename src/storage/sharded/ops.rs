//! Storage operations as data: what [`ShardedStorage`](super::ShardedStorage)
//! sends to the store that owns a grant, and [`execute`], which that store
//! runs. Written in the shard wire format ([`super::wire`]): the method's
//! name, then its arguments in the trait's order; a reply is the method's own
//! `Result<T, StorageError>`, read by the caller that knows `T`.

use crate::clock::UnixTime;
use crate::crypto::SecretDigest;
use crate::storage::{
    ClientRecord, CodeExpectation, GrantRecord, NewAccess, Redemption, Rotation, Storage, StorageError,
};

use super::wire::{Reader, Wire, Writer};

/// One call of the [`Storage`] trait, with its arguments in the trait's order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs, clippy::large_enum_variant)]
pub enum StorageOp {
    PutClient(ClientRecord),
    GetClient(String),
    DeleteClient(String, UnixTime),
    ListClients,
    PutGrant(GrantRecord, Option<NewAccess>, UnixTime),
    GetGrant(String, UnixTime),
    /// Grant id, code digest, expectation, redemption, now.
    ConsumeCode(String, SecretDigest, CodeExpectation, Redemption, UnixTime),
    /// Grant id, token digest, now.
    GetAccess(String, SecretDigest, UnixTime),
    /// Grant id, client id, presented digest, rotation, now.
    RotateRefresh(String, String, SecretDigest, Rotation, UnixTime),
    RevokeGrant(String),
    /// Grant id, client id, token digest, now.
    RevokeToken(String, String, SecretDigest, UnixTime),
    ListGrants(String, UnixTime),
    Stats(UnixTime),
    Health,
    Sweep(UnixTime),
}

impl StorageOp {
    /// The operation's message: the method's name, then its arguments.
    pub fn encode(&self) -> String {
        use StorageOp::*;
        let mut w = Writer::default();
        match self {
            PutClient(client) => w.item("put_client").put(client),
            GetClient(id) => w.item("get_client").put(id),
            DeleteClient(id, now) => w.item("delete_client").put(id).put(now),
            ListClients => w.item("list_clients"),
            PutGrant(grant, access, now) => w.item("put_grant").put(grant).put(access).put(now),
            GetGrant(id, now) => w.item("get_grant").put(id).put(now),
            ConsumeCode(id, code, expect, redemption, now) => {
                w.item("consume_code").put(id).put(code).put(expect).put(redemption).put(now)
            }
            GetAccess(id, digest, now) => w.item("get_access").put(id).put(digest).put(now),
            RotateRefresh(id, client, presented, rotation, now) => {
                w.item("rotate_refresh").put(id).put(client).put(presented).put(rotation).put(now)
            }
            RevokeGrant(id) => w.item("revoke_grant").put(id),
            RevokeToken(id, client, digest, now) => {
                w.item("revoke_token").put(id).put(client).put(digest).put(now)
            }
            ListGrants(subject, now) => w.item("list_grants").put(subject).put(now),
            Stats(now) => w.item("stats").put(now),
            Health => w.item("health"),
            Sweep(now) => w.item("sweep").put(now),
        };
        w.finish()
    }

    /// Reads a message written by [`encode`](Self::encode).
    pub fn decode(text: &str) -> Result<Self, String> {
        use StorageOp::*;
        let mut r = Reader::parse(text)?;
        let op = match r.item()?.as_str() {
            "put_client" => PutClient(r.take()?),
            "get_client" => GetClient(r.take()?),
            "delete_client" => DeleteClient(r.take()?, r.take()?),
            "list_clients" => ListClients,
            "put_grant" => PutGrant(r.take()?, r.take()?, r.take()?),
            "get_grant" => GetGrant(r.take()?, r.take()?),
            "consume_code" => ConsumeCode(r.take()?, r.take()?, r.take()?, r.take()?, r.take()?),
            "get_access" => GetAccess(r.take()?, r.take()?, r.take()?),
            "rotate_refresh" => RotateRefresh(r.take()?, r.take()?, r.take()?, r.take()?, r.take()?),
            "revoke_grant" => RevokeGrant(r.take()?),
            "revoke_token" => RevokeToken(r.take()?, r.take()?, r.take()?, r.take()?),
            "list_grants" => ListGrants(r.take()?, r.take()?),
            "stats" => Stats(r.take()?),
            "health" => Health,
            "sweep" => Sweep(r.take()?),
            other => return Err(format!("unknown operation {other:?}")),
        };
        r.end()?;
        Ok(op)
    }
}

/// A method's result as a reply message. Not inlined: one copy per result
/// type, not one per call site.
#[inline(never)]
fn reply<T: Wire>(result: &Result<T, StorageError>) -> String {
    let mut w = Writer::default();
    w.put(result);
    w.finish()
}

/// Reads a reply message: the method's `Result`, or why it is not one.
pub(super) fn read_reply<T: Wire>(text: &str) -> Result<Result<T, StorageError>, String> {
    let mut r = Reader::parse(text)?;
    let result = r.take()?;
    r.end()?;
    Ok(result)
}

/// Runs one encoded [`StorageOp`] on `store` and encodes what the method
/// returned (`Result<T, StorageError>`): the whole of what a shard (a Durable
/// Object, a test double) does per request. A request that does not decode
/// is answered with a configuration error, never a panic.
pub async fn execute<S: Storage>(store: &S, request: &str) -> String {
    use StorageOp::*;
    let op = match StorageOp::decode(request) {
        Ok(op) => op,
        Err(e) => {
            let error = StorageError::Configuration(format!("not a storage operation: {e}"));
            return reply::<()>(&Err(error));
        }
    };
    let s = store;
    match op {
        PutClient(client) => reply(&s.put_client(client).await),
        GetClient(id) => reply(&s.get_client(&id).await),
        DeleteClient(id, now) => reply(&s.delete_client(&id, now).await),
        ListClients => reply(&s.list_clients().await),
        PutGrant(grant, access, now) => reply(&s.put_grant(grant, access, now).await),
        GetGrant(id, now) => reply(&s.get_grant(&id, now).await),
        ConsumeCode(id, code, expect, redemption, now) => {
            reply(&s.consume_code(&id, &code, &expect, redemption, now).await)
        }
        GetAccess(id, digest, now) => reply(&s.get_access(&id, &digest, now).await),
        RotateRefresh(id, client, presented, rotation, now) => {
            reply(&s.rotate_refresh(&id, &client, &presented, rotation, now).await)
        }
        RevokeGrant(id) => reply(&s.revoke_grant(&id).await),
        RevokeToken(id, client, digest, now) => reply(&s.revoke_token(&id, &client, &digest, now).await),
        ListGrants(subject, now) => reply(&s.list_grants(&subject, now).await),
        Stats(now) => reply(&s.stats(now).await),
        Health => reply(&Ok::<_, StorageError>(s.health().await)),
        Sweep(now) => reply(&s.sweep(now).await),
    }
}
