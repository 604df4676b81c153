//! Keeping secrets out of every output: tokens, codes, client secrets, signatures, keys.
//!
//! Three layers: header values by name, JSON and form fields by name, and any value the run knows
//! to be secret (captured secrets, secret-named variables, the environment's secrets) wherever it
//! appears as text — as is, percent-encoded (`%20` or `+` for a space), and base64 or base64url
//! encoded (padded or not): [`encoded_forms`].
//!
//! Short values (under [`SHORT_SECRET`] characters) are redacted too, but only where they stand
//! alone: not next to a letter, digit, `_` or `-` — so a 4-digit PIN is blanked in `pin=1234` or
//! `"1234"`, not inside `/accounts/NL12341234`.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// Headers whose value is a credential (after the scheme, for authorizations).
pub(crate) const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "subscription-key",
    // Azure API Management's default name for the same key.
    "ocp-apim-subscription-key",
    "cookie",
    "set-cookie",
    "proxy-authorization",
];

/// Headers that carry a signature: blanked in output, kept in the request archive (`obconform
/// explain` re-verifies them; they are bound to a Date / sigT good for 3 minutes).
pub(crate) const SIGNATURE_HEADERS: &[&str] = &["signature", "x-jws-signature"];

pub(crate) fn is_secret_header(lower_name: &str) -> bool {
    CREDENTIAL_HEADERS.contains(&lower_name) || SIGNATURE_HEADERS.contains(&lower_name)
}

/// Field names whose values are secret wherever they appear (JSON keys, form fields).
const SECRET_FIELDS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "code",
    "client_secret",
    "client_assertion",
    "password",
    "private_key",
    "token",
    "assertion",
    "code_verifier",
];

/// Whether a JSON or form field of this name holds a secret.
pub(crate) fn is_secret_field(name: &str) -> bool {
    SECRET_FIELDS.contains(&name.to_ascii_lowercase().as_str())
}

/// Whether a capture or variable name suggests a secret value.
pub fn looks_secret(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        "token",
        "code",
        "secret",
        "password",
        "passphrase",
        "key",
        "signature",
        "assertion",
    ]
    .iter()
    .any(|word| lower.contains(word))
}

pub const REDACTED: &str = "[redacted]";

/// Secrets shorter than this are redacted only where they stand alone (see the module docs).
pub const SHORT_SECRET: usize = 6;

/// Every way `value` may be written in a URL, header, body or snapshot: as is, percent-encoded
/// (form style with `+` for a space, and `%20`), base64 and base64url (padded and not). Distinct,
/// longest first.
pub fn encoded_forms(value: &str) -> Vec<String> {
    if value.is_empty() {
        return Vec::new();
    }
    let form: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
    let mut forms = vec![
        value.to_string(),
        form.replace('+', "%20"),
        form,
        STANDARD.encode(value),
        STANDARD_NO_PAD.encode(value),
        URL_SAFE.encode(value),
        URL_SAFE_NO_PAD.encode(value),
    ];
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    let mut seen = Vec::new();
    forms.retain(|f| {
        let new = !seen.contains(f);
        seen.push(f.clone());
        new
    });
    forms
}

fn word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// Where `form` (a form of a secret `raw_len` bytes long) first occurs in `text` at or after
/// `from`; a short secret's form only where it stands alone.
pub fn find_form(text: &[u8], form: &[u8], raw_len: usize, from: usize) -> Option<usize> {
    if form.is_empty() || text.len() < form.len() {
        return None;
    }
    let mut at = from;
    while at + form.len() <= text.len() {
        let hit = text[at..].windows(form.len()).position(|w| w == form)? + at;
        let alone = raw_len >= SHORT_SECRET
            || ((hit == 0 || !word_byte(text[hit - 1]))
                && text.get(hit + form.len()).is_none_or(|b| !word_byte(*b)));
        if alone {
            return Some(hit);
        }
        at = hit + 1;
    }
    None
}

