//! Presenting outcomes. For now: the console.

pub mod console;
pub mod curl;
