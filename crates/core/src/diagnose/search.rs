//! The space of known signing-input mistakes: each candidate rebuilds the input a buggy client
//! would have signed (one mistake at a time), and the first one the signature opens with names
//! the mistake. Shared by JWS (input = `<header>.` + lines) and HTTP signatures (lines only).

use crate::sign::message::Message;

/// The header names a signature lists, the request and what `(request-target)` must be.
pub struct Layout<'a> {
    /// Bytes before the header lines: `<protected header b64url>.` for a JWS, empty otherwise.
    pub prefix: &'a [u8],
    /// The listed names, lower-case, in listed order.
    pub names: &'a [String],
    pub message: &'a Message<'a>,
    /// The `(request-target)` value the bank expects (`post /oauth2/token`).
    pub request_target: String,
    /// Headers that are the signature itself (never among the signed ones).
    pub signature_headers: &'a [&'a str],
}

/// One mistake that explains what was signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mistake {
    /// A line feed after the last line.
    TrailingLf,
    /// Lines joined with CR LF (and, when `trailing`, one after the last line too).
    CrlfLineEndings { trailing: bool },
    /// The lines signed in this order instead of the listed one.
    Order(Vec<String>),
    /// These listed names were left out of what was signed.
    ListedNotSigned(Vec<String>),
    /// This header (sent with the request) was signed without being listed.
    SignedNotListed(String),
    /// `(request-target)` signed as this value.
    RequestTarget(String),
    /// `(request-target)` signed with the path prefix the bank leaves out.
    RequestTargetPrefix(String),
    /// A header signed with another value than sent.
    HeaderValue { name: String, signed: String },
    /// Header names signed as sent (`Digest:`), not lower-cased.
    NameCase,
    /// The lines joined with this separator instead of LF (a space: a script that built the
    /// string with `echo $a $b` or a join over the wrong character).
    LineSeparator(String),
    /// `(request-target)` signed as another documented endpoint's (a signing step copied from
    /// another request).
    OtherEndpoint(String),
}

/// How a finding names a line separator.
pub fn separator_name(separator: &str) -> &'static str {
    match separator {
        " " => "spaces",
        "" => "nothing (the lines run together)",
        _ => "another separator",
    }
}

/// The request targets of ING's documented endpoints, `{id}` standing for a resource id of the
/// request's own path: what a client signs when its signing code was copied from another step.
const DOCUMENTED_TARGETS: [&str; 17] = [
    "post /oauth2/token",
    "post /oauth2/token/revoke",
    "get /oauth2/authorization-server-url",
    "post /oauth2/applications",
    "get /oauth2/applications/me",
    "put /oauth2/applications/{id}",
    "get /v3/accounts",
    "get /v3/accounts/{id}/balances",
    "get /v3/accounts/{id}/transactions",
    "get /v1/card-accounts/{id}/transactions",
    "post /v1/payments/sepa-credit-transfers",
    "get /v1/payments/sepa-credit-transfers/{id}",
    "get /v1/payments/sepa-credit-transfers/{id}/status",
    "post /v1/funds-confirmations",
    "get /greetings/single",
    "get /signed/greetings",
    "get /mtls-only/greetings",
];

