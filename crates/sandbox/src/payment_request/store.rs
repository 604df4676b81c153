//! What the Payment Request API remembers: one merchant registration per application, and the
//! payment requests each application created with the payments received on them.
//!
//! A payment request is `open` until it is closed (`POST …/close`), its payments reach
//! `maximumAllowedPayments` or `maximumReceivableAmount` (`fulfilled`), or sandbox time passes
//! `validUntil` (`expired`). Payments come from the payer page (`payer.rs`). Requests are kept
//! until 7 days of sandbox time after `validUntil`, at most [`MAX_REQUESTS`] (oldest forgotten
//! first).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Serialize;

use super::certificates::{GeneratedCertificates, IngCertificates};

/// How many payment requests the sandbox keeps.
pub const MAX_REQUESTS: usize = 10_000;
/// How long after `validUntil` a payment request is still answered.
const KEEP_AFTER_VALIDITY: Duration = Duration::days(7);

/// `{value, currency}` of every amount of the spec (a JSON number and `EUR`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Amount {
    pub value: f64,
    pub currency: &'static str,
}

impl Amount {
    pub fn eur(value: f64) -> Self {
        Self {
            value,
            currency: "EUR",
        }
    }
}

/// The spec's `variableAmount`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct VariableAmount {
    #[serde(rename = "minimumValue", skip_serializing_if = "Option::is_none")]
    pub minimum_value: Option<f64>,
    #[serde(rename = "maximumValue", skip_serializing_if = "Option::is_none")]
    pub maximum_value: Option<f64>,
    #[serde(rename = "suggestedValue")]
    pub suggested_value: f64,
    pub currency: &'static str,
}

/// The spec's registration statuses the sandbox uses: `Open` when registered, `Active` once the
/// iDEAL 2.0 certificates are uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RegistrationStatus {
    Open,
    Active,
}

/// The merchant data of a registration (`RegistrationRequest`).
#[derive(Debug, Clone, PartialEq)]
pub struct Merchant {
    pub merchant_id: String,
    pub merchant_sub_id: Option<String>,
    pub merchant_name: String,
    pub merchant_iban: String,
    pub merchant_logo: Option<String>,
    pub daily_receivable_limit: Amount,
    pub allow_ing_app_payments: String,
}

#[derive(Debug, Clone)]
pub struct Registration {
    pub merchant: Merchant,
    pub created: DateTime<Utc>,
    pub last_updated: DateTime<Utc>,
    pub status: RegistrationStatus,
    /// The last `generate-certificates` answer (the upload needs one).
    pub generated: Option<GeneratedCertificates>,
}

/// `GetRegistrationResponse`.
#[derive(Debug, Serialize)]
pub struct RegistrationView {
    #[serde(rename = "merchantId")]
    merchant_id: String,
    #[serde(rename = "merchantSubId", skip_serializing_if = "Option::is_none")]
    merchant_sub_id: Option<String>,
    #[serde(rename = "merchantName")]
    merchant_name: String,
    #[serde(rename = "merchantIBAN")]
    merchant_iban: String,
    #[serde(rename = "merchantLogo", skip_serializing_if = "Option::is_none")]
    merchant_logo: Option<String>,
    #[serde(rename = "dailyReceivableLimit")]
    daily_receivable_limit: Amount,
    created: String,
    #[serde(rename = "lastUpdated")]
    last_updated: String,
    status: RegistrationStatus,
    #[serde(rename = "idealContractCertificate")]
    ideal_contract_certificate: String,
    #[serde(rename = "allowIngAppPayments")]
    allow_ing_app_payments: String,
}

impl Registration {
    pub fn view(&self, ing: &IngCertificates) -> RegistrationView {
        let m = &self.merchant;
        RegistrationView {
            merchant_id: m.merchant_id.clone(),
            merchant_sub_id: m.merchant_sub_id.clone(),
            merchant_name: m.merchant_name.clone(),
            merchant_iban: m.merchant_iban.clone(),
            merchant_logo: m.merchant_logo.clone(),
            daily_receivable_limit: m.daily_receivable_limit,
            created: timestamp(self.created),
            last_updated: timestamp(self.last_updated),
            status: self.status,
            ideal_contract_certificate: ing.ideal_contract.clone(),
            allow_ing_app_payments: m.allow_ing_app_payments.clone(),
        }
    }
}

/// The spec's date-time form: milliseconds and an offset (UTC: `Z`).
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The payer of a payment (`Payment.debtor`).
#[derive(Debug, Clone, Serialize)]
pub struct Debtor {
    pub name: String,
    pub iban: String,
    pub bic: String,
}

/// A payment received on a payment request (`Payment`).
#[derive(Debug, Clone, Serialize)]
pub struct Payment {
    #[serde(rename = "transactionId")]
    pub transaction_id: String,
    #[serde(serialize_with = "serialize_timestamp")]
    pub executed: DateTime<Utc>,
    pub amount: Amount,
    pub debtor: Debtor,
}

fn serialize_timestamp<S: serde::Serializer>(
    at: &DateTime<Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&timestamp(*at))
}

