//! What `obconform explain` judges a request with, read from the user's files: certificates,
//! keys, a flow context, the request file and the sidecar beside it. Every error names the file
//! (with line:col when it is text) and what to do.

use crate::archive::http_file::{self, RequestFile};
use crate::archive::sidecar::{Sidecar, parse_rfc3339};
use obconform_core::certs::identity::{CertError, load_private_key};
use obconform_core::certs::load::load_certificate;
use obconform_core::diagnose::FlowContext;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// `(variable name, its value if set)`: the passphrase of encrypted keys and PKCS#12 files.
pub type Passphrase<'a> = Option<(&'a str, Option<String>)>;

/// Every certificate of the files (a PEM file may hold several; DER and PKCS#12 too), and the
/// keys those files carry.
pub fn load_certificates(
    paths: &[PathBuf],
    passphrase: &Passphrase<'_>,
) -> Result<(Vec<X509>, Vec<PKey<Private>>), String> {
    let mut certificates = Vec::new();
    let mut keys = Vec::new();
    for path in paths {
        let loaded = load_certificate(path, passphrase.clone()).map_err(|e| e.to_string())?;
        certificates.push(loaded.leaf);
        certificates.extend(loaded.chain);
        keys.extend(loaded.key);
    }
    Ok((certificates, keys))
}

/// The private keys of `--key` files (PEM).
pub fn load_keys(
    paths: &[PathBuf],
    passphrase: &Passphrase<'_>,
) -> Result<Vec<PKey<Private>>, String> {
    paths
        .iter()
        .map(|path| {
            load_private_key(path, passphrase.clone()).map_err(|e| match e {
                CertError::NoPassphrase { path } => format!(
                    "{} is an encrypted key: pass --passphrase-env VAR (a variable holding its passphrase), or leave out --key (keys are optional)",
                    path.display()
                ),
                other => other.to_string(),
            })
        })
        .collect()
}

/// A flow context from `--flow FILE`: the JSON of a sidecar's `flow`, or a whole sidecar.
pub fn read_flow(path: &Path) -> Result<FlowContext, String> {
    let text = read_text(path)?;
    let value: serde_json::Value = json(path, &text)?;
    if value.get("flow").is_some() {
        json::<Sidecar>(path, &text).map(|s| s.flow)
    } else {
        json(path, &text)
    }
}

/// A request file and what its sidecar (`<stem>.json` beside it) says, if there is one.
pub struct LoadedRequest {
    pub request: RequestFile,
    pub sidecar: Option<Sidecar>,
}

impl LoadedRequest {
    /// The sidecar's `sent_at`, when there is a sidecar.
    pub fn sent_at(&self) -> Option<Result<SystemTime, String>> {
        self.sidecar
            .as_ref()
            .map(|s| parse_rfc3339(&s.sent_at).map_err(|e| format!("the sidecar's sent_at: {e}")))
    }
}

pub fn load_request(path: &Path) -> Result<LoadedRequest, String> {
    let bytes = std::fs::read(path).map_err(|e| read_error(path, &e))?;
    let request = http_file::parse(&bytes, path).map_err(|e| e.to_string())?;
    let sidecar_path = path.with_extension("json");
    let sidecar = if sidecar_path.is_file() {
        read_sidecar(&sidecar_path)?
    } else {
        None
    };
    Ok(LoadedRequest { request, sidecar })
}

/// The sidecar at `path`; `None` when the JSON there is something else (a user's `payment.json`
/// body beside `payment.http`): only an object with `sent_at` is taken for a sidecar.
fn read_sidecar(path: &Path) -> Result<Option<Sidecar>, String> {
    let text = read_text(path)?;
    let value: serde_json::Value = json(path, &text)?;
    if value.get("sent_at").is_none() {
        return Ok(None);
    }
    json(path, &text).map(Some)
}

fn read_text(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| read_error(path, &e))
}

fn read_error(path: &Path, e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        format!("{} not found: check the path", path.display())
    } else {
        format!("cannot read {}: {e}", path.display())
    }
}

/// JSON with `file:line:col` in its errors.
fn json<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| {
        format!(
            "{}:{}:{}: {e}; expected the JSON `obconform run` writes beside each request",
            path.display(),
            e.line().max(1),
            e.column().max(1)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_files_are_a_flow_or_a_whole_sidecar_and_bad_json_has_a_place() {
        let dir = tempfile::tempdir().unwrap();
        let flow = dir.path().join("flow.json");
        std::fs::write(&flow, r#"{"tokens":[{"fingerprint":"sha256:00","mode":"signed","scopes":[],"issued_at":1,"expires_in":900}]}"#).unwrap();
        assert_eq!(read_flow(&flow).unwrap().tokens.len(), 1);
        let sidecar = dir.path().join("side.json");
        std::fs::write(&sidecar, r#"{"scenario":"s","step":"t","environment":"e","sent_at":"2024-05-07T10:00:00Z","status":null,"flow":{"codes":[{"fingerprint":"sha256:01","issued_at":1,"redirect_uri":null,"exchanged_at":null}]}}"#).unwrap();
        assert_eq!(read_flow(&sidecar).unwrap().codes.len(), 1);
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{\n  \"tokens\": [1,\n}").unwrap();
        let e = read_flow(&bad).unwrap_err();
        assert!(e.starts_with(&format!("{}:3:1: ", bad.display())), "{e}");
        let wrong_type = dir.path().join("wrong.json");
        std::fs::write(&wrong_type, "{\"tokens\": 5}").unwrap();
        assert!(read_flow(&wrong_type).unwrap_err().contains(":1:"));
    }

    #[test]
    fn only_json_with_sent_at_beside_a_request_is_its_sidecar() {
        let dir = tempfile::tempdir().unwrap();
        let request = dir.path().join("payment.http");
        std::fs::write(&request, "POST /v1/payments HTTP/1.1\n\n{}").unwrap();
        let beside = dir.path().join("payment.json");
        // The user's body file of the same name is not a sidecar.
        std::fs::write(&beside, r#"{"instructedAmount":{"amount":"1.00"}}"#).unwrap();
        assert!(load_request(&request).unwrap().sidecar.is_none());
        std::fs::write(
            &beside,
            r#"{"sent_at":"2024-05-07T10:00:00Z","status":"x"}"#,
        )
        .unwrap();
        let e = load_request(&request).err().unwrap();
        assert!(e.starts_with(&format!("{}:1:", beside.display())), "{e}");
        std::fs::write(&beside, r#"{"scenario":"s","step":"t","environment":"e","sent_at":"2024-05-07T10:00:00Z","status":201,"flow":{}}"#).unwrap();
        let loaded = load_request(&request).unwrap();
        assert_eq!(loaded.sidecar.unwrap().status, Some(201));
    }
}
