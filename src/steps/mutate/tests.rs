//! Every signing fault, on both kinds of signature where it applies: the mutated request fails
//! the sign module's strict verification, and its signature verifies over exactly the faulty
//! input the mutation claims — built here from the correct input with plain string operations,
//! not with the code under test — while nothing else of the request changed.

use super::fixtures::{Fixture, http_profile, jws_header_json, signature_bytes};
use super::*;
use crate::scenario::model::SignProfile;
use crate::scenario::model::TimeShift;
use crate::scenario::ordered::OrderedMap;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use obconform_core::sign::algorithm::PssSalt;
use obconform_core::sign::http_signature::Placement;
use obconform_core::sign::message::imf_fixdate;
use obconform_core::sign::{Algorithm, SigningKey};
use serde_json::json;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Http,
    Jws,
}

const KINDS: [Kind; 2] = [Kind::Http, Kind::Jws];

fn signed(fixture: &Fixture, kind: Kind) -> SignedRequest {
    match kind {
        Kind::Http => fixture.sign_http(&http_profile(Placement::Authorization)),
        Kind::Jws => fixture.sign_jws(),
    }
}

/// Signs correctly and applies `mutations`: the request before and after.
fn mutate(fixture: &Fixture, kind: Kind, mutations: &[Mutation]) -> (SignedRequest, SignedRequest) {
    let before = signed(fixture, kind);
    let mut after = before.clone();
    apply(&mut after, mutations, &fixture.keys()).unwrap();
    (before, after)
}

fn input(signed: &SignedRequest) -> &str {
    signed.signing_input.as_deref().unwrap()
}

/// The JWS header prefix (`<b64>.`, empty for HTTP) and the lines of a signing input.
fn split(kind: Kind, input: &str) -> (String, Vec<String>) {
    let (prefix, lines) = match kind {
        Kind::Http => ("", input),
        Kind::Jws => {
            let dot = input.find('.').unwrap();
            (&input[..=dot], &input[dot + 1..])
        }
    };
    (
        prefix.to_string(),
        lines.split('\n').map(str::to_string).collect(),
    )
}

fn algorithm(kind: Kind) -> Algorithm {
    match kind {
        Kind::Http => Algorithm::RsaSha256,
        Kind::Jws => Algorithm::PS256,
    }
}

/// The mutation claims `expected` was signed, and the signature verifies over exactly it.
fn assert_signed_over(after: &SignedRequest, expected: &str, alg: Algorithm, key: &SigningKey) {
    assert_eq!(input(after), expected, "the recorded signing input");
    let public = key.cert.public_key().unwrap();
    assert!(
        alg.verify(&public, expected.as_bytes(), &signature_bytes(after)),
        "{alg} over {expected:?}"
    );
}

/// The strict verifier's verdict, as the error's name (`BadSignature`, `DateSkew { .. }` …).
fn refused(fixture: &Fixture, kind: Kind, after: &SignedRequest) -> String {
    let verdict = match kind {
        Kind::Http => fixture.verify_http(after).map_err(|e| format!("{e:?}")),
        Kind::Jws => fixture.verify_jws(after).map_err(|e| format!("{e:?}")),
    };
    verdict.expect_err("strict verification must refuse the mutated request")
}

/// Everything of a request but the signature bytes: method, URL, body, and every header with
/// the signature value cut off (so keyId, algorithm, headers= and the JWS header still count).
fn without_signature(signed: &SignedRequest) -> (String, String, Vec<u8>, Vec<(String, String)>) {
    let headers = signed
        .request
        .headers
        .iter()
        .map(|(name, value)| {
            let cut = value
                .find("signature=\"")
                .or_else(|| value.find(".."))
                .unwrap_or(value.len());
            (name.clone(), value[..cut].to_string())
        })
        .collect();
    (
        signed.request.method.clone(),
        signed.request.url.clone(),
        signed.request.body.clone(),
        headers,
    )
}

