//! One environment made ready to use: variables expanded, paths resolved, certificates loaded.

use super::expand::expand_env_vars;
use super::hosts::{HostPolicy, Origin, cleartext_refusal};
use super::model::{CertPair, Environment, EnvironmentKind, EnvironmentsFile};
use crate::check::contract::{Accepted, Contract, ContractChecks, ContractMode};
use crate::scenario::load::{parse_yaml, read_source};
use crate::scenario::model::{SignProfile, SignRef};
use crate::scenario::{Position, SourceError};
use obconform_core::certs::test_pki::PkiFiles;
use obconform_core::certs::{
    CertError, Identity, identity_from, load_cert_and_key, load_trust_anchors,
};
use obconform_core::sign::SigningKey;
use rustls::pki_types::CertificateDer;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum EnvironmentError {
    #[error("{0}")]
    Source(#[from] SourceError),
    #[error("{at}: environment `{env}`: certs.{role}: {source}")]
    Cert {
        /// `environments.yaml:LINE:COL` of the environment.
        at: String,
        env: String,
        role: String,
        #[source]
        source: CertError,
    },
    /// A certificate of a `sandbox` or `production` environment the bank would refuse today.
    #[error("{at}: environment `{env}`: certs.{role}: {path}: {message}")]
    CertValidity {
        at: String,
        env: String,
        role: String,
        path: String,
        message: String,
    },
    #[error("unknown environment `{name}` in {file}: use one of {known}")]
    Unknown {
        name: String,
        file: String,
        known: String,
    },
    #[error("environment `{env}`: contract: {message}")]
    Contract { env: String, message: String },
    #[error("no environments file: looked for {looked}; pass --environments FILE")]
    NotFound { looked: String },
}

/// Where the embedded sandbox listens and the PKI it generated (for `kind: embedded`).
#[derive(Debug, Clone)]
pub struct EmbeddedTarget {
    pub base_url: String,
    /// The sandbox's consent host (no client certificate needed).
    pub consent_url: String,
    pub pki: PkiFiles,
}

/// A certificate role resolved to files.
#[derive(Debug, Clone)]
pub struct CertFiles {
    pub cert: PathBuf,
    /// `None` when the certificate file holds the key (PKCS#12).
    pub key: Option<PathBuf>,
    pub passphrase_env: Option<String>,
}

impl EmbeddedTarget {
    pub fn new(base_url: String, consent_url: String, pki: PkiFiles) -> Self {
        Self {
            base_url,
            consent_url,
            pki,
        }
    }

    /// The values `${NAME}` reads in an embedded environment: where the sandbox listens and
    /// where its PKI (and the credentials it writes, e.g. partner-api.env) are.
    pub fn published(&self) -> Vec<(&'static str, String)> {
        let pki_dir = std::path::absolute(&self.pki.dir).unwrap_or_else(|_| self.pki.dir.clone());
        vec![
            ("SANDBOX_API", self.base_url.clone()),
            ("SANDBOX_CONSENT", self.consent_url.clone()),
            ("SANDBOX_PKI", pki_dir.display().to_string()),
        ]
    }
}

impl CertFiles {
    /// The TLS and signing pair in `dir` under ING's file names (what ING's download, the
    /// embedded sandbox's `--pki` folder and `obconform certs issue --out` hold), as the roles
    /// `<prefix>tls` and `<prefix>signing`. A certificate is `example_client_<role>.cer`, or
    /// `.pem` when only that is there.
    pub fn ing_pair(dir: &Path, prefix: &str) -> Vec<(String, CertFiles)> {
        let files = PkiFiles::in_dir(dir);
        [
            ("tls", files.client_tls_cert, files.client_tls_key),
            (
                "signing",
                files.client_signing_cert,
                files.client_signing_key,
            ),
        ]
        .into_iter()
        .map(|(role, cert, key)| {
            let files = CertFiles {
                cert: cer_or_pem(cert),
                key: Some(key),
                passphrase_env: None,
            };
            (format!("{prefix}{role}"), files)
        })
        .collect()
    }
}

/// `cert`, or — when it does not exist and is named `.cer` or `.pem` — the same name with the
/// other extension if that file exists. ING's example certificates came as `.cer` files and now
/// come as `.pem` (the content decides how a file is read, not its name), so either download
/// works without renaming. Anything else, or neither file there, is `cert` unchanged: a missing
/// file's error names the path given.
fn cer_or_pem(cert: PathBuf) -> PathBuf {
    let other = match cert.extension().and_then(|e| e.to_str()) {
        Some("cer") => cert.with_extension("pem"),
        Some("pem") => cert.with_extension("cer"),
        _ => return cert,
    };
    if !cert.exists() && other.is_file() {
        other
    } else {
        cert
    }
}

/// Trust anchors for server verification.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    pub system: bool,
    pub anchors: Vec<CertificateDer<'static>>,
}

