//! `obconform certs inspect`: what each certificate says — names, serial and the keyId it implies,
//! thumbprints, validity, key, PSD2 roles — whether its private key matches, and what is wrong.
//!
//! Exit 0 when every certificate is fine, 1 when any has a warning (expired, not yet valid,
//! expiring within 30 days, lifetime over 39 months, key mismatch), 2 when an input is unusable.
//! Private keys are read to compare them, never printed.

use super::Outcome;
use crate::error_chain::error_chain;
use chrono::{DateTime, Utc};
use obconform_core::certs::info::{CertInfo, inspect, one_line_name, plural};
use obconform_core::certs::load::{LoadedCertificate, key_beside, load_certificate};
use obconform_core::certs::{CertFormat, load_private_key};
use openssl::pkey::{PKey, Private};
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub enum CertsCommand {
    /// Describe certificates (PEM, DER, PKCS#12) and check them: exit 1 if anything is wrong.
    Inspect(InspectArgs),
    /// Issue a renewed client TLS + signing pair from the embedded sandbox's CA (new serials).
    Issue(super::certs_issue::IssueArgs),
    /// Revoke certificates for the embedded sandbox of a PKI folder (refused in registration
    /// and update of an application).
    Revoke(super::certs_revoke::RevokeArgs),
}

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Certificate files: PEM (leaf first), DER (.cer/.der) or PKCS#12 (.p12/.pfx).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// A private key (PEM) to check against every certificate; by default a key in the file
    /// itself or beside it (`example_client_tls.key` for `example_client_tls.cer`) is checked.
    #[arg(long, value_name = "PEM")]
    pub key: Option<PathBuf>,
    /// The environment variable holding the password of a PKCS#12 file or an encrypted key.
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,
    /// Output format; `json` prints `{"certificates": [...]}` and nothing else on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Judge validity as of this instant (RFC 3339) instead of now.
    #[arg(long, value_name = "RFC3339", value_parser = parse_now)]
    pub now: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

fn parse_now(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.to_utc())
        .map_err(|e| format!("not an RFC 3339 date-time ({e}), e.g. 2026-01-31T12:00:00Z"))
}

pub fn certs_command(command: CertsCommand) -> Outcome {
    match command {
        CertsCommand::Inspect(args) => inspect_command(&args),
        CertsCommand::Issue(args) => super::certs_issue::issue_command(&args),
        CertsCommand::Revoke(args) => super::certs_revoke::revoke_command(&args),
    }
}

/// Where the key that was checked came from.
enum KeySource {
    Given(PathBuf),
    InFile,
    Beside(PathBuf),
}

fn inspect_command(args: &InspectArgs) -> Outcome {
    let now = args.now.unwrap_or_else(Utc::now);
    let passphrase = args
        .passphrase_env
        .as_deref()
        .map(|var| (var, std::env::var(var).ok()));

    let given_key = match &args.key {
        Some(path) => match load_private_key(path, passphrase.clone()) {
            Ok(key) => Some((path.clone(), key)),
            Err(e) => {
                crate::error_chain::print_error(error_chain(&e));
                return Outcome::UsageError;
            }
        },
        None => None,
    };

    let mut infos = Vec::new();
    let mut unusable = false;
    for path in &args.paths {
        match load_certificate(path, passphrase.clone()) {
            Ok(loaded) => infos.push(describe(
                loaded,
                given_key.as_ref(),
                passphrase.clone(),
                now,
            )),
            Err(e) => {
                crate::error_chain::print_error(error_chain(&e));
                unusable = true;
            }
        }
    }

    match args.format {
        Format::Json => {
            let infos: Vec<&CertInfo> = infos.iter().map(|(info, _)| info).collect();
            match serde_json::to_string_pretty(&serde_json::json!({ "certificates": infos })) {
                Ok(text) => println!("{text}"),
                Err(e) => {
                    crate::error_chain::print_error(e);
                    return Outcome::UsageError;
                }
            }
        }
        Format::Text => {
            let mut out = String::new();
            for (info, extra) in &infos {
                render(&mut out, info, extra);
            }
            let wrong = infos.iter().filter(|(info, _)| !info.is_ok()).count();
            if !infos.is_empty() {
                let _ = writeln!(
                    out,
                    "{}: {} OK, {} with warnings",
                    plural(infos.len() as i64, "certificate"),
                    infos.len() - wrong,
                    wrong
                );
            }
            print!("{out}");
        }
    }

    if unusable {
        Outcome::UsageError
    } else if infos.iter().all(|(info, _)| info.is_ok()) {
        Outcome::Success
    } else {
        Outcome::Failure
    }
}

/// What the text output shows beyond `CertInfo`.
struct Extra {
    format: CertFormat,
    key_source: Option<KeySource>,
}

