//! A store wrapper counting failed operations.

use std::sync::Arc;

use super::Metrics;
use crate::storage::{Delegate, Storage, StorageError};

/// `inner`, with each failed operation counted in [`Metrics`] (by kind of
/// error) and logged (`warn`, with the operation; storage errors name keys,
/// which hold digests, never secrets). Answers are unchanged.
pub struct MeteredStorage<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S> MeteredStorage<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }
}

impl<S: Storage> Delegate for MeteredStorage<S> {
    type Inner = S;

    fn inner(&self) -> &S {
        &self.inner
    }

    fn failed(&self, operation: &'static str, error: &StorageError) {
        self.metrics.record_storage_error(error);
        tracing::warn!(operation, %error, "storage error");
    }
}
