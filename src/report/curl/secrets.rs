//! Which parts of a request are secret: credential headers, secret-named form, JSON and query
//! fields, and every value the run knows to be secret, wherever it appears. Each becomes a
//! shell variable; the rest stays literal, so putting the pieces together gives the request back.

use super::SecretVariable;
use crate::redact::{encoded_forms, find_form, is_secret_field, is_secret_header};

/// A stretch of a URL, header value or body: literal bytes, or one of the variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(Vec<u8>),
    Var(usize),
}

/// A field's name → (variable stem, where it is, how it is written).
type Describe = dyn Fn(&str) -> (String, String, &'static str);

/// Names the script sets itself; a secret never takes one of them.
const RESERVED: &[&str] = &[
    "OBCONFORM_TLS_CERT",
    "OBCONFORM_TLS_KEY",
    "OBCONFORM_CACERT",
];

/// The secrets found so far in one request, each value once.
pub struct Secrets<'a> {
    /// (name, value, the value's other encoded forms) of every secret the run knows, longest
    /// first.
    known: Vec<(&'a str, &'a str, Vec<String>)>,
    step: usize,
    pub variables: Vec<SecretVariable>,
}

impl<'a> Secrets<'a> {
    /// `known`: the run's secrets as (name, value); `step`: the step's number, for descriptions.
    pub fn new(known: &[(&'a str, &'a str)], step: usize) -> Self {
        let mut known: Vec<(&str, &str, Vec<String>)> = known
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|&(name, value)| {
                let mut encoded = encoded_forms(value);
                encoded.retain(|f| f != value);
                (name, value, encoded)
            })
            .collect();
        known.sort_by_key(|(_, value, _)| std::cmp::Reverse(value.len()));
        Secrets {
            known,
            step,
            variables: Vec::new(),
        }
    }

    /// The URL: secret-named query parameters, then known secrets anywhere.
    pub fn url(&mut self, url: &str) -> Vec<Piece> {
        let pieces = match url.split_once('?') {
            None => vec![Piece::Text(url.as_bytes().to_vec())],
            Some((base, rest)) => {
                let (query, fragment) = match rest.split_once('#') {
                    Some((query, fragment)) => (query, Some(fragment)),
                    None => (rest, None),
                };
                let mut pieces = vec![Piece::Text(format!("{base}?").into_bytes())];
                pieces.extend(self.pairs(query.as_bytes(), &|name| {
                    (
                        format!("QUERY_{}", upper_snake(name)),
                        format!("the {name} query parameter"),
                        "percent-encoded as sent",
                    )
                }));
                if let Some(fragment) = fragment {
                    pieces.push(Piece::Text(format!("#{fragment}").into_bytes()));
                }
                pieces
            }
        };
        self.scan(pieces, "the URL")
    }

    /// A header's value: credentials whole (an authorization's scheme stays literal), known
    /// secrets anywhere in the others.
    pub fn header(&mut self, name: &str, value: &str) -> Vec<Piece> {
        let lower = name.to_ascii_lowercase();
        if value.is_empty() || !is_secret_header(&lower) {
            let place = format!("the {name} header");
            return self.scan(vec![Piece::Text(value.as_bytes().to_vec())], &place);
        }
        let stem = upper_snake(lower.strip_prefix("x-").unwrap_or(&lower));
        if lower.ends_with("authorization")
            && let Some((scheme, credentials)) = value.split_once(' ')
            && !credentials.is_empty()
        {
            let what = match scheme.to_ascii_lowercase().as_str() {
                "bearer" => "the Bearer token".to_string(),
                "signature" => "the signature parameters (keyId, headers, signature)".to_string(),
                _ => format!("the {scheme} credentials"),
            };
            let var = self.bind(
                credentials,
                &stem,
                &format!("{what} in the {name} header"),
                "",
            );
            return vec![
                Piece::Text(format!("{scheme} ").into_bytes()),
                Piece::Var(var),
            ];
        }
        vec![Piece::Var(self.bind(
            value,
            &stem,
            &format!("the {name} header"),
            "",
        ))]
    }

    /// The body: secret-named fields of a form or a JSON document, then known secrets anywhere.
    pub fn body(&mut self, body: &[u8], content_type: Option<&str>) -> Vec<Piece> {
        let content_type = content_type.unwrap_or_default().to_ascii_lowercase();
        let pieces = if content_type.contains("x-www-form-urlencoded") {
            self.pairs(body, &|name| {
                (
                    format!("FORM_{}", upper_snake(name)),
                    format!("the {name} field of the form body"),
                    "form-encoded as sent",
                )
            })
        } else if serde_json::from_slice::<serde_json::Value>(body).is_ok() {
            self.json(body)
        } else {
            vec![Piece::Text(body.to_vec())]
        };
        self.scan(pieces, "the body")
    }

    /// `a=1&code=x`: the values of secret-named fields as variables.
    fn pairs(&mut self, text: &[u8], describe: &Describe) -> Vec<Piece> {
        let mut pieces = Vec::new();
        for (i, pair) in text.split(|&b| b == b'&').enumerate() {
            if i > 0 {
                pieces.push(Piece::Text(b"&".to_vec()));
            }
            let secret = pair.iter().position(|&b| b == b'=').and_then(|eq| {
                let name = std::str::from_utf8(&pair[..eq]).ok()?;
                let value = std::str::from_utf8(&pair[eq + 1..]).ok()?;
                (is_secret_field(name) && !value.is_empty()).then_some((name, value))
            });
            match secret {
                Some((name, value)) => {
                    let (stem, place, note) = describe(name);
                    pieces.push(Piece::Text(format!("{name}=").into_bytes()));
                    pieces.push(Piece::Var(self.bind(value, &stem, &place, note)));
                }
                None => pieces.push(Piece::Text(pair.to_vec())),
            }
        }
        pieces
    }

    /// A JSON document: the raw (still escaped) text of secret-named string fields as variables.
    fn json(&mut self, body: &[u8]) -> Vec<Piece> {
        let mut pieces = Vec::new();
        let mut at = 0;
        for (start, end, field) in json_secret_strings(body) {
            let Ok(value) = std::str::from_utf8(&body[start..end]) else {
                continue;
            };
            pieces.push(Piece::Text(body[at..start].to_vec()));
            let place = format!("the {field} field of the JSON body");
            let stem = format!("JSON_{}", upper_snake(&field));
            let note = "JSON-escaped as sent";
            pieces.push(Piece::Var(self.bind(value, &stem, &place, note)));
            at = end;
        }
        pieces.push(Piece::Text(body[at..].to_vec()));
        pieces
    }

    /// Known secrets (as they are, or form-encoded) inside the literal pieces.
    fn scan(&mut self, pieces: Vec<Piece>, place: &str) -> Vec<Piece> {
        let mut out = Vec::new();
        for piece in pieces {
            let Piece::Text(mut text) = piece else {
                out.push(piece);
                continue;
            };
            while let Some((at, len)) = self.first_known(&text) {
                let rest = text.split_off(at + len);
                let found = text.split_off(at);
                // Known secrets are text, so the match is too.
                let value = String::from_utf8_lossy(&found).into_owned();
                let var = self.bind(&value, "SECRET", place, "");
                out.push(Piece::Text(text));
                out.push(Piece::Var(var));
                text = rest;
            }
            out.push(Piece::Text(text));
        }
        merge(out)
    }

    /// Where the earliest known secret starts in `text`, and its length (the longest there).
    fn first_known(&self, text: &[u8]) -> Option<(usize, usize)> {
        let mut best: Option<(usize, usize)> = None;
        for (_, value, encoded) in &self.known {
            let needles =
                std::iter::once(value.as_bytes()).chain(encoded.iter().map(|e| e.as_bytes()));
            for needle in needles {
                if let Some(at) = find_form(text, needle, value.len(), 0) {
                    let better = match best {
                        None => true,
                        Some((b_at, b_len)) => at < b_at || (at == b_at && needle.len() > b_len),
                    };
                    if better {
                        best = Some((at, needle.len()));
                    }
                }
            }
        }
        best
    }

    /// The variable for `value`: the one it already has, else a new one named after the run's
    /// secret it is (so a token keeps its name in every script), else after where it was found.
    /// `note` says how the value is written, when that is not as is.
    fn bind(&mut self, value: &str, stem: &str, place: &str, note: &str) -> usize {
        if let Some(i) = self.variables.iter().position(|v| v.value == value) {
            return i;
        }
        let known = self
            .known
            .iter()
            .find(|(_, v, encoded)| *v == value || encoded.iter().any(|e| e == value));
        let mut notes = vec![note.to_string()];
        let stem = match known {
            Some((name, v, _)) => {
                let shown = name.strip_prefix("env.").unwrap_or(name);
                if *v != value {
                    let form: String = form_urlencoded::byte_serialize(v.as_bytes()).collect();
                    notes.push(if form == value || form.replace('+', "%20") == value {
                        "form-encoded".into()
                    } else {
                        "base64-encoded".to_string()
                    });
                }
                // No apostrophes: the text ends up inside a double-quoted `${VAR:?…}`.
                notes.push(if name.starts_with("env.") {
                    format!("{shown} of the environment")
                } else {
                    format!("known to the run as {shown}")
                });
                upper_snake(shown)
            }
            None => stem.to_string(),
        };
        notes.retain(|n| !n.is_empty());
        let mut what = format!("{place} of step {}", self.step);
        if !notes.is_empty() {
            what.push_str(&format!(" ({})", notes.join("; ")));
        }
        let base = format!("OBCONFORM_{stem}");
        let mut name = base.clone();
        let mut n = 1;
        while RESERVED.contains(&name.as_str()) || self.variables.iter().any(|v| v.name == name) {
            n += 1;
            name = format!("{base}_{n}");
        }
        self.variables.push(SecretVariable {
            name,
            what,
            value: value.to_string(),
        });
        self.variables.len() - 1
    }
}

