//! Certificates and keys: loading PEM files (encrypted keys too) into what TLS needs, and the
//! forms a certificate takes on the wire (serial keyId, thumbprints, one-line PEM).

pub mod identity;
pub mod wire;

pub use identity::{
    CertError, Identity, load_chain_and_key, load_identity, load_private_key, load_trust_anchors,
};
