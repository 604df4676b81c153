//! Certificates and keys: loading PEM files (encrypted keys too) into what TLS needs.

pub mod identity;

pub use identity::{CertError, Identity, load_identity, load_trust_anchors};
