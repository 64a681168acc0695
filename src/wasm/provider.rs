//! `SimplyMCPOAuthProvider` and `createOAuthProvider`.

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::{promise, spawn, Work};
use js_sys::{Object, Promise, Reflect};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::auth_objects::AuthObjects;
use super::cimd::JsFetcher;
use super::config::{provider_config, Field};
use super::convert::to_js;
use super::errors::{config_error, js_error, oauth_error};
use super::fetch::{to_http, to_web};
use super::rate_limit::JsRateLimiter;
use super::storage::{health, lookup, memory_store, SharedStorage};
use crate::clock::UnixTime;
use crate::config::ConfigError;
use crate::http::{MachineClients, OAuthHttp};
use crate::params::Params;
use crate::provider::{Approval, AuthorizationRequest, AuthorizeError, Provider};
use crate::storage::GrantRecord;

struct Inner {
    oauth: OAuthHttp<SharedStorage>,
    initialized: Cell<bool>,
    auth_objects: AuthObjects,
}

/// The authorization server (the seed's `SimplyMCPOAuthProvider`).
#[wasm_bindgen(js_name = SimplyMCPOAuthProvider)]
pub struct JsProvider {
    inner: Rc<Inner>,
}

/// `createOAuthProvider(config)`: constructs and initializes.
#[wasm_bindgen(js_name = createOAuthProvider)]
pub fn create_oauth_provider(config: JsValue) -> Promise {
    match JsProvider::new(config) {
        Err(error) => Promise::reject(&error),
        Ok(provider) => {
            let inner = provider.inner.clone();
            promise(async move {
                initialize(&inner).await?;
                Ok(JsProvider { inner }.into())
            })
        }
    }
}

async fn initialize(inner: &Inner) -> Result<(), JsValue> {
    if !inner.initialized.get() {
        inner
            .oauth
            .provider()
            .initialize()
            .await
            .map_err(|e| js_error(&e.to_string(), Some("unavailable")))?;
        inner.initialized.set(true);
    }
    Ok(())
}

/// The authorization request as JS sees it (and hands back to complete it).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsAuthorizationRequest {
    client_id: String,
    client_name: Option<String>,
    redirect_uri: String,
    scopes: Vec<String>,
    state: Option<String>,
    code_challenge: String,
    resource: String,
    /// The client id is its metadata document's URL (show it on consent).
    metadata_document: bool,
    /// Every redirect URI of the client is loopback (warn on consent).
    loopback_only: bool,
}

impl From<AuthorizationRequest> for JsAuthorizationRequest {
    fn from(r: AuthorizationRequest) -> Self {
        Self {
            client_id: r.client_id,
            client_name: r.client_name,
            redirect_uri: r.redirect_uri,
            scopes: r.scopes,
            state: r.state,
            code_challenge: r.code_challenge,
            resource: r.resource,
            metadata_document: r.metadata_document,
            loopback_only: r.loopback_only,
        }
    }
}

/// The parameters that produce the request JS hands back, so completing it
/// re-checks everything instead of trusting an object that passed through JS.
/// Read field by field (like the configuration), so an error names the field.
fn request_params(value: JsValue) -> Result<Params, JsValue> {
    let request = Field::root("request", value);
    let read = || -> Result<Params, ConfigError> {
        request.object()?;
        let mut pairs = vec![
            ("response_type", "code".to_string()),
            ("client_id", request.child("clientId").string()?),
            ("redirect_uri", request.child("redirectUri").string()?),
            ("code_challenge", request.child("codeChallenge").string()?),
            ("code_challenge_method", "S256".to_string()),
            ("scope", request.child("scopes").opt_strings()?.unwrap_or_default().join(" ")),
            ("resource", request.child("resource").string()?),
        ];
        if let Some(state) = request.child("state").opt_string()? {
            pairs.push(("state", state));
        }
        Ok(Params::from_pairs(pairs))
    };
    read().map_err(invalid_request)
}

/// `{ subject, scopes?, props? }`, props a JSON-compatible object.
fn read_approval(value: JsValue) -> Result<Approval, JsValue> {
    let approval = Field::root("approval", value);
    let read = || -> Result<Approval, ConfigError> {
        approval.object()?;
        let props = approval.child("props");
        let props = if props.absent() {
            serde_json::Map::new()
        } else {
            props.object()?;
            json_object(props.value()).ok_or_else(|| props.error("must be a JSON-compatible object"))?
        };
        Ok(Approval {
            subject: approval.child("subject").string()?,
            scopes: approval.child("scopes").opt_strings()?,
            props,
        })
    };
    read().map_err(invalid_request)
}

/// A JS object as a JSON object: `JSON.stringify`, then serde_json's reader
/// of any JSON value, which the crate has anyway.
fn json_object(value: &JsValue) -> Option<serde_json::Map<String, serde_json::Value>> {
    let text = js_sys::JSON::stringify(value).ok()?.as_string()?;
    match serde_json::from_str(&text).ok()? {
        serde_json::Value::Object(object) => Some(object),
        _ => None,
    }
}

fn invalid_request(error: ConfigError) -> JsValue {
    js_error(&format!("{} {}", error.field, error.reason), Some("invalid_request"))
}

