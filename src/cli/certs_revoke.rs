//! `obconform certs revoke --pki DIR CERT...`: marks certificates revoked for the embedded
//! sandbox whose PKI is in DIR (appends their serials to `DIR/revoked-serials.txt`); the running
//! sandbox refuses them in application registration and update from its next request on.

use super::Outcome;
use crate::error_chain::error_chain;
use obconform_core::certs::load::load_certificate;
use obconform_core::certs::revocation_list::append_revoked;
use obconform_core::certs::wire::serial_hex;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct RevokeArgs {
    /// The folder `obconform sandbox --pki DIR` wrote.
    #[arg(long, value_name = "DIR")]
    pub pki: PathBuf,
    /// Certificates to revoke (PEM or DER).
    #[arg(required = true, value_name = "CERT")]
    pub certs: Vec<PathBuf>,
}

pub fn revoke_command(args: &RevokeArgs) -> Outcome {
    if !args
        .pki
        .join(obconform_core::certs::test_pki::CA_CERT_FILE)
        .is_file()
    {
        eprintln!(
            "error: {} holds no ca.pem\n  = help: point --pki at the folder given to `obconform sandbox --pki DIR`",
            args.pki.display()
        );
        return Outcome::UsageError;
    }
    // Read every certificate first: a bad path revokes nothing.
    let mut serials = Vec::new();
    for path in &args.certs {
        match load_certificate(path, None) {
            Ok(loaded) => serials.push((path, serial_hex(&loaded.leaf))),
            Err(e) => {
                crate::error_chain::print_error(error_chain(&e));
                return Outcome::UsageError;
            }
        }
    }
    for (path, serial) in serials {
        match append_revoked(&args.pki, &serial, &path.display().to_string()) {
            Ok(file) => println!(
                "revoked  {}  serial {serial}  ({})",
                path.display(),
                file.display()
            ),
            Err(e) => {
                eprintln!("error: cannot write to {}: {e}", args.pki.display());
                return Outcome::UsageError;
            }
        }
    }
    Outcome::Success
}
