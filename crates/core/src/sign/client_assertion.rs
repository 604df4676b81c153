//! RFC 7523 client assertions: a JWT signed with the certificate's key that authenticates an
//! OAuth2 client instead of a client secret (`client_assertion_type=…jwt-bearer`).

use super::algorithm::Algorithm;
use super::message::skew_secs;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::pkey::{HasPublic, PKeyRef, Private};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// How long an assertion is valid when the profile does not say.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// Which certificate thumbprint names the key in the JWT header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
pub enum Thumbprint {
    /// SHA-1 (`x5t`), what Azure AD style token endpoints expect.
    #[default]
    #[serde(rename = "x5t")]
    X5t,
    /// SHA-256 (`x5t#S256`).
    #[serde(rename = "x5t#S256")]
    X5tS256,
}

impl Thumbprint {
    pub fn header_name(self) -> &'static str {
        match self {
            Thumbprint::X5t => "x5t",
            Thumbprint::X5tS256 => "x5t#S256",
        }
    }
}

/// What goes into an assertion.
#[derive(Debug, Clone)]
pub struct AssertionSpec<'a> {
    pub algorithm: Algorithm,
    pub client_id: &'a str,
    pub audience: &'a str,
    pub jti: &'a str,
    pub thumbprint: Thumbprint,
    /// The thumbprint value of the signing certificate for `thumbprint`.
    pub thumbprint_value: &'a str,
    pub now: SystemTime,
    pub lifetime: Duration,
}

#[derive(Debug, Clone)]
pub struct ClientAssertion {
    pub jwt: String,
    pub signing_input: String,
}

pub fn sign(
    spec: &AssertionSpec<'_>,
    key: &PKeyRef<Private>,
) -> Result<ClientAssertion, AssertionError> {
    if !matches!(spec.algorithm, Algorithm::RS256 | Algorithm::PS256) {
        return Err(AssertionError::Algorithm(spec.algorithm.name().into()));
    }
    let iat = unix(spec.now);
    let header = json!({
        "alg": spec.algorithm.name(),
        "typ": "JWT",
        spec.thumbprint.header_name(): spec.thumbprint_value,
    });
    let claims = json!({
        "iss": spec.client_id,
        "sub": spec.client_id,
        "aud": spec.audience,
        "jti": spec.jti,
        "iat": iat,
        "nbf": iat,
        "exp": iat + spec.lifetime.as_secs(),
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = spec
        .algorithm
        .sign(key, signing_input.as_bytes())
        .map_err(|e| AssertionError::Key(e.to_string()))?;
    Ok(ClientAssertion {
        jwt: format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)),
        signing_input,
    })
}

/// The verified claims of an assertion.
#[derive(Debug, Clone)]
pub struct VerifiedAssertion {
    pub client_id: String,
    pub jti: String,
    pub header: Value,
}

/// Verifies signature, iss = sub = `client_id`, aud, exp/nbf (with `leeway`) and the thumbprint.
pub fn verify<T: HasPublic>(
    jwt: &str,
    key: &PKeyRef<T>,
    thumbprints: (&str, &str),
    client_id: &str,
    audience: &str,
    now: SystemTime,
    leeway: Duration,
) -> Result<VerifiedAssertion, AssertionError> {
    let [h, c, s] = compact_parts(jwt)?;
    let header = decode_part(h, "header")?;
    let claims = decode_part(c, "claim set")?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let algorithm = Algorithm::from_name(alg)
        .filter(|a| matches!(a, Algorithm::RS256 | Algorithm::PS256))
        .ok_or_else(|| AssertionError::Algorithm(alg.into()))?;
    let (x5t, x5t_s256) = thumbprints;
    let named = header.get("x5t").and_then(Value::as_str) == Some(x5t)
        || header.get("x5t#S256").and_then(Value::as_str) == Some(x5t_s256);
    if !named {
        return Err(AssertionError::Thumbprint);
    }
    let signature = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| AssertionError::Malformed("the signature is not base64url".into()))?;
    if !algorithm.verify(key, format!("{h}.{c}").as_bytes(), &signature) {
        return Err(AssertionError::BadSignature);
    }
    let text = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or_default();
    if text("iss") != client_id || text("sub") != client_id {
        return Err(AssertionError::Claim(format!(
            "iss and sub must both be the client_id {client_id}"
        )));
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == audience,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    };
    if !aud_ok {
        return Err(AssertionError::Claim(format!("aud must be {audience}")));
    }
    let now_secs = unix(now);
    let exp = claims
        .get("exp")
        .and_then(Value::as_u64)
        .ok_or_else(|| AssertionError::Claim("exp is missing".into()))?;
    if now_secs > exp.saturating_add(leeway.as_secs()) {
        return Err(AssertionError::Expired {
            by: skew_secs(now, UNIX_EPOCH + Duration::from_secs(exp)),
        });
    }
    if let Some(nbf) = claims.get("nbf").and_then(Value::as_u64)
        && nbf > now_secs.saturating_add(leeway.as_secs())
    {
        return Err(AssertionError::Claim("nbf is in the future".into()));
    }
    if text("jti").is_empty() {
        return Err(AssertionError::Claim("jti is missing".into()));
    }
    Ok(VerifiedAssertion {
        client_id: client_id.to_string(),
        jti: text("jti").to_string(),
        header,
    })
}

/// The claim set of an assertion, NOT verified: for a verifier that must read a claim (say which
/// `aud` the client used) before it can call [`verify`].
pub fn unverified_claims(jwt: &str) -> Result<Value, AssertionError> {
    let [_, claims, _] = compact_parts(jwt)?;
    decode_part(claims, "claim set")
}

fn compact_parts(jwt: &str) -> Result<[&str; 3], AssertionError> {
    let parts: Vec<&str> = jwt.split('.').collect();
    <[&str; 3]>::try_from(parts.as_slice())
        .map_err(|_| AssertionError::Malformed("not a compact JWT (three parts)".into()))
}

fn decode_part(part: &str, what: &str) -> Result<Value, AssertionError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| AssertionError::Malformed(format!("the {what} is not base64url")))?;
    serde_json::from_slice(&bytes)
        .map_err(|_| AssertionError::Malformed(format!("the {what} is not JSON")))
}

fn unix(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    #[error("malformed client assertion: {0}")]
    Malformed(String),
    #[error("client assertions are signed with RS256 or PS256, not `{0}`")]
    Algorithm(String),
    #[error("the assertion's x5t / x5t#S256 does not name the client's certificate")]
    Thumbprint,
    #[error("the assertion's signature does not verify with the certificate's key")]
    BadSignature,
    #[error("the assertion expired {by} s ago")]
    Expired { by: u64 },
    #[error("{0}")]
    Claim(String),
    #[error("cannot sign: {0}")]
    Key(String),
}
