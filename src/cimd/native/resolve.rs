//! Name resolution that only ever hands the HTTP client permitted addresses.
//!
//! reqwest connects only to the addresses its resolver returns (it never
//! looks a name up a second time), so filtering here is a check on the
//! address actually connected to: there is no window between "checked" and
//! "connected" for a DNS rebinding answer to slip through.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::ip::permitted;

/// Looks up the addresses of a host name. [`SystemLookup`] is the real one;
/// tests inject their own (see [`FnLookup`]) to prove refusals without any
/// traffic. Whatever a lookup returns is filtered before it is used.
#[async_trait::async_trait]
pub trait Lookup: Send + Sync {
    /// The addresses of `host` (a registered name, never an IP literal).
    async fn lookup(&self, host: &str) -> io::Result<Vec<IpAddr>>;
}

/// The system resolver (`getaddrinfo`, through tokio's blocking pool).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemLookup;

#[async_trait::async_trait]
impl Lookup for SystemLookup {
    async fn lookup(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        Ok(tokio::net::lookup_host((host, 0)).await?.map(|addr| addr.ip()).collect())
    }
}

/// A lookup from a plain function, for tests:
/// `FnLookup(|_host: &str| Ok(vec!["10.0.0.5".parse().unwrap()]))`.
#[derive(Debug, Clone, Copy)]
pub struct FnLookup<F>(pub F);

#[async_trait::async_trait]
impl<F> Lookup for FnLookup<F>
where
    F: Fn(&str) -> io::Result<Vec<IpAddr>> + Send + Sync,
{
    async fn lookup(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        (self.0)(host)
    }
}

/// A host all of whose addresses were refused; found again in the client's
/// error chain to report [`FetchError::Refused`](crate::cimd::FetchError).
/// It names the host, never the addresses: the text reaches the client, and
/// what an internal name resolves to is the server's network's business.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves only to addresses that are not public")]
pub(crate) struct RefusedHost {
    pub(crate) host: String,
}

/// The resolver handed to reqwest: a [`Lookup`], then [`permitted`].
pub(crate) struct Guarded {
    pub(crate) lookup: Arc<dyn Lookup>,
    pub(crate) allow_loopback: bool,
}

impl Resolve for Guarded {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let lookup = Arc::clone(&self.lookup);
        let allow_loopback = self.allow_loopback;
        Box::pin(async move {
            // `localhost` is loopback by definition (RFC 6761): answered here,
            // not by DNS, so it can never lead anywhere else.
            let found = if host.eq_ignore_ascii_case("localhost") {
                vec![Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()]
            } else {
                lookup.lookup(&host).await?
            };
            if found.is_empty() {
                return Err(
                    io::Error::new(io::ErrorKind::NotFound, format!("{host} has no addresses")).into()
                );
            }
            let kept: Vec<SocketAddr> = found
                .iter()
                .filter(|&&ip| permitted(ip, allow_loopback))
                // The connector puts in the URL's port.
                .map(|&ip| SocketAddr::new(ip, 0))
                .collect();
            if kept.is_empty() {
                return Err(Box::new(RefusedHost { host }) as _);
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the guarded resolver on `answer`; no traffic, no real lookup.
    fn resolve(host: &str, answer: &[&str], allow_loopback: bool) -> Result<Vec<IpAddr>, String> {
        let answer: Vec<IpAddr> = answer.iter().map(|a| a.parse().unwrap()).collect();
        let lookup = FnLookup(move |_: &str| Ok(answer.clone()));
        let guarded = Guarded { lookup: Arc::new(lookup), allow_loopback };
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let addrs = runtime.block_on(guarded.resolve(host.parse().unwrap())).map_err(|e| e.to_string())?;
        Ok(addrs.map(|a| a.ip()).collect())
    }

    #[test]
    fn keeps_only_permitted_addresses() {
        let public = vec!["93.184.215.14".parse::<IpAddr>().unwrap()];
        assert_eq!(resolve("a.example", &["10.0.0.5", "93.184.215.14", "fd00::1"], false), Ok(public));
        let loopback = vec!["127.0.0.1".parse::<IpAddr>().unwrap()];
        assert_eq!(resolve("a.example", &["192.168.1.1", "127.0.0.1"], true), Ok(loopback));
        for answer in [&["10.0.0.5", "169.254.169.254"][..], &["127.0.0.1", "::1"], &["::ffff:127.0.0.1"]] {
            let refused = resolve("a.example", answer, false).unwrap_err();
            assert!(refused.contains("a.example") && refused.contains("not public"), "{answer:?}: {refused}");
            assert!(!refused.contains(answer[0]), "names no address: {refused}");
        }
        assert!(resolve("a.example", &["fd00::1", "::ffff:127.0.0.1"], true).is_err());
        assert!(resolve("a.example", &[], true).unwrap_err().contains("no addresses"));
    }

    #[test]
    fn localhost_never_goes_to_the_lookup() {
        let lookup = FnLookup(|host: &str| panic!("looked up {host}"));
        let guarded = Guarded { lookup: Arc::new(lookup), allow_loopback: true };
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let addrs: Vec<_> =
            runtime.block_on(guarded.resolve("localhost".parse().unwrap())).unwrap().collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()) && addrs.len() == 2);
    }
}
