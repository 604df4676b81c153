//! Initiated payments, in memory. Safe under concurrent requests (one mutex; a panic elsewhere
//! does not poison it) and bounded: a payment is forgotten [`RETENTION`] of sandbox time after
//! its initiation, and beyond [`MAX_PAYMENTS`] the oldest go first. A forgotten payment is
//! `RESOURCE_UNKNOWN` like one that never existed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use axum::http::StatusCode;

use super::lifecycle::{self, Kind, Stage, TransactionStatus};
use super::pain001::Pain001;
use super::validate::{PaymentOrder, Product, Service};
use crate::kernel::errors::IngError;

/// How long (sandbox time) a payment is kept after its initiation: long enough for a short
/// standing order to be seen expiring.
pub const RETENTION: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// At most this many payments are kept.
pub const MAX_PAYMENTS: usize = 10_000;

#[derive(Debug, Clone)]
pub struct Payment {
    pub id: String,
    /// The application that initiated it: only it may see or cancel it.
    pub client_id: String,
    pub service: Service,
    pub product: Product,
    /// How the order was sent: how `GET …/{paymentId}` reads it back.
    pub format: Format,
    pub order: PaymentOrder,
    /// The checked `TPP-Redirect-URI`: where the SCA page sends the customer back.
    pub redirect_uri: String,
    pub created_at: SystemTime,
    pub stage: Stage,
    /// The account the customer chose on the SCA page.
    pub debtor_iban: Option<String>,
}

impl Payment {
    pub fn kind(&self) -> Kind {
        match &self.order.schedule {
            None => Kind::Single,
            Some(schedule) => Kind::Periodic {
                end_date: schedule.end,
            },
        }
    }

    pub fn status(&self, now: SystemTime) -> TransactionStatus {
        lifecycle::status(self.kind(), self.stage, now)
    }

    /// Where the order is read back (`_links.self`, `Location`): `/v1/{service}/{product}/{id}`,
    /// `/v2/bulk-payments/{product}/{id}` or `/v1/{service}/pain.001-{product}/{id}`.
    pub fn path(&self) -> String {
        let (version, prefix) = match self.format {
            Format::Json => ("v1", ""),
            Format::JsonV2 => ("v2", ""),
            Format::Pain001(_) => ("v1", "pain.001-"),
        };
        format!(
            "/{version}/{}/{prefix}{}/{}",
            self.service.path(),
            self.product.path(),
            self.id
        )
    }

    /// Where its status is (`_links.status`): the JSON status of its service, or the pain.002
    /// report of a pain.001 payment. A pain.001 standing order and a v2 bulk have no status
    /// operation of their own in ING's spec: theirs is the JSON one at `/v1`.
    pub fn status_path(&self) -> String {
        match (&self.format, self.service) {
            (Format::Pain001(_), Service::Payments) => format!("{}/status", self.path()),
            _ => format!(
                "/v1/{}/{}/{}/status",
                self.service.path(),
                self.product.path(),
                self.id
            ),
        }
    }
}

/// How an order was sent.
#[derive(Debug, Clone)]
pub enum Format {
    /// JSON (`/v1/…/{product}`).
    Json,
    /// A bulk's v2 JSON (`/v2/bulk-payments/{product}`).
    JsonV2,
    /// A pain.001 document (`/v1/…/pain.001-{product}`), kept as received.
    Pain001(Arc<Pain001>),
}

impl Format {
    fn representation(&self) -> Representation {
        match self {
            Format::Json => Representation::Json,
            Format::JsonV2 => Representation::JsonV2,
            Format::Pain001(_) => Representation::Pain001,
        }
    }
}

/// The representations an order is read back in (`GET …/{paymentId}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Representation {
    Json,
    JsonV2,
    Pain001,
}

/// What a request asks of a payment: which payments its path finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `GET …/{paymentId}`: only orders sent in this representation.
    Order(Representation),
    /// The pain.002 status reports: pain.001 payments only (a report refers to the original
    /// pain.001 message).
    Report,
    /// The JSON status and `DELETE`: every payment of the service and product, whatever its
    /// format (ING's spec gives pain.001 standing orders and v2 bulks no status or
    /// cancellation of their own).
    Any,
}

/// What the customer decided on the SCA page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Approve { debtor_iban: String },
    Reject,
}

/// Why the SCA page cannot take a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecisionError {
    Unknown,
    /// Already decided or cancelled: the status it has now.
    AlreadyDecided(TransactionStatus),
}

/// Whether a payment is still remembered at `now`.
fn retained(payment: &Payment, now: SystemTime) -> bool {
    payment
        .created_at
        .checked_add(RETENTION)
        .is_none_or(|until| until > now)
}

