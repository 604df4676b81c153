//! A detached JWS (`x-jws-signature`): its structure, the certificate it names, sigT, pars, the
//! digest, then the signature — and when it does not verify, which mistake made it.

use super::body::{check_digest, describe as describe_digest};
use super::keys::{Opener, describe_certificate};
use super::search::{Layout, Mistake, expected_request_target};
use super::verdict::{Names, Verdict, judge, key_finding};
use super::{Evidence, Finding};
use crate::catalogue as id;
use crate::certs::wire::{parse_header_certificate, x5t_s256};
use crate::sign::message::{Message, parse_sig_t, skew_secs};
use crate::sign::recover::{Hash, Recovered};
use crate::sign::{Algorithm, CERTIFICATE_HEADER, Family, JWS_HEADER, jws};
use openssl::x509::X509;

/// The bank's tolerance for sigT and Date (the guide: 3 minutes).
pub const MAX_SKEW_SECS: u64 = 180;

/// Findings on the request's JWS; `None` when it has none.
pub fn diagnose(message: &Message<'_>, evidence: &Evidence<'_>) -> Option<Vec<Finding>> {
    let value = message.header(JWS_HEADER)?;
    let mut findings = Vec::new();
    let parsed = match jws::parse(&value) {
        Ok(parsed) => parsed,
        Err(e) => return Some(vec![Finding::new(e.diagnosis_id(), e.to_string())]),
    };
    let Some(certificate) = signing_certificate(message, &parsed, evidence, &mut findings) else {
        return Some(findings);
    };
    super::certs::check_signing_certificate(&certificate, evidence, &mut findings);
    let algorithm = Algorithm::from_name(&parsed.alg).filter(|a| {
        a.family() == Family::Jose
            && !matches!(a, Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512)
    });
    let Some(algorithm) = algorithm else {
        findings.push(Finding::new(
            id::JWS_ALG_MISMATCH,
            format!(
                "alg `{}` is not accepted: ING takes PS256/384/512 (or ES256/384/512)",
                parsed.alg
            ),
        ));
        return Some(findings);
    };
    check_sig_t(&parsed, evidence, &mut findings);
    let pars: Vec<String> = parsed.pars.iter().map(|p| p.to_ascii_lowercase()).collect();
    check_pars(message, &pars, &mut findings);
    if pars.iter().any(|p| p == "digest")
        && message.header("digest").is_some()
        && let Err(problem) = check_digest(message)
    {
        findings.push(Finding::new(
            id::JWS_HEADER_VALUE_MISMATCH,
            describe_digest(&problem),
        ));
    }
    if pars
        .iter()
        .any(|p| p != "(request-target)" && message.header(p).is_none())
    {
        // The signing input cannot be rebuilt; check_pars named the missing header.
        return Some(findings);
    }
    let prefix = format!("{}.", parsed.header_b64);
    let layout = Layout {
        prefix: prefix.as_bytes(),
        names: &pars,
        message,
        request_target: expected_request_target(message),
        signature_headers: &["x-jws-signature"],
    };
    check_signature(
        &layout,
        &parsed,
        algorithm,
        &certificate,
        evidence,
        &mut findings,
    );
    Some(findings)
}

