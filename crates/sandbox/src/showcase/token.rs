//! The premium application's token: `POST /oauth2/token` with `grant_type=client_credentials`
//! signed in `Authorization: Signature keyId="<client_id>"` — no serial, no
//! `TPP-Signature-Certificate`: the bank knows the application's certificates by its client_id
//! (ing-api.md, "Open Banking showcase"). `psd2/oauth/endpoint.rs` hands such requests here.

use axum::response::Response;

use super::PREMIUM_CLIENT_ID;
use super::signature::verify_http_signature;
use crate::kernel::Kernel;
use crate::kernel::app_tokens::{granted_scopes, issue_app_token, tls_binding_error};
use crate::kernel::applications::{AppRegistry, Application};
use crate::kernel::errors::{IngError, diagnosis};
use crate::kernel::owners::app_label;
use crate::kernel::tls::PeerCertificate;
use crate::kernel::tokens::TokenMode;
use crate::kernel::verify::{ReceivedRequest, serial_of_key_id, unauthorized};
use obconform_core::sign::CERTIFICATE_HEADER;
use obconform_core::sign::http_signature::SignatureParams;

/// What the token request's form said beside `grant_type`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenForm<'a> {
    pub scope: Option<&'a str>,
    pub client_id: Option<&'a str>,
}

/// Answers a signed `client_credentials` request whose keyId is the client_id of a registered
/// application; `None` when it is not (an `SN=` keyId, or an unknown one: the PSD2 rules answer).
pub fn signed_with_client_id(
    state: &Kernel,
    peer: Option<&PeerCertificate>,
    request: &ReceivedRequest,
    params: &SignatureParams,
    form: TokenForm<'_>,
) -> Option<Result<Response, IngError>> {
    if serial_of_key_id(&params.key_id).is_some() {
        return None;
    }
    let registry = state.apps();
    let app = registry.get(&params.key_id)?;
    Some(client_token(
        state, &registry, app, peer, request, params, form,
    ))
}

fn client_token(
    state: &Kernel,
    registry: &AppRegistry,
    app: &Application,
    peer: Option<&PeerCertificate>,
    request: &ReceivedRequest,
    params: &SignatureParams,
    form: TokenForm<'_>,
) -> Result<Response, IngError> {
    check_request(app, request, form)?;
    let peer = peer.ok_or_else(|| unauthorized("No TLS client certificate was presented"))?;
    if !app.is_tls_certificate(peer) {
        return Err(tls_binding_error(registry, app, peer));
    }
    verify_http_signature(registry, app, request, params, state.clock.now())?;
    let scopes = granted_scopes(app, form.scope)?;
    issue_app_token(state, app, scopes, TokenMode::HttpSignature)
}

/// What can be told before any certificate is looked at: the keyId form and the headers.
fn check_request(
    app: &Application,
    request: &ReceivedRequest,
    form: TokenForm<'_>,
) -> Result<(), IngError> {
    if app.client_id != PREMIUM_CLIENT_ID {
        let serial = app.signing_keys.first().map_or("<serial>", |k| k.serial());
        return Err(unauthorized(format!(
            "keyId names {}, whose application access token is requested with \
             keyId=\"SN=<serial number of its signing certificate in hex>\" (SN={serial}) and \
             the certificate in {CERTIFICATE_HEADER}. keyId=<client_id> is for the Open Banking \
             premium application's token ({PREMIUM_CLIENT_ID}) and for the calls made with an \
             access token",
            app_label(&app.client_id),
        ))
        .with_diagnosis(diagnosis::HTTPSIG_KEYID_FORM));
    }
    if request.header(CERTIFICATE_HEADER).is_some() {
        return Err(unauthorized(format!(
            "keyId is the client_id {}: this token request carries no {CERTIFICATE_HEADER} \
             header (the application's certificates are registered with its client_id); leave \
             the header out, or use keyId=\"SN=<serial>\" for a PSD2 application",
            app.client_id
        ))
        .with_diagnosis(diagnosis::HTTPSIG_CERTIFICATE_HEADER));
    }
    if let Some(other) = form.client_id.filter(|c| *c != app.client_id) {
        return Err(unauthorized(format!(
            "The form's client_id {other} is not the keyId's client_id {}",
            app.client_id
        ))
        .with_diagnosis(diagnosis::HTTPSIG_KEYID_FORM));
    }
    Ok(())
}
