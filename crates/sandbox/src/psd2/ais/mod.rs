//! Account information (AIS): the customer's accounts, balances and transactions, served from
//! the deterministic [`ledger`].
//!
//! Routes (customer access token obtained with HTTP signatures, `Signature` keyId = client_id
//! over at least `(request-target) date digest`, and `X-Request-ID`, a UUID, echoed on the
//! response):
//! - `GET /v3/accounts` — scope `payment-accounts:balances:view` or
//!   `payment-accounts:transactions:view`: the consent's accounts with their `_links`.
//! - `GET /v3/accounts/{id}/balances?balanceTypes=…&currency=…` — scope `…:balances:view`.
//! - `GET /v3/accounts/{id}/transactions?dateFrom&dateTo&currency&limit&fieldsToOmit` or
//!   `?next=<cursor>` — scope `…:transactions:view`.
//! - `GET /v2/accounts/{id}/transactions?dateFrom&dateTo&currency&limit` or `?next=<cursor>`
//!   — deprecated in ING's AIS spec, served as `/v3` without `fieldsToOmit` (`transactions.rs`).
//! - `GET /v1/card-accounts/{id}/transactions?dateFrom&dateTo&limit` — scope
//!   `card-accounts:transactions:view` (inference: the scope name is not in the seeds).
//!
//! Refusals, in the order they are checked, each with a status and a code ING's AIS spec lists
//! for the operation: the token and signature (401 INVALID_HEADER, from `authenticate_signed`:
//! missing, unknown, expired, application or mTLS-only token, signature), `X-Request-ID` (400
//! FORMAT_ERROR), the scope (404 RESOURCE_UNKNOWN, `flow.scope-missing`: the spec's 404 is "Not
//! Found or Unauthorised", and `/v3/accounts` documents no 403), the account (404
//! RESOURCE_UNKNOWN: unknown, not in the consent, or of the other kind — a card on
//! `/v3/accounts`, a current account on `/v1/card-accounts`), then the query (400 FORMAT_ERROR,
//! PERIOD_INVALID, REQUESTED_BALANCES_INVALID, REQUESTED_CURRENCY_INVALID or
//! FIELDS_TO_OMIT_INVALID with `path`; see [`query`]).

mod accounts;
pub mod ledger;
pub mod query;
mod transactions;

use axum::Router;
use axum::extract::FromRef;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;

use super::consent::Consent;
use super::oauth::{AccessToken, TokenKind, authenticate_signed};
use super::resource::{REQUEST_ID_HEADER, ScopeRefusal, echo_request_id, in_tpp_shape, request_id};
use crate::kernel::errors::{IngError, json_response};
use crate::kernel::profiles::{self, Account, AccountKind};
use crate::kernel::verify::Received;
use crate::psd2::Psd2Context;

pub const BALANCES_SCOPE: &str = "payment-accounts:balances:view";
pub const TRANSACTIONS_SCOPE: &str = "payment-accounts:transactions:view";
/// Inference: ING's card-account scope name is not in the seeds.
pub const CARD_TRANSACTIONS_SCOPE: &str = "card-accounts:transactions:view";

/// A token without the AIS scope an endpoint needs: as an account outside the consent, 404
/// RESOURCE_UNKNOWN (ING's AIS spec: 404 "Not Found or Unauthorised"; `/v3/accounts` documents
/// no 403 and answers 404 when "there are no granted accounts at all").
pub const SCOPE_REFUSAL: ScopeRefusal = ScopeRefusal {
    status: StatusCode::NOT_FOUND,
    code: "RESOURCE_UNKNOWN",
};

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Psd2Context: FromRef<S>,
{
    Router::new()
        .route("/v3/accounts", get(accounts::list))
        .route("/v3/accounts/{id}/balances", get(accounts::balances))
        .route(
            "/v3/accounts/{id}/transactions",
            get(transactions::current_account),
        )
        .route(
            "/v2/accounts/{id}/transactions",
            get(transactions::current_account_v2),
        )
        .route(
            "/v1/card-accounts/{id}/transactions",
            get(transactions::card_account),
        )
}

/// An authenticated resource call: the customer's token and consent, and the `X-Request-ID`.
pub struct Caller {
    pub token: AccessToken,
    pub consent: Consent,
    pub request_id: HeaderValue,
}