/// An environment ready for the transport and the renderer.
#[derive(Debug)]
pub struct ActiveEnvironment {
    pub name: String,
    pub kind: EnvironmentKind,
    pub api: String,
    /// Base URL of the bank's consent screens (`{{env.consent}}`), when known.
    pub consent: Option<String>,
    /// Base URL of the sandbox's automated consent (`{{env.grants_support}}`), when it has one.
    pub grants_support: Option<String>,
    /// The origins `hosts:` adds to `api`, `consent` and `grants_support` (see [`Self::host_policy`]).
    pub hosts: Vec<Origin>,
    /// Certificates that expire within 30 days (an expired or not yet valid one is an error).
    pub cert_warnings: Vec<String>,
    /// Variables given on the command line (`--var`, `--vars-file`, `--secret`): name, value and
    /// whether it is a secret. Scenarios see them as `{{NAME}}`.
    pub command_line_vars: Vec<(String, String, bool)>,
    pub client_id: Option<String>,
    pub vars: Vec<(String, String)>,
    pub profiles: Vec<(String, SignProfile)>,
    pub certs: Vec<(String, CertFiles)>,
    /// Every certificate role as a TLS client identity; `tls` is presented unless a step names
    /// another (`tls: new_tls`).
    pub identities: Vec<(String, Identity)>,
    /// Every certificate role with its key, for message signatures (`certs.signing`, …).
    pub signing_keys: Vec<(String, Arc<SigningKey>)>,
    pub trust: Trust,
    pub insecure: bool,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// The API descriptions the environment names, as configured (read by [`open_contract`]).
    pub contract_setup: ContractSetup,
    /// The contract its exchanges are held against, once opened; `None`: no contract checks.
    pub contract: Option<Arc<ContractChecks>>,
    /// Why there are no contract checks although the environment names descriptions.
    pub contract_note: Option<String>,
    /// What the bank's response-signing certificate must chain to (`expect.response_signature`).
    pub bank_ca: Vec<openssl::x509::X509>,
}

/// An environment's `contract`, paths resolved.
#[derive(Debug, Clone, Default)]
pub struct ContractSetup {
    pub specs: Vec<PathBuf>,
    pub mode: ContractMode,
    pub optional: bool,
    /// Deviations the bank documents elsewhere, accepted.
    pub accept: Vec<Accepted>,
}

/// What the command line puts in place of an environment's `contract` (`--specs`, `--contract`).
#[derive(Debug, Clone, Default)]
pub struct ContractOverride {
    /// Replaces the environment's descriptions (and they must exist).
    pub specs: Vec<PathBuf>,
    pub mode: Option<ContractMode>,
}

impl ActiveEnvironment {
    /// PEM of each certificate role's leaf, once each (public data).
    pub fn certificate_pems(&self) -> Vec<String> {
        let mut pems: Vec<String> = Vec::new();
        for (_, key) in &self.signing_keys {
            if let Ok(pem) = key.cert.to_pem() {
                let pem = String::from_utf8_lossy(&pem).into_owned();
                if !pems.contains(&pem) {
                    pems.push(pem);
                }
            }
        }
        pems
    }

    /// The origins that may receive this environment's credentials: `api`, `consent`,
    /// `grants_support` and `hosts:`.
    pub fn host_policy(&self) -> HostPolicy {
        let bases = [
            Some(&self.api),
            self.consent.as_ref(),
            self.grants_support.as_ref(),
        ];
        let mut allowed: Vec<Origin> = bases
            .into_iter()
            .flatten()
            .filter_map(|url| Origin::parse(url).ok())
            .collect();
        allowed.extend(self.hosts.iter().cloned());
        HostPolicy {
            environment: self.name.clone(),
            allowed,
        }
    }

    /// The `env` object scenarios see: `{{env.api}}`, `{{env.client_id}}`, `{{env.name}}`, vars.
    pub fn template_value(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        map.insert("name".into(), self.name.clone().into());
        map.insert("kind".into(), self.kind.name().into());
        map.insert("api".into(), self.api.clone().into());
        if let Some(consent) = &self.consent {
            map.insert("consent".into(), consent.clone().into());
        }
        if let Some(grants_support) = &self.grants_support {
            map.insert("grants_support".into(), grants_support.clone().into());
        }
        if let Some(client_id) = &self.client_id {
            map.insert("client_id".into(), client_id.clone().into());
        }
        for (k, v) in &self.vars {
            map.insert(k.clone(), v.clone().into());
        }
        serde_json::Value::Object(map)
    }

