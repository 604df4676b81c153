//! The `<request>.json` beside each archived request: where it came from, when it was sent,
//! what came back, and the flow context `obconform explain` judges it with.

use chrono::{DateTime, SecondsFormat, Utc};
use obconform_core::diagnose::FlowContext;
use serde::{Deserialize, Serialize};
use std::time::SystemTime;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sidecar {
    /// The scenario file, as the run was given it.
    pub scenario: String,
    /// The step's name.
    pub step: String,
    /// The environment the run used.
    pub environment: String,
    /// RFC 3339 UTC, milliseconds: `explain`'s default clock (Date and sigT are checked against it).
    pub sent_at: String,
    /// The response status; `null` when no response is known for this request (an earlier
    /// attempt of a `retry` step).
    pub status: Option<u16>,
    pub flow: FlowContext,
    /// PEM of the certificates the environment presented and signed with (public), which
    /// `explain` uses when it is given none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<String>,
}

/// `2024-05-07T10:00:00.123Z`.
pub fn rfc3339(at: SystemTime) -> String {
    DateTime::<Utc>::from(at).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses any RFC 3339 time (an offset other than Z included).
pub fn parse_rfc3339(text: &str) -> Result<SystemTime, String> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(SystemTime::from)
        .map_err(|e| format!("`{text}` is not an RFC 3339 time such as 2024-05-07T10:00:00Z ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn times_round_trip_in_utc_with_milliseconds() {
        let at = UNIX_EPOCH + Duration::from_millis(1_715_076_000_123);
        assert_eq!(rfc3339(at), "2024-05-07T10:00:00.123Z");
        assert_eq!(parse_rfc3339(&rfc3339(at)), Ok(at));
        assert_eq!(parse_rfc3339("2024-05-07T12:00:00.123+02:00"), Ok(at));
        assert!(
            parse_rfc3339("2024-05-07 10:00")
                .unwrap_err()
                .contains("RFC 3339")
        );
    }
}
