//! A draft-cavage HTTP signature: where it is, its keyId and the certificate that names, the
//! signed headers, Date and Digest, then the signature — and when it does not verify, which
//! mistake made it.

use super::body::{check_digest, describe as describe_digest};
use super::jws::MAX_SKEW_SECS;
use super::keys::{Opener, describe_certificate, is_tls_certificate};
use super::search::{Layout, Mistake, expected_request_target, separator_name};
use super::verdict::{Names, Verdict, judge, key_finding};
use super::{Evidence, Finding};
use crate::catalogue as id;
use crate::certs::wire::{parse_header_certificate, serial_hex};
use crate::sign::http_signature::{DEFAULT_HEADERS, SignatureParams};
use crate::sign::message::{Message, parse_imf_fixdate, skew_secs};
use crate::sign::recover::{Hash, Recovered};
use crate::sign::{Algorithm, CERTIFICATE_HEADER, Family};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::x509::X509;

/// Findings on the request's HTTP signature; `None` when it has none.
pub fn diagnose(message: &Message<'_>, evidence: &Evidence<'_>) -> Option<Vec<Finding>> {
    let in_header = message.header("signature");
    let in_authorization = message
        .header("authorization")
        .filter(|v| scheme(v).eq_ignore_ascii_case("signature"));
    let bearer = message
        .header("authorization")
        .is_some_and(|v| scheme(&v).eq_ignore_ascii_case("bearer"));
    let mut findings = Vec::new();
    let params = match (&in_header, &in_authorization) {
        (None, None) => return None,
        (Some(_), Some(_)) => {
            return Some(vec![Finding::new(
                id::HTTPSIG_PLACEMENT,
                "the request has both a Signature header and Authorization: Signature; send one",
            )]);
        }
        (Some(value), None) => {
            if !bearer && is_token_request(message) {
                findings.push(Finding::new(
                    id::HTTPSIG_PLACEMENT,
                    "the application token request carries its signature in a Signature header; ING reads it from Authorization: Signature …",
                ));
            }
            SignatureParams::parse(value)
        }
        (None, Some(value)) => SignatureParams::parse(value.split_once(' ').map_or("", |(_, r)| r)),
    };
    let params = match params {
        Ok(params) => params,
        Err(e) => {
            findings.push(Finding::new(id::HTTPSIG_HEADERS_MISMATCH, e.to_string()));
            return Some(findings);
        }
    };
    let algorithm = match params.algorithm.as_deref() {
        None => None,
        Some(name) => {
            match Algorithm::from_name(name).filter(|a| a.family() == Family::HttpSignature) {
                Some(a) => Some(a),
                None => {
                    findings.push(Finding::new(
                        id::HTTPSIG_ALGORITHM,
                        format!("algorithm=\"{name}\" is not accepted: ING signs with rsa-sha256"),
                    ));
                    return Some(findings);
                }
            }
        }
    };
    let Some(certificate) = key_certificate(message, &params, bearer, evidence, &mut findings)
    else {
        return Some(findings);
    };
    super::certs::check_signing_certificate(&certificate, evidence, &mut findings);
    check_listed(message, &params, &mut findings);
    check_date(message, evidence, &mut findings);
    if params.headers.iter().any(|h| h == "digest")
        && message.header("digest").is_some()
        && let Err(problem) = check_digest(message)
    {
        use super::body::DigestProblem;
        let id = match &problem {
            DigestProblem::Mismatch {
                variant: Some(v), ..
            } if v.is_form_encoding() => id::HTTPSIG_FORM_ENCODING,
            DigestProblem::MissingLabel { .. } => id::HTTPSIG_DIGEST_LABEL,
            _ => id::HTTPSIG_DIGEST_MISMATCH,
        };
        findings.push(Finding::new(id, describe_digest(&problem)));
    }
    if params
        .headers
        .iter()
        .any(|h| h != "(request-target)" && message.header(h).is_none())
    {
        return Some(findings);
    }
    let Ok(key) = certificate.public_key() else {
        return Some(findings);
    };
    let algorithm =
        algorithm.unwrap_or_else(|| Algorithm::default_for(Family::HttpSignature, &key));
    let Ok(signature) = STANDARD.decode(params.signature.trim()) else {
        findings.push(Finding::new(
            id::HTTPSIG_HEADERS_MISMATCH,
            "signature= is not base64",
        ));
        return Some(findings);
    };
    let layout = Layout {
        prefix: b"",
        names: &params.headers,
        message,
        request_target: expected_request_target(message),
        signature_headers: &["signature", "authorization"],
    };
    check_signature(
        &layout,
        algorithm,
        &signature,
        &certificate,
        evidence,
        &mut findings,
    );
    Some(findings)
}