/// The fault changed the signature only.
fn assert_only_the_signature_changed(before: &SignedRequest, after: &SignedRequest) {
    assert_eq!(without_signature(before), without_signature(after));
    assert_ne!(signature_bytes(before), signature_bytes(after));
}

#[test]
fn the_correct_request_verifies_and_the_recipe_alone_changes_nothing() {
    let fixture = Fixture::new();
    for kind in KINDS {
        let before = signed(&fixture, kind);
        match kind {
            Kind::Http => assert!(fixture.verify_http(&before).is_ok()),
            Kind::Jws => assert!(fixture.verify_jws(&before).is_ok()),
        }
        let mut again = before.clone();
        let recipe = recipe::Recipe::read(&again, fixture.signing()).unwrap();
        assert_eq!(recipe.signing_input(), input(&before));
        recipe.sign_into(&mut again).unwrap();
        assert_eq!(without_signature(&before), without_signature(&again));
        match kind {
            Kind::Http => assert!(fixture.verify_http(&again).is_ok()),
            Kind::Jws => assert!(fixture.verify_jws(&again).is_ok()),
        }
    }
}

#[test]
fn trailing_lf_signs_the_input_plus_lf() {
    let fixture = Fixture::new();
    for kind in KINDS {
        let (before, after) = mutate(&fixture, kind, &[Mutation::TrailingLf]);
        let expected = format!("{}\n", input(&before));
        assert_signed_over(&after, &expected, algorithm(kind), fixture.signing());
        assert_eq!(refused(&fixture, kind, &after), "BadSignature", "{kind:?}");
        assert_only_the_signature_changed(&before, &after);
    }
}

#[test]
fn crlf_joins_the_lines_with_crlf() {
    let fixture = Fixture::new();
    for kind in KINDS {
        let (before, after) = mutate(&fixture, kind, &[Mutation::CrlfLineEndings]);
        let expected = input(&before).replace('\n', "\r\n");
        assert_eq!(expected.matches("\r\n").count(), 2, "three lines");
        assert_signed_over(&after, &expected, algorithm(kind), fixture.signing());
        assert_eq!(refused(&fixture, kind, &after), "BadSignature", "{kind:?}");
        assert_only_the_signature_changed(&before, &after);
    }
}

#[test]
fn reorder_signs_the_lines_reversed_under_the_listed_order() {
    let fixture = Fixture::new();
    for kind in KINDS {
        let (before, after) = mutate(&fixture, kind, &[Mutation::ReorderSigned]);
        let (prefix, mut lines) = split(kind, input(&before));
        lines.reverse();
        let expected = format!("{prefix}{}", lines.join("\n"));
        assert_signed_over(&after, &expected, algorithm(kind), fixture.signing());
        assert_eq!(refused(&fixture, kind, &after), "BadSignature", "{kind:?}");
        assert_only_the_signature_changed(&before, &after);
    }
}

#[test]
fn unsign_leaves_a_listed_header_out_of_the_input() {
    let fixture = Fixture::new();
    for (kind, name) in [(Kind::Http, "date"), (Kind::Jws, "digest")] {
        let (before, after) = mutate(&fixture, kind, &[Mutation::Unsign(name.to_uppercase())]);
        let (prefix, lines) = split(kind, input(&before));
        let kept: Vec<String> = lines
            .into_iter()
            .filter(|l| !l.starts_with(&format!("{name}: ")))
            .collect();
        assert_eq!(kept.len(), 2);
        let expected = format!("{prefix}{}", kept.join("\n"));
        assert_signed_over(&after, &expected, algorithm(kind), fixture.signing());
        assert_eq!(refused(&fixture, kind, &after), "BadSignature", "{kind:?}");
        // Still listed, still sent.
        assert_only_the_signature_changed(&before, &after);
        assert!(after.request.header(name).is_some());
    }
}