/// The checks every AIS/CAF call starts with: customer token + HTTP signature (refusals in the
/// `tppMessages` shape), then `X-Request-ID`.
pub fn authenticate(state: &Psd2Context, received: &Received) -> Result<Caller, IngError> {
    let token = authenticate_signed(
        state,
        received.peer.as_ref(),
        &received.headers,
        &received.request,
        TokenKind::Customer,
    )
    .map_err(in_tpp_shape)?;
    let request_id = request_id(&received.headers)?;
    // authenticate_signed only passes customer tokens, which always carry their consent.
    let consent = token.consent.clone().ok_or_else(IngError::internal)?;
    Ok(Caller {
        token,
        consent,
        request_id,
    })
}

/// The account `id` as the consent allows it on a path for `kind` accounts.
pub fn consented_account(
    consent: &Consent,
    id: &str,
    kind: AccountKind,
) -> Result<&'static Account, IngError> {
    let Some((_, _, account)) = profiles::account(id) else {
        return Err(IngError::tpp(
            StatusCode::NOT_FOUND,
            "RESOURCE_UNKNOWN",
            format!("No account with resourceId {id}; take the ids from GET /v3/accounts"),
        ));
    };
    if !consent.account_ids.contains(&account.resource_id) {
        return Err(IngError::tpp(
            StatusCode::NOT_FOUND,
            "RESOURCE_UNKNOWN",
            format!(
                "Account {id} is not part of this consent (granted: {})",
                consent.account_ids.join(", ")
            ),
        ));
    }
    if account.kind != kind {
        let text = match account.kind {
            AccountKind::Card => format!(
                "Account {id} is a card account: its transactions are at \
                 /v1/card-accounts/{id}/transactions (the sandbox serves no card balances)"
            ),
            AccountKind::Current => format!(
                "Account {id} is a payment account: use /v3/accounts/{id}/balances and \
                 /v3/accounts/{id}/transactions"
            ),
        };
        return Err(IngError::tpp(
            StatusCode::NOT_FOUND,
            "RESOURCE_UNKNOWN",
            text,
        ));
    }
    Ok(account)
}

/// The sandbox's today (UTC), from its clock so tests can move it.
pub fn today(state: &Psd2Context) -> NaiveDate {
    state.clock.now_utc().date_naive()
}

/// 200 with `body` and the request's `X-Request-ID`.
pub fn ok_json<T: serde::Serialize>(body: &T, request_id: HeaderValue) -> Response {
    echo_request_id(json_response(StatusCode::OK, body), request_id)
}

/// A handler's answer: refusals carry the request's `X-Request-ID` too, when it had one (the
/// Berlin Group puts it on every response).
pub fn respond(received: &Received, result: Result<Response, IngError>) -> Response {
    match result {
        Ok(response) => response,
        Err(error) => {
            let response = error.into_response();
            // As sent, even when it is the fault (not a UUID).
            match received
                .headers
                .get(&REQUEST_ID_HEADER)
                .filter(|v| !v.is_empty())
            {
                Some(id) => echo_request_id(response, id.clone()),
                None => response,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consent(ids: &[&'static str]) -> Consent {
        Consent {
            grant_id: "g".into(),
            country: "NL",
            profile_id: "van-dijk-mol",
            account_ids: ids.to_vec(),
        }
    }

    const NL: &str = "450ffbb8-9f11-4ec6-a1e1-df48aefc82ef";
    const CARD: &str = "70b7c00c-2506-4766-9d1f-02bb3ac738f4";

    #[test]
    fn accounts_are_checked_against_the_consent_and_the_path() {
        let both = consent(&[NL, CARD]);
        assert!(consented_account(&both, NL, AccountKind::Current).is_ok());
        assert!(consented_account(&both, CARD, AccountKind::Card).is_ok());
        let status =
            |c: &Consent, id: &str, kind| consented_account(c, id, kind).err().map(|e| e.status);
        assert_eq!(
            status(&both, CARD, AccountKind::Current),
            Some(StatusCode::NOT_FOUND)
        );
        assert_eq!(
            status(&both, NL, AccountKind::Card),
            Some(StatusCode::NOT_FOUND)
        );
        assert_eq!(
            status(&both, "nope", AccountKind::Current),
            Some(StatusCode::NOT_FOUND)
        );
        assert_eq!(
            status(&consent(&[CARD]), NL, AccountKind::Current),
            Some(StatusCode::NOT_FOUND),
            "an account outside the consent is not found for this token"
        );
    }
}