fn scheme(value: &str) -> &str {
    value.split_once(' ').map_or(value, |(s, _)| s)
}

fn is_token_request(message: &Message<'_>) -> bool {
    message.method.eq_ignore_ascii_case("POST") && message.target.ends_with("/oauth2/token")
}

/// The certificate keyId points at: `SN=<serial>` names one; a client_id names the application,
/// whose signing certificate is in TPP-Signature-Certificate or among the evidence.
fn key_certificate(
    message: &Message<'_>,
    params: &SignatureParams,
    bearer: bool,
    evidence: &Evidence<'_>,
    findings: &mut Vec<Finding>,
) -> Option<X509> {
    let sent = match message.header(CERTIFICATE_HEADER) {
        None => None,
        Some(value) => match parse_header_certificate(&value) {
            Some(cert) => Some(cert),
            None => {
                findings.push(Finding::new(
                    id::HTTPSIG_CERTIFICATE_HEADER,
                    format!("{CERTIFICATE_HEADER} is not a PEM certificate"),
                ));
                return None;
            }
        },
    };
    let serial = params.key_id.strip_prefix("SN=").map(str::trim);
    match (serial, bearer) {
        (Some(_), true) => {
            findings.push(Finding::new(
                id::HTTPSIG_KEYID_FORM,
                format!("keyId `{}` names a certificate serial; beside a Bearer token keyId is the client_id", params.key_id),
            ));
            None
        }
        (Some(serial), false) => by_serial(serial, sent, evidence, findings),
        (None, _) if !bearer && is_token_request(message) && looks_like_serial(&params.key_id) => {
            findings.push(Finding::new(
                id::HTTPSIG_KEYID_FORM,
                format!(
                    "keyId `{}` must be SN=<serial of the signing certificate in hex>",
                    params.key_id
                ),
            ));
            None
        }
        (None, _) => {
            if let Some(cert) = sent {
                return Some(cert);
            }
            // keyId is a client_id: the application's signing certificate is the signing (not
            // TLS) certificate whose key opens the signature, else the first one; a signature
            // made with the TLS key is then the wrong key.
            let mut given: Vec<&X509> = evidence
                .certificates
                .iter()
                .filter(|c| !is_tls_certificate(c))
                .collect();
            if given.is_empty() {
                given = evidence.certificates.iter().collect();
            }
            let signature = STANDARD.decode(params.signature.trim()).unwrap_or_default();
            let opened = given.iter().find(|c| {
                c.public_key().is_ok_and(|k| {
                    !Opener::new(&k, Algorithm::RsaSha256, &signature).not_this_key()
                })
            });
            match opened.or(given.first()) {
                Some(cert) => Some((*cert).clone()),
                None => {
                    findings.push(Finding::new(
                        id::HTTPSIG_WRONG_KEY,
                        format!("keyId `{}` names an application; give its signing certificate to check the signature", params.key_id),
                    ));
                    None
                }
            }
        }
    }
}

fn looks_like_serial(key_id: &str) -> bool {
    !key_id.is_empty() && key_id.chars().all(|c| c.is_ascii_hexdigit()) && key_id.len() <= 40
        || key_id.starts_with("SN:")
        || key_id.to_ascii_lowercase().starts_with("sn=")
}

fn by_serial(
    serial: &str,
    sent: Option<X509>,
    evidence: &Evidence<'_>,
    findings: &mut Vec<Finding>,
) -> Option<X509> {
    let serial_part = serial.split(',').next().unwrap_or(serial).trim();
    let wanted = normalize(serial_part);
    if wanted.is_empty() || !serial_part.chars().all(|c| c.is_ascii_hexdigit()) {
        findings.push(Finding::new(
            id::HTTPSIG_KEYID_FORM,
            format!("keyId SN=`{serial}` is not a hex serial number"),
        ));
        return None;
    }
    if let Some(cert) = &sent
        && normalize(&serial_hex(cert)) != wanted
    {
        // keyId and the certificate sent disagree: a keyId in another form of the same
        // certificate's serial, or naming another certificate of the client, is keyId's fault.
        findings.push(match key_id_form_of(serial_part, cert, evidence) {
            Some(why) => Finding::new(id::HTTPSIG_KEYID_FORM, why),
            None => Finding::new(
                id::HTTPSIG_CERTIFICATE_HEADER,
                format!(
                    "{CERTIFICATE_HEADER} is {}, not the certificate SN={serial_part} that keyId names",
                    describe_certificate(cert)
                ),
            ),
        });
        return None;
    }
    if let Some(cert) = evidence
        .certificates
        .iter()
        .find(|c| normalize(&serial_hex(c)) == wanted)
    {
        if is_tls_certificate(cert) {
            findings.push(Finding::new(
                id::CERT_WRONG_USAGE,
                format!("keyId SN={serial_part} names the TLS certificate {}; it must name the signing certificate", describe_certificate(cert)),
            ));
            return None;
        }
        return Some(cert.clone());
    }
    if let Some(cert) = sent {
        return Some(cert);
    }
    // A decimal serial where hex is expected.
    let as_hex = openssl::bn::BigNum::from_dec_str(serial_part)
        .ok()
        .and_then(|bn| bn.to_hex_str().ok().map(|h| normalize(&h)));
    if let Some(cert) = as_hex.and_then(|hex| {
        evidence
            .certificates
            .iter()
            .find(|c| normalize(&serial_hex(c)) == hex)
    }) {
        findings.push(Finding::new(
            id::HTTPSIG_KEYID_FORM,
            format!(
                "keyId SN={serial_part} is the serial in decimal; write it in hex: SN={}",
                serial_hex(cert)
            ),
        ));
        return None;
    }
    findings.push(Finding::new(
        id::HTTPSIG_KEYID_FORM,
        format!("keyId SN={serial_part} is the serial of none of the certificates given: check the serial (hex), or give its certificate"),
    ));
    None
}

