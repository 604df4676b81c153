//! The store of issued access tokens: what a token is (its mode, kind, application, scope,
//! consent), how long it lives, and looking one up.

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use super::expiring::Expiring;

/// What a customer granted: carried by the customer access token and its refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// Links the refresh token and every access token issued from one authorization code.
    pub grant_id: String,
    /// Country code of the consent screen (`NL`).
    pub country: &'static str,
    /// The test profile's id ([`crate::kernel::profiles::profile`]).
    pub profile_id: &'static str,
    /// The granted accounts' resource ids (all of the profile's accounts).
    pub account_ids: Vec<&'static str>,
}

/// How long an application access token is valid (the guide: 900 s).
pub const APP_TOKEN_LIFETIME: Duration = Duration::from_secs(900);
/// What ING answers in `expires_in` for an application token.
pub const APP_TOKEN_EXPIRES_IN: u64 = 905;
/// How long a customer access token is valid (the guide's `expires_in`: 900).
pub const CUSTOMER_TOKEN_LIFETIME: Duration = Duration::from_secs(900);
/// Expired tokens are remembered this long so that using one is reported as "expired" (then
/// as unknown).
pub const EXPIRED_TOKEN_RETENTION: Duration = Duration::from_secs(60 * 60);
/// At most this many access tokens are kept (valid or recently expired); past it the oldest
/// are forgotten, so a long-running sandbox's memory stays bounded.
pub const MAX_TOKENS: usize = 50_000;
pub(crate) const TOKEN_BYTES: usize = 64;
pub const BAD_SIGNATURE_MESSAGE: &str = "Signature could not be successfully verified";

/// How a token was obtained; ING only accepts a token on APIs of the same mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenMode {
    /// `client_credentials` + `client_id` over mutual TLS, no signature (`/oauth2/applications`).
    MtlsOnly,
    /// `client_credentials` signed with an HTTP signature (AIS, PIS, granting).
    HttpSignature,
}

impl fmt::Display for TokenMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenMode::MtlsOnly => "mTLS only (no signature)",
            TokenMode::HttpSignature => "an HTTP signature",
        })
    }
}

/// Which kind of access token an API wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An application access token (`client_credentials`).
    Application,
    /// A customer access token (`authorization_code`, `refresh_token`), carrying a consent.
    Customer,
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenKind::Application => "an application access token",
            TokenKind::Customer => "a customer access token",
        })
    }
}

#[derive(Debug, Clone)]
pub struct AccessToken {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub mode: TokenMode,
    pub issued_at: SystemTime,
    pub expires_at: SystemTime,
    /// `Some` for a customer access token: what the customer granted.
    pub consent: Option<Consent>,
}

impl AccessToken {
    pub fn kind(&self) -> TokenKind {
        if self.consent.is_some() {
            TokenKind::Customer
        } else {
            TokenKind::Application
        }
    }
}

pub enum TokenLookup {
    Valid(AccessToken),
    Expired(AccessToken),
    Unknown,
}

/// Issued access tokens, by token value: forgotten [`EXPIRED_TOKEN_RETENTION`] after they
/// expire, at most [`MAX_TOKENS`].
#[derive(Debug)]
pub struct TokenStore {
    pub(crate) tokens: Mutex<Expiring<AccessToken>>,
}

impl Default for TokenStore {
    fn default() -> Self {
        Self::with_cap(MAX_TOKENS)
    }
}

fn forget_token_at(t: &AccessToken) -> SystemTime {
    t.expires_at
        .checked_add(EXPIRED_TOKEN_RETENTION)
        .unwrap_or(t.expires_at)
}

impl TokenStore {
    pub fn with_cap(cap: usize) -> Self {
        Self {
            tokens: Mutex::new(Expiring::new(cap, forget_token_at)),
        }
    }

    pub fn insert(&self, token: String, record: AccessToken, now: SystemTime) {
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        tokens.insert(token, record, now);
    }

    /// How many tokens are remembered.
    pub fn len(&self) -> usize {
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn lookup(&self, token: &str, now: SystemTime) -> TokenLookup {
        let tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        match tokens.get(token) {
            Some(t) if now < t.expires_at => TokenLookup::Valid(t.clone()),
            Some(t) => TokenLookup::Expired(t.clone()),
            None => TokenLookup::Unknown,
        }
    }

    pub fn revoke(&self, token: &str) -> Option<AccessToken> {
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        tokens.remove(token)
    }

    /// Revokes every customer access token of a grant (its refresh token was revoked).
    pub fn revoke_grant(&self, grant_id: &str) -> usize {
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        let before = tokens.len();
        tokens.retain(|_, t| t.consent.as_ref().is_none_or(|c| c.grant_id != grant_id));
        before - tokens.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_store_tells_expired_from_unknown() {
        let store = TokenStore::default();
        let now = SystemTime::now();
        let record = AccessToken {
            client_id: "c".into(),
            scopes: vec![],
            mode: TokenMode::MtlsOnly,
            issued_at: now,
            expires_at: now + APP_TOKEN_LIFETIME,
            consent: None,
        };
        store.insert("t".into(), record, now);
        assert!(matches!(store.lookup("t", now), TokenLookup::Valid(_)));
        assert!(matches!(
            store.lookup("t", now + APP_TOKEN_LIFETIME),
            TokenLookup::Expired(_)
        ));
        assert!(matches!(store.lookup("x", now), TokenLookup::Unknown));
    }

    #[test]
    fn token_store_forgets_long_expired_tokens_and_is_capped() {
        let store = TokenStore::with_cap(100);
        let start = SystemTime::now();
        let record = |now: SystemTime| AccessToken {
            client_id: "c".into(),
            scopes: vec![],
            mode: TokenMode::MtlsOnly,
            issued_at: now,
            expires_at: now + APP_TOKEN_LIFETIME,
            consent: None,
        };
        for i in 0..1000 {
            store.insert(format!("t{i}"), record(start), start);
        }
        assert_eq!(store.len(), 100, "capped");
        let later = start + APP_TOKEN_LIFETIME + EXPIRED_TOKEN_RETENTION;
        store.insert("new".into(), record(later), later);
        assert_eq!(store.len(), 1, "expired tokens forgotten");
        assert!(matches!(store.lookup("t999", later), TokenLookup::Unknown));
    }
}
