//! The JS API: wasm-bindgen glue only, with the seed's names
//! (`createOAuthProvider`, `SimplyMCPOAuthProvider`, `InMemoryStorage`, ...).
//!
//! Everything here converts values at the edge and calls the provider or the
//! HTTP layer; no OAuth rule lives in this module. JS is single-threaded, so
//! shared state is `Rc`/`Cell`, futures are not `Send` (see `MaybeSend`), and
//! every store is one concrete type, `KvStorage` over an in-module map or a JS
//! host (`storage::SharedStorage`).

mod auth_objects;
mod cimd;
mod config;
mod convert;
mod do_shards;
mod durable;
mod errors;
mod fetch;
mod kv_host;
mod memory_host;
mod provider;
mod rate_limit;
mod storage;

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;

use js_sys::Promise;
use wasm_bindgen::prelude::*;

pub use do_shards::DurableObjectShards;
pub use durable::JsDurableObjectStorage;
pub use kv_host::JsKvHost;
pub use provider::{create_oauth_provider, JsProvider};
pub use storage::{memory_store, Host, JsInMemoryStorage, JsKvStorage, SharedStorage};

/// talc instead of std's dlmalloc: smaller (3 KB of the gzipped module) and
/// faster; the module is single-threaded (no atomics), as talc's cell assumes.
#[cfg(not(target_feature = "atomics"))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// What a JS API method runs: one boxed future type for them all.
pub(crate) type Work = Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>>;

/// `future_to_promise` through [`Work`], so wasm-bindgen-futures' task
/// machinery is in the module once instead of once per method (3.4 KB of the
/// gzipped module).
pub(crate) fn promise(work: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> Promise {
    spawn(Box::pin(work))
}

/// A Promise of `work`'s answer.
pub(crate) fn spawn(work: Work) -> Promise {
    wasm_bindgen_futures::future_to_promise(work)
}

thread_local! {
    static PANIC_LISTENER: RefCell<Option<js_sys::Function>> = const { RefCell::new(None) };
}

/// On a panic: asks wasm-bindgen's glue for a fresh instance before the next
/// call (release builds abort on panic, and an aborted instance's memory may
/// hold half-done work), and hands the message to the package's JS layer at
/// once, through the listener it set with [`on_panic`]: a panic inside a task
/// polled from a microtask never reaches the call that started it, whose
/// Promise would otherwise never settle.
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        wasm_bindgen::handler::schedule_reinit();
        let listener = PANIC_LISTENER.with(|listener| listener.try_borrow().ok().and_then(|l| l.clone()));
        if let Some(listener) = listener {
            // A listener that throws must not stop the abort that follows.
            let _ = listener.call1(&JsValue::NULL, &JsValue::from_str(&info.to_string()));
        }
    }));
}

/// Sets the function called with a panic's message before the instance
/// aborts (the package's JS layer sets one on each instance).
#[wasm_bindgen(js_name = onPanic)]
pub fn on_panic(listener: js_sys::Function) {
    PANIC_LISTENER.with(|slot| *slot.borrow_mut() = Some(listener));
}

/// Panics on purpose, so the package's tests can check that a panic reaches
/// JS as an `Error` carrying its message (no real code path panics).
#[wasm_bindgen(js_name = __panicForTests)]
pub fn panic_for_tests(message: String) {
    panic!("{message}");
}

/// Panics once `wait` settles, inside a task polled from a microtask (where
/// a panic reaches no caller), so the package's tests can check that the
/// calls in flight still answer.
#[wasm_bindgen(js_name = __panicAfterForTests)]
pub fn panic_after_for_tests(wait: Promise, message: String) -> Promise {
    promise(async move {
        let _ = wasm_bindgen_futures::JsFuture::from(wait).await;
        panic!("{message}")
    })
}
