//! The command line: `run`, `sandbox`, `explain`, `sign`, `certs`, `report`, `schema`,
//! `completions`, `man`.

pub mod certs;
pub mod certs_issue;
pub mod certs_revoke;
pub mod explain;
pub mod explain_har;
pub mod explain_inputs;
pub mod judge;
pub mod manual;
pub mod report_merge;
pub mod run;
pub mod sandbox;
pub mod sign;

use crate::check::contract::ContractMode;
use crate::report::model::Partition;
pub use crate::report::terminal::ProgressMode;
use crate::scenario::model::Flow;
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
    Run(Box<RunArgs>),
    /// Run the embedded sandbox standalone until stopped.
    Sandbox(SandboxArgs),
    /// Sign one request and print the signing input, the headers to send and a curl command.
    Sign(Box<SignArgs>),
    /// Name the mistakes in a request file (one `run` archived, or your own) with the
    /// certificates it may refer to. Exit 0 valid, 1 findings, 2 unusable input.
    Explain(ExplainArgs),
    /// Certificates: `certs inspect` describes and checks certificate files.
    Certs {
        #[command(subcommand)]
        command: certs::CertsCommand,
    },
    /// Reports: `report merge` joins the parts of a partitioned run.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// Print the JSON Schema (draft-07) of scenario files, of environments.yaml or of steps files.
    Schema {
        /// The schema of environments.yaml instead of scenario files.
        #[arg(long, conflicts_with = "steps")]
        environments: bool,
        /// The schema of steps files (`*.steps.yaml`) instead of scenario files.
        #[arg(long)]
        steps: bool,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), every command and flag in one page.
    Man,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Scenario files or folders.
    #[arg(default_value = "scenarios")]
    pub paths: Vec<PathBuf>,
    /// Environment name from environments.yaml (default: `OBCONFORM_ENV`, else the file's
    /// `default`, normally `embedded`).
    #[arg(long = "env")]
    pub env: Option<String>,
    /// Run the scenario's steps from this one (numbered from 1) on; the earlier ones are not
    /// run, and what they capture must come from `--var`/`--secret`. One scenario only.
    #[arg(long = "from-step", value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub from_step: Option<u32>,
    /// Run the scenario's steps up to this one (numbered from 1), e.g. to stop before a step
    /// that needs a person at the bank. One scenario only.
    #[arg(long = "to-step", value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub to_step: Option<u32>,
    /// A variable every scenario can use as `{{NAME}}` (repeatable); it wins over a scenario's
    /// `vars:` entry of the same name.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_assignment)]
    pub vars: Vec<(String, String)>,
    /// `NAME=value` lines (as in a dotenv file) read as `--var`s (repeatable).
    #[arg(long = "vars-file", value_name = "FILE")]
    pub vars_files: Vec<PathBuf>,
    /// As `--var`, and redacted in every output like a captured secret (repeatable).
    #[arg(long = "secret", value_name = "NAME=VALUE", value_parser = parse_assignment)]
    pub secrets: Vec<(String, String)>,
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
    #[arg(long, conflicts_with = "attach")]
    pub pki: Option<PathBuf>,
    /// Run on the `obconform sandbox --pki DIR` already running with this folder instead of
    /// starting a sandbox (state such as a PUT carries over between runs).
    #[arg(long, value_name = "DIR")]
    pub attach: Option<PathBuf>,
    /// How the embedded sandbox this run starts paces what it does later (a hub update's
    /// statuses): `simulated` moves its clock forward as far as a step waits (a retry's interval,
    /// up to a callback's next event), so nothing waits in real time; `real` waits as a bank would.
    #[arg(
        long,
        value_enum,
        value_name = "PACING",
        default_value = "simulated",
        conflicts_with = "attach"
    )]
    pub sandbox_time: TimeArg,
    /// Present and sign with the pair in DIR (ING's file names: example_client_tls.cer/.key,
    /// example_client_signing.cer/.key; a certificate may be .pem instead of .cer) instead of
    /// the environment's `tls` and `signing`.
    #[arg(long, value_name = "DIR")]
    pub certs: Option<PathBuf>,
    /// A renewed pair in DIR (ING's file names), as the roles `new_tls` and `new_signing` the
    /// renewal scenarios use.
    #[arg(long, value_name = "DIR")]
    pub new_certs: Option<PathBuf>,
    /// An authorization code for an `authorize` step outside the embedded sandbox (repeatable:
    /// used by the steps in order). Without it the runner waits for a loopback redirect or a
    /// line on stdin.
    #[arg(long = "code", value_name = "CODE")]
    pub codes: Vec<String>,
    /// Seconds an `authorize` step waits for the customer's consent.
    #[arg(long, default_value_t = 300, value_name = "SECS")]
    pub authorize_timeout: u64,
    /// On a production environment, run steps that change state at the bank (registration,
    /// update, payments); refused otherwise.
    #[arg(long, conflicts_with = "skip_writes")]
    pub allow_writes: bool,
    /// On a production environment, leave out the scenarios that write at the bank instead of
    /// refusing the run.
    #[arg(long)]
    pub skip_writes: bool,
    /// Load the environment (certificates included) and check every scenario against it, then
    /// stop: nothing is sent. Shows whether a run is ready, e.g. `--env sandbox` before going online.
    #[arg(long)]
    pub dry_run: bool,
    /// Where the run saves every request it sends (DIR/requests/, replaced on each run; secrets
    /// redacted), for `obconform explain`.
    #[arg(long, value_name = "DIR", default_value = "obconform-out")]
    pub out: PathBuf,
    /// Also write a runnable curl script for each request sent (DIR/SCENARIO/NN-STEP.sh),
    /// reproducing it byte for byte; its secrets come from environment variables it names.
    #[arg(long, value_name = "DIR")]
    pub curl: Option<PathBuf>,
    /// Write DIR/report.json, DIR/junit.xml and DIR/report.html (secrets redacted).
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Write every request and response to FILE as it went over the wire (secrets redacted).
    #[arg(long, value_name = "FILE")]
    pub wire_log: Option<PathBuf>,
    /// Scenarios run at once, each on a thread of its own so the run uses every core (steps of
    /// one scenario stay in order; `exclusive` scenarios run alone).
    #[arg(long, short = 'j', default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Run only part K of N (`--partition 2/3`): the scenarios are dealt round-robin in file
    /// order, so every CI machine gets the same share; `obconform report merge` joins the parts.
    #[arg(long, value_name = "K/N", value_parser = parse_partition)]
    pub partition: Option<Partition>,
    /// A progress bar (`bar`), one line per step (`plain`), or a bar only on a terminal (`auto`).
    #[arg(long, value_enum, default_value = "auto")]
    pub progress: ProgressMode,
    /// Hold every exchange against these API descriptions (OpenAPI 3 / Swagger 2.0 files, or
    /// folders of them) instead of those the environment names (repeatable).
    #[arg(long = "specs", value_name = "PATH")]
    pub specs: Vec<PathBuf>,
    /// What a contract violation does: `fail` the step, `warn`, or `off` (no contract checks);
    /// default: the environment's `contract.mode`.
    #[arg(long, value_name = "MODE")]
    pub contract: Option<ContractMode>,
    /// Print which operations and documented statuses of the contract the run exercised.
    #[arg(long)]
    pub coverage: bool,
    /// What stdout carries: the `human` console, `json` (one event per line) or `tap` (TAP
    /// version 14, a test point per scenario); with json or tap the console goes to stderr.
    #[arg(long, value_enum, default_value = "human")]
    pub format: RunFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RunFormat {
    Human,
    Json,
    Tap,
}

