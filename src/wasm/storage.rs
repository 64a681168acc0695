//! Storage objects as JS sees them (the seed's `InMemoryStorage`): `connect`,
//! `disconnect`, `healthCheck`, `getStats`, `listClients`.
//!
//! A provider finds the Rust store behind a JS storage object through a small
//! registry keyed by the object's hidden `__storageId`: wasm-bindgen cannot
//! borrow one exported object from inside another's arguments.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use super::promise;
use js_sys::{Promise, Reflect};
use wasm_bindgen::prelude::*;

use super::config::StorageOptions;
use super::convert::to_js;
use super::do_shards::DurableObjectShards;
use super::errors::{config_error, js_error};
use super::kv_host::JsKvHost;
use super::memory_host::{MemoryHost, CAPABILITIES};
use crate::clock::{Clock, SystemClock, UnixTime};
use crate::crypto::SecretDigest;
use crate::storage::{forward_to, storage_arg, storage_method, storage_surface, StorageFuture};
use crate::storage::{
    AccessRecord, ClientRecord, CodeExpectation, CodeOutcome, GrantRecord, HealthCheck, KvCapabilities,
    KvCheck, KvError, KvHost, KvMutation, KvPage, KvStorage, NewAccess, Redemption, RotateOutcome, Rotation,
    ShardedStorage, Storage, StorageError, StorageStats, Versioned,
};

/// The one store type of the JS API: `KvStorage` over an in-module map
/// (`InMemoryStorage`) or over a JS host object (`KvStorage`), or the
/// Durable Object shards (`DurableObjectStorage`). One type for every
/// provider keeps the module small; clones share the host.
#[derive(Clone, Debug)]
pub enum SharedStorage {
    /// `InMemoryStorage` and `KvStorage`.
    Kv(KvStorage<Host>),
    /// `DurableObjectStorage`.
    Sharded(Rc<ShardedStorage<DurableObjectShards>>),
}

/// Calls the same method on whichever store this is.
macro_rules! on_store {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            SharedStorage::Kv($store) => $call,
            SharedStorage::Sharded($store) => $call,
        }
    };
}

/// Each call goes to the store's own method, whose future is returned as
/// is: an `async` block per method (what `async_trait` writes) would be one
/// more state machine per method in the module.
impl Storage for SharedStorage {
    storage_surface!(forward_to! { (self) => on on_store });

    fn consistency_window(&self) -> Option<u64> {
        on_store!(self, s => s.consistency_window())
    }
}

/// Where a [`SharedStorage`] keeps its keys; clones share it. `Debug` shows
/// every stored key and value (digests only: no secret is ever stored).
#[derive(Clone)]
pub struct Host(Rc<HostKind>);

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &*self.0 {
            HostKind::Memory(map) => map.fmt(f),
            HostKind::Js(_) => f.write_str("Host(JS object)"),
        }
    }
}

enum HostKind {
    Memory(MemoryHost),
    Js(JsKvHost),
}

#[async_trait::async_trait(?Send)]
impl KvHost for Host {
    async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        match &*self.0 {
            HostKind::Memory(map) => Ok(map.get(key)),
            HostKind::Js(js) => js.kv_get(key).await,
        }
    }

    async fn put(&self, key: &str, value: &str, ttl_seconds: u64) -> Result<(), KvError> {
        match &*self.0 {
            HostKind::Memory(map) => {
                map.put(key, value, ttl_seconds);
                Ok(())
            }
            HostKind::Js(js) => js.kv_put(key, value, ttl_seconds).await,
        }
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        match &*self.0 {
            HostKind::Memory(map) => {
                map.delete(key);
                Ok(())
            }
            HostKind::Js(js) => js.kv_delete(key).await,
        }
    }

    async fn list(&self, prefix: &str, cursor: Option<String>, limit: u32) -> Result<KvPage, KvError> {
        match &*self.0 {
            HostKind::Memory(map) => Ok(map.list(prefix, cursor, limit)),
            HostKind::Js(js) => js.kv_list(prefix, cursor, limit).await,
        }
    }

    async fn get_versioned(&self, key: &str) -> Result<Option<Versioned>, KvError> {
        match &*self.0 {
            HostKind::Memory(map) => Ok(map.get_versioned(key)),
            HostKind::Js(js) => js.kv_get_versioned(key).await,
        }
    }

    async fn commit(&self, checks: &[KvCheck], mutations: &[KvMutation]) -> Result<bool, KvError> {
        match &*self.0 {
            HostKind::Memory(map) => Ok(map.commit(checks, mutations)),
            HostKind::Js(js) => js.kv_commit(checks, mutations).await,
        }
    }

    fn capabilities(&self) -> KvCapabilities {
        match &*self.0 {
            HostKind::Memory(_) => CAPABILITIES,
            HostKind::Js(js) => js.capabilities(),
        }
    }
}

