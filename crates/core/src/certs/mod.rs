//! Certificates and keys: loading PEM files (encrypted keys too) into what TLS needs, and the
//! forms a certificate takes on the wire (serial keyId, thumbprints, one-line PEM); loading any
//! certificate file (PEM, DER, PKCS#12) and describing it (`obconform certs inspect`), PSD2 roles
//! included.

mod errors;
pub mod identity;
pub mod info;
pub mod load;
mod private_key;
pub mod qc;
pub mod revocation_list;
pub mod rsa_keys;
pub mod self_signed;
pub mod test_pki;
pub mod wire;

pub use identity::{
    CertError, Identity, identity_from, load_cert_and_key, load_leaf_and_key, load_private_key,
    load_trust_anchors,
};
pub use info::{CertInfo, Warning, inspect};
pub use load::{
    CertFormat, LoadError, LoadedCertificate, key_beside, key_matches, load_certificate,
};
pub use qc::{Psd2Role, Psd2Statement};
