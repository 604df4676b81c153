//! What granting leaves behind: authorization codes (single use, 10 minutes), refresh grants
//! and old-flow sessions, and redeeming a code.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use axum::http::StatusCode;

use crate::kernel::errors::{IngError, diagnosis};
use crate::kernel::expiring::Expiring;
use crate::psd2::Psd2Context;

pub use crate::kernel::tokens::Consent;

use super::*;

/// How long an authorization code may be exchanged (the guide: 10 minutes).
pub const CODE_LIFETIME: Duration = Duration::from_secs(600);
/// How long a refresh token is valid (`refresh_token_expires_in`).
pub const REFRESH_TOKEN_LIFETIME: Duration = Duration::from_secs(2_592_000);
/// Used, expired and revoked codes and refresh tokens are remembered this long, so that using
/// one again is reported as such rather than as unknown.
pub(super) const RETENTION: Duration = Duration::from_secs(60 * 60);
/// At most this many authorization codes are kept; past it the oldest are forgotten.
pub const MAX_CODES: usize = 10_000;
/// At most this many refresh tokens are kept; past it the oldest are forgotten.
pub const MAX_REFRESH_TOKENS: usize = 50_000;
/// At most this many old-flow sessions are kept; past it the oldest are forgotten.
pub const MAX_SESSIONS: usize = 10_000;
pub(super) const CODE_BYTES: usize = 64;

/// An issued authorization code.
#[derive(Debug, Clone)]
pub struct AuthorizationCode {
    pub client_id: String,
    pub scopes: Vec<String>,
    /// The `redirect_uri` of the consent request, if it had one.
    pub redirect_uri: Option<String>,
    /// Where the customer was sent back to (the given or the single registered redirect URI).
    pub effective_redirect_uri: String,
    pub country: &'static str,
    pub profile_id: &'static str,
    pub account_ids: Vec<&'static str>,
    pub issued_at: SystemTime,
    pub expires_at: SystemTime,
    /// Through the old flow (`/granting/<uuid>/…`).
    pub legacy: bool,
    pub(super) used: bool,
}

/// A refresh token's grant.
#[derive(Debug, Clone)]
pub struct RefreshGrant {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub consent: Consent,
    pub expires_at: SystemTime,
    pub revoked: bool,
}

/// What `GET /oauth2/authorization-server-url` handed out.
#[derive(Debug, Clone)]
pub struct LegacySession {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub redirect_uri: String,
    pub country: Option<&'static str>,
}

/// Authorization codes, refresh tokens, old-flow sessions and which clients used the old flow.
#[derive(Debug, Default)]
pub struct GrantStore {
    pub(super) inner: Mutex<Grants>,
}

#[derive(Debug)]
pub(super) struct Grants {
    pub(super) codes: Expiring<AuthorizationCode>,
    pub(super) refresh: Expiring<RefreshGrant>,
    pub(super) sessions: Expiring<LegacySession>,
    pub(super) legacy_clients: HashSet<String>,
}

fn forget_at(expires_at: SystemTime) -> SystemTime {
    expires_at.checked_add(RETENTION).unwrap_or(expires_at)
}

impl Default for Grants {
    fn default() -> Self {
        Grants {
            codes: Expiring::new(MAX_CODES, |c| forget_at(c.expires_at)),
            refresh: Expiring::new(MAX_REFRESH_TOKENS, |g| forget_at(g.expires_at)),
            // Sessions carry no time: only the cap forgets them.
            sessions: Expiring::new(MAX_SESSIONS, |_| SystemTime::UNIX_EPOCH + NEVER),
            legacy_clients: HashSet::new(),
        }
    }
}

/// "Not by time" for entries only the cap forgets (≈ 136 years after the epoch).
const NEVER: Duration = Duration::from_secs(u32::MAX as u64);

impl GrantStore {
    pub(super) fn lock(&self) -> MutexGuard<'_, Grants> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores a code (and forgets codes long expired).
    pub fn insert_code(&self, code: String, record: AuthorizationCode, now: SystemTime) {
        let mut grants = self.lock();
        grants.codes.insert(code, record, now);
    }

    /// Redeems a code once: unknown, used and expired codes are refused; `check` (client and
    /// redirect rules) runs before the code is spent, so a refused exchange leaves it usable.
    pub fn redeem_code(
        &self,
        code: &str,
        now: SystemTime,
        check: impl FnOnce(&AuthorizationCode) -> Result<(), IngError>,
    ) -> Result<AuthorizationCode, IngError> {
        let mut grants = self.lock();
        let record = grants.codes.get_mut(code).ok_or_else(|| {
            invalid_grant("The authorization code is unknown (it was never issued by this bank)")
        })?;
        if record.used {
            return Err(invalid_grant(
                "The authorization code has already been used; a code is single-use: \
                 request a new one through the consent screen",
            )
            .with_diagnosis(diagnosis::CODE_EXPIRED));
        }
        if now >= record.expires_at {
            return Err(invalid_grant(format!(
                "The authorization code has expired: it is valid for {} s after issuing; \
                 request a new one through the consent screen",
                CODE_LIFETIME.as_secs()
            ))
            .with_diagnosis(diagnosis::CODE_EXPIRED));
        }
        check(record)?;
        record.used = true;
        Ok(record.clone())
    }