#[test]
fn sign_extra_signs_an_unlisted_header_after_the_listed_ones() {
    let fixture = Fixture::new();
    let cert_line = format!(
        "tpp-signature-certificate: {}",
        fixture.signing().cert_one_line
    );
    for (kind, name, line) in [
        (
            Kind::Http,
            "Content-Type",
            "content-type: application/x-www-form-urlencoded".to_string(),
        ),
        (Kind::Jws, "TPP-Signature-Certificate", cert_line),
    ] {
        let (before, after) = mutate(&fixture, kind, &[Mutation::SignExtra(name.into())]);
        let expected = format!("{}\n{line}", input(&before));
        assert_signed_over(&after, &expected, algorithm(kind), fixture.signing());
        assert_eq!(refused(&fixture, kind, &after), "BadSignature", "{kind:?}");
        assert_only_the_signature_changed(&before, &after);
    }
}

#[test]
fn sign_request_target_signs_another_method_and_path() {
    let fixture = Fixture::new();
    for (kind, path) in [
        (Kind::Http, "/oauth2/token"),
        (Kind::Jws, "/oauth2/applications"),
    ] {
        let mutation = Mutation::SignRequestTarget("post /other/path".into());
        let (before, after) = mutate(&fixture, kind, &[mutation]);
        let line = format!("(request-target): post {path}");
        assert!(input(&before).contains(&line));
        let expected = input(&before).replace(&line, "(request-target): post /other/path");
        assert_signed_over(&after, &expected, algorithm(kind), fixture.signing());
        assert_eq!(refused(&fixture, kind, &after), "BadSignature", "{kind:?}");
        assert_only_the_signature_changed(&before, &after);
    }
}

