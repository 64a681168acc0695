//! Redis's own keys (on top of the shared layout in `storage/kv/keys.rs`,
//! which has the table, and which a test checks the Lua scripts against) and
//! the stored form of a grant ([`StoredGrant`]), shared with the scripts.
//! The index sets (`subject:`, `clientgrants:`) are best-effort; the grant
//! is JSON, access records are [`AccessRecord`] JSON, clients
//! [`ClientRecord`] JSON, and `stats.rs` keeps `{stats}:<kind>` sets.

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::clock::UnixTime;
use crate::crypto::SecretDigest;
use crate::storage::{GrantRecord, IssuedAccess, PendingCode, RefreshChain, StorageError};

pub(super) use crate::storage::kv::Keys;

/// Redis's own keys: the client set and the index sets.
impl Keys {
    pub(crate) fn clients(&self) -> String {
        format!("{}clients", self.prefix())
    }

    pub(crate) fn subject(&self, subject: &str) -> String {
        format!("{}subject:{subject}", self.prefix())
    }

    pub(crate) fn client_grants(&self, client_id: &str) -> String {
        format!("{}clientgrants:{client_id}", self.prefix())
    }

    /// A `SCAN MATCH` pattern for every key of this prefix (glob characters escaped).
    pub(crate) fn scan_pattern(&self) -> String {
        let mut out = String::with_capacity(self.prefix().len() + 1);
        for c in self.prefix().chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('*');
        out
    }

    /// What a scanned key is, by its shape after the prefix.
    pub(crate) fn classify<'k>(&self, key: &'k str) -> KeyKind<'k> {
        let Some(rest) = key.strip_prefix(self.prefix()) else { return KeyKind::Other };
        if let Some(tagged) = rest.strip_prefix('{') {
            if let Some((_, tail)) = tagged.split_once('}') {
                if tail == ":grant" {
                    return KeyKind::Grant;
                }
                if tail.starts_with(":at:") {
                    return KeyKind::Access;
                }
            }
            return KeyKind::Other;
        }
        match rest.strip_prefix("client:") {
            Some(id) => KeyKind::Client(id),
            None => KeyKind::Other,
        }
    }
}

/// The kinds of keys `stats()` counts.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum KeyKind<'k> {
    Grant,
    Access,
    Client(&'k str),
    Other,
}

/// A grant as stored: [`GrantRecord`] with `props` kept as JSON text, so the
/// scripts (which decode and re-encode the grant with cjson) never touch
/// application data. Lists tolerate `{}`: cjson encodes an empty table as an object.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StoredGrant {
    id: String,
    client_id: String,
    subject: Option<String>,
    #[serde(deserialize_with = "list")]
    scopes: Vec<String>,
    resource: String,
    props: String,
    created_at: UnixTime,
    expires_at: UnixTime,
    code: Option<PendingCode>,
    refresh: Option<StoredChain>,
    #[serde(deserialize_with = "list")]
    access_tokens: Vec<IssuedAccess>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredChain {
    current: SecretDigest,
    previous: Option<SecretDigest>,
    /// Absent in grants written before it existed: 0, as in [`RefreshChain`].
    #[serde(default)]
    rotated_at: UnixTime,
    salt: String,
    #[serde(deserialize_with = "list")]
    retired: Vec<SecretDigest>,
    generation: u64,
}

/// A JSON array, or `{}` for an empty one (cjson's encoding of an empty table).
fn list<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
    match Value::deserialize(d)? {
        Value::Object(map) if map.is_empty() => Ok(Vec::new()),
        value @ Value::Array(_) => serde_json::from_value(value).map_err(D::Error::custom),
        other => Err(D::Error::custom(format!("expected a list, got {other}"))),
    }
}

/// The stored JSON of a grant.
pub(crate) fn encode_grant(grant: &GrantRecord) -> Result<String, StorageError> {
    let stored = StoredGrant {
        id: grant.id.clone(),
        client_id: grant.client_id.clone(),
        subject: grant.subject.clone(),
        scopes: grant.scopes.clone(),
        resource: grant.resource.clone(),
        props: serde_json::to_string(&grant.props).map_err(|e| corrupt(&grant.id, e))?,
        created_at: grant.created_at,
        expires_at: grant.expires_at,
        code: grant.code.clone(),
        refresh: grant.refresh.as_ref().map(|c| StoredChain {
            current: c.current,
            previous: c.previous,
            rotated_at: c.rotated_at,
            salt: c.salt.clone(),
            retired: c.retired.clone(),
            generation: c.generation,
        }),
        access_tokens: grant.access_tokens.clone(),
    };
    serde_json::to_string(&stored).map_err(|e| corrupt(&grant.id, e))
}

