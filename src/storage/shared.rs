//! Stores made of other stores, forwarded from the one list of methods
//! ([`storage_surface!`](super::surface)):
//! - `Arc<S>` is a store too, so one store can serve a provider and, say, a
//!   health endpoint or the JS object that created it; `Arc<dyn Storage>`
//!   lets the server binary pick a backend at run time.
//! - A [`Delegate`] is a store: a wrapper names its inner store and, if it
//!   likes, a hook before each call and one after each failure.

use std::sync::Arc;

use super::surface::{storage_arg, storage_method, storage_surface, Answer, MaybeSend, StorageFuture};
use super::{Storage, StorageError};
use crate::clock::UnixTime;
use crate::crypto::SecretDigest;
use crate::storage::{
    AccessRecord, ClientRecord, CodeExpectation, CodeOutcome, GrantRecord, HealthCheck, NewAccess,
    Redemption, RotateOutcome, Rotation, StorageStats,
};

/// Methods that hand each call to `$inner` (or, with `on $dispatch`, to the
/// store the macro `$dispatch!($self, store => call)` picks) and return its
/// future as is.
macro_rules! forward_to {
    (($self:ident) => on $dispatch:ident ;
     $($(#[$doc:meta])* $op:ident => async fn $name:ident(&$self_:ident $(, $arg:ident: $(ref $lt:lifetime)? $ty:ty $(=> $owned:ty)?)* $(,)?)
        -> $ret:ty $(;)? $($body:block)?)*) => {$(
        storage_method! {
            [{ $dispatch!($self, store => store.$name($($arg),*)) }]
            fn $name(&$self $(, $arg: $(ref $lt)? $ty)*) -> $ret
        }
    )*};
    (($self:ident) => $inner:expr ;
     $($(#[$doc:meta])* $op:ident => async fn $name:ident(&$self_:ident $(, $arg:ident: $(ref $lt:lifetime)? $ty:ty $(=> $owned:ty)?)* $(,)?)
        -> $ret:ty $(;)? $($body:block)?)*) => {$(
        storage_method! { [{ $inner.$name($($arg),*) }] fn $name(&$self $(, $arg: $(ref $lt)? $ty)*) -> $ret }
    )*};
}
#[cfg(target_arch = "wasm32")]
pub(crate) use forward_to;

impl<T: Storage + ?Sized> Storage for Arc<T> {
    storage_surface!(forward_to! { (self) => (**self) });

    fn consistency_window(&self) -> Option<u64> {
        (**self).consistency_window()
    }
}

/// A store that wraps another: implement this, and the wrapper is a
/// [`Storage`] that hands every call to [`inner`](Self::inner), after
/// [`before`](Self::before) allows it; failures pass through
/// [`failed`](Self::failed). A method added to `Storage` reaches the inner
/// store with no change to the wrapper.
///
/// ```
/// # use simply_mcp_oauth::storage::*;
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// /// Memory storage that counts failed calls and can be switched off.
/// struct Counting { inner: MemoryStorage, failures: AtomicU64, closed: bool }
///
/// impl Delegate for Counting {
///     type Inner = MemoryStorage;
///     fn inner(&self) -> &MemoryStorage {
///         &self.inner
///     }
///     fn before(&self, operation: &'static str) -> Result<(), StorageError> {
///         match self.closed {
///             true => Err(StorageError::Unavailable(format!("closed for {operation}"))),
///             false => Ok(()),
///         }
///     }
///     fn failed(&self, _operation: &'static str, _error: &StorageError) {
///         self.failures.fetch_add(1, Ordering::Relaxed);
///     }
/// }
/// # let store = Counting { inner: MemoryStorage::new(), failures: AtomicU64::new(0), closed: true };
/// # use futures::FutureExt as _; // ready at once: no runtime needed, on wasm32 too
/// # let listed = store.list_clients().now_or_never().unwrap();
/// # assert!(matches!(listed, Err(StorageError::Unavailable(_))));
/// # assert_eq!(store.failures.load(Ordering::Relaxed), 1);
/// ```
pub trait Delegate: MaybeSend {
    /// The store calls go to.
    type Inner: Storage;

    /// The store calls go to.
    fn inner(&self) -> &Self::Inner;

    /// Runs before each call, with the method's name (`"get_grant"`); an
    /// error is the call's answer, and the inner store is not called.
    /// Not consulted for `health`, which never fails.
    fn before(&self, _operation: &'static str) -> Result<(), StorageError> {
        Ok(())
    }

    /// Runs after each call that failed (a refusal by
    /// [`before`](Self::before) included), with the method's name.
    fn failed(&self, _operation: &'static str, _error: &StorageError) {}
}

/// A method that runs the hooks around the inner store's.
macro_rules! delegate {
    ($(#[$doc:meta])* $op:ident => async fn $name:ident(&$self:ident $(, $arg:ident: $(ref $lt:lifetime)? $ty:ty $(=> $owned:ty)?)* $(,)?)
        -> $ret:ty $(;)? $($body:block)?) => {
        storage_method! {
            [{
                Box::pin(async move {
                    let operation = stringify!($name);
                    let answer = match $self.before(operation).map_err(<$ret as Answer>::refused) {
                        Err(Some(refusal)) => refusal,
                        Ok(()) | Err(None) => $self.inner().$name($($arg),*).await,
                    };
                    if let Some(error) = answer.error() {
                        $self.failed(operation, error);
                    }
                    answer
                })
            }]
            fn $name(&$self $(, $arg: $(ref $lt)? $ty)*) -> $ret
        }
    };
}

/// Every method through [`delegate!`].
macro_rules! delegate_all {
    (; $($(#[$doc:meta])* $op:ident => async fn $name:ident $params:tt -> $ret:ty $(;)? $($body:block)?)*) => {$(
        delegate! { $op => async fn $name $params -> $ret; }
    )*};
}

impl<D: Delegate> Storage for D {
    storage_surface!(delegate_all! {});

    fn consistency_window(&self) -> Option<u64> {
        self.inner().consistency_window()
    }
}
