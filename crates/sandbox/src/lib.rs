//! The embedded sandbox: an offline, strict imitation of ING's sandbox bank that says why it
//! refuses a request.
//!
//! [`Sandbox::start`] generates a fresh test PKI and listens twice, like ING's two hosts: the API
//! listener (`api.sandbox.ing.com`: mutual TLS, client certificates of the test CA required)
//! serves every system's routes (PSD2, the Open Banking showcase, the partner API, the PSD2 hub);
//! the consent listener (`myaccount.sandbox.ing.com`: a browser page, no client certificate
//! needed) serves the consent screens. A refusal carries an `x-obconform-diagnosis` header naming
//! the mistake (`httpsig.digest-mismatch`, `flow.token-mode-mismatch`, …).
//!
//! Inside: a `kernel` every system shares (clock, errors, TLS, request verification, the
//! application registry, the issued tokens and the authenticators over them, the test PKI and
//! profiles), and one module per system — `psd2`, `showcase`, `payment_request`, `partner`,
//! `hub` — each with its own state, handed to its handlers as a context (axum `FromRef`) by
//! `server`, the only module that knows them all.
//!
//! In a TPP's own async test, point the client under test at it — like a mock server, but one
//! that verifies signatures, tokens and certificates as the bank does:
//!
//! ```no_run
//! use obconform_sandbox::{PSD2_CLIENT_ID, Sandbox, SandboxConfig};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let bank = Sandbox::start(SandboxConfig::loopback()).await?;
//! let api = bank.base_url(); // https://127.0.0.1:PORT
//! let pki = bank.pki(); // ca.pem and ING's example client certificates, as files
//! // … build the client with pki.client_tls_cert / pki.client_tls_key, trust pki.ca_cert,
//! // register as PSD2_CLIENT_ID, call `api` …
//! # let _ = (api, pki, PSD2_CLIENT_ID);
//! bank.shutdown().await; // or drop it
//! # Ok(())
//! # }
//! ```

pub mod endpoints;

// The bank's insides: public for the workspace's tests and the runner, not an API (hidden from
// the documentation, free to change). The API is `Sandbox`, its configuration and its files.
#[doc(hidden)]
pub mod hub;
#[doc(hidden)]
pub mod kernel;
#[doc(hidden)]
pub mod partner;
#[doc(hidden)]
pub mod payment_request;
#[doc(hidden)]
pub mod psd2;
#[doc(hidden)]
pub mod server;
#[doc(hidden)]
pub mod showcase;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

pub use self::kernel::applications::{Application, PSD2_CLIENT_ID};
pub use self::kernel::clock::SandboxClock;
pub use self::kernel::jwk::{CertKey, CertKeyError};
pub use self::kernel::pki::{
    CA_CERT_FILE, CA_COMMON_NAME, CLIENT_SIGNING_CERT_FILE, CLIENT_SIGNING_KEY_FILE,
    CLIENT_TLS_CERT_FILE, CLIENT_TLS_KEY_FILE, PARTNER_ENV_FILE, PkiFiles, SIGNING_CERT_SERIAL_HEX,
    TLS_CERT_SERIAL_HEX,
};
pub use self::kernel::timer::Timer;
use self::kernel::tls::{ClientAuth, FailureLog};
pub use self::kernel::tls::{ConnectionLimits, PeerCertificate};
pub use self::partner::config::PartnerConfig;
pub use self::partner::credentials::PartnerCredentials;
pub use self::showcase::PREMIUM_CLIENT_ID;

use self::kernel::Kernel;
pub use self::kernel::SandboxError;
use self::kernel::applications::AppRegistry;
use self::kernel::pki::TestPki;
use self::kernel::revocation::Revocations;
use self::kernel::tempdir::PrivateTempDir;
use self::partner::PartnerState;
use self::psd2::Psd2State;
use self::server::SandboxState;

