//! `obconform explain REQUEST.http --cert PEM…`: the troubleshooting engine on a request file —
//! one `obconform run` archived, or a user's own failing request.

use super::explain_inputs::{load_certificates, load_keys, read_flow};
pub use super::judge::Judge;
use super::{ExplainArgs, ExplainFormat, Outcome};
use crate::archive::sidecar::parse_rfc3339;
use obconform_core::diagnose::{Finding, Findings};

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