/// The documented targets, with `{id}` filled by each id-like segment of `path`; the request's
/// own target left out.
fn other_endpoint_targets(path: &str, own: &str) -> Vec<String> {
    let ids: Vec<&str> = path
        .split('/')
        .filter(|s| s.len() >= 8 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .filter(|s| s.chars().any(|c| c.is_ascii_digit()))
        .collect();
    let mut targets = Vec::new();
    for template in DOCUMENTED_TARGETS {
        if template.contains("{id}") {
            targets.extend(ids.iter().map(|id| template.replace("{id}", id)));
        } else {
            targets.push(template.to_string());
        }
    }
    targets.retain(|t| t != own);
    targets.dedup();
    targets
}

/// Paths whose first segment the bank leaves out of `(request-target)`: ING's partner API.
const OMITTED_PREFIXES: [&str; 1] = ["/partner-api"];

/// `(request-target)` as the bank computes it for this request.
pub fn expected_request_target(message: &Message<'_>) -> String {
    let method = message.method.to_ascii_lowercase();
    let target = OMITTED_PREFIXES
        .iter()
        .find_map(|prefix| {
            let rest = message.target.strip_prefix(prefix)?;
            rest.starts_with('/').then_some(rest)
        })
        .unwrap_or(message.target);
    format!("{method} {target}")
}

impl Layout<'_> {
    fn value(&self, name: &str) -> Option<String> {
        if name == "(request-target)" {
            Some(self.request_target.clone())
        } else {
            self.message.header(name)
        }
    }

    /// `name: value` for each name; `None` when the request lacks one.
    fn lines(&self, names: &[String]) -> Option<Vec<String>> {
        names
            .iter()
            .map(|name| Some(format!("{name}: {}", self.value(name)?)))
            .collect()
    }

    fn input(&self, lines: &[String], join: &str, tail: &str) -> Vec<u8> {
        let mut bytes = self.prefix.to_vec();
        bytes.extend_from_slice(lines.join(join).as_bytes());
        bytes.extend_from_slice(tail.as_bytes());
        bytes
    }

    /// The input as the bank builds it; `None` when a listed header is missing.
    pub fn baseline(&self) -> Option<Vec<u8>> {
        Some(self.input(&self.lines(self.names)?, "\n", ""))
    }

    /// Every candidate, most specific mistakes first.
    fn candidates(&self) -> Vec<(Mistake, Vec<u8>)> {
        let Some(lines) = self.lines(self.names) else {
            return Vec::new();
        };
        let mut out = vec![
            (Mistake::TrailingLf, self.input(&lines, "\n", "\n")),
            (
                Mistake::CrlfLineEndings { trailing: false },
                self.input(&lines, "\r\n", ""),
            ),
            (
                Mistake::CrlfLineEndings { trailing: true },
                self.input(&lines, "\r\n", "\r\n"),
            ),
        ];
        for separator in [" ", ""] {
            out.push((
                Mistake::LineSeparator(separator.to_string()),
                self.input(&lines, separator, ""),
            ));
        }
        self.request_target_candidates(&lines, &mut out);
        self.value_candidates(&lines, &mut out);
        self.list_candidates(&mut out);
        self.other_endpoint_candidates(&lines, &mut out);
        out
    }

    fn other_endpoint_candidates(&self, lines: &[String], out: &mut Vec<(Mistake, Vec<u8>)>) {
        let Some(index) = self.names.iter().position(|n| n == "(request-target)") else {
            return;
        };
        let path = self.message.target.split('?').next().unwrap_or_default();
        for target in other_endpoint_targets(path, &self.request_target) {
            let line = format!("(request-target): {target}");
            out.push((
                Mistake::OtherEndpoint(target),
                self.with_line(lines, index, line),
            ));
        }
    }

    fn with_line(&self, lines: &[String], index: usize, line: String) -> Vec<u8> {
        let mut changed = lines.to_vec();
        changed[index] = line;
        self.input(&changed, "\n", "")
    }

    fn request_target_candidates(&self, lines: &[String], out: &mut Vec<(Mistake, Vec<u8>)>) {
        let Some(index) = self.names.iter().position(|n| n == "(request-target)") else {
            return;
        };
        let method = self.message.method.to_ascii_lowercase();
        let target = self.message.target;
        let literal = format!("{method} {target}");
        if literal != self.request_target {
            out.push((
                Mistake::RequestTargetPrefix(literal.clone()),
                self.with_line(lines, index, format!("(request-target): {literal}")),
            ));
        }
        let path = target.split('?').next().unwrap_or(target);
        let host = self.message.header("host").unwrap_or_default();
        let mut variants = vec![
            format!("{} {target}", self.message.method.to_ascii_uppercase()),
            format!("{method} {path}"),
            format!("{method} https://{host}{target}"),
            format!("{method} {}", target.replacen(path, &toggle_slash(path), 1)),
            format!("{method} {}", target.replace("%20", "+")),
            format!("{method} {}", target.replace('+', "%20")),
        ];
        // A path prefix left out (a gateway's) or one segment too many.
        if let Some(rest) = path
            .get(1..)
            .and_then(|p| p.find('/'))
            .map(|i| &target[i + 1..])
        {
            variants.push(format!("{method} {rest}"));
        }
        for other in ["get", "post", "put", "delete", "patch"] {
            if other != method {
                variants.push(format!("{other} {target}"));
            }
        }
        for variant in variants {
            if variant != self.request_target {
                out.push((
                    Mistake::RequestTarget(variant.clone()),
                    self.with_line(lines, index, format!("(request-target): {variant}")),
                ));
            }
        }
    }

    fn value_candidates(&self, lines: &[String], out: &mut Vec<(Mistake, Vec<u8>)>) {
        for (index, name) in self.names.iter().enumerate() {
            let Some(sent) = self.message.header(name) else {
                continue;
            };
            for signed in alternative_values(name, &sent, self.message.body) {
                if signed != sent {
                    out.push((
                        Mistake::HeaderValue {
                            name: name.clone(),
                            signed: signed.clone(),
                        },
                        self.with_line(lines, index, format!("{name}: {signed}")),
                    ));
                }
            }
        }
        // Names as the request spells them.
        let as_sent: Vec<String> = lines
            .iter()
            .zip(self.names)
            .map(|(line, name)| {
                let spelled = self
                    .message
                    .headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map_or(name.as_str(), |(n, _)| n.as_str());
                format!("{spelled}{}", &line[name.len()..])
            })
            .collect();
        if as_sent != lines {
            out.push((Mistake::NameCase, self.input(&as_sent, "\n", "")));
        }
    }

    fn list_candidates(&self, out: &mut Vec<(Mistake, Vec<u8>)>) {
        let n = self.names.len();
        // One listed name left out, then one unlisted header signed, then orders, then pairs.
        for skip in 0..n {
            let kept: Vec<String> = without(self.names, &[skip]);
            if let Some(lines) = self.lines(&kept) {
                out.push((
                    Mistake::ListedNotSigned(vec![self.names[skip].clone()]),
                    self.input(&lines, "\n", ""),
                ));
            }
        }
        for extra in self.unlisted_headers() {
            for at in 0..=n {
                let mut names = self.names.to_vec();
                names.insert(at, extra.clone());
                if let Some(lines) = self.lines(&names) {
                    out.push((
                        Mistake::SignedNotListed(extra.clone()),
                        self.input(&lines, "\n", ""),
                    ));
                }
            }
        }
        for order in orders(self.names) {
            if let Some(lines) = self.lines(&order) {
                out.push((Mistake::Order(order), self.input(&lines, "\n", "")));
            }
        }
        for a in 0..n {
            for b in a + 1..n {
                if let Some(lines) = self.lines(&without(self.names, &[a, b])) {
                    out.push((
                        Mistake::ListedNotSigned(vec![
                            self.names[a].clone(),
                            self.names[b].clone(),
                        ]),
                        self.input(&lines, "\n", ""),
                    ));
                }
            }
        }
    }

    /// Headers the request has that the list does not name (nor are the signature itself).
    fn unlisted_headers(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for (name, _) in self.message.headers {
            let name = name.to_ascii_lowercase();
            let skip = self.names.contains(&name)
                || names.contains(&name)
                || self.signature_headers.contains(&name.as_str())
                || name == super::ORIGINAL_BODY_HEADER.to_ascii_lowercase();
            if !skip {
                names.push(name);
            }
        }
        if !self.names.iter().any(|n| n == "(request-target)") {
            names.push("(request-target)".into());
        }
        names
    }
}

