//! Checking a response: expectations, captures and snapshots.

pub mod capture;
pub mod conformance;
pub mod contract;
pub mod expect;
pub mod failure;
pub mod response_signature;
pub mod server_certificate;
pub mod snapshot;
pub mod snapshot_file;