    /// The TLS client identity of a certificate role.
    pub fn identity(&self, role: &str) -> Option<&Identity> {
        self.identities
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, i)| i)
    }

    /// The certificate and key of a role (`signing`, `tls`, …).
    pub fn signing_key(&self, role: &str) -> Option<&Arc<SigningKey>> {
        self.signing_keys
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, k)| k)
    }

    /// Every certificate and private key of the environment's roles: what the troubleshooting
    /// engine may find a signature was made with.
    pub fn evidence(
        &self,
    ) -> (
        Vec<openssl::x509::X509>,
        Vec<openssl::pkey::PKey<openssl::pkey::Private>>,
    ) {
        self.signing_keys
            .iter()
            .map(|(_, key)| (key.cert.clone(), key.key.clone()))
            .unzip()
    }

    /// What templates see as `certs`: `{{certs.signing.serial}}`, `{{certs.tls.x5t_s256}}`, …
    pub fn certs_template_value(&self) -> serde_json::Value {
        let map = self
            .signing_keys
            .iter()
            .map(|(role, key)| (role.clone(), key.template_value()))
            .collect();
        serde_json::Value::Object(map)
    }

    /// A signing profile by name; `mtls` always exists.
    pub fn profile(&self, name: &str) -> Option<SignProfile> {
        self.profiles
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p.clone())
            .or_else(|| (name == "mtls").then(SignProfile::default))
    }

    /// The profile a step signs with: named, inline, or `mtls` when the step names none.
    pub fn resolve_sign(&self, sign: Option<&SignRef>) -> Result<SignProfile, String> {
        match sign {
            None => self
                .profile("mtls")
                .ok_or_else(|| "no `mtls` profile".to_string()),
            Some(SignRef::Named(name)) => self.profile(name).ok_or_else(|| {
                format!(
                    "unknown signing profile `{name}` in environment `{}`",
                    self.name
                )
            }),
            Some(SignRef::Inline(profile)) => Ok(profile.clone()),
        }
    }

    pub fn profile_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.profiles.iter().map(|(n, _)| n.clone()).collect();
        names.push("mtls".into());
        names.sort();
        names.dedup();
        names
    }
}

/// Parsed environments file and where it is.
pub struct EnvironmentsSource {
    pub path: PathBuf,
    pub text: String,
    pub file: EnvironmentsFile,
}

/// Finds the environments file: the given one, else `environments.yaml` in the folder of the
/// first scenario path or above it, else in the working folder, else `scenarios/environments.yaml`.
pub fn locate_environments_file(
    explicit: Option<&Path>,
    scenario_paths: &[PathBuf],
) -> Result<PathBuf, EnvironmentError> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    let mut looked = Vec::new();
    if let Some(first) = scenario_paths.first() {
        let start = if first.is_dir() {
            Some(first.as_path())
        } else {
            first.parent()
        };
        let mut dir = start.map(Path::to_path_buf);
        while let Some(d) = dir {
            let candidate = d.join(crate::scenario::discover::ENVIRONMENTS_FILE);
            if candidate.is_file() {
                return Ok(candidate);
            }
            looked.push(candidate.display().to_string());
            dir = d
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map(Path::to_path_buf);
        }
    }
    // A relative scenario path's parents stop short of the working folder: look there too.
    for fallback in [
        PathBuf::from(crate::scenario::discover::ENVIRONMENTS_FILE),
        PathBuf::from("scenarios").join(crate::scenario::discover::ENVIRONMENTS_FILE),
    ] {
        if fallback.is_file() {
            return Ok(fallback);
        }
        looked.push(fallback.display().to_string());
    }
    Err(EnvironmentError::NotFound {
        looked: looked.join(", "),
    })
}

pub fn load_environments(path: &Path) -> Result<EnvironmentsSource, EnvironmentError> {
    let text = read_source(path)?;
    let file = parse_yaml::<EnvironmentsFile>(path, &text)?;
    for (name, environment) in file.environments.iter() {
        if let Err(why) = crate::scenario::model::safe_segment("environment", name) {
            let at = key_position(&text, name).unwrap_or(environment.at);
            return Err(SourceError::new(path, &text, at, why)
                .with_help("environment names are folder names under --snapshot-dir")
                .into());
        }
    }
    Ok(EnvironmentsSource {
        path: path.to_path_buf(),
        text,
        file,
    })
}

/// Where the mapping key `name` is written (plain or quoted), the first time.
fn key_position(text: &str, name: &str) -> Option<Position> {
    let keys = [
        format!("{name}:"),
        format!("'{name}':"),
        format!("\"{name}\":"),
    ];
    text.lines().enumerate().find_map(|(i, line)| {
        let trimmed = line.trim_start();
        keys.iter()
            .any(|k| trimmed.starts_with(k.as_str()))
            .then(|| Position {
                line: i as u64 + 1,
                column: (line.len() - trimmed.len()) as u64 + 1,
            })
    })
}

impl EnvironmentsSource {
    /// The name `--env` resolves to.
    pub fn resolve_name(&self, requested: Option<&str>) -> String {
        requested
            .map(str::to_string)
            .unwrap_or_else(|| self.file.default.clone())
    }