/// The request's status (`GetPaymentRequestResponse.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestStatus {
    Open,
    Closed,
    Expired,
    Fulfilled,
}

impl RequestStatus {
    pub fn name(self) -> &'static str {
        match self {
            RequestStatus::Open => "open",
            RequestStatus::Closed => "closed",
            RequestStatus::Expired => "expired",
            RequestStatus::Fulfilled => "fulfilled",
        }
    }
}

/// What `POST /payment-requests` asked for, checked.
#[derive(Debug, Clone)]
pub struct NewPaymentRequest {
    pub fixed_amount: Option<Amount>,
    pub variable_amount: Option<VariableAmount>,
    /// As the client wrote it (the spec's examples carry an offset), and as an instant.
    pub valid_until_text: String,
    pub valid_until: DateTime<Utc>,
    pub maximum_allowed_payments: Option<u64>,
    pub maximum_receivable_amount: Option<Amount>,
    pub purchase_id: String,
    pub description: String,
    pub return_url: String,
}

#[derive(Debug, Clone)]
pub struct PaymentRequest {
    pub id: String,
    pub client_id: String,
    /// The merchant's name when the request was made (the payer page shows it).
    pub merchant_name: String,
    pub request: NewPaymentRequest,
    pub payment_initiation_url: String,
    pub closed: bool,
    pub payments: Vec<Payment>,
}

/// `GetPaymentRequestResponse`.
#[derive(Debug, Serialize)]
pub struct PaymentRequestView {
    id: String,
    status: RequestStatus,
    #[serde(rename = "fixedAmount", skip_serializing_if = "Option::is_none")]
    fixed_amount: Option<Amount>,
    #[serde(rename = "variableAmount", skip_serializing_if = "Option::is_none")]
    variable_amount: Option<VariableAmount>,
    #[serde(rename = "validUntil")]
    valid_until: String,
    #[serde(
        rename = "maximumAllowedPayments",
        skip_serializing_if = "Option::is_none"
    )]
    maximum_allowed_payments: Option<u64>,
    #[serde(
        rename = "maximumReceivableAmount",
        skip_serializing_if = "Option::is_none"
    )]
    maximum_receivable_amount: Option<Amount>,
    #[serde(rename = "purchaseId")]
    purchase_id: String,
    description: String,
    #[serde(rename = "paymentInitiationUrl")]
    payment_initiation_url: String,
    #[serde(rename = "returnUrl")]
    return_url: String,
    /// The spec's deprecated copy of the payments.
    transactions: Vec<Payment>,
}

impl PaymentRequest {
    pub fn status(&self, now: DateTime<Utc>) -> RequestStatus {
        if self.closed {
            RequestStatus::Closed
        } else if self.is_fulfilled() {
            RequestStatus::Fulfilled
        } else if now > self.request.valid_until {
            RequestStatus::Expired
        } else {
            RequestStatus::Open
        }
    }

    /// The sum received so far, in cents (amounts have at most two decimals).
    pub fn received_cents(&self) -> i64 {
        self.payments.iter().map(|p| cents(p.amount.value)).sum()
    }

    fn is_fulfilled(&self) -> bool {
        let count_reached = self
            .request
            .maximum_allowed_payments
            .is_some_and(|max| self.payments.len() as u64 >= max);
        let amount_reached = self
            .request
            .maximum_receivable_amount
            .is_some_and(|max| self.received_cents() >= cents(max.value));
        count_reached || amount_reached
    }

    pub fn view(&self, now: DateTime<Utc>) -> PaymentRequestView {
        let r = &self.request;
        PaymentRequestView {
            id: self.id.clone(),
            status: self.status(now),
            fixed_amount: r.fixed_amount,
            variable_amount: r.variable_amount,
            valid_until: r.valid_until_text.clone(),
            maximum_allowed_payments: r.maximum_allowed_payments,
            maximum_receivable_amount: r.maximum_receivable_amount,
            purchase_id: r.purchase_id.clone(),
            description: r.description.clone(),
            payment_initiation_url: self.payment_initiation_url.clone(),
            return_url: r.return_url.clone(),
            transactions: self.payments.clone(),
        }
    }
}

/// An amount in cents (amounts are checked to have at most two decimals).
pub fn cents(value: f64) -> i64 {
    // The value is at most 9999999999.99: exact enough in an f64 for cents.
    #[allow(clippy::cast_possible_truncation)]
    let cents = (value * 100.0).round() as i64;
    cents
}

/// Why a payment cannot be recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum PayError {
    Unknown,
    NotOpen(RequestStatus),
    /// It would take the received total past `maximumReceivableAmount`.
    OverMaximum {
        left_cents: i64,
    },
    /// It would take the merchant past its daily receivable limit.
    OverDailyLimit {
        left_cents: i64,
    },
}

#[derive(Debug, Default)]
struct Inner {
    registrations: HashMap<String, Registration>,
    requests: HashMap<String, PaymentRequest>,
    /// Payment request ids in creation order, for forgetting the oldest.
    order: VecDeque<String>,
}