/// An in-module store named `name`: what the JS `InMemoryStorage` runs on
/// (public for the wasm conformance tests).
pub fn memory_store(name: String) -> SharedStorage {
    SharedStorage::Kv(KvStorage::with_default_prefix(Host(Rc::new(HostKind::Memory(MemoryHost::new(name))))))
}

/// The store's health in the seed's shape: an in-module store reports like
/// `InMemoryStorage`, a host store like `KvStorage`, the shards with
/// `"backend": "durable-object"`.
pub(crate) async fn health(store: &SharedStorage) -> HealthCheck {
    match store {
        SharedStorage::Kv(kv) => match &*kv.host().0 {
            HostKind::Memory(map) => map.health(),
            HostKind::Js(_) => kv.health().await,
        },
        SharedStorage::Sharded(sharded) => {
            let mut health = sharded.health().await;
            health.components.insert("backend".into(), "durable-object".into());
            health
        }
    }
}

thread_local! {
    static REGISTRY: RefCell<HashMap<u32, SharedStorage>> = RefCell::new(HashMap::new());
    static NEXT_ID: Cell<u32> = const { Cell::new(1) };
}

/// What every JS storage class holds.
pub(crate) struct StorageCore {
    id: u32,
    name: String,
    store: SharedStorage,
    connected: Rc<Cell<bool>>,
}

impl StorageCore {
    pub(crate) fn new(name: String, store: SharedStorage) -> Self {
        let id = NEXT_ID.with(|next| {
            let id = next.get();
            next.set(id.wrapping_add(1).max(1));
            id
        });
        REGISTRY.with(|registry| registry.borrow_mut().insert(id, store.clone()));
        Self { id, name, store, connected: Rc::new(Cell::new(false)) }
    }

    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    pub(crate) fn connect(&self) -> Promise {
        let (connected, store) = (self.connected.clone(), self.store.clone());
        promise(async move {
            let health = health(&store).await;
            if !health.healthy {
                return Err(js_error(&format!("could not connect: {}", health.message), Some("unavailable")));
            }
            connected.set(true);
            Ok(JsValue::UNDEFINED)
        })
    }

    pub(crate) fn disconnect(&self) -> Promise {
        self.connected.set(false);
        Promise::resolve(&JsValue::UNDEFINED)
    }

    pub(crate) fn health_check(&self) -> Promise {
        let store = self.store.clone();
        promise(async move { to_js(&health(&store).await) })
    }

    pub(crate) fn get_stats(&self) -> Promise {
        let store = self.store.clone();
        promise(async move {
            let mut stats = store
                .stats(SystemClock.now())
                .await
                .map_err(|e| js_error(&e.to_string(), Some("storage")))?;
            if let SharedStorage::Kv(kv) = &store {
                if let HostKind::Memory(map) = &*kv.host().0 {
                    stats.memory_usage = Some(map.memory_usage());
                }
            }
            to_js(&stats)
        })
    }

    pub(crate) fn list_clients(&self) -> Promise {
        let store = self.store.clone();
        promise(async move {
            let ids = store.list_clients().await.map_err(|e| js_error(&e.to_string(), Some("storage")))?;
            to_js(&ids)
        })
    }

    pub(crate) fn name(&self) -> String {
        self.name.clone()
    }
}

