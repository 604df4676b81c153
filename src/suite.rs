//! Putting the pieces together for a run: the environment (with the embedded sandbox started when
//! it is the target), its transport, and the scenarios checked before anything is sent.

use crate::environment::active::{EmbeddedTarget, EnvironmentsSource};
use crate::environment::model::EnvironmentKind;
use crate::environment::{ActiveEnvironment, EnvironmentError};
use crate::http::{Transport, TransportError};
use crate::sandbox::{Sandbox, SandboxConfig, SandboxError};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error(transparent)]
    Environment(#[from] EnvironmentError),
    #[error("cannot start the embedded sandbox: {0}")]
    Sandbox(#[from] SandboxError),
    #[error(transparent)]
    Transport(#[from] TransportError),
}

/// Where requests go: an active environment, its HTTP client, and the sandbox when it is embedded.
pub struct Target {
    pub env: ActiveEnvironment,
    pub transport: Transport,
    /// Kept alive for the run; dropping it stops the sandbox.
    pub sandbox: Option<Sandbox>,
}

impl Target {
    /// Opens the named environment, starting the embedded sandbox (on 127.0.0.1, a free port) when
    /// the environment is `kind: embedded`.
    pub async fn open(
        envs: &EnvironmentsSource,
        name: &str,
        pki_dir: Option<PathBuf>,
    ) -> Result<Target, TargetError> {
        let lookup = |var: &str| std::env::var(var).ok();
        let sandbox = match envs.kind_of(name) {
            Some(EnvironmentKind::Embedded) => {
                let listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
                Some(Sandbox::start(SandboxConfig { listen, pki_dir }).await?)
            }
            _ => None,
        };
        let embedded = sandbox.as_ref().map(embedded_target);
        let env = envs.activate(name, embedded.as_ref(), &lookup)?;
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
        let env = envs.activate(name, Some(&embedded_target(sandbox)), &lookup)?;
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
