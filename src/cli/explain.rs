//! `obconform explain REQUEST.http --cert PEM…`: the troubleshooting engine on a request file —
//! one `obconform run` archived, or a user's own failing request.

use super::explain_inputs::{LoadedRequest, load_certificates, load_keys, load_request, read_flow};
use super::{ExplainArgs, ExplainFormat, Outcome};
use crate::archive::RequestFile;
use crate::archive::redact::signed_request_line_redacted;
use crate::archive::sidecar::parse_rfc3339;
use obconform_core::diagnose::{Evidence, Finding, Findings, FlowContext, diagnose};
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

pub fn explain_command(args: ExplainArgs) -> Outcome {
    let judge = match judge(&args) {
        Ok(judge) => judge,
        Err(message) => {
            crate::error_chain::print_error(message);
            return Outcome::UsageError;
        }
    };
    let several = args.requests.len() > 1;
    let mut outcome = Outcome::Success;
    for path in &args.requests {
        if let Some(har) = super::explain_har::read(path) {
            if several && args.format == ExplainFormat::Text {
                println!("== {}", path.display());
            }
            outcome = worse(
                outcome,
                super::explain_har::explain(&judge, path, har, args.format),
            );
            continue;
        }
        let findings = match judge.explain(path) {
            Ok(findings) => findings,
            Err(message) => {
                crate::error_chain::print_error(message);
                outcome = worse(outcome, Outcome::UsageError);
                continue;
            }
        };
        if !findings.is_empty() {
            outcome = worse(outcome, Outcome::Failure);
        }
        match args.format {
            ExplainFormat::Json => println!("{}", json(findings)),
            ExplainFormat::Text => {
                if several {
                    println!("== {}", path.display());
                }
                print!("{}", text(&findings));
            }
        }
    }
    outcome
}

/// Unusable input (2) over findings (1) over success (0).
fn worse(a: Outcome, b: Outcome) -> Outcome {
    if a.code() >= b.code() { a } else { b }
}

fn judge(args: &ExplainArgs) -> Result<Judge, String> {
    let passphrase = args
        .passphrase_env
        .as_deref()
        .map(|var| (var, std::env::var(var).ok()));
    let (certificates, mut keys) = load_certificates(&args.certs, &passphrase)?;
    keys.extend(load_keys(&args.keys, &passphrase)?);
    let now = args
        .now
        .as_deref()
        .map(|text| parse_rfc3339(text).map_err(|e| format!("--now {e}")))
        .transpose()?;
    let flow = args.flow.as_deref().map(read_flow).transpose()?;
    Ok(Judge {
        certificates,
        keys,
        now,
        flow,
    })
}

/// `{"findings":[{"id":…,"what":…,"fix":…}]}` on one line.
fn json(findings: Vec<Finding>) -> String {
    serde_json::to_string(&Findings { findings })
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// One block per finding (`id: what`, `  fix: …`), or the line saying there is none.
fn text(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "no findings: the request is valid for the given certificates\n".to_string();
    }
    findings
        .iter()
        .map(|f| format!("{}: {}\n  fix: {}\n", f.id, f.what, f.fix))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_json_shapes() {
        assert_eq!(
            text(&[]),
            "no findings: the request is valid for the given certificates\n"
        );
        let findings = vec![
            Finding {
                id: "a.b".into(),
                what: "found".into(),
                fix: "do".into(),
            },
            Finding {
                id: "c.d".into(),
                what: "w".into(),
                fix: "f".into(),
            },
        ];
        assert_eq!(
            text(&findings),
            "a.b: found\n  fix: do\n\nc.d: w\n  fix: f\n"
        );
        assert_eq!(json(Vec::new()), r#"{"findings":[]}"#);
        assert_eq!(
            json(findings[..1].to_vec()),
            r#"{"findings":[{"id":"a.b","what":"found","fix":"do"}]}"#
        );
    }
}
