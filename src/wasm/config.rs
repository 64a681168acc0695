//! The seed's JS configuration object, read field by field so every error
//! names the field (`clients[0].redirectUris must be an array of strings`).

use js_sys::{Array, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::config::{ClientConfig, ConfigError, ProviderConfig};

/// Issuer used when the config names none: fine for local development only.
pub(crate) const DEFAULT_ISSUER: &str = "http://localhost";

/// A value found at a path of the configuration object (or of another object
/// handed in from JS, such as an approval).
pub(super) struct Field {
    path: String,
    value: JsValue,
}

impl Field {
    /// The object JS handed in as `name`.
    pub(super) fn root(name: &str, value: JsValue) -> Field {
        Field { path: name.to_string(), value }
    }

    pub(super) fn child(&self, key: &str) -> Field {
        let value = if self.value.is_object() {
            Reflect::get(&self.value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
        } else {
            JsValue::UNDEFINED
        };
        let path = if self.path.is_empty() { key.to_string() } else { format!("{}.{key}", self.path) };
        Field { path, value }
    }

    /// The value itself.
    pub(super) fn value(&self) -> &JsValue {
        &self.value
    }

    /// `Ok` for an object; `must be an object` otherwise.
    pub(super) fn object(&self) -> Result<(), ConfigError> {
        if self.value.is_object() {
            Ok(())
        } else {
            Err(self.error("must be an object"))
        }
    }

    pub(super) fn absent(&self) -> bool {
        self.value.is_undefined() || self.value.is_null()
    }

    pub(super) fn error(&self, reason: &str) -> ConfigError {
        ConfigError::new(self.path.clone(), reason)
    }

    pub(super) fn opt_string(&self) -> Result<Option<String>, ConfigError> {
        if self.absent() {
            return Ok(None);
        }
        self.value.as_string().map(Some).ok_or_else(|| self.error("must be a string"))
    }

    pub(super) fn string(&self) -> Result<String, ConfigError> {
        self.opt_string()?.ok_or_else(|| self.error("is required"))
    }

    fn items(&self, what: &str) -> Result<Vec<Field>, ConfigError> {
        let array: &Array = self.value.dyn_ref().ok_or_else(|| self.error(what))?;
        Ok(array
            .iter()
            .enumerate()
            .map(|(i, value)| Field { path: format!("{}[{i}]", self.path), value })
            .collect())
    }

    pub(super) fn opt_strings(&self) -> Result<Option<Vec<String>>, ConfigError> {
        if self.absent() {
            return Ok(None);
        }
        const WHAT: &str = "must be an array of strings";
        let items = self.items(WHAT)?;
        let strings: Option<Vec<String>> = items.iter().map(|item| item.value.as_string()).collect();
        strings.map(Some).ok_or_else(|| self.error(WHAT))
    }

    fn strings(&self) -> Result<Vec<String>, ConfigError> {
        self.opt_strings()?.ok_or_else(|| self.error("must be an array of strings"))
    }

    fn seconds(&self, default: u64) -> Result<u64, ConfigError> {
        self.whole_seconds(default, 1.0, "must be a positive whole number of seconds")
    }

    /// Like [`seconds`](Self::seconds), but 0 is allowed (it means "none").
    fn seconds_or_zero(&self, default: u64) -> Result<u64, ConfigError> {
        self.whole_seconds(default, 0.0, "must be a whole number of seconds, 0 or more")
    }

    /// A whole number of seconds from `min` up, `default` when absent.
    fn whole_seconds(&self, default: u64, min: f64, refusal: &str) -> Result<u64, ConfigError> {
        if self.absent() {
            return Ok(default);
        }
        match self.value.as_f64() {
            Some(n) if n.fract() == 0.0 && (min..=9.0e15).contains(&n) => Ok(n as u64),
            _ => Err(self.error(refusal)),
        }
    }

    fn opt_bool(&self, default: bool) -> Result<bool, ConfigError> {
        if self.absent() {
            return Ok(default);
        }
        self.value.as_bool().ok_or_else(|| self.error("must be true or false"))
    }

    /// A whole number in `1..=max`, or `default` when absent.
    fn count(&self, default: u32, max: u32) -> Result<u32, ConfigError> {
        if self.absent() {
            return Ok(default);
        }
        match self.value.as_f64() {
            Some(n) if n.fract() == 0.0 && (1.0..=f64::from(max)).contains(&n) => Ok(n as u32),
            _ => Err(self.error(&format!("must be a whole number from 1 to {max}"))),
        }
    }
}

/// Reads a provider configuration (everything but `storage`) and validates it.
pub(crate) fn provider_config(value: &JsValue) -> Result<ProviderConfig, ConfigError> {
    let root = Field { path: String::new(), value: value.clone() };
    if !root.value.is_object() {
        return Err(ConfigError::new("config", "must be an object"));
    }
    let issuer = root.child("issuer").opt_string()?.unwrap_or_else(|| DEFAULT_ISSUER.to_string());
    let defaults = ProviderConfig::new(issuer);
    let clients_field = root.child("clients");
    let clients = if clients_field.absent() {
        Vec::new()
    } else {
        clients_field.items("must be an array")?.iter().map(client).collect::<Result<_, _>>()?
    };
    let config = ProviderConfig {
        resource: root.child("resource").opt_string()?,
        extra_resources: root.child("extraResources").opt_strings()?.unwrap_or_default(),
        clients,
        scopes_supported: root.child("scopesSupported").opt_strings()?,
        token_expiration: root.child("tokenExpiration").seconds(defaults.token_expiration)?,
        refresh_token_expiration: root
            .child("refreshTokenExpiration")
            .seconds(defaults.refresh_token_expiration)?,
        refresh_grace_seconds: root
            .child("refreshGraceSeconds")
            .seconds_or_zero(defaults.refresh_grace_seconds)?,
        code_expiration: root.child("codeExpiration").seconds(defaults.code_expiration)?,
        allow_dynamic_registration: root
            .child("allowDynamicRegistration")
            .opt_bool(defaults.allow_dynamic_registration)?,
        cimd_allow_loopback: root.child("cimdAllowLoopback").opt_bool(false)?,
        registration_lifetime: root.child("registrationLifetime").seconds(defaults.registration_lifetime)?,
        ..defaults
    };
    config.validate()?;
    Ok(config)
}

fn client(field: &Field) -> Result<ClientConfig, ConfigError> {
    if !field.value.is_object() {
        return Err(field.error("must be an object"));
    }
    Ok(ClientConfig {
        client_id: field.child("clientId").string()?,
        client_secret: field.child("clientSecret").opt_string()?,
        redirect_uris: field.child("redirectUris").strings()?,
        scopes: field.child("scopes").opt_strings()?.unwrap_or_default(),
    })
}

/// The options of a JS storage object: `{ name, debug, keyPrefix, shards }`.
pub(crate) struct StorageOptions {
    pub(crate) name: String,
    pub(crate) key_prefix: String,
    /// Durable Object shards (`DurableObjectStorage` only).
    pub(crate) shards: u32,
}

/// The most shards a `DurableObjectStorage` may spread over: listings and
/// counts ask every one.
pub(crate) const MAX_SHARDS: u32 = 1024;

impl StorageOptions {
    /// Reads the options (`debug` is accepted for the seed's sake; this
    /// package logs nothing).
    pub(crate) fn read(value: &JsValue, default_name: &str) -> Result<Self, ConfigError> {
        let root = Field { path: "options".into(), value: value.clone() };
        if !root.absent() && !root.value.is_object() {
            return Err(root.error("must be an object"));
        }
        let name = root.child("name").opt_string()?.unwrap_or_else(|| default_name.to_string());
        root.child("debug").opt_bool(false)?;
        let key_prefix = root
            .child("keyPrefix")
            .opt_string()?
            .unwrap_or_else(|| crate::config::DEFAULT_KEY_PREFIX.to_string());
        let shards = root.child("shards").count(crate::storage::DEFAULT_SHARDS, MAX_SHARDS)?;
        Ok(Self { name, key_prefix, shards })
    }
}
