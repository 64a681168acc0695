//! The conformance suite in wasm on the stores of the JS API: the in-module
//! map behind `InMemoryStorage`, and `KvStorage` over JS hosts (a Map with
//! atomics; a Workers-KV-like store without atomics and a 60 s minimum TTL).
//! Runs under wasm-bindgen-test in Node and in headless Chromium.
#![cfg(target_arch = "wasm32")]

use simply_mcp_oauth::storage::KvStorage;
use simply_mcp_oauth::wasm::{memory_store, JsKvHost, SharedStorage};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export function map_host(atomic, minTtl) {
  const map = new Map();
  const host = {
    map,
    capabilities: () => ({ atomic, minTtlSeconds: minTtl, consistentReads: true }),
    get: async (key) => map.get(key) ?? null,
    put: async (key, value, ttl) => {
      if (ttl !== 0 && ttl < minTtl) throw new Error(`TTL ${ttl} is below the minimum ${minTtl}`);
      map.set(key, value);
    },
    delete: async (key) => { map.delete(key); },
    list: async (prefix, cursor, limit) => {
      const keys = [...map.keys()].filter((k) => k.startsWith(prefix)).sort();
      const start = cursor ? Number(cursor) : 0;
      return { keys: keys.slice(start, start + limit), cursor: start + limit < keys.length ? String(start + limit) : null };
    },
  };
  if (atomic) {
    // Versions from one counter; each call awaits once, so requests interleave.
    const versions = new Map();
    let last = 0;
    const plainPut = host.put;
    host.put = async (key, value, ttl) => { await plainPut(key, value, ttl); versions.set(key, String(++last)); };
    host.delete = async (key) => { map.delete(key); versions.delete(key); };
    host.getVersioned = async (key) => (map.has(key) ? { value: map.get(key), version: versions.get(key) } : null);
    host.commit = async (checks, mutations) => {
      await null;
      if (!checks.every((c) => (versions.get(c.key) ?? null) === c.version)) return false;
      for (const m of mutations) {
        if (m.type === 'set') { map.set(m.key, m.value); versions.set(m.key, String(++last)); }
        else { map.delete(m.key); versions.delete(m.key); }
      }
      return true;
    };
  }
  return host;
}
export function dump_host(host) { return JSON.stringify([...host.map]); }
"#)]
extern "C" {
    fn map_host(atomic: bool, min_ttl: u32) -> JsValue;
    fn dump_host(host: &JsValue) -> String;
}

async fn dump(storage: &KvStorage<JsKvHost>) -> String {
    dump_host(storage.host().object())
}

mod atomic_map {
    use super::*;

    async fn make() -> KvStorage<JsKvHost> {
        KvStorage::with_default_prefix(JsKvHost::new(map_host(true, 1)).unwrap())
    }

    simply_mcp_oauth::conformance_suite!(make = make, dump = dump);
}

mod workers_like {
    use super::*;

    async fn make() -> KvStorage<JsKvHost> {
        KvStorage::with_default_prefix(JsKvHost::new(map_host(false, 60)).unwrap())
    }

    simply_mcp_oauth::conformance_suite!(make = make, dump = dump, atomic = false);
}

mod in_memory_storage {
    use super::*;

    async fn make() -> SharedStorage {
        memory_store("InMemoryStorage".into())
    }

    async fn dump(storage: &SharedStorage) -> String {
        format!("{storage:?}")
    }

    simply_mcp_oauth::conformance_suite!(make = make, dump = dump);
}
