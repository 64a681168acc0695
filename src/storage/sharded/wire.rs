//! The shard wire format: a message is a JSON array of strings, read front
//! to back by the [`Wire`] impls of its parts.
//!
//! Why not `serde` derives on the operation and reply types: serde's visitor
//! for an enum of tuple variants, and for `Result<T, StorageError>` once per
//! reply type, came to about 6 KB of the gzipped wasm module, on both ends
//! of the wire. Here the framing is one `Vec<String>` codec; a stored record
//! inside a message is its JSON text, through the same `serde_json` code the
//! key-value backends use to store it; everything else is a few lines per
//! type. The format carries no version: a Worker and its Durable Objects
//! run the same module, and a message from another build (mid-way through a
//! gradual deployment) fails to decode with a clear error, never a panic.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::crypto::SecretDigest;
use crate::storage::{
    AccessRecord, ClientRecord, CodeExpectation, CodeOutcome, GrantRecord, HealthCheck, NewAccess,
    Redemption, RotateOutcome, Rotation, StorageError, StorageStats,
};

/// A message being written.
#[derive(Debug, Default)]
pub struct Writer(Vec<String>);

impl Writer {
    /// Appends one string.
    pub fn item(&mut self, text: impl Into<String>) -> &mut Self {
        self.0.push(text.into());
        self
    }

    /// Appends `value`.
    pub fn put<T: Wire>(&mut self, value: &T) -> &mut Self {
        value.put(self);
        self
    }

    /// The message's text.
    pub fn finish(self) -> String {
        serde_json::to_string(&self.0).unwrap_or_default()
    }
}

/// A message being read.
#[derive(Debug)]
pub struct Reader(std::vec::IntoIter<String>);

impl Reader {
    /// Splits a message into its strings.
    pub fn parse(text: &str) -> Result<Self, String> {
        let items: Vec<String> = serde_json::from_str(text).map_err(|e| e.to_string())?;
        Ok(Self(items.into_iter()))
    }

    /// The next string.
    pub fn item(&mut self) -> Result<String, String> {
        self.0.next().ok_or_else(|| "the message ends early".to_string())
    }

    /// The next value.
    pub fn take<T: Wire>(&mut self) -> Result<T, String> {
        T::take(self)
    }

    /// Checks that nothing is left.
    pub fn end(mut self) -> Result<(), String> {
        match self.0.next() {
            None => Ok(()),
            Some(_) => Err("the message has more than its parts".into()),
        }
    }
}

/// A part of a message: written by `put`, read back by `take` in the same order.
pub trait Wire: Sized {
    /// Appends `self`.
    fn put(&self, w: &mut Writer);
    /// Reads one value.
    fn take(r: &mut Reader) -> Result<Self, String>;
}

impl Wire for String {
    fn put(&self, w: &mut Writer) {
        w.item(self.as_str());
    }
    fn take(r: &mut Reader) -> Result<Self, String> {
        r.item()
    }
}

impl Wire for u64 {
    fn put(&self, w: &mut Writer) {
        w.item(self.to_string());
    }
    fn take(r: &mut Reader) -> Result<Self, String> {
        let text = r.item()?;
        text.parse().map_err(|_| format!("not a number: {text:?}"))
    }
}

impl Wire for bool {
    fn put(&self, w: &mut Writer) {
        w.item(if *self { "1" } else { "0" });
    }
    fn take(r: &mut Reader) -> Result<Self, String> {
        match r.item()?.as_str() {
            "1" => Ok(true),
            "0" => Ok(false),
            other => Err(format!("not a boolean: {other:?}")),
        }
    }
}

/// By its bits: exact, and no float formatting in the module.
impl Wire for f64 {
    fn put(&self, w: &mut Writer) {
        self.to_bits().put(w);
    }
    fn take(r: &mut Reader) -> Result<Self, String> {
        Ok(f64::from_bits(r.take()?))
    }
}

impl Wire for SecretDigest {
    fn put(&self, w: &mut Writer) {
        w.item(self.to_hex());
    }
    fn take(r: &mut Reader) -> Result<Self, String> {
        SecretDigest::from_hex(&r.item()?).ok_or_else(|| "not a digest".to_string())
    }
}

/// `-` for none, `+` and the value for some.
impl<T: Wire> Wire for Option<T> {
    fn put(&self, w: &mut Writer) {
        match self {
            None => w.item("-"),
            Some(value) => w.item("+").put(value),
        };
    }
    fn take(r: &mut Reader) -> Result<Self, String> {
        match r.item()?.as_str() {
            "-" => Ok(None),
            "+" => Ok(Some(r.take()?)),
            other => Err(format!("not an option marker: {other:?}")),
        }
    }
}

