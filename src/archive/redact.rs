//! The archived copy of a request, with its secrets replaced: bearer tokens, subscription keys,
//! cookies, and the codes, secrets and assertions of form bodies. Each is replaced by
//! `«redacted sha256:…»` (the flow context's [`fingerprint`]), so `obconform explain` can still
//! tell which token or code a request carried without the file being able to replay it.
//!
//! Signatures stay: they are what `explain` re-verifies, and they are bound to a `Date` / `sigT`
//! valid for three minutes. A header the request's signature covers stays too, or the signature
//! could not be checked (ING never signs `Authorization`). The request line has its known secrets
//! replaced, signed or not.

use crate::redact::{CREDENTIAL_HEADERS, is_secret_field};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use obconform_core::diagnose::ORIGINAL_BODY_HEADER;
use obconform_core::diagnose::flow::fingerprint;
use obconform_core::sign::message::{Message, request_target_of_url};
use obconform_core::sign::{http_signature, jws};
use obconform_core::wire::{HttpRequest, find_header};

/// What stands in for a secret in an archived request.
pub fn marker(secret: &str) -> String {
    format!("«redacted {}»", fingerprint(secret))
}

/// The copy of `request` to archive: secrets replaced, and when the body changed, an
/// [`ORIGINAL_BODY_HEADER`] with the SHA-256 of the body as sent (what `Digest` was made over).
pub fn redact(request: &HttpRequest) -> HttpRequest {
    redact_with(request, &[])
}

/// As [`redact`], and every value the run knows to be secret (captured or marked secret) is
/// replaced too, wherever it is but in a signed header.
pub fn redact_with(request: &HttpRequest, known: &[(&str, &str)]) -> HttpRequest {
    let signed = signed_headers(request);
    let mut copy = request.clone();
    // The request line too (a token in a query string), even under a signature over
    // `(request-target)`: that signature then cannot be checked from the file, and `explain` says
    // so ([`signed_request_line_redacted`]) — a token outlives the signature's three minutes.
    copy.url = replace_known(&request.url, known);
    for (name, value) in &mut copy.headers {
        let lower = name.to_ascii_lowercase();
        if signed.contains(&lower) {
            continue;
        }
        if CREDENTIAL_HEADERS.contains(&lower.as_str()) {
            *value = redact_header(&lower, value);
        }
        *value = replace_known(value, known);
    }
    let mut body = match is_form(request) {
        true => redact_form(&request.body),
        false => None,
    };
    let text = String::from_utf8_lossy(body.as_deref().unwrap_or(&request.body)).into_owned();
    let replaced = replace_known(&text, known);
    if replaced != text {
        body = Some(replaced.into_bytes());
    }
    if let Some(body) = body {
        let original = openssl::sha::sha256(&request.body);
        copy.headers.push((
            ORIGINAL_BODY_HEADER.to_string(),
            format!("sha-256={}", STANDARD.encode(original)),
        ));
        copy.body = body;
    }
    copy
}

/// Every known secret, in any of its encoded forms, replaced by its [`marker`].
fn replace_known(text: &str, known: &[(&str, &str)]) -> String {
    crate::redact::replace_secrets(text, known, &|_, secret| marker(secret))
}

/// The request line of an archived request had a secret replaced by a [`marker`] while its
/// signature covers `(request-target)`: the signature cannot be checked from the file.
pub fn signed_request_line_redacted(message: &Message<'_>) -> bool {
    let redacted =
        message.target.contains("«redacted ") || message.target.contains("%C2%ABredacted");
    redacted && signed_in(message).iter().any(|h| h == "(request-target)")
}

/// The lower-case names of the headers the request's HTTP signature or JWS covers.
fn signed_headers(request: &HttpRequest) -> Vec<String> {
    let target = request_target_of_url(&request.url).unwrap_or_default();
    signed_in(&Message::of(request, &target))
}

fn signed_in(message: &Message<'_>) -> Vec<String> {
    let mut names = Vec::new();
    if let Ok((_, params)) = http_signature::locate(message) {
        names.extend(params.headers);
    }
    if let Some(value) = message.header("x-jws-signature")
        && let Ok(parsed) = jws::parse(&value)
    {
        names.extend(parsed.pars.iter().map(|p| p.to_ascii_lowercase()));
    }
    names
}