    pub fn kind_of(&self, name: &str) -> Option<EnvironmentKind> {
        self.file.environments.get(name).map(|e| e.kind)
    }

    /// The text of environment `name`'s entry (from its first value to the next line indented
    /// less), with the byte offset where it starts.
    fn entry_text(&self, name: &str) -> (usize, &str) {
        let Some(located) = self.file.environments.get(name) else {
            return (0, "");
        };
        let mut offset = 0;
        let mut start = None;
        let mut end = self.text.len();
        for (index, line) in self.text.split_inclusive('\n').enumerate() {
            let number = index as u64 + 1;
            let indent = line.len() - line.trim_start().len();
            let content = line.trim();
            if number == located.at.line {
                start = Some(offset);
            } else if start.is_some()
                && !content.is_empty()
                && !content.starts_with('#')
                && (indent as u64) + 1 < located.at.column
            {
                end = offset;
                break;
            }
            offset += line.len();
        }
        let start = start.unwrap_or(0);
        (start, &self.text[start..end])
    }

    /// Makes the named environment active. `embedded` must be given for `kind: embedded`;
    /// `overrides` replace or add certificate roles (`run --certs DIR`, `--new-certs DIR`).
    pub fn activate(
        &self,
        name: &str,
        embedded: Option<&EmbeddedTarget>,
        overrides: &[(String, CertFiles)],
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ActiveEnvironment, EnvironmentError> {
        let Some(located) = self.file.environments.get(name) else {
            let known: Vec<&str> = self
                .file
                .environments
                .iter()
                .map(|(k, _)| k.as_str())
                .collect();
            return Err(EnvironmentError::Unknown {
                name: name.to_string(),
                file: self.path.display().to_string(),
                known: match known.is_empty() {
                    true => "(it defines none)".to_string(),
                    false => known.join(", "),
                },
            });
        };
        let env: &Environment = &located.value;
        let err = |message: String| -> EnvironmentError {
            SourceError::new(&self.path, &self.text, located.at, message)
                .in_context(format!("environment `{name}`"))
                .into()
        };
        let base = self.path.parent().unwrap_or(Path::new("."));
        // Where certificate errors point: the environment's entry in the file.
        let at = format!("{}:{}", self.path.display(), located.at);
        // What `${NAME}` reads: the running sandbox's own values (embedded only), then the
        // process environment, then the environment's env_file.
        let published = match (env.kind, embedded) {
            (EnvironmentKind::Embedded, Some(target)) => target.published(),
            _ => Vec::new(),
        };
        let early_lookup = |var: &str| {
            published
                .iter()
                .find(|(k, _)| *k == var)
                .map(|(_, v)| v.clone())
                .or_else(|| lookup(var))
        };
        // A missing env_file is no error by itself (its variables may be exported instead); a
        // variable found nowhere then says where it was looked for.
        let mut missing_file = None;
        let file_values = match &env.env_file {
            Some(file) => {
                let file = expand_env_vars(file, &early_lookup).map_err(&err)?;
                let path = absolute_from(base, PathBuf::from(file));
                if path.exists() {
                    read_env_file(&path).map_err(&err)?
                } else {
                    missing_file = Some(path);
                    Vec::new()
                }
            }
            None => Vec::new(),
        };
        let full_lookup = |var: &str| {
            early_lookup(var).or_else(|| {
                file_values
                    .iter()
                    .find(|(k, _)| k == var)
                    .map(|(_, v)| v.clone())
            })
        };
        let expand = |text: &str| {
            expand_env_vars(text, &full_lookup).map_err(|e| match &missing_file {
                Some(path) => err(format!(
                    "{e} (nor in env_file {}, which does not exist)",
                    path.display()
                )),
                None => err(e),
            })
        };
        // Every variable the environment's entry names and none of the sources has, at once, the
        // caret on the first of them.
        let block = self.entry_text(name);
        let missing: Vec<(&str, usize)> = variable_uses(block.1)
            .into_iter()
            .filter(|(var, _)| full_lookup(var).is_none())
            .collect();
        if let Some(&(_, offset)) = missing.first() {
            let mut names: Vec<&str> = missing.iter().map(|(var, _)| *var).collect();
            names.dedup();
            let list = names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let plural = if names.len() == 1 { "is" } else { "are" };
            let mut message = format!("environment variable {list} {plural} not set");
            if let Some(path) = &missing_file {
                message.push_str(&format!(
                    " (nor in env_file {}, which does not exist)",
                    path.display()
                ));
            }
            let at = position_of(&self.text, block.0 + offset);
            let export: Vec<String> = names.iter().map(|n| format!("{n}=…")).collect();
            return Err(SourceError::new(&self.path, &self.text, at, message)
                .in_context(format!("environment `{name}`"))
                .with_help(format!("export {}", export.join(" ")))
                .into());
        }
        // A path that comes from a variable is the shell's: relative to the working folder, not
        // to the environments file.
        let resolve = |text: &str| -> Result<PathBuf, EnvironmentError> {
            let expanded = PathBuf::from(expand(text)?);
            Ok(match text.trim_start().starts_with("${") {
                true => std::path::absolute(&expanded).unwrap_or(expanded),
                false => absolute_from(base, expanded),
            })
        };

        if env.insecure && env.kind == EnvironmentKind::Production {
            return Err(err(
                "`insecure: true` is refused for a production environment: server verification stays on".into(),
            ));
        }
        let embedded = match (env.kind, embedded) {
            (EnvironmentKind::Embedded, Some(target)) => Some(target),
            (EnvironmentKind::Embedded, None) => {
                return Err(err(
                    "the embedded sandbox is not running for this environment".into(),
                ));
            }
            _ => None,
        };
        let api = match (&env.api, embedded) {
            (Some(api), _) => expand(api)?,
            (None, Some(target)) => target.base_url.clone(),
            (None, None) => {
                return Err(err(
                    "`api` is required (the base URL, e.g. https://api.sandbox.ing.com)".into(),
                ));
            }
        };
        let api = api.trim_end_matches('/').to_string();
        let consent = match (&env.consent, embedded) {
            (Some(consent), _) => Some(expand(consent)?),
            (None, Some(target)) => Some(target.consent_url.clone()),
            (None, None) => None,
        }
        .map(|c| c.trim_end_matches('/').to_string());
        let grants_support = match (&env.grants_support, embedded) {
            (Some(url), _) => Some(expand(url)?),
            (None, Some(target)) => Some(target.consent_url.clone()),
            (None, None) => None,
        }
        .map(|c| c.trim_end_matches('/').to_string());
        let client_id = env.client_id.as_deref().map(expand).transpose()?;
        for (field, url) in [("api", Some(&api)), ("consent", consent.as_ref())]
            .into_iter()
            .chain([("grants_support", grants_support.as_ref())])
        {
            if let Some(refusal) = url.and_then(|url| cleartext_refusal(env.kind, field, url)) {
                return Err(err(refusal));
            }
        }
        let mut hosts = Vec::new();
        for entry in &env.hosts {
            let entry = expand(entry)?;
            let origin = Origin::of_entry(&entry).map_err(|e| err(format!("`hosts`: {e}")))?;
            if let Some(refusal) = cleartext_refusal(env.kind, "hosts", &origin.to_string()) {
                return Err(err(refusal));
            }
            hosts.push(origin);
        }

        let mut certs: Vec<(String, CertFiles)> = Vec::new();
        if let Some(target) = embedded {
            let pki = &target.pki;
            for (role, cert, key) in [
                ("tls", &pki.client_tls_cert, &pki.client_tls_key),
                ("signing", &pki.client_signing_cert, &pki.client_signing_key),
            ] {
                let files = CertFiles {
                    cert: cert.clone(),
                    key: Some(key.clone()),
                    passphrase_env: None,
                };
                certs.push((role.to_string(), files));
            }
        }
        for (role, pair) in env.certs.iter() {
            let files = resolve_pair(pair, &resolve)?;
            certs.retain(|(r, _)| r != role);
            certs.push((role.clone(), files));
        }
        for (role, files) in overrides {
            certs.retain(|(r, _)| r != role);
            certs.push((role.clone(), files.clone()));
        }

        let mut trust = Trust::default();
        if env.trust.is_empty() {
            match embedded {
                Some(target) => {
                    trust.anchors = load_trust_anchors(&target.pki.ca_cert)
                        .map_err(|source| cert_err(&at, name, "trust", source))?
                }
                None => trust.system = true,
            }
        }
        for entry in &env.trust {
            if entry == "system" {
                trust.system = true;
            } else {
                let path = resolve(entry)?;
                let anchors = load_trust_anchors(&path)
                    .map_err(|source| cert_err(&at, name, "trust", source))?;
                trust.anchors.extend(anchors);
            }
        }

        // Each role's certificate and key are read once, as a TLS client identity and as a
        // signing key (which roles are used how is the scenarios' business).
        let mut identities = Vec::new();
        let mut signing_keys = Vec::new();
        let mut cert_warnings = Vec::new();
        for (role, files) in &certs {
            let passphrase = files
                .passphrase_env
                .as_deref()
                .map(|var| (var, lookup(var)));
            let fail = |source| cert_err(&at, name, role, with_hint(source, env.kind));
            let (chain, key) =
                load_cert_and_key(&files.cert, files.key.as_deref(), passphrase).map_err(fail)?;
            identities.push((
                role.clone(),
                identity_from(&chain, &key, &files.cert).map_err(fail)?,
            ));
            if let Some(leaf) = chain.into_iter().next() {
                if env.kind != EnvironmentKind::Embedded {
                    let refused = |message: String| EnvironmentError::CertValidity {
                        at: at.clone(),
                        env: name.to_string(),
                        role: role.clone(),
                        path: files.cert.display().to_string(),
                        message,
                    };
                    match validity(&leaf, env.kind, chrono::Utc::now()) {
                        Validity::Refused(message) => return Err(refused(message)),
                        Validity::ExpiringSoon(message) => cert_warnings
                            .push(format!("certs.{role}: {}: {message}", files.cert.display())),
                        Validity::Fine => {}
                    }
                }
                signing_keys.push((role.clone(), Arc::new(SigningKey::new(leaf, key))));
            }
        }

        let mut vars = Vec::new();
        for (k, v) in env.vars.iter() {
            vars.push((k.clone(), expand(v)?));
        }
        let bank_ca = if !env.bank_ca.is_empty() {
            let mut anchors = Vec::new();
            for file in &env.bank_ca {
                anchors.extend(load_ca_file(&resolve(file)?).map_err(&err)?);
            }
            anchors
        } else if let Some(target) = embedded {
            load_ca_file(&target.pki.ca_cert).map_err(&err)?
        } else {
            trust
                .anchors
                .iter()
                .filter_map(|der| openssl::x509::X509::from_der(der).ok())
                .collect()
        };
        let contract_setup = match env.contract.as_ref().or(self.file.contract.as_ref()) {
            Some(config) => ContractSetup {
                specs: config
                    .specs
                    .iter()
                    .map(|spec| resolve(spec))
                    .collect::<Result<_, _>>()?,
                mode: config.mode,
                optional: config.optional,
                accept: config
                    .accept
                    .iter()
                    .map(|a| Accepted {
                        operation: a.operation.clone(),
                        statuses: a.status.clone(),
                        request: a.request.clone(),
                    })
                    .collect(),
            },
            None => ContractSetup::default(),
        };
        let mut profiles: Vec<(String, crate::scenario::model::SignProfile)> = self
            .file
            .profiles
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        profiles.extend(env.profiles.iter().map(|(k, v)| (k.clone(), v.clone())));

        Ok(ActiveEnvironment {
            name: name.to_string(),
            kind: env.kind,
            api,
            consent,
            grants_support,
            hosts,
            client_id,
            vars,
            profiles,
            certs,
            identities,
            signing_keys,
            trust,
            insecure: env.insecure,
            connect_timeout: Duration::from_secs(env.connect_timeout_secs.unwrap_or(10)),
            request_timeout: Duration::from_secs(env.request_timeout_secs.unwrap_or(30)),
            contract_setup,
            contract: None,
            contract_note: None,
            bank_ca,
            cert_warnings,
            command_line_vars: Vec::new(),
        })
    }
}

/// The contracts a run has read, by their files: environments naming the same descriptions share
/// one (read once, one coverage table).
#[derive(Default)]
pub struct ContractCache {
    loaded: Vec<(Vec<PathBuf>, Arc<Contract>)>,
}

impl ContractCache {
    fn get_or_load(&mut self, specs: &[PathBuf]) -> Result<Arc<Contract>, String> {
        let key: Vec<PathBuf> = specs
            .iter()
            .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()))
            .collect();
        if let Some((_, contract)) = self.loaded.iter().find(|(k, _)| *k == key) {
            return Ok(contract.clone());
        }
        let contract = Arc::new(Contract::load(specs).map_err(|e| e.to_string())?);
        self.loaded.push((key, contract.clone()));
        Ok(contract)
    }
}

