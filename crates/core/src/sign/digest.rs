//! The `Digest` header (RFC 3230): a hash of the exact body bytes, empty bodies included.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::hash::{MessageDigest, hash};

/// `SHA-256=<base64>` of the body, as ING expects it.
pub fn sha256_digest(body: &[u8]) -> String {
    digest_value("SHA-256", MessageDigest::sha256(), body)
}

fn digest_value(label: &str, digest: MessageDigest, body: &[u8]) -> String {
    let bytes = hash(digest, body).map(|d| d.to_vec()).unwrap_or_default();
    format!("{label}={}", STANDARD.encode(bytes))
}

/// A value that is base64 of a SHA-256 or SHA-512 hash and nothing else (no `SHA-256=`).
fn is_bare_hash(header: &str) -> bool {
    STANDARD
        .decode(header.trim())
        .is_ok_and(|bytes| bytes.len() == 32 || bytes.len() == 64)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("the Digest header `{0}` is not `SHA-256=<base64>` (or SHA-512)")]
    Malformed(String),
    #[error("the Digest header says {sent} but the body received hashes to {actual}")]
    Mismatch { sent: String, actual: String },
    #[error(
        "the Digest header `{0}` is a bare base64 hash: it needs its label, `SHA-256=<base64>`"
    )]
    MissingLabel(String),
}

/// Checks a `Digest` header against the bytes received. Accepts SHA-256 and SHA-512 (the
/// algorithm label is case-insensitive, as RFC 3230 says); several comma-separated digests must
/// all match.
pub fn verify_digest(header: &str, body: &[u8]) -> Result<(), DigestError> {
    if is_bare_hash(header) {
        return Err(DigestError::MissingLabel(header.trim().to_string()));
    }
    let mut seen = false;
    for part in header.split(',') {
        let part = part.trim();
        let (label, _) = part
            .split_once('=')
            .ok_or_else(|| DigestError::Malformed(header.to_string()))?;
        let (canonical, digest) = match label.to_ascii_uppercase().as_str() {
            "SHA-256" => ("SHA-256", MessageDigest::sha256()),
            "SHA-512" => ("SHA-512", MessageDigest::sha512()),
            _ => return Err(DigestError::Malformed(header.to_string())),
        };
        let actual = digest_value(canonical, digest, body);
        let sent_value = &part[label.len() + 1..];
        if sent_value != &actual[canonical.len() + 1..] {
            return Err(DigestError::Mismatch {
                sent: part.to_string(),
                actual,
            });
        }
        seen = true;
    }
    if seen {
        Ok(())
    } else {
        Err(DigestError::Malformed(header.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guides_digests() {
        // The guide's empty-body digest (PUT /oauth2/applications and GET requests).
        assert_eq!(
            sha256_digest(b""),
            "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        assert_eq!(
            sha256_digest(b"grant_type=client_credentials"),
            "SHA-256=w0mymuL8aCrbJmmabs1pytZhon8lQucTuJMUtuKr+uw="
        );
        // draft-cavage's example body.
        assert_eq!(
            sha256_digest(br#"{"hello": "world"}"#),
            "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="
        );
    }

    #[test]
    fn verification_is_over_the_exact_bytes() {
        let body = b"grant_type=client_credentials&scope=a%3Ab+c";
        assert_eq!(verify_digest(&sha256_digest(body), body), Ok(()));
        assert!(matches!(
            verify_digest(
                &sha256_digest(body),
                b"grant_type=client_credentials&scope=a:b%20c"
            ),
            Err(DigestError::Mismatch { .. })
        ));
        assert_eq!(
            verify_digest(
                "sha-256=w0mymuL8aCrbJmmabs1pytZhon8lQucTuJMUtuKr+uw=",
                b"grant_type=client_credentials"
            ),
            Ok(())
        );
        assert!(matches!(
            verify_digest("MD5=abc", b""),
            Err(DigestError::Malformed(_))
        ));
    }
}
