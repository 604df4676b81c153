//! The troubleshooting engine: given a request as sent, the certificates (and keys)
//! it may refer to, a clock reading and what is known of the flow, name the mistake behind a
//! refusal. It is not told what went wrong: it re-verifies the signature with the certificate
//! the request points at and searches the space of known mistakes for the one that verifies.
//! Pure: bytes, certificates and a time in, findings out; no I/O. Shared by the runner,
//! `obconform explain` and the embedded sandbox.

mod body;
mod certs;
mod ec_opener;
mod finding;
pub mod flow;
mod flow_rules;
mod httpsig;
mod jws;
mod keys;
mod ledger;
pub mod registration_drop;
mod search;
mod verdict;

pub use finding::{Finding, Findings, ids};
pub use flow::FlowContext;
pub use flow_rules::{XSRF_COOKIE, XSRF_HEADER, cookie, is_grants_support_auth_code, xsrf_problem};

use crate::sign::message::Message;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use std::time::SystemTime;

/// Set by the request archive when it blanked secrets (a code, a client secret) in a body:
/// `sha-256=<base64 of the SHA-256 of the body as sent>`. The engine checks `Digest` against it
/// instead of the (changed) body.
pub const ORIGINAL_BODY_HEADER: &str = "X-Obconform-Original-Body";

/// Everything the engine may use besides the request.
#[derive(Clone, Copy)]
pub struct Evidence<'a> {
    /// Certificates the request may refer to (signing, TLS, other pairs), in any order.
    pub certificates: &'a [X509],
    /// Private keys, when given: a signature made with one of them is named.
    pub keys: &'a [PKey<Private>],
    /// The clock reading Date / sigT / expiry are checked against (the send time).
    pub now: SystemTime,
    pub flow: Option<&'a FlowContext>,
}

/// The findings for one request; empty for a valid one.
pub fn diagnose(message: &Message<'_>, evidence: &Evidence<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    if let Some(found) = jws::diagnose(message, evidence) {
        findings.extend(found);
    }
    if let Some(found) = httpsig::diagnose(message, evidence) {
        findings.extend(found);
    }
    certs::check_registration(message, evidence, &mut findings);
    flow_rules::check(message, evidence, &mut findings);
    // One finding per id and text: two checks may see the same mistake.
    let mut seen = std::collections::HashSet::new();
    findings.retain(|f| seen.insert((f.id.clone(), f.what.clone())));
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::self_signed::self_signed;
    use crate::sign::Algorithm;
    use crate::sign::digest::sha256_digest;
    use crate::sign::message::imf_fixdate;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::nid::Nid;

    fn p256() -> PKey<Private> {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
    }

    /// An application-token request signed (ECDSA) over `signed`, with keyId naming `serial`.
    fn token_request(key: &PKey<Private>, tail: &str) -> (Vec<(String, String)>, Vec<u8>) {
        let body = b"grant_type=client_credentials".to_vec();
        let date = imf_fixdate(SystemTime::now());
        let digest = sha256_digest(&body);
        let lines =
            format!("(request-target): post /oauth2/token\ndate: {date}\ndigest: {digest}{tail}");
        let signature = Algorithm::EcdsaSha256.sign(key, lines.as_bytes()).unwrap();
        let headers = vec![
            ("Date".to_string(), date),
            ("Digest".to_string(), digest),
            (
                "Authorization".to_string(),
                format!(
                    "Signature keyId=\"SN=0EC0\",algorithm=\"ecdsa-sha256\",headers=\"(request-target) date digest\",signature=\"{}\"",
                    STANDARD.encode(signature)
                ),
            ),
        ];
        (headers, body)
    }

    fn findings(headers: &[(String, String)], body: &[u8], certificates: &[X509]) -> Vec<String> {
        let evidence = Evidence {
            certificates,
            keys: &[],
            now: SystemTime::now(),
            flow: None,
        };
        let message = Message {
            method: "POST",
            target: "/oauth2/token",
            headers,
            body,
        };
        diagnose(&message, &evidence)
            .into_iter()
            .map(|f| f.id)
            .collect()
    }

    /// EC signatures cannot be opened: each candidate is checked against the signature, and the
    /// certificate's own key must not come back as "another key".
    #[test]
    fn ec_signatures_are_searched_by_verification() {
        let key = p256();
        let other = p256();
        let certificates = vec![
            self_signed(&key, "signing", "0EC0", 1, vec![]).unwrap(),
            self_signed(&other, "other", "0EC1", 1, vec![]).unwrap(),
        ];
        let (headers, body) = token_request(&key, "");
        assert!(findings(&headers, &body, &certificates).is_empty());
        let (headers, body) = token_request(&key, "\n");
        assert_eq!(
            findings(&headers, &body, &certificates),
            ["httpsig.trailing-lf"]
        );
        let (headers, body) = token_request(&other, "");
        assert_eq!(
            findings(&headers, &body, &certificates),
            ["httpsig.wrong-key"]
        );
    }
}
