//! The HTTP layer end to end: every endpoint through `OAuthHttp::handle`,
//! the authorization request through `authorize_request`, and the resource
//! side through `authenticate`, including every bad input a client can send.
#![cfg(not(target_arch = "wasm32"))] // native only (tokio)

mod support;

mod authorize;
mod cimd;
mod flow;
mod grants;
mod hostile_input;
mod metadata;
// The limits need the native limiter OAuthHttp::new installs.
#[cfg(feature = "rate-limit")]
mod rate_limit;
mod register;
mod registration_lifetime;
mod resource;
mod revoke_introspect;
mod token;
mod transport;
