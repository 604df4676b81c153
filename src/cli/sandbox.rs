//! `obconform sandbox`: the embedded bank, standalone, for curl scripts and other clients.

use super::{Outcome, SandboxArgs};
use crate::error_chain::error_chain;
use crate::sandbox::endpoints::{ENDPOINTS_FILE, Endpoints, endpoints_file, write_endpoints};
use crate::sandbox::{PREMIUM_CLIENT_ID, PartnerConfig, Sandbox, SandboxConfig, TimePacing};
use std::io::Write;

pub async fn serve(args: SandboxArgs) -> Outcome {
    let mut partner = PartnerConfig {
        rate_limit: args.partner_rate_limit,
        ..PartnerConfig::default()
    };
    if !args.partner_allow_ip.is_empty() {
        partner.allowed_ips = args.partner_allow_ip.clone();
    }
    let mut config = SandboxConfig::new(args.listen)
        .with_pki_dir(&args.pki)
        .with_partner(partner);
    config.time = match args.time {
        super::TimeArg::Real => TimePacing::Real,
        super::TimeArg::Simulated => TimePacing::Simulated,
    };
    let sandbox = match Sandbox::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot start the sandbox: {}", error_chain(&e));
            return Outcome::UsageError;
        }
    };
    let endpoints = Endpoints {
        api: sandbox.base_url(),
        consent: sandbox.consent_url(),
    };
    if let Err(e) = write_endpoints(&args.pki, &endpoints) {
        eprintln!(
            "error: cannot write {ENDPOINTS_FILE} into {}: {e}",
            args.pki.display()
        );
        sandbox.shutdown().await;
        return Outcome::UsageError;
    }
    // One line on stdout, once connections are accepted: scripts read the URL from it.
    println!("{}", sandbox.base_url());
    let _ = std::io::stdout().flush();
    eprintln!(
        "obconform sandbox: consent screens (no client certificate needed) at {}/authorize/v2/NL",
        sandbox.consent_url()
    );
    eprintln!(
        "obconform sandbox: partner API at {}/partner-api/ping (token: {}/token-api/oauth2/token); its credentials are in {}",
        sandbox.base_url(),
        sandbox.base_url(),
        sandbox.partner_env_file().display()
    );
    eprintln!(
        "obconform sandbox: PKI in {} (ca.pem, example_client_tls.cer/.key, example_client_signing.cer/.key, {ENDPOINTS_FILE} for `run --attach`); Ctrl-C stops",
        args.pki.display()
    );
    eprintln!(
        "obconform sandbox: Open Banking premium app {PREMIUM_CLIENT_ID} (showcase: /greetings/single, /mtls-only/greetings, /signed/greetings): its pair in {}",
        sandbox.pki().premium().dir.display()
    );
    wait_for_stop().await;
    sandbox.shutdown().await;
    // A stopped sandbox leaves no address behind for `run --attach` to try.
    let _ = std::fs::remove_file(endpoints_file(&args.pki));
    Outcome::Success
}

async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
