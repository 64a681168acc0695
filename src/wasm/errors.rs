//! Rust errors as JS `Error`s: an OAuth error keeps its RFC 6749 code in
//! `error.code`, so JS callers can branch on it.

use wasm_bindgen::JsValue;

use crate::config::ConfigError;
use crate::error::OAuthError;

/// A JS `Error` with `message` and an optional string `code`.
pub(crate) fn js_error(message: &str, code: Option<&str>) -> JsValue {
    let error = js_sys::Error::new(message);
    if let Some(code) = code {
        let _ = js_sys::Reflect::set(&error, &"code".into(), &code.into());
    }
    error.into()
}

/// An OAuth error: `message` is the description, `code` the error code.
pub(crate) fn oauth_error(error: OAuthError) -> JsValue {
    js_error(&error.description, Some(error.code.as_str()))
}

/// A configuration error naming the field.
pub(crate) fn config_error(error: ConfigError) -> JsValue {
    js_error(&format!("{} {}", error.field, error.reason), Some("invalid_configuration"))
}

/// A Rust value as a plain JS object (through JSON: one serializer for the
/// whole crate keeps the module small).
pub(crate) fn to_js<T: serde::Serialize>(value: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(value)
        .map_err(|e| js_error(&format!("could not convert a result to JS: {e}"), None))?;
    js_sys::JSON::parse(&text)
}

/// A plain JS object as a Rust value; the error names `what`.
pub(crate) fn from_js<T: serde::de::DeserializeOwned>(value: JsValue, what: &str) -> Result<T, JsValue> {
    let not_json = || js_error(&format!("{what} must be a JSON-compatible object"), Some("invalid_request"));
    let text = js_sys::JSON::stringify(&value).map_err(|_| not_json())?;
    let text = JsValue::from(text).as_string().ok_or_else(not_json)?;
    serde_json::from_str(&text).map_err(|e| js_error(&format!("{what}: {e}"), Some("invalid_request")))
}
