//! The `Digest` header against the body: which bytes a client digested when they are not the
//! bytes it sent (a newline `echo` added, the form encoded another way).

use super::ORIGINAL_BODY_HEADER;
use crate::sign::digest::{DigestError, sha256_digest, verify_digest};
use crate::sign::message::Message;

/// Bytes a client may have digested instead of the body it sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyVariant {
    /// The body followed by a line feed (`echo $payload | openssl dgst`).
    TrailingNewline,
    /// The body without its surrounding white space.
    Trimmed,
    /// A form with spaces as `%20` where `+` was sent.
    FormSpacesAsPercent20,
    /// A form with spaces as `+` where `%20` was sent.
    FormSpacesAsPlus,
    /// A form not percent-encoded at all.
    FormUnencoded,
    /// No body at all.
    Empty,
}

impl BodyVariant {
    pub fn describe(self) -> &'static str {
        match self {
            BodyVariant::TrailingNewline => {
                "the body followed by a line feed (as `echo $payload | openssl dgst` makes it)"
            }
            BodyVariant::Trimmed => "the body without its surrounding white space",
            BodyVariant::FormSpacesAsPercent20 => "the form with spaces encoded as %20 (sent: +)",
            BodyVariant::FormSpacesAsPlus => "the form with spaces encoded as + (sent: %20)",
            BodyVariant::FormUnencoded => "the form before percent-encoding",
            BodyVariant::Empty => "an empty body",
        }
    }

    pub fn is_form_encoding(self) -> bool {
        matches!(
            self,
            BodyVariant::FormSpacesAsPercent20
                | BodyVariant::FormSpacesAsPlus
                | BodyVariant::FormUnencoded
        )
    }
}

/// Each variant with the `Digest` value it has.
pub fn digest_variants(body: &[u8]) -> Vec<(BodyVariant, String)> {
    let mut out = Vec::new();
    let mut push = |variant, bytes: &[u8]| {
        if bytes != body {
            out.push((variant, sha256_digest(bytes)));
        }
    };
    let mut newline = body.to_vec();
    newline.push(b'\n');
    push(BodyVariant::TrailingNewline, &newline);
    push(BodyVariant::Trimmed, body.trim_ascii());
    if let Ok(text) = std::str::from_utf8(body)
        && looks_like_form(text)
    {
        push(
            BodyVariant::FormSpacesAsPercent20,
            text.replace('+', "%20").as_bytes(),
        );
        push(
            BodyVariant::FormSpacesAsPlus,
            text.replace("%20", "+").as_bytes(),
        );
        let decoded = text.replace('+', " ");
        let decoded = percent_encoding::percent_decode_str(&decoded).decode_utf8_lossy();
        push(BodyVariant::FormUnencoded, decoded.as_bytes());
    }
    push(BodyVariant::Empty, b"");
    out
}

fn looks_like_form(text: &str) -> bool {
    !text.is_empty()
        && text.split('&').all(|pair| {
            pair.split_once('=')
                .is_some_and(|(k, _)| !k.is_empty() && !k.contains(['{', '"', ' ']))
        })
}

/// What is wrong with `Digest`, when something is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestProblem {
    Malformed(String),
    /// The bare base64 hash without `SHA-256=`; `of_body`: it is the body's hash.
    MissingLabel {
        sent: String,
        of_body: bool,
    },
    /// Not of the body sent; of `variant` when one matches.
    Mismatch {
        sent: String,
        variant: Option<BodyVariant>,
    },
}

