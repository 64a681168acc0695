//! Durable Objects as storage shards (JS `DurableObjectStorage` on the
//! Worker side, `executeStorageOperation` inside each object).
//!
//! The Worker sends each storage operation, encoded, to the object that owns
//! it (`storage::ShardedStorage` picks the shard from the grant id); the
//! object runs it with `KvStorage` over its own SQLite storage and answers.
//! One RPC per token-endpoint operation; the object's versioned read and
//! commit are local, synchronous SQL.

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use super::promise;

use super::config::StorageOptions;
use super::do_shards::DurableObjectShards;
use super::errors::{config_error, js_error};
use super::storage::{lookup, SharedStorage, StorageCore};
use crate::storage::{execute, ShardedStorage};

/// Storage on Durable Objects, sharded by grant (`new DurableObjectStorage(env.OAUTH_STORE, { shards })`).
#[wasm_bindgen(js_name = DurableObjectStorage)]
pub struct JsDurableObjectStorage {
    core: StorageCore,
}

#[wasm_bindgen(js_class = DurableObjectStorage)]
impl JsDurableObjectStorage {
    /// `new DurableObjectStorage(namespace, { shards, keyPrefix, name, debug })`.
    #[wasm_bindgen(constructor)]
    pub fn new(namespace: JsValue, options: Option<JsValue>) -> Result<JsDurableObjectStorage, JsValue> {
        let options = StorageOptions::read(&options.unwrap_or(JsValue::UNDEFINED), "DurableObjectStorage")
            .map_err(config_error)?;
        let shards = DurableObjectShards::new(namespace, &options)
            .map_err(|e| js_error(&e, Some("invalid_configuration")))?;
        let store = SharedStorage::Sharded(std::rc::Rc::new(ShardedStorage::new(shards)));
        Ok(Self { core: StorageCore::new(options.name, store) })
    }
}

super::storage::storage_methods!(JsDurableObjectStorage, "DurableObjectStorage");

/// Inside a Durable Object: runs one encoded storage operation (sent by a
/// `DurableObjectStorage`) on `storage`, the object's `KvStorage`, and
/// resolves to the encoded reply. Store failures are in the reply, not thrown.
#[wasm_bindgen(js_name = executeStorageOperation)]
pub fn execute_storage_operation(storage: &JsValue, request: String) -> Result<Promise, JsValue> {
    let store = lookup(storage)?;
    Ok(promise(async move { Ok(execute(&store, &request).await.into()) }))
}