/// A grant as `listGrants` shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GrantSummary {
    grant_id: String,
    client_id: String,
    scopes: Vec<String>,
    resource: String,
    created_at: UnixTime,
    expires_at: UnixTime,
}

impl From<GrantRecord> for GrantSummary {
    fn from(g: GrantRecord) -> Self {
        Self {
            grant_id: g.id,
            client_id: g.client_id,
            scopes: g.scopes,
            resource: g.resource,
            created_at: g.created_at,
            expires_at: g.expires_at,
        }
    }
}

fn object(key: &str, value: &JsValue) -> JsValue {
    let out = Object::new();
    let _ = Reflect::set(&out, &key.into(), value);
    out.into()
}

#[wasm_bindgen(js_class = SimplyMCPOAuthProvider)]
impl JsProvider {
    /// `new SimplyMCPOAuthProvider(config)`; call `initialize()` before use.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue) -> Result<JsProvider, JsValue> {
        let provider_config = provider_config(&config).map_err(config_error)?;
        let storage_value = if config.is_object() {
            Reflect::get(&config, &"storage".into()).unwrap_or(JsValue::UNDEFINED)
        } else {
            JsValue::UNDEFINED
        };
        let storage: SharedStorage = if storage_value.is_undefined() || storage_value.is_null() {
            memory_store("InMemoryStorage".to_string())
        } else {
            lookup(&storage_value)?
        };
        let mut provider = Provider::new(provider_config, storage).map_err(config_error)?;
        let fetch = if config.is_object() {
            Reflect::get(&config, &"fetchClientMetadata".into()).unwrap_or(JsValue::UNDEFINED)
        } else {
            JsValue::UNDEFINED
        };
        if let Some(fetcher) =
            JsFetcher::from_config(fetch).map_err(|e| js_error(&e, Some("invalid_configuration")))?
        {
            // One thread in JS: the Arc is only the provider's shared-ownership type.
            #[allow(clippy::arc_with_non_send_sync)]
            let fetcher = std::sync::Arc::new(fetcher);
            provider = provider.with_metadata_fetcher(fetcher);
        }
        let mut oauth = OAuthHttp::new(provider);
        // Set by the package's JS layer (see src/wasm/rate_limit.rs); a
        // non-object config has failed in provider_config already.
        let limiter = Reflect::get(&config, &"rateLimiter".into()).unwrap_or(JsValue::UNDEFINED);
        if let Some(limiter) = JsRateLimiter::from_config(limiter) {
            oauth = oauth.with_rate_limiter(limiter);
        }
        let inner = Inner { oauth, initialized: Cell::new(false), auth_objects: AuthObjects::default() };
        Ok(Self { inner: Rc::new(inner) })
    }

    /// The issuer URL; the package's JS layer sends token, registration,
    /// revocation and introspection calls to `fetch` under it.
    #[wasm_bindgen(getter)]
    pub fn issuer(&self) -> String {
        self.inner.oauth.provider().config().issuer.clone()
    }

    /// Stores the configured clients; idempotent.
    pub fn initialize(&self) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            initialize(&inner).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Answers a standard `Request` to an OAuth endpoint with a `Response`;
    /// `client_ip` is the key of the per-IP rate limits.
    pub fn fetch(&self, request: web_sys::Request, client_ip: Option<String>) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let request = to_http(&request).await?;
            Ok(to_web(inner.oauth.handle_from(request, client_ip.as_deref()).await)?.into())
        })
    }

    /// For the protected route: `{ auth }` for a valid bearer token carrying
    /// every required scope, else `{ response }` (the 401/403 to return).
    /// A token without a user (`client_credentials`) gets a 403 unless
    /// `options` says `{ allowMachineClients: true }`.
    pub fn authenticate(
        &self,
        request: web_sys::Request,
        required_scopes: Option<Vec<String>>,
        options: JsValue,
    ) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let request = to_http(&request).await?;
            let scopes = required_scopes.unwrap_or_default();
            let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
            let machines = machine_clients(&options)?;
            let resource = inner.oauth.provider().config().default_resource();
            match inner.oauth.authenticate_with(&request, &resource, &scopes, machines).await {
                Ok(auth) => Ok(object("auth", &inner.auth_objects.object_for(auth)?)),
                Err(response) => Ok(object("response", &to_web(response)?.into())),
            }
        })
    }

    /// Checks a `GET /authorize` request: `{ request }` to show consent for,
    /// or `{ response }` (an error page or an error redirect) to return as is.
    #[wasm_bindgen(js_name = parseAuthorizationRequest)]
    pub fn parse_authorization_request(
        &self,
        request: web_sys::Request,
        client_ip: Option<String>,
    ) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let request = to_http(&request).await?;
            match inner.oauth.authorize_request_from(&request, client_ip).await {
                Ok(parsed) => Ok(object("request", &to_js(&JsAuthorizationRequest::from(parsed))?)),
                Err(response) => Ok(object("response", &to_web(response)?.into())),
            }
        })
    }

    /// Completes an approved request with `{ subject, scopes?, props? }`;
    /// resolves to the URL to redirect the user to.
    #[wasm_bindgen(js_name = completeAuthorization)]
    pub fn complete_authorization(&self, request: JsValue, approval: JsValue) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let params = request_params(request)?;
            let approval = read_approval(approval)?;
            let provider = inner.oauth.provider();
            let checked = recheck(provider, &params).await?;
            let location = provider.complete_authorization(&checked, approval).await.map_err(oauth_error)?;
            Ok(location.into())
        })
    }

    /// The redirect URL telling the client the user said no.
    #[wasm_bindgen(js_name = denyAuthorization)]
    pub fn deny_authorization(&self, request: JsValue) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let params = request_params(request)?;
            let provider = inner.oauth.provider();
            let checked = recheck(provider, &params).await?;
            Ok(provider.deny_authorization(&checked).into())
        })
    }

    /// What a live access token stands for; `code: "invalid_token"` otherwise.
    /// The hot path of every MCP request, so it answers at once when the
    /// store needs no host I/O (see [`now_or_promise`]); the package's JS
    /// layer turns the answer into a Promise either way.
    #[wasm_bindgen(js_name = verifyAccessToken)]
    pub fn verify_access_token(&self, token: String) -> Result<JsValue, JsValue> {
        let inner = self.inner.clone();
        now_or_promise(async move {
            let auth = inner.oauth.provider().verify_access_token(&token).await.map_err(oauth_error)?;
            inner.auth_objects.object_for(auth)
        })
    }

    /// A user's live grants.
    #[wasm_bindgen(js_name = listGrants)]
    pub fn list_grants(&self, subject: String) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let grants = inner.oauth.provider().list_grants(&subject).await.map_err(oauth_error)?;
            let summaries: Vec<GrantSummary> = grants.into_iter().map(GrantSummary::from).collect();
            to_js(&summaries)
        })
    }

    /// Revokes one of a user's grants; resolves to whether one was revoked.
    #[wasm_bindgen(js_name = revokeGrant)]
    pub fn revoke_grant(&self, subject: String, grant_id: String) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let revoked =
                inner.oauth.provider().revoke_grant(&subject, &grant_id).await.map_err(oauth_error)?;
            Ok(revoked.into())
        })
    }

    /// Deletes a client and every grant it holds.
    #[wasm_bindgen(js_name = deleteClient)]
    pub fn delete_client(&self, client_id: String) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let deleted = inner.oauth.provider().delete_client(&client_id).await.map_err(oauth_error)?;
            Ok(deleted.into())
        })
    }

    /// Every client id.
    #[wasm_bindgen(js_name = listClients)]
    pub fn list_clients(&self) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let ids = inner.oauth.provider().list_clients().await.map_err(oauth_error)?;
            to_js(&ids)
        })
    }

    /// `{ clients, tokens, refreshTokens, authorizationCodes }`.
    #[wasm_bindgen(js_name = getStats)]
    pub fn get_stats(&self) -> Promise {
        let inner = self.inner.clone();
        promise(async move { to_js(&inner.oauth.provider().get_stats().await.map_err(oauth_error)?) })
    }

    /// The storage's health; never rejects.
    #[wasm_bindgen(js_name = healthCheck)]
    pub fn health_check(&self) -> Promise {
        let inner = self.inner.clone();
        promise(async move { to_js(&health(inner.oauth.provider().storage()).await) })
    }
}

