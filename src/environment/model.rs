//! `scenarios/environments.yaml`: where requests go, with which certificates and trust anchors.

use crate::check::contract::ContractMode;
use crate::scenario::Located;
use crate::scenario::model::SignProfile;
use crate::scenario::ordered::OrderedMap;
use schemars::JsonSchema;
use serde::Deserialize;

/// The environments file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentsFile {
    /// The environment used when `--env` is not given.
    #[serde(default = "default_environment")]
    pub default: String,
    /// Signing profiles shared by every environment (an environment's own profiles win).
    #[serde(default)]
    pub profiles: OrderedMap<SignProfile>,
    /// Contract checks every environment of this file makes (an environment's own `contract`
    /// replaces it).
    #[serde(default)]
    pub contract: Option<ContractConfig>,
    /// The environments by name.
    pub environments: OrderedMap<Located<Environment>>,
}

fn default_environment() -> String {
    "embedded".into()
}

/// One target. String values may use `${VAR}` to read an environment variable (it must be set when
/// the environment is used); relative paths are relative to the environments file. For
/// `kind: embedded`, `${SANDBOX_API}`, `${SANDBOX_CONSENT}` and `${SANDBOX_PKI}` are the running
/// sandbox's base URLs and PKI folder.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    pub kind: EnvironmentKind,
    /// Base URL of the API, e.g. `https://api.sandbox.ing.com`. Filled in for `embedded`.
    #[serde(default)]
    pub api: Option<String>,
    /// Base URL of the bank's consent screens (`{{env.consent}}`), e.g.
    /// `https://myaccount.sandbox.ing.com`. Filled in for `embedded`.
    #[serde(default)]
    pub consent: Option<String>,
    /// Base URL of the sandbox's automated consent (`/grantssupport/…`, the `authorize` step's
    /// `via: grants-support`; `{{env.grants_support}}`). ING's sandbox serves it on
    /// `https://api.myaccount.sandbox.ing.com`; production has none. Filled in for `embedded`
    /// (its consent host).
    #[serde(default)]
    pub grants_support: Option<String>,
    /// Other origins of the bank that may receive the client certificate, tokens and signatures
    /// (`https://auth.bank.example` or `auth.bank.example:8443`). A request to any host that is
    /// not `api`, `consent`, `grants_support` or one of these is refused before it is sent.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// The TPP's client_id at the bank.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Trust anchors for the server certificate: `system` (the machine's CA store) and/or PEM files.
    /// Default: the sandbox's CA for `embedded`, `system` otherwise.
    #[serde(default)]
    pub trust: Vec<String>,
    /// Turn server certificate verification off. Never allowed for `production`.
    #[serde(default)]
    pub insecure: bool,
    /// Certificate + key pairs by role: `tls` (the client identity) and `signing`.
    /// Default for `embedded`: the example certificates the sandbox generates.
    #[serde(default)]
    pub certs: OrderedMap<CertPair>,
    /// Seconds to wait for a connection (default 10).
    #[serde(default)]
    pub connect_timeout_secs: Option<u64>,
    /// Seconds to wait for a whole exchange (default 30).
    #[serde(default)]
    pub request_timeout_secs: Option<u64>,
    /// A dotenv file (`NAME=value` lines) whose values `${NAME}` may use; a variable set in the
    /// process environment wins. Relative to the environments file; may itself use `${…}`, e.g.
    /// `${SANDBOX_PKI}/partner-api.env` for the credentials the embedded sandbox writes.
    #[serde(default)]
    pub env_file: Option<String>,
    /// Extra values scenarios can use as `{{env.NAME}}`.
    #[serde(default)]
    pub vars: OrderedMap<String>,
    /// Signing profiles of this environment, by name.
    #[serde(default)]
    pub profiles: OrderedMap<SignProfile>,
    /// Contract checks: every exchange with the API held against the bank's own API
    /// descriptions (OpenAPI 3.x or Swagger 2.0).
    #[serde(default)]
    pub contract: Option<ContractConfig>,
    /// The CA(s) the bank's response-signing certificate must chain to (PEM files), for
    /// `expect.response_signature`. Default: the sandbox's CA for `embedded`, else the
    /// environment's `trust` files.
    #[serde(default)]
    pub bank_ca: Vec<String>,
}

/// Which API descriptions judge the exchanges, and what a violation does.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractConfig {
    /// API description files (JSON or YAML), or folders whose every API description is read.
    /// Relative to the environments file; `${VAR}` allowed.
    pub specs: Vec<String>,
    /// `fail` (default): a violation fails the step; `warn`: it is reported, the step passes;
    /// `off`: no checks.
    #[serde(default)]
    pub mode: ContractMode,
    /// When none of `specs` exists, run without contract checks (and say so) instead of
    /// refusing to start: for descriptions each user downloads.
    #[serde(default)]
    pub optional: bool,
    /// What the bank documents elsewhere (its guide) that an operation's description leaves out
    /// — statuses, request headers — accepted, not reported. Each with why.
    #[serde(default)]
    pub accept: Vec<AcceptedDeviation>,
}

/// A deviation from the API description that the bank documents elsewhere.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptedDeviation {
    /// `METHOD /path/template` as the description writes it, e.g. `POST /oauth2/token`.
    pub operation: String,
    /// Status codes accepted beside the documented ones.
    #[serde(default)]
    pub status: Vec<u16>,
    /// Request headers or parameters not judged (their absence or value), e.g. a `Signature`
    /// the description requires where the bank also documents a JWS instead; a name starting
    /// with `/` is a JSON pointer into the request body, whose member is not judged (a schema
    /// no value can meet).
    #[serde(default)]
    pub request: Vec<String>,
    /// Where the bank documents it.
    pub why: String,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EnvironmentKind {
    /// The in-process sandbox, started for the run.
    Embedded,
    /// A bank's test environment.
    Sandbox,
    /// Real banking: stricter rules (no `insecure`).
    Production,
}

impl EnvironmentKind {
    pub const NAMES: [&'static str; 3] = ["embedded", "sandbox", "production"];

    pub fn name(self) -> &'static str {
        match self {
            EnvironmentKind::Embedded => "embedded",
            EnvironmentKind::Sandbox => "sandbox",
            EnvironmentKind::Production => "production",
        }
    }
}

/// A certificate and its private key, PEM files.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CertPair {
    /// The certificate: PEM (leaf first, a chain may follow), DER, or PKCS#12 (`.p12`/`.pfx`).
    pub cert: String,
    /// The private key (PEM). Leave it out when `cert` holds the key (PKCS#12, or PEM with a key).
    #[serde(default)]
    pub key: Option<String>,
    /// Name of the environment variable holding the passphrase of an encrypted key or of the
    /// PKCS#12 file.
    #[serde(default)]
    pub passphrase_env: Option<String>,
}
