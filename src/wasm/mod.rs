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

pub use durable::{DurableObjectShards, JsDurableObjectStorage};
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
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Records every panic's message, so the package's JS wrapper can turn the
/// resulting `RuntimeError: unreachable` into an `Error` that says what
/// happened (release builds abort on panic; wasm32 has no unwinding).
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        LAST_PANIC.with(|last| *last.borrow_mut() = Some(info.to_string()));
    }));
}

/// The message of the last panic, once; `undefined` when there was none.
#[wasm_bindgen(js_name = takePanicMessage)]
pub fn take_panic_message() -> Option<String> {
    LAST_PANIC.with(|last| last.borrow_mut().take())
}

/// Panics on purpose, so the package's tests can check that a panic reaches
/// JS as an `Error` carrying its message (no real code path panics).
#[wasm_bindgen(js_name = __panicForTests)]
pub fn panic_for_tests(message: String) {
    panic!("{message}");
}