/// Reads the API descriptions of `env` (or those `given` on the command line instead) and keeps
/// them as its contract. Optional descriptions that are not there leave a note instead.
pub fn open_contract(
    env: &mut ActiveEnvironment,
    given: &ContractOverride,
    cache: &mut ContractCache,
) -> Result<(), EnvironmentError> {
    let mut setup = env.contract_setup.clone();
    if !given.specs.is_empty() {
        setup.specs = given.specs.clone();
        setup.optional = false;
    }
    if let Some(mode) = given.mode {
        setup.mode = mode;
    }
    env.contract = None;
    env.contract_note = None;
    if setup.mode == ContractMode::Off || setup.specs.is_empty() {
        return Ok(());
    }
    let present: Vec<PathBuf> = setup.specs.iter().filter(|p| p.exists()).cloned().collect();
    if present.is_empty() && setup.optional {
        let looked: Vec<String> = setup
            .specs
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        env.contract_note = Some(format!(
            "contract checks skipped: no API descriptions at {} (download them there, or pass --specs DIR)",
            looked.join(", ")
        ));
        return Ok(());
    }
    if let Some(missing) = setup.specs.iter().find(|p| !p.exists()) {
        return Err(EnvironmentError::Contract {
            env: env.name.clone(),
            message: format!("{}: no such file or folder", missing.display()),
        });
    }
    let contract =
        cache
            .get_or_load(&setup.specs)
            .map_err(|message| EnvironmentError::Contract {
                env: env.name.clone(),
                message,
            })?;
    env.contract = Some(Arc::new(ContractChecks {
        contract,
        mode: setup.mode,
        accepted: setup.accept,
    }));
    Ok(())
}