#[test]
fn sign_value_signs_another_value_than_the_one_sent() {
    let fixture = Fixture::new();
    for (kind, name, value) in [
        (
            Kind::Http,
            "Digest",
            "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        ),
        (Kind::Jws, "content-type", "application/json; charset=utf-8"),
    ] {
        let mutation = Mutation::SignValue {
            name: name.into(),
            value: value.into(),
        };
        let (before, after) = mutate(&fixture, kind, &[mutation]);
        let lower = name.to_ascii_lowercase();
        let sent = before.request.header(name).unwrap();
        let expected =
            input(&before).replace(&format!("{lower}: {sent}"), &format!("{lower}: {value}"));
        assert_ne!(expected, input(&before));
        assert_signed_over(&after, &expected, algorithm(kind), fixture.signing());
        assert_eq!(refused(&fixture, kind, &after), "BadSignature", "{kind:?}");
        assert_eq!(
            after.request.header(name),
            Some(sent),
            "the request keeps its value"
        );
        assert_only_the_signature_changed(&before, &after);
    }
}

#[test]
fn sign_with_uses_another_roles_key_under_the_same_identifiers() {
    let fixture = Fixture::new();
    for kind in KINDS {
        let (before, after) = mutate(&fixture, kind, &[Mutation::SignWith("tls".into())]);
        assert_signed_over(&after, input(&before), algorithm(kind), fixture.role("tls"));
        assert_eq!(refused(&fixture, kind, &after), "BadSignature", "{kind:?}");
        // keyId, x5t#S256 and TPP-Signature-Certificate still name the signing certificate.
        assert_only_the_signature_changed(&before, &after);
    }
}

#[test]
fn sign_alg_signs_with_another_algorithm_than_the_one_named() {
    let fixture = Fixture::new();
    for (kind, alg) in [
        (Kind::Http, Algorithm::RS512),
        (Kind::Jws, Algorithm::PS384),
    ] {
        let (before, after) = mutate(&fixture, kind, &[Mutation::SignAlg(alg)]);
        assert_signed_over(&after, input(&before), alg, fixture.signing());
        assert!(!algorithm(kind).verify(
            &fixture.signing().cert.public_key().unwrap(),
            input(&before).as_bytes(),
            &signature_bytes(&after)
        ));
        assert_eq!(refused(&fixture, kind, &after), "BadSignature", "{kind:?}");
        // algorithm="rsa-sha256" / "alg":"PS256" as before.
        assert_only_the_signature_changed(&before, &after);
    }
}

#[test]
fn shift_time_moves_date_and_sig_t_and_signs_them() {
    let fixture = Fixture::new();
    let earlier = TimeShift::parse("-10m").unwrap();
    let then = fixture.now - Duration::from_secs(600);

    let (before, after) = mutate(&fixture, Kind::Http, &[Mutation::ShiftTime(earlier)]);
    let date = imf_fixdate(then);
    assert_eq!(date, "Tue, 19 Nov 2019 17:18:15 GMT");
    assert_eq!(after.request.header("Date"), Some(date.as_str()));
    let expected = input(&before).replace(
        "date: Tue, 19 Nov 2019 17:28:15 GMT",
        "date: Tue, 19 Nov 2019 17:18:15 GMT",
    );
    assert_signed_over(&after, &expected, Algorithm::RsaSha256, fixture.signing());
    assert!(
        refused(&fixture, Kind::Http, &after).starts_with("DateSkew"),
        "{}",
        refused(&fixture, Kind::Http, &after)
    );
    // A server whose clock reads ten minutes earlier accepts it: only the time moved.
    assert!(fixture.verify_http_at(&after, then).is_ok());

    let (before, after) = mutate(&fixture, Kind::Jws, &[Mutation::ShiftTime(earlier)]);
    let header = jws_header_json(&before).replace(
        "\"sigT\":\"2019-11-19T17:28:15Z\"",
        "\"sigT\":\"2019-11-19T17:18:15Z\"",
    );
    assert_eq!(jws_header_json(&after), header);
    let (_, lines) = split(Kind::Jws, input(&before));
    let expected = format!("{}.{}", URL_SAFE_NO_PAD.encode(&header), lines.join("\n"));
    assert_signed_over(&after, &expected, Algorithm::PS256, fixture.signing());
    assert!(refused(&fixture, Kind::Jws, &after).starts_with("SigTSkew"));
    assert!(fixture.verify_jws_at(&after, then).is_ok());
    assert_eq!(
        after.request.header("Date"),
        None,
        "no Date to move in a JWS without it"
    );
}

#[test]
fn pss_salt_signs_with_that_salt() {
    let fixture = Fixture::new();
    let public = fixture.signing().cert.public_key().unwrap();
    for (salt, found) in [(PssSalt::Max, 222), (PssSalt::Bytes(48), 48)] {
        let (before, after) = mutate(&fixture, Kind::Jws, &[Mutation::PssSalt(salt)]);
        assert_eq!(input(&after), input(&before));
        let signature = signature_bytes(&after);
        assert!(Algorithm::PS256.verify_pss_salt(
            &public,
            input(&before).as_bytes(),
            &signature,
            salt
        ));
        assert_eq!(
            Algorithm::PS256.pss_salt_len(&public, input(&before).as_bytes(), &signature),
            Some(found)
        );
        assert_eq!(
            refused(&fixture, Kind::Jws, &after),
            format!("PssSaltLength {{ found: {found}, expected: 32 }}")
        );
        assert_only_the_signature_changed(&before, &after);
    }
}

fn fields(pairs: &[(&str, serde_json::Value)]) -> OrderedMap<serde_json::Value> {
    OrderedMap(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), v.clone()))
            .collect(),
    )
}