/// `NAME=VALUE`; NAME letters, digits and `_`, not one of the names the runner reserves.
fn parse_assignment(text: &str) -> Result<(String, String), String> {
    let Some((name, value)) = text.split_once('=') else {
        return Err(format!("`{text}`: expected NAME=VALUE"));
    };
    if let Some(problem) = crate::context::variable_name_problem(name) {
        return Err(problem);
    }
    Ok((name.to_string(), value.to_string()))
}

/// `K/N` with 1 ≤ K ≤ N ≤ 10,000.
fn parse_partition(text: &str) -> Result<Partition, String> {
    let usage = || {
        format!(
            "`{text}`: expected K/N with 1 <= K <= N <= {}, e.g. 2/3",
            Partition::MAX_COUNT
        )
    };
    let (k, n) = text.split_once('/').ok_or_else(usage)?;
    let index: u32 = k.trim().parse().map_err(|_| usage())?;
    let count: u32 = n.trim().parse().map_err(|_| usage())?;
    let partition = Partition { index, count };
    if partition.invalid().is_some() {
        return Err(usage());
    }
    Ok(partition)
}

#[derive(Debug, clap::Args)]
pub struct ReportMergeArgs {
    /// The parts: report.json files, or the --report folders holding them.
    #[arg(required = true, value_name = "REPORT")]
    pub parts: Vec<PathBuf>,
    /// Where to write the merged report.json, junit.xml and report.html.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Merge even when parts of the partition are missing (the report says which).
    #[arg(long)]
    pub allow_incomplete: bool,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Join the reports of a partitioned run (`run --partition K/N --report DIR` on each machine)
    /// into one: exit 0 all passed, 1 a scenario failed, 2 unusable or incomplete parts.
    Merge(ReportMergeArgs),
}

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// Request files: HTTP/1.1 text (`METHOD /path HTTP/1.1`, headers, an empty line, the
    /// body), e.g. obconform-out/requests/SCENARIO/NN-STEP.http; or HAR files (`*.har`, HTTP
    /// Archive 1.2), each entry's request judged.
    #[arg(required = true, value_name = "REQUEST")]
    pub requests: Vec<PathBuf>,
    /// Certificates the request may refer to (repeatable; PEM with one or more certificates,
    /// DER or PKCS#12): the signing certificate, the TLS one, others.
    /// Not needed for a request `obconform run` archived: its sidecar records the certificates.
    #[arg(long = "cert", value_name = "PEM")]
    pub certs: Vec<PathBuf>,
    /// Private keys (PEM, repeatable), optional: a signature made with one of them is named.
    #[arg(long = "key", value_name = "PEM")]
    pub keys: Vec<PathBuf>,
    /// The environment variable holding the passphrase of encrypted keys / PKCS#12 files.
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,
    /// The clock reading (RFC 3339) Date / sigT are judged against; default: the sidecar's
    /// sent_at (`<stem>.json` beside the request), else now.
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,
    /// A flow context (JSON: a sidecar, or its `flow`); default: the sidecar's.
    #[arg(long, value_name = "FILE")]
    pub flow: Option<PathBuf>,
    /// Output: text, or one `{"findings":[…]}` line per request.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ExplainFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExplainFormat {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct SandboxArgs {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Folder to write ca.pem, the example_client_* certificates and keys, and partner-api.env
    /// (the partner API's credentials) into.
    #[arg(long)]
    pub pki: PathBuf,
    /// A caller IP the partner API lets in (repeatable); given, it replaces the default
    /// allowlist of 127.0.0.1 and ::1.
    #[arg(long = "partner-allow-ip", value_name = "IP")]
    pub partner_allow_ip: Vec<std::net::IpAddr>,
    /// Partner API requests per second per caller IP; more are answered 429.
    #[arg(long, value_name = "N", default_value_t = crate::sandbox::partner::config::DEFAULT_RATE_LIMIT)]
    pub partner_rate_limit: std::num::NonZeroU32,
    /// How the sandbox paces what it does later (a hub update's statuses): `real` waits as a bank
    /// would; `simulated` moves its clock to each change at once, so clients never wait.
    #[arg(long, value_enum, value_name = "PACING", default_value = "real")]
    pub time: TimeArg,
}