/// `text` with every form of every `known` secret (name, value) replaced by `marker(name, value)`.
pub fn replace_secrets(
    text: &str,
    known: &[(&str, &str)],
    marker: &dyn Fn(&str, &str) -> String,
) -> String {
    let mut forms: Vec<(usize, String, usize)> = Vec::new();
    for (i, (_, value)) in known.iter().enumerate() {
        forms.extend(
            encoded_forms(value)
                .into_iter()
                .map(|f| (i, f, value.len())),
        );
    }
    forms.sort_by_key(|(_, f, _)| std::cmp::Reverse(f.len()));
    let mut out = text.to_string();
    for (i, form, raw_len) in forms {
        if !out.contains(form.as_str()) {
            continue;
        }
        let (name, value) = known[i];
        let replacement = marker(name, value);
        let mut result = String::with_capacity(out.len());
        let bytes = out.as_bytes();
        let mut at = 0;
        while let Some(hit) = find_form(bytes, form.as_bytes(), raw_len, at) {
            result.push_str(&out[at..hit]);
            result.push_str(&replacement);
            at = hit + form.len();
        }
        result.push_str(&out[at..]);
        out = result;
    }
    out
}

#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// (name, value) of every secret value known to the run.
    secrets: Vec<(String, String)>,
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// A redactor that knows the secret-looking values of an environment's `vars` (e.g. a
    /// partner's `client_secret` or `subscription_key`, read from `partner-api.env`), shown as
    /// `[redacted:env.NAME]` wherever they appear.
    pub fn with_env_vars(vars: &[(String, String)]) -> Self {
        let mut redactor = Self::new();
        for (name, value) in vars {
            if looks_secret(name) {
                redactor.add_secret(&format!("env.{name}"), value);
            }
        }
        redactor
    }

    /// Remembers a secret value; later text containing it (in any of its [`encoded_forms`]) shows
    /// `[redacted:name]` instead. A short value is redacted only where it stands alone.
    pub fn add_secret(&mut self, name: &str, value: &str) {
        if !value.is_empty() && !self.secrets.iter().any(|(_, v)| v == value) {
            self.secrets.push((name.to_string(), value.to_string()));
            // Longest first, so a secret containing another is replaced whole.
            self.secrets
                .sort_by_key(|(_, value)| std::cmp::Reverse(value.len()));
        }
    }

    /// Every secret value known to the run, as (name, value), longest first.
    pub fn secrets(&self) -> impl Iterator<Item = (&str, &str)> {
        self.secrets.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    pub fn text(&self, text: &str) -> String {
        let known: Vec<(&str, &str)> = self.secrets().collect();
        replace_secrets(text, &known, &|name, _| format!("[redacted:{name}]"))
    }

    /// A URL or request target: secret-named query parameters, then known secrets.
    pub fn url(&self, url: &str) -> String {
        self.text(&redact_url_query(url))
    }

    pub fn header(&self, name: &str, value: &str) -> String {
        if is_secret_header(&name.to_ascii_lowercase()) {
            // Keep the scheme (Bearer, Signature, Basic): it says which flow was used.
            match value.split_once(' ') {
                Some((scheme, _)) if name.eq_ignore_ascii_case("authorization") => {
                    format!("{scheme} {REDACTED}")
                }
                _ => REDACTED.to_string(),
            }
        } else if name.eq_ignore_ascii_case("location") {
            // A redirect carries the authorization code in its query.
            self.text(&redact_url_query(value))
        } else {
            self.text(value)
        }
    }

    /// A body for display: JSON and form fields with secret names blanked, then known secrets.
    pub fn body(&self, body: &[u8], content_type: Option<&str>) -> String {
        let text = String::from_utf8_lossy(body);
        let content_type = content_type.unwrap_or_default().to_ascii_lowercase();
        if let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(body) {
            redact_json_fields(&mut json);
            return self.text(&serde_json::to_string_pretty(&json).unwrap_or_default());
        }
        if content_type.contains("x-www-form-urlencoded") {
            return self.text(&redact_form(&text));
        }
        self.text(&text)
    }
}

/// Fields that make a JSON object an error message (ING's `tppMessages[]` `{category, code,
/// text}`, the hub's `{severity, code, …}`, RFC 7807 problems): its `code` is the error code a
/// conformance report exists to show, not an authorization code.
const ERROR_OBJECT_FIELDS: &[&str] = &["category", "severity", "text", "title", "status"];

/// Whether a `code` value reads as an error code (`CONSENT_INVALID`, `invalid_grant`,
/// `Unauthorized`) rather than an authorization code (128 hex digits, a UUID, random text).
fn reads_as_error_code(value: &serde_json::Value) -> bool {
    let Some(text) = value.as_str() else {
        // A number (`"code": 401`) is a status, not a credential.
        return value.is_number();
    };
    let word_like = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    let letters_only = text.chars().all(|c| c.is_ascii_alphabetic());
    !text.is_empty() && text.len() <= 40 && word_like && (letters_only || text.contains('_'))
}

