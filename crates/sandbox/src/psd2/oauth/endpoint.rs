//! `POST /oauth2/token` (client credentials: mTLS-only or HTTP-signed; authorization code;
//! refresh token) and `POST /oauth2/token/revoke`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::kernel::applications::{AppRegistry, normalize_serial};
use crate::kernel::errors::{IngError, diagnosis, json_response};
use crate::kernel::tls::PeerCertificate;
use crate::kernel::verify::{
    FORM_CONTENT_TYPE, MAX_SKEW, Received, ReceivedRequest, bad_signature, has_media_type,
    refused_signature, serial_of_key_id, unauthorized,
};
use crate::psd2::Psd2Context;
use crate::psd2::consent::{self, Consent, REFRESH_TOKEN_LIFETIME, RefreshGrant};
use crate::showcase;
use obconform_core::certs::wire::parse_header_certificate;
use obconform_core::sign::CERTIFICATE_HEADER;
use obconform_core::sign::http_signature::{self, Placement};

use super::*;

/// The guide's customer token response, in its field order.
#[derive(Serialize)]
pub(super) struct CustomerTokenResponse {
    pub(super) access_token: String,
    pub(super) refresh_token: String,
    pub(super) token_type: &'static str,
    pub(super) expires_in: u64,
    pub(super) scope: String,
    pub(super) refresh_token_expires_in: u64,
}

/// `POST /oauth2/token`. The body is taken as raw bytes: signature flows digest them exactly.
pub async fn token(State(state): State<Psd2Context>, received: Received) -> Response {
    token_response(
        &state,
        received.peer.as_ref(),
        &received.headers,
        &received.request,
    )
    .unwrap_or_else(IntoResponse::into_response)
}

pub(super) fn token_response(
    state: &Psd2Context,
    peer: Option<&PeerCertificate>,
    headers: &HeaderMap,
    request: &ReceivedRequest,
) -> Result<Response, IngError> {
    require_form_content_type(headers)?;
    let form = Form::parse(request.body())?;
    let grant_type = form.required("grant_type")?;
    match grant_type {
        "client_credentials" => {}
        "authorization_code" => {
            return authorization_code_grant(state, peer, headers, request, &form);
        }
        "refresh_token" => return refresh_token_grant(state, peer, headers, request, &form),
        _ => {
            return Err(IngError::oauth(
                StatusCode::BAD_REQUEST,
                format!(
                    "Unsupported grant_type '{grant_type}' (client_credentials, \
                     authorization_code, refresh_token)"
                ),
            ));
        }
    }
    match authorization_scheme(headers) {
        // The application token's signature goes into Authorization, not a Signature header.
        None if headers.contains_key("signature") => {
            Err(bad_signature(diagnosis::HTTPSIG_PLACEMENT))
        }
        None => mtls_app_token(state, peer, &form),
        Some(scheme) if scheme.eq_ignore_ascii_case("signature") => {
            signed_app_token(state, peer, request, &form)
        }
        Some(scheme) => Err(IngError::oauth(
            StatusCode::UNAUTHORIZED,
            format!(
                "Unsupported Authorization scheme '{scheme}' for grant_type client_credentials"
            ),
        )),
    }
}

/// Step 2.1: the client is authenticated by its TLS certificate alone.
pub(super) fn mtls_app_token(
    state: &Psd2Context,
    peer: Option<&PeerCertificate>,
    form: &Form,
) -> Result<Response, IngError> {
    let client_id = form.get("client_id").ok_or_else(|| {
        IngError::oauth(
            StatusCode::BAD_REQUEST,
            "Missing parameter client_id (required for a token without signature)",
        )
    })?;
    let peer = peer.ok_or_else(|| {
        IngError::oauth(
            StatusCode::UNAUTHORIZED,
            "No TLS client certificate was presented",
        )
    })?;
    let registry = state.apps();
    let app = registry.get(client_id).ok_or_else(|| {
        IngError::oauth(
            StatusCode::UNAUTHORIZED,
            format!("Unknown client_id '{client_id}'"),
        )
    })?;
    check_tls_binding(&registry, app, peer)?;
    let scopes = granted_scopes(app, form.get("scope"))?;
    issue_app_token(state, app, scopes, TokenMode::MtlsOnly)
}

