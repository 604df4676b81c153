//! `expect: { response_signature: valid }`: the bank's signature on a response, checked over the
//! bytes received — what verified (a line for the reports) or why not (a failure naming the
//! catalogue id and its fix).

use super::failure::{Failure, FailureKind};
use crate::scenario::Position;
use obconform_core::catalogue;
use obconform_core::sign::response::verify_response;
use obconform_core::wire::HttpResponse;
use openssl::x509::X509;
use std::time::SystemTime;

/// The report line of a signature that holds, or the failure of one that does not.
pub fn check_response_signature(
    response: &HttpResponse,
    bank_ca: &[X509],
    at: Position,
    now: SystemTime,
) -> Result<String, Failure> {
    match verify_response(&response.headers, &response.body, bank_ca, now) {
        Ok(verified) => Ok(format!(
            "response signature valid: {} by {}{}, chains to the bank's CA",
            verified.algorithm,
            verified.signer,
            verified
                .signed_at
                .map(|t| format!(" at {t}"))
                .unwrap_or_default()
        )),
        Err(error) => {
            let id = error.diagnosis_id();
            let fix = catalogue::entry(id).map(|e| e.fix).unwrap_or_default();
            let message = format!("response signature: {id}: {error} (fix: {fix})");
            Err(Failure::new(FailureKind::ResponseSignature, message)
                .at(at)
                .expected_actual("valid", id))
        }
    }
}
