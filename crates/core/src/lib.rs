//! obconform's pure core, shared by the runner and the embedded sandbox: the wire types, the
//! signing primitives, certificates, and the diagnosis engine with its catalogue. Bytes, keys and
//! clock readings in, values out: no network, no clock reads, no scenario types.

// Errors here are rich on purpose (file, position, help) and only ever on the cold path.
#![allow(clippy::result_large_err)]

pub mod catalogue;
pub mod certs;
pub mod diagnose;
pub mod sign;
pub mod wire;
