//! `POST /oauth2/applications` (guide step 1: register an application) and
//! `PUT /oauth2/applications/{id}` (step 2b: replace its metadata), both signed with a detached
//! JWS in `x-jws-signature` with the signing certificate in `TPP-Signature-Certificate`.
//!
//! Order of checks: authentication (PUT: the mTLS-only Bearer token of that application), then
//! the JWS and its certificate (401), then the body (400), then revocation: a revoked TLS or
//! signing certificate presented is 401, a revoked certificate in the body's keys 400, both
//! `cert.revoked` (`crate::kernel::revocation`). The response has the guide's shape
//! `{"contact": .., "application": {"client_id", "redirect_uris", "keys": {"tls", "sign"}}}`.

use std::time::SystemTime;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::x509::X509;
use serde::Serialize;
use serde_json::Value;

use super::oauth::{TokenMode, authenticate_bearer};
use crate::kernel::applications::{
    Application, ApplicationKeys, PSD2_SCOPES, application_gone, other_application, serial_of,
};
use crate::kernel::errors::{IngError, diagnosis, json_response};
use crate::kernel::jwk::CertKey;
use crate::kernel::tls::PeerCertificate;
use crate::kernel::verify::{
    Received, ReceivedRequest, SignedJws, check_issued, has_media_type, unauthorized,
};
use crate::psd2::Psd2Context;

const JSON_CONTENT_TYPE: &str = "application/json";

/// The guide's response to both POST and PUT.
#[derive(Serialize)]
struct RegistrationResponse {
    contact: String,
    application: RegisteredApplication,
}

#[derive(Serialize)]
struct RegisteredApplication {
    client_id: String,
    redirect_uris: Vec<String>,
    keys: ApplicationKeys,
}

impl RegistrationResponse {
    fn of(app: &Application) -> Self {
        Self {
            contact: app.contact.clone(),
            application: RegisteredApplication {
                client_id: app.client_id.clone(),
                redirect_uris: app.redirect_uris.clone(),
                keys: app.keys(),
            },
        }
    }

    // The guide shows the response body of POST and PUT but no status code; 200 is an inference
    // (no Location header is shown either, which a 201 would normally carry).
    fn into_response(self) -> Response {
        json_response(StatusCode::OK, &self)
    }
}

/// `POST /oauth2/applications`.
pub async fn register(State(state): State<Psd2Context>, received: Received) -> Response {
    registration(
        &state,
        received.peer.as_ref(),
        &received.headers,
        &received.request,
    )
    .unwrap_or_else(IntoResponse::into_response)
}

/// `PUT /oauth2/applications/{id}`.
pub async fn update(
    State(state): State<Psd2Context>,
    Path(id): Path<String>,
    received: Received,
) -> Response {
    replacement(
        &state,
        received.peer.as_ref(),
        &id,
        &received.headers,
        &received.request,
    )
    .unwrap_or_else(IntoResponse::into_response)
}

fn registration(
    state: &Psd2Context,
    peer: Option<&PeerCertificate>,
    headers: &HeaderMap,
    request: &ReceivedRequest,
) -> Result<Response, IngError> {
    let peer = peer.ok_or_else(|| unauthorized("No TLS client certificate was presented"))?;
    let now = state.clock.now();
    let anchors = state.apps().trust_anchors().to_vec();
    let jws = SignedJws::read(request, peer, &anchors, now)?;
    jws.verify(request, now)?;

    require_json_content_type(headers)?;
    let body = RegistrationBody::parse(request.body(), &anchors, now)?;
    let keys = body.keys_or_presented(peer, &jws)?;
    refuse_revoked(state, peer, &jws, &keys)?;
    let app = Application {
        client_id: uuid::Uuid::new_v4().to_string(),
        contact: body.contact,
        redirect_uris: body.redirect_uris,
        scopes: PSD2_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        tls_keys: keys.tls,
        signing_keys: keys.sign,
    };
    let response = RegistrationResponse::of(&app);
    state.apps_mut().upsert(app);
    Ok(response.into_response())
}

