//! A JS object as a [`KvHost`]: the functions of `interface kv` in `wit/`,
//! called by their JS names (`KV_FUNCTIONS`), each free to return a value or a
//! promise. A throw or a
//! rejection becomes `KvError::Unavailable` (a 503 at the endpoints), never a
//! trap.

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::storage::{KvCapabilities, KvCheck, KvError, KvHost, KvMutation, KvPage, Versioned, KV_FUNCTIONS};

/// A host object such as the package's Workers KV or Deno KV adapter.
///
/// The JS `KvStorage` class reaches it through the module's one store type;
/// as a [`KvHost`] of its own it serves Rust code and tests in wasm.
pub struct JsKvHost {
    object: JsValue,
    capabilities: KvCapabilities,
}

impl JsKvHost {
    /// Wraps `object`, reading its `capabilities()` once.
    pub fn new(object: JsValue) -> Result<Self, String> {
        for required in ["get", "put", "delete", "list"].map(js_name) {
            if method(&object, required).is_none() {
                return Err(format!("the key-value host has no {required}() method"));
            }
        }
        let mut capabilities = KvCapabilities::default();
        if let Some(function) = method(&object, js_name("capabilities")) {
            let value = function.call0(&object).map_err(|e| describe(&e))?;
            let field = |name: &str| Reflect::get(&value, &name.into()).unwrap_or(JsValue::UNDEFINED);
            capabilities.atomic = field("atomic").as_bool().unwrap_or(false);
            capabilities.consistent_reads = field("consistentReads").as_bool().unwrap_or(false);
            if let Some(min) = field("minTtlSeconds").as_f64().filter(|m| *m >= 0.0) {
                capabilities.min_ttl_seconds = min as u64;
            }
        }
        let versioned = method(&object, js_name("get_versioned")).is_some();
        let commits = method(&object, js_name("commit")).is_some();
        if capabilities.atomic && !(versioned && commits) {
            return Err("a host that says it is atomic must have getVersioned() and commit()".into());
        }
        Ok(Self { object, capabilities })
    }

    /// The JS object.
    pub fn object(&self) -> &JsValue {
        &self.object
    }

    /// Calls the JS method that implements the `KvHost` method `rust_name`.
    async fn call(&self, rust_name: &str, args: &[JsValue]) -> Result<JsValue, KvError> {
        let name = js_name(rust_name);
        let function = method(&self.object, name).ok_or_else(|| KvError::Unsupported(name.to_string()))?;
        let array: js_sys::Array = args.iter().collect();
        let returned = function
            .apply(&self.object, &array)
            .map_err(|e| KvError::Unavailable(format!("{name}: {}", describe(&e))))?;
        JsFuture::from(Promise::resolve(&returned))
            .await
            .map_err(|e| KvError::Unavailable(format!("{name}: {}", describe(&e))))
    }
}

/// The JS name of a `KvHost` method, from `KV_FUNCTIONS`: the list a test
/// checks against `wit/`, so this glue calls exactly what the WIT declares.
fn js_name(rust_name: &str) -> &'static str {
    KV_FUNCTIONS.iter().find(|f| f.rust == rust_name).map_or("", |f| f.js)
}

fn method(object: &JsValue, name: &str) -> Option<Function> {
    Reflect::get(object, &name.into()).ok()?.dyn_into::<Function>().ok()
}

/// A thrown value as text (an `Error`'s message, or the value itself).
fn describe(error: &JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "the host threw a non-Error value".into())
}

fn optional_string(value: JsValue, name: &str) -> Result<Option<String>, KvError> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value
        .as_string()
        .map(Some)
        .ok_or_else(|| KvError::Unavailable(format!("{name} must resolve to a string or null")))
}

/// The `interface kv` calls, as inherent methods so that the module's store
/// (`super::storage::Host`) calls them without boxing a future per call.
impl JsKvHost {
    pub(crate) async fn kv_get(&self, key: &str) -> Result<Option<String>, KvError> {
        optional_string(self.call("get", &[key.into()]).await?, "get")
    }

    pub(crate) async fn kv_put(&self, key: &str, value: &str, ttl_seconds: u64) -> Result<(), KvError> {
        self.call("put", &[key.into(), value.into(), (ttl_seconds as f64).into()]).await.map(|_| ())
    }

    pub(crate) async fn kv_delete(&self, key: &str) -> Result<(), KvError> {
        self.call("delete", &[key.into()]).await.map(|_| ())
    }