/// Checks `Digest` against the body sent (or the digest the request archive recorded of it).
pub fn check_digest(message: &Message<'_>) -> Result<(), DigestProblem> {
    let sent = message.header("digest").unwrap_or_default();
    if let Some(original) = message.header(ORIGINAL_BODY_HEADER) {
        let recorded = original.trim().strip_prefix("sha-256=").unwrap_or_default();
        let value = sent.trim();
        let ok = value.len() > 8
            && value[..8].eq_ignore_ascii_case("SHA-256=")
            && value[8..] == *recorded;
        return if ok {
            Ok(())
        } else {
            Err(DigestProblem::Mismatch {
                sent: sent.clone(),
                variant: None,
            })
        };
    }
    match verify_digest(&sent, message.body) {
        Ok(()) => Ok(()),
        Err(DigestError::Malformed(text)) => Err(DigestProblem::Malformed(text)),
        Err(DigestError::MissingLabel(bare)) => {
            let of_body = sha256_digest(message.body).strip_prefix("SHA-256=") == Some(&bare);
            Err(DigestProblem::MissingLabel {
                sent: bare,
                of_body,
            })
        }
        Err(DigestError::Mismatch { .. }) => {
            let variant = digest_variants(message.body)
                .into_iter()
                .find(|(_, value)| value.eq_ignore_ascii_case(sent.trim()) || *value == sent)
                .map(|(variant, _)| variant);
            Err(DigestProblem::Mismatch { sent, variant })
        }
    }
}

/// One sentence on a digest problem.
pub fn describe(problem: &DigestProblem) -> String {
    match problem {
        DigestProblem::Malformed(text) => {
            format!("Digest `{text}` is not `SHA-256=<base64>`")
        }
        DigestProblem::MissingLabel {
            sent,
            of_body: true,
        } => format!(
            "Digest `{sent}` is the SHA-256 of the body without its label: send `SHA-256={sent}`"
        ),
        DigestProblem::MissingLabel {
            sent,
            of_body: false,
        } => format!(
            "Digest `{sent}` has no `SHA-256=` label (and is not the SHA-256 of the body sent either)"
        ),
        DigestProblem::Mismatch {
            sent,
            variant: Some(variant),
        } => format!(
            "Digest `{sent}` is not SHA-256 of the body sent; it is of {}",
            variant.describe()
        ),
        DigestProblem::Mismatch {
            sent,
            variant: None,
        } => format!(
            "Digest `{sent}` is not SHA-256 of the body sent (nor of a known variant of it)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &[u8], digest: &str) -> Result<(), DigestProblem> {
        let headers = vec![("Digest".to_string(), digest.to_string())];
        check_digest(&Message {
            method: "POST",
            target: "/",
            headers: &headers,
            body,
        })
    }

    #[test]
    fn the_variant_digested_is_named() {
        let body = b"grant_type=client_credentials&scope=a+b";
        assert_eq!(check(body, &sha256_digest(body)), Ok(()));
        let percent = sha256_digest(b"grant_type=client_credentials&scope=a%20b");
        assert!(matches!(
            check(body, &percent),
            Err(DigestProblem::Mismatch {
                variant: Some(BodyVariant::FormSpacesAsPercent20),
                ..
            })
        ));
        let echoed = sha256_digest(b"grant_type=client_credentials&scope=a+b\n");
        assert!(matches!(
            check(body, &echoed),
            Err(DigestProblem::Mismatch {
                variant: Some(BodyVariant::TrailingNewline),
                ..
            })
        ));
        assert!(matches!(
            check(body, "SHA-256=AAAA"),
            Err(DigestProblem::Mismatch { variant: None, .. })
        ));
        assert!(matches!(
            check(body, "MD5=x"),
            Err(DigestProblem::Malformed(_))
        ));
    }

    #[test]
    fn a_recorded_digest_stands_for_a_redacted_body() {
        let original = b"code=secret";
        let digest = sha256_digest(original);
        let recorded = format!("sha-256={}", &digest[8..]);
        let headers = vec![
            ("Digest".to_string(), digest.clone()),
            (ORIGINAL_BODY_HEADER.to_string(), recorded),
        ];
        let message = Message {
            method: "POST",
            target: "/",
            headers: &headers,
            body: b"code=%C2%ABredacted%C2%BB",
        };
        assert_eq!(check_digest(&message), Ok(()));
    }
}
