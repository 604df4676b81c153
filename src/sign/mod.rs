//! Signing a planned request per its flow. Pure: bytes, keys and a clock reading in, headers out;
//! no I/O. The same primitives verify, so the embedded sandbox checks with the code that signs.
//!
//! Flows (seed 002's production table): `mtls` adds nothing; `http-signature` adds Date, Digest,
//! any generated request id and a draft-cavage signature; `jws` adds Digest,
//! `TPP-Signature-Certificate` and `x-jws-signature`; `client-assertion` appends an RFC 7523
//! JWT to the form body.

pub mod algorithm;
pub mod client_assertion;
pub mod digest;
pub mod http_signature;
pub mod jws;
pub mod key;
pub mod message;

use crate::plan::PlannedRequest;
use crate::scenario::model::{Flow, SignProfile};
pub use algorithm::{Algorithm, Family};
pub use http_signature::Placement;
pub use key::SigningKey;
use message::{Message, host_of_url, imf_fixdate, request_target_of_url};
use std::time::SystemTime;

/// The header carrying the signing certificate, as the guide's scripts send it.
pub const CERTIFICATE_HEADER: &str = "TPP-Signature-Certificate";
pub const JWS_HEADER: &str = "x-jws-signature";
/// Headers whose value the signer makes up when a profile lists them and the step does not set
/// them: a fresh UUID per send.
const GENERATED_IDS: [(&str, &str); 2] = [
    ("x-request-id", "X-Request-ID"),
    ("x-ing-reqid", "X-ING-ReqID"),
];

/// A request ready to send: the planned request plus whatever its flow added.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedRequest {
    pub request: PlannedRequest,
    pub flow: Flow,
    /// What was signed (the signing string, the JWS or JWT signing input); `None` for mTLS.
    pub signing_input: Option<String>,
}

