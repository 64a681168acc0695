//! TLS material for `rediss://` (the redis crate's rustls support): the PEM
//! files of [`RedisConfig`], read and checked once by `connect()`, so that a
//! missing, unreadable or non-PEM file is a configuration error naming the
//! variable and the path; and handshake failures in words a user can act on.

use std::path::Path;

use redis::{ClientTlsConfig, TlsCertificates};

use super::RedisConfig;
use crate::storage::StorageError;

/// The certificates for the redis crate, or `None` for a plaintext connection.
pub(super) fn certificates(c: &RedisConfig) -> Result<Option<TlsCertificates>, StorageError> {
    if !c.tls {
        if c.has_tls_files() {
            return Err(StorageError::Configuration(
                "a REDIS_TLS_* certificate file is set but the connection is plaintext (redis://); \
                 use rediss:// (or REDIS_TLS=true)"
                    .into(),
            ));
        }
        return Ok(None);
    }
    let root_cert = match &c.tls_ca_file {
        Some(path) => Some(read_pem(path, "REDIS_TLS_CA_FILE", &["CERTIFICATE"], "no PEM certificate")?),
        None => None,
    };
    let client_tls =
        match (&c.tls_cert_file, &c.tls_key_file) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some(ClientTlsConfig {
                client_cert: read_pem(cert, "REDIS_TLS_CERT_FILE", &["CERTIFICATE"], "no PEM certificate")?,
                client_key: read_pem(
                    key,
                    "REDIS_TLS_KEY_FILE",
                    &["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"],
                    "no PEM private key",
                )?,
            }),
            (Some(_), None) => return Err(StorageError::Configuration(
                "REDIS_TLS_CERT_FILE is set without REDIS_TLS_KEY_FILE (a client certificate needs its key)"
                    .into(),
            )),
            (None, Some(_)) => return Err(StorageError::Configuration(
                "REDIS_TLS_KEY_FILE is set without REDIS_TLS_CERT_FILE (a client key needs its certificate)"
                    .into(),
            )),
        };
    Ok(Some(TlsCertificates { client_tls, root_cert }))
}

/// The file's bytes, if it holds at least one PEM block with one of `labels`.
fn read_pem(path: &Path, variable: &str, labels: &[&str], missing: &str) -> Result<Vec<u8>, StorageError> {
    let shown = path.display();
    let bytes = std::fs::read(path)
        .map_err(|e| StorageError::Configuration(format!("{variable} {shown}: cannot read it: {e}")))?;
    let text = String::from_utf8_lossy(&bytes);
    let found = labels.iter().any(|label| {
        text.contains(&format!("-----BEGIN {label}-----")) && text.contains(&format!("-----END {label}-----"))
    });
    if !found {
        return Err(StorageError::Configuration(format!("{variable} {shown}: {missing}")));
    }
    Ok(bytes)
}

/// A TLS failure (from the handshake or the certificates) as a configuration
/// error naming it, or `None` when `text` is not one.
pub(super) fn handshake_error(address: &str, text: &str) -> Option<StorageError> {
    let why = if text.contains("UnknownIssuer") {
        "certificate not signed by the configured CA (REDIS_TLS_CA_FILE, or the public roots without it)"
    } else if text.contains("NotValidForName") {
        "certificate not valid for this host name (check the host in the URL against the certificate's names)"
    } else if text.contains("Expired") {
        "certificate expired"
    } else if text.contains("NotValidYet") {
        "certificate not valid yet"
    } else if text.contains("BadSignature") || text.contains("UnsupportedSignatureAlgorithm") {
        "certificate signature not accepted"
    } else if text.contains("CertificateRequired") || text.contains("HandshakeFailure") {
        "the server refused the handshake (does it require a client certificate? \
         REDIS_TLS_CERT_FILE / REDIS_TLS_KEY_FILE)"
    } else if text.contains("BadCertificate")
        || text.contains("UnknownCA")
        || text.contains("DecryptError")
        || text.contains("AccessDenied")
    {
        "the server rejected the client certificate"
    } else if text.contains("InvalidContentType") || text.contains("corrupt message") {
        "the server did not answer in TLS (is this its TLS port?)"
    } else if text.contains("Unable to parse")
        || text.contains("Unable to extract private key")
        || text.contains("TLS trust anchors")
        || text.contains("Unable to build client with TLS")
    {
        "the certificate or key could not be used"
    } else if text.contains("invalid peer certificate") {
        "certificate refused"
    } else {
        return None;
    };
    Some(StorageError::Configuration(format!("TLS handshake with {address} failed: {why} ({text})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, contents: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("simply-mcp-oauth-tls-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn plaintext_needs_no_files_and_refuses_them() {
        assert!(certificates(&RedisConfig::default()).unwrap().is_none());
        let c = RedisConfig { tls_ca_file: Some("/x".into()), ..RedisConfig::default() };
        let err = certificates(&c).unwrap_err().to_string();
        assert!(err.contains("rediss://"), "{err}");
    }

    #[test]
    fn bad_files_are_named() {
        let c = RedisConfig {
            tls: true,
            tls_ca_file: Some("/nonexistent/ca.pem".into()),
            ..RedisConfig::default()
        };
        let err = certificates(&c).unwrap_err().to_string();
        assert!(err.contains("REDIS_TLS_CA_FILE /nonexistent/ca.pem: cannot read it"), "{err}");

        let not_pem = temp("not-pem", "hello");
        let c = RedisConfig { tls: true, tls_ca_file: Some(not_pem.clone()), ..RedisConfig::default() };
        let err = certificates(&c).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("storage misconfigured: REDIS_TLS_CA_FILE {}: no PEM certificate", not_pem.display())
        );

        let cert = temp("cert", "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n");
        let c = RedisConfig {
            tls: true,
            tls_cert_file: Some(cert.clone()),
            tls_key_file: Some(not_pem.clone()),
            ..RedisConfig::default()
        };
        let err = certificates(&c).unwrap_err().to_string();
        assert!(err.contains("REDIS_TLS_KEY_FILE") && err.contains("no PEM private key"), "{err}");
        let c = RedisConfig { tls: true, tls_cert_file: Some(cert.clone()), ..RedisConfig::default() };
        assert!(certificates(&c).unwrap_err().to_string().contains("without REDIS_TLS_KEY_FILE"));
        for path in [not_pem, cert] {
            let _ = std::fs::remove_file(path);
        }
    }

    #[test]
    fn handshake_failures_in_words() {
        let err = handshake_error("127.0.0.1:1", "invalid peer certificate: UnknownIssuer").unwrap();
        assert!(err.to_string().contains("certificate not signed by the configured CA"), "{err}");
        assert!(handshake_error("x:1", "Connection refused").is_none());
    }
}
