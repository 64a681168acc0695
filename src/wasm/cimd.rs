//! The JS host's fetch as a [`MetadataFetcher`]: config option
//! `fetchClientMetadata(url)`, which resolves to a `Response` (what `fetch`
//! returns) or to a plain `{ status, headers, body }` with `headers` a
//! `Headers` or a plain object with lowercase names and `body` a string.
//!
//! The host owns the network side: which addresses may be reached (on
//! Workers, the `global_fetch_strictly_public` compatibility flag), that
//! redirects are not followed (`redirect: "manual"`) and the time limit (an
//! `AbortSignal.timeout(5000)`). This side enforces what it can see: only a
//! 200 (a 3xx or an opaque redirect is `Redirected`), and at most
//! [`MAX_DOCUMENT_BYTES`], counted while the body stream is read (the read
//! stops and the stream is cancelled past the limit), not by Content-Length.

use js_sys::{Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::cimd::{FetchError, FetchedDocument, MetadataFetcher, MAX_DOCUMENT_BYTES};

/// `fetchClientMetadata` from the JS configuration.
pub(crate) struct JsFetcher {
    function: Function,
}

impl JsFetcher {
    /// The fetcher of a configuration value: `None` when absent; an error
    /// text when it is there but not a function.
    pub(crate) fn from_config(value: JsValue) -> Result<Option<Self>, String> {
        if value.is_undefined() || value.is_null() {
            return Ok(None);
        }
        let function = value.dyn_into::<Function>().map_err(|_| "fetchClientMetadata must be a function")?;
        Ok(Some(Self { function }))
    }
}

fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

/// Calls `object[name](...args)` and awaits the result.
async fn call(object: &JsValue, name: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let function: Function = get(object, name).dyn_into().map_err(|_| JsValue::from(name))?;
    let returned = function.apply(object, &args.iter().collect())?;
    JsFuture::from(Promise::resolve(&returned)).await
}

/// A rejection as a fetch error: an abort or timeout (`AbortSignal.timeout`)
/// is `Timeout`, anything else a network failure with the host's message.
fn failure(error: JsValue) -> FetchError {
    let name = get(&error, "name").as_string().unwrap_or_default();
    if name == "TimeoutError" || name == "AbortError" {
        return FetchError::Timeout;
    }
    let message = get(&error, "message").as_string().or_else(|| error.as_string());
    FetchError::Network(message.unwrap_or_else(|| "the host's fetch failed".into()))
}

/// A header from a `Headers` (its `get`, case-insensitive) or from a plain
/// object by its lowercase name.
async fn header(headers: &JsValue, name: &str) -> Option<String> {
    if get(headers, "get").is_function() {
        return call(headers, "get", &[name.into()]).await.ok()?.as_string();
    }
    get(headers, name).as_string()
}

/// The body, at most [`MAX_DOCUMENT_BYTES`]: a string as is; a stream (a
/// `Response`'s body) read chunk by chunk and cancelled past the limit; none
/// (`null`) is empty.
async fn body(response: &JsValue) -> Result<Vec<u8>, FetchError> {
    let body = get(response, "body");
    let bytes = if let Some(text) = body.as_string() {
        text.into_bytes()
    } else if get(&body, "getReader").is_function() {
        let reader = call(&body, "getReader", &[]).await.map_err(failure)?;
        let mut bytes = Vec::new();
        loop {
            let chunk = call(&reader, "read", &[]).await.map_err(failure)?;
            if get(&chunk, "done").is_truthy() {
                break;
            }
            let value = get(&chunk, "value");
            let Some(array) = value.dyn_ref::<Uint8Array>() else {
                return Err(FetchError::Network("the body stream gave something other than bytes".into()));
            };
            if bytes.len() + array.length() as usize > MAX_DOCUMENT_BYTES {
                let _ = call(&reader, "cancel", &[]).await;
                return Err(FetchError::TooLarge);
            }
            bytes.extend(array.to_vec());
        }
        bytes
    } else {
        Vec::new()
    };
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(FetchError::TooLarge);
    }
    Ok(bytes)
}

#[async_trait::async_trait(?Send)]
impl MetadataFetcher for JsFetcher {
    async fn fetch(&self, url: &str) -> Result<FetchedDocument, FetchError> {
        let returned = self.function.call1(&JsValue::NULL, &url.into()).map_err(failure)?;
        let response = JsFuture::from(Promise::resolve(&returned)).await.map_err(failure)?;
        if get(&response, "type").as_string().as_deref() == Some("opaqueredirect") {
            return Err(FetchError::Redirected(0));
        }
        let status = get(&response, "status").as_f64().unwrap_or(0.0) as u16;
        match status {
            200 => {}
            300..=399 => return Err(FetchError::Redirected(status)),
            _ => return Err(FetchError::Status(status)),
        }
        let headers = get(&response, "headers");
        let cache_control = header(&headers, "cache-control").await;
        let content_type = header(&headers, "content-type").await;
        Ok(FetchedDocument { body: body(&response).await?, cache_control, content_type })
    }
}
