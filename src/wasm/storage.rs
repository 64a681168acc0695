//! Storage objects as JS sees them (the seed's `InMemoryStorage`): `connect`,
//! `disconnect`, `healthCheck`, `getStats`, `listClients`.
//!
//! A provider finds the Rust store behind a JS storage object through a small
//! registry keyed by the object's hidden `__storageId`: wasm-bindgen cannot
//! borrow one exported object from inside another's arguments.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::Arc;

use js_sys::{Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::config::storage_options;
use super::errors::{config_error, js_error, to_js};
use crate::clock::{Clock, SystemClock};
use crate::storage::{MemoryStorage, Storage};

/// A store shared by a JS storage object and the providers using it.
pub(crate) type SharedStorage = Arc<dyn Storage>;

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

use std::rc::Rc;

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
        future_to_promise(async move {
            let health = store.health().await;
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
        future_to_promise(async move { to_js(&store.health().await) })
    }

    pub(crate) fn get_stats(&self) -> Promise {
        let store = self.store.clone();
        future_to_promise(async move {
            let stats = store
                .stats(SystemClock.now())
                .await
                .map_err(|e| js_error(&e.to_string(), Some("storage")))?;
            to_js(&stats)
        })
    }

    pub(crate) fn list_clients(&self) -> Promise {
        let store = self.store.clone();
        future_to_promise(async move {
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
        let options = options.unwrap_or(JsValue::UNDEFINED);
        let (name, _debug) = storage_options(&options, "InMemoryStorage").map_err(config_error)?;
        let store: SharedStorage = Arc::new(MemoryStorage::named(name.clone()));
        Ok(Self { core: StorageCore::new(name, store) })
    }

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

    /// `{ tokenCount, refreshTokenCount, authorizationCodeCount, clientCount, memoryUsage }`.
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