/// `x-jws-signature` → `X_JWS_SIGNATURE`: letters and digits, runs of anything else as one `_`.
fn upper_snake(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_end_matches('_').to_string();
    if out.is_empty() {
        "SECRET".to_string()
    } else {
        out
    }
}

/// Adjacent literal pieces joined, empty ones dropped.
pub fn merge(pieces: Vec<Piece>) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    for piece in pieces {
        match (out.last_mut(), piece) {
            (_, Piece::Text(text)) if text.is_empty() => {}
            (Some(Piece::Text(last)), Piece::Text(text)) => last.extend_from_slice(&text),
            (_, piece) => out.push(piece),
        }
    }
    out
}

/// The byte ranges (inside the quotes, still escaped) of string values whose key is a secret
/// field name, at any depth of a JSON document already known to parse.
fn json_secret_strings(body: &[u8]) -> Vec<(usize, usize, String)> {
    let mut found = Vec::new();
    // A string just read that a `:` would make a key; the key whose value comes next.
    let mut maybe_key: Option<String> = None;
    let mut value_of: Option<String> = None;
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'"' => {
                let start = i + 1;
                let Some(end) = string_end(body, start) else {
                    break;
                };
                match value_of.take() {
                    Some(key) => {
                        if is_secret_field(&key) && end > start {
                            found.push((start, end, key));
                        }
                    }
                    None => {
                        maybe_key = serde_json::from_slice::<String>(&body[i..=end]).ok();
                    }
                }
                i = end + 1;
            }
            b':' => {
                value_of = maybe_key.take();
                i += 1;
            }
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            _ => {
                maybe_key = None;
                value_of = None;
                i += 1;
            }
        }
    }
    found
}

