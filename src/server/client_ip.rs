//! The client's address for the HTTP layer's per-IP limits: axum's
//! `ConnectInfo<SocketAddr>` (present when the app is served with
//! `into_make_service_with_connect_info::<SocketAddr>()`) becomes a
//! [`ClientIp`] request extension. `X-Forwarded-For` is not read: behind a
//! proxy you trust, set the `ClientIp` yourself in a layer before this one
//! (an existing `ClientIp` is kept).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request};

use crate::http::ClientIp;

/// Sets the request's [`ClientIp`] from its `ConnectInfo`, unless one is set.
/// For `axum::middleware::map_request`; [`router`](super::router) applies it.
pub async fn tag_client_ip(mut request: Request) -> Request {
    if request.extensions().get::<ClientIp>().is_none() {
        if let Some(ConnectInfo(address)) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
            let ip = ClientIp::from_ip(address.ip());
            request.extensions_mut().insert(ip);
        }
    }
    request
}
