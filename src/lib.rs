//! obconform — declarative test harness and conformance runner for PSD2 / open-banking APIs.

pub mod sandbox;