/// `Bearer «redacted …»` for authorizations (the scheme stays: it tells the token's kind; an
/// HTTP signature in `Authorization` stays whole), the whole value otherwise.
fn redact_header(lower_name: &str, value: &str) -> String {
    if lower_name.ends_with("authorization") {
        let (scheme, credentials) = value.split_once(' ').unwrap_or((value, ""));
        let credentials = credentials.trim();
        if scheme.eq_ignore_ascii_case("signature") || credentials.is_empty() {
            return value.to_string();
        }
        return format!("{scheme} {}", marker(credentials));
    }
    marker(value.trim())
}

fn is_form(request: &HttpRequest) -> bool {
    find_header(&request.headers, "content-type").is_some_and(|ct| {
        ct.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    })
}

/// The form with secret fields' values replaced, other pairs byte for byte as sent; `None` when
/// there is nothing to replace.
fn redact_form(body: &[u8]) -> Option<Vec<u8>> {
    let mut changed = false;
    let pairs: Vec<Vec<u8>> = body
        .split(|b| *b == b'&')
        .map(|pair| {
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(eq) => (&pair[..eq], &pair[eq + 1..]),
                None => (pair, &b""[..]),
            };
            let decoded_name = decode(name);
            if value.is_empty() || !is_secret_field(&decoded_name) {
                return pair.to_vec();
            }
            changed = true;
            let replacement: String =
                form_urlencoded::byte_serialize(marker(&decode(value)).as_bytes()).collect();
            [name, b"=", replacement.as_bytes()].concat()
        })
        .collect();
    changed.then(|| pairs.join(&b'&'))
}

