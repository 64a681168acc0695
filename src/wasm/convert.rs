//! Rust values as plain JS objects, built in place by serde-wasm-bindgen
//! with no JSON text in between.
//!
//! Values handed in (the configuration, an authorization request handed
//! back, an approval) are read field by field instead (`config::Field`), so
//! every error names the field: serde-wasm-bindgen's deserializer added
//! 9 KB to the gzipped module, most of it `core::fmt`'s float formatting (its
//! type errors print the number they got), which nothing else here needs.

use serde::Serialize;
use wasm_bindgen::JsValue;

/// What JSON would give: `null` for `None`, maps as plain objects, integers
/// as numbers (every one the API hands out is below 2^53).
const TO_JS: serde_wasm_bindgen::Serializer = serde_wasm_bindgen::Serializer::json_compatible();

/// A Rust value as a plain JS object.
pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    Ok(value.serialize(&TO_JS)?)
}
