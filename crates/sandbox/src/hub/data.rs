//! The data an update fetched, readable once an update of the consent completed: accounts
//! (`…/account-information-resources/api/user/id/{userId}/accounts`), an account's last 30 days
//! of transactions (`…/accounts/{accountId}/transactions`), and KYC data
//! (`/sandbox/kyc-resources/api/user/id/{userId}/kyc`). They come from the embedded ING
//! sandbox's test profile the customer chose and its deterministic ledger. Paths and field names
//! beyond the seed's are inference (its data API is not public).

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Days;
use serde_json::{Value, json};

use super::error::{HubError, reply};
use super::store::{Consent, Tenant};
use super::tenant::tenant_of;
use crate::hub::HubContext;
use crate::kernel::profiles::Profile;
use crate::kernel::tls::PeerCertificate;
use crate::psd2::ais::ledger;

const TRANSACTION_DAYS: u64 = 30;

/// The user's consents whose data an update completed, with the consenting profile.
fn ready<'a>(
    t: &'a Tenant,
    user_id: &str,
) -> Result<Vec<(&'a Consent, &'static Profile)>, HubError> {
    t.user(user_id)?;
    let ready: Vec<_> = t
        .consents
        .values()
        .filter(|c| c.user_id == user_id && c.data_ready)
        .filter_map(|c| c.profile.map(|p| (c, p)))
        .collect();
    if ready.is_empty() {
        return Err(HubError::not_found(format!(
            "No data for user {user_id}: no update of a consent has completed (or the consent was deleted)"
        )));
    }
    Ok(ready)
}

pub async fn accounts(
    State(state): State<HubContext>,
    cert: Option<Extension<PeerCertificate>>,
    Path(user_id): Path<String>,
) -> Response {
    let today = state.clock.now_utc().date_naive();
    let result = tenant_of(cert).and_then(|tenant| {
        state.hub.with_tenant(&tenant, |t| {
            let mut accounts = Vec::new();
            for (consent, profile) in ready(t, &user_id)? {
                for account in profile.accounts {
                    let balances = ledger::balances_on(account, today);
                    accounts.push(json!({
                        "accountId": account.resource_id,
                        "consentId": consent.id,
                        "bankId": consent.bank.bank_id,
                        "iban": account.iban,
                        "maskedPan": account.masked_pan,
                        "name": account.name,
                        "product": account.product,
                        "currency": account.currency,
                        "balance": {
                            "amount": ledger::format_amount(balances.booked + balances.pending),
                            "currency": account.currency,
                        },
                    }));
                }
            }
            Ok(json!({ "accounts": accounts }))
        })
    });
    reply(StatusCode::OK, result)
}

pub async fn transactions(
    State(state): State<HubContext>,
    cert: Option<Extension<PeerCertificate>>,
    Path((user_id, wanted)): Path<(String, String)>,
) -> Response {
    let today = state.clock.now_utc().date_naive();
    let result = tenant_of(cert).and_then(|tenant| {
        state.hub.with_tenant(&tenant, |t| {
            let account = ready(t, &user_id)?
                .into_iter()
                .flat_map(|(_, profile)| profile.accounts.iter())
                .find(|a| a.resource_id == wanted)
                .ok_or_else(|| {
                    HubError::not_found(format!("Account {wanted} not found for user {user_id}"))
                })?;
            let first = today
                .checked_sub_days(Days::new(TRANSACTION_DAYS - 1))
                .unwrap_or(today);
            let mut entries = Vec::new();
            for date in first.iter_days().take_while(|d| *d <= today) {
                for entry in ledger::day(account, date) {
                    entries.push(json!({
                        "transactionId": entry.transaction_id,
                        "status": if date == today { "pending" } else { "booked" },
                        "bookingDate": date.to_string(),
                        "amount": {
                            "amount": ledger::format_amount(entry.amount),
                            "currency": account.currency,
                        },
                        "counterpartyName": entry.counterparty,
                        "remittanceInformation": entry.remittance,
                    }));
                }
            }
            entries.reverse();
            Ok(json!({ "accountId": wanted, "transactions": entries }))
        })
    });
    reply(StatusCode::OK, result)
}

pub async fn kyc(
    State(state): State<HubContext>,
    cert: Option<Extension<PeerCertificate>>,
    Path(user_id): Path<String>,
) -> Response {
    let result = tenant_of(cert).and_then(|tenant| {
        state.hub.with_tenant(&tenant, |t| {
            let verified: Vec<Value> = ready(t, &user_id)?
                .into_iter()
                .map(|(consent, profile)| {
                    let ibans: Vec<&str> = profile.accounts.iter().filter_map(|a| a.iban).collect();
                    json!({
                        "bankId": consent.bank.bank_id,
                        "fullName": profile.name,
                        "accountHolderOf": ibans,
                    })
                })
                .collect();
            Ok(json!({ "userId": user_id, "identities": verified }))
        })
    });
    reply(StatusCode::OK, result)
}
