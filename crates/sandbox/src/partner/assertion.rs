//! RFC 7523 client assertions at the partner token endpoint (the certificate credential of an
//! Azure AD application): an RS256/PS256 JWT naming the partner's registered signing certificate
//! by `x5t` or `x5t#S256`, issued by and about the client, for this token endpoint, short-lived
//! and used once.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::PartnerState;
use super::TOKEN_PATH;
use super::problem::{Kind, Problem};
use crate::kernel::expiring::Expiring;
use obconform_core::sign::client_assertion::{self, AssertionError};

/// How far `nbf` and `iat` may lie ahead of the sandbox clock (clients' clocks drift).
pub const CLOCK_SKEW: Duration = Duration::from_secs(60);
/// The longest validity accepted, `exp` minus `iat` (Azure AD: 10 minutes).
pub const MAX_LIFETIME: Duration = Duration::from_secs(600);

/// The `jti`s seen, each kept until its assertion has expired (a replay after that fails on
/// `exp` anyway).
/// At most this many `jti`s are remembered (an assertion lives at most [`MAX_LIFETIME`]: the
/// cap is only reached above ≈ 80 assertions a second).
pub const MAX_JTIS: usize = 50_000;

#[derive(Debug)]
pub struct JtiStore {
    seen: Mutex<Expiring<SystemTime>>,
}

impl Default for JtiStore {
    fn default() -> Self {
        Self {
            seen: Mutex::new(Expiring::new(MAX_JTIS, |until| *until)),
        }
    }
}

impl JtiStore {
    /// Records `jti` (valid until `exp`, seconds since the epoch); false if it was used before.
    pub fn first_use(&self, jti: &str, exp: u64, now: u64) -> bool {
        let at = |secs: u64| UNIX_EPOCH + Duration::from_secs(secs);
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let now = at(now);
        seen.prune(now);
        if seen.contains_key(jti) {
            return false;
        }
        // Kept one second past `exp`: an assertion is still valid in its `exp` second.
        seen.insert(jti.to_owned(), at(exp.saturating_add(1)), now);
        true
    }
}

/// Verifies `jwt` as the partner's client assertion; `client_id` is the form's, if sent.
/// Returns the client_id it authenticates.
pub fn authenticate(
    partner: &PartnerState,
    jwt: &str,
    client_id: Option<&str>,
    now: SystemTime,
) -> Result<String, Problem> {
    let expected = partner.credentials.client_id.as_str();
    if let Some(id) = client_id
        && id != expected
    {
        return Err(invalid(format!("Unknown client_id '{id}'")));
    }
    let claims = client_assertion::unverified_claims(jwt).map_err(|e| invalid(e.to_string()))?;
    // The host is whatever the client reached the sandbox by: only the path is checked.
    let audience = audience_for_token_endpoint(&claims).ok_or_else(|| {
        invalid(format!(
            "aud must be the token endpoint's URL, https://<host>{TOKEN_PATH} (got {})",
            claims.get("aud").map_or("nothing".into(), Value::to_string)
        ))
    })?;
    let key = partner.signing_cert.public_key();
    let thumbprints = (
        partner.signing_x5t.as_str(),
        partner.signing_cert.x5t_s256(),
    );
    let verified = client_assertion::verify(
        jwt,
        key,
        thumbprints,
        expected,
        &audience,
        now,
        CLOCK_SKEW,
    )
    .map_err(|e| match e {
        AssertionError::Thumbprint => invalid(format!(
            "{e}: x5t (or x5t#S256) must be the thumbprint of the partner's registered signing \
             certificate"
        )),
        other => invalid(other.to_string()),
    })?;
    let now_secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let number = |name: &str| claims.get(name).and_then(Value::as_u64);
    // verify() allows CLOCK_SKEW past exp; the partner API wants exp still ahead.
    let exp = number("exp").ok_or_else(|| invalid("exp is missing"))?;
    if exp <= now_secs {
        return Err(invalid(format!(
            "The assertion expired {} s ago (exp {exp})",
            now_secs - exp
        )));
    }
    let issued = match number("iat") {
        Some(iat) if iat > now_secs.saturating_add(CLOCK_SKEW.as_secs()) => {
            return Err(invalid(format!(
                "iat is {} s in the future",
                iat - now_secs
            )));
        }
        Some(iat) => iat,
        None => number("nbf").unwrap_or(now_secs),
    };
    let lifetime = exp.saturating_sub(issued);
    if lifetime > MAX_LIFETIME.as_secs() {
        return Err(invalid(format!(
            "The assertion is valid for {lifetime} s (exp - iat); at most {} s are accepted",
            MAX_LIFETIME.as_secs()
        )));
    }
    if !partner.assertions.first_use(&verified.jti, exp, now_secs) {
        return Err(invalid(format!(
            "The assertion's jti '{}' was used before: make a new assertion (new jti) for every \
             token request",
            verified.jti
        )));
    }
    Ok(verified.client_id)
}

/// The `aud` value (a string, or one of an array) whose URL path is the token endpoint's.
fn audience_for_token_endpoint(claims: &Value) -> Option<String> {
    let is_ours = |aud: &str| {
        reqwest::Url::parse(aud).is_ok_and(|url| url.path().trim_end_matches('/') == TOKEN_PATH)
    };
    match claims.get("aud")? {
        Value::String(aud) => is_ours(aud).then(|| aud.clone()),
        Value::Array(list) => list
            .iter()
            .filter_map(Value::as_str)
            .find(|aud| is_ours(aud))
            .map(str::to_owned),
        _ => None,
    }
}

fn invalid(detail: impl Into<String>) -> Problem {
    Problem::new(
        Kind::InvalidClient,
        format!("Invalid client assertion: {}", detail.into()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_audience_is_any_host_with_the_token_path() {
        let aud = |v: Value| audience_for_token_endpoint(&json!({ "aud": v }));
        assert_eq!(
            aud(json!("https://127.0.0.1:8443/token-api/oauth2/token")).as_deref(),
            Some("https://127.0.0.1:8443/token-api/oauth2/token")
        );
        assert!(
            aud(json!(
                "https://api.openbusiness.ing.de/token-api/oauth2/token"
            ))
            .is_some()
        );
        assert_eq!(
            aud(json!([
                "https://x/other",
                "http://h/token-api/oauth2/token"
            ]))
            .as_deref(),
            Some("http://h/token-api/oauth2/token")
        );
        assert_eq!(aud(json!("https://127.0.0.1:8443/oauth2/token")), None);
        assert_eq!(aud(json!("/token-api/oauth2/token")), None);
        assert_eq!(aud(json!(42)), None);
        assert_eq!(audience_for_token_endpoint(&json!({})), None);
    }

    #[test]
    fn a_jti_is_good_once_until_its_assertion_expires() {
        let store = JtiStore::default();
        assert!(store.first_use("a", 1_100, 1_000));
        assert!(!store.first_use("a", 1_100, 1_050));
        assert!(store.first_use("b", 1_100, 1_050));
        // Forgotten once expired (exp itself then refuses it).
        assert!(store.first_use("a", 1_300, 1_200));
    }
}