/// Blanks the values of secret-named fields anywhere in a JSON document — but not an error code
/// (`tppMessages[].code`, or any `code` that reads as one) — and secret query parameters of the
/// URLs it holds (a consent answer's `{"location": "…?code=…"}`).
pub fn redact_json_fields(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            let error_object = map
                .keys()
                .any(|k| ERROR_OBJECT_FIELDS.contains(&k.to_ascii_lowercase().as_str()));
            for (key, v) in map.iter_mut() {
                let error_code =
                    key.eq_ignore_ascii_case("code") && (error_object || reads_as_error_code(v));
                if is_secret_field(key) && !v.is_null() && !error_code {
                    *v = serde_json::Value::String(REDACTED.into());
                } else {
                    redact_json_fields(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json_fields),
        serde_json::Value::String(text) if text.contains('?') && looks_like_url(text) => {
            *text = redact_url_query(text);
        }
        _ => {}
    }
}

fn looks_like_url(text: &str) -> bool {
    text.starts_with("https://") || text.starts_with("http://") || text.starts_with('/')
}

/// Blanks secret-named fields of a form body, keeping everything else byte for byte.
pub fn redact_form(body: &str) -> String {
    body.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_field(name) => {
                format!("{name}={REDACTED}")
            }
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Blanks secret-named query parameters of a URL (`…?state=x&code=[redacted]`).
pub fn redact_url_query(url: &str) -> String {
    match url.split_once('?') {
        Some((base, rest)) => {
            let (query, fragment) = match rest.split_once('#') {
                Some((query, fragment)) => (query, Some(fragment)),
                None => (rest, None),
            };
            let mut out = format!("{base}?{}", redact_form(query));
            if let Some(fragment) = fragment {
                out.push('#');
                out.push_str(fragment);
            }
            out
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_code_stays_and_an_authorization_code_goes() {
        let mut json = serde_json::json!({
            "tppMessages": [{"category": "ERROR", "code": "CONSENT_INVALID", "text": "no"}],
            "errors": [{"severity": "ERROR", "code": "TENANT_UNKNOWN"}],
            "code": "a-secret-authorization-code",
            "grant": {"code": "another-secret", "state": "s"}
        });
        redact_json_fields(&mut json);
        assert_eq!(json["tppMessages"][0]["code"], "CONSENT_INVALID");
        assert_eq!(json["errors"][0]["code"], "TENANT_UNKNOWN");
        assert_eq!(json["code"], REDACTED);
        assert_eq!(json["grant"]["code"], REDACTED);
    }

    #[test]
    fn codes_are_judged_by_what_they_are_not_by_their_name() {
        let hex_code = "ab12".repeat(32);
        let mut json = serde_json::json!({
            "a": {"code": "invalid_grant", "message": "no"},
            "b": {"code": "Unauthorized"},
            "c": {"code": 401},
            "d": {"code": hex_code},
            "e": {"code": "5ca1ab1e-c0ca-c01a-cafe-154deadbea75"},
            "location": format!("https://example.com/cb?state=s&code={hex_code}"),
        });
        redact_json_fields(&mut json);
        assert_eq!(json["a"]["code"], "invalid_grant");
        assert_eq!(json["b"]["code"], "Unauthorized");
        assert_eq!(json["c"]["code"], 401);
        assert_eq!(json["d"]["code"], REDACTED);
        assert_eq!(json["e"]["code"], REDACTED);
        assert_eq!(
            json["location"],
            format!("https://example.com/cb?state=s&code={REDACTED}")
        );
    }

    #[test]
    fn known_secrets_are_replaced_everywhere() {
        let mut r = Redactor::new();
        r.add_secret("app_token", "tok-1234567890");
        let out = r.text("Bearer tok-1234567890 and again tok-1234567890");
        assert!(!out.contains("tok-1234567890"), "{out}");
        assert!(out.contains("[redacted:app_token]"));
    }

    #[test]
    fn known_secrets_are_found_encoded() {
        let mut r = Redactor::new();
        r.add_secret("client_secret", "s3cr3t value+/?");
        let secret = "s3cr3t value+/?";
        let form: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        for written in [
            secret.to_string(),
            form.clone(),
            form.replace('+', "%20"),
            STANDARD.encode(secret),
            URL_SAFE_NO_PAD.encode(secret),
        ] {
            let out = r.url(&format!("https://bank/me?t={written}&x=1"));
            assert_eq!(out, "https://bank/me?t=[redacted:client_secret]&x=1");
        }
    }

    #[test]
    fn short_secrets_are_redacted_where_they_stand_alone() {
        let mut r = Redactor::new();
        r.add_secret("pin", "1234");
        assert_eq!(r.text("pin=1234&a=b"), "pin=[redacted:pin]&a=b");
        assert_eq!(r.text(r#"{"p":"1234"}"#), r#"{"p":"[redacted:pin]"}"#);
        assert_eq!(r.text("/accounts/NL12341234x"), "/accounts/NL12341234x");
        assert_eq!(r.text("12345"), "12345");
    }

    #[test]
    fn authorization_keeps_its_scheme_only() {
        let r = Redactor::new();
        assert_eq!(
            r.header("Authorization", "Bearer abc.def"),
            "Bearer [redacted]"
        );
        assert_eq!(r.header("X-JWS-Signature", "eyJ..sig"), REDACTED);
        assert_eq!(
            r.header("Content-Type", "application/json"),
            "application/json"
        );
    }

    #[test]
    fn json_and_form_fields_are_blanked() {
        let r = Redactor::new();
        let out = r.body(
            br#"{"access_token":"s3cr3t-value","expires_in":905,"nested":{"refresh_token":"r"}}"#,
            Some("application/json"),
        );
        assert!(
            !out.contains("s3cr3t-value") && out.contains("905"),
            "{out}"
        );
        assert!(!out.contains("\"r\""), "{out}");
        let form = r.body(
            b"grant_type=authorization_code&code=abc123&client_secret=zz",
            Some("application/x-www-form-urlencoded"),
        );
        assert_eq!(
            form,
            "grant_type=authorization_code&code=[redacted]&client_secret=[redacted]"
        );
    }

    #[test]
    fn partner_api_secrets_are_blanked() {
        let r = Redactor::new();
        for name in [
            "Subscription-Key",
            "subscription-key",
            "Ocp-Apim-Subscription-Key",
        ] {
            assert_eq!(r.header(name, "0123456789abcdef0123456789abcdef"), REDACTED);
        }
        assert_eq!(r.header("Partner-Company-Id", "c0mpany"), "c0mpany");
        let form = r.body(
            b"grant_type=client_credentials&client_id=4e1c&client_secret=s3cr3t-s3cr3t&scope=x",
            Some("application/x-www-form-urlencoded"),
        );
        assert_eq!(
            form,
            "grant_type=client_credentials&client_id=4e1c&client_secret=[redacted]&scope=x"
        );
        let form = r.body(
            b"client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=eyJh.eyJp.c2ln",
            Some("application/x-www-form-urlencoded"),
        );
        assert!(
            form.ends_with("&client_assertion=[redacted]") && !form.contains("eyJ"),
            "{form}"
        );
        let token = r.body(
            br#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ0eXAi.x.y"}"#,
            Some("application/json"),
        );
        assert!(
            !token.contains("eyJ0eXAi") && token.contains("3599"),
            "{token}"
        );
        assert!(looks_secret("subscription_key") && looks_secret("partner_client_secret"));
    }

    #[test]
    fn secret_looking_environment_vars_are_known_secrets() {
        let vars = [
            ("client_secret".to_string(), "s3cr3t-s3cr3t".to_string()),
            ("subscription_key".into(), "0123456789abcdef".into()),
            ("company_id".into(), "c0mpany-id".into()),
        ];
        let r = Redactor::with_env_vars(&vars);
        assert_eq!(
            r.text("failed with s3cr3t-s3cr3t and 0123456789abcdef for c0mpany-id"),
            "failed with [redacted:env.client_secret] and [redacted:env.subscription_key] for c0mpany-id"
        );
    }

    #[test]
    fn a_redirects_code_is_blanked() {
        let r = Redactor::new();
        assert_eq!(
            r.header(
                "Location",
                "https://www.example.com/?state=s1&code=c0de-123#x"
            ),
            "https://www.example.com/?state=s1&code=[redacted]#x"
        );
        assert_eq!(r.header("Location", "/v1/payments/x"), "/v1/payments/x");
    }

    #[test]
    fn secret_looking_names() {
        assert!(looks_secret("app_token") && looks_secret("code") && looks_secret("client_secret"));
        assert!(!looks_secret("client_id") && !looks_secret("account_id"));
    }
}