/// The length, then the items.
impl<T: Wire> Wire for Vec<T> {
    fn put(&self, w: &mut Writer) {
        w.put(&(self.len() as u64));
        for item in self {
            w.put(item);
        }
    }
    fn take(r: &mut Reader) -> Result<Self, String> {
        let len: u64 = r.take()?;
        // Every item is at least one string: a length beyond what is left is a lie.
        if len > r.0.len() as u64 {
            return Err("a list is longer than the message".into());
        }
        (0..len).map(|_| r.take()).collect()
    }
}

/// The number of entries, then each key and value.
impl Wire for BTreeMap<String, String> {
    fn put(&self, w: &mut Writer) {
        w.put(&(self.len() as u64));
        for (key, value) in self {
            w.put(key).put(value);
        }
    }
    fn take(r: &mut Reader) -> Result<Self, String> {
        let len: u64 = r.take()?;
        if len.saturating_mul(2) > r.0.len() as u64 {
            return Err("a map is longer than the message".into());
        }
        // Inserted one by one: collecting into a map would sort first and
        // ship a stable sort in the module.
        let mut map = BTreeMap::new();
        for _ in 0..len {
            map.insert(r.take()?, r.take()?);
        }
        Ok(map)
    }
}

fn put_json<T: Serialize>(value: &T, w: &mut Writer) {
    // A record always serialises (its maps have string keys); an empty item
    // would fail to decode at the other end rather than pass for a record.
    w.item(serde_json::to_string(value).unwrap_or_default());
}

fn take_json<T: DeserializeOwned>(r: &mut Reader) -> Result<T, String> {
    crate::storage::object_json::from_object_str(&r.item()?).map_err(|e| e.to_string())
}

/// Stored records travel as the JSON they are stored as.
macro_rules! as_stored_json {
    ($($record:ty),*) => {$(
        impl Wire for $record {
            fn put(&self, w: &mut Writer) {
                put_json(self, w);
            }
            fn take(r: &mut Reader) -> Result<Self, String> {
                take_json(r)
            }
        }
    )*};
}

as_stored_json!(ClientRecord, GrantRecord, AccessRecord);

impl Wire for NewAccess {
    fn put(&self, w: &mut Writer) {
        w.put(&self.digest).put(&self.record);
    }
    fn take(r: &mut Reader) -> Result<Self, String> {
        Ok(Self { digest: r.take()?, record: r.take()? })
    }
}

impl Wire for CodeExpectation {
    fn put(&self, w: &mut Writer) {
        w.put(&self.client_id).put(&self.redirect_uri).put(&self.code_challenge).put(&self.resource);
    }
    fn take(r: &mut Reader) -> Result<Self, String> {
        Ok(Self {
            client_id: r.take()?,
            redirect_uri: r.take()?,
            code_challenge: r.take()?,
            resource: r.take()?,
        })
    }
}

impl Wire for Redemption {
    fn put(&self, w: &mut Writer) {
        w.put(&self.access_digest)
            .put(&self.access_expires_at)
            .put(&self.refresh)
            .put(&self.grant_expires_at);
    }
    fn take(r: &mut Reader) -> Result<Self, String> {
        Ok(Self {
            access_digest: r.take()?,
            access_expires_at: r.take()?,
            refresh: r.take()?,
            grant_expires_at: r.take()?,
        })
    }
}

impl Wire for Rotation {
    fn put(&self, w: &mut Writer) {
        w.put(&self.successor).put(&self.salt).put(&self.access_digest).put(&self.access_expires_at);
        w.put(&self.grant_expires_at).put(&self.scopes).put(&self.resource).put(&self.grace_seconds);
    }
    fn take(r: &mut Reader) -> Result<Self, String> {
        Ok(Self {
            successor: r.take()?,
            salt: r.take()?,
            access_digest: r.take()?,
            access_expires_at: r.take()?,
            grant_expires_at: r.take()?,
            scopes: r.take()?,
            resource: r.take()?,
            grace_seconds: r.take()?,
        })
    }
}

