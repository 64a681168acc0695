//! Randomness, digests and comparisons, in one place so they are easy to audit.
//!
//! Secrets come from the operating system (or the JS host's
//! `crypto.getRandomValues`), are handed out once and afterwards known to
//! storage only as SHA-256 digests. Client secrets are 256 random bits; codes
//! and tokens are [`timed_secret`]s: their issue time, then 224 random bits.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

use crate::clock::UnixTime;

/// Bytes of entropy in every generated secret.
const SECRET_BYTES: usize = 32;

/// Could not read randomness from the platform.
#[derive(Debug, thiserror::Error)]
#[error("no randomness available from the platform: {0}")]
pub struct RandomnessError(String);

/// Fills `buf` with cryptographically secure random bytes.
pub fn fill_random(buf: &mut [u8]) -> Result<(), RandomnessError> {
    getrandom::fill(buf).map_err(|e| RandomnessError(e.to_string()))
}

/// A fresh random secret, base64url without padding (43 characters).
pub fn random_secret() -> Result<String, RandomnessError> {
    let mut bytes = [0u8; SECRET_BYTES];
    fill_random(&mut bytes)?;
    Ok(base64url(&bytes))
}

/// A fresh secret that says when it was issued: 4 bytes of big-endian Unix
/// seconds, then 28 random bytes, base64url (43 characters, like
/// [`random_secret`]). On an eventually consistent store the time tells a
/// token issued a moment ago elsewhere (retry) from garbage (refuse); see
/// [`secret_issued_at`].
pub fn timed_secret(issued_at: UnixTime) -> Result<String, RandomnessError> {
    let mut bytes = [0u8; SECRET_BYTES];
    bytes[..4].copy_from_slice(&time_bytes(issued_at));
    fill_random(&mut bytes[4..])?;
    Ok(base64url(&bytes))
}

/// The issue time at the start of a [`timed_secret`] or of a successor from
/// [`derive_successor`]. Anyone can write any time there: trust it only to
/// choose between a retryable answer and a final one, never to accept anything.
pub fn secret_issued_at(secret: &str) -> Option<UnixTime> {
    // 6 base64url characters are 36 bits, the first 32 the time.
    let mut bits = 0u64;
    for &c in secret.as_bytes().get(..6)? {
        bits = bits << 6 | u64::from(sextet(c, true)?);
    }
    Some(bits >> 4)
}

/// Unix seconds as the 4 bytes a secret starts with (good until 2106).
fn time_bytes(time: UnixTime) -> [u8; 4] {
    u32::try_from(time).unwrap_or(u32::MAX).to_be_bytes()
}

/// A fresh random identifier of 16 bytes, base64url (22 characters).
pub fn random_id() -> Result<String, RandomnessError> {
    let mut bytes = [0u8; 16];
    fill_random(&mut bytes)?;
    Ok(base64url(&bytes))
}

/// The SHA-256 digest of a secret: the only form in which a secret is stored.
///
/// `Debug` shows only a short prefix, so a digest in a log line identifies a
/// record without letting anyone look it up.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretDigest([u8; 32]);

impl SecretDigest {
    /// Digest of `secret`.
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    /// Digest of `salt || secret`, for low-entropy secrets chosen by people
    /// (configured client secrets), so equal secrets do not share a digest.
    pub fn salted(salt: &str, secret: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(salt.as_bytes());
        hasher.update([0u8]);
        hasher.update(secret.as_bytes());
        Self(hasher.finalize().into())
    }

    /// Lowercase hex, as used in storage keys.
    pub fn to_hex(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        // Bytes, not chars: this runs on every verification, and pushing
        // chars one at a time costs a UTF-8 encoding each in a size-optimised
        // wasm build.
        let digits = self.0.iter().flat_map(|b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
        String::from_utf8(digits.collect()).expect("hex digits are ASCII")
    }

    /// Parses 64 hex characters.
    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
            let text = std::str::from_utf8(pair).ok()?;
            out[i] = u8::from_str_radix(text, 16).ok()?;
        }
        Some(Self(out))
    }

    /// Constant-time equality.
    pub fn matches(&self, other: &SecretDigest) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretDigest({}…)", &self.to_hex()[..8])
    }
}

impl Serialize for SecretDigest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for SecretDigest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::from_hex(&text).ok_or_else(|| serde::de::Error::custom("expected 64 hex digits"))
    }
}

/// The PKCE S256 challenge of a verifier (RFC 7636 §4.2).
pub fn pkce_s256(verifier: &str) -> String {
    base64url(&Sha256::digest(verifier.as_bytes()))
}

/// RFC 7636 §4.1: 43 to 128 characters of `[A-Z a-z 0-9 - . _ ~]`.
pub fn is_valid_pkce_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len()) && verifier.bytes().all(is_unreserved)
}