#[derive(Debug)]
pub struct PaymentStore {
    payments: Mutex<HashMap<String, Payment>>,
    capacity: usize,
}

impl Default for PaymentStore {
    fn default() -> Self {
        Self::with_capacity(MAX_PAYMENTS)
    }
}

impl PaymentStore {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            payments: Mutex::default(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Payment>> {
        self.payments.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgotten payments are pruned on insert only; reads pass over them instead of walking
    /// the whole store on every PIS request and SCA page view.
    pub fn insert(&self, payment: Payment, now: SystemTime) {
        let mut payments = self.lock();
        payments.retain(|_, p| retained(p, now));
        while payments.len() >= self.capacity {
            let oldest = payments
                .values()
                .min_by_key(|p| p.created_at)
                .map(|p| p.id.clone());
            match oldest {
                Some(id) => payments.remove(&id),
                None => break,
            };
        }
        payments.insert(payment.id.clone(), payment);
    }

    /// Any client's payment by id (the SCA page: the customer, not the TPP, is at the browser).
    pub fn get(&self, id: &str, now: SystemTime) -> Option<Payment> {
        self.lock().get(id).filter(|p| retained(p, now)).cloned()
    }

    /// The payment `id` if `client_id` initiated it at `/v1/{service}/{product}`; else 404
    /// `RESOURCE_UNKNOWN` (without telling whether it exists for someone else).
    pub fn owned(&self, owner: &Owner<'_>, id: &str, now: SystemTime) -> Result<Payment, IngError> {
        let payments = self.lock();
        payments
            .get(id)
            .filter(|p| retained(p, now) && owner.owns(p))
            .cloned()
            .ok_or_else(|| unknown(owner, id))
    }

    /// `DELETE`: cancels a cancellable payment; 400 `SERVICE_INVALID` otherwise (ING's PIS
    /// codes have no CANCELLATION_INVALID; the cancellation is the service not valid for it).
    pub fn cancel(&self, owner: &Owner<'_>, id: &str, now: SystemTime) -> Result<(), IngError> {
        let mut payments = self.lock();
        let payment = payments
            .get_mut(id)
            .filter(|p| retained(p, now) && owner.owns(p))
            .ok_or_else(|| unknown(owner, id))?;
        let status = payment.status(now);
        if !status.is_cancellable() {
            return Err(IngError::tpp(
                StatusCode::BAD_REQUEST,
                "SERVICE_INVALID",
                format!(
                    "Payment {id} has status {} and can no longer be cancelled (only RCVD, ACTC, \
                     ACTV or PDNG)",
                    status.code()
                ),
            ));
        }
        payment.stage = Stage::Cancelled;
        Ok(())
    }

    /// The SCA page's decision, once: a payment leaves RCVD only here.
    pub fn decide(
        &self,
        id: &str,
        decision: Decision,
        now: SystemTime,
    ) -> Result<Payment, DecisionError> {
        let mut payments = self.lock();
        let payment = payments
            .get_mut(id)
            .filter(|p| retained(p, now))
            .ok_or(DecisionError::Unknown)?;
        if payment.stage != Stage::Received {
            return Err(DecisionError::AlreadyDecided(payment.status(now)));
        }
        match decision {
            Decision::Approve { debtor_iban } => {
                payment.stage = Stage::Approved { at: now };
                payment.debtor_iban = Some(debtor_iban);
            }
            Decision::Reject => payment.stage = Stage::Rejected,
        }
        Ok(payment.clone())
    }
}

/// Who asks, and at which path: a payment is only found by its initiator at its own path.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    pub client_id: &'a str,
    pub service: Service,
    pub product: Product,
    pub access: Access,
}

impl Owner<'_> {
    fn owns(&self, payment: &Payment) -> bool {
        let reachable = match self.access {
            Access::Any => true,
            Access::Report => matches!(payment.format, Format::Pain001(_)),
            Access::Order(representation) => payment.format.representation() == representation,
        };
        payment.client_id == self.client_id
            && payment.service == self.service
            && payment.product == self.product
            && reachable
    }
}

