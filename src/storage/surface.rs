//! The [`Storage`] trait, written once as a list ([`storage_surface!`]) that
//! every consumer replays: the trait itself, the `Arc` and [`Delegate`]
//! forwarding (`shared.rs`), the wasm bindings' store, and the shard
//! operations ([`StorageOp`](super::StorageOp): enum, wire names, `execute`).
//! Adding a method is one entry here plus its code in each real backend
//! (memory, key-value, Redis, and the shard routing of `ShardedStorage`).
//!
//! An entry reads like the method it makes:
//! `Variant => async fn name(&self, arg: ref 'a Type, other: Type) -> Return;`
//! where `ref 'a Type` is an argument taken by reference (`&'a Type`; the
//! shard operation holds a `Type`, or the type after `=>`, as in
//! `id: ref 'a str => String`), `Variant` is its
//! [`StorageOp`](super::StorageOp) variant, and `name` is also its name on the shard
//! wire, which Durable Objects already deployed read: never rename one, and
//! never reorder arguments. A body instead of `;` is the default
//! implementation.
//!
//! The methods are written as `async_trait` would write them (one boxed
//! future each, lifetimes `'life0` for `self`, then the arguments', then
//! `'async_trait`), so backends keep implementing the trait with
//! `#[async_trait]`, and forwarders can hand back the inner store's future
//! as is, without one more state machine per method (which the wasm module
//! would pay for).

use crate::clock::UnixTime;
use crate::crypto::SecretDigest;

use super::{
    AccessRecord, ClientRecord, CodeExpectation, CodeOutcome, GrantRecord, HealthCheck, NewAccess,
    Redemption, RotateOutcome, Rotation, StorageError, StorageStats,
};