/// The certificate `TPP-Signature-Certificate` carries, checked against x5t#S256.
fn signing_certificate(
    message: &Message<'_>,
    parsed: &jws::ParsedJws,
    evidence: &Evidence<'_>,
    findings: &mut Vec<Finding>,
) -> Option<X509> {
    let named = parsed.x5t_s256.as_deref().unwrap_or_default();
    let given = || evidence.certificates.iter().find(|c| x5t_s256(c) == named);
    let Some(header) = message.header(CERTIFICATE_HEADER) else {
        findings.push(Finding::new(
            id::JWS_X5T_MISMATCH,
            format!(
                "no {CERTIFICATE_HEADER} header: the bank cannot find the certificate x5t#S256 names{}",
                given().map(|c| format!(" ({})", describe_certificate(c))).unwrap_or_default()
            ),
        ));
        return None;
    };
    let Some(certificate) = parse_header_certificate(&header) else {
        findings.push(Finding::new(
            id::JWS_X5T_MISMATCH,
            format!("{CERTIFICATE_HEADER} is not a PEM certificate"),
        ));
        return None;
    };
    if named.is_empty() {
        findings.push(Finding::new(
            id::JWS_X5T_MISMATCH,
            "the protected header has no x5t#S256: the bank cannot tell which certificate signed",
        ));
        return None;
    }
    if x5t_s256(&certificate) != named {
        let which = match given() {
            Some(other) => format!("it names {}", describe_certificate(other)),
            None => "it names none of the certificates given".to_string(),
        };
        findings.push(Finding::new(
            id::JWS_X5T_MISMATCH,
            format!(
                "x5t#S256 `{named}` is not the thumbprint of the {CERTIFICATE_HEADER} certificate {}; {which}",
                describe_certificate(&certificate)
            ),
        ));
        return None;
    }
    Some(certificate)
}

fn check_sig_t(parsed: &jws::ParsedJws, evidence: &Evidence<'_>, findings: &mut Vec<Finding>) {
    let text = parsed
        .header
        .get("sigT")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    match parse_sig_t(text) {
        None => findings.push(Finding::new(
            id::JWS_SIGT_SKEW,
            format!(
                "sigT `{text}` is not RFC 3339 UTC without fraction, like 2019-11-19T17:28:15Z"
            ),
        )),
        Some(at) => {
            let skew = skew_secs(at, evidence.now);
            if skew > MAX_SKEW_SECS {
                findings.push(Finding::new(
                    id::JWS_SIGT_SKEW,
                    format!("sigT `{text}` is {skew} s from the clock (at most {MAX_SKEW_SECS} s)"),
                ));
            }
        }
    }
}

/// ING's required pars, and pars the request does not carry.
fn check_pars(message: &Message<'_>, pars: &[String], findings: &mut Vec<Finding>) {
    let mut required = vec!["(request-target)", "digest"];
    if !message.body.is_empty() {
        required.push("content-type");
    }
    for name in required {
        if !pars.iter().any(|p| p == name) {
            findings.push(Finding::new(
                id::JWS_SIGNED_NOT_IN_PARS,
                format!("sigD.pars lacks `{name}`: ING requires (request-target), digest and content-type to be signed and listed"),
            ));
        }
    }
    for name in pars {
        if name != "(request-target)" && message.header(name).is_none() {
            findings.push(Finding::new(
                id::JWS_PARS_NOT_SIGNED,
                format!("`{name}` is in sigD.pars but the request has no such header"),
            ));
        }
    }
}

fn check_signature(
    layout: &Layout<'_>,
    parsed: &jws::ParsedJws,
    algorithm: Algorithm,
    certificate: &X509,
    evidence: &Evidence<'_>,
    findings: &mut Vec<Finding>,
) {
    let Ok(key) = certificate.public_key() else {
        return;
    };
    let opener = Opener::new(&key, algorithm, &parsed.signature);
    let sent = layout.baseline();
    if let Some(recovered) =
        Hash::of_size(algorithm.digest_len()).and_then(|h| opener.reading(h, sent.as_deref()))
    {
        check_encoding(recovered, algorithm, findings);
    }
    let verdict = judge(
        layout,
        &opener,
        algorithm,
        &parsed.signature,
        evidence,
        &key,
    );
    // A header already found changed (a wrong Digest, a stale sigT) explains a signature over
    // another value: no need for the vaguer "none of the known mistakes".
    let explained = findings
        .iter()
        .any(|f| [id::JWS_HEADER_VALUE_MISMATCH, id::JWS_SIGT_SKEW].contains(&f.id.as_str()));
    match verdict {
        Verdict::Mistake(mistake) => findings.push(jws_finding(mistake)),
        Verdict::Unexplained { .. } if explained => {}
        verdict => findings.extend(key_finding(&verdict, &NAMES, certificate, "")),
    }
}