fn replacement(
    state: &Psd2Context,
    peer: Option<&PeerCertificate>,
    id: &str,
    headers: &HeaderMap,
    request: &ReceivedRequest,
) -> Result<Response, IngError> {
    let token = authenticate_bearer(state, headers, peer, TokenMode::MtlsOnly)?;
    if id != token.client_id {
        return Err(other_application(&token.client_id, id));
    }
    let peer = peer.ok_or_else(|| unauthorized("No TLS client certificate was presented"))?;
    let now = state.clock.now();
    let (anchors, current) = {
        let registry = state.apps();
        let app = registry.get(id).ok_or_else(application_gone)?;
        (registry.trust_anchors().to_vec(), app.clone())
    };
    let jws = SignedJws::read(request, peer, &anchors, now)?;
    // A registered signing certificate, or one the body registers (a renewal signs with the new
    // certificate while TLS still runs on the old one).
    let signer = jws.certificate_sha256();
    if current.signing_key(&signer).is_none()
        && !listed_signing_certificates(request.body()).contains(&signer)
    {
        return Err(unauthorized(format!(
            "The TPP-Signature-Certificate is not a signing certificate of client_id {id} and \
             not among the body's keys.sign"
        )));
    }
    jws.verify(request, now)?;

    require_json_content_type(headers)?;
    let body = RegistrationBody::parse(request.body(), &anchors, now)?;
    let keys = body.keys_or_presented(peer, &jws)?;
    refuse_revoked(state, peer, &jws, &keys)?;
    let app = Application {
        client_id: current.client_id,
        contact: body.contact,
        redirect_uris: body.redirect_uris,
        scopes: current.scopes,
        tls_keys: keys.tls,
        signing_keys: keys.sign,
    };
    let response = RegistrationResponse::of(&app);
    // PUT replaces everything; the registry remembers what was dropped.
    state.apps_mut().upsert(app);
    Ok(response.into_response())
}

/// ING checks revocation when certificates are registered: the TLS certificate and the JWS
/// signing certificate of the request (401), and every certificate the body registers (400).
fn refuse_revoked(
    state: &Psd2Context,
    peer: &PeerCertificate,
    jws: &SignedJws,
    keys: &KeySets,
) -> Result<(), IngError> {
    let revoked = |serial: String| state.revocations.is_revoked(&serial).then_some(serial);
    let presented = [
        ("TLS client certificate", X509::from_der(peer.der()).ok()),
        ("TPP-Signature-Certificate", Some(jws.certificate.clone())),
    ];
    for (what, cert) in presented {
        if let Some(serial) = cert.and_then(|c| revoked(serial_of(&c))) {
            return Err(unauthorized(format!(
                "The {what} (serial {serial}) is revoked; use the renewed certificate"
            ))
            .with_diagnosis(diagnosis::CERT_REVOKED));
        }
    }
    let registered = keys
        .tls
        .iter()
        .map(|k| ("keys.tls", k))
        .chain(keys.sign.iter().map(|k| ("keys.sign", k)));
    for (list, key) in registered {
        if let Some(serial) = revoked(key.serial().to_owned()) {
            return Err(bad_request(format!(
                "A certificate in {list} (serial {serial}) is revoked and cannot be registered"
            ))
            .with_diagnosis(diagnosis::CERT_REVOKED));
        }
    }
    Ok(())
}

fn require_json_content_type(headers: &HeaderMap) -> Result<(), IngError> {
    if has_media_type(headers, JSON_CONTENT_TYPE) {
        Ok(())
    } else {
        Err(bad_request(format!(
            "Content-Type must be {JSON_CONTENT_TYPE}"
        )))
    }
}

fn bad_request(message: impl Into<String>) -> IngError {
    IngError::oauth(StatusCode::BAD_REQUEST, message)
}

fn bad_key(what: &str, err: &crate::kernel::jwk::CertKeyError) -> IngError {
    bad_request(format!("{what} cannot be registered: {err}"))
}

/// SHA-256 of every certificate in the body's `keys.sign[*].x5c[0]`, read leniently (the body is
/// validated strictly after the signature).
fn listed_signing_certificates(body: &[u8]) -> Vec<[u8; 32]> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    value
        .pointer("/keys/sign")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|jwk| jwk.pointer("/x5c/0").and_then(Value::as_str))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .map(|der| openssl::sha::sha256(&der))
        .collect()
}

#[derive(Debug, Clone, Default)]
struct KeySets {
    tls: Vec<CertKey>,
    sign: Vec<CertKey>,
}

/// A validated `/oauth2/applications` body.
#[derive(Debug)]
struct RegistrationBody {
    contact: String,
    redirect_uris: Vec<String>,
    keys: Option<KeySets>,
}

impl RegistrationBody {
    /// The body's keys or, without `keys` (the guide's own POST and PUT scripts send none), the
    /// certificates the request presented: its TLS certificate and its JWS signing certificate.
    /// Either way they replace whatever was registered.
    fn keys_or_presented(
        &self,
        peer: &PeerCertificate,
        jws: &SignedJws,
    ) -> Result<KeySets, IngError> {
        if let Some(keys) = &self.keys {
            return Ok(keys.clone());
        }
        Ok(KeySets {
            tls: vec![
                CertKey::from_der(peer.der())
                    .map_err(|e| bad_key("the TLS client certificate", &e))?,
            ],
            sign: vec![
                CertKey::from_x509(&jws.certificate)
                    .map_err(|e| bad_key("the TPP-Signature-Certificate", &e))?,
            ],
        })
    }