/// Why keyId SN=`serial_part`, which is not `sent`'s hex serial, is still keyId's mistake: the
/// same serial in decimal, the TLS certificate's serial, or the serial with its hex digits
/// mangled (case or leading zeros are not significant already).
fn key_id_form_of(serial_part: &str, sent: &X509, evidence: &Evidence<'_>) -> Option<String> {
    let hex = serial_hex(sent);
    let decimal = sent
        .serial_number()
        .to_bn()
        .ok()
        .and_then(|bn| bn.to_dec_str().ok().map(|d| d.to_string()));
    if decimal.as_deref() == Some(serial_part) {
        return Some(format!(
            "keyId SN={serial_part} is the serial of {CERTIFICATE_HEADER} in decimal; write it in hex: SN={hex}"
        ));
    }
    if let Some(tls) = evidence
        .certificates
        .iter()
        .find(|c| is_tls_certificate(c) && normalize(&serial_hex(c)) == normalize(serial_part))
    {
        return Some(format!(
            "keyId SN={serial_part} is the serial of the TLS certificate {}; name the signing certificate sent in {CERTIFICATE_HEADER}: SN={hex}",
            describe_certificate(tls)
        ));
    }
    None
}

fn normalize(serial: &str) -> String {
    serial.trim_start_matches('0').to_ascii_uppercase()
}

fn check_listed(message: &Message<'_>, params: &SignatureParams, findings: &mut Vec<Finding>) {
    for required in DEFAULT_HEADERS {
        if !params.headers.iter().any(|h| h == required) {
            findings.push(Finding::new(
                id::HTTPSIG_HEADERS_MISMATCH,
                format!("`{required}` is not among the signed headers; ING requires (request-target) date digest"),
            ));
        }
    }
    for name in &params.headers {
        if name != "(request-target)" && message.header(name).is_none() {
            findings.push(Finding::new(
                id::HTTPSIG_HEADERS_MISMATCH,
                format!("`{name}` is in headers= but the request has no such header"),
            ));
        }
    }
}

fn check_date(message: &Message<'_>, evidence: &Evidence<'_>, findings: &mut Vec<Finding>) {
    let Some(date) = message.header("date") else {
        return;
    };
    match parse_imf_fixdate(&date) {
        None => findings.push(Finding::new(
            id::HTTPSIG_DATE_FORMAT,
            format!("Date `{date}` is not an IMF-fixdate like `Tue, 05 Nov 2019 12:41:32 GMT`"),
        )),
        Some(at) => {
            let skew = skew_secs(at, evidence.now);
            if skew > MAX_SKEW_SECS {
                findings.push(Finding::new(
                    id::HTTPSIG_DATE_SKEW,
                    format!("Date `{date}` is {skew} s from the clock (at most {MAX_SKEW_SECS} s)"),
                ));
            }
        }
    }
}

