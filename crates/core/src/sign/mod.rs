//! The signing primitives of both protocols, pure functions over bytes and keys: the body digest,
//! draft-cavage HTTP signatures, detached JWS (`b64:false`, `sigT`, `sigD`), RFC 7523 client
//! assertions, the RSA recovery that reads a signature's PSS salt or hash back, and the ECDSA
//! check of one signature against many inputs. The same code signs (the runner) and verifies
//! (the embedded sandbox, the diagnosis engine).

pub mod algorithm;
pub mod client_assertion;
pub mod digest;
pub mod ecdsa;
pub mod http_signature;
pub mod jws;
pub mod key;
pub mod message;
pub mod recover;
pub mod response;

pub use algorithm::{Algorithm, Family};
pub use http_signature::Placement;
pub use key::SigningKey;

/// The header carrying the signing certificate, as the guide's scripts send it.
pub const CERTIFICATE_HEADER: &str = "TPP-Signature-Certificate";
pub const JWS_HEADER: &str = "x-jws-signature";
