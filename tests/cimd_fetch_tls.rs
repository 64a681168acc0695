//! The native metadata fetcher over https, against a loopback server whose
//! certificate comes from a CA the test makes. Every connection goes to
//! 127.0.0.1.
#![cfg(not(target_arch = "wasm32"))]

use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, KeyUsagePurpose, SanType};
use simply_mcp_oauth::cimd::native::{FetchOptions, SafeFetcher, CA_FILE_ENV};
use simply_mcp_oauth::cimd::{FetchError, MetadataFetcher};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

const BODY: &[u8] = br#"{"client_id":"https://localhost/c"}"#;

/// A test CA (PEM) and a TLS server config for `localhost` and 127.0.0.1
/// signed by it.
fn pki() -> (String, ServerConfig) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let mut leaf_params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    leaf_params.subject_alt_names.push(SanType::IpAddress([127, 0, 0, 1].into()));
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .unwrap();
    (ca.pem(), config)
}

/// Serves `BODY` over TLS on 127.0.0.1; returns the port.
async fn serve(config: ServerConfig) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else { return };
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    BODY.len()
                );
                let _ = tls.write_all(reply.as_bytes()).await;
                let _ = tls.write_all(BODY).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

fn options(extra_ca_pem: Option<Vec<u8>>) -> FetchOptions {
    FetchOptions { allow_loopback: true, extra_ca_pem, timeout: Duration::from_secs(3) }
}

#[tokio::test]
async fn https_on_loopback_with_the_extra_ca() {
    let (ca_pem, config) = pki();
    let port = serve(config).await;
    let fetcher = SafeFetcher::new(options(Some(ca_pem.into_bytes()))).unwrap();
    for host in ["localhost", "127.0.0.1"] {
        let doc = fetcher.fetch(&format!("https://{host}:{port}/c")).await.unwrap();
        assert_eq!(doc.body, BODY);
        assert_eq!(doc.content_type.as_deref(), Some("application/json"));
    }
}

#[tokio::test]
async fn the_test_ca_is_not_trusted_without_the_option() {
    let (_, config) = pki();
    let port = serve(config).await;
    let fetcher = SafeFetcher::new(options(None)).unwrap();
    let result = fetcher.fetch(&format!("https://localhost:{port}/c")).await;
    assert!(matches!(&result, Err(FetchError::Network(e)) if e.contains("certificate")), "{result:?}");
}

#[tokio::test]
async fn the_ca_file_is_read_from_the_environment() {
    let (ca_pem, config) = pki();
    let port = serve(config).await;
    let path = std::env::temp_dir().join(format!("cimd-fetch-ca-{}.pem", std::process::id()));
    std::fs::write(&path, ca_pem).unwrap();
    // The only test in this binary that reads or sets the variable.
    std::env::set_var(CA_FILE_ENV, &path);
    let options = FetchOptions::from_env(true);
    std::env::remove_var(CA_FILE_ENV);
    std::fs::remove_file(&path).unwrap();
    let options = options.unwrap();
    assert!(options.allow_loopback && options.extra_ca_pem.is_some());
    let doc = SafeFetcher::new(options).unwrap().fetch(&format!("https://localhost:{port}/c")).await.unwrap();
    assert_eq!(doc.body, BODY);
}

#[test]
fn a_malformed_ca_is_a_build_error() {
    for pem in [&b"not a certificate"[..], b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"]
    {
        assert!(SafeFetcher::new(options(Some(pem.to_vec()))).is_err(), "{:?}", String::from_utf8_lossy(pem));
    }
}