/// The Payment Request API's state, with the bank's own certificates.
#[derive(Debug)]
pub struct PaymentRequestStore {
    inner: Mutex<Inner>,
    pub ing: IngCertificates,
}

impl PaymentRequestStore {
    pub fn new(ing: IngCertificates) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            ing,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn registration(&self, client_id: &str) -> Option<Registration> {
        self.lock().registrations.get(client_id).cloned()
    }

    /// Runs `f` on the application's registration (`None`: there is none).
    pub fn with_registration<T>(
        &self,
        client_id: &str,
        f: impl FnOnce(Option<&mut Registration>) -> T,
    ) -> T {
        f(self.lock().registrations.get_mut(client_id))
    }

    /// Registers `merchant` for `client_id` unless the application is registered already:
    /// then `Err` with the merchantId it is registered for.
    pub fn register(
        &self,
        client_id: &str,
        merchant: Merchant,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let mut inner = self.lock();
        if let Some(existing) = inner.registrations.get(client_id) {
            return Err(existing.merchant.merchant_id.clone());
        }
        let registration = Registration {
            merchant,
            created: now,
            last_updated: now,
            status: RegistrationStatus::Open,
            generated: None,
        };
        inner
            .registrations
            .insert(client_id.to_owned(), registration);
        Ok(())
    }

    pub fn insert_request(&self, request: PaymentRequest, now: DateTime<Utc>) {
        let mut inner = self.lock();
        forget_old(&mut inner, now);
        inner.order.push_back(request.id.clone());
        inner.requests.insert(request.id.clone(), request);
    }

    /// The payment request `id`, if `client_id` made it and it is still kept.
    pub fn request(&self, client_id: &str, id: &str, now: DateTime<Utc>) -> Option<PaymentRequest> {
        let inner = self.lock();
        inner
            .requests
            .get(id)
            .filter(|r| r.client_id == client_id && kept(r, now))
            .cloned()
    }

    /// A payment request by id alone, for the payer page (whoever has the link may pay).
    pub fn request_for_payer(&self, id: &str, now: DateTime<Utc>) -> Option<PaymentRequest> {
        let inner = self.lock();
        inner.requests.get(id).filter(|r| kept(r, now)).cloned()
    }

    /// Closes an open request; `Err` with its status when it is not open, `None` when unknown.
    pub fn close(
        &self,
        client_id: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Option<Result<(), RequestStatus>> {
        let mut inner = self.lock();
        let request = inner
            .requests
            .get_mut(id)
            .filter(|r| r.client_id == client_id && kept(r, now))?;
        Some(match request.status(now) {
            RequestStatus::Open => {
                request.closed = true;
                Ok(())
            }
            other => Err(other),
        })
    }

    /// Records a payment on an open request, within its maximum and the merchant's daily limit.
    pub fn pay(
        &self,
        id: &str,
        payment: Payment,
        now: DateTime<Utc>,
    ) -> Result<PaymentRequest, PayError> {
        let mut inner = self.lock();
        let (client_id, status, left) = {
            let request = inner
                .requests
                .get(id)
                .filter(|r| kept(r, now))
                .ok_or(PayError::Unknown)?;
            let left = request
                .request
                .maximum_receivable_amount
                .map(|max| cents(max.value) - request.received_cents());
            (request.client_id.clone(), request.status(now), left)
        };
        if status != RequestStatus::Open {
            return Err(PayError::NotOpen(status));
        }
        let amount = cents(payment.amount.value);
        if let Some(left_cents) = left.filter(|left| amount > *left) {
            return Err(PayError::OverMaximum { left_cents });
        }
        if let Some(limit) = inner
            .registrations
            .get(&client_id)
            .map(|r| cents(r.merchant.daily_receivable_limit.value))
        {
            let today = now.date_naive();
            let received_today: i64 = inner
                .requests
                .values()
                .filter(|r| r.client_id == client_id)
                .flat_map(|r| r.payments.iter())
                .filter(|p| p.executed.date_naive() == today)
                .map(|p| cents(p.amount.value))
                .sum();
            if received_today + amount > limit {
                return Err(PayError::OverDailyLimit {
                    left_cents: (limit - received_today).max(0),
                });
            }
        }
        let request = inner.requests.get_mut(id).ok_or(PayError::Unknown)?;
        request.payments.push(payment);
        Ok(request.clone())
    }
}

fn kept(request: &PaymentRequest, now: DateTime<Utc>) -> bool {
    now <= request.request.valid_until + KEEP_AFTER_VALIDITY
}

/// Forgets requests past their keeping time, then the oldest beyond [`MAX_REQUESTS`] - 1.
fn forget_old(inner: &mut Inner, now: DateTime<Utc>) {
    let Inner {
        requests, order, ..
    } = inner;
    requests.retain(|_, r| kept(r, now));
    order.retain(|id| requests.contains_key(id));
    while order.len() >= MAX_REQUESTS {
        if let Some(oldest) = order.pop_front() {
            requests.remove(&oldest);
        }
    }
}
