//! Putting the pieces together for a run: the environment (with the embedded sandbox started when
//! it is the target), its transport, and the scenarios checked before anything is sent.

use crate::environment::active::{CertFiles, EmbeddedTarget, EnvironmentsSource};
use crate::environment::model::EnvironmentKind;
use crate::environment::{
    ActiveEnvironment, ContractCache, ContractOverride, EnvironmentError, load_environments,
    locate_environments_file, open_contract,
};
use crate::http::{Transport, TransportError};
use crate::pacing::{Pacing, SimulatedClock};
use crate::sandbox::endpoints::read_endpoints;
use crate::sandbox::{Sandbox, SandboxClock, SandboxConfig, SandboxError};
use crate::scenario::LoadedScenario;
use obconform_core::certs::test_pki::PkiFiles;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

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

/// Where one group of scenarios sends its requests: an active environment and its HTTP client.
pub struct Target {
    pub env: ActiveEnvironment,
    pub transport: Transport,
    /// How its steps wait: on the clock of the embedded sandbox this run started (simulated
    /// time), else in real time.
    pub pacing: Pacing,
}

/// The targets of a run, one per environments file, and the embedded sandbox they share.
pub struct Targets {
    /// In the order of the environments given to [`Targets::open`].
    pub targets: Vec<Target>,
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
    /// API descriptions and mode in place of the environments' own (`--specs`, `--contract`).
    pub contract: ContractOverride,
    /// Waits on the embedded sandbox this run starts take real time (`--sandbox-time real`)
    /// instead of moving its clock.
    pub real_time: bool,
}

/// Scenarios configured by the same environments file.
pub struct EnvironmentGroup {
    pub envs: EnvironmentsSource,
    pub scenarios: Vec<LoadedScenario>,
}

/// Groups scenarios by their environments file: `explicit` for all, else the nearest
/// `environments.yaml` at or above each scenario (each system folder may carry its own hosts,
/// client_id and certificates). Groups keep the order in which their first scenario came.
pub fn group_by_environments(
    explicit: Option<&Path>,
    scenarios: Vec<LoadedScenario>,
) -> Result<Vec<EnvironmentGroup>, EnvironmentError> {
    let mut groups: Vec<(PathBuf, Vec<LoadedScenario>)> = Vec::new();
    for scenario in scenarios {
        let file = locate_environments_file(explicit, std::slice::from_ref(&scenario.path))?;
        let key = std::fs::canonicalize(&file).unwrap_or(file);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(scenario),
            None => groups.push((key, vec![scenario])),
        }
    }
    groups
        .into_iter()
        .map(|(file, scenarios)| {
            Ok(EnvironmentGroup {
                envs: load_environments(&file)?,
                scenarios,
            })
        })
        .collect()
}

impl Targets {
    /// Opens environment `name` (each file's `default` when `None`) of every environments file;
    /// when any of them is `kind: embedded`, one sandbox is started (on 127.0.0.1, a free port)
    /// or attached to, and shared by all.
    pub async fn open(
        sources: &[&EnvironmentsSource],
        name: Option<&str>,
        options: &TargetOptions,
    ) -> Result<Targets, TargetError> {
        let names: Vec<String> = sources.iter().map(|s| s.resolve_name(name)).collect();
        let any_embedded = sources
            .iter()
            .zip(&names)
            .any(|(s, n)| s.kind_of(n) == Some(EnvironmentKind::Embedded));
        let mut embedded_pacing = Pacing::real();
        let (sandbox, embedded) = match (&options.attach, any_embedded) {
            (Some(dir), true) => {
                let endpoints = read_endpoints(dir).map_err(TargetError::Attach)?;
                let target =
                    EmbeddedTarget::new(endpoints.api, endpoints.consent, PkiFiles::in_dir(dir));
                (None, Some(target))
            }
            (Some(_), false) => {
                return Err(TargetError::Attach(format!(
                    "--attach runs against a running obconform sandbox: environment `{}` is not `kind: embedded`",
                    names.first().map(String::as_str).unwrap_or_default()
                )));
            }
            (None, true) => {
                let listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
                let mut config = SandboxConfig::new(listen);
                config.pki_dir = options.pki_dir.clone();
                let sandbox = Sandbox::start(config).await?;
                let target = embedded_target(&sandbox);
                if !options.real_time {
                    embedded_pacing = Pacing::simulated(Arc::new(SandboxTime(sandbox.clock())));
                }
                (Some(sandbox), Some(target))
            }
            (None, false) => (None, None),
        };
        let mut targets = Vec::with_capacity(sources.len());
        // Environments naming the same descriptions share one contract (read once).
        let mut contracts = ContractCache::default();
        for (source, name) in sources.iter().zip(&names) {
            let mut target =
                Target::activate(source, name, embedded.as_ref(), options, &mut contracts)?;
            if target.env.kind == EnvironmentKind::Embedded {
                target.pacing = embedded_pacing.clone();
            }
            targets.push(target);
        }
        Ok(Targets { targets, sandbox })
    }

    /// Stops the embedded sandbox, when this run started one.
    pub async fn close(self) {
        if let Some(sandbox) = self.sandbox {
            sandbox.shutdown().await;
        }
    }
}

impl Target {
    fn activate(
        envs: &EnvironmentsSource,
        name: &str,
        embedded: Option<&EmbeddedTarget>,
        options: &TargetOptions,
        contracts: &mut ContractCache,
    ) -> Result<Target, TargetError> {
        let lookup = |var: &str| std::env::var(var).ok();
        let mut env = envs.activate(name, embedded, &options.certs, &lookup)?;
        open_contract(&mut env, &options.contract, contracts)?;
        let transport = Transport::new(&env)?;
        Ok(Target {
            env,
            transport,
            pacing: Pacing::real(),
        })
    }
}

/// The embedded sandbox's clock, moved forward by the run's waits.
struct SandboxTime(SandboxClock);

impl SimulatedClock for SandboxTime {
    fn advance(&self, by: Duration) {
        self.0.advance(by);
    }

    fn next_event_in(&self) -> Option<Duration> {
        let next = self.0.next_deadline()?;
        Some(next.duration_since(self.0.now()).unwrap_or(Duration::ZERO))
    }
}

fn embedded_target(sandbox: &Sandbox) -> EmbeddedTarget {
    EmbeddedTarget::new(
        sandbox.base_url(),
        sandbox.consent_url(),
        sandbox.pki().clone(),
    )
}

/// Why a scenario does not run on this kind of environment (its top-level `skip_on`), if it
/// does not.
pub fn skipped_on(loaded: &LoadedScenario, kind: EnvironmentKind) -> Option<String> {
    loaded
        .scenario
        .skip_on
        .get(kind.name())
        .map(|reason| format!("not on {}: {}", kind.name(), reason.value))
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