impl Drop for StorageCore {
    fn drop(&mut self) {
        REGISTRY.with(|registry| registry.borrow_mut().remove(&self.id));
    }
}

/// The store behind a JS storage object (`config.storage`).
pub(crate) fn lookup(object: &JsValue) -> Result<SharedStorage, JsValue> {
    let id = Reflect::get(object, &"__storageId".into()).ok().and_then(|v| v.as_f64());
    let found = id.and_then(|id| REGISTRY.with(|registry| registry.borrow().get(&(id as u32)).cloned()));
    found.ok_or_else(|| {
        js_error(
            "storage must be an InMemoryStorage or KvStorage from this package",
            Some("invalid_configuration"),
        )
    })
}

/// The methods every JS storage class shares (the seed's storage API).
macro_rules! storage_methods {
    ($rust:ident, $js:literal) => {
        #[wasm_bindgen(js_class = $js)]
        impl $rust {
            /// Registry id read by providers.
            #[wasm_bindgen(getter = __storageId)]
            pub fn storage_id(&self) -> u32 {
                self.core.id()
            }

            /// The name given at construction.
            #[wasm_bindgen(getter)]
            pub fn name(&self) -> String {
                self.core.name()
            }

            /// Resolves when the store answers.
            pub fn connect(&self) -> Promise {
                self.core.connect()
            }

            /// Idempotent.
            pub fn disconnect(&self) -> Promise {
                self.core.disconnect()
            }

            /// `{ healthy, message, responseTimeMs, timestamp, components }`; never rejects.
            #[wasm_bindgen(js_name = healthCheck)]
            pub fn health_check(&self) -> Promise {
                self.core.health_check()
            }

            /// `{ tokenCount, refreshTokenCount, authorizationCodeCount, clientCount, ... }`.
            #[wasm_bindgen(js_name = getStats)]
            pub fn get_stats(&self) -> Promise {
                self.core.get_stats()
            }

            /// The ids of every client.
            #[wasm_bindgen(js_name = listClients)]
            pub fn list_clients(&self) -> Promise {
                self.core.list_clients()
            }
        }
    };
}

/// Process-local storage (the default).
#[wasm_bindgen(js_name = InMemoryStorage)]
pub struct JsInMemoryStorage {
    core: StorageCore,
}

#[wasm_bindgen(js_class = InMemoryStorage)]
impl JsInMemoryStorage {
    /// `new InMemoryStorage({ name, debug })`.
    #[wasm_bindgen(constructor)]
    pub fn new(options: Option<JsValue>) -> Result<JsInMemoryStorage, JsValue> {
        let options = StorageOptions::read(&options.unwrap_or(JsValue::UNDEFINED), "InMemoryStorage")
            .map_err(config_error)?;
        let store = memory_store(options.name.clone());
        Ok(Self { core: StorageCore::new(options.name, store) })
    }
}

pub(crate) use storage_methods;

storage_methods!(JsInMemoryStorage, "InMemoryStorage");

/// Storage on a host key-value store (`wit/` `interface kv`): Workers KV,
/// Deno KV, or any object with the same methods.
#[wasm_bindgen(js_name = KvStorage)]
pub struct JsKvStorage {
    core: StorageCore,
}

#[wasm_bindgen(js_class = KvStorage)]
impl JsKvStorage {
    /// `new KvStorage(host, { keyPrefix, name, debug })`.
    #[wasm_bindgen(constructor)]
    pub fn new(host: JsValue, options: Option<JsValue>) -> Result<JsKvStorage, JsValue> {
        let options = StorageOptions::read(&options.unwrap_or(JsValue::UNDEFINED), "KvStorage")
            .map_err(config_error)?;
        let host = JsKvHost::new(host).map_err(|e| js_error(&e, Some("invalid_configuration")))?;
        let store = SharedStorage::Kv(KvStorage::new(Host(Rc::new(HostKind::Js(host))), options.key_prefix));
        Ok(Self { core: StorageCore::new(options.name, store) })
    }
}

storage_methods!(JsKvStorage, "KvStorage");
