//! Putting the pieces together for a run: the environment (with the embedded sandbox started when
//! it is the target), its transport, and the scenarios checked before anything is sent.

use crate::environment::active::{CertFiles, EmbeddedTarget, EnvironmentsSource};
use crate::environment::model::EnvironmentKind;
use crate::environment::{ActiveEnvironment, EnvironmentError};
use crate::http::{Transport, TransportError};
use crate::sandbox::endpoints::read_endpoints;
use crate::sandbox::{PkiFiles, Sandbox, SandboxConfig, SandboxError};
use crate::scenario::LoadedScenario;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error(transparent)]
    Environment(#[from] EnvironmentError),
    #[error("cannot start the embedded sandbox: {0}")]
    Sandbox(#[from] SandboxError),
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("{0}")]
    Attach(String),
}

/// Where requests go: an active environment, its HTTP client, and the sandbox when it is embedded.
pub struct Target {
    pub env: ActiveEnvironment,
    pub transport: Transport,
    /// Kept alive for the run; dropping it stops the sandbox.
    pub sandbox: Option<Sandbox>,
}

/// How a run reaches its target, besides the environment's own settings.
#[derive(Debug, Clone, Default)]
pub struct TargetOptions {
    /// Where a started embedded sandbox writes its PKI (default: a temporary folder).
    pub pki_dir: Option<PathBuf>,
    /// Use the `obconform sandbox --pki DIR` already running with this folder instead of
    /// starting one (its addresses are in DIR/endpoints.json).
    pub attach: Option<PathBuf>,
    /// Certificate roles replacing or adding to the environment's (`--certs`, `--new-certs`).
    pub certs: Vec<(String, CertFiles)>,
}

impl Target {
    /// Opens the named environment; for `kind: embedded` it starts the sandbox (on 127.0.0.1, a
    /// free port) or attaches to a running one.
    pub async fn open(
        envs: &EnvironmentsSource,
        name: &str,
        options: &TargetOptions,
    ) -> Result<Target, TargetError> {
        let lookup = |var: &str| std::env::var(var).ok();
        let embedded_kind = envs.kind_of(name) == Some(EnvironmentKind::Embedded);
        let (sandbox, embedded) = match (&options.attach, embedded_kind) {
            (Some(dir), true) => {
                let endpoints = read_endpoints(dir).map_err(TargetError::Attach)?;
                let target = EmbeddedTarget {
                    base_url: endpoints.api,
                    consent_url: endpoints.consent,
                    pki: PkiFiles::in_dir(dir),
                };
                (None, Some(target))
            }
            (Some(_), false) => {
                return Err(TargetError::Attach(format!(
                    "--attach runs against a running obconform sandbox: environment `{name}` is not `kind: embedded`"
                )));
            }
            (None, true) => {
                let listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
                let mut config = SandboxConfig::new(listen);
                config.pki_dir = options.pki_dir.clone();
                let sandbox = Sandbox::start(config).await?;
                let target = embedded_target(&sandbox);
                (Some(sandbox), Some(target))
            }
            (None, false) => (None, None),
        };
        let env = envs.activate(name, embedded.as_ref(), &options.certs, &lookup)?;
        let transport = Transport::new(&env)?;
        Ok(Target {
            env,
            transport,
            sandbox,
        })
    }

    /// Opens the named environment against an already running sandbox (the test harness shares one).
    pub fn with_sandbox(
        envs: &EnvironmentsSource,
        name: &str,
        sandbox: &Sandbox,
    ) -> Result<Target, TargetError> {
        let lookup = |var: &str| std::env::var(var).ok();
        let env = envs.activate(name, Some(&embedded_target(sandbox)), &[], &lookup)?;
        let transport = Transport::new(&env)?;
        Ok(Target {
            env,
            transport,
            sandbox: None,
        })
    }
}

pub fn embedded_target(sandbox: &Sandbox) -> EmbeddedTarget {
    EmbeddedTarget {
        base_url: sandbox.base_url(),
        consent_url: sandbox.consent_url(),
        pki: sandbox.pki().clone(),
    }
}

/// The certificate roles a scenario `requires_certs` that the environment lacks.
pub fn missing_certs<'a>(loaded: &'a LoadedScenario, env: &ActiveEnvironment) -> Vec<&'a str> {
    loaded
        .scenario
        .requires_certs
        .iter()
        .map(String::as_str)
        .filter(|role| env.signing_key(role).is_none())
        .collect()
}