    pub(crate) async fn kv_list(
        &self,
        prefix: &str,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<KvPage, KvError> {
        let cursor = cursor.map(JsValue::from).unwrap_or(JsValue::NULL);
        let page = self.call("list", &[prefix.into(), cursor, limit.into()]).await?;
        let keys = Reflect::get(&page, &"keys".into()).unwrap_or(JsValue::UNDEFINED);
        let keys: js_sys::Array = keys
            .dyn_into()
            .map_err(|_| KvError::Unavailable("list must resolve to { keys: string[] }".into()))?;
        let keys = keys
            .iter()
            .map(|k| k.as_string().ok_or_else(|| KvError::Unavailable("list keys must be strings".into())))
            .collect::<Result<_, _>>()?;
        let cursor =
            optional_string(Reflect::get(&page, &"cursor".into()).unwrap_or(JsValue::NULL), "list cursor")?;
        Ok(KvPage { keys, cursor })
    }

    /// `getVersioned(key)`: `{ value, version }` or null. A host without
    /// it (one that is not atomic) is read with `get` and the empty version.
    pub(crate) async fn kv_get_versioned(&self, key: &str) -> Result<Option<Versioned>, KvError> {
        if method(&self.object, js_name("get_versioned")).is_none() {
            return Ok(self.kv_get(key).await?.map(|value| Versioned { value, version: String::new() }));
        }
        let entry = self.call("get_versioned", &[key.into()]).await?;
        if entry.is_null() || entry.is_undefined() {
            return Ok(None);
        }
        let field = |name: &str| Reflect::get(&entry, &name.into()).unwrap_or(JsValue::UNDEFINED);
        let (value, version) = (field("value").as_string(), field("version").as_string());
        match (value, version) {
            (Some(value), Some(version)) => Ok(Some(Versioned { value, version })),
            _ => Err(KvError::Unavailable(
                "getVersioned must resolve to { value, version } strings or null".into(),
            )),
        }
    }

    /// `commit(checks, mutations)`: checks are `{ key, version }` (`null`:
    /// absent), mutations `{ type: 'set', key, value, ttlSeconds }` or
    /// `{ type: 'delete', key }`. A host without it is written key by key.
    pub(crate) async fn kv_commit(
        &self,
        checks: &[KvCheck],
        mutations: &[KvMutation],
    ) -> Result<bool, KvError> {
        if method(&self.object, js_name("commit")).is_none() {
            for mutation in mutations {
                match mutation {
                    KvMutation::Set { key, value, ttl_seconds } => {
                        self.kv_put(key, value, *ttl_seconds).await?
                    }
                    KvMutation::Delete { key } => self.kv_delete(key).await?,
                }
            }
            return Ok(true);
        }
        let checks: js_sys::Array = checks
            .iter()
            .map(|check| {
                let version = check.version.as_deref().map_or(JsValue::NULL, JsValue::from);
                object(&[("key", check.key.as_str().into()), ("version", version)])
            })
            .collect();
        let mutations: js_sys::Array = mutations
            .iter()
            .map(|mutation| match mutation {
                KvMutation::Set { key, value, ttl_seconds } => object(&[
                    ("type", "set".into()),
                    ("key", key.as_str().into()),
                    ("value", value.as_str().into()),
                    ("ttlSeconds", (*ttl_seconds as f64).into()),
                ]),
                KvMutation::Delete { key } => {
                    object(&[("type", "delete".into()), ("key", key.as_str().into())])
                }
            })
            .collect();
        let done = self.call("commit", &[checks.into(), mutations.into()]).await?;
        done.as_bool().ok_or_else(|| KvError::Unavailable("commit must resolve to a boolean".into()))
    }
}

/// A plain JS object with these fields.
fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let object = js_sys::Object::new();
    for (name, value) in fields {
        let _ = Reflect::set(&object, &(*name).into(), value);
    }
    object.into()
}

#[async_trait::async_trait(?Send)]
impl KvHost for JsKvHost {
    async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        self.kv_get(key).await
    }

    async fn put(&self, key: &str, value: &str, ttl_seconds: u64) -> Result<(), KvError> {
        self.kv_put(key, value, ttl_seconds).await
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.kv_delete(key).await
    }

    async fn list(&self, prefix: &str, cursor: Option<String>, limit: u32) -> Result<KvPage, KvError> {
        self.kv_list(prefix, cursor, limit).await
    }

    async fn get_versioned(&self, key: &str) -> Result<Option<Versioned>, KvError> {
        self.kv_get_versioned(key).await
    }

    async fn commit(&self, checks: &[KvCheck], mutations: &[KvMutation]) -> Result<bool, KvError> {
        self.kv_commit(checks, mutations).await
    }

    fn capabilities(&self) -> KvCapabilities {
        self.capabilities
    }
}