/// `Send` natively (multi-threaded runtimes), nothing on wasm (JS futures are not `Send`).
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSend: Send + Sync {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + Sync + ?Sized> MaybeSend for T {}
/// `Send` natively (multi-threaded runtimes), nothing on wasm (JS futures are not `Send`).
#[cfg(target_arch = "wasm32")]
pub trait MaybeSend {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> MaybeSend for T {}

/// The future a [`Storage`] method returns: what `#[async_trait]` makes of
/// an `async fn` (`Send` natively, not on wasm).
#[cfg(not(target_arch = "wasm32"))]
pub type StorageFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
/// The future a [`Storage`] method returns: what `#[async_trait(?Send)]`
/// makes of an `async fn` on wasm.
#[cfg(target_arch = "wasm32")]
pub type StorageFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + 'a>>;

/// Replays the list of [`Storage`] methods into the macro `$then`, with
/// `$($extra)*` in front (see the module docs for the entry syntax).
macro_rules! storage_surface {
    ($then:ident! { $($extra:tt)* }) => {
        $then! { $($extra)* ;
            /// Creates or replaces a client. A registration with `expires_at` is
            /// written when it is issued: the store keeps it for
            /// [`ClientRecord::ttl`] seconds at most, and `sweep` removes it once
            /// expired; stored again without `expires_at`, it stays.
            PutClient => async fn put_client(&self, client: ClientRecord) -> Result<(), StorageError>;

            /// A client by id. An expired registration may still be returned until
            /// the store evicts or sweeps it: callers check [`ClientRecord::is_live`].
            GetClient => async fn get_client(&self, client_id: ref 'a str => String)
                -> Result<Option<ClientRecord>, StorageError>;

            /// Deletes a client and revokes every grant it holds. `false` if unknown.
            DeleteClient => async fn delete_client(&self, client_id: ref 'a str => String, now: UnixTime)
                -> Result<bool, StorageError>;

            /// Every client id.
            ListClients => async fn list_clients(&self) -> Result<Vec<String>, StorageError>;

            /// Stores a new grant (with a pending code, or with `access` issued at once
            /// for `client_credentials`). Grant ids are random; an existing one is a conflict.
            PutGrant => async fn put_grant(&self, grant: GrantRecord, access: Option<NewAccess>, now: UnixTime)
                -> Result<(), StorageError>;

            /// A live grant by id.
            GetGrant => async fn get_grant(&self, grant_id: ref 'a str => String, now: UnixTime)
                -> Result<Option<GrantRecord>, StorageError>;

            /// Redeems a code exactly once ([`GrantRecord::redeem_code`]), storing the
            /// issued tokens in the same step; a replay revokes the grant.
            ConsumeCode => async fn consume_code(
                &self,
                grant_id: ref 'a str => String,
                code_digest: ref 'b SecretDigest,
                expect: ref 'c CodeExpectation,
                redemption: Redemption,
                now: UnixTime
            ) -> Result<CodeOutcome, StorageError>;

            /// Verification: the access token stored under `digest`, if live. One read.
            GetAccess => async fn get_access(&self, grant_id: ref 'a str => String, digest: ref 'b SecretDigest, now: UnixTime)
                -> Result<Option<AccessRecord>, StorageError>;

            /// Rotates a refresh token ([`GrantRecord::rotate_refresh`]) as one
            /// compare-and-swap; reuse revokes the grant.
            RotateRefresh => async fn rotate_refresh(
                &self,
                grant_id: ref 'a str => String,
                client_id: ref 'b str => String,
                presented: ref 'c SecretDigest,
                rotation: Rotation,
                now: UnixTime
            ) -> Result<RotateOutcome, StorageError>;

            /// Deletes a grant with its code, refresh chain and access tokens.
            /// `false` if there was nothing to revoke.
            RevokeGrant => async fn revoke_grant(&self, grant_id: ref 'a str => String) -> Result<bool, StorageError>;

            /// RFC 7009 revocation: when `digest` is a live access token of the grant,
            /// or its current or previous refresh token, and the live grant belongs to
            /// `client_id`, revokes the grant as [`revoke_grant`](Self::revoke_grant)
            /// does and returns it; otherwise changes nothing and returns `None`.
            /// The default reads, then revokes; backends with scripts do it in one step.
            RevokeToken => async fn revoke_token(
                &self,
                grant_id: ref 'a str => String,
                client_id: ref 'b str => String,
                digest: ref 'c SecretDigest,
                now: UnixTime
            ) -> Result<Option<GrantRecord>, StorageError> {
                let Some(grant) = self.get_grant(grant_id, now).await? else { return Ok(None) };
                if grant.client_id != client_id {
                    return Ok(None);
                }
                if !grant.holds_refresh(digest) && self.get_access(grant_id, digest, now).await?.is_none() {
                    return Ok(None);
                }
                Ok(self.revoke_grant(grant_id).await?.then_some(grant))
            }

            /// The live grants of a subject.
            ListGrants => async fn list_grants(&self, subject: ref 'a str => String, now: UnixTime)
                -> Result<Vec<GrantRecord>, StorageError>;

            /// Counts of live records.
            Stats => async fn stats(&self, now: UnixTime) -> Result<StorageStats, StorageError>;

            /// Whether the store answers; never fails.
            Health => async fn health(&self) -> HealthCheck;

            /// Removes records that expired before `now`; returns how many.
            Sweep => async fn sweep(&self, now: UnixTime) -> Result<u64, StorageError>;
        }
    };
}
pub(crate) use storage_surface;

/// The type of an argument as a method takes it: `ref 'a T` is `&'a T`.
macro_rules! storage_arg {
    ($lt:lifetime $ty:ty) => { &$lt $ty };
    ($ty:ty) => { $ty };
}
pub(crate) use storage_arg;

/// A method as `#[async_trait]` would write it, from its entry, ending in
/// `$end`: `;` (a required trait method) or its body.
macro_rules! storage_method {
    ([$($end:tt)*] $(#[$doc:meta])* fn $name:ident(&$self:ident $(, $arg:ident: $(ref $lt:lifetime)? $ty:ty)*)
        -> $ret:ty) => {
        $(#[$doc])*
        fn $name<'life0, $($($lt,)?)* 'async_trait>(&'life0 $self $(, $arg: storage_arg!($($lt)? $ty))*)
            -> StorageFuture<'async_trait, $ret>
        where
            'life0: 'async_trait,
            $($($lt: 'async_trait,)?)*
            Self: 'async_trait
        $($end)*
    };
}
pub(crate) use storage_method;

/// One trait method: a required one, or one with a default body.
macro_rules! trait_method {
    ($(#[$doc:meta])* fn $name:ident $params:tt -> $ret:ty) => {
        storage_method! { [;] $(#[$doc])* fn $name $params -> $ret }
    };
    ($(#[$doc:meta])* fn $name:ident $params:tt -> $ret:ty $body:block) => {
        storage_method! { [{ Box::pin(async move $body) }] $(#[$doc])* fn $name $params -> $ret }
    };
}

/// The trait from the list.
macro_rules! storage_trait {
    ($(#[$trait_doc:meta])* ;
     $($(#[$doc:meta])* $op:ident => async fn $name:ident(&$self:ident $(, $arg:ident: $(ref $lt:lifetime)? $ty:ty $(=> $owned:ty)?)* $(,)?)
        -> $ret:ty $(;)? $($body:block)?)*) => {
        $(#[$trait_doc])*
        pub trait Storage: MaybeSend {
            $(trait_method! { $(#[$doc])* fn $name(&$self $(, $arg: $(ref $lt)? $ty)*) -> $ret $($body)? })*

            /// How long, in seconds, a write may stay invisible to a read made
            /// elsewhere (Workers KV: up to 60 s across locations); `None` for a
            /// store whose reads always see the latest write. Within that window the
            /// provider answers a token it cannot find yet with a retryable 503
            /// rather than a final `invalid_grant` (see `provider::verify`).
            /// Not a shard operation: a shard's own window is not the deployment's.
            fn consistency_window(&self) -> Option<u64> {
                None
            }
        }
    };
}

storage_surface!(storage_trait! {
    /// The storage contract. See the module docs for the rules.
    ///
    /// Implement it with `#[async_trait::async_trait]` (`?Send` on wasm), as
    /// the module docs show; its methods are what that attribute makes of
    /// `async fn`s.
});

/// What a method answers, seen by the forwarders: a `Result`, or the
/// [`HealthCheck`] that carries its own failure.
pub(crate) trait Answer: Sized {
    /// The answer as a shard reply carries it.
    type Reply;
    /// The error, if the answer is one.
    fn error(&self) -> Option<&StorageError>;
    /// The answer to give instead of calling the store when a hook refused
    /// the call; `None`: this method cannot fail, so call the store anyway.
    fn refused(error: StorageError) -> Option<Self>;
    /// The answer as a shard reply.
    fn into_reply(self) -> Result<Self::Reply, StorageError>;
}

impl<T> Answer for Result<T, StorageError> {
    type Reply = T;
    fn error(&self) -> Option<&StorageError> {
        self.as_ref().err()
    }
    fn refused(error: StorageError) -> Option<Self> {
        Some(Err(error))
    }
    fn into_reply(self) -> Result<T, StorageError> {
        self
    }
}

impl Answer for HealthCheck {
    type Reply = HealthCheck;
    fn error(&self) -> Option<&StorageError> {
        None
    }
    fn refused(_: StorageError) -> Option<Self> {
        None
    }
    fn into_reply(self) -> Result<HealthCheck, StorageError> {
        Ok(self)
    }
}
