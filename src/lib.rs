//! obconform — declarative test harness and conformance runner for PSD2 / open-banking APIs.
//!
//! The pipeline runs one way: scenario (YAML) → `plan` (exact request bytes) → `steps` (sign,
//! mutate, authorize, callback) → `http` (send) → `check` (expectations, captures, snapshots) →
//! `report`. The pure primitives it stands on (wire types, signing, certificates, diagnosis) are
//! the `obconform-core` crate, re-exported here; the embedded bank is `obconform-sandbox`,
//! re-exported as [`sandbox`].

// Errors here are rich on purpose (file, position, line text, help) and only ever on the cold path.
#![allow(clippy::result_large_err)]

pub mod archive;
pub mod check;
pub mod cli;
pub mod context;
pub mod environment;
pub mod error_chain;
pub mod harness;
pub mod http;
pub mod plan;
pub mod put_guard;
pub mod redact;
pub mod report;
pub mod run;
pub mod runner;
pub mod scenario;
pub mod steps;
pub mod suite;
pub mod template;
pub mod validate;
pub mod writes;

pub use obconform_core::{catalogue, certs, diagnose, sign, wire};
pub use obconform_sandbox as sandbox;

/// Makes ring the process-wide rustls provider (idempotent), for code paths that ask for a default.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
