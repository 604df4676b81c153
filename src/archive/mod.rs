//! The request archive: every request `obconform run` sends, saved (secrets redacted) as a plain
//! HTTP/1.1 request file with a JSON sidecar, so `obconform explain` can judge it later — the
//! same file format a user hands `explain` for a request of their own.

pub mod har;
pub mod http_file;
pub mod redact;
pub mod sidecar;
pub mod store;

pub use http_file::{HttpFileError, RequestFile};
pub use sidecar::Sidecar;
pub use store::{Archive, ArchiveError, ScenarioSource};
