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