/// What a send needs besides the request and the profile.
#[derive(Debug, Clone, Copy)]
pub struct SignInputs<'a> {
    /// The certificate and key of the profile's role.
    pub key: Option<&'a SigningKey>,
    /// The profile's rendered `key_id` (http-signature); `SN=<serial>` when `None`.
    pub key_id: Option<&'a str>,
    /// The profile's rendered `audience` (client-assertion); the request URL when `None`.
    pub audience: Option<&'a str>,
    /// The client_id a client assertion is issued by.
    pub client_id: Option<&'a str>,
    pub now: SystemTime,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum SignError {
    #[error(
        "flow `{flow}` signs with the `{role}` certificate, but the environment has no `certs.{role}`"
    )]
    NoKey { flow: &'static str, role: String },
    #[error("algorithm `{alg}` does not belong to flow `{flow}` (use {allowed})")]
    AlgorithmForFlow {
        alg: Algorithm,
        flow: &'static str,
        allowed: &'static str,
    },
    #[error("`{option}` has no meaning for flow `{flow}`")]
    OptionForFlow {
        option: &'static str,
        flow: &'static str,
    },
    #[error("the signed header list is empty")]
    NoHeaders,
    #[error("{0}")]
    Algorithm(#[from] algorithm::AlgorithmError),
    #[error("{0}")]
    HttpSignature(#[from] http_signature::HttpSigError),
    #[error("{0}")]
    Jws(#[from] jws::JwsError),
    #[error("{0}")]
    Assertion(#[from] client_assertion::AssertionError),
    #[error("{0}")]
    Request(String),
    #[error("a client assertion needs a client_id: set `client_id` in the environment")]
    NoClientId,
    #[error(
        "a client assertion goes into a form body (`form:`), but this request's Content-Type is {0}"
    )]
    AssertionNeedsForm(String),
}

/// The certificate role a profile signs with.
pub fn key_role(profile: &SignProfile) -> Option<&str> {
    match profile.flow {
        Flow::Mtls => None,
        _ => Some(profile.cert.as_deref().unwrap_or("signing")),
    }
}

/// Whether a profile is consistent; checked before anything is sent.
pub fn check_profile(profile: &SignProfile) -> Result<(), SignError> {
    let flow = profile.flow.name();
    let (family, allowed) = match profile.flow {
        Flow::Mtls => {
            let stray = [
                ("algorithm", profile.algorithm.is_some()),
                ("key_id", profile.key_id.is_some()),
                ("headers", profile.headers.is_some()),
                ("placement", profile.placement.is_some()),
                ("certificate_header", profile.certificate_header.is_some()),
            ];
            if let Some((option, _)) = stray.iter().find(|(_, set)| *set) {
                return Err(SignError::OptionForFlow { option, flow });
            }
            return Ok(());
        }
        Flow::HttpSignature => (
            Family::HttpSignature,
            "rsa-sha256, ecdsa-sha256, ecdsa-sha384, ecdsa-sha512",
        ),
        Flow::Jws => (Family::Jose, "PS256, PS384, PS512, ES256, ES384, ES512"),
        Flow::ClientAssertion => (Family::Jose, "RS256, PS256"),
    };
    if let Some(alg) = profile.algorithm {
        let fits = alg.family() == family
            && match profile.flow {
                Flow::Jws => !matches!(alg, Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512),
                Flow::ClientAssertion => matches!(alg, Algorithm::RS256 | Algorithm::PS256),
                _ => true,
            };
        if !fits {
            return Err(SignError::AlgorithmForFlow { alg, flow, allowed });
        }
    }
    if profile.headers.as_ref().is_some_and(Vec::is_empty) {
        return Err(SignError::NoHeaders);
    }
    let only = |option: &'static str, set: bool, flows: &[Flow]| {
        if set && !flows.contains(&profile.flow) {
            Err(SignError::OptionForFlow { option, flow })
        } else {
            Ok(())
        }
    };
    only("key_id", profile.key_id.is_some(), &[Flow::HttpSignature])?;
    only(
        "placement",
        profile.placement.is_some(),
        &[Flow::HttpSignature],
    )?;
    only(
        "headers",
        profile.headers.is_some(),
        &[Flow::HttpSignature, Flow::Jws],
    )?;
    only(
        "certificate_header",
        profile.certificate_header.is_some(),
        &[Flow::HttpSignature, Flow::Jws],
    )?;
    only(
        "audience",
        profile.audience.is_some(),
        &[Flow::ClientAssertion],
    )?;
    only(
        "thumbprint",
        profile.thumbprint.is_some(),
        &[Flow::ClientAssertion],
    )?;
    Ok(())
}

/// Signs afresh: call it again for every send, retries included (new Date, sigT, request ids).
pub fn sign(
    mut request: PlannedRequest,
    profile: &SignProfile,
    inputs: &SignInputs<'_>,
) -> Result<SignedRequest, SignError> {
    check_profile(profile)?;
    let flow = profile.flow;
    if flow == Flow::Mtls {
        return Ok(SignedRequest {
            request,
            flow,
            signing_input: None,
        });
    }
    let key = inputs.key.ok_or_else(|| SignError::NoKey {
        flow: flow.name(),
        role: key_role(profile).unwrap_or("signing").to_string(),
    })?;
    let signing_input = match flow {
        Flow::HttpSignature => sign_http(&mut request, profile, inputs, key)?,
        Flow::Jws => sign_jws(&mut request, profile, inputs, key)?,
        Flow::ClientAssertion => attach_assertion(&mut request, profile, inputs, key)?,
        Flow::Mtls => unreachable!("handled above"),
    };
    Ok(SignedRequest {
        request,
        flow,
        signing_input: Some(signing_input),
    })
}

fn sign_http(
    request: &mut PlannedRequest,
    profile: &SignProfile,
    inputs: &SignInputs<'_>,
    key: &SigningKey,
) -> Result<String, SignError> {
    let algorithm = profile
        .algorithm
        .unwrap_or_else(|| Algorithm::default_for(Family::HttpSignature, &key.key));
    let headers = signed_names(profile, &http_signature::DEFAULT_HEADERS);
    add_if_absent(request, "Date", || imf_fixdate(inputs.now));
    let body_digest = digest::sha256_digest(&request.body);
    add_if_absent(request, "Digest", || body_digest);
    add_generated(request, &headers);
    if profile.certificate_header == Some(true) {
        add_if_absent(request, CERTIFICATE_HEADER, || key.cert_one_line.clone());
    }
    let placement = profile
        .placement
        .unwrap_or(if request.header("authorization").is_some() {
            Placement::SignatureHeader
        } else {
            Placement::Authorization
        });
    let key_id = inputs
        .key_id
        .map(str::to_string)
        .unwrap_or_else(|| format!("SN={}", key.serial));
    let target = request_target_of_url(&request.url).map_err(SignError::Request)?;
    let made = http_signature::sign(
        &Message::of(request, &target),
        &key_id,
        algorithm,
        &headers,
        placement,
        &key.key,
    )?;
    // A signature replaces whatever stood in its header before (a re-sign, a stale value).
    request
        .headers
        .retain(|(k, _)| !k.eq_ignore_ascii_case(made.header_name));
    request
        .headers
        .push((made.header_name.to_string(), made.header_value));
    Ok(made.signing_string)
}

fn sign_jws(
    request: &mut PlannedRequest,
    profile: &SignProfile,
    inputs: &SignInputs<'_>,
    key: &SigningKey,
) -> Result<String, SignError> {
    let algorithm = profile
        .algorithm
        .unwrap_or_else(|| Algorithm::default_for(Family::Jose, &key.key));
    let pars = signed_names(profile, &jws::DEFAULT_PARS);
    let body_digest = digest::sha256_digest(&request.body);
    add_if_absent(request, "Digest", || body_digest);
    if pars.iter().any(|p| p == "date") {
        add_if_absent(request, "Date", || imf_fixdate(inputs.now));
    }
    add_generated(request, &pars);
    if profile.certificate_header != Some(false) {
        add_if_absent(request, CERTIFICATE_HEADER, || key.cert_one_line.clone());
    }
    let target = request_target_of_url(&request.url).map_err(SignError::Request)?;
    let made = jws::sign(
        &Message::of(request, &target),
        algorithm,
        &pars,
        &key.x5t_s256,
        inputs.now,
        &key.key,
    )?;
    request
        .headers
        .retain(|(k, _)| !k.eq_ignore_ascii_case(JWS_HEADER));
    request.headers.push((JWS_HEADER.to_string(), made.value));
    Ok(made.signing_input)
}

fn attach_assertion(
    request: &mut PlannedRequest,
    profile: &SignProfile,
    inputs: &SignInputs<'_>,
    key: &SigningKey,
) -> Result<String, SignError> {
    let content_type = request
        .header("content-type")
        .unwrap_or("(none)")
        .to_string();
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return Err(SignError::AssertionNeedsForm(content_type));
    }
    let client_id = inputs.client_id.ok_or(SignError::NoClientId)?;
    let thumbprint = profile.thumbprint.unwrap_or_default();
    let url_without_query = request
        .url
        .split('?')
        .next()
        .unwrap_or_default()
        .to_string();
    let jti = uuid::Uuid::new_v4().to_string();
    let spec = client_assertion::AssertionSpec {
        algorithm: profile.algorithm.unwrap_or(Algorithm::RS256),
        client_id,
        audience: inputs.audience.unwrap_or(&url_without_query),
        jti: &jti,
        thumbprint,
        thumbprint_value: match thumbprint {
            client_assertion::Thumbprint::X5t => &key.x5t,
            client_assertion::Thumbprint::X5tS256 => &key.x5t_s256,
        },
        now: inputs.now,
        lifetime: client_assertion::DEFAULT_LIFETIME,
    };
    let made = client_assertion::sign(&spec, &key.key)?;
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("client_assertion_type", client_assertion::ASSERTION_TYPE);
    form.append_pair("client_assertion", &made.jwt);
    if !request.body.is_empty() {
        request.body.push(b'&');
    }
    request.body.extend_from_slice(form.finish().as_bytes());
    Ok(made.signing_input)
}

/// The profile's header list (lower-case) or the flow's default.
fn signed_names(profile: &SignProfile, default: &[&str]) -> Vec<String> {
    match &profile.headers {
        Some(list) => list.iter().map(|h| h.to_ascii_lowercase()).collect(),
        None => default.iter().map(|h| h.to_string()).collect(),
    }
}

fn add_if_absent(request: &mut PlannedRequest, name: &str, value: impl FnOnce() -> String) {
    if request.header(name).is_none() {
        let value = value();
        request.headers.push((name.to_string(), value));
    }
}

/// Adds the request-id headers and `Host` a header list names but the step did not set.
fn add_generated(request: &mut PlannedRequest, names: &[String]) {
    for (lower, wire) in GENERATED_IDS {
        if names.iter().any(|n| n == lower) {
            add_if_absent(request, wire, || uuid::Uuid::new_v4().to_string());
        }
    }
    if names.iter().any(|n| n == "host")
        && let Some(host) = host_of_url(&request.url)
    {
        add_if_absent(request, "Host", || host);
    }
}