/// Where to listen and where to write the PKI, and the partner API's gateway settings.
/// Build it with [`SandboxConfig::new`] (it is `non_exhaustive`: new settings get defaults there
/// instead of breaking every caller).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SandboxConfig {
    /// Address to bind, e.g. `127.0.0.1:0` for a free port.
    pub listen: SocketAddr,
    /// Directory for `ca.pem`, the example client files, the Open Banking premium app's pair
    /// (`premium/`) and `partner-api.env` (created if missing); `None` means a private temporary
    /// directory removed when the sandbox stops.
    pub pki_dir: Option<PathBuf>,
    /// The partner API's IP allowlist and rate limit.
    pub partner: PartnerConfig,
    pub limits: ConnectionLimits,
    /// How what the sandbox does later (a hub update's statuses) is paced.
    pub time: TimePacing,
}

/// How the sandbox paces what it does later (a hub update's next status).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimePacing {
    /// In real time: a change comes when its delay has passed on the wall clock — or sooner, when
    /// whoever holds the sandbox moves its clock forward ([`Sandbox::advance_clock`]), as a run on
    /// simulated time does while a step waits.
    #[default]
    Real,
    /// At once: a pending change moves the sandbox clock to its time instead of waiting (for a
    /// standalone sandbox, which has nobody to move its clock).
    Simulated,
}

impl SandboxConfig {
    /// Listens on `listen`, PKI in a private temporary directory, partner API defaults.
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            pki_dir: None,
            partner: PartnerConfig::default(),
            limits: ConnectionLimits::default(),
            time: TimePacing::Real,
        }
    }

    /// Listens on a free port of 127.0.0.1, PKI in a private temporary directory: what a test
    /// wants.
    pub fn loopback() -> Self {
        Self::new(SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Writes the PKI (and `partner-api.env`) into `dir`, kept after the sandbox stops.
    pub fn with_pki_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.pki_dir = Some(dir.into());
        self
    }

    /// Connection cap and timeouts of both listeners (defaults: [`ConnectionLimits::default`]).
    pub fn with_limits(mut self, limits: ConnectionLimits) -> Self {
        self.limits = limits;
        self
    }

    pub fn with_partner(mut self, partner: PartnerConfig) -> Self {
        self.partner = partner;
        self
    }
}