/// Finds the mistake the signature was made with: `first` gives the index of the first input
/// (of all candidates, given at once) that the signature opens over.
pub fn search(layout: &Layout<'_>, first: &dyn Fn(&[&[u8]]) -> Option<usize>) -> Option<Mistake> {
    let mut candidates = layout.candidates();
    let inputs: Vec<&[u8]> = candidates
        .iter()
        .map(|(_, input)| input.as_slice())
        .collect();
    let index = first(&inputs)?;
    Some(candidates.swap_remove(index).0)
}

fn without(names: &[String], skip: &[usize]) -> Vec<String> {
    names
        .iter()
        .enumerate()
        .filter(|(i, _)| !skip.contains(i))
        .map(|(_, n)| n.clone())
        .collect()
}

fn toggle_slash(path: &str) -> String {
    match path.strip_suffix('/') {
        Some(stripped) if !stripped.is_empty() => stripped.to_owned(),
        _ => format!("{path}/"),
    }
}

/// Every other order of `names`: all permutations up to 6 names (720), else reversals and swaps.
fn orders(names: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    if names.len() <= 6 {
        permute(&mut names.to_vec(), 0, &mut out);
    } else {
        out.push(names.iter().rev().cloned().collect());
        for i in 0..names.len() - 1 {
            let mut swapped = names.to_vec();
            swapped.swap(i, i + 1);
            out.push(swapped);
        }
    }
    out.retain(|order| order != names);
    out
}

fn permute(items: &mut Vec<String>, k: usize, out: &mut Vec<Vec<String>>) {
    if k == items.len() {
        out.push(items.clone());
        return;
    }
    for i in k..items.len() {
        items.swap(k, i);
        permute(items, k + 1, out);
        items.swap(k, i);
    }
}