#[test]
fn jws_header_changes_the_protected_header_and_signs_over_it() {
    let fixture = Fixture::new();
    let x5t = format!("\"x5t#S256\":\"{}\",", fixture.signing().x5t_s256);
    // The change, the text it replaces in the header JSON and by what, the verdict.
    let cases = [
        (
            fields(&[("b64", json!(true))]),
            "\"b64\":false".to_string(),
            "\"b64\":true",
            "B64NotFalse",
        ),
        (
            fields(&[("crit", json!(["sigT", "sigD"]))]),
            "[\"sigT\",\"sigD\",\"b64\"]".to_string(),
            "[\"sigT\",\"sigD\"]",
            "CritIncomplete(\"b64\")",
        ),
        (
            fields(&[("x5t#S256", serde_json::Value::Null)]),
            x5t,
            "",
            "X5tMismatch",
        ),
    ];
    for (change, from, to, verdict) in cases {
        let (before, after) = mutate(&fixture, Kind::Jws, &[Mutation::JwsHeader(change)]);
        // The other fields stay where they were.
        let header = jws_header_json(&before).replace(&from, to);
        assert_ne!(header, jws_header_json(&before));
        assert_eq!(jws_header_json(&after), header);
        let (_, lines) = split(Kind::Jws, input(&before));
        let expected = format!("{}.{}", URL_SAFE_NO_PAD.encode(&header), lines.join("\n"));
        assert_signed_over(&after, &expected, Algorithm::PS256, fixture.signing());
        assert_eq!(refused(&fixture, Kind::Jws, &after), verdict);
    }
}

#[test]
fn resign_header_sends_and_signs_the_bad_value() {
    let fixture = Fixture::new();
    let mutation = Mutation::ResignHeader {
        name: "Date".into(),
        value: "2019-11-19T17:28:15Z".into(),
    };
    let (before, after) = mutate(&fixture, Kind::Http, &[mutation]);
    assert_eq!(after.request.header("Date"), Some("2019-11-19T17:28:15Z"));
    let expected = input(&before).replace(
        "date: Tue, 19 Nov 2019 17:28:15 GMT",
        "date: 2019-11-19T17:28:15Z",
    );
    assert_signed_over(&after, &expected, Algorithm::RsaSha256, fixture.signing());
    assert_eq!(
        refused(&fixture, Kind::Http, &after),
        "DateFormat(\"2019-11-19T17:28:15Z\")"
    );
}

#[test]
fn faults_accumulate_and_edits_stay_unsigned_in_any_order() {
    let fixture = Fixture::new();
    let (before, after) = mutate(
        &fixture,
        Kind::Jws,
        &[Mutation::TrailingLf, Mutation::SignWith("tls".into())],
    );
    let expected = format!("{}\n", input(&before));
    assert_signed_over(&after, &expected, Algorithm::PS256, fixture.role("tls"));

    let set_date = Mutation::SetHeader {
        name: "Date".into(),
        value: "Thu, 01 Jan 1970 00:00:00 GMT".into(),
    };
    for mutations in [
        [set_date.clone(), Mutation::TrailingLf],
        [Mutation::TrailingLf, set_date.clone()],
    ] {
        let (before, after) = mutate(&fixture, Kind::Http, &mutations);
        assert_eq!(
            after.request.header("Date"),
            Some("Thu, 01 Jan 1970 00:00:00 GMT")
        );
        let expected = format!("{}\n", input(&before));
        assert!(expected.contains("date: Tue, 19 Nov 2019 17:28:15 GMT"));
        assert_signed_over(&after, &expected, Algorithm::RsaSha256, fixture.signing());
    }
}

fn failure(fixture: &Fixture, mut signed: SignedRequest, mutations: &[Mutation]) -> String {
    apply(&mut signed, mutations, &fixture.keys())
        .unwrap_err()
        .to_string()
}

