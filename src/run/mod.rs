//! A run as a stream of events: the session runs scenarios (in order, or `--jobs N` at a time on
//! threads of their own) and tells every reporter what happened; `obconform run` and the
//! `cargo test` harness use the same session, each with its own reporters.

pub mod events;
pub mod schedule;
pub mod session;
pub mod threads;