/// A running embedded sandbox. Dropping it stops the servers too; [`Sandbox::shutdown`] also
/// waits until the server tasks have ended.
pub struct Sandbox {
    local_addr: SocketAddr,
    consent_addr: SocketAddr,
    pki: PkiFiles,
    state: SandboxState,
    cancel: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    failures: Arc<FailureLog>,
    // Declared last: dropped after the fields above, removing the PKI files.
    temp_dir: Option<PrivateTempDir>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("local_addr", &self.local_addr)
            .field("pki", &self.pki)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Generates the PKI, binds, and returns once the listener accepts connections.
    /// Spawns on the current tokio runtime; stops when [`Sandbox::shutdown`] is awaited or the
    /// value is dropped.
    pub async fn start(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(SandboxError::NoRuntime);
        }
        // The PSD2 hub's callbacks go out through reqwest, which takes the process-wide rustls
        // provider: make sure there is one (a no-op when the caller installed its own).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (temp_dir, pki_dir) = match config.pki_dir {
            Some(dir) => (None, dir),
            None => {
                let temp = PrivateTempDir::create("obconform-sandbox").map_err(|source| {
                    SandboxError::TempDir {
                        path: std::env::temp_dir(),
                        source,
                    }
                })?;
                let dir = temp.path().to_path_buf();
                (Some(temp), dir)
            }
        };

        // RSA key generation takes a while: keep it off the async workers.
        let listen_ip = config.listen.ip();
        let revocations = Revocations::in_dir(&pki_dir);
        let (pki, premium, files, bank_signer) = tokio::task::spawn_blocking(move || {
            // The 7 RSA keys below (CA, server, client pair, premium pair, bank signer) at once,
            // on every core: the sandbox starts in about half the time on two.
            obconform_core::certs::rsa_keys::generate_ahead(7).map_err(|source| {
                SandboxError::Pki {
                    step: "generating RSA keys",
                    source,
                }
            })?;
            let pki = TestPki::generate(&[listen_ip])?;
            let files = pki.write_to(&pki_dir)?;
            let premium = showcase::pki::PremiumPki::generate(&pki.ca)?;
            premium.write_beside(&files)?;
            let bank_signer = showcase::pki::bank_signer(&pki.ca, &files)?;
            Ok::<_, SandboxError>((pki, premium, files, bank_signer))
        })
        .await
        .map_err(|e| SandboxError::Task(e.to_string()))??;

        let payment_request_certificates =
            payment_request::certificates::IngCertificates::generate().map_err(|source| {
                SandboxError::Pki {
                    step: "generating the Payment Request API's certificates",
                    source,
                }
            })?;
        let credentials = PartnerCredentials::generate().map_err(|source| SandboxError::Pki {
            step: "generating the partner API's credentials",
            source,
        })?;
        let partner = PartnerState::new(&pki, &config.partner, credentials).map_err(|source| {
            SandboxError::Application {
                client_id: "the partner API's client".to_owned(),
                source,
            }
        })?;

        let app = psd2::example_application(&pki).map_err(|source| SandboxError::Application {
            client_id: PSD2_CLIENT_ID.to_owned(),
            source,
        })?;
        let mut registry = AppRegistry::default();
        registry.upsert(app);
        // The premium application is subscribed to both Open Banking APIs.
        let premium_scopes: Vec<&str> = std::iter::once(showcase::SHOWCASE_SCOPE)
            .chain(payment_request::SCOPES)
            .collect();
        let premium_app =
            showcase::premium_application(&premium, &premium_scopes).map_err(|source| {
                SandboxError::Application {
                    client_id: PREMIUM_CLIENT_ID.to_owned(),
                    source,
                }
            })?;
        registry.upsert(premium_app);

        let api_listener = bind(config.listen).await?;
        let local_addr = local_addr_of(&api_listener, config.listen)?;
        // The consent host: same address, its own port.
        let consent_listen = SocketAddr::new(config.listen.ip(), 0);
        let consent_listener = bind(consent_listen).await?;
        let consent_addr = local_addr_of(&consent_listener, consent_listen)?;
        // Written once the address is known: the file names the URLs too.
        partner::credentials::write_env_file(
            &files.dir,
            &partner.credentials,
            &loopback_url(local_addr),
        )?;

        let clock = SandboxClock::new();
        clock.set_eager(config.time == TimePacing::Simulated);
        let kernel = Kernel::new(clock, loopback_url(consent_addr), revocations, registry)
            .with_response_signer(bank_signer);
        let state = SandboxState {
            kernel: Arc::new(kernel),
            psd2: Arc::new(Psd2State::default()),
            hub: Arc::new(hub::HubStore::new(hub::UpdateTiming::default())),
            partner: Arc::new(partner),
            payment_requests: Arc::new(payment_request::PaymentRequestStore::new(
                payment_request_certificates,
            )),
        };
        let (cert, key, ca) = (&pki.server.cert, &pki.server.key, &pki.ca.cert);
        let api_tls = kernel::tls::server_config(ca, cert, key, ClientAuth::Required)?;
        let consent_tls = kernel::tls::server_config(ca, cert, key, ClientAuth::Optional)?;

        let (cancel, cancelled) = watch::channel(false);
        let failures = Arc::new(FailureLog::new(config.limits.log_period));
        let tasks = vec![
            tokio::spawn(kernel::tls::serve(
                api_listener,
                TlsAcceptor::from(api_tls),
                server::router(state.clone()),
                config.limits,
                failures.clone(),
                cancelled.clone(),
            )),
            tokio::spawn(kernel::tls::serve(
                consent_listener,
                TlsAcceptor::from(consent_tls),
                server::consent_router(state.clone()),
                config.limits,
                failures.clone(),
                cancelled,
            )),
        ];
        Ok(Sandbox {
            local_addr,
            consent_addr,
            pki: files,
            state,
            cancel,
            tasks,
            failures,
            temp_dir,
        })
    }

    /// The API host, `https://127.0.0.1:PORT` (an unspecified listen address is reached via
    /// loopback).
    pub fn base_url(&self) -> String {
        loopback_url(self.local_addr)
    }

    /// The consent host (ING's `myaccount.sandbox.ing.com`): `/authorize/v2/{COUNTRY}` and the
    /// old flow's `/granting/…`, reachable without a client certificate.
    pub fn consent_url(&self) -> String {
        loopback_url(self.consent_addr)
    }

    /// How many stderr lines the listeners printed about failed handshakes and refused
    /// connections (rate-limited: see [`ConnectionLimits::log_period`]).
    pub fn connection_failure_lines(&self) -> u64 {
        self.failures.lines()
    }

    /// How many access tokens the sandbox remembers (valid or recently expired; bounded).
    pub fn tokens_remembered(&self) -> usize {
        self.state.kernel.tokens.len()
    }

    /// The API listener's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The PKI files: the test CA (`ca.pem`, to trust), ING's example client certificates and
    /// keys (`example_client_tls.cer/.key`, `example_client_signing.cer/.key`) bound to
    /// [`PSD2_CLIENT_ID`], and the partner API's credentials.
    pub fn pki(&self) -> &PkiFiles {
        &self.pki
    }

    /// The sandbox's clock (a handle on the one every part of it reads).
    pub fn clock(&self) -> SandboxClock {
        self.state.kernel.clock.clone()
    }

    /// Moves sandbox time forward (token and code expiry use it; TLS validity does not).
    pub fn advance_clock(&self, by: Duration) {
        self.state.kernel.clock.advance(by);
    }

    /// The sandbox's current time.
    pub fn now(&self) -> SystemTime {
        self.state.kernel.clock.now()
    }

    /// Stops sandbox time (see [`SandboxClock::freeze`]): every request then falls into the same
    /// instant — one rate-limit window — until [`Sandbox::advance_clock`] or
    /// [`Sandbox::resume_clock`].
    pub fn freeze_clock(&self) {
        self.state.kernel.clock.freeze();
    }

    /// Lets sandbox time run again.
    pub fn resume_clock(&self) {
        self.state.kernel.clock.resume();
    }

    /// The partner API's credentials of this run (also in [`Sandbox::partner_env_file`]).
    /// Every token, refresh token and authorization code handed out so far.
    pub fn issued_secrets(&self) -> Vec<String> {
        self.state.kernel.issued.all()
    }

    pub fn partner_credentials(&self) -> &PartnerCredentials {
        &self.state.partner.credentials
    }

    /// `partner-api.env` in the PKI directory: the partner credentials as `NAME=value` lines.
    pub fn partner_env_file(&self) -> &std::path::Path {
        &self.pki.partner_env
    }

    /// Registers `app`, replacing any application with the same client_id (returned).
    pub fn register_application(&self, app: Application) -> Option<Application> {
        self.state.kernel.apps_mut().upsert(app)
    }

    /// A copy of the registered application `client_id`.
    pub fn application(&self, client_id: &str) -> Option<Application> {
        self.state.kernel.apps().get(client_id).cloned()
    }

    /// Revokes a certificate: registering or updating an application with it is refused from
    /// now on (`cert.revoked`).
    pub fn revoke_certificate(&self, cert: &openssl::x509::X509Ref) {
        self.state
            .kernel
            .revocations
            .revoke(&obconform_core::certs::wire::serial_hex(cert));
    }

    /// Stops accepting, lets open connections finish briefly, and waits for the server tasks.
    pub async fn shutdown(mut self) {
        let _ = self.cancel.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        drop(self.temp_dir.take());
    }
}

async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, SandboxError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| SandboxError::Bind { addr, source })
}

fn local_addr_of(
    listener: &tokio::net::TcpListener,
    addr: SocketAddr,
) -> Result<SocketAddr, SandboxError> {
    listener
        .local_addr()
        .map_err(|source| SandboxError::LocalAddr { addr, source })
}

/// `https://ADDR`, with an unspecified address replaced by loopback.
fn loopback_url(mut addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("https://{addr}")
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // The server task sees this (or the sender's drop) and stops on its own.
        let _ = self.cancel.send(true);
    }
}