#[test]
fn what_cannot_be_done_is_refused_with_the_reason() {
    let fixture = Fixture::new();
    let http = || signed(&fixture, Kind::Http);
    let jws = || signed(&fixture, Kind::Jws);
    let mtls = fixture.sign_http(&SignProfile::default());
    for (signed, mutations, message) in [
        (
            mtls.clone(),
            vec![Mutation::TrailingLf],
            "mutation 1 (`trailing-lf`): it changes an x-jws-signature or HTTP signature, but flow `mtls` makes neither",
        ),
        (
            http(),
            vec![Mutation::PssSalt(PssSalt::Max)],
            "mutation 1 (`pss-salt`): it applies to a JWS (x-jws-signature), but the request carries an HTTP signature",
        ),
        (
            jws(),
            vec![Mutation::MoveSignature],
            "mutation 1 (`move-signature`): it applies to an HTTP signature, but the request carries a JWS (x-jws-signature)",
        ),
        (
            jws(),
            vec![
                Mutation::SignAlg(Algorithm::RS256),
                Mutation::PssSalt(PssSalt::Max),
            ],
            "mutation 2 (`pss-salt`): the signature is made with RS256, not RSA-PSS: it has no salt",
        ),
        (
            http(),
            vec![Mutation::SignWith("new_signing".into())],
            "mutation 1 (`sign-with`): the environment has no certificate `new_signing` to sign with",
        ),
        (
            http(),
            vec![Mutation::SignWith("ec".into())],
            "mutation 1 (`sign-with`): cannot sign: rsa-sha256 needs an RSA key, but the key is EC P-256",
        ),
        (
            http(),
            vec![Mutation::Unsign("x-request-id".into())],
            "mutation 1 (`unsign`): `x-request-id` is not among the signed headers (signed: (request-target) date digest)",
        ),
        (
            http(),
            vec![
                Mutation::Unsign("date".into()),
                Mutation::SignValue {
                    name: "Date".into(),
                    value: "x".into(),
                },
            ],
            "mutation 2 (`sign-value`): `Date` is not among the signed headers (signed: (request-target) digest)",
        ),
        (
            http(),
            vec![Mutation::SignExtra("Date".into())],
            "mutation 1 (`sign-extra`): `Date` is already among the signed headers (signed: (request-target) date digest): it cannot be signed unlisted",
        ),
        (
            jws(),
            vec![Mutation::SignExtra("X-Request-ID".into())],
            "mutation 1 (`sign-extra`): the request has no `X-Request-ID` header to sign",
        ),
        (
            http(),
            vec![Mutation::ResignHeader {
                name: "Accept".into(),
                value: "x".into(),
            }],
            "mutation 1 (`resign-header`): `Accept` is not among the signed headers (signed: (request-target) date digest)",
        ),
        (
            http(),
            vec![
                Mutation::RemoveHeader("Date".into()),
                Mutation::ShiftTime(TimeShift::parse("5m").unwrap()),
            ],
            "mutation 2 (`shift-time`): the request has neither a Date header nor a JWS sigT to shift",
        ),
    ] {
        assert_eq!(failure(&fixture, signed, &mutations), message);
    }
    // Edits need no signature.
    let mut plain = mtls;
    apply(
        &mut plain,
        [&Mutation::SetBody("x".into())],
        &fixture.keys(),
    )
    .unwrap();
    assert_eq!(plain.request.body, b"x");
}

#[test]
fn consecutive_faults_are_signed_once_together() {
    // With an EC key half-way, rsa-sha256 could not sign; together they can.
    let fixture = Fixture::new();
    let (before, after) = mutate(
        &fixture,
        Kind::Http,
        &[
            Mutation::SignWith("ec".into()),
            Mutation::SignAlg(Algorithm::EcdsaSha256),
        ],
    );
    assert_signed_over(
        &after,
        input(&before),
        Algorithm::EcdsaSha256,
        fixture.role("ec"),
    );
    assert_only_the_signature_changed(&before, &after);
}

#[test]
fn reordering_one_signed_header_is_refused() {
    let fixture = Fixture::new();
    let profile = SignProfile {
        headers: Some(vec!["date".into()]),
        ..http_profile(Placement::SignatureHeader)
    };
    let one = fixture.sign_http(&profile);
    assert_eq!(
        failure(&fixture, one, &[Mutation::ReorderSigned]),
        "mutation 1 (`reorder-signed`): reordering needs two signed headers or more (signed: date)"
    );
}