/// A form component decoded (`+` is a space), as the server reads it.
fn decode(component: &[u8]) -> String {
    form_urlencoded::parse([b"x=", component].concat().as_slice())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)], body: &str) -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            url: "https://api.example.com/oauth2/token".into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn text(request: &HttpRequest) -> String {
        String::from_utf8(crate::archive::http_file::format(request)).unwrap()
    }

    #[test]
    fn a_secret_in_the_request_line_is_replaced_signed_or_not() {
        let token = "tok-in-the-query-123456";
        for signed_headers in ["date", "(request-target) date"] {
            let mut sent = request(
                &[(
                    "Signature",
                    &format!("keyId=\"x\",headers=\"{signed_headers}\",signature=\"c2ln\""),
                )],
                "",
            );
            sent.url = format!("https://api.example.com/me?t={token}");
            let archived = redact_with(&sent, &[("app_token", token)]);
            assert!(!archived.url.contains(token), "{}", archived.url);
            assert!(archived.url.contains(&marker(token)), "{}", archived.url);
            let target = request_target_of_url(&archived.url).unwrap();
            let covers_target = signed_headers.contains("(request-target)");
            assert_eq!(
                signed_request_line_redacted(&Message::of(&archived, &target)),
                covers_target
            );
        }
    }

    const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

    #[test]
    fn bearer_tokens_keys_and_cookies_are_replaced_by_their_fingerprint() {
        let token = "eyJhbGciOiJub25lIn0.c2VjcmV0LXRva2Vu.";
        let sent = request(
            &[
                ("Authorization", &format!("Bearer {token}")),
                ("Subscription-Key", "sub-key-123456"),
                ("ocp-apim-subscription-key", "apim-key-123456"),
                ("Cookie", "session=cookie-secret-1"),
                ("X-Request-ID", "kept-as-is"),
            ],
            "",
        );
        let archived = redact(&sent);
        let out = text(&archived);
        for secret in [
            token,
            "sub-key-123456",
            "apim-key-123456",
            "cookie-secret-1",
        ] {
            assert!(!out.contains(secret), "{secret} in\n{out}");
        }
        assert_eq!(
            archived.header("authorization"),
            Some(format!("Bearer «redacted {}»", fingerprint(token)).as_str())
        );
        assert_eq!(archived.header("x-request-id"), Some("kept-as-is"));
        // Nothing in the body changed: no original-body header.
        assert_eq!(archived.header(ORIGINAL_BODY_HEADER), None);
        assert_eq!(archived.body, sent.body);
    }

    #[test]
    fn values_known_to_be_secret_go_too_but_not_from_signed_headers() {
        let sent = request(
            &[
                ("X-Note", "ref=planted-ref-123456"),
                ("X-Request-ID", "planted-ref-123456"),
                (
                    "Signature",
                    "keyId=\"x\",headers=\"x-request-id\",signature=\"c2ln\"",
                ),
                ("Content-Type", "application/json"),
            ],
            r#"{"ref":"planted-ref-123456"}"#,
        );
        let archived = redact_with(&sent, &[("ref", "planted-ref-123456")]);
        let marked = marker("planted-ref-123456");
        assert_eq!(
            archived.header("x-note"),
            Some(format!("ref={marked}").as_str())
        );
        // Signed: kept, or explain could not re-verify the signature.
        assert_eq!(archived.header("x-request-id"), Some("planted-ref-123456"));
        assert_eq!(
            archived.body,
            format!(r#"{{"ref":"{marked}"}}"#).into_bytes()
        );
        let original = STANDARD.encode(openssl::sha::sha256(&sent.body));
        assert_eq!(
            archived.header(ORIGINAL_BODY_HEADER),
            Some(format!("sha-256={original}").as_str())
        );
    }

    #[test]
    fn signatures_and_signed_headers_stay() {
        let app_token = "Signature keyId=\"SN=5E4299BE\",algorithm=\"rsa-sha256\",headers=\"(request-target) date digest\",signature=\"c2ln\"";
        let archived = redact(&request(&[("Authorization", app_token)], ""));
        assert_eq!(archived.header("authorization"), Some(app_token));

        // A signature covering `authorization` keeps the bearer token verifiable.
        let signed = request(
            &[
                ("Authorization", "Bearer tok-123456"),
                (
                    "Signature",
                    "keyId=\"x\",headers=\"date authorization\",signature=\"c2ln\"",
                ),
                ("Subscription-Key", "sub-key-123456"),
            ],
            "",
        );
        let archived = redact(&signed);
        assert_eq!(archived.header("authorization"), Some("Bearer tok-123456"));
        assert_eq!(archived.header("signature"), signed.header("signature"));
        assert!(
            archived
                .header("subscription-key")
                .unwrap()
                .starts_with("«redacted sha256:")
        );
    }

    #[test]
    fn form_secrets_are_replaced_and_the_body_stays_a_form() {
        let code = "8b6cd77a-aa44-4527-ab08-a58d70cca286";
        let secret = "s3cr3t+/=&value";
        let body = format!(
            "grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fexample.com%2Fcb&client_secret={}&code_verifier=verifier-123456&scope=a+b",
            form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>()
        );
        let sent = request(&[FORM, ("Digest", "SHA-256=x")], &body);
        let archived = redact(&sent);
        let out = text(&archived);
        for value in [code, "s3cr3t", "verifier-123456"] {
            assert!(!out.contains(value), "{value} in\n{out}");
        }
        let fields: Vec<(String, String)> = form_urlencoded::parse(&archived.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let field = |name: &str| fields.iter().find(|(k, _)| k == name).unwrap().1.clone();
        assert_eq!(field("code"), marker(code));
        assert_eq!(field("client_secret"), marker(secret));
        assert_eq!(field("code_verifier"), marker("verifier-123456"));
        // Other pairs are as sent, byte for byte.
        let archived_body = String::from_utf8(archived.body.clone()).unwrap();
        assert!(
            archived_body
                .starts_with("grant_type=authorization_code&code=%C2%ABredacted+sha256%3A")
        );
        assert!(archived_body.contains("&redirect_uri=https%3A%2F%2Fexample.com%2Fcb&"));
        assert!(archived_body.ends_with("&scope=a+b"));
        // The digest of the body as sent is recorded.
        let recorded = archived.header(ORIGINAL_BODY_HEADER).unwrap();
        let expected = obconform_core::sign::digest::sha256_digest(body.as_bytes());
        assert_eq!(
            recorded,
            format!("sha-256={}", &expected["SHA-256=".len()..])
        );
        assert_eq!(archived.header("digest"), Some("SHA-256=x"));
    }

    #[test]
    fn forms_without_secrets_and_other_bodies_are_left_alone() {
        let form = request(&[FORM], "grant_type=client_credentials&scope=x");
        assert_eq!(redact(&form), form);
        let json = request(
            &[("Content-Type", "application/json")],
            "{\"code\":\"not-a-form\"}",
        );
        assert_eq!(redact(&json), json);
        // Empty values and valueless names are not secrets to hide.
        let empty = request(
            &[(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )],
            "code=&password",
        );
        assert_eq!(redact(&empty), empty);
        let with_charset = request(
            &[(
                "content-type",
                "Application/X-WWW-Form-Urlencoded; charset=utf-8",
            )],
            "refresh_token=rt-123456",
        );
        assert!(!text(&redact(&with_charset)).contains("rt-123456"));
    }
}