fn unknown(owner: &Owner<'_>, id: &str) -> IngError {
    let read_back = match owner.access {
        Access::Order(_) => {
            "; an order is read back in the format it was sent in: JSON, bulk v2 or pain.001"
        }
        Access::Report => "; a pain.002 report is of a pain.001 payment",
        Access::Any => "",
    };
    IngError::tpp(
        StatusCode::NOT_FOUND,
        "RESOURCE_UNKNOWN",
        format!(
            "No {} {id} at this path for this client_id (payments are only found by the \
             application that initiated them, at the service and product they were initiated \
             with, for {} days{read_back})",
            match owner.service {
                Service::Payments => "payment",
                Service::PeriodicPayments => "periodic payment",
                Service::BulkPayments => "bulk payment",
            },
            RETENTION.as_secs() / 86_400
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::psd2::pis::validate;

    fn payment(id: &str, client_id: &str, created_at: SystemTime) -> Payment {
        let body = br#"{"instructedAmount": {"amount": "1", "currency": "EUR"},
            "creditorAccount": {"iban": "AT861921125678901234"},
            "creditorName": "Laura Musterfrau"}"#;
        let order = validate::payment_order(
            body,
            Service::Payments,
            Product::Sepa,
            lifecycle::utc_date(created_at),
        )
        .unwrap_or_else(|e| panic!("{:?}", e.body));
        Payment {
            id: id.to_owned(),
            client_id: client_id.to_owned(),
            service: Service::Payments,
            product: Product::Sepa,
            format: Format::Json,
            order,
            redirect_uri: "https://www.example.com/".into(),
            created_at,
            stage: Stage::Received,
            debtor_iban: None,
        }
    }

    fn owner(client_id: &str) -> Owner<'_> {
        Owner {
            client_id,
            service: Service::Payments,
            product: Product::Sepa,
            access: Access::Any,
        }
    }

    #[test]
    fn payments_belong_to_their_client_and_path() {
        let store = PaymentStore::default();
        let now = SystemTime::UNIX_EPOCH + RETENTION;
        store.insert(payment("p", "a", now), now);
        assert!(store.owned(&owner("a"), "p", now).is_ok());
        assert_eq!(
            store.owned(&owner("b"), "p", now).err().map(|e| e.status),
            Some(StatusCode::NOT_FOUND)
        );
        let other_product = Owner {
            product: Product::Domestic,
            ..owner("a")
        };
        assert!(store.owned(&other_product, "p", now).is_err());
        let periodic = Owner {
            service: Service::PeriodicPayments,
            ..owner("a")
        };
        assert!(store.cancel(&periodic, "p", now).is_err());
        assert!(store.get("p", now).is_some());
        // A JSON payment is read back as JSON, not as pain.001 or a v2 bulk.
        for (access, found) in [
            (Access::Order(Representation::Json), true),
            (Access::Order(Representation::Pain001), false),
            (Access::Order(Representation::JsonV2), false),
            (Access::Report, false),
        ] {
            let asked = Owner {
                access,
                ..owner("a")
            };
            assert_eq!(store.owned(&asked, "p", now).is_ok(), found, "{access:?}");
        }
    }

    #[test]
    fn decided_once_and_cancelled_only_while_cancellable() {
        let store = PaymentStore::default();
        let now = SystemTime::UNIX_EPOCH + RETENTION;
        store.insert(payment("p", "a", now), now);
        let approve = Decision::Approve {
            debtor_iban: "NL69INGB0123456789".into(),
        };
        let decided = store.decide("p", approve.clone(), now);
        assert_eq!(
            decided.map(|p| p.status(now)).ok(),
            Some(TransactionStatus::AcceptedTechnicalValidation)
        );
        assert_eq!(
            store.decide("p", Decision::Reject, now).err(),
            Some(DecisionError::AlreadyDecided(
                TransactionStatus::AcceptedTechnicalValidation
            ))
        );
        assert_eq!(
            store.decide("nope", approve, now).err(),
            Some(DecisionError::Unknown)
        );
        let later = now + lifecycle::ACSP_AFTER;
        assert_eq!(
            store
                .cancel(&owner("a"), "p", later)
                .err()
                .map(|e| e.status),
            Some(StatusCode::BAD_REQUEST)
        );
        store.insert(payment("q", "a", now), now);
        assert!(store.cancel(&owner("a"), "q", now).is_ok());
        assert_eq!(
            store.get("q", now).map(|p| p.status(now)),
            Some(TransactionStatus::Cancelled)
        );
        assert!(store.cancel(&owner("a"), "q", now).is_err());
        assert!(matches!(
            store.decide("q", Decision::Reject, now),
            Err(DecisionError::AlreadyDecided(TransactionStatus::Cancelled))
        ));
    }

    #[test]
    fn bounded_by_age_and_count() {
        let store = PaymentStore::with_capacity(3);
        let start = SystemTime::UNIX_EPOCH + RETENTION;
        store.insert(payment("old", "a", start), start);
        let later = start + RETENTION;
        assert!(store.get("old", later).is_none());
        for i in 0..4u64 {
            let at = later + Duration::from_millis(i);
            store.insert(payment(&format!("p{i}"), "a", at), at);
        }
        let end = later + Duration::from_secs(60);
        assert!(store.get("p0", end).is_none(), "the oldest goes first");
        for kept in ["p1", "p2", "p3"] {
            assert!(store.get(kept, end).is_some(), "{kept}");
        }
    }
}