/// Real or simulated time for the sandbox's asynchronous work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TimeArg {
    Real,
    Simulated,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("how").required(true).args(["profile", "flow"])))]
pub struct SignArgs {
    /// HTTP method.
    #[arg(long)]
    pub method: String,
    /// Absolute URL, with the query.
    #[arg(long)]
    pub url: String,
    /// A header to send, `Name: value` (repeatable), in this order.
    #[arg(long = "header", short = 'H')]
    pub headers: Vec<String>,
    /// The body, byte for byte.
    #[arg(long, conflicts_with = "form")]
    pub body_file: Option<PathBuf>,
    /// A form parameter `name=value` (repeatable), encoded as ING requires (space as `+`).
    #[arg(long)]
    pub form: Vec<String>,
    /// A signing profile of the environments file.
    #[arg(long, conflicts_with_all = ["flow", "alg", "cert", "key", "signed_headers", "placement", "request_target_omits"])]
    pub profile: Option<String>,
    /// The environment whose profile and certificates to use (default: the file's default).
    #[arg(long = "env", requires = "profile")]
    pub env: Option<String>,
    /// The environments file (default: scenarios/environments.yaml).
    #[arg(long, requires = "profile")]
    pub environments: Option<PathBuf>,
    /// For the embedded environment: the folder `obconform sandbox --pki DIR` wrote.
    #[arg(long, requires = "profile")]
    pub pki: Option<PathBuf>,
    /// Ad hoc: the flow (http-signature, jws, client-assertion).
    #[arg(long, value_parser = parse_flow)]
    pub flow: Option<Flow>,
    /// Ad hoc: the algorithm (rsa-sha256, ecdsa-sha256…, PS256…, ES256…, RS256).
    #[arg(long, requires = "flow")]
    pub alg: Option<String>,
    /// The keyId (http-signature); default `SN=<serial of --cert>` or the profile's.
    #[arg(long)]
    pub key_id: Option<String>,
    /// Ad hoc: the signed headers / JWS pars, space- or comma-separated.
    #[arg(long = "headers", requires = "flow")]
    pub signed_headers: Option<String>,
    /// Ad hoc: where an HTTP signature goes (authorization, signature-header).
    #[arg(long, requires = "flow", value_parser = parse_placement)]
    pub placement: Option<obconform_core::sign::Placement>,
    /// Ad hoc (http-signature): a path prefix left out of the signed (request-target), e.g.
    /// `/partner-api` for ING's partner API.
    #[arg(long, requires = "flow")]
    pub request_target_omits: Option<String>,
    /// Ad hoc: send the certificate in TPP-Signature-Certificate (always sent for jws).
    #[arg(long, requires = "flow")]
    pub certificate_header: bool,
    /// Ad hoc: the signing certificate (PEM).
    #[arg(long, requires = "flow")]
    pub cert: Option<PathBuf>,
    /// Ad hoc: its private key (PEM, encrypted keys with --passphrase-env).
    #[arg(long, requires = "flow")]
    pub key: Option<PathBuf>,
    /// The environment variable holding the key's passphrase.
    #[arg(long)]
    pub passphrase_env: Option<String>,
    /// client_id: keyId `{{client_id}}` of profiles, issuer of client assertions.
    #[arg(long)]
    pub client_id: Option<String>,
    /// Client-assertion audience (default: the URL without query).
    #[arg(long)]
    pub audience: Option<String>,
    /// TLS client certificate and key for the curl command (ad hoc; profiles know theirs).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// A CA file for the curl command's `--cacert` (ad hoc; for --pki, the sandbox's CA).
    #[arg(long)]
    pub cacert: Option<PathBuf>,
    /// Sign as of this instant (RFC 3339) instead of now.
    #[arg(long)]
    pub now: Option<String>,
}

fn parse_flow(text: &str) -> Result<Flow, String> {
    [
        Flow::Mtls,
        Flow::HttpSignature,
        Flow::Jws,
        Flow::ClientAssertion,
    ]
    .into_iter()
    .find(|f| f.name() == text)
    .ok_or_else(|| "one of: mtls, http-signature, jws, client-assertion".to_string())
}

fn parse_placement(text: &str) -> Result<obconform_core::sign::Placement, String> {
    match text {
        "authorization" => Ok(obconform_core::sign::Placement::Authorization),
        "signature-header" => Ok(obconform_core::sign::Placement::SignatureHeader),
        _ => Err("one of: authorization, signature-header".into()),
    }
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
    /// Exit 3: no check failed, but a request got no answer (connection, TLS, timeout): the
    /// bank was not judged.
    Unreachable,
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Failure => 1,
            Outcome::UsageError => 2,
            Outcome::Unreachable => 3,
        }
    }
}
