//! The command line: `run`, `sandbox`, `schema`.

pub mod run;
pub mod sandbox;

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "obconform",
    version,
    about = "Conformance runner for PSD2 / open-banking APIs (ING first)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run scenarios (default: everything under scenarios/, on the embedded sandbox).
    Run(RunArgs),
    /// Run the embedded sandbox standalone until stopped.
    Sandbox(SandboxArgs),
    /// Print the JSON Schema (draft-07) of scenario files, or of environments.yaml.
    Schema {
        /// The schema of environments.yaml instead of scenario files.
        #[arg(long)]
        environments: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Scenario files or folders.
    #[arg(default_value = "scenarios")]
    pub paths: Vec<PathBuf>,
    /// Environment name from environments.yaml (default: its `default`, normally `embedded`).
    #[arg(long = "env")]
    pub env: Option<String>,
    /// Run only scenarios whose test name (`system::file-stem`) or title contains this text.
    #[arg(long)]
    pub filter: Option<String>,
    /// The environments file (default: environments.yaml beside the scenarios, or scenarios/environments.yaml).
    #[arg(long)]
    pub environments: Option<PathBuf>,
    /// Folder of response snapshots.
    #[arg(long, default_value = "snapshots")]
    pub snapshot_dir: PathBuf,
    /// Accept changed or new snapshots instead of failing.
    #[arg(long, conflicts_with = "no_snapshots")]
    pub update_snapshots: bool,
    /// Do not check snapshots.
    #[arg(long)]
    pub no_snapshots: bool,
    /// Where the embedded sandbox writes its PKI (default: a temporary folder).
    #[arg(long)]
    pub pki: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct SandboxArgs {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Folder to write ca.pem and the example_client_* certificates and keys into.
    #[arg(long)]
    pub pki: PathBuf,
}

/// How a command ended, as the process exit code says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: a step (or check) failed.
    Failure,
    /// Exit 2: the input or configuration is unusable.
    UsageError,
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Failure => 1,
            Outcome::UsageError => 2,
        }
    }
}