/// The PEM certificates of a CA file (`bank_ca`).
fn load_ca_file(path: &Path) -> Result<Vec<openssl::x509::X509>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("bank_ca {}: {e}", path.display()))?;
    let certs = openssl::x509::X509::stack_from_pem(&pem)
        .map_err(|e| format!("bank_ca {}: not PEM certificates: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("bank_ca {}: no certificate in it", path.display()));
    }
    Ok(certs)
}

fn absolute_from(base: &Path, path: PathBuf) -> PathBuf {
    if path.is_absolute() {
        path
    } else {
        base.join(path)
    }
}

/// `NAME=value` lines; blank lines and `#` comments skipped, `export ` and matching quotes
/// around the value allowed (what shells and dotenv tools write).
fn read_env_file(path: &Path) -> Result<Vec<(String, String)>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("env_file {}: {e}", path.display()))?;
    parse_env_file(&text).map_err(|(line, why)| format!("{}:{line}: {why}", path.display()))
}

pub(crate) fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, (usize, String)> {
    let mut values = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((name, value)) = line.split_once('=') else {
            return Err((index + 1, "expected NAME=value".into()));
        };
        let name = name.trim();
        if !crate::context::is_variable_name(name) {
            return Err((index + 1, format!("`{name}` is not a variable name")));
        }
        let value = value.trim();
        let unquoted = ['"', '\'']
            .iter()
            .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
            .unwrap_or(value);
        values.push((name.to_string(), unquoted.to_string()));
    }
    Ok(values)
}