    fn parse(bytes: &[u8], anchors: &[X509], now: SystemTime) -> Result<Self, IngError> {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| bad_request(format!("The request body is not valid JSON: {e}")))?;
        let object = value
            .as_object()
            .ok_or_else(|| bad_request("The request body must be a JSON object"))?;
        let contact = object
            .get("contact")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| bad_request("contact is required: a non-empty string"))?
            .to_owned();
        let redirect_uris = parse_redirect_uris(object.get("redirect_uris"))?;
        let keys = match object.get("keys") {
            None | Some(Value::Null) => None,
            Some(keys) => Some(parse_keys(keys, anchors, now)?),
        };
        Ok(Self {
            contact,
            redirect_uris,
            keys,
        })
    }
}

fn parse_redirect_uris(value: Option<&Value>) -> Result<Vec<String>, IngError> {
    let list = value
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| bad_request("redirect_uris is required: a non-empty array of https URLs"))?;
    list.iter()
        .enumerate()
        .map(|(i, uri)| {
            let text = uri
                .as_str()
                .ok_or_else(|| bad_request(format!("redirect_uris[{i}] must be a string")))?;
            let url = reqwest::Url::parse(text).map_err(|e| {
                bad_request(format!(
                    "redirect_uris[{i}] `{text}` is not an absolute URL: {e}"
                ))
            })?;
            if url.scheme() != "https" || url.host_str().is_none() {
                return Err(bad_request(format!(
                    "redirect_uris[{i}] `{text}` must be an https URL"
                )));
            }
            if url.fragment().is_some() {
                return Err(bad_request(format!(
                    "redirect_uris[{i}] `{text}` must not have a fragment"
                )));
            }
            Ok(text.to_owned())
        })
        .collect()
}

fn parse_keys(value: &Value, anchors: &[X509], now: SystemTime) -> Result<KeySets, IngError> {
    let object = value
        .as_object()
        .ok_or_else(|| bad_request("keys must be an object {\"tls\": [..], \"sign\": [..]}"))?;
    let list = |name: &str| -> Result<Vec<CertKey>, IngError> {
        let jwks = object
            .get(name)
            .and_then(Value::as_array)
            .filter(|l| !l.is_empty())
            .ok_or_else(|| {
                bad_request(format!(
                    "keys.{name} is required: a non-empty array of JWKs with x5c"
                ))
            })?;
        jwks.iter()
            .enumerate()
            .map(|(i, jwk)| parse_jwk(jwk, &format!("keys.{name}[{i}]"), anchors, now))
            .collect()
    };
    Ok(KeySets {
        tls: list("tls")?,
        sign: list("sign")?,
    })
}

/// One JWK of `keys`: its certificate is `x5c[0]` (standard base64 DER), issued by a trusted CA
/// and valid now; `kty`, `n` and `e`, when present, must describe that certificate's key.
fn parse_jwk(
    jwk: &Value,
    at: &str,
    anchors: &[X509],
    now: SystemTime,
) -> Result<CertKey, IngError> {
    let object = jwk
        .as_object()
        .ok_or_else(|| bad_request(format!("{at} must be a JWK object")))?;
    let first = object
        .get("x5c")
        .and_then(Value::as_array)
        .and_then(|chain| chain.first())
        .and_then(Value::as_str)
        .ok_or_else(|| {
            bad_request(format!(
                "{at}.x5c is required: the certificate as standard base64 DER"
            ))
        })?;
    let der = STANDARD
        .decode(first)
        .map_err(|_| bad_request(format!("{at}.x5c[0] is not standard base64")))?;
    let cert = X509::from_der(&der)
        .map_err(|_| bad_request(format!("{at}.x5c[0] is not a DER certificate")))?;
    check_issued(anchors, &cert, now)
        .map_err(|problem| problem.to_error(StatusCode::BAD_REQUEST, &format!("{at}.x5c[0]")))?;
    let key = CertKey::from_x509(&cert).map_err(|e| bad_key(at, &e))?;
    if let Some(kty) = object.get("kty").and_then(Value::as_str)
        && kty != "RSA"
    {
        return Err(bad_request(format!(
            "{at}.kty is {kty}, but the certificate's key is RSA"
        )));
    }
    let token_jwk = key.token_jwk();
    for (field, expected) in [("n", &token_jwk.n), ("e", &token_jwk.e)] {
        if let Some(sent) = object.get(field).and_then(Value::as_str)
            && sent != expected
        {
            return Err(bad_request(format!(
                "{at}.{field} is not the public key of the certificate in {at}.x5c[0]"
            )));
        }
    }
    Ok(key)
}