/// Step 3c: `Authorization: Signature keyId="SN=<serial>",algorithm="rsa-sha256",
/// headers="(request-target) date digest",signature="…"`. The serial names a registered signing
/// certificate, whose application must also own the TLS client certificate; the signature must
/// verify with that certificate over the exact bytes received, with a fresh Date.
pub(super) fn signed_app_token(
    state: &Psd2Context,
    peer: Option<&PeerCertificate>,
    request: &ReceivedRequest,
    form: &Form,
) -> Result<Response, IngError> {
    let message = request.message();
    let (placement, params) =
        http_signature::locate(&message).map_err(|e| bad_signature(e.diagnosis_id()))?;
    if placement != Placement::Authorization {
        // Both a Signature header and Authorization: Signature were sent.
        return Err(bad_signature(diagnosis::HTTPSIG_PLACEMENT));
    }
    // keyId=<client_id>: the Open Banking premium application's token (showcase/token.rs).
    let premium_form = showcase::token::TokenForm {
        scope: form.get("scope"),
        client_id: form.get("client_id"),
    };
    if let Some(answer) =
        showcase::token::signed_with_client_id(state, peer, request, &params, premium_form)
    {
        return answer;
    }
    let serial = serial_of_key_id(&params.key_id).ok_or_else(|| {
        unauthorized(format!(
            "keyId '{}' must be SN=<serial number of the signing certificate in hex> for an \
             application access token",
            params.key_id
        ))
        .with_diagnosis(diagnosis::HTTPSIG_KEYID_FORM)
    })?;
    let peer = peer.ok_or_else(|| unauthorized("No TLS client certificate was presented"))?;
    let registry = state.apps();
    let mut candidates = registry.signing_keys_with_serial(&serial);
    if candidates.is_empty() {
        return Err(unknown_serial(&registry, &serial));
    }
    if let Some(value) = request.header(CERTIFICATE_HEADER) {
        let sent = parse_header_certificate(&value).ok_or_else(|| {
            unauthorized(format!(
                "The {CERTIFICATE_HEADER} header is not a PEM certificate"
            ))
            .with_diagnosis(diagnosis::HTTPSIG_CERTIFICATE_HEADER)
        })?;
        let sent = openssl::sha::sha256(&sent.to_der().unwrap_or_default());
        candidates.retain(|(_, key)| *key.sha256() == sent);
        if candidates.is_empty() {
            return Err(unauthorized(format!(
                "The {CERTIFICATE_HEADER} certificate is not the signing certificate SN={serial} \
                 that keyId names"
            ))
            .with_diagnosis(diagnosis::HTTPSIG_CERTIFICATE_HEADER));
        }
    }
    // Several applications may share a signing certificate: `client_id` picks one, else the
    // first registered one bound to the TLS certificate.
    if let Some(client_id) = form.get("client_id") {
        candidates.retain(|(app, _)| app.client_id == client_id);
        if candidates.is_empty() {
            return Err(unauthorized(format!(
                "The signing certificate SN={serial} is not registered for client_id {client_id}"
            )));
        }
    }
    let Some(&(app, key)) = candidates
        .iter()
        .find(|(app, _)| app.is_tls_certificate(peer))
    else {
        return Err(tls_binding_error(&registry, candidates[0].0, peer));
    };
    let policy = http_signature::Policy {
        required: &http_signature::DEFAULT_HEADERS,
        now: state.clock.now(),
        max_skew: MAX_SKEW,
    };
    http_signature::verify(&message, &params, key.public_key(), &policy).map_err(|e| {
        refused_signature(
            request,
            &[key.der(), peer.der()],
            policy.now,
            e.diagnosis_id(),
        )
    })?;
    let scopes = granted_scopes(app, form.get("scope"))?;
    issue_app_token(state, app, scopes, TokenMode::HttpSignature)
}

/// No registered signing certificate has the keyId's serial: say what it likely is.
pub(super) fn unknown_serial(registry: &AppRegistry, serial: &str) -> IngError {
    if let Some(dropped) = registry.dropped_signing_key(serial) {
        return unauthorized(format!(
            "The signing certificate SN={serial} is no longer registered: a PUT \
             /oauth2/applications/{} replaced the application's keys without it",
            dropped.client_id
        ))
        .with_diagnosis(diagnosis::PUT_DROPS_KEYS);
    }
    if registry.has_tls_key_with_serial(serial) {
        return unauthorized(format!(
            "SN={serial} is the serial of a TLS certificate; keyId names the signing certificate"
        ))
        .with_diagnosis(diagnosis::CERT_WRONG_USAGE);
    }
    // A decimal serial where hex is expected.
    let as_decimal = openssl::bn::BigNum::from_dec_str(serial)
        .ok()
        .and_then(|bn| bn.to_hex_str().ok().map(|h| normalize_serial(&h)));
    if let Some(hex) = as_decimal.filter(|hex| !registry.signing_keys_with_serial(hex).is_empty()) {
        return unauthorized(format!(
            "keyId SN={serial} reads as a decimal serial; write the serial in hex: SN={hex}"
        ))
        .with_diagnosis(diagnosis::HTTPSIG_KEYID_FORM);
    }
    unauthorized(format!(
        "No signing certificate with serial {serial} (keyId SN={serial}) is registered"
    ))
    .with_diagnosis(diagnosis::HTTPSIG_KEYID_FORM)
}