fn describe(
    loaded: LoadedCertificate,
    given_key: Option<&(PathBuf, PKey<Private>)>,
    passphrase: Option<(&str, Option<String>)>,
    now: DateTime<Utc>,
) -> (CertInfo, Extra) {
    let mut note = None;
    let beside;
    let (key, key_source): (Option<&PKey<Private>>, Option<KeySource>) = match given_key {
        Some((path, key)) => (Some(key), Some(KeySource::Given(path.clone()))),
        None => match (&loaded.key, &loaded.unread_key) {
            (Some(key), _) => (Some(key), Some(KeySource::InFile)),
            (None, Some(e)) => {
                note = Some(format!(
                    "the key in the file was not read: {}",
                    error_chain(e)
                ));
                (None, None)
            }
            (None, None) => match key_beside(&loaded.path) {
                Some(path) => match load_private_key(&path, passphrase) {
                    Ok(key) => {
                        beside = key;
                        (Some(&beside), Some(KeySource::Beside(path)))
                    }
                    Err(e) => {
                        note = Some(format!(
                            "{} lies beside it but was not read: {}",
                            path.display(),
                            error_chain(&e)
                        ));
                        (None, None)
                    }
                },
                None => (None, None),
            },
        },
    };
    let mut info = inspect(&loaded.leaf, key.map(|k| &**k), now);
    info.file = Some(loaded.path.display().to_string());
    info.key_file = key_source.as_ref().map(|source| match source {
        KeySource::Given(path) | KeySource::Beside(path) => path.display().to_string(),
        KeySource::InFile => loaded.path.display().to_string(),
    });
    info.key_note = note;
    info.chain = loaded
        .chain
        .iter()
        .map(|c| one_line_name(c.subject_name()))
        .collect();
    (
        info,
        Extra {
            format: loaded.format,
            key_source,
        },
    )
}

const LABEL_WIDTH: usize = 13;

fn line(out: &mut String, label: &str, value: &str) {
    let _ = writeln!(out, "  {label:<LABEL_WIDTH$}{value}");
}

fn render(out: &mut String, info: &CertInfo, extra: &Extra) {
    let file = info.file.as_deref().unwrap_or("certificate");
    let _ = writeln!(out, "{file}  ({})", extra.format);
    line(out, "subject", &info.subject);
    line(out, "issuer", &info.issuer);
    line(
        out,
        "serial",
        &format!("{}   keyId {}", info.serial_hex, info.key_id),
    );
    line(out, "x5t#S256", &info.x5t_s256);
    line(out, "x5t", &info.x5t);
    let left = if info.days_left < 0 {
        format!("expired {} ago", plural(-info.days_left, "day"))
    } else {
        format!("{} left", plural(info.days_left, "day"))
    };
    line(
        out,
        "valid",
        &format!(
            "{} → {}  ({}, {left})",
            info.not_before,
            info.not_after,
            plural(info.lifetime_days, "day")
        ),
    );
    line(out, "key", &info.key_type);
    line(out, "private key", &private_key_text(info, extra));
    if !info.key_usage.is_empty() {
        line(out, "key usage", &info.key_usage.join(", "));
    }
    if !info.extended_key_usage.is_empty() {
        line(out, "ext. usage", &info.extended_key_usage.join(", "));
    }
    match &info.psd2 {
        Some(psd2) => {
            let mut roles: Vec<String> = psd2.roles.iter().map(|r| r.to_string()).collect();
            roles.extend(psd2.unknown_roles.iter().cloned());
            let roles = if roles.is_empty() {
                "none".to_string()
            } else {
                roles.join(", ")
            };
            line(
                out,
                "PSD2 roles",
                &format!("{roles}  (NCA {}, {})", psd2.nca_name, psd2.nca_id),
            );
        }
        None => line(out, "PSD2 roles", "none (no PSD2 qcStatement)"),
    }
    for subject in &info.chain {
        line(out, "chain", subject);
    }
    if info.warnings.is_empty() {
        line(out, "status", "OK");
    }
    for warning in &info.warnings {
        line(
            out,
            "WARNING",
            &format!("{}: {}", warning.id, warning.message),
        );
    }
    out.push('\n');
}

fn private_key_text(info: &CertInfo, extra: &Extra) -> String {
    let verdict = match info.key_matches {
        Some(true) => "matches",
        Some(false) => "DOES NOT MATCH",
        None => {
            return match &info.key_note {
                Some(note) => format!("not checked: {note}"),
                None => "none found beside it (check one with --key)".to_string(),
            };
        }
    };
    let origin = match &extra.key_source {
        Some(KeySource::Given(path)) => format!("{} (--key)", path.display()),
        Some(KeySource::Beside(path)) => format!("{} (beside it)", path.display()),
        Some(KeySource::InFile) => "the key in the same file".to_string(),
        None => String::new(),
    };
    format!("{verdict}: {origin}")
}