impl Wire for CodeOutcome {
    fn put(&self, w: &mut Writer) {
        match self {
            Self::Redeemed(grant, access) => w.item("redeemed").put(grant).put(access),
            Self::NotFound => w.item("not_found"),
            Self::Mismatch => w.item("mismatch"),
            Self::ResourceMismatch => w.item("resource_mismatch"),
            Self::Replayed => w.item("replayed"),
        };
    }
    fn take(r: &mut Reader) -> Result<Self, String> {
        match r.item()?.as_str() {
            "redeemed" => Ok(Self::Redeemed(r.take()?, r.take()?)),
            "not_found" => Ok(Self::NotFound),
            "mismatch" => Ok(Self::Mismatch),
            "resource_mismatch" => Ok(Self::ResourceMismatch),
            "replayed" => Ok(Self::Replayed),
            other => Err(format!("not a code outcome: {other:?}")),
        }
    }
}

impl Wire for RotateOutcome {
    fn put(&self, w: &mut Writer) {
        match self {
            Self::Rotated(grant, access) => w.item("rotated").put(grant).put(access),
            Self::Retried(grant, access) => w.item("retried").put(grant).put(access),
            Self::NotFound => w.item("not_found"),
            Self::ScopeExceeded => w.item("scope_exceeded"),
            Self::ResourceMismatch => w.item("resource_mismatch"),
            Self::Reused => w.item("reused"),
        };
    }
    fn take(r: &mut Reader) -> Result<Self, String> {
        match r.item()?.as_str() {
            "rotated" => Ok(Self::Rotated(r.take()?, r.take()?)),
            "retried" => Ok(Self::Retried(r.take()?, r.take()?)),
            "not_found" => Ok(Self::NotFound),
            "scope_exceeded" => Ok(Self::ScopeExceeded),
            "resource_mismatch" => Ok(Self::ResourceMismatch),
            "reused" => Ok(Self::Reused),
            other => Err(format!("not a rotation outcome: {other:?}")),
        }
    }
}

impl Wire for StorageStats {
    fn put(&self, w: &mut Writer) {
        w.put(&self.token_count).put(&self.refresh_token_count).put(&self.authorization_code_count);
        w.put(&self.client_count).put(&self.memory_usage).put(&self.active_connections);
    }
    fn take(r: &mut Reader) -> Result<Self, String> {
        Ok(Self {
            token_count: r.take()?,
            refresh_token_count: r.take()?,
            authorization_code_count: r.take()?,
            client_count: r.take()?,
            memory_usage: r.take()?,
            active_connections: r.take()?,
        })
    }
}

impl Wire for HealthCheck {
    fn put(&self, w: &mut Writer) {
        w.put(&self.healthy).put(&self.message).put(&self.response_time_ms).put(&self.timestamp);
        w.put(&self.components).put(&self.errors);
    }
    fn take(r: &mut Reader) -> Result<Self, String> {
        Ok(Self {
            healthy: r.take()?,
            message: r.take()?,
            response_time_ms: r.take()?,
            timestamp: r.take()?,
            components: r.take()?,
            errors: r.take()?,
        })
    }
}

impl Wire for StorageError {
    fn put(&self, w: &mut Writer) {
        match self {
            Self::Unavailable(why) => w.item("unavailable").put(why),
            Self::Conflict(why) => w.item("conflict").put(why),
            Self::Corrupt { key, reason } => w.item("corrupt").put(key).put(reason),
            Self::Configuration(why) => w.item("configuration").put(why),
        };
    }
    fn take(r: &mut Reader) -> Result<Self, String> {
        match r.item()?.as_str() {
            "unavailable" => Ok(Self::Unavailable(r.take()?)),
            "conflict" => Ok(Self::Conflict(r.take()?)),
            "corrupt" => Ok(Self::Corrupt { key: r.take()?, reason: r.take()? }),
            "configuration" => Ok(Self::Configuration(r.take()?)),
            other => Err(format!("not a storage error: {other:?}")),
        }
    }
}

/// `ok` and the value, or `err` and the error: a method's own result.
impl<T: Wire> Wire for Result<T, StorageError> {
    fn put(&self, w: &mut Writer) {
        match self {
            Ok(value) => w.item("ok").put(value),
            Err(error) => w.item("err").put(error),
        };
    }
    fn take(r: &mut Reader) -> Result<Self, String> {
        match r.item()?.as_str() {
            "ok" => Ok(Ok(r.take()?)),
            "err" => Ok(Err(r.take()?)),
            other => Err(format!("not a result: {other:?}")),
        }
    }
}

impl Wire for () {
    fn put(&self, _: &mut Writer) {}
    fn take(_: &mut Reader) -> Result<Self, String> {
        Ok(())
    }
}
