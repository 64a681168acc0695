//! The no-secrets check: after a full flow, nothing the provider handed out
//! (client secrets, codes, access and refresh tokens) is in the store in clear.

use std::fmt::Write as _;

use crate::storage::{KvHost, KvStorage};
use crate::{Provider, Storage};

use super::flows::{authorize, code_and_tokens, confidential, provider, register_confidential, CALLBACK};

/// Runs [`full_flow_collecting_secrets`] on `storage`, then looks for each
/// secret, and for the secret part of each token, in `dump(storage)`: the
/// store's whole content as text.
pub async fn secrets_never_stored_in_clear<S, D>(storage: S, dump: D)
where
    S: Storage,
    D: AsyncFnOnce(&S) -> String,
{
    let (provider, secrets) = full_flow_collecting_secrets(storage).await;
    let dump = dump(provider.storage()).await;
    assert!(!dump.is_empty(), "the dump shows the stored records");
    for secret in &secrets {
        assert!(!dump.contains(secret.as_str()), "a secret is stored in clear");
        let (_, tail) = secret.split_once('.').unwrap_or(("", secret));
        assert!(!dump.contains(tail), "the secret part of a token is stored in clear");
    }
}

/// A full flow; returns the provider and every secret it handed out.
pub async fn full_flow_collecting_secrets<S: Storage>(s: S) -> (Provider<S>, Vec<String>) {
    let (p, _) = provider(s).await;
    let registered = register_confidential(&p).await;
    let mut secrets = vec!["my-secret".to_string(), registered.client_secret.clone().unwrap()];
    let (code, t) = code_and_tokens(&p).await;
    let r = p
        .exchange_refresh_token(&confidential(), t.refresh_token.as_deref().unwrap(), None, None)
        .await
        .unwrap();
    let pending = authorize(&p, "my-client", CALLBACK, &[]).await;
    let cc = p.exchange_client_credentials(&confidential(), None, None).await.unwrap();
    secrets.extend([
        code,
        pending,
        t.access_token,
        t.refresh_token.unwrap(),
        r.access_token,
        r.refresh_token.unwrap(),
        cc.access_token,
    ]);
    (p, secrets)
}

/// Every key under the store's prefix with its value, one per line, read
/// through the host's own `list` and `get`: the dump of `kv_host = ..`.
pub async fn dump_kv_storage<H: KvHost>(storage: &KvStorage<H>) -> String {
    let host = storage.host();
    let mut dump = String::new();
    let mut cursor = None;
    loop {
        let page = host.list(storage.key_prefix(), cursor, 1000).await.expect("the host lists its keys");
        for key in page.keys {
            let value = host.get(&key).await.expect("the host reads a listed key");
            let _ = writeln!(dump, "{key} {}", value.unwrap_or_default());
        }
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return dump,
        }
    }
}
