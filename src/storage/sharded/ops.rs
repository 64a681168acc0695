//! Storage operations as data: what [`ShardedStorage`](super::ShardedStorage)
//! sends to the store that owns a grant, and [`execute`], which that store
//! runs. Encoded as JSON, the format the rest of the crate already speaks.
//!
//! The encoding is kept small in code as well as on the wire, since every
//! byte of it ships in the wasm module: an operation is a tuple variant (its
//! arguments in the trait's order), and a reply is the method's own
//! `Result<T, StorageError>`, decoded by the caller that knows `T`.

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::crypto::SecretDigest;
use crate::storage::{
    ClientRecord, CodeExpectation, GrantRecord, NewAccess, Redemption, Rotation, Storage, StorageError,
};

/// One call of the [`Storage`] trait, with its arguments in the trait's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

fn encode<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| {
        let error: Result<(), _> = Err(StorageError::Corrupt { key: String::new(), reason: e.to_string() });
        serde_json::to_string(&error).unwrap_or_default()
    })
}

/// Runs one encoded [`StorageOp`] on `store` and encodes what the method
/// returned (`Result<T, StorageError>`): the whole of what a shard (a Durable
/// Object, a test double) does per request. A request that does not decode
/// is answered with a configuration error, never a panic.
pub async fn execute<S: Storage>(store: &S, request: &str) -> String {
    use StorageOp::*;
    let op = match serde_json::from_str::<StorageOp>(request) {
        Ok(op) => op,
        Err(e) => {
            let error: Result<(), _> =
                Err(StorageError::Configuration(format!("not a storage operation: {e}")));
            return encode(&error);
        }
    };
    let s = store;
    match op {
        PutClient(client) => encode(&s.put_client(client).await),
        GetClient(id) => encode(&s.get_client(&id).await),
        DeleteClient(id, now) => encode(&s.delete_client(&id, now).await),
        ListClients => encode(&s.list_clients().await),
        PutGrant(grant, access, now) => encode(&s.put_grant(grant, access, now).await),
        GetGrant(id, now) => encode(&s.get_grant(&id, now).await),
        ConsumeCode(id, code, expect, redemption, now) => {
            encode(&s.consume_code(&id, &code, &expect, redemption, now).await)
        }
        GetAccess(id, digest, now) => encode(&s.get_access(&id, &digest, now).await),
        RotateRefresh(id, client, presented, rotation, now) => {
            encode(&s.rotate_refresh(&id, &client, &presented, rotation, now).await)
        }
        RevokeGrant(id) => encode(&s.revoke_grant(&id).await),
        RevokeToken(id, client, digest, now) => encode(&s.revoke_token(&id, &client, &digest, now).await),
        ListGrants(subject, now) => encode(&s.list_grants(&subject, now).await),
        Stats(now) => encode(&s.stats(now).await),
        Health => encode(&Ok::<_, StorageError>(s.health().await)),
        Sweep(now) => encode(&s.sweep(now).await),
    }
}