fn resolve_pair(
    pair: &CertPair,
    resolve: &dyn Fn(&str) -> Result<PathBuf, EnvironmentError>,
) -> Result<CertFiles, EnvironmentError> {
    Ok(CertFiles {
        cert: cer_or_pem(resolve(&pair.cert)?),
        key: pair.key.as_deref().map(resolve).transpose()?,
        passphrase_env: pair.passphrase_env.clone(),
    })
}

/// Whether the bank would take `cert` today.
pub enum Validity {
    Fine,
    ExpiringSoon(String),
    /// Expired or not yet valid: what, when, and what to do.
    Refused(String),
}

/// `kind` chooses the advice for an expired certificate (ING's example set, or a renewal).
pub fn validity(
    cert: &openssl::x509::X509Ref,
    kind: EnvironmentKind,
    now: chrono::DateTime<chrono::Utc>,
) -> Validity {
    use obconform_core::certs::info::warning;
    let info = obconform_core::certs::inspect(cert, None, now);
    let renew = match kind {
        EnvironmentKind::Sandbox => {
            "ING renews its example certificates: download the current set (see certs/README.md)"
        }
        _ => "renew it with your certificate provider and register the new pair with the bank",
    };
    for w in &info.warnings {
        match w.id {
            warning::EXPIRED => return Validity::Refused(format!("{} — {renew}", w.message)),
            warning::NOT_YET_VALID => return Validity::Refused(w.message.clone()),
            warning::EXPIRING_SOON => return Validity::ExpiringSoon(w.message.clone()),
            _ => {}
        }
    }
    Validity::Fine
}

/// Each `${NAME}` in `text`: the name and the byte offset of its `$`.
fn variable_uses(text: &str) -> Vec<(&str, usize)> {
    let mut uses = Vec::new();
    let mut from = 0;
    while let Some(start) = text[from..].find("${").map(|i| from + i) {
        let Some(end) = text[start + 2..].find('}').map(|i| start + 2 + i) else {
            break;
        };
        uses.push((&text[start + 2..end], start));
        from = end + 1;
    }
    uses
}

/// Line and column (1-based) of byte `offset` in `text`.
fn position_of(text: &str, offset: usize) -> Position {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    Position {
        line: line as u64,
        column: column as u64,
    }
}

fn cert_err(at: &str, env: &str, role: &str, source: CertError) -> EnvironmentError {
    EnvironmentError::Cert {
        at: at.to_string(),
        env: env.to_string(),
        role: role.to_string(),
        source,
    }
}

