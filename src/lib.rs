//! obconform — declarative test harness and conformance runner for PSD2 / open-banking APIs.
//!
//! The pipeline runs one way: scenario (YAML) → `plan` (exact request bytes) → `steps` (sign,
//! mutate, authorize, callback) → `http` (send) → `check` (expectations, captures, snapshots) →
//! `report`. The pure primitives it stands on (wire types, signing, certificates, diagnosis) are
//! the `obconform-core` crate, re-exported here; the embedded bank is `obconform-sandbox`,
//! re-exported as [`sandbox`].

// Errors here are rich on purpose (file, position, line text, help) and only ever on the cold path.
#![allow(clippy::result_large_err)]

// The documented API: the harness a TPP's tests use, the run's events and reporters, the
// scenario model, checks and reports, and (re-exported) the core and the embedded bank.
pub mod check;
pub mod harness;
pub mod report;
pub mod run;
pub mod scenario;

// The runner's inner stages: public for this workspace's integration tests and the CLI, not an
// API (hidden from the documentation, free to change).
#[doc(hidden)]
pub mod archive;
#[doc(hidden)]
pub mod cli;
#[doc(hidden)]
pub mod context;
#[doc(hidden)]
pub mod environment;
#[doc(hidden)]
pub mod error_chain;
#[doc(hidden)]
pub mod http;
#[doc(hidden)]
pub mod pacing;
#[doc(hidden)]
pub mod plan;
#[doc(hidden)]
pub mod put_guard;
#[doc(hidden)]
pub mod redact;
#[doc(hidden)]
pub mod runner;
#[doc(hidden)]
pub mod steps;
#[doc(hidden)]
pub mod suite;
#[doc(hidden)]
pub mod template;
#[doc(hidden)]
pub mod validate;
#[doc(hidden)]
pub mod writes;

pub use obconform_core::{catalogue, certs, diagnose, sign, wire};
pub use obconform_sandbox as sandbox;

/// Makes ring the process-wide rustls provider (idempotent), for code paths that ask for a default.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
