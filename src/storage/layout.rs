//! The key layout of the stores that keep records under string keys: the
//! key-value backend ([`KvStorage`](super::KvStorage), `kv/keys.rs`) and
//! Redis (`redis/wire.rs` and its Lua scripts). One [`Keys`] builds the keys
//! both share; each backend adds its indexes, whose shapes differ.
//!
//! | key | key-value backend | Redis |
//! |---|---|---|
//! | `<prefix>{<grant id>}:grant` | the grant | the grant (its stored form) |
//! | `<prefix>{<grant id>}:at:<digest hex>` | an access record | an access record |
//! | `<prefix>client:<client id>` | a client | a client |
//! | `<prefix>clients` | | set of client ids |
//! | `<prefix>subject:<subject>:<grant id>` | index entry (subject escaped) | |
//! | `<prefix>subject:<subject>` | | index: set of grant ids |
//! | `<prefix>clientgrant:<client id>:<grant id>` | index entry (client id escaped) | |
//! | `<prefix>clientgrants:<client id>` | | index: set of grant ids |
//! | `<prefix>{stats}:<kind>` | | sorted sets `stats()` counts |
//! | `<prefix>health` | the health probe | |
//!
//! Every key of a grant carries the hash tag `{<grant id>}`, so a Redis
//! script touches one cluster slot, and one prefix lists a grant's keys.
//!
//! The per-client index has two names on purpose: a key-value index is one
//! key per pair (`clientgrant:<client>:<grant>`, listed by prefix, since a
//! key-value host has no sets), a Redis index is one set per client
//! (`clientgrants:<client>`). The names are part of data already stored:
//! renaming either would leave deployed stores with index entries the new
//! code does not list, so `delete_client` would stop revoking the grants
//! indexed before the upgrade.

use crate::crypto::SecretDigest;

/// Builds the keys every string-keyed backend shares, under one prefix.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    pub(crate) fn new(prefix: impl Into<String>) -> Self {
        Self { prefix: prefix.into() }
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    pub(crate) fn grant(&self, grant_id: &str) -> String {
        format!("{}{{{grant_id}}}:grant", self.prefix)
    }

    pub(crate) fn access(&self, grant_id: &str, digest: &SecretDigest) -> String {
        format!("{}{{{grant_id}}}:at:{}", self.prefix, digest.to_hex())
    }

    /// Every access key of one grant starts with this; the digest's hex follows.
    pub(crate) fn access_prefix(&self, grant_id: &str) -> String {
        format!("{}{{{grant_id}}}:at:", self.prefix)
    }

    /// Every grant and access key starts with this.
    pub(crate) fn grants_prefix(&self) -> String {
        format!("{}{{", self.prefix)
    }

    pub(crate) fn client(&self, client_id: &str) -> String {
        format!("{}client:{client_id}", self.prefix)
    }

    pub(crate) fn clients_prefix(&self) -> String {
        format!("{}client:", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grants_keys_share_its_hash_tag_and_prefix() {
        let keys = Keys::new("p:");
        let digest = SecretDigest::of("x");
        assert_eq!(keys.grant("g1"), "p:{g1}:grant");
        assert_eq!(keys.access("g1", &digest), format!("p:{{g1}}:at:{}", digest.to_hex()));
        assert!(keys.access("g1", &digest).starts_with(&keys.access_prefix("g1")));
        assert!(keys.grant("g1").starts_with(&keys.grants_prefix()));
        assert_eq!(keys.client("c1"), "p:client:c1");
        assert!(keys.client("c1").starts_with(&keys.clients_prefix()));
    }

    /// The Lua scripts build some keys themselves from the prefix they find:
    /// they must spell them as the Rust side does.
    #[cfg(all(feature = "redis", not(target_arch = "wasm32")))]
    #[test]
    fn the_redis_scripts_spell_keys_as_the_layout_does() {
        let keys = Keys::new("");
        let common = include_str!("redis/scripts/common.lua");
        let put = include_str!("redis/scripts/put.lua");
        let by_client = format!("prefix .. '{}' .. g.client_id", keys.client_grants(""));
        assert!(common.contains(&by_client) && put.contains(&by_client), "{by_client}");
        let by_subject = format!("prefix .. '{}' .. g.subject", keys.subject(""));
        assert!(common.contains(&by_subject), "{by_subject}");
        let grant_key = keys.grant("ID");
        let (open, close) = grant_key.split_once("ID").unwrap_or_default();
        let grant = format!("prefix .. '{open}' .. id .. '{close}'");
        assert!(put.contains(&grant), "{grant}");
    }
}