/// Runs `work` to its end now if it never waits (the in-module store answers
/// without awaiting the host), else hands it to the JS event loop: the value
/// (or thrown error) itself, or a Promise of it. Skipping the Promise and its
/// job queue when nothing is pending saves about a tenth of a verify.
fn now_or_promise(
    work: impl Future<Output = Result<JsValue, JsValue>> + 'static,
) -> Result<JsValue, JsValue> {
    let mut work: Work = Box::pin(work);
    // A pending host call registers the real waker when the Promise polls again.
    match work.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(answer) => answer,
        Poll::Pending => Ok(spawn(work).into()),
    }
}

async fn recheck(
    provider: &Provider<SharedStorage>,
    params: &Params,
) -> Result<AuthorizationRequest, JsValue> {
    provider.parse_authorization(params).await.map_err(|error| match error {
        AuthorizeError::BadRequest(e)
        | AuthorizeError::Unvetted { error: e, .. }
        | AuthorizeError::Redirect { error: e, .. } => oauth_error(e),
    })
}

/// `authenticate`'s options: `{ allowMachineClients: true }` lets tokens
/// without a user through; anything but a boolean there is a `TypeError`.
fn machine_clients(options: &JsValue) -> Result<MachineClients, JsValue> {
    if options.is_undefined() || options.is_null() {
        return Ok(MachineClients::Refused);
    }
    let allow = Reflect::get(options, &"allowMachineClients".into()).unwrap_or(JsValue::UNDEFINED);
    match allow.as_bool() {
        Some(true) => Ok(MachineClients::Allowed),
        Some(false) => Ok(MachineClients::Refused),
        None if allow.is_undefined() => Ok(MachineClients::Refused),
        None => Err(js_sys::TypeError::new("allowMachineClients must be a boolean").into()),
    }
}
