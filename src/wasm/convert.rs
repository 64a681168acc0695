//! Rust values to and from plain JS objects.
//!
//! Out: serde-wasm-bindgen builds the objects in place, with no JSON text in
//! between. In: through JSON (`JSON.stringify`, then serde_json, which the
//! crate has anyway): serde-wasm-bindgen's deserializer added 9 KB to the
//! gzipped module, most of it `core::fmt`'s float formatting (its type errors
//! print the number they got), which nothing else here needs.

use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::JsValue;

use super::errors::js_error;

/// What JSON would give: `null` for `None`, maps as plain objects, integers
/// as numbers (every one the API hands out is below 2^53).
const TO_JS: serde_wasm_bindgen::Serializer = serde_wasm_bindgen::Serializer::json_compatible();

/// A Rust value as a plain JS object.
pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    Ok(value.serialize(&TO_JS)?)
}

/// A plain JS object as a Rust value; the error names `what`.
pub(crate) fn from_js<T: DeserializeOwned>(value: JsValue, what: &str) -> Result<T, JsValue> {
    let not_json = || js_error(&format!("{what} must be a JSON-compatible object"), Some("invalid_request"));
    let text = js_sys::JSON::stringify(&value).map_err(|_| not_json())?;
    let text = JsValue::from(text).as_string().ok_or_else(not_json)?;
    serde_json::from_str(&text).map_err(|e| js_error(&format!("{what}: {e}"), Some("invalid_request")))
}
