//! Certificate findings: the signing certificate a request points at, and the certificates a
//! registration (POST / PUT /oauth2/applications) asks the bank to register.

use super::keys::{describe_certificate, is_tls_certificate};
use super::{Evidence, Finding};
use crate::catalogue as id;
use crate::certs::info::inspect;
use crate::sign::message::Message;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use openssl::x509::{X509, X509Ref};
use serde_json::Value;

/// The refusals of a certificate: expired, not yet valid (at the evidence's time).
const VALIDITY_IDS: [&str; 2] = [id::CERT_EXPIRED, id::CERT_NOT_YET_VALID];

/// The certificate a signature names: valid now, and a signing (not a TLS) certificate.
pub fn check_signing_certificate(
    cert: &X509Ref,
    evidence: &Evidence<'_>,
    findings: &mut Vec<Finding>,
) {
    validity(
        cert,
        evidence,
        &VALIDITY_IDS,
        "the signing certificate",
        findings,
    );
    if is_tls_certificate(cert) {
        findings.push(Finding::new(
            id::CERT_WRONG_USAGE,
            format!(
                "the signature names the TLS certificate {}; sign with the signing (QSeal) certificate",
                describe_certificate(cert)
            ),
        ));
    }
}

fn validity(
    cert: &X509Ref,
    evidence: &Evidence<'_>,
    ids: &[&str],
    what: &str,
    findings: &mut Vec<Finding>,
) {
    let now: DateTime<Utc> = evidence.now.into();
    for warning in inspect(cert, None, now).warnings {
        if ids.contains(&warning.id) {
            findings.push(Finding::new(
                warning.id,
                format!("{what} {}: {}", describe_certificate(cert), warning.message),
            ));
        }
    }
}

/// A registration or update: every certificate of `keys.tls` / `keys.sign` valid, at most 39
/// months long, and of the right kind.
pub fn check_registration(
    message: &Message<'_>,
    evidence: &Evidence<'_>,
    findings: &mut Vec<Finding>,
) {
    let registration = message.target.starts_with("/oauth2/applications")
        && matches!(message.method.to_ascii_uppercase().as_str(), "POST" | "PUT");
    if !registration {
        return;
    }
    let Ok(body) = serde_json::from_slice::<Value>(message.body) else {
        return;
    };
    for (role, tls) in [("tls", true), ("sign", false)] {
        for cert in registered_certificates(&body, role) {
            let what = format!("the keys.{role} certificate");
            validity(
                &cert,
                evidence,
                &[
                    id::CERT_EXPIRED,
                    id::CERT_NOT_YET_VALID,
                    id::CERT_LIFETIME_OVER_39_MONTHS,
                ],
                &what,
                findings,
            );
            if is_tls_certificate(&cert) != tls {
                findings.push(Finding::new(
                    id::CERT_WRONG_USAGE,
                    format!(
                        "{what} {} is a {} certificate",
                        describe_certificate(&cert),
                        if tls { "signing" } else { "TLS" }
                    ),
                ));
            }
        }
    }
}

/// The first `x5c` certificate of each key under `keys.<role>`.
fn registered_certificates(body: &Value, role: &str) -> Vec<X509> {
    body.pointer(&format!("/keys/{role}"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|key| key.pointer("/x5c/0").and_then(Value::as_str))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .filter_map(|der| X509::from_der(&der).ok())
        .collect()
}
