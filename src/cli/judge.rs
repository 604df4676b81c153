//! What one `explain` call judges every request with: the certificates and keys given (or those
//! an archived request records), the clock and the flow — shared by request files and HAR files.

use super::explain_inputs::{LoadedRequest, load_request};
use crate::archive::RequestFile;
use crate::archive::redact::signed_request_line_redacted;
use obconform_core::diagnose::{Evidence, Finding, FlowContext, diagnose};
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use std::path::Path;
use std::time::SystemTime;

/// What every request of one `explain` call is judged with; `now` and `flow` are the command
/// line's, which win over each request's sidecar.
pub struct Judge {
    pub certificates: Vec<X509>,
    pub keys: Vec<PKey<Private>>,
    pub now: Option<SystemTime>,
    pub flow: Option<FlowContext>,
}

impl Judge {
    /// The findings on the request at `path`; `Err` when the file (or its sidecar) is unusable.
    pub fn explain(&self, path: &Path) -> Result<Vec<Finding>, String> {
        let loaded = load_request(path)?;
        // --now wins: a sidecar's broken sent_at matters only without it.
        let sent_at = match self.now {
            Some(_) => None,
            None => loaded
                .sent_at()
                .transpose()
                .map_err(|e| format!("{}: {e}", path.display()))?,
        };
        // No --cert: the certificates the run recorded beside an archived request.
        let recorded: Vec<X509> = loaded
            .sidecar
            .iter()
            .flat_map(|sidecar| &sidecar.certificates)
            .filter_map(|pem| X509::from_pem(pem.as_bytes()).ok())
            .collect();
        self.judge(&loaded.request, sent_at, sidecar_flow(&loaded), &recorded)
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The findings on one request; `sent_at`, `flow` and `recorded` (certificates) are what its
    /// source recorded, and the command line's win over them.
    pub fn judge(
        &self,
        request: &RequestFile,
        sent_at: Option<SystemTime>,
        flow: Option<&FlowContext>,
        recorded: &[X509],
    ) -> Result<Vec<Finding>, String> {
        if signed_request_line_redacted(&request.message()) {
            return Err(
                "its request line carried a secret, replaced in the archived copy, and its \
                 signature covers (request-target), so the signature cannot be checked from this \
                 file: explain the request as it was sent (your own copy of it)"
                    .to_string(),
            );
        }
        let certificates = match self.certificates.is_empty() {
            true => recorded,
            false => &self.certificates[..],
        };
        if certificates.is_empty() {
            return Err(
                "no certificate to check it with: pass --cert PEM (the signing \
                 certificate and the TLS one; a request `obconform run` archived records them \
                 itself)"
                    .to_string(),
            );
        }
        let now = self.now.or(sent_at).unwrap_or_else(SystemTime::now);
        let evidence = Evidence {
            certificates,
            keys: &self.keys,
            now,
            flow: self.flow.as_ref().or(flow),
        };
        Ok(diagnose(&request.message(), &evidence))
    }
}

fn sidecar_flow(loaded: &LoadedRequest) -> Option<&FlowContext> {
    loaded.sidecar.as_ref().map(|s| &s.flow)
}
