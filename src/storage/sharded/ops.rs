//! Storage operations as data: what [`ShardedStorage`](super::ShardedStorage)
//! sends to the store that owns a grant, and [`execute`], which that store
//! runs. Written in the shard wire format ([`super::wire`]): the method's
//! name, then its arguments in the trait's order; a reply is the method's own
//! `Result<T, StorageError>`, read by the caller that knows `T`.

use crate::clock::UnixTime;
use crate::crypto::SecretDigest;
use crate::storage::surface::{storage_surface, Answer};
use crate::storage::{
    ClientRecord, CodeExpectation, GrantRecord, NewAccess, Redemption, Rotation, Storage, StorageError,
};

use super::wire::{Reader, Wire, Writer};

/// The type a shard operation holds for an argument: the one after `=>`
/// (`ref 'a str => String`), or the argument's own.
macro_rules! owned_arg {
    ($ty:ty => $owned:ty) => {
        $owned
    };
    ($ty:ty) => {
        $ty
    };
}

/// How `execute` passes a held argument to the method: `ref` ones by reference.
macro_rules! pass_arg {
    ($lt:lifetime $arg:ident) => {
        &$arg
    };
    ($arg:ident) => {
        $arg
    };
}

/// A variant binding its arguments (a pattern); none: a unit variant.
macro_rules! op_pattern {
    ($op:ident) => { StorageOp::$op };
    ($op:ident $($arg:ident),+) => { StorageOp::$op($($arg),+) };
}

/// A variant made of its arguments; none: a unit variant.
macro_rules! op_value {
    ($op:ident) => { StorageOp::$op };
    ($op:ident $($arg:expr),+) => { StorageOp::$op($($arg),+) };
}

/// The enum, one variant per method: unit variants for methods without
/// arguments, built one entry at a time (a macro cannot make a variant).
macro_rules! storage_op_enum {
    (@variants [$($done:tt)*]) => {
        /// One call of the [`Storage`] trait, with its arguments in the trait's order.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[allow(missing_docs, clippy::large_enum_variant)]
        pub enum StorageOp { $($done)* }
    };
    (@variants [$($done:tt)*] $op:ident () $($rest:tt)*) => {
        storage_op_enum! { @variants [$($done)* $op,] $($rest)* }
    };
    (@variants [$($done:tt)*] $op:ident ($($ty:ty),+) $($rest:tt)*) => {
        storage_op_enum! { @variants [$($done)* $op($($ty),+),] $($rest)* }
    };
    (; $($(#[$doc:meta])* $op:ident => async fn $name:ident(&$self:ident $(, $arg:ident: $(ref $lt:lifetime)? $ty:ty $(=> $owned:ty)?)* $(,)?)
        -> $ret:ty $(;)? $($body:block)?)*) => {
        storage_op_enum! { @variants [] $($op ($(owned_arg!($ty $(=> $owned)?)),*))* }
    };
}

storage_surface!(storage_op_enum! {});

/// `encode`, `decode` and `execute`: the method's name on the wire, then its
/// arguments in the trait's order.
macro_rules! storage_op_codec {
    (; $($(#[$doc:meta])* $op:ident => async fn $name:ident(&$self:ident $(, $arg:ident: $(ref $lt:lifetime)? $ty:ty $(=> $owned:ty)?)* $(,)?)
        -> $ret:ty $(;)? $($body:block)?)*) => {
        impl StorageOp {
            /// The operation's message: the method's name, then its arguments.
            pub fn encode(&self) -> String {
                let mut w = Writer::default();
                match self {
                    $(op_pattern!($op $($arg),*) => w.item(stringify!($name))$(.put($arg))*,)*
                };
                w.finish()
            }

            /// Reads a message written by [`encode`](Self::encode).
            pub fn decode(text: &str) -> Result<Self, String> {
                let mut r = Reader::parse(text)?;
                let op = match r.item()?.as_str() {
                    $(stringify!($name) => op_value!($op $({ let $arg = r.take()?; $arg }),*),)*
                    other => return Err(format!("unknown operation {other:?}")),
                };
                r.end()?;
                Ok(op)
            }
        }

        /// Runs one encoded [`StorageOp`] on `store` and encodes what the method
        /// returned (`Result<T, StorageError>`): the whole of what a shard (a Durable
        /// Object, a test double) does per request. A request that does not decode
        /// is answered with a configuration error, never a panic.
        pub async fn execute<S: Storage>(store: &S, request: &str) -> String {
            let op = match StorageOp::decode(request) {
                Ok(op) => op,
                Err(e) => {
                    let error = StorageError::Configuration(format!("not a storage operation: {e}"));
                    return reply::<()>(&Err(error));
                }
            };
            match op {
                $(op_pattern!($op $($arg),*) => reply(&store.$name($(pass_arg!($($lt)? $arg)),*).await.into_reply()),)*
            }
        }
    };
}

storage_surface!(storage_op_codec! {});

/// A method's result as a reply message. Not inlined: one copy per result
/// type, not one per call site.
#[inline(never)]
fn reply<T: Wire>(result: &Result<T, StorageError>) -> String {
    let mut w = Writer::default();
    w.put(result);
    w.finish()
}

/// Reads a reply message: the method's `Result`, or why it is not one.
pub(super) fn read_reply<T: Wire>(text: &str) -> Result<Result<T, StorageError>, String> {
    let mut r = Reader::parse(text)?;
    let result = r.take()?;
    r.end()?;
    Ok(result)
}
