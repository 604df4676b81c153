//! Signing a step's request per its signing profile: the profile's flow picks the core primitive
//! (draft-cavage, detached JWS, client assertion) and this adds what that flow puts on the wire
//! (Date, Digest, generated request ids, the certificate header). Pure: bytes, keys and a clock
//! reading in, headers out.

use crate::scenario::model::{Flow, SignProfile};
use obconform_core::sign::message::{
    Message, host_of_url, imf_fixdate, request_target_of_url, target_without_prefix,
};
use obconform_core::sign::{
    Algorithm, CERTIFICATE_HEADER, Family, JWS_HEADER, Placement, SigningKey, algorithm,
    client_assertion, digest, http_signature, jws,
};
use obconform_core::wire::HttpRequest;
use std::time::SystemTime;

/// Headers whose value the signer makes up when a profile lists them and the step does not set
/// them: a fresh UUID per send.
const GENERATED_IDS: [(&str, &str); 2] = [
    ("x-request-id", "X-Request-ID"),
    ("x-ing-reqid", "X-ING-ReqID"),
];

/// A request ready to send: the planned request plus whatever its flow added.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedRequest {
    pub request: HttpRequest,
    pub flow: Flow,
    /// What was signed (the signing string, the JWS or JWT signing input); `None` for mTLS.
    /// After a signing-fault mutation, the faulty input that was really signed.
    pub signing_input: Option<String>,
}

impl SignedRequest {
    /// A request sent as planned, with no message signature (the TLS identity authenticates,
    /// or nothing does: a browser's request).
    pub fn unsigned(request: HttpRequest) -> Self {
        Self {
            request,
            flow: Flow::Mtls,
            signing_input: None,
        }
    }
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
    #[error(
        "request_target_omits `{0}` must be a path prefix starting with `/`, such as `/partner-api`"
    )]
    RequestTargetPrefix(String),
    #[error(
        "request_target_omits `{prefix}`, but the request target `{target}` does not start with it"
    )]
    RequestTargetLacksPrefix { prefix: String, target: String },
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
                (
                    "request_target_omits",
                    profile.request_target_omits.is_some(),
                ),
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
        "request_target_omits",
        profile.request_target_omits.is_some(),
        &[Flow::HttpSignature],
    )?;
    if let Some(prefix) = &profile.request_target_omits
        && (!prefix.starts_with('/') || prefix.trim_end_matches('/').is_empty())
    {
        return Err(SignError::RequestTargetPrefix(prefix.clone()));
    }
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
    mut request: HttpRequest,
    profile: &SignProfile,
    inputs: &SignInputs<'_>,
) -> Result<SignedRequest, SignError> {
    check_profile(profile)?;
    let flow = profile.flow;
    let key = || {
        inputs.key.ok_or_else(|| SignError::NoKey {
            flow: flow.name(),
            role: key_role(profile).unwrap_or("signing").to_string(),
        })
    };
    let signing_input = match flow {
        Flow::Mtls => None,
        Flow::HttpSignature => Some(sign_http(&mut request, profile, inputs, key()?)?),
        Flow::Jws => Some(sign_jws(&mut request, profile, inputs, key()?)?),
        Flow::ClientAssertion => Some(attach_assertion(&mut request, profile, inputs, key()?)?),
    };
    Ok(SignedRequest {
        request,
        flow,
        signing_input,
    })
}

fn sign_http(
    request: &mut HttpRequest,
    profile: &SignProfile,
    inputs: &SignInputs<'_>,
    key: &SigningKey,
) -> Result<String, SignError> {
    let algorithm = profile
        .algorithm
        .unwrap_or_else(|| Algorithm::default_for(Family::HttpSignature, &key.key));
    let headers = signed_names(profile, &http_signature::DEFAULT_HEADERS);
    add_if_absent(request, "Date", || imf_fixdate(inputs.now));
    add_digest(request);
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
    let key_id = inputs.key_id.unwrap_or(&key.key_id);
    let mut target = request_target_of_url(&request.url).map_err(SignError::Request)?;
    if let Some(prefix) = &profile.request_target_omits {
        target = target_without_prefix(&target, prefix).ok_or_else(|| {
            SignError::RequestTargetLacksPrefix {
                prefix: prefix.clone(),
                target: target.clone(),
            }
        })?;
    }
    let made = http_signature::sign(
        &Message::of(request, &target),
        key_id,
        algorithm,
        &headers,
        placement,
        &key.key,
    )?;
    replace_header(request, made.header_name, made.header_value);
    Ok(made.signing_string)
}

