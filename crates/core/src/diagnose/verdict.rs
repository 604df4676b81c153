//! What a signature says about the key and the input it was made over, shared by JWS and HTTP
//! signatures: opened with the named certificate's key, else with another key of the evidence,
//! else over one of the known mistakes — each protocol then names the result with its own ids.

use super::keys::{KeyCandidate, Opener, candidates, describe_certificate, is_tls_certificate};
use super::search::{Layout, Mistake, search};
use super::{Evidence, Finding};
use crate::sign::Algorithm;
use openssl::pkey::{PKey, Public};
use openssl::x509::X509;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The signature opens over the input as the bank builds it.
    Opens,
    /// Made with another key of the evidence (described).
    OtherKey(String),
    /// RSA: made with neither the certificate's key nor any key given.
    UnknownKey,
    /// Made with the certificate's key over this mistaken input.
    Mistake(Mistake),
    /// Nothing searched explains it; `key_proven` when RSA showed the key is the certificate's.
    Unexplained { key_proven: bool },
}

/// Judges a signature whose key is `opener`'s (the certificate's, `named`).
pub fn judge(
    layout: &Layout<'_>,
    opener: &Opener,
    algorithm: Algorithm,
    signature: &[u8],
    evidence: &Evidence<'_>,
    named: &PKey<Public>,
) -> Verdict {
    let Some(baseline) = layout.baseline() else {
        return Verdict::Opens;
    };
    if opener.opens(&baseline) {
        return Verdict::Opens;
    }
    let rsa = matches!(opener, Opener::Rsa(_));
    // RSA proves the key wrong; EC cannot tell, so other keys are tried before the search.
    if opener.not_this_key() || !rsa {
        let other = candidates(evidence, named)
            .into_iter()
            .find_map(|candidate| {
                let other = Opener::new(&candidate.key, algorithm, signature);
                let opens = !other.not_this_key()
                    && (other.opens(&baseline)
                        || search(layout, &|inputs| other.first_opening(inputs)).is_some());
                opens.then(|| label(candidate))
            });
        if let Some(found) = other {
            return Verdict::OtherKey(found);
        }
        if opener.not_this_key() {
            return Verdict::UnknownKey;
        }
    }
    match search(layout, &|inputs| opener.first_opening(inputs)) {
        Some(mistake) => Verdict::Mistake(mistake),
        None => Verdict::Unexplained { key_proven: rsa },
    }
}

fn label(candidate: KeyCandidate<'_>) -> String {
    if candidate.certificate.is_some_and(|c| is_tls_certificate(c)) {
        format!("{} — a TLS certificate", candidate.label)
    } else {
        candidate.label
    }
}

/// How a protocol names the verdicts that are not a particular mistake.
pub struct Names {
    pub wrong_key: &'static str,
    /// The id of a signature over an input none of the mistakes explains, the key proven right.
    pub changed_value: &'static str,
    /// How the certificate is pointed at: "that keyId names".
    pub pointer: &'static str,
}

/// The finding of a key verdict or an unexplained one; `None` for `Opens` and `Mistake`.
pub fn key_finding(
    verdict: &Verdict,
    names: &Names,
    certificate: &X509,
    note: &str,
) -> Option<Finding> {
    let cert = describe_certificate(certificate);
    match verdict {
        Verdict::OtherKey(found) => Some(Finding::new(
            names.wrong_key,
            format!(
                "the signature was made with {found}, not with the key of {cert} {}",
                names.pointer
            ),
        )),
        Verdict::UnknownKey => Some(Finding::new(
            names.wrong_key,
            format!(
                "the signature was not made with the key of {cert} (it does not open with it) nor with any key given"
            ),
        )),
        Verdict::Unexplained { key_proven: true } => Some(Finding::new(
            names.changed_value,
            format!(
                "the signature was made with the certificate's key, over an input that is none of the known mistakes: a signed header value (or the path) differs from what was sent{note}"
            ),
        )),
        Verdict::Unexplained { key_proven: false } => Some(Finding::new(
            names.wrong_key,
            "the signature does not verify and no known mistake explains it: another key, or a signed value that differs from what was sent (an EC signature cannot tell which)",
        )),
        Verdict::Opens | Verdict::Mistake(_) => None,
    }
}
