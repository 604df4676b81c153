//! A payment's transaction status over (sandbox) time: the state machine.
//!
//! The customer's decision on the SCA page moves a payment out of RCVD; after that the status of
//! an authorised payment is a function of the sandbox clock, so `advance_clock` drives it
//! (inference: ING's timings are unknown; these keep tests fast):
//! - single payment: approved → ACTC, [`ACSP_AFTER`] later ACSP, [`ACSC_AFTER`] later ACSC;
//! - periodic payment: approved → ACTV, EXPI from the day after its `endDate` (UTC);
//! - rejected → RJCT; cancelled (`DELETE`) → CANC. Both are final.
//!
//! PDNG, ACCP, ACWC, PART and PATC (ING's list) are never reached by the sandbox.

use std::time::{Duration, SystemTime};

use chrono::NaiveDate;
use serde::Serialize;

/// Sandbox time from approval to ACSP (the debtor's account is debited).
pub const ACSP_AFTER: Duration = Duration::from_secs(10);
/// Sandbox time from approval to ACSC (settled on the creditor's side).
pub const ACSC_AFTER: Duration = Duration::from_secs(60);

/// ING's `transactionStatus` values that the sandbox reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TransactionStatus {
    #[serde(rename = "RCVD")]
    Received,
    #[serde(rename = "ACTC")]
    AcceptedTechnicalValidation,
    #[serde(rename = "ACSP")]
    AcceptedSettlementInProcess,
    #[serde(rename = "ACSC")]
    AcceptedSettlementCompleted,
    #[serde(rename = "ACTV")]
    Active,
    #[serde(rename = "EXPI")]
    Expired,
    #[serde(rename = "CANC")]
    Cancelled,
    #[serde(rename = "RJCT")]
    Rejected,
}

impl TransactionStatus {
    pub fn code(self) -> &'static str {
        match self {
            Self::Received => "RCVD",
            Self::AcceptedTechnicalValidation => "ACTC",
            Self::AcceptedSettlementInProcess => "ACSP",
            Self::AcceptedSettlementCompleted => "ACSC",
            Self::Active => "ACTV",
            Self::Expired => "EXPI",
            Self::Cancelled => "CANC",
            Self::Rejected => "RJCT",
        }
    }

    /// Berlin Group: a payment can be cancelled until it is executed (RCVD, ACTC, ACTV; PDNG
    /// too, which the sandbox never reaches).
    pub fn is_cancellable(self) -> bool {
        matches!(
            self,
            Self::Received | Self::AcceptedTechnicalValidation | Self::Active
        )
    }
}

/// What happened to a payment; the status follows from it and the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Initiated, waiting for the customer on the SCA page.
    Received,
    Approved {
        at: SystemTime,
    },
    Rejected,
    Cancelled,
}

/// Single payment or standing order; a standing order may end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Single,
    Periodic { end_date: Option<NaiveDate> },
}

/// The status of a payment of `kind` in `stage` at `now`.
pub fn status(kind: Kind, stage: Stage, now: SystemTime) -> TransactionStatus {
    match stage {
        Stage::Received => TransactionStatus::Received,
        Stage::Rejected => TransactionStatus::Rejected,
        Stage::Cancelled => TransactionStatus::Cancelled,
        Stage::Approved { at } => match kind {
            Kind::Single => {
                let elapsed = now.duration_since(at).unwrap_or_default();
                if elapsed >= ACSC_AFTER {
                    TransactionStatus::AcceptedSettlementCompleted
                } else if elapsed >= ACSP_AFTER {
                    TransactionStatus::AcceptedSettlementInProcess
                } else {
                    TransactionStatus::AcceptedTechnicalValidation
                }
            }
            Kind::Periodic { end_date } => {
                if end_date.is_some_and(|end| utc_date(now) > end) {
                    TransactionStatus::Expired
                } else {
                    TransactionStatus::Active
                }
            }
        },
    }
}

/// The calendar day of `time` in UTC (the sandbox's "today").
pub fn utc_date(time: SystemTime) -> NaiveDate {
    chrono::DateTime::<chrono::Utc>::from(time).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(24 * 60 * 60);

    #[test]
    fn single_payment_settles_with_the_clock() {
        let at = SystemTime::UNIX_EPOCH + DAY;
        let approved = Stage::Approved { at };
        let at_plus = |secs| at + Duration::from_secs(secs);
        assert_eq!(
            status(Kind::Single, Stage::Received, at_plus(1000)),
            TransactionStatus::Received
        );
        assert_eq!(
            status(Kind::Single, approved, at),
            TransactionStatus::AcceptedTechnicalValidation
        );
        assert_eq!(
            status(Kind::Single, approved, at_plus(9)),
            TransactionStatus::AcceptedTechnicalValidation
        );
        assert_eq!(
            status(Kind::Single, approved, at_plus(10)),
            TransactionStatus::AcceptedSettlementInProcess
        );
        assert_eq!(
            status(Kind::Single, approved, at_plus(60)),
            TransactionStatus::AcceptedSettlementCompleted
        );
        // A clock reading before approval does not panic or go backwards past ACTC.
        assert_eq!(
            status(Kind::Single, approved, at - Duration::from_secs(5)),
            TransactionStatus::AcceptedTechnicalValidation
        );
    }

    #[test]
    fn standing_order_expires_the_day_after_its_end_date() {
        let at = SystemTime::UNIX_EPOCH + DAY * 10;
        let end = utc_date(at + DAY);
        let kind = Kind::Periodic {
            end_date: Some(end),
        };
        let approved = Stage::Approved { at };
        assert_eq!(status(kind, approved, at), TransactionStatus::Active);
        assert_eq!(status(kind, approved, at + DAY), TransactionStatus::Active);
        assert_eq!(
            status(kind, approved, at + DAY * 2),
            TransactionStatus::Expired
        );
        let open_ended = Kind::Periodic { end_date: None };
        assert_eq!(
            status(open_ended, approved, at + DAY * 400),
            TransactionStatus::Active
        );
    }

    #[test]
    fn final_stages_do_not_move_and_cancellation_follows_the_status() {
        let now = SystemTime::UNIX_EPOCH + DAY;
        for kind in [Kind::Single, Kind::Periodic { end_date: None }] {
            assert_eq!(
                status(kind, Stage::Rejected, now),
                TransactionStatus::Rejected
            );
            assert_eq!(
                status(kind, Stage::Cancelled, now),
                TransactionStatus::Cancelled
            );
        }
        use TransactionStatus::*;
        for s in [Received, AcceptedTechnicalValidation, Active] {
            assert!(s.is_cancellable(), "{}", s.code());
        }
        for s in [
            AcceptedSettlementInProcess,
            AcceptedSettlementCompleted,
            Expired,
            Cancelled,
            Rejected,
        ] {
            assert!(!s.is_cancellable(), "{}", s.code());
        }
    }

    #[test]
    fn status_serializes_as_ing_code() {
        for s in [
            TransactionStatus::Received,
            TransactionStatus::Active,
            TransactionStatus::Expired,
        ] {
            assert_eq!(
                serde_json::to_value(s).ok(),
                Some(serde_json::Value::from(s.code()))
            );
        }
    }
}