fn check_signature(
    layout: &Layout<'_>,
    algorithm: Algorithm,
    signature: &[u8],
    certificate: &X509,
    evidence: &Evidence<'_>,
    findings: &mut Vec<Finding>,
) {
    let Ok(key) = certificate.public_key() else {
        return;
    };
    let opener = Opener::new(&key, algorithm, signature);
    let expected = Hash::Sha256;
    if let Some(recovered) = opener.reading(expected, layout.baseline().as_deref()) {
        let wrong = match recovered {
            Recovered::Pkcs1 { hash, .. } if *hash != expected => {
                Some(format!("PKCS#1 v1.5 with {}", hash.name()))
            }
            Recovered::Pss { hash, .. } => Some(format!("RSA-PSS with {}", hash.name())),
            _ => None,
        };
        if let Some(made) = wrong {
            findings.push(Finding::new(
                id::HTTPSIG_ALGORITHM,
                format!("algorithm says {algorithm} (PKCS#1 v1.5 with SHA-256), but the signature was made with {made}"),
            ));
        }
    }
    let verdict = judge(layout, &opener, algorithm, signature, evidence, &key);
    // A header already found changed (a stale Date, a wrong Digest) explains a signature over
    // another value: no need for the vaguer "none of the known mistakes".
    let explained = findings.iter().any(|f| {
        [
            id::HTTPSIG_DATE_SKEW,
            id::HTTPSIG_DATE_FORMAT,
            id::HTTPSIG_DIGEST_MISMATCH,
            id::HTTPSIG_DIGEST_LABEL,
            id::HTTPSIG_FORM_ENCODING,
        ]
        .contains(&f.id.as_str())
    });
    match verdict {
        Verdict::Mistake(mistake) => findings.push(httpsig_finding(mistake)),
        Verdict::Unexplained { .. } if explained => {}
        verdict => {
            let note = placeholder_header(layout)
                .map(|name| {
                    format!(" (`{name}` was sent empty, null or undefined: an unset value?)")
                })
                .unwrap_or_default();
            findings.extend(key_finding(&verdict, &NAMES, certificate, &note));
        }
    }
}

const NAMES: Names = Names {
    wrong_key: id::HTTPSIG_WRONG_KEY,
    changed_value: id::HTTPSIG_HEADERS_MISMATCH,
    pointer: "that keyId names",
};

/// A signed header sent as `null`, `undefined` or empty: a client whose variable was unset when
/// it built the request, while the signature was computed over the real value.
fn placeholder_header(layout: &Layout<'_>) -> Option<String> {
    layout.names.iter().find_map(|name| {
        let value = layout.message.header(name)?;
        let value = value.trim();
        (value.is_empty()
            || value.eq_ignore_ascii_case("null")
            || value.eq_ignore_ascii_case("undefined"))
        .then(|| name.clone())
    })
}

fn httpsig_finding(mistake: Mistake) -> Finding {
    match mistake {
        Mistake::TrailingLf => Finding::new(
            id::HTTPSIG_TRAILING_LF,
            "the signature verifies over the signing string followed by a line feed",
        ),
        Mistake::CrlfLineEndings { trailing } => Finding::new(
            id::HTTPSIG_CRLF_LINE_ENDINGS,
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
            id::HTTPSIG_HEADERS_MISMATCH,
            format!(
                "the signature verifies over the headers in the order {}, not in the order of headers=",
                order.join(" ")
            ),
        ),
        Mistake::ListedNotSigned(names) => Finding::new(
            id::HTTPSIG_HEADERS_MISMATCH,
            format!(
                "the signature verifies without {}: listed in headers= but not signed",
                names.join(" and ")
            ),
        ),
        Mistake::SignedNotListed(name) => Finding::new(
            id::HTTPSIG_HEADERS_MISMATCH,
            format!(
                "the signature verifies only with `{name}` signed: signed but not listed in headers="
            ),
        ),
        Mistake::RequestTarget(signed) => Finding::new(
            id::HTTPSIG_REQUEST_TARGET_MISMATCH,
            format!(
                "the signature verifies with (request-target) `{signed}`, not with the request's own"
            ),
        ),
        Mistake::RequestTargetPrefix(signed) => Finding::new(
            id::HTTPSIG_REQUEST_TARGET_PREFIX,
            format!(
                "the signature verifies with (request-target) `{signed}`; this API signs the path without its prefix"
            ),
        ),
        Mistake::HeaderValue { name, signed } => Finding::new(
            id::HTTPSIG_HEADERS_MISMATCH,
            format!(
                "the signature verifies with `{name}: {signed}`, but the request sends another {name}"
            ),
        ),
        Mistake::LineSeparator(separator) => Finding::new(
            id::HTTPSIG_LINE_SEPARATOR,
            format!(
                "the signature verifies over the header lines joined with {} instead of LF",
                separator_name(&separator)
            ),
        ),
        Mistake::OtherEndpoint(signed) => Finding::new(
            id::HTTPSIG_REQUEST_TARGET_MISMATCH,
            format!(
                "the signature verifies with (request-target) `{signed}`, another endpoint's: signing code copied from another request?"
            ),
        ),
        Mistake::NameCase => Finding::new(
            id::HTTPSIG_HEADERS_MISMATCH,
            "the signature verifies over the header names as spelled in the request (e.g. `Digest:`); the signing string uses lower-case names",
        ),
    }
}
