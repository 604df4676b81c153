//! The troubleshooting engine (DESIGN §6): given a request as sent, the certificates (and keys)
//! it may refer to, a clock reading and what is known of the flow, name the mistake behind a
//! refusal. It is not told what went wrong: it re-verifies the signature with the certificate
//! the request points at and searches the space of known mistakes for the one that verifies.
//! Pure: bytes, certificates and a time in, findings out; no I/O. Shared by the runner,
//! `obconform explain` and the embedded sandbox.

mod body;
pub mod catalogue;
mod certs;
mod finding;
pub mod flow;
mod flow_rules;
mod httpsig;
mod jws;
mod keys;
mod ledger;
pub mod recover;
mod search;

pub use finding::{Finding, Findings, ids};
pub use flow::FlowContext;

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