    pub fn insert_refresh(&self, token: String, grant: RefreshGrant, now: SystemTime) {
        let mut grants = self.lock();
        grants.refresh.insert(token, grant, now);
    }

    /// A valid refresh token of `client_id`; its validity starts again (sliding
    /// `refresh_token_expires_in`). Refused: unknown, another client's, revoked, expired.
    pub fn use_refresh(
        &self,
        token: &str,
        client_id: &str,
        now: SystemTime,
    ) -> Result<RefreshGrant, IngError> {
        let mut grants = self.lock();
        let grant = grants
            .refresh
            .get_mut(token)
            .ok_or_else(|| invalid_grant("The refresh token is unknown"))?;
        if grant.client_id != client_id {
            return Err(invalid_grant(format!(
                "The refresh token was issued to another client, not to {client_id}"
            )));
        }
        if grant.revoked {
            return Err(invalid_grant(
                "The refresh token has been revoked (POST /oauth2/token/revoke); the customer \
                 has to grant access again",
            )
            .with_diagnosis(diagnosis::TOKEN_EXPIRED));
        }
        if now >= grant.expires_at {
            return Err(invalid_grant(format!(
                "The refresh token has expired (valid for {} s); the customer has to grant \
                 access again",
                REFRESH_TOKEN_LIFETIME.as_secs()
            ))
            .with_diagnosis(diagnosis::TOKEN_EXPIRED));
        }
        grant.expires_at = now.checked_add(REFRESH_TOKEN_LIFETIME).unwrap_or(now);
        Ok(grant.clone())
    }

    /// Revokes a refresh token of `client_id`: `Ok(Some(grant id))` when it was one, `Ok(None)`
    /// when the token is no refresh token, an error when it is another client's.
    pub fn revoke_refresh(&self, token: &str, client_id: &str) -> Result<Option<String>, IngError> {
        let mut grants = self.lock();
        let Some(grant) = grants.refresh.get_mut(token) else {
            return Ok(None);
        };
        if grant.client_id != client_id {
            return Err(IngError::oauth(
                StatusCode::BAD_REQUEST,
                format!("The token was issued to another client, not to {client_id}"),
            ));
        }
        grant.revoked = true;
        Ok(Some(grant.consent.grant_id.clone()))
    }

    pub fn insert_session(&self, id: String, session: LegacySession) {
        // Sessions carry no time: the epoch as "now" forgets none by time.
        self.lock()
            .sessions
            .insert(id, session, SystemTime::UNIX_EPOCH);
    }

    pub fn session(&self, id: &str) -> Option<LegacySession> {
        self.lock().sessions.get(id).cloned()
    }

    /// Records that `client_id` used the old granting flow.
    pub fn mark_legacy_flow(&self, client_id: &str) {
        self.lock().legacy_clients.insert(client_id.to_owned());
    }

    pub fn used_legacy_flow(&self, client_id: &str) -> bool {
        self.lock().legacy_clients.contains(client_id)
    }
}

/// ING's OAuth error shape with an OAuth error code first (`invalid_grant: …`).
pub(super) fn invalid_grant(message: impl Into<String>) -> IngError {
    IngError::oauth(
        StatusCode::BAD_REQUEST,
        format!("invalid_grant: {}", message.into()),
    )
}

/// The code exchange's rules, in order: the code (unknown → 400; used or expired → 400
/// `flow.code-expired`), the client (the code's own), and `redirect_uri` — required when the
/// application registered redirect URIs with PUT and also used the old flow (the guide's
/// migration rule: 400 `flow.redirect-uri-required`), and when sent equal to the consent
/// request's (or, if that had none, to the redirect URI the customer was sent to).
pub fn redeem_code(
    state: &Psd2Context,
    client_id: &str,
    code: &str,
    redirect_uri: Option<&str>,
) -> Result<AuthorizationCode, IngError> {
    let now = state.clock.now();
    let migration = state.apps().redirect_uris_registered_by_put(client_id)
        && state.psd2.grants.used_legacy_flow(client_id);
    state.psd2.grants.redeem_code(code, now, |record| {
        if record.client_id != client_id {
            return Err(invalid_grant(format!(
                "The authorization code was issued to another client, not to {client_id}"
            )));
        }
        match redirect_uri {
            None if migration => Err(IngError::oauth(
                StatusCode::BAD_REQUEST,
                format!(
                    "redirect_uri is required: client_id {client_id} registered redirect URIs \
                     with PUT /oauth2/applications/{client_id} and also uses the old flow \
                     (GET /oauth2/authorization-server-url), so the code exchange must name the \
                     redirect_uri of the consent request"
                ),
            )
            .with_diagnosis(diagnosis::REDIRECT_URI_REQUIRED)),
            None => Ok(()),
            Some(sent) => {
                let expected = record
                    .redirect_uri
                    .as_deref()
                    .unwrap_or(&record.effective_redirect_uri);
                if same_uri(sent, expected) {
                    Ok(())
                } else {
                    Err(invalid_grant(format!(
                        "redirect_uri `{sent}` is not the redirect URI of the consent request \
                         (`{expected}`)"
                    ))
                    .with_diagnosis(diagnosis::REDIRECT_URI_MISMATCH))
                }
            }
        }
    })
}