/// Values a client plausibly signed instead of the one it sent.
fn alternative_values(name: &str, sent: &str, body: &[u8]) -> Vec<String> {
    match name {
        "digest" => super::body::digest_variants(body)
            .into_iter()
            .map(|(_, value)| value)
            .collect(),
        "content-type" => [
            "application/json",
            "application/json; charset=utf-8",
            "application/json;charset=UTF-8",
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=UTF-8",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        // `date` computed twice: once for the header, once for the signature.
        "date" => crate::sign::message::parse_imf_fixdate(sent)
            .map(|at| {
                [-2i64, -1, 1, 2]
                    .iter()
                    .filter_map(|d| {
                        let secs = std::time::Duration::from_secs(d.unsigned_abs());
                        let t = if *d < 0 {
                            at.checked_sub(secs)
                        } else {
                            at.checked_add(secs)
                        }?;
                        Some(crate::sign::message::imf_fixdate(t))
                    })
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message<'a>(headers: &'a [(String, String)]) -> Message<'a> {
        Message {
            method: "POST",
            target: "/partner-api/ping?x=1",
            headers,
            body: b"",
        }
    }

    #[test]
    fn the_partner_prefix_is_left_out_of_the_request_target() {
        let headers = Vec::new();
        assert_eq!(
            expected_request_target(&message(&headers)),
            "post /ping?x=1"
        );
        let other = Message {
            target: "/partner-apis/x",
            ..message(&headers)
        };
        assert_eq!(expected_request_target(&other), "post /partner-apis/x");
    }

    /// What a signature over `signed` finds among the inputs.
    fn equal_to(signed: &[u8]) -> impl Fn(&[&[u8]]) -> Option<usize> + '_ {
        move |inputs| inputs.iter().position(|input| *input == signed)
    }

    #[test]
    fn orders_are_every_other_permutation() {
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let orders = orders(&names);
        assert_eq!(orders.len(), 5);
        assert!(!orders.contains(&names));
    }

    #[test]
    fn each_candidate_is_found_by_what_it_changed() {
        let headers = vec![
            (
                "Date".to_string(),
                "Tue, 05 Nov 2019 12:41:32 GMT".to_string(),
            ),
            ("X-Request-ID".to_string(), "abc".to_string()),
        ];
        let m = message(&headers);
        let names: Vec<String> = ["(request-target)", "date"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let layout = Layout {
            prefix: b"",
            names: &names,
            message: &m,
            request_target: expected_request_target(&m),
            signature_headers: &[],
        };
        let baseline = layout.baseline().unwrap();
        assert_eq!(
            String::from_utf8(baseline).unwrap(),
            "(request-target): post /ping?x=1\ndate: Tue, 05 Nov 2019 12:41:32 GMT"
        );
        let signed = b"(request-target): post /ping?x=1\ndate: Tue, 05 Nov 2019 12:41:32 GMT\nx-request-id: abc";
        let found = search(&layout, &equal_to(signed));
        assert_eq!(found, Some(Mistake::SignedNotListed("x-request-id".into())));
        let signed =
            b"(request-target): post /partner-api/ping?x=1\ndate: Tue, 05 Nov 2019 12:41:32 GMT";
        let found = search(&layout, &equal_to(signed));
        assert_eq!(
            found,
            Some(Mistake::RequestTargetPrefix(
                "post /partner-api/ping?x=1".into()
            ))
        );
        let signed = b"(request-target): post /ping?x=1\ndate: Tue, 05 Nov 2019 12:41:33 GMT";
        assert!(matches!(
            search(&layout, &equal_to(signed)),
            Some(Mistake::HeaderValue { .. })
        ));
        assert_eq!(search(&layout, &|_| None), None);
        let signed = b"(request-target): post /ping?x=1 date: Tue, 05 Nov 2019 12:41:32 GMT";
        assert_eq!(
            search(&layout, &equal_to(signed)),
            Some(Mistake::LineSeparator(" ".into()))
        );
        let signed = b"(request-target): post /oauth2/token\ndate: Tue, 05 Nov 2019 12:41:32 GMT";
        assert_eq!(
            search(&layout, &equal_to(signed)),
            Some(Mistake::OtherEndpoint("post /oauth2/token".into()))
        );
    }

    #[test]
    fn other_endpoints_take_the_ids_of_the_requests_path() {
        let id = "450ffbb8-9f11-4ec6-a1e1-df48aefc82ef";
        let targets = other_endpoint_targets(
            &format!("/v3/accounts/{id}/transactions"),
            &format!("get /v3/accounts/{id}/transactions"),
        );
        assert!(targets.contains(&format!("get /v3/accounts/{id}/balances")));
        assert!(targets.contains(&"post /oauth2/token".to_string()));
        assert!(!targets.contains(&format!("get /v3/accounts/{id}/transactions")));
        assert!(!targets.iter().any(|t| t.contains("{id}")));
    }
}