const NAMES: Names = Names {
    wrong_key: id::JWS_WRONG_KEY,
    changed_value: id::JWS_HEADER_VALUE_MISMATCH,
    pointer: "that x5t#S256 names",
};

/// The hash and PSS salt the signature was really made with.
fn check_encoding(recovered: &Recovered, algorithm: Algorithm, findings: &mut Vec<Finding>) {
    let expected = algorithm.digest_len();
    match recovered {
        Recovered::Pss { hash, .. } if hash.size() != expected => findings.push(Finding::new(
            id::JWS_ALG_MISMATCH,
            format!("alg says {algorithm}, but the signature was made with RSA-PSS and {}", hash.name()),
        )),
        Recovered::Pss { salt, .. } if salt.len() != expected => findings.push(Finding::new(
            id::JWS_PSS_SALT_LENGTH,
            format!(
                "the RSA-PSS salt is {} bytes; {algorithm} needs {expected} (the digest length)",
                salt.len()
            ),
        ).with_fix(format!("sign with `-sigopt rsa_pss_saltlen:{expected}` (OpenSSL 3.0's default is the maximum)"))),
        Recovered::Pkcs1 { hash, .. } => findings.push(Finding::new(
            id::JWS_ALG_MISMATCH,
            format!("alg says {algorithm} (RSA-PSS), but the signature is RSA PKCS#1 v1.5 with {} (RS…)", hash.name()),
        )),
        _ => {}
    }
}

fn jws_finding(mistake: Mistake) -> Finding {
    match mistake {
        Mistake::TrailingLf => Finding::new(
            id::JWS_TRAILING_LF,
            "the signature verifies over the signing input followed by a line feed: the input was built with a trailing LF after the last header",
        ),
        Mistake::CrlfLineEndings { trailing } => Finding::new(
            id::JWS_CRLF_LINE_ENDINGS,
            format!(
                "the signature verifies over the header lines joined with CR LF{}",
                if trailing {
                    " (and one after the last)"
                } else {
                    ""
                }
            ),
        ),
        Mistake::Order(order) => Finding::new(
            id::JWS_PARS_ORDER,
            format!(
                "the signature verifies over the headers in the order {}, not in the order of sigD.pars",
                order.join(", ")
            ),
        ),
        Mistake::ListedNotSigned(names) => Finding::new(
            id::JWS_PARS_NOT_SIGNED,
            format!(
                "the signature verifies over the headers of sigD.pars without {}: listed but not signed",
                names.join(" and ")
            ),
        ),
        Mistake::SignedNotListed(name) => Finding::new(
            id::JWS_SIGNED_NOT_IN_PARS,
            format!(
                "the signature verifies only with `{name}` added to the signing input: signed but not in sigD.pars"
            ),
        ),
        Mistake::RequestTarget(signed) | Mistake::RequestTargetPrefix(signed) => Finding::new(
            id::JWS_REQUEST_TARGET_MISMATCH,
            format!(
                "the signature verifies with (request-target) `{signed}`, not with the request's own"
            ),
        ),
        Mistake::HeaderValue { name, signed } => Finding::new(
            id::JWS_HEADER_VALUE_MISMATCH,
            format!(
                "the signature verifies with `{name}: {signed}`, but the request sends another {name}"
            ),
        ),
        Mistake::LineSeparator(separator) => Finding::new(
            id::JWS_LINE_SEPARATOR,
            format!(
                "the signature verifies over the header lines joined with {} instead of LF",
                super::search::separator_name(&separator)
            ),
        ),
        Mistake::OtherEndpoint(signed) => Finding::new(
            id::JWS_REQUEST_TARGET_MISMATCH,
            format!(
                "the signature verifies with (request-target) `{signed}`, another endpoint's: signing code copied from another request?"
            ),
        ),
        Mistake::NameCase => Finding::new(
            id::JWS_HEADER_VALUE_MISMATCH,
            "the signature verifies over the header names as spelled in the request (e.g. `Digest:`); the signing input uses lower-case names",
        ),
    }
}
