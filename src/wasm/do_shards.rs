//! DO shards: the Durable Object namespace as a [`ShardTransport`], how a Worker's
//! `ShardedStorage` reaches the object that owns a grant (its `run(request)`
//! RPC method). Kept apart from the JS classes (`durable.rs`, `storage.rs`),
//! which both use it, so that neither of those imports the other.

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::config::StorageOptions;
use crate::storage::{ShardTransport, StorageError};

/// The shards of a Durable Object namespace: object `<keyPrefix>shard-<n>`
/// for shard `n`, reached through its `run(request)` RPC method.
pub struct DurableObjectShards {
    namespace: JsValue,
    id_from_name: Function,
    get: Function,
    names: Vec<String>,
    /// Object ids, made on first use. Stubs are made per call: a stub is an
    /// I/O object, and Workers refuse I/O through one made by another request.
    ids: std::cell::RefCell<Vec<Option<JsValue>>>,
}

impl std::fmt::Debug for DurableObjectShards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DurableObjectShards({} shards)", self.names.len())
    }
}

fn method(object: &JsValue, name: &str) -> Option<Function> {
    Reflect::get(object, &name.into()).ok()?.dyn_into::<Function>().ok()
}

fn unavailable(shard: u32, error: &JsValue) -> StorageError {
    let reason = error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "the object threw".into());
    StorageError::Unavailable(format!("storage shard {shard}: {reason}"))
}

impl DurableObjectShards {
    pub(crate) fn new(namespace: JsValue, options: &StorageOptions) -> Result<Self, String> {
        let (Some(id_from_name), Some(get)) = (method(&namespace, "idFromName"), method(&namespace, "get"))
        else {
            return Err(
                "DurableObjectStorage needs a Durable Object namespace binding (env.OAUTH_STORE)".into()
            );
        };
        let names = (0..options.shards).map(|n| format!("{}shard-{n}", options.key_prefix)).collect();
        let ids = std::cell::RefCell::new(vec![None; options.shards as usize]);
        Ok(Self { namespace, id_from_name, get, names, ids })
    }

    fn stub(&self, shard: u32) -> Result<JsValue, JsValue> {
        let cached = self.ids.borrow().get(shard as usize).cloned().flatten();
        let id = match cached {
            Some(id) => id,
            None => {
                let name =
                    self.names.get(shard as usize).ok_or_else(|| JsValue::from_str("no such shard"))?;
                let id = self.id_from_name.call1(&self.namespace, &name.into())?;
                self.ids.borrow_mut()[shard as usize] = Some(id.clone());
                id
            }
        };
        self.get.call1(&self.namespace, &id)
    }
}

#[async_trait::async_trait(?Send)]
impl ShardTransport for DurableObjectShards {
    fn shard_count(&self) -> u32 {
        self.names.len() as u32
    }

    async fn send(&self, shard: u32, request: String) -> Result<String, StorageError> {
        let stub = self.stub(shard).map_err(|e| unavailable(shard, &e))?;
        let run =
            method(&stub, "run").ok_or_else(|| unavailable(shard, &"the object has no run()".into()))?;
        // `Reflect.apply`, not `run.call(...)`: on an RPC stub, `.call` is
        // itself a remote property and would send the stub as an argument.
        let args = js_sys::Array::of1(&request.into());
        let returned = Reflect::apply(&run, &stub, &args).map_err(|e| unavailable(shard, &e))?;
        let reply = JsFuture::from(Promise::resolve(&returned)).await.map_err(|e| unavailable(shard, &e))?;
        reply.as_string().ok_or_else(|| unavailable(shard, &"run() must resolve to a string".into()))
    }
}
