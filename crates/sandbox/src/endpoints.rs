//! `obconform sandbox --pki DIR` leaves its addresses in DIR/endpoints.json, so that
//! `obconform run --attach DIR` (and `certs issue --pki DIR`) can work with the running sandbox
//! across several commands — the certificate-renewal workflow needs exactly that.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const ENDPOINTS_FILE: &str = "endpoints.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoints {
    /// The API base URL (client certificate required).
    pub api: String,
    /// The consent host's base URL (no client certificate).
    pub consent: String,
}

pub fn endpoints_file(pki_dir: &Path) -> PathBuf {
    pki_dir.join(ENDPOINTS_FILE)
}

pub fn write_endpoints(pki_dir: &Path, endpoints: &Endpoints) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(endpoints).map_err(std::io::Error::other)?;
    std::fs::write(endpoints_file(pki_dir), text + "\n")
}

/// The endpoints of the sandbox running with `pki_dir`; the error says what to do.
pub fn read_endpoints(pki_dir: &Path) -> Result<Endpoints, String> {
    let path = endpoints_file(pki_dir);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "cannot read {} ({e}): is `obconform sandbox --pki {}` running?",
            path.display(),
            pki_dir.display()
        )
    })?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not valid: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_round_trip_and_a_missing_file_says_what_to_run() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_endpoints(dir.path()).unwrap_err();
        assert!(err.contains("is `obconform sandbox --pki"), "{err}");
        let endpoints = Endpoints {
            api: "https://127.0.0.1:1".into(),
            consent: "https://127.0.0.1:2".into(),
        };
        write_endpoints(dir.path(), &endpoints).unwrap();
        assert_eq!(read_endpoints(dir.path()).unwrap(), endpoints);
    }
}
