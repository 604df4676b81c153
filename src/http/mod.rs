//! Sending signed requests: reqwest over rustls with the environment's client identity and trust.

mod tls;
mod transport;

pub use transport::{DEFAULT_TLS_ROLE, Exchange, Transport, TransportError, USER_AGENT};