pub(super) fn require_form_content_type(headers: &HeaderMap) -> Result<(), IngError> {
    if has_media_type(headers, FORM_CONTENT_TYPE) {
        Ok(())
    } else {
        Err(IngError::oauth(
            StatusCode::BAD_REQUEST,
            format!("Content-Type must be {FORM_CONTENT_TYPE}"),
        ))
    }
}

/// Decoded `application/x-www-form-urlencoded` parameters, each at most once (RFC 6749 §3.2).
pub(in crate::psd2) struct Form {
    pub(super) params: Vec<(String, String)>,
}

impl Form {
    pub(in crate::psd2) fn parse(body: &[u8]) -> Result<Self, IngError> {
        let mut params: Vec<(String, String)> = Vec::new();
        for (name, value) in form_urlencoded::parse(body) {
            if params.iter().any(|(n, _)| *n == name) {
                return Err(IngError::oauth(
                    StatusCode::BAD_REQUEST,
                    format!("Parameter {name} occurs more than once"),
                ));
            }
            params.push((name.into_owned(), value.into_owned()));
        }
        Ok(Self { params })
    }

    /// A parameter's value; an empty value counts as absent.
    pub(in crate::psd2) fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    pub(in crate::psd2) fn required(&self, name: &str) -> Result<&str, IngError> {
        self.get(name).ok_or_else(|| {
            IngError::oauth(StatusCode::BAD_REQUEST, format!("Missing parameter {name}"))
        })
    }
}

/// Step 3d: `grant_type=authorization_code&code=…[&redirect_uri=…]`.
pub(super) fn authorization_code_grant(
    state: &Psd2Context,
    peer: Option<&PeerCertificate>,
    headers: &HeaderMap,
    request: &ReceivedRequest,
    form: &Form,
) -> Result<Response, IngError> {
    let client = authenticate_signed(state, peer, headers, request, TokenKind::Application)?;
    let code = form.required("code")?;
    let grant = consent::redeem_code(state, &client.client_id, code, form.get("redirect_uri"))?;
    let now = state.clock.now();
    let consent = Consent {
        grant_id: uuid::Uuid::new_v4().to_string(),
        country: grant.country,
        profile_id: grant.profile_id,
        account_ids: grant.account_ids.clone(),
    };
    let refresh_token = new_token_value()?;
    state.issued.record(&refresh_token);
    state.psd2.grants.insert_refresh(
        refresh_token.clone(),
        RefreshGrant {
            client_id: client.client_id.clone(),
            scopes: grant.scopes.clone(),
            consent: consent.clone(),
            expires_at: now.checked_add(REFRESH_TOKEN_LIFETIME).unwrap_or(now),
            revoked: false,
        },
        now,
    );
    issue_customer_token(
        state,
        &client.client_id,
        grant.scopes,
        consent,
        refresh_token,
    )
}

/// `grant_type=refresh_token&refresh_token=…[&scope=…]`: a new customer access token for the
/// same consent. The refresh token is not rotated: the same value comes back, valid for another
/// `refresh_token_expires_in` seconds from now. A `scope` may narrow the grant's scopes.
pub(super) fn refresh_token_grant(
    state: &Psd2Context,
    peer: Option<&PeerCertificate>,
    headers: &HeaderMap,
    request: &ReceivedRequest,
    form: &Form,
) -> Result<Response, IngError> {
    let client = authenticate_signed(state, peer, headers, request, TokenKind::Application)?;
    let refresh_token = form.required("refresh_token")?;
    let now = state.clock.now();
    let grant = state
        .psd2
        .grants
        .use_refresh(refresh_token, &client.client_id, now)?;
    let scopes = match form.get("scope") {
        None => grant.scopes.clone(),
        Some(requested) => {
            let requested: Vec<&str> = requested.split_ascii_whitespace().collect();
            if let Some(extra) = requested
                .iter()
                .find(|r| !grant.scopes.iter().any(|s| s == *r))
            {
                return Err(IngError::oauth(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "invalid_scope: '{extra}' was not granted by the customer (granted: {})",
                        grant.scopes.join(" ")
                    ),
                ));
            }
            grant
                .scopes
                .iter()
                .filter(|s| requested.contains(&s.as_str()))
                .cloned()
                .collect()
        }
    };
    issue_customer_token(
        state,
        &client.client_id,
        scopes,
        grant.consent,
        refresh_token.to_owned(),
    )
}

