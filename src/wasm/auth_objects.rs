//! The JS objects `verifyAccessToken` answers with, built once per token
//! instead of on every MCP request.
//!
//! Every verification still reads storage, so a revoked or expired token is
//! refused at once; what is reused is only the conversion of the answer to a
//! JS object (a dozen calls into JS to build it, about as costly as the check
//! itself), and only when the new answer equals the one the object was built
//! from. The objects are frozen, so no caller can change what the
//! next one receives.

use std::cell::RefCell;
use std::collections::HashMap;

use js_sys::Object;
use wasm_bindgen::{JsCast, JsValue};

use super::convert::to_js;
use crate::provider::AuthInfo;

/// Objects kept at most; past that the memo starts over (a verify of a
/// forgotten token only pays the conversion again).
const CAPACITY: usize = 1024;

/// Frozen `AuthInfo` objects by grant id, each with the answer it shows.
#[derive(Default)]
pub(crate) struct AuthObjects {
    by_grant: RefCell<HashMap<String, (AuthInfo, JsValue)>>,
}

impl AuthObjects {
    /// The frozen JS object for `auth`: the kept one if it shows exactly
    /// this answer, else a new one (kept for next time).
    pub(crate) fn object_for(&self, auth: AuthInfo) -> Result<JsValue, JsValue> {
        if let Some((shown, object)) = self.by_grant.borrow().get(&auth.grant_id) {
            if *shown == auth {
                return Ok(object.clone());
            }
        }
        let object = to_js(&auth)?;
        deep_freeze(&object);
        let mut by_grant = self.by_grant.borrow_mut();
        if by_grant.len() >= CAPACITY {
            by_grant.clear();
        }
        by_grant.insert(auth.grant_id.clone(), (auth, object.clone()));
        Ok(object)
    }
}

/// `Object.freeze` on `value` and everything it holds (scopes, props).
fn deep_freeze(value: &JsValue) {
    if let Some(object) = value.dyn_ref::<Object>() {
        for child in Object::values(object).iter() {
            deep_freeze(&child);
        }
        Object::freeze(object);
    }
}
