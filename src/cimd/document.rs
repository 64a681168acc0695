//! A fetched metadata document, validated into the client record the
//! provider uses (draft-ietf-oauth-client-id-metadata-document-01 §4, with
//! RFC 7591 §2 for the field meanings).
//!
//! The document is written by whoever controls the URL, so every field is
//! checked the way a dynamic registration would be, and more strictly where
//! the draft asks: the `client_id` must equal the URL exactly (§4.1), and a
//! document must not carry a shared secret, since it is public (§4.1: no
//! `client_secret`, no symmetric authentication method).

use std::fmt;

use serde_json::{Map, Value};

use super::fetch::MAX_DOCUMENT_BYTES;
use crate::clock::UnixTime;
use crate::storage::{AuthMethod, ClientOrigin, ClientRecord};
use crate::validate::{check_redirect_uri, is_displayable_name, parse_scope, RedirectUriError};

/// Most redirect URIs a document may list (as for a registration).
pub const MAX_REDIRECT_URIS: usize = 10;
/// Longest `client_name` accepted (as for a registration).
pub const MAX_CLIENT_NAME: usize = 200;

/// Why a document is not acceptable. Each message names the field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DocumentError {
    /// Larger than [`MAX_DOCUMENT_BYTES`].
    TooLarge,
    /// Not UTF-8.
    NotUtf8,
    /// Not a JSON object.
    NotAnObject,
    /// A required field is absent.
    Missing(&'static str),
    /// A field that must be a string is not.
    NotAString(&'static str),
    /// A field that must be an array of strings is not.
    NotStrings(&'static str),
    /// A field that must not be empty is.
    Empty(&'static str),
    /// The `client_id` is not the document's URL (§4.1).
    ClientIdMismatch,
    /// A `client_secret`, which a public document must not have (§4.1).
    ClientSecret,
    /// A `client_name` longer than [`MAX_CLIENT_NAME`] characters.
    ClientNameTooLong,
    /// A `client_name` with control or bidirectional formatting characters.
    ClientNameUnsafe,
    /// A shared-secret `token_endpoint_auth_method`.
    SharedSecretMethod(&'static str),
    /// Another `token_endpoint_auth_method` than `none`.
    UnsupportedAuthMethod(String),
    /// More than [`MAX_REDIRECT_URIS`] redirect URIs.
    TooManyRedirectUris,
    /// A redirect URI a registration could not have.
    RedirectUri(RedirectUriError),
    /// `grant_types` without `authorization_code`.
    NoAuthorizationCode,
    /// A grant type a public client may not use.
    GrantType(String),
    /// A response type other than `code`.
    ResponseType,
    /// A `scope` that is not a list of scope tokens.
    MalformedScope,
}

impl fmt::Display for DocumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the client metadata document ")?;
        match self {
            Self::TooLarge => write!(f, "is larger than {MAX_DOCUMENT_BYTES} bytes"),
            Self::NotUtf8 => f.write_str("is not UTF-8"),
            Self::NotAnObject => f.write_str("is not a JSON object"),
            Self::Missing(field) => write!(f, "has no {field}"),
            Self::NotAString(field) => write!(f, "has a {field} that is not a string"),
            Self::NotStrings(field) => write!(f, "has a {field} that is not an array of strings"),
            Self::Empty(field) => write!(f, "has an empty {field}"),
            Self::ClientIdMismatch => f.write_str("has a client_id that does not match its URL"),
            Self::ClientSecret => f.write_str("contains a client_secret, which a public document must not have"),
            Self::ClientNameTooLong => write!(f, "has a client_name longer than {MAX_CLIENT_NAME} characters"),
            Self::ClientNameUnsafe => {
                f.write_str("has a client_name with control or bidirectional formatting characters")
            }
            Self::SharedSecretMethod(method) => write!(
                f,
                "uses token_endpoint_auth_method {method:?}, a shared-secret method that a public document must not use"
            ),
            Self::UnsupportedAuthMethod(method) => {
                write!(f, "uses token_endpoint_auth_method {method:?}; only \"none\" is supported")
            }
            Self::TooManyRedirectUris => write!(f, "lists more than {MAX_REDIRECT_URIS} redirect_uris"),
            Self::RedirectUri(why) => write!(f, "has a redirect URI that {why}"),
            Self::NoAuthorizationCode => f.write_str("does not list the authorization_code grant type"),
            Self::GrantType(grant) => write!(f, "lists grant type {grant:?}, which a public client may not use"),
            Self::ResponseType => f.write_str("lists a response type other than \"code\""),
            Self::MalformedScope => f.write_str("has a malformed scope"),
        }
    }
}

impl std::error::Error for DocumentError {}

/// Parses and validates the document fetched from `url`. `supported` are the
/// server's scopes: a document's `scope` is intersected with them (a document
/// is shared by every server the client talks to, so naming scopes this one
/// does not know is not an error); without `scope` the client may ask for
/// every supported scope, as a registered client may.
pub fn parse_document(
    url: &str,
    body: &[u8],
    supported: &[String],
    now: UnixTime,
) -> Result<ClientRecord, DocumentError> {
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err(DocumentError::TooLarge);
    }
    // From a `str`, not a slice: the crate reads JSON from strings elsewhere,
    // so this shares that parser's code in the wasm module (a second reader
    // type would add a copy of it).
    let text = std::str::from_utf8(body).map_err(|_| DocumentError::NotUtf8)?;
    let Ok(Value::Object(doc)) = serde_json::from_str::<Value>(text) else {
        return Err(DocumentError::NotAnObject);
    };
    match doc.get("client_id") {
        Some(Value::String(id)) if id == url => {}
        Some(Value::String(_)) => return Err(DocumentError::ClientIdMismatch),
        Some(_) => return Err(DocumentError::NotAString("client_id")),
        None => return Err(DocumentError::Missing("client_id")),
    }
    if doc.contains_key("client_secret") {
        return Err(DocumentError::ClientSecret);
    }
    let auth_method = auth_method(&doc)?;
    let client_name = match doc.get("client_name") {
        Some(Value::String(name)) if name.trim().is_empty() => {
            return Err(DocumentError::Empty("client_name"))
        }
        Some(Value::String(name)) if name.chars().count() > MAX_CLIENT_NAME => {
            return Err(DocumentError::ClientNameTooLong)
        }
        Some(Value::String(name)) if !is_displayable_name(name) => {
            return Err(DocumentError::ClientNameUnsafe)
        }
        Some(Value::String(name)) => name.clone(),
        Some(_) => return Err(DocumentError::NotAString("client_name")),
        None => return Err(DocumentError::Missing("client_name")),
    };
    let redirect_uris = redirect_uris(&doc)?;
    let grant_types = match strings(&doc, "grant_types")? {
        None => vec!["authorization_code".to_string(), "refresh_token".to_string()],
        Some(types) => types,
    };
    if !grant_types.iter().any(|g| g == "authorization_code") {
        return Err(DocumentError::NoAuthorizationCode);
    }
    if let Some(other) = grant_types.iter().find(|g| *g != "authorization_code" && *g != "refresh_token") {
        return Err(DocumentError::GrantType(other.clone()));
    }
    if let Some(types) = strings(&doc, "response_types")? {
        if types.iter().any(|t| t != "code") {
            return Err(DocumentError::ResponseType);
        }
    }
    let scopes = match doc.get("scope") {
        None => supported.to_vec(),
        Some(Value::String(scope)) => {
            let Some(asked) = parse_scope(scope) else { return Err(DocumentError::MalformedScope) };
            asked.into_iter().filter(|s| supported.contains(s)).collect()
        }
        Some(_) => return Err(DocumentError::NotAString("scope")),
    };
    Ok(ClientRecord {
        client_id: url.to_string(),
        secret_digest: None,
        redirect_uris,
        scopes,
        grant_types,
        auth_method,
        client_name: Some(client_name),
        origin: ClientOrigin::MetadataDocument,
        issued_at: now,
        expires_at: None,
    })
}

/// The `token_endpoint_auth_method`s that need a shared secret.
const SHARED_SECRET_METHODS: [&str; 3] = ["client_secret_basic", "client_secret_post", "client_secret_jwt"];

/// `token_endpoint_auth_method`: absent or `none` (a public client with PKCE).
/// The symmetric methods need a shared secret, which a public document cannot
/// hold; `private_key_jwt` would need JWKS support, which this server lacks.
fn auth_method(doc: &Map<String, Value>) -> Result<AuthMethod, DocumentError> {
    match doc.get("token_endpoint_auth_method") {
        None => Ok(AuthMethod::None),
        Some(Value::String(method)) if method == "none" => Ok(AuthMethod::None),
        Some(Value::String(method)) => Err(match SHARED_SECRET_METHODS.iter().find(|m| *m == method) {
            Some(shared) => DocumentError::SharedSecretMethod(shared),
            None => DocumentError::UnsupportedAuthMethod(method.clone()),
        }),
        Some(_) => Err(DocumentError::NotAString("token_endpoint_auth_method")),
    }
}

fn redirect_uris(doc: &Map<String, Value>) -> Result<Vec<String>, DocumentError> {
    let Some(uris) = strings(doc, "redirect_uris")? else {
        return Err(DocumentError::Missing("redirect_uris"));
    };
    if uris.is_empty() {
        return Err(DocumentError::Empty("redirect_uris"));
    }
    if uris.len() > MAX_REDIRECT_URIS {
        return Err(DocumentError::TooManyRedirectUris);
    }
    for uri in &uris {
        check_redirect_uri(uri).map_err(DocumentError::RedirectUri)?;
    }
    Ok(uris)
}

/// An optional array of strings.
fn strings(doc: &Map<String, Value>, field: &'static str) -> Result<Option<Vec<String>>, DocumentError> {
    let Some(value) = doc.get(field) else { return Ok(None) };
    let not_strings = || DocumentError::NotStrings(field);
    let items = value.as_array().ok_or_else(not_strings)?;
    items
        .iter()
        .map(|v| v.as_str().map(str::to_string).ok_or_else(not_strings))
        .collect::<Result<_, _>>()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const URL: &str = "https://app.example/client.json";

    fn parse(doc: Value) -> Result<ClientRecord, DocumentError> {
        let supported = ["read".to_string(), "write".to_string()];
        parse_document(URL, doc.to_string().as_bytes(), &supported, 7)
    }

    fn valid() -> Value {
        json!({ "client_id": URL, "client_name": "App", "redirect_uris": ["https://app.example/cb"] })
    }

    fn with(field: &str, value: Value) -> Value {
        let mut doc = valid();
        doc[field] = value;
        doc
    }

    fn without(field: &str) -> Value {
        let mut doc = valid();
        doc.as_object_mut().unwrap().remove(field);
        doc
    }

    fn error(doc: Value) -> String {
        parse(doc).unwrap_err().to_string()
    }

    #[test]
    fn a_minimal_document_is_a_public_client() {
        let client = parse(valid()).unwrap();
        assert_eq!(client.client_id, URL);
        assert_eq!(client.client_name.as_deref(), Some("App"));
        assert_eq!(client.auth_method, AuthMethod::None);
        assert_eq!(client.secret_digest, None);
        assert_eq!(client.grant_types, ["authorization_code", "refresh_token"]);
        assert_eq!(client.scopes, ["read", "write"]);
        assert_eq!(client.origin, ClientOrigin::MetadataDocument);
        assert_eq!(client.issued_at, 7);
        let scoped = parse(with("scope", json!("write other"))).unwrap();
        assert_eq!(scoped.scopes, ["write"]);
        assert!(parse(with("token_endpoint_auth_method", json!("none"))).is_ok());
        assert!(parse(with("grant_types", json!(["authorization_code"]))).is_ok());
        assert!(parse(with("redirect_uris", json!(["http://127.0.0.1/cb", "com.app:/cb"]))).is_ok());
    }

    #[test]
    fn each_error_names_what_is_wrong() {
        assert!(error(with("client_id", json!("https://app.example/other"))).contains("does not match"));
        assert!(error(with("client_id", json!(format!("{URL} ")))).contains("does not match"));
        assert!(error(without("client_id")).contains("no client_id"));
        assert!(error(without("redirect_uris")).contains("no redirect_uris"));
        assert!(error(with("redirect_uris", json!([]))).contains("empty redirect_uris"));
        assert!(error(with("redirect_uris", json!("https://a/cb"))).contains("not an array"));
        assert!(error(with("redirect_uris", json!(["http://app.example/cb"]))).contains("redirect URI"));
        assert!(error(with("redirect_uris", json!(["https://a.example/cb#f"]))).contains("fragment"));
        assert!(error(without("client_name")).contains("no client_name"));
        assert!(error(with("client_name", json!(" "))).contains("empty client_name"));
        assert!(error(with("client_name", json!(5))).contains("not a string"));
        for hidden in ["Evil\u{202E}knab", "a\u{2067}b", "\u{200E}x", "a\u{1b}[31m"] {
            assert!(error(with("client_name", json!(hidden))).contains("bidirectional"), "{hidden:?}");
        }
        assert!(error(with("client_secret", json!("s"))).contains("client_secret"));
        for method in ["client_secret_basic", "client_secret_post", "client_secret_jwt"] {
            assert!(error(with("token_endpoint_auth_method", json!(method))).contains("shared-secret"));
        }
        assert!(error(with("token_endpoint_auth_method", json!("private_key_jwt"))).contains("only"));
        assert!(error(with("grant_types", json!(["client_credentials"]))).contains("authorization_code"));
        let both = json!(["authorization_code", "client_credentials"]);
        assert!(error(with("grant_types", both)).contains("client_credentials"));
        assert!(error(with("response_types", json!(["token"]))).contains("response type"));
        assert!(error(with("scope", json!("bad\"scope"))).contains("malformed scope"));
        assert!(error(json!([1])).contains("not a JSON object"));
        // The whole sentence, as a client reads it in error_description.
        assert_eq!(
            error(with("redirect_uris", json!(["http://app.example/cb"]))),
            "the client metadata document has a redirect URI that may use http only for a loopback host"
        );
    }

    #[test]
    fn bodies_that_are_not_json_or_too_large_are_refused() {
        let supported: [String; 0] = [];
        let err = |body: &[u8]| parse_document(URL, body, &supported, 0).unwrap_err().to_string();
        assert!(err(b"not json").contains("not a JSON object"));
        assert!(err(&vec![b' '; MAX_DOCUMENT_BYTES + 1]).contains("larger than"));
    }
}