/// The index of the quote closing a JSON string whose content starts at `start`.
fn string_end(body: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    while i < body.len() {
        match body[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn join(pieces: &[Piece], secrets: &Secrets) -> Vec<u8> {
        let mut out = Vec::new();
        for piece in pieces {
            match piece {
                Piece::Text(text) => out.extend_from_slice(text),
                Piece::Var(i) => out.extend_from_slice(secrets.variables[*i].value.as_bytes()),
            }
        }
        out
    }

    fn names<'s>(secrets: &'s Secrets) -> Vec<&'s str> {
        secrets.variables.iter().map(|v| v.name.as_str()).collect()
    }

    #[test]
    fn credential_headers_keep_the_scheme_and_known_tokens_keep_their_name() {
        let known = [("app_token", "tok-1234567890")];
        let mut s = Secrets::new(&known, 3);
        let bearer = s.header("Authorization", "Bearer tok-1234567890");
        assert_eq!(
            bearer,
            vec![Piece::Text(b"Bearer ".to_vec()), Piece::Var(0)]
        );
        let sig = s.header("Signature", "keyId=\"x\",signature=\"abc\"");
        let jws = s.header("X-JWS-Signature", "eyJh..c2ln");
        let key = s.header("Subscription-Key", "0123456789");
        let plain = s.header("Accept", "application/json");
        assert_eq!(plain, vec![Piece::Text(b"application/json".to_vec())]);
        assert_eq!(
            names(&s),
            [
                "OBCONFORM_APP_TOKEN",
                "OBCONFORM_SIGNATURE",
                "OBCONFORM_JWS_SIGNATURE",
                "OBCONFORM_SUBSCRIPTION_KEY"
            ]
        );
        assert_eq!(
            s.variables[0].what,
            "the Bearer token in the Authorization header of step 3 (known to the run as app_token)"
        );
        assert_eq!(join(&sig, &s), b"keyId=\"x\",signature=\"abc\"");
        assert_eq!(join(&jws, &s), b"eyJh..c2ln");
        assert_eq!(join(&key, &s), b"0123456789");
    }

    #[test]
    fn the_same_value_twice_is_one_variable() {
        let known = [("env.client_secret", "s3cr3t-s3cr3t")];
        let mut s = Secrets::new(&known, 1);
        let body = b"grant_type=client_credentials&client_secret=s3cr3t-s3cr3t&x=s3cr3t-s3cr3t";
        let pieces = s.body(body, Some("application/x-www-form-urlencoded"));
        assert_eq!(names(&s), ["OBCONFORM_CLIENT_SECRET"]);
        assert_eq!(
            s.variables[0].what,
            "the client_secret field of the form body of step 1 (form-encoded as sent; client_secret of the environment)"
        );
        assert_eq!(join(&pieces, &s), body);
        assert_eq!(
            pieces.iter().filter(|p| matches!(p, Piece::Var(0))).count(),
            2
        );
    }

    #[test]
    fn form_fields_json_fields_and_query_parameters() {
        let mut s = Secrets::new(&[], 2);
        let form = b"grant_type=authorization_code&code=c0de%2B1&redirect_uri=https%3A%2F%2Fx";
        let pieces = s.body(
            form,
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
        );
        assert_eq!(join(&pieces, &s), form);
        assert_eq!(s.variables[0].name, "OBCONFORM_FORM_CODE");
        assert_eq!(s.variables[0].value, "c0de%2B1");

        let json = br#"{"a":{"access_token" : "x\"y\\u00e9z","list":["code","v"]},"token":null,"code":"abc"}"#;
        let pieces = s.body(json, Some("application/json"));
        assert_eq!(join(&pieces, &s), json);
        assert_eq!(
            names(&s),
            [
                "OBCONFORM_FORM_CODE",
                "OBCONFORM_JSON_ACCESS_TOKEN",
                "OBCONFORM_JSON_CODE"
            ]
        );
        assert_eq!(s.variables[1].value, r#"x\"y\\u00e9z"#);

        let url = "https://h/cb?state=s&code=q1w2e3&scope=a#frag";
        let pieces = s.url(url);
        assert_eq!(join(&pieces, &s), url.as_bytes());
        assert_eq!(s.variables[3].name, "OBCONFORM_QUERY_CODE");
    }

    #[test]
    fn known_secrets_are_found_anywhere_even_form_encoded() {
        let known = [("partner_secret", "a b+c/d=e"), ("tok", "tok-1234567890")];
        let mut s = Secrets::new(&known, 1);
        let body = b"x=a+b%2Bc%2Fd%3De&y=tok-1234567890";
        let pieces = s.body(body, None);
        assert_eq!(join(&pieces, &s), body);
        assert_eq!(names(&s), ["OBCONFORM_PARTNER_SECRET", "OBCONFORM_TOK"]);
        assert_eq!(
            s.variables[0].what,
            "the body of step 1 (form-encoded; known to the run as partner_secret)"
        );
        let path = s.url("https://h/p/tok-1234567890/x");
        assert_eq!(path.len(), 3);
    }

    #[test]
    fn odd_bodies_are_kept_as_they_are() {
        let mut s = Secrets::new(&[("t", "secret-value")], 1);
        for body in [
            &b"\xff\xfe\x00code=secret-value"[..],
            b"{\"code\": \"unterminated",
            b"code=\xff\xfe&code=",
            b"",
        ] {
            let pieces = s.body(body, Some("application/x-www-form-urlencoded"));
            assert_eq!(join(&pieces, &s), body);
            let pieces = s.body(body, Some("application/json"));
            assert_eq!(join(&pieces, &s), body);
        }
    }

    #[test]
    fn names_never_clash_with_the_scripts_own() {
        let mut s = Secrets::new(&[("tls_cert", "secret-value-1")], 1);
        s.header("X-Thing", "secret-value-1");
        s.header("Cookie", "c=1; d=2");
        s.header("Cookie", "c=3");
        assert_eq!(
            names(&s),
            [
                "OBCONFORM_TLS_CERT_2",
                "OBCONFORM_COOKIE",
                "OBCONFORM_COOKIE_2"
            ]
        );
    }
}
