//! The JS host's rate limiter: config option `rateLimiter(bucket, key)`,
//! which answers (or resolves to) the seconds to wait, `0` to go ahead. The
//! package's JS layer supplies one unless the app turns limits off: its
//! in-memory limiter from `rateLimits`, or Cloudflare's Rate Limiting
//! binding (`workersRateLimiter`). A limiter that throws or rejects lets the
//! request through: limits protect the service, they must not stop it.

use js_sys::{Function, Promise};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::http::{Bucket, RateLimiter, RetryAfter};

pub(crate) struct JsRateLimiter(Function);

impl JsRateLimiter {
    /// The limiter of a configuration value, when it is a function.
    pub(crate) fn from_config(value: JsValue) -> Option<Self> {
        value.dyn_into::<Function>().ok().map(Self)
    }
}

#[async_trait::async_trait(?Send)]
impl RateLimiter for JsRateLimiter {
    async fn check(&self, bucket: Bucket, key: &str) -> Result<(), RetryAfter> {
        let Ok(answer) = self.0.call2(&JsValue::NULL, &bucket.name().into(), &key.into()) else {
            return Ok(());
        };
        let answer = match answer.dyn_into::<Promise>() {
            Ok(promise) => JsFuture::from(promise).await.unwrap_or(JsValue::UNDEFINED),
            Err(value) => value,
        };
        match answer.as_f64() {
            Some(seconds) if seconds > 0.0 => Err(RetryAfter(seconds.ceil() as u64)),
            _ => Ok(()),
        }
    }
}