/// A S256 challenge is the base64url of 32 bytes: exactly 43 characters.
pub fn is_valid_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43 && challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Constant-time comparison of two strings of possibly different lengths
/// (the length itself is not secret here).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The salt of a refresh rotation at `now`: a `.` (which no salt from before
/// rotation times has), then a [`timed_secret`]. The time rides into the
/// successor ([`derive_successor`]), so the successor says when it was issued
/// although it is derived, not drawn.
pub fn rotation_salt(now: UnixTime) -> Result<String, RandomnessError> {
    Ok(format!(".{}", timed_secret(now)?))
}

/// Derives the successor of a refresh token from the token and a random salt
/// kept with the grant. A client that lost the response to a refresh and
/// retries with the previous token gets the very same successor back, so a
/// retry never forks the token chain; without the salt (which only storage
/// holds) nobody can compute a successor offline.
///
/// With a [`rotation_salt`], the successor's first 4 bytes are the rotation
/// time (as in a [`timed_secret`]) and 224 bits stay derived; an older salt
/// (without the `.`) derives the successor it always did.
pub fn derive_successor(presented: &str, salt: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"simply-mcp-oauth/refresh-successor/v1\0");
    hasher.update(salt.as_bytes());
    hasher.update([0u8]);
    hasher.update(presented.as_bytes());
    let mut successor: [u8; 32] = hasher.finalize().into();
    if let Some(time) = salt.strip_prefix('.').and_then(secret_issued_at) {
        successor[..4].copy_from_slice(&time_bytes(time));
    }
    base64url(&successor)
}

/// The RFC 4648 §5 base64url alphabet (tokens).
const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The 6-bit value of `c` in base64 (`+`, `/`) or base64url (`-`, `_`), or
/// `None`. Branch-free arithmetic rather than a search or a table, so the
/// time taken does not depend on the character: HTTP Basic carries the
/// client secret. Each line adds `value + 1` when `c` is in its range: the
/// shifted product of two differences is all ones only inside it.
fn sextet(c: u8, url_safe: bool) -> Option<u8> {
    let c = i32::from(c);
    let in_range = |low: i32, high: i32| ((low - 1 - c) & (c - high - 1)) >> 8;
    let (c62, c63) =
        if url_safe { (i32::from(b'-'), i32::from(b'_')) } else { (i32::from(b'+'), i32::from(b'/')) };
    let mut value = -1;
    value += in_range(65, 90) & (c - 64); // A-Z: 0..=25
    value += in_range(97, 122) & (c - 70); // a-z: 26..=51
    value += in_range(48, 57) & (c + 5); // 0-9: 52..=61
    value += in_range(c62, c62) & 63;
    value += in_range(c63, c63) & 64;
    u8::try_from(value).ok()
}

/// RFC 4648 §5 base64url without padding.
pub fn base64url(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        // A chunk of k bytes is k + 1 characters.
        for i in 0..=chunk.len() {
            out.push(BASE64URL[(n >> (18 - 6 * i) & 63) as usize]);
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

/// RFC 4648 §4 base64 (`+`, `/`), strictly: padding either absent or exactly
/// right, no other characters, unused trailing bits zero. `None` otherwise.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let data = bytes.iter().rposition(|&b| b != b'=').map_or(0, |last| last + 1);
    let padding = bytes.len() - data;
    // Padding, when present, fills the last group of four and nothing more.
    if padding != 0 && (bytes.len() % 4 != 0 || padding > 2) {
        return None;
    }
    decode_sextets(&bytes[..data], false)
}

/// RFC 4648 §5 base64url without padding, strictly (what [`base64url`]
/// writes, and nothing else). `None` otherwise.
pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    decode_sextets(text.as_bytes(), true)
}