/// Says where missing example certificates come from.
fn with_hint(error: CertError, kind: EnvironmentKind) -> CertError {
    match error {
        CertError::Missing { role, path, .. } => {
            let hint = match kind {
                // The folder the environment reads: certs/ing-sandbox/ for ING PSD2,
                // certs/ing-open-banking/ for the Open Banking environments.
                EnvironmentKind::Sandbox => match path.parent() {
                    Some(folder) if !folder.as_os_str().is_empty() => format!(
                        " — put the bank's example certificates in {}/ (`.cer` or `.pem`, see certs/README.md)",
                        folder.display()
                    ),
                    _ => " — put the bank's example certificates where environments.yaml says (see certs/README.md)".to_string(),
                },
                EnvironmentKind::Production => {
                    " — point the environment variables of the production environment at your eIDAS certificate and key".to_string()
                }
                EnvironmentKind::Embedded => " — check the path in environments.yaml".to_string(),
            };
            CertError::Missing { role, path, hint }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ing_pair_takes_pem_certificates_when_there_is_no_cer() {
        let dir = tempfile::tempdir().unwrap();
        let name = |file: &str| dir.path().join(file);
        let files = |prefix| -> Vec<(String, PathBuf)> {
            CertFiles::ing_pair(dir.path(), prefix)
                .into_iter()
                .map(|(role, files)| (role, files.cert))
                .collect()
        };
        // Nothing there: the `.cer` names, which a missing-file error then names.
        assert_eq!(
            files(""),
            [
                ("tls".to_string(), name("example_client_tls.cer")),
                ("signing".to_string(), name("example_client_signing.cer")),
            ]
        );
        // ING's newer set: `.pem`.
        std::fs::write(name("example_client_tls.pem"), "").unwrap();
        std::fs::write(name("example_client_signing.pem"), "").unwrap();
        assert_eq!(
            files("new_"),
            [
                ("new_tls".to_string(), name("example_client_tls.pem")),
                (
                    "new_signing".to_string(),
                    name("example_client_signing.pem")
                ),
            ]
        );
        // Both: the `.cer` one.
        std::fs::write(name("example_client_tls.cer"), "").unwrap();
        assert_eq!(files("")[0].1, name("example_client_tls.cer"));
        assert_eq!(files("")[1].1, name("example_client_signing.pem"));
        // The other way round for a `.pem` name; other names are left alone.
        assert_eq!(
            cer_or_pem(name("example_client_tls.pem")),
            name("example_client_tls.pem")
        );
        std::fs::remove_file(name("example_client_tls.pem")).unwrap();
        assert_eq!(
            cer_or_pem(name("example_client_tls.pem")),
            name("example_client_tls.cer")
        );
        std::fs::write(name("qwac.crt"), "").unwrap();
        assert_eq!(cer_or_pem(name("qwac.der")), name("qwac.der"));
    }

    #[test]
    fn env_file_lines_are_read_like_a_shell_would() {
        let text = "# written by obconform sandbox\nexport A=1\nB=\"two words\"\n\nC='x=y'\n";
        let values = parse_env_file(text).unwrap();
        let expected = [("A", "1"), ("B", "two words"), ("C", "x=y")];
        let got: Vec<(&str, &str)> = values
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(got, expected);
        assert_eq!(parse_env_file("A=1\nnot a pair\n").unwrap_err().0, 2);
        assert!(parse_env_file("BAD NAME=1").is_err());
    }

    fn environments(dir: &Path, yaml: &str) -> EnvironmentsSource {
        let path = dir.join("environments.yaml");
        std::fs::write(&path, yaml).unwrap();
        load_environments(&path).unwrap()
    }

    #[test]
    fn embedded_values_then_process_then_env_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("creds.env"),
            "CLIENT=from-file\nOTHER=file-only\nSANDBOX_API=https://file.example\n",
        )
        .unwrap();
        let envs = environments(
            dir.path(),
            "environments:\n  e:\n    kind: sandbox\n    api: ${SANDBOX_API}\n    env_file: creds.env\n    client_id: ${CLIENT}\n    vars: { other: '${OTHER}' }\n",
        );
        let process = |var: &str| (var == "CLIENT").then(|| "from-process".to_string());
        let env = envs.activate("e", None, &[], &process).unwrap();
        // Not embedded: SANDBOX_API is nothing special, the file provides it.
        assert_eq!(env.api, "https://file.example");
        assert_eq!(env.client_id.as_deref(), Some("from-process"));
        assert_eq!(
            env.vars,
            vec![("other".to_string(), "file-only".to_string())]
        );
    }

    #[test]
    fn a_missing_env_file_names_the_environment_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        // Without variables to take from it, a missing env_file is fine.
        let envs = environments(
            dir.path(),
            "environments:\n  e:\n    kind: sandbox\n    api: https://x.example\n    env_file: nowhere.env\n",
        );
        assert!(envs.activate("e", None, &[], &|_| None).is_ok());
        // A variable found nowhere names the file it was not in.
        let envs = environments(
            dir.path(),
            "environments:\n  e:\n    kind: sandbox\n    api: ${API}\n    env_file: nowhere.env\n",
        );
        let err = envs
            .activate("e", None, &[], &|_| None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("nowhere.env") && err.contains("environment `e`"),
            "{err}"
        );
        assert!(err.contains("`API` is not set"), "{err}");
        assert!(err.contains("which does not exist"), "{err}");
    }
}