/// A fresh customer access token (HTTP-signature mode, with its consent), in the guide's shape.
pub(super) fn issue_customer_token(
    state: &Psd2Context,
    client_id: &str,
    scopes: Vec<String>,
    consent: Consent,
    refresh_token: String,
) -> Result<Response, IngError> {
    let now = state.clock.now();
    let token = new_token_value()?;
    state.issued.record(&token);
    let body = CustomerTokenResponse {
        access_token: token.clone(),
        refresh_token,
        token_type: "Bearer",
        expires_in: CUSTOMER_TOKEN_LIFETIME.as_secs(),
        scope: scopes.join(" "),
        refresh_token_expires_in: REFRESH_TOKEN_LIFETIME.as_secs(),
    };
    let record = AccessToken {
        client_id: client_id.to_owned(),
        scopes,
        mode: TokenMode::HttpSignature,
        issued_at: now,
        expires_at: now.checked_add(CUSTOMER_TOKEN_LIFETIME).unwrap_or(now),
        consent: Some(consent),
    };
    state.tokens.insert(token, record, now);
    Ok(json_response(StatusCode::OK, &body))
}

/// `POST /oauth2/token/revoke` with `token=…&token_type_hint=refresh_token|access_token`,
/// authenticated like the code exchange. Revoking a refresh token also revokes the customer
/// access tokens issued under it (RFC 7009 §2.1). RFC 7009 §2.2: 200 with an empty body, also
/// for a token the bank does not know.
pub async fn revoke(State(state): State<Psd2Context>, received: Received) -> Response {
    revocation(
        &state,
        received.peer.as_ref(),
        &received.headers,
        &received.request,
    )
    .unwrap_or_else(IntoResponse::into_response)
}

pub(super) fn revocation(
    state: &Psd2Context,
    peer: Option<&PeerCertificate>,
    headers: &HeaderMap,
    request: &ReceivedRequest,
) -> Result<Response, IngError> {
    require_form_content_type(headers)?;
    let form = Form::parse(request.body())?;
    let client = authenticate_signed(state, peer, headers, request, TokenKind::Application)?;
    let token = form.required("token")?;
    let hint = form.get("token_type_hint");
    if let Some(other) = hint.filter(|h| !matches!(*h, "refresh_token" | "access_token")) {
        return Err(IngError::oauth(
            StatusCode::BAD_REQUEST,
            format!(
                "unsupported_token_type: token_type_hint '{other}' (refresh_token or access_token)"
            ),
        ));
    }
    if let Some(grant_id) = state.psd2.grants.revoke_refresh(token, &client.client_id)? {
        state.tokens.revoke_grant(&grant_id);
        return Ok(StatusCode::OK.into_response());
    }
    let now = state.clock.now();
    let owner = match state.tokens.lookup(token, now) {
        TokenLookup::Valid(t) | TokenLookup::Expired(t) => Some(t.client_id),
        TokenLookup::Unknown => None,
    };
    match owner {
        Some(owner) if owner != client.client_id => Err(IngError::oauth(
            StatusCode::BAD_REQUEST,
            format!(
                "The token was issued to another client, not to {}",
                client.client_id
            ),
        )),
        Some(_) => {
            state.tokens.revoke(token);
            Ok(StatusCode::OK.into_response())
        }
        None => Ok(StatusCode::OK.into_response()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_rejects_duplicates_and_decodes_plus() {
        assert!(Form::parse(b"a=1&a=2").is_err());
        let form = Form::parse(b"scope=greetings%3Aview+granting&empty=").ok();
        let form = form.as_ref();
        assert_eq!(
            form.and_then(|f| f.get("scope")),
            Some("greetings:view granting")
        );
        assert_eq!(form.and_then(|f| f.get("empty")), None);
    }
}
