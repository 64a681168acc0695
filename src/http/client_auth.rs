//! Client authentication at `/token`, `/revoke` and `/introspect`
//! (RFC 6749 §2.3): HTTP Basic (`client_secret_basic`), form credentials
//! (`client_secret_post`) or a bare `client_id` (`none`, public clients).

use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::{HeaderMap, Request, Response};

use super::errors::{error_response, with_basic_challenge};
use crate::error::{ErrorCode, OAuthError};
use crate::params::Params;
use crate::provider::ClientAuth;
use crate::storage::AuthMethod;

/// Longest `Authorization` header value considered.
const MAX_AUTHORIZATION_LEN: usize = 4096;

/// The credentials of a request, read from its headers and form parameters.
pub(crate) fn client_auth(
    headers: &HeaderMap,
    params: &Params,
    realm: &str,
) -> Result<ClientAuth, Response<Bytes>> {
    let body_id = params.single("client_id").map_err(|e| error_response(&e))?;
    let body_secret = params.single("client_secret").map_err(|e| error_response(&e))?;
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let header = match (values.next(), values.next()) {
        (None, _) => None,
        (Some(value), None) => Some(value),
        (Some(_), Some(_)) => {
            return Err(error_response(&OAuthError::invalid_request(
                "only one Authorization header is allowed",
            )))
        }
    };
    if let Some(header) = header {
        let (id, secret) = parse_basic(header.as_bytes()).ok_or_else(|| {
            let error = OAuthError::invalid_client(
                "the Authorization header must be HTTP Basic with the url-encoded client id and secret",
            );
            with_basic_challenge(error_response(&error), realm)
        })?;
        if body_secret.is_some() {
            return Err(error_response(&OAuthError::invalid_request(
                "use one client authentication method, not HTTP Basic and client_secret together",
            )));
        }
        if body_id.is_some_and(|body_id| body_id != id) {
            return Err(error_response(&OAuthError::invalid_request(
                "client_id differs from the HTTP Basic client id",
            )));
        }
        return Ok(ClientAuth { client_id: id, secret, method: AuthMethod::ClientSecretBasic });
    }
    match (body_id, body_secret) {
        (Some(id), Some(secret)) => Ok(ClientAuth::post(id, secret)),
        (Some(id), None) => Ok(ClientAuth::public(id)),
        (None, Some(_)) => {
            Err(error_response(&OAuthError::invalid_request("client_secret was sent without client_id")))
        }
        (None, None) => Err(error_response(&OAuthError::new(
            ErrorCode::InvalidClient,
            "client authentication is required (HTTP Basic, client_secret_post or client_id)",
        ))),
    }
}

/// Adds the Basic challenge to an `invalid_client` answer when the client
/// tried HTTP Basic (RFC 6749 §5.2).
pub(crate) fn client_error(error: &OAuthError, auth: &ClientAuth, realm: &str) -> Response<Bytes> {
    let response = error_response(error);
    if error.code == ErrorCode::InvalidClient && auth.method == AuthMethod::ClientSecretBasic {
        with_basic_challenge(response, realm)
    } else {
        response
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`; the scheme is
/// case-insensitive. An empty secret reads as none (public clients that send
/// `id:`). `None` for anything malformed.
fn parse_basic(header: &[u8]) -> Option<(String, Option<String>)> {
    if header.len() > MAX_AUTHORIZATION_LEN {
        return None;
    }
    let header = std::str::from_utf8(header).ok()?;
    let (scheme, credentials) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let credentials = credentials.trim();
    let decoded = crate::crypto::base64_decode(credentials)?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let id = url_decode(id)?;
    let secret = url_decode(secret)?;
    if id.is_empty() || id.chars().any(char::is_control) {
        return None;
    }
    Some((id, (!secret.is_empty()).then_some(secret)))
}

/// `application/x-www-form-urlencoded` decoding of one value (`+` is a space),
/// strict: a bad `%` escape or invalid UTF-8 is `None`.
fn url_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The shared front of `/revoke` (RFC 7009 §2.1) and `/introspect` (RFC 7662
/// §2.1): a form carrying one `token`, sent by an authenticated client.
pub(crate) fn token_form(
    request: &Request<Bytes>,
    realm: &str,
) -> Result<(ClientAuth, String), Response<Bytes>> {
    let params = super::body::form(request)?;
    super::body::check_single_valued(&params, &["token", "token_type_hint", "client_id", "client_secret"])?;
    let auth = client_auth(request.headers(), &params, realm)?;
    let token = params.required("token").map_err(|e| error_response(&e))?;
    Ok((auth, token.to_string()))
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;

    use super::*;

    fn basic(raw: &str) -> String {
        format!("Basic {}", STANDARD.encode(raw))
    }

    #[test]
    fn basic_credentials_are_url_decoded() {
        let parsed = parse_basic(basic("my%3Aclient:s%2Bcr+t%25").as_bytes()).unwrap();
        assert_eq!(parsed, ("my:client".to_string(), Some("s+cr t%".to_string())));
        let lower = format!("basic {}", STANDARD.encode("a:b"));
        assert_eq!(parse_basic(lower.as_bytes()).unwrap().0, "a");
        assert_eq!(parse_basic(basic("pub:").as_bytes()).unwrap().1, None);
    }

    #[test]
    fn malformed_basic_is_rejected() {
        assert!(parse_basic(b"Bearer abc").is_none());
        assert!(parse_basic(b"Basic !!!").is_none());
        assert!(parse_basic(basic("no-colon").as_bytes()).is_none());
        assert!(parse_basic(basic(":secret").as_bytes()).is_none());
        assert!(parse_basic(basic("id:%zz").as_bytes()).is_none());
        assert!(parse_basic(basic("id:%4").as_bytes()).is_none());
        assert!(parse_basic(basic("id:%+1").as_bytes()).is_none());
        assert!(parse_basic(b"Basic").is_none());
        assert!(parse_basic("Basic \u{e9}".as_bytes()).is_none());
    }
}