fn sign_jws(
    request: &mut HttpRequest,
    profile: &SignProfile,
    inputs: &SignInputs<'_>,
    key: &SigningKey,
) -> Result<String, SignError> {
    let algorithm = profile
        .algorithm
        .unwrap_or_else(|| Algorithm::default_for(Family::Jose, &key.key));
    let pars = signed_names(profile, &jws::DEFAULT_PARS);
    add_digest(request);
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
    replace_header(request, JWS_HEADER, made.value);
    Ok(made.signing_input)
}

fn attach_assertion(
    request: &mut HttpRequest,
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

/// A signature replaces whatever stood in its header before (a re-sign, a stale value).
pub(crate) fn replace_header(request: &mut HttpRequest, name: &str, value: String) {
    request
        .headers
        .retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    request.headers.push((name.to_string(), value));
}

/// `Digest` of the exact body bytes, unless the step set one (a negative test may).
fn add_digest(request: &mut HttpRequest) {
    let body_digest = digest::sha256_digest(&request.body);
    add_if_absent(request, "Digest", || body_digest);
}

fn add_if_absent(request: &mut HttpRequest, name: &str, value: impl FnOnce() -> String) {
    if request.header(name).is_none() {
        let value = value();
        request.headers.push((name.to_string(), value));
    }
}

/// Adds the request-id headers and `Host` a header list names but the step did not set.
fn add_generated(request: &mut HttpRequest, names: &[String]) {
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

#[cfg(test)]
mod tests {
    use super::*;

    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;

    use std::time::{Duration, UNIX_EPOCH};

    fn test_key() -> SigningKey {
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let cert =
            obconform_core::certs::self_signed::self_signed(&key, "test", "49BA5C71", 30, vec![]);
        SigningKey::new(cert.unwrap(), key)
    }

    fn token_request() -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            url: "https://127.0.0.1:8443/oauth2/token".into(),
            headers: vec![(
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            body: b"grant_type=client_credentials".to_vec(),
        }
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn inputs(key: &SigningKey, now: SystemTime) -> SignInputs<'_> {
        SignInputs {
            key: Some(key),
            key_id: None,
            audience: None,
            client_id: Some("5ca1ab1e-c0ca-c01a-cafe-154deadbea75"),
            now,
        }
    }

    fn http_profile() -> SignProfile {
        SignProfile {
            flow: Flow::HttpSignature,
            certificate_header: Some(true),
            ..SignProfile::default()
        }
    }

    #[test]
    fn mtls_adds_nothing_and_keeps_the_bytes() {
        let key = test_key();
        let signed = sign(
            token_request(),
            &SignProfile::default(),
            &inputs(&key, at(0)),
        )
        .unwrap();
        assert_eq!(signed.request, token_request());
        assert_eq!(signed.signing_input, None);
    }

    #[test]
    fn app_token_signature_is_what_the_guide_sends() {
        let key = test_key();
        let now = at(1_573_821_692); // Fri, 15 Nov 2019 12:41:32 GMT
        let signed = sign(token_request(), &http_profile(), &inputs(&key, now)).unwrap();
        let request = &signed.request;
        assert_eq!(
            request.header("Date"),
            Some("Fri, 15 Nov 2019 12:41:32 GMT")
        );
        assert_eq!(
            request.header("Digest"),
            Some("SHA-256=w0mymuL8aCrbJmmabs1pytZhon8lQucTuJMUtuKr+uw=")
        );
        assert_eq!(
            signed.signing_input.as_deref(),
            Some(
                "(request-target): post /oauth2/token\ndate: Fri, 15 Nov 2019 12:41:32 GMT\ndigest: SHA-256=w0mymuL8aCrbJmmabs1pytZhon8lQucTuJMUtuKr+uw="
            )
        );
        let authorization = request.header("Authorization").unwrap();
        assert!(
            authorization.starts_with(
                r#"Signature keyId="SN=49BA5C71",algorithm="rsa-sha256",headers="(request-target) date digest",signature=""#
            ),
            "{authorization}"
        );
        let certificate = request.header(CERTIFICATE_HEADER).unwrap();
        assert!(certificate.starts_with("-----BEGIN CERTIFICATE-----MII"));
        assert!(!certificate.contains('\n'));
        // And it verifies with the certificate, as the sandbox will check it.
        let target = "/oauth2/token";
        let message = Message::of(request, target);
        let (placement, params) = http_signature::locate(&message).unwrap();
        assert_eq!(placement, Placement::Authorization);
        let policy = http_signature::Policy {
            required: &DEFAULT_REQUIRED,
            now,
            max_skew: Duration::from_secs(180),
        };
        let public = key.cert.public_key().unwrap();
        assert_eq!(
            http_signature::verify(&message, &params, &public, &policy),
            Ok(Algorithm::RsaSha256)
        );
    }

    const DEFAULT_REQUIRED: [&str; 3] = ["(request-target)", "date", "digest"];

    #[test]
    fn beside_a_bearer_token_the_signature_goes_into_its_own_header() {
        let key = test_key();
        let mut request = token_request();
        request
            .headers
            .push(("Authorization".into(), "Bearer abc".into()));
        let profile = SignProfile {
            flow: Flow::HttpSignature,
            headers: Some(vec![
                "(request-target)".into(),
                "date".into(),
                "digest".into(),
                "x-request-id".into(),
            ]),
            ..SignProfile::default()
        };
        let signed = sign(
            request,
            &profile,
            &SignInputs {
                key_id: Some("5ca1ab1e-c0ca-c01a-cafe-154deadbea75"),
                ..inputs(&key, at(0))
            },
        )
        .unwrap();
        assert_eq!(signed.request.header("Authorization"), Some("Bearer abc"));
        let signature = signed.request.header("Signature").unwrap();
        assert!(signature.starts_with(r#"keyId="5ca1ab1e-c0ca-c01a-cafe-154deadbea75""#));
        let request_id = signed.request.header("X-Request-ID").unwrap();
        assert!(uuid::Uuid::parse_str(request_id).is_ok());
        assert!(
            signed
                .signing_input
                .unwrap()
                .ends_with(&format!("\nx-request-id: {request_id}"))
        );
        assert_eq!(signed.request.header(CERTIFICATE_HEADER), None);
    }

    /// ING's Open Banking (premium) token: keyId = the client_id, no certificate
    /// header, over the current header set or the legacy one with a generated `X-ING-ReqID`.
    #[test]
    fn premium_token_signs_with_the_client_id_over_either_header_set() {
        let key = test_key();
        let client_id = "e77d776b-90af-4684-bebc-521e5b2614dd";
        let now = at(1_572_957_692); // Tue, 05 Nov 2019 12:41:32 GMT
        let current = ["(request-target)", "date", "digest"];
        let legacy = ["(request-target)", "date", "digest", "x-ing-reqid"];
        for names in [&current[..], &legacy[..]] {
            let profile = SignProfile {
                flow: Flow::HttpSignature,
                headers: Some(names.iter().map(|h| (*h).to_string()).collect()),
                placement: Some(Placement::Authorization),
                certificate_header: Some(false),
                ..SignProfile::default()
            };
            let signed = sign(
                token_request(),
                &profile,
                &SignInputs {
                    key_id: Some(client_id),
                    ..inputs(&key, now)
                },
            )
            .unwrap();
            let request = &signed.request;
            assert_eq!(request.header(CERTIFICATE_HEADER), None);
            assert_eq!(request.header("Signature"), None);
            let mut expected = "(request-target): post /oauth2/token\n\
                                date: Tue, 05 Nov 2019 12:41:32 GMT\n\
                                digest: SHA-256=w0mymuL8aCrbJmmabs1pytZhon8lQucTuJMUtuKr+uw="
                .to_string();
            match request.header("X-ING-ReqID") {
                Some(id) if names.len() == 4 => {
                    assert!(uuid::Uuid::parse_str(id).is_ok());
                    expected.push_str(&format!("\nx-ing-reqid: {id}"));
                }
                other => assert_eq!(other, None, "generated only when listed"),
            }
            assert_eq!(signed.signing_input.as_deref(), Some(expected.as_str()));
            let authorization = request.header("Authorization").unwrap();
            let params = authorization
                .strip_prefix("Signature ")
                .map(http_signature::SignatureParams::parse)
                .unwrap()
                .unwrap();
            assert_eq!(params.key_id, client_id);
            assert_eq!(params.headers, names);
            let policy = http_signature::Policy {
                required: &http_signature::DEFAULT_HEADERS,
                now,
                max_skew: Duration::from_secs(180),
            };
            let public = key.cert.public_key().unwrap();
            let message = Message::of(request, "/oauth2/token");
            assert!(http_signature::verify(&message, &params, &public, &policy).is_ok());
        }
    }

    #[test]
    fn every_send_is_signed_afresh() {
        let key = test_key();
        let profile = SignProfile {
            headers: Some(vec![
                "(request-target)".into(),
                "date".into(),
                "digest".into(),
                "x-ing-reqid".into(),
            ]),
            ..http_profile()
        };
        let first = sign(token_request(), &profile, &inputs(&key, at(1_000_000))).unwrap();
        let retry = sign(token_request(), &profile, &inputs(&key, at(1_000_007))).unwrap();
        for header in ["Date", "X-ING-ReqID", "Authorization"] {
            assert_ne!(
                first.request.header(header),
                retry.request.header(header),
                "{header}"
            );
        }
    }

    #[test]
    fn request_target_omits_signs_the_path_without_the_prefix() {
        let key = test_key();
        let request = HttpRequest {
            method: "GET".into(),
            url: "https://127.0.0.1:8443/partner-api/ping".into(),
            headers: vec![("Authorization".into(), "Bearer t0k3n".into())],
            body: Vec::new(),
        };
        let profile = SignProfile {
            flow: Flow::HttpSignature,
            request_target_omits: Some("/partner-api".into()),
            ..SignProfile::default()
        };
        let now = at(1_573_821_692);
        let signed = sign(
            request.clone(),
            &profile,
            &SignInputs {
                key_id: Some("partner-client"),
                ..inputs(&key, now)
            },
        )
        .unwrap();
        assert_eq!(
            signed.signing_input.as_deref(),
            Some(
                "(request-target): get /ping\ndate: Fri, 15 Nov 2019 12:41:32 GMT\ndigest: SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
            )
        );
        assert_eq!(signed.request.url, request.url, "sent to the full URL");
        // It verifies over the stripped target and not over the one on the request line.
        let (_, params) = http_signature::locate(&Message::of(&signed.request, "/ping")).unwrap();
        let policy = http_signature::Policy {
            required: &DEFAULT_REQUIRED,
            now,
            max_skew: Duration::from_secs(180),
        };
        let public = key.cert.public_key().unwrap();
        let verify = |target| {
            http_signature::verify(
                &Message::of(&signed.request, target),
                &params,
                &public,
                &policy,
            )
        };
        assert_eq!(verify("/ping"), Ok(Algorithm::RsaSha256));
        assert_eq!(
            verify("/partner-api/ping"),
            Err(http_signature::HttpSigError::BadSignature)
        );

        // A path without the prefix is refused rather than signed as is.
        let elsewhere = HttpRequest {
            url: "https://127.0.0.1:8443/oauth2/token".into(),
            ..request
        };
        let err = sign(elsewhere, &profile, &inputs(&key, now)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "request_target_omits `/partner-api`, but the request target `/oauth2/token` does not start with it"
        );
        for bad in ["partner-api", "/", ""] {
            let profile = SignProfile {
                request_target_omits: Some(bad.into()),
                ..profile.clone()
            };
            assert!(
                matches!(
                    check_profile(&profile),
                    Err(SignError::RequestTargetPrefix(_))
                ),
                "{bad}"
            );
        }
        let jws = SignProfile {
            flow: Flow::Jws,
            request_target_omits: Some("/partner-api".into()),
            ..SignProfile::default()
        };
        assert_eq!(
            check_profile(&jws).unwrap_err().to_string(),
            "`request_target_omits` has no meaning for flow `jws`"
        );
    }

    #[test]
    fn jws_adds_digest_certificate_and_a_detached_signature() {
        let key = test_key();
        let request = HttpRequest {
            method: "POST".into(),
            url: "https://127.0.0.1:8443/oauth2/applications".into(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: br#"{"contact":"one@example.com"}"#.to_vec(),
        };
        let profile = SignProfile {
            flow: Flow::Jws,
            ..SignProfile::default()
        };
        let now = at(1_574_184_495); // 2019-11-19T17:28:15Z
        let signed = sign(request, &profile, &inputs(&key, now)).unwrap();
        let value = signed.request.header(JWS_HEADER).unwrap();
        let parsed = jws::parse(value).unwrap();
        assert_eq!(parsed.alg, "PS256");
        assert_eq!(parsed.header["sigT"], "2019-11-19T17:28:15Z");
        assert_eq!(parsed.header["b64"], false);
        assert_eq!(parsed.x5t_s256.as_deref(), Some(key.x5t_s256.as_str()));
        let digest = signed.request.header("Digest").unwrap();
        let input = signed.signing_input.unwrap();
        assert!(input.ends_with(&format!(
            ".(request-target): post /oauth2/applications\ndigest: {digest}\ncontent-type: application/json"
        )));
        assert!(signed.request.header(CERTIFICATE_HEADER).is_some());
        assert_eq!(signed.request.header("Date"), None, "date is not in pars");
        let message = Message::of(&signed.request, "/oauth2/applications");
        let policy = jws::Policy {
            required: &jws::DEFAULT_PARS,
            now,
            max_skew: Duration::from_secs(180),
        };
        let public = key.cert.public_key().unwrap();
        assert_eq!(
            jws::verify(&message, &parsed, &public, &key.x5t_s256, &policy),
            Ok(Algorithm::PS256)
        );
    }

    #[test]
    fn a_pars_header_the_request_lacks_is_named() {
        let key = test_key();
        let mut request = token_request();
        request.headers.clear();
        let profile = SignProfile {
            flow: Flow::Jws,
            ..SignProfile::default()
        };
        let err = sign(request, &profile, &inputs(&key, at(0))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`content-type` is in sigD.pars but the request has no such header"
        );
    }

    #[test]
    fn client_assertion_is_appended_to_the_form() {
        let key = test_key();
        let profile = SignProfile {
            flow: Flow::ClientAssertion,
            ..SignProfile::default()
        };
        let now = at(1_700_000_000);
        let signed = sign(token_request(), &profile, &inputs(&key, now)).unwrap();
        let body = String::from_utf8(signed.request.body).unwrap();
        let form: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(form[0], ("grant_type".into(), "client_credentials".into()));
        assert_eq!(form[1].1, client_assertion::ASSERTION_TYPE);
        let public = key.cert.public_key().unwrap();
        let verified = client_assertion::verify(
            &form[2].1,
            &public,
            (&key.x5t, &key.x5t_s256),
            "5ca1ab1e-c0ca-c01a-cafe-154deadbea75",
            "https://127.0.0.1:8443/oauth2/token",
            now,
            Duration::ZERO,
        )
        .unwrap();
        assert_eq!(verified.header["x5t"], key.x5t);
    }

    #[test]
    fn inconsistent_profiles_are_refused_before_sending() {
        let wrong_alg = SignProfile {
            flow: Flow::Jws,
            algorithm: Some(Algorithm::RsaSha256),
            ..SignProfile::default()
        };
        assert!(matches!(
            check_profile(&wrong_alg),
            Err(SignError::AlgorithmForFlow { .. })
        ));
        let stray = SignProfile {
            flow: Flow::Mtls,
            key_id: Some("x".into()),
            ..SignProfile::default()
        };
        assert_eq!(
            check_profile(&stray).unwrap_err().to_string(),
            "`key_id` has no meaning for flow `mtls`"
        );
        let no_key = sign(
            token_request(),
            &http_profile(),
            &SignInputs {
                key: None,
                key_id: None,
                audience: None,
                client_id: None,
                now: at(0),
            },
        )
        .unwrap_err();
        assert!(no_key.to_string().contains("`certs.signing`"), "{no_key}");
    }
}
