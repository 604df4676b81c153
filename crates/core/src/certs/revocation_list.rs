//! The revocation list of a test PKI folder: `revoked-serials.txt`, one hexadecimal serial per
//! line (`#` starts a comment). `obconform certs revoke` appends to it; the embedded sandbox reads
//! it on every check.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::wire::normalize_serial;

/// The file in the PKI folder listing revoked serials.
pub const REVOKED_FILE: &str = "revoked-serials.txt";

/// Whether the list `text` names `serial` (normalized: upper-case, no leading zeros).
pub fn listed(text: &str, serial: &str) -> bool {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter(|line| !line.is_empty())
        .any(|line| normalize_serial(line) == serial)
}

/// Appends a serial to `DIR/revoked-serials.txt` (created if missing).
pub fn append_revoked(dir: &Path, serial_hex: &str, note: &str) -> std::io::Result<PathBuf> {
    let path = dir.join(REVOKED_FILE);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    writeln!(file, "{}  # {note}", normalize_serial(serial_hex))?;
    Ok(path)
}