/// A grant from its stored JSON (`key` names it in errors).
pub(crate) fn decode_grant(key: &str, json: &str) -> Result<GrantRecord, StorageError> {
    let bad = |e: serde_json::Error| StorageError::Corrupt { key: key.to_string(), reason: e.to_string() };
    let s: StoredGrant = serde_json::from_str(json).map_err(bad)?;
    Ok(GrantRecord {
        id: s.id,
        client_id: s.client_id,
        subject: s.subject,
        scopes: s.scopes,
        resource: s.resource,
        props: serde_json::from_str(&s.props).map_err(bad)?,
        created_at: s.created_at,
        expires_at: s.expires_at,
        code: s.code,
        refresh: s.refresh.map(|c| RefreshChain {
            current: c.current,
            previous: c.previous,
            rotated_at: c.rotated_at,
            salt: c.salt,
            retired: c.retired,
            generation: c.generation,
        }),
        access_tokens: s.access_tokens,
    })
}

/// Any other record from its JSON.
pub(crate) fn decode<T: DeserializeOwned>(key: &str, json: &str) -> Result<T, StorageError> {
    serde_json::from_str(json)
        .map_err(|e| StorageError::Corrupt { key: key.to_string(), reason: e.to_string() })
}

fn corrupt(id: &str, e: serde_json::Error) -> StorageError {
    StorageError::Corrupt { key: format!("grant {id}"), reason: e.to_string() }
}

/// The store TTL of a record: `expires_at - now` seconds, at least 1.
pub(crate) fn ttl(expires_at: UnixTime, now: UnixTime) -> u64 {
    expires_at.saturating_sub(now).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> GrantRecord {
        let mut props = serde_json::Map::new();
        props.insert("empty".into(), serde_json::json!([]));
        props.insert("big".into(), serde_json::json!(12345678901234567u64));
        props.insert("nested".into(), serde_json::json!({"a": {}, "b": [1.5, "x/y"]}));
        GrantRecord {
            id: "g1".into(),
            client_id: "c1".into(),
            subject: None,
            scopes: vec![],
            resource: "https://r".into(),
            props,
            created_at: 1,
            expires_at: 2,
            code: None,
            refresh: Some(RefreshChain {
                current: SecretDigest::of("a"),
                previous: None,
                rotated_at: 1,
                salt: String::new(),
                retired: vec![],
                generation: 0,
            }),
            access_tokens: vec![],
        }
    }

    #[test]
    fn grants_round_trip_with_props_as_text() {
        let g = grant();
        let json = encode_grant(&g).unwrap();
        assert!(json.contains(r#""props":"{"#), "{json}");
        assert_eq!(decode_grant("k", &json).unwrap(), g);
    }

    #[test]
    fn cjson_empty_tables_read_as_empty_lists() {
        let g = grant();
        let mut json = encode_grant(&g).unwrap();
        for field in ["scopes", "retired", "access_tokens"] {
            json = json.replace(&format!("\"{field}\":[]"), &format!("\"{field}\":{{}}"));
        }
        assert!(json.contains(r#""scopes":{}"#) && json.contains(r#""access_tokens":{}"#));
        assert!(json.contains(r#"\"empty\":[]"#), "props keep their empty list: {json}");
        assert_eq!(decode_grant("k", &json).unwrap(), g);
        let bad = json.replace(r#""scopes":{}"#, r#""scopes":{"x":1}"#);
        assert!(matches!(decode_grant("k", &bad), Err(StorageError::Corrupt { .. })));
    }

    #[test]
    fn a_chain_stored_before_rotated_at_reads_0() {
        let json = encode_grant(&grant()).unwrap().replace(r#""rotated_at":1,"#, "");
        assert!(!json.contains("rotated_at"), "{json}");
        assert_eq!(decode_grant("k", &json).unwrap().refresh.unwrap().rotated_at, 0);
    }

    #[test]
    fn keys_share_the_grant_hash_tag() {
        let k = Keys::new("oauth:");
        assert_eq!(k.grant("abc"), "oauth:{abc}:grant");
        assert_eq!(
            k.access("abc", &SecretDigest::of("t")),
            format!("oauth:{{abc}}:at:{}", SecretDigest::of("t").to_hex())
        );
        assert_eq!(k.classify("oauth:{abc}:grant"), KeyKind::Grant);
        assert_eq!(k.classify(&k.access("abc", &SecretDigest::of("t"))), KeyKind::Access);
        assert_eq!(k.classify("oauth:client:c1"), KeyKind::Client("c1"));
        assert_eq!(k.classify("oauth:subject:alice"), KeyKind::Other);
        assert_eq!(Keys::new("a*b:").scan_pattern(), "a\\*b:*");
        assert_eq!(ttl(10, 20), 1);
        assert_eq!(ttl(1_700_000_600, 1_700_000_000), 600);
    }
}
