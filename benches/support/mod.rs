//! What the benches share: settings from environment variables, and a process's memory.
#![allow(dead_code)]

use std::str::FromStr;

/// The value of the environment variable `name`, or `default` when it is unset or unreadable.
pub fn env_or<T: FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// A line of `/proc/<process>/status` in KiB (`VmRSS`, `VmHWM`; `process` a PID or `self`);
/// `None` once the process is gone, or off Linux.
pub fn status_kib(process: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{process}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// This process's resident set in KiB (0 where it cannot be read).
pub fn rss_kib() -> u64 {
    status_kib("self", "VmRSS:").unwrap_or(0)
}