/// Unpadded base64 characters to bytes: every character in the alphabet, a
/// whole number of bytes, the unused trailing bits zero (RFC 4648 §3.5).
fn decode_sextets(data: &[u8], url_safe: bool) -> Option<Vec<u8>> {
    // One leftover character is never a whole byte.
    if data.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in data {
        acc = acc << 6 | u32::from(sextet(c, url_safe)?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (acc == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_example() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(pkce_s256(verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(is_valid_pkce_verifier(verifier));
        assert!(is_valid_s256_challenge(&pkce_s256(verifier)));
    }

    #[test]
    fn sextets_are_the_alphabet_positions() {
        let standard = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for c in 0..=255u8 {
            let at = |alphabet: &[u8; 64]| alphabet.iter().position(|&a| a == c).map(|i| i as u8);
            assert_eq!(sextet(c, true), at(BASE64URL), "{c}");
            assert_eq!(sextet(c, false), at(standard), "{c}");
        }
    }

    /// The `base64` crate as a reference: every length from 0 to 100 bytes,
    /// every byte value, both alphabets, with and without padding.
    #[test]
    fn base64_agrees_with_the_base64_crate() {
        use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
        use base64::Engine as _;
        for len in 0..=100usize {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 151 + len * 7) as u8).collect();
            assert_eq!(base64url(&bytes), URL_SAFE_NO_PAD.encode(&bytes), "{len} bytes");
            assert_eq!(base64url_decode(&URL_SAFE_NO_PAD.encode(&bytes)), Some(bytes.clone()), "{len} bytes");
            assert_eq!(base64_decode(&STANDARD.encode(&bytes)), Some(bytes.clone()), "{len} bytes");
            assert_eq!(base64_decode(&STANDARD_NO_PAD.encode(&bytes)), Some(bytes), "{len} bytes");
        }
        let every_byte: Vec<u8> = (0..=255).collect();
        assert_eq!(base64_decode(&STANDARD.encode(&every_byte)), Some(every_byte));
    }

    /// RFC 4648 §10, in both alphabets' common part, and strict decoding.
    #[test]
    fn base64_test_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base64url(plain.as_bytes()), encoded.trim_end_matches('='));
            assert_eq!(base64_decode(encoded).as_deref(), Some(plain.as_bytes()), "{encoded}");
            assert_eq!(base64_decode(encoded.trim_end_matches('=')).as_deref(), Some(plain.as_bytes()));
        }
        assert_eq!(base64url(&[0xfb, 0xff, 0xbf]), "-_-_");
        assert_eq!(base64_decode("+/+/"), Some(vec![0xfb, 0xff, 0xbf]));
        for bad in [
            "Z",
            "Zg=",
            "Zg===",
            "Zm8==",
            "Zm9v=",
            "=",
            "====",
            "Zh==",
            "Zm9=",
            "Zm9v Yg==",
            "-_-_",
            "Zg==Zg==",
            "Zg==Zg",
            "Zg=Zg",
            "Zm9vYg=\n",
            "Zm9v====",
            "Zg======",
            "Zm9vYg=A",
        ] {
            assert_eq!(base64_decode(bad), None, "{bad}");
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(base64url(&all).len(), 342);
        let standard: String = base64url(&all)
            .chars()
            .map(|c| match c {
                '-' => '+',
                '_' => '/',
                c => c,
            })
            .collect();
        assert_eq!(base64_decode(&standard), Some(all));
    }

    #[test]
    fn verifier_rules() {
        assert!(!is_valid_pkce_verifier("short"));
        assert!(!is_valid_pkce_verifier(&"a".repeat(129)));
        assert!(!is_valid_pkce_verifier(&format!("{}+", "a".repeat(43))));
    }

    #[test]
    fn digest_hex_round_trip_and_debug_hides_it() {
        let d = SecretDigest::of("secret");
        assert_eq!(SecretDigest::from_hex(&d.to_hex()), Some(d));
        assert!(!format!("{d:?}").contains(&d.to_hex()));
        assert!(d.matches(&SecretDigest::of("secret")));
        assert!(!d.matches(&SecretDigest::of("secreT")));
        assert_ne!(SecretDigest::salted("a", "s"), SecretDigest::salted("b", "s"));
    }

    #[test]
    fn secrets_are_unique_and_long() {
        let a = random_secret().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_secret().unwrap());
    }

    #[test]
    fn successor_depends_on_salt_and_token() {
        let base = derive_successor("t", "s");
        assert_eq!(base, derive_successor("t", "s"));
        assert_ne!(base, derive_successor("t", "s2"));
        assert_ne!(base, derive_successor("t2", "s"));
        // A salt without a time (stored before rotation times were kept)
        // still derives the successor it derived then.
        assert_eq!(base, "TbLbYG3lOx9d_EnmNZb1u_AhipmsJJMwFSnIKuRkaTw");
    }

    #[test]
    fn timed_secrets_and_successors_carry_their_time() {
        let now = 1_700_000_123;
        let secret = timed_secret(now).unwrap();
        assert_eq!(secret.len(), 43);
        assert_eq!(secret_issued_at(&secret), Some(now));
        assert_ne!(secret, timed_secret(now).unwrap(), "224 random bits follow the time");
        let salt = rotation_salt(now + 5).unwrap();
        let successor = derive_successor(&secret, &salt);
        assert_eq!(successor.len(), 43);
        assert_eq!(secret_issued_at(&successor), Some(now + 5));
        assert_eq!(successor, derive_successor(&secret, &salt), "a retry derives it again");
        assert_ne!(successor, derive_successor(&secret, &rotation_salt(now + 5).unwrap()));
        // Any string decodes to some time; too short or not base64url: none.
        assert_eq!(secret_issued_at(&"A".repeat(43)), Some(0));
        assert_eq!(secret_issued_at(&"_".repeat(43)), Some(u64::from(u32::MAX)));
        assert_eq!(secret_issued_at("AAAA"), None);
        assert_eq!(secret_issued_at("AAAAA"), None);
        // Six characters are enough; the sixth's low 4 bits are not the time.
        assert_eq!(secret_issued_at("AAAAAP"), Some(0));
        assert_eq!(secret_issued_at("AAAAAQ"), Some(1));
        assert_eq!(secret_issued_at("AAAA+AAA"), None, "base64url only");
        assert_eq!(secret_issued_at(&timed_secret(u64::MAX).unwrap()), Some(u64::from(u32::MAX)));
    }
}
