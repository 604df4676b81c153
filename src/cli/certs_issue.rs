//! `obconform certs issue --pki DIR --out DIR2`: a renewed client TLS + signing pair from the
//! embedded sandbox's test CA, with fresh keys and serials, to rehearse a certificate renewal.

use super::Outcome;
use crate::error_chain::error_chain;
use obconform_core::certs::test_pki::{load_ca, renew_client_pair, write_client_pair};
use obconform_core::certs::wire::{serial_hex, serial_key_id, x5t_s256};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct IssueArgs {
    /// The folder `obconform sandbox --pki DIR` wrote (its `ca.pem` and `ca.key` issue the pair).
    #[arg(long, value_name = "DIR")]
    pub pki: PathBuf,
    /// Where to write the new pair, under ING's file names (`example_client_tls.cer/.key`,
    /// `example_client_signing.cer/.key`). Must differ from --pki.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

pub fn issue_command(args: &IssueArgs) -> Outcome {
    let same = std::path::absolute(&args.pki).ok() == std::path::absolute(&args.out).ok();
    if same {
        eprintln!(
            "error: --out must differ from --pki: the renewed pair would overwrite the certificates the sandbox's application is registered with"
        );
        return Outcome::UsageError;
    }
    let ca = match load_ca(&args.pki) {
        Ok(ca) => ca,
        Err(e) => {
            eprintln!(
                "error: {}\n  = help: point --pki at the folder given to `obconform sandbox --pki DIR`",
                error_chain(&e)
            );
            return Outcome::UsageError;
        }
    };
    let written = renew_client_pair(&ca).and_then(|(tls, signing)| {
        write_client_pair(&args.out, &tls, &signing).map(|f| (f, tls, signing))
    });
    match written {
        Ok((files, tls, signing)) => {
            for (role, pair, path) in [
                ("tls", &tls, &files.client_tls_cert),
                ("signing", &signing, &files.client_signing_cert),
            ] {
                println!(
                    "{role:<8} {}  serial {}  keyId {}  x5t#S256 {}",
                    path.display(),
                    serial_hex(&pair.cert),
                    serial_key_id(&pair.cert),
                    x5t_s256(&pair.cert)
                );
            }
            Outcome::Success
        }
        Err(e) => {
            crate::error_chain::print_error(error_chain(&e));
            Outcome::UsageError
        }
    }
}
