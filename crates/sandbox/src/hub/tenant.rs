//! The tenant (the client certificate) and its registered URLs:
//! `PUT /sandbox/management-resources/api/tenant/urls` `{"redirectUrls": [..],
//! "updateCallbackUrls": [..]}` replaces both lists (redirect URLs mandatory, callbacks
//! optional); `GET` reads them back. Consents and updates may only name registered URLs.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use reqwest::Url;
use serde::{Deserialize, Serialize};

use super::error::{HubError, json_body, reply};
use super::store::{TenantId, TenantUrls};
use crate::hub::HubContext;
use crate::kernel::tls::PeerCertificate;

/// The tenant behind a request: the SHA-256 of its TLS client certificate.
pub fn tenant_of(cert: Option<Extension<PeerCertificate>>) -> Result<TenantId, HubError> {
    cert.map(|Extension(cert)| *cert.sha256()).ok_or_else(|| {
        HubError::new(
            StatusCode::UNAUTHORIZED,
            "A TLS client certificate identifies the tenant; none was presented",
        )
    })
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UrlsBody {
    #[serde(default)]
    redirect_urls: Vec<String>,
    #[serde(default)]
    update_callback_urls: Vec<String>,
}

impl From<&TenantUrls> for UrlsBody {
    fn from(urls: &TenantUrls) -> Self {
        Self {
            redirect_urls: urls.redirect_urls.clone(),
            update_callback_urls: urls.update_callback_urls.clone(),
        }
    }
}

pub async fn put_urls(
    State(state): State<HubContext>,
    cert: Option<Extension<PeerCertificate>>,
    body: Bytes,
) -> Response {
    reply(StatusCode::OK, put(&state, cert, &body))
}

fn put(
    state: &HubContext,
    cert: Option<Extension<PeerCertificate>>,
    body: &[u8],
) -> Result<UrlsBody, HubError> {
    let tenant = tenant_of(cert)?;
    let body: UrlsBody = json_body(body)?;
    if body.redirect_urls.is_empty() {
        return Err(HubError::bad_request(
            "redirectUrls is mandatory: register at least one redirect URL",
        ));
    }
    for (field, urls) in [
        ("redirectUrls", &body.redirect_urls),
        ("updateCallbackUrls", &body.update_callback_urls),
    ] {
        for url in urls {
            check_url(field, url)?;
        }
    }
    let urls = TenantUrls {
        redirect_urls: body.redirect_urls,
        update_callback_urls: body.update_callback_urls,
    };
    let answer = UrlsBody::from(&urls);
    state.hub.with_tenant(&tenant, |t| t.urls = urls);
    Ok(answer)
}

pub async fn get_urls(
    State(state): State<HubContext>,
    cert: Option<Extension<PeerCertificate>>,
) -> Response {
    let urls =
        tenant_of(cert).map(|tenant| state.hub.with_tenant(&tenant, |t| UrlsBody::from(&t.urls)));
    reply(StatusCode::OK, urls)
}

/// An absolute `http`/`https` URL without a fragment.
fn check_url(field: &str, url: &str) -> Result<(), HubError> {
    let parsed = Url::parse(url).map_err(|e| {
        HubError::bad_request(format!("{field}: `{url}` is not an absolute URL ({e})"))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.fragment().is_some() {
        return Err(HubError::bad_request(format!(
            "{field}: `{url}` must be an http(s) URL without a fragment"
        )));
    }
    Ok(())
}

/// Whether `url` is one of `registered` (exact match, as OAuth redirect URIs are compared).
pub fn is_registered(registered: &[String], url: &str) -> bool {
    registered.iter().any(|r| r == url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_absolute_http_without_fragment() {
        assert!(check_url("redirectUrls", "https://tpp.example/back").is_ok());
        assert!(check_url("redirectUrls", "http://127.0.0.1:8080/cb?x=1").is_ok());
        for bad in [
            "/relative",
            "ftp://tpp.example/",
            "https://tpp.example/#frag",
            "string",
        ] {
            let err = check_url("redirectUrls", bad).unwrap_err();
            assert!(err.message.contains("redirectUrls"), "{}", err.message);
        }
    }

    #[test]
    fn registration_is_an_exact_match() {
        let registered = vec!["https://tpp.example/back".to_string()];
        assert!(is_registered(&registered, "https://tpp.example/back"));
        assert!(!is_registered(&registered, "https://tpp.example/back/"));
        assert!(!is_registered(&registered, "https://tpp.example/back?x=1"));
    }
}
