//! Keeping the flow context up to date from the exchanges of a run: tokens the bank issued (and
//! how they were asked for), codes the customer's consent returned, codes exchanged, and the
//! registration as last read. Only fingerprints of secrets are kept.

use super::flow::{CodeFact, FlowContext, RegistrationFact, TokenFact, TokenMode, fingerprint};
use crate::sign::message::request_target_of_url;
use crate::wire::HttpRequest;
use crate::wire::HttpResponse;
use serde_json::Value;

impl FlowContext {
    /// Learns from one exchange, `at` Unix seconds.
    pub fn observe(&mut self, request: &HttpRequest, response: &HttpResponse, at: u64) {
        let Ok(target) = request_target_of_url(&request.url) else {
            return;
        };
        let path = target.split('?').next().unwrap_or(&target);
        let ok = (200..300).contains(&response.status);
        if let Some(location) = response.header("location") {
            self.observe_redirect(&request.url, location, at);
        }
        if !ok {
            return;
        }
        let json: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        match (request.method.to_ascii_uppercase().as_str(), path) {
            ("POST", "/oauth2/token") => self.observe_token(request, &json, at),
            ("GET", p) | ("PUT", p) if p.starts_with("/oauth2/applications/") => {
                self.registration =
                    application_of(json).map(|metadata| RegistrationFact { metadata });
            }
            ("POST", "/oauth2/applications") => {
                self.registration =
                    application_of(json).map(|metadata| RegistrationFact { metadata });
            }
            _ => {}
        }
    }

    fn observe_token(&mut self, request: &HttpRequest, json: &Value, at: u64) {
        let form = |name: &str| {
            form_urlencoded::parse(&request.body)
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        if form("grant_type").as_deref() == Some("authorization_code")
            && let Some(code) = form("code")
        {
            let print = fingerprint(&code);
            if let Some(fact) = self.codes.iter_mut().find(|c| c.fingerprint == print) {
                fact.exchanged_at = Some(at);
            }
        }
        let Some(token) = json.get("access_token").and_then(Value::as_str) else {
            return;
        };
        let signed = request.headers.iter().any(|(name, value)| {
            name.eq_ignore_ascii_case("signature")
                || name.eq_ignore_ascii_case("authorization")
                    && value
                        .get(..10)
                        .is_some_and(|s| s.eq_ignore_ascii_case("signature "))
        });
        self.tokens.push(TokenFact {
            fingerprint: fingerprint(token),
            mode: if signed {
                TokenMode::Signed
            } else {
                TokenMode::MtlsOnly
            },
            scopes: json
                .get("scope")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            issued_at: at,
            expires_in: json
                .get("expires_in")
                .and_then(Value::as_u64)
                .unwrap_or(900),
        });
    }

    /// A consent that ended in a redirect to the client with a code: the redirect_uri is where
    /// the bank sent the customer back (the Location without `code` and `state`), else the
    /// consent URL's `redirect_uri`.
    fn observe_redirect(&mut self, consent_url: &str, location: &str, at: u64) {
        let query = |url: &str, name: &str| {
            let query = url.split_once('?').map(|(_, q)| q)?;
            form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let Some(code) = query(location, "code") else {
            return;
        };
        self.codes.push(CodeFact {
            fingerprint: fingerprint(&code),
            issued_at: at,
            redirect_uri: redirect_target(location).or_else(|| query(consent_url, "redirect_uri")),
            exchanged_at: None,
        });
    }
}

/// The application in a registration answer: `{application: {..}}` (POST, PUT), `{applications:
/// [..]}` (GET /me: the token's own application) or the application itself (GET by id).
fn application_of(json: Value) -> Option<Value> {
    if let Some(app) = json.get("application") {
        return Some(app.clone());
    }
    if let Some(apps) = json.get("applications").and_then(Value::as_array) {
        return apps.first().cloned();
    }
    json.is_object().then_some(json)
}

/// `https://client.example/cb?code=…&state=…` → `https://client.example/cb`.
fn redirect_target(location: &str) -> Option<String> {
    let (base, query) = location.split_once('?')?;
    let kept: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k != "code" && k != "state")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        return Some(base.to_owned());
    }
    let rest = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .finish();
    Some(format!("{base}?{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> HttpRequest {
        HttpRequest {
            method: method.into(),
            url: url.into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn tokens_codes_and_exchanges_are_remembered_by_fingerprint() {
        let mut flow = FlowContext::default();
        flow.observe(
            &request(
                "POST",
                "https://bank/oauth2/token",
                &[("Authorization", "Signature keyId=\"SN=1\"")],
                "grant_type=client_credentials",
            ),
            &response(
                200,
                &[],
                r#"{"access_token":"T1","expires_in":900,"scope":"a b"}"#,
            ),
            100,
        );
        flow.observe(
            &request(
                "POST",
                "https://bank/oauth2/token",
                &[],
                "grant_type=client_credentials&client_id=x",
            ),
            &response(200, &[], r#"{"access_token":"T2","expires_in":900}"#),
            101,
        );
        assert_eq!(flow.tokens.len(), 2);
        assert_eq!(flow.tokens[0].mode, TokenMode::Signed);
        assert_eq!(flow.tokens[0].scopes, ["a", "b"]);
        assert_eq!(flow.tokens[1].mode, TokenMode::MtlsOnly);
        assert_eq!(flow.tokens[0].fingerprint, fingerprint("T1"));
        assert!(!serde_json::to_string(&flow).unwrap().contains("T1"));

        flow.observe(
            &request(
                "GET",
                "https://consent/authorize?redirect_uri=https%3A%2F%2Fx%2F",
                &[],
                "",
            ),
            &response(302, &[("Location", "https://x/?code=C1&state=s")], ""),
            102,
        );
        assert_eq!(flow.codes[0].redirect_uri.as_deref(), Some("https://x/"));
        flow.observe(
            &request("POST", "https://consent/granting/s/NL", &[], "profile=x"),
            &response(
                302,
                &[(
                    "Location",
                    "https://client.example/cb?tab=1&code=C2&state=s",
                )],
                "",
            ),
            102,
        );
        assert_eq!(
            flow.codes[1].redirect_uri.as_deref(),
            Some("https://client.example/cb?tab=1")
        );
        flow.observe(
            &request("GET", "https://bank/oauth2/applications/me", &[], ""),
            &response(200, &[], r#"{"contact":"c","applications":[{"client_id":"a","redirect_uris":["https://x/","https://y/"]}]}"#),
            102,
        );
        assert_eq!(flow.registration.as_ref().unwrap().redirect_uris().len(), 2);
        flow.observe(
            &request(
                "POST",
                "https://bank/oauth2/token",
                &[("Signature", "keyId=\"c\"")],
                "grant_type=authorization_code&code=C1",
            ),
            &response(200, &[], r#"{"access_token":"T3"}"#),
            103,
        );
        assert_eq!(flow.codes[0].exchanged_at, Some(103));
        assert_eq!(flow.tokens[2].mode, TokenMode::Signed);
    }
}
