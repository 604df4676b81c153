//! aws-lc-rs as a strict, independent RFC 7518 verifier (PSS salt = digest length, raw `r‖s`
//! ECDSA) of what obconform signs, and the rejection matrix of obconform's own verifiers: every
//! field of a detached JWS and of a client assertion that a client can get wrong.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self as lc, EcdsaKeyPair, RsaKeyPair, UnparsedPublicKey, VerificationAlgorithm,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use obconform::certs::self_signed::self_signed;
use obconform::scenario::model::{Flow, SignProfile};
use obconform::sign::client_assertion::{
    self, AssertionError, AssertionSpec, DEFAULT_LIFETIME, Thumbprint,
};
use obconform::sign::http_signature::{self, Placement};
use obconform::sign::jws::{self, JwsError};
use obconform::sign::message::Message;
use obconform::sign::{Algorithm, JWS_HEADER, SigningKey};
use obconform::steps::sign::SignInputs;
use obconform::wire::HttpRequest;
use openssl::bn::BigNumContext;
use openssl::ec::{EcGroup, EcKey, PointConversionForm};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private, Public};
use openssl::rsa::{Padding, Rsa};
use openssl::sign::{RsaPssSaltlen, Signer};
use serde_json::{Value, json};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// 2023-11-14T22:13:20Z
const NOW_SECS: u64 = 1_700_000_000;
const CLIENT_ID: &str = "5ca1ab1e-c0ca-c01a-cafe-154deadbea75";
const TOKEN_URL: &str = "https://api.sandbox.ing.com/oauth2/token";
const APPLICATIONS_PATH: &str = "/oauth2/applications";

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW_SECS)
}

// ---- keys and certificates (made once per process) ----

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum KeyKind {
    Rsa2048,
    Rsa2049,
    Rsa3072,
    P256,
    P384,
    P521,
}

fn generate(kind: KeyKind) -> PKey<Private> {
    let ec = |nid| {
        let group = EcGroup::from_curve_name(nid).unwrap();
        PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
    };
    match kind {
        KeyKind::Rsa2048 => PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap(),
        KeyKind::Rsa2049 => PKey::from_rsa(Rsa::generate(2049).unwrap()).unwrap(),
        KeyKind::Rsa3072 => PKey::from_rsa(Rsa::generate(3072).unwrap()).unwrap(),
        KeyKind::P256 => ec(Nid::X9_62_PRIME256V1),
        KeyKind::P384 => ec(Nid::SECP384R1),
        KeyKind::P521 => ec(Nid::SECP521R1),
    }
}

fn certify(key: PKey<Private>, serial: u32) -> SigningKey {
    let cert = self_signed(
        &key,
        "aws-lc cross-check",
        &format!("{serial:X}"),
        1,
        vec![],
    )
    .unwrap();
    SigningKey::new(cert, key)
}

/// The signing key of a kind, shared by the tests of this file.
fn signing(kind: KeyKind) -> &'static SigningKey {
    static KEYS: [OnceLock<SigningKey>; 6] = [const { OnceLock::new() }; 6];
    let slot = match kind {
        KeyKind::Rsa2048 => 0,
        KeyKind::Rsa2049 => 1,
        KeyKind::Rsa3072 => 2,
        KeyKind::P256 => 3,
        KeyKind::P384 => 4,
        KeyKind::P521 => 5,
    };
    KEYS[slot].get_or_init(|| certify(generate(kind), 0x4000 + slot as u32))
}

/// A second RSA-2048 key with its own certificate: the "other key" of the tamper tests.
fn other_rsa() -> &'static SigningKey {
    static OTHER: OnceLock<SigningKey> = OnceLock::new();
    OTHER.get_or_init(|| certify(generate(KeyKind::Rsa2048), 0x5000))
}

fn public(key: &SigningKey) -> PKey<Public> {
    key.cert.public_key().unwrap()
}

/// The public key as aws-lc-rs takes it: RSA → PKCS#1 `RSAPublicKey` DER; EC → the uncompressed
/// point.
fn aws_lc_public_bytes(key: &SigningKey) -> Vec<u8> {
    let public = public(key);
    if let Ok(rsa) = public.rsa() {
        return rsa.public_key_to_der_pkcs1().unwrap();
    }
    let ec = public.ec_key().unwrap();
    let mut ctx = BigNumContext::new().unwrap();
    ec.public_key()
        .to_bytes(ec.group(), PointConversionForm::UNCOMPRESSED, &mut ctx)
        .unwrap()
}

fn aws_lc_verifies(
    alg: &'static dyn VerificationAlgorithm,
    key: &SigningKey,
    message: &[u8],
    signature: &[u8],
) -> bool {
    UnparsedPublicKey::new(alg, aws_lc_public_bytes(key))
        .verify(message, signature)
        .is_ok()
}

/// Every algorithm obconform signs with, its key and aws-lc-rs's strict verifier for it.
fn matrix() -> Vec<(Algorithm, KeyKind, &'static dyn VerificationAlgorithm)> {
    vec![
        (
            Algorithm::RsaSha256,
            KeyKind::Rsa2048,
            &lc::RSA_PKCS1_2048_8192_SHA256,
        ),
        (
            Algorithm::EcdsaSha256,
            KeyKind::P256,
            &lc::ECDSA_P256_SHA256_ASN1,
        ),
        (
            Algorithm::EcdsaSha384,
            KeyKind::P384,
            &lc::ECDSA_P384_SHA384_ASN1,
        ),
        (
            Algorithm::EcdsaSha512,
            KeyKind::P521,
            &lc::ECDSA_P521_SHA512_ASN1,
        ),
        (
            Algorithm::RS256,
            KeyKind::Rsa2048,
            &lc::RSA_PKCS1_2048_8192_SHA256,
        ),
        (
            Algorithm::RS384,
            KeyKind::Rsa2048,
            &lc::RSA_PKCS1_2048_8192_SHA384,
        ),
        (
            Algorithm::RS512,
            KeyKind::Rsa2048,
            &lc::RSA_PKCS1_2048_8192_SHA512,
        ),
        (
            Algorithm::PS256,
            KeyKind::Rsa2048,
            &lc::RSA_PSS_2048_8192_SHA256,
        ),
        (
            Algorithm::PS384,
            KeyKind::Rsa2048,
            &lc::RSA_PSS_2048_8192_SHA384,
        ),
        (
            Algorithm::PS512,
            KeyKind::Rsa2048,
            &lc::RSA_PSS_2048_8192_SHA512,
        ),
        (
            Algorithm::ES256,
            KeyKind::P256,
            &lc::ECDSA_P256_SHA256_FIXED,
        ),
        (
            Algorithm::ES384,
            KeyKind::P384,
            &lc::ECDSA_P384_SHA384_FIXED,
        ),
        (
            Algorithm::ES512,
            KeyKind::P521,
            &lc::ECDSA_P521_SHA512_FIXED,
        ),
    ]
}

#[test]
fn every_algorithm_verifies_in_aws_lc_and_in_obconform() {
    let table = matrix();
    assert_eq!(table.len(), Algorithm::ALL.len(), "the table covers all");
    let data = b"(request-target): post /oauth2/token\ndate: Tue, 14 Nov 2023 22:13:20 GMT";
    for (alg, kind, verifier) in table {
        let key = signing(kind);
        let signature = alg.sign(&key.key, data).unwrap();
        assert!(aws_lc_verifies(verifier, key, data, &signature), "{alg}");
        assert!(alg.verify(&public(key), data, &signature), "{alg}");
        assert!(
            !aws_lc_verifies(verifier, key, b"other", &signature),
            "{alg}"
        );
        let mut flipped = signature.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(!aws_lc_verifies(verifier, key, data, &flipped), "{alg}");
        assert!(!alg.verify(&public(key), data, &flipped), "{alg}");
    }
}

#[test]
fn pss_salt_is_the_digest_length_for_every_modulus_size() {
    for kind in [KeyKind::Rsa2048, KeyKind::Rsa2049, KeyKind::Rsa3072] {
        let key = signing(kind);
        for (alg, verifier) in [
            (
                Algorithm::PS256,
                &lc::RSA_PSS_2048_8192_SHA256 as &dyn VerificationAlgorithm,
            ),
            (Algorithm::PS384, &lc::RSA_PSS_2048_8192_SHA384),
            (Algorithm::PS512, &lc::RSA_PSS_2048_8192_SHA512),
        ] {
            let data = b"salt";
            let signature = alg.sign(&key.key, data).unwrap();
            assert!(
                aws_lc_verifies(verifier, key, data, &signature),
                "{alg} {kind:?}"
            );
            assert_eq!(
                alg.pss_salt_len(&public(key), data, &signature),
                Some(alg.digest_len()),
                "{alg} {kind:?}"
            );
        }
    }
}

/// What `openssl dgst -sigopt rsa_padding_mode:pss` makes on OpenSSL 3.0: the maximum salt.
fn max_salt_pss(alg: Algorithm, key: &SigningKey, data: &[u8]) -> Vec<u8> {
    let mut signer = Signer::new(alg.digest(), &key.key).unwrap();
    signer.set_rsa_padding(Padding::PKCS1_PSS).unwrap();
    signer
        .set_rsa_pss_saltlen(RsaPssSaltlen::MAXIMUM_LENGTH)
        .unwrap();
    signer.set_rsa_mgf1_md(alg.digest()).unwrap();
    signer.sign_oneshot_to_vec(data).unwrap()
}

#[test]
fn a_maximum_salt_pss_signature_is_rejected_by_aws_lc_and_named_by_obconform() {
    for (kind, alg, verifier, expected_salt) in [
        (
            KeyKind::Rsa2048,
            Algorithm::PS256,
            &lc::RSA_PSS_2048_8192_SHA256 as &dyn VerificationAlgorithm,
            222,
        ),
        (
            KeyKind::Rsa2048,
            Algorithm::PS384,
            &lc::RSA_PSS_2048_8192_SHA384,
            206,
        ),
        (
            KeyKind::Rsa2048,
            Algorithm::PS512,
            &lc::RSA_PSS_2048_8192_SHA512,
            190,
        ),
        // 2049 bits: the encoded message is one byte shorter than the modulus.
        (
            KeyKind::Rsa2049,
            Algorithm::PS256,
            &lc::RSA_PSS_2048_8192_SHA256,
            222,
        ),
        (
            KeyKind::Rsa3072,
            Algorithm::PS256,
            &lc::RSA_PSS_2048_8192_SHA256,
            350,
        ),
    ] {
        let key = signing(kind);
        let data = b"eyJiNjQiOmZhbHNlfQ.(request-target): post /oauth2/applications";
        let signature = max_salt_pss(alg, key, data);
        assert!(
            !aws_lc_verifies(verifier, key, data, &signature),
            "aws-lc-rs is strict: {alg} {kind:?}"
        );
        assert!(
            !alg.verify(&public(key), data, &signature),
            "{alg} {kind:?}"
        );
        assert_eq!(
            alg.pss_salt_len(&public(key), data, &signature),
            Some(expected_salt),
            "{alg} {kind:?}"
        );
    }
}

#[test]
fn aws_lc_signatures_verify_in_obconform() {
    let rng = SystemRandom::new();
    let data = b"made by aws-lc-rs";
    let rsa = signing(KeyKind::Rsa2048);
    let pair = RsaKeyPair::from_pkcs8(&rsa.key.private_key_to_pkcs8().unwrap()).unwrap();
    for (alg, encoding) in [
        (
            Algorithm::PS256,
            &lc::RSA_PSS_SHA256 as &'static dyn lc::RsaEncoding,
        ),
        (Algorithm::PS384, &lc::RSA_PSS_SHA384),
        (Algorithm::PS512, &lc::RSA_PSS_SHA512),
        (Algorithm::RS256, &lc::RSA_PKCS1_SHA256),
        (Algorithm::RsaSha256, &lc::RSA_PKCS1_SHA256),
    ] {
        let mut signature = vec![0; pair.public_modulus_len()];
        pair.sign(encoding, &rng, data, &mut signature).unwrap();
        assert!(alg.verify(&public(rsa), data, &signature), "{alg}");
    }
    for (alg, kind, signing_alg) in [
        (
            Algorithm::ES256,
            KeyKind::P256,
            &lc::ECDSA_P256_SHA256_FIXED_SIGNING,
        ),
        (
            Algorithm::ES384,
            KeyKind::P384,
            &lc::ECDSA_P384_SHA384_FIXED_SIGNING,
        ),
        (
            Algorithm::ES512,
            KeyKind::P521,
            &lc::ECDSA_P521_SHA512_FIXED_SIGNING,
        ),
        (
            Algorithm::EcdsaSha256,
            KeyKind::P256,
            &lc::ECDSA_P256_SHA256_ASN1_SIGNING,
        ),
    ] {
        let key = signing(kind);
        let pair = EcdsaKeyPair::from_pkcs8(signing_alg, &key.key.private_key_to_pkcs8().unwrap())
            .unwrap();
        let signature = pair.sign(&rng, data).unwrap();
        assert!(alg.verify(&public(key), data, signature.as_ref()), "{alg}");
    }
}

// ---- detached JWS ----

fn registration_request() -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        url: format!("https://api.sandbox.ing.com{APPLICATIONS_PATH}"),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: br#"{"contact":"one@example.com","redirect_uris":["https://client.example.org/callback"]}"#
            .to_vec(),
    }
}

/// A request signed by `sign::sign` (flow jws) with the given algorithm and key.
struct SignedJws {
    key: &'static SigningKey,
    request: HttpRequest,
    value: String,
    signing_input: String,
}

impl SignedJws {
    fn new(alg: Algorithm, kind: KeyKind) -> Self {
        let key = signing(kind);
        let profile = SignProfile {
            flow: Flow::Jws,
            algorithm: Some(alg),
            ..SignProfile::default()
        };
        let inputs = SignInputs {
            key: Some(key),
            key_id: None,
            audience: None,
            client_id: None,
            now: now(),
        };
        let signed =
            obconform::steps::sign::sign(registration_request(), &profile, &inputs).unwrap();
        SignedJws {
            key,
            value: signed.request.header(JWS_HEADER).unwrap().to_string(),
            signing_input: signed.signing_input.unwrap(),
            request: signed.request,
        }
    }

    fn message(&self) -> Message<'_> {
        Message::of(&self.request, APPLICATIONS_PATH)
    }

    fn header(&self) -> Value {
        jws::parse(&self.value).unwrap().header
    }

    /// The signed header lines (`pars` order of the signed header).
    fn lines(&self) -> String {
        self.signing_input.split_once('.').unwrap().1.to_string()
    }

    fn signature(&self) -> Vec<u8> {
        let (_, signature) = self.value.split_once("..").unwrap();
        URL_SAFE_NO_PAD.decode(signature).unwrap()
    }

    fn verify(&self, value: &str) -> Result<Algorithm, JwsError> {
        self.verify_at(value, now(), &self.request)
    }

    fn verify_at(
        &self,
        value: &str,
        at: SystemTime,
        request: &HttpRequest,
    ) -> Result<Algorithm, JwsError> {
        let parsed = jws::parse(value)?;
        jws::verify(
            &Message::of(request, APPLICATIONS_PATH),
            &parsed,
            &public(self.key),
            &self.key.x5t_s256,
            &jws::Policy {
                required: &jws::DEFAULT_PARS,
                now: at,
                max_skew: Duration::from_secs(180),
            },
        )
    }
}

/// A JWS with any header over any lines, validly signed with `alg` by `key`: the way a client
/// with a bug in its JWS code makes one.
fn forge(header: &Value, lines: &str, alg: Algorithm, key: &SigningKey) -> String {
    let header_b64 = URL_SAFE_NO_PAD.encode(header.to_string());
    let signature = alg
        .sign(&key.key, format!("{header_b64}.{lines}").as_bytes())
        .unwrap();
    format!("{header_b64}..{}", URL_SAFE_NO_PAD.encode(signature))
}

fn jws_matrix() -> Vec<(Algorithm, KeyKind, &'static dyn VerificationAlgorithm)> {
    matrix()
        .into_iter()
        .filter(|(alg, _, _)| {
            matches!(
                alg,
                Algorithm::PS256
                    | Algorithm::PS384
                    | Algorithm::PS512
                    | Algorithm::ES256
                    | Algorithm::ES384
                    | Algorithm::ES512
            )
        })
        .collect()
}

#[test]
fn jws_of_every_algorithm_verifies_in_aws_lc_and_in_obconform() {
    let table = jws_matrix();
    assert_eq!(table.len(), 6);
    for (alg, kind, verifier) in table {
        let signed = SignedJws::new(alg, kind);
        let header = signed.header();
        assert_eq!(header["alg"], alg.name());
        assert_eq!(header["b64"], false);
        assert_eq!(header["crit"], json!(["sigT", "sigD", "b64"]));
        assert_eq!(header["sigT"], "2023-11-14T22:13:20Z");
        assert_eq!(
            header["sigD"],
            json!({"pars": ["(request-target)", "digest", "content-type"], "mId": "http://uri.etsi.org/19182/HttpHeaders"})
        );
        assert_eq!(header["x5t#S256"], signed.key.x5t_s256);
        let signature = signed.signature();
        if let Some(curve_bytes) = match alg {
            Algorithm::ES256 => Some(32),
            Algorithm::ES384 => Some(48),
            Algorithm::ES512 => Some(66),
            _ => None,
        } {
            assert_eq!(signature.len(), 2 * curve_bytes, "{alg}: raw r||s");
        }
        assert!(
            aws_lc_verifies(
                verifier,
                signed.key,
                signed.signing_input.as_bytes(),
                &signature
            ),
            "{alg}: aws-lc-rs rejects obconform's JWS"
        );
        assert_eq!(signed.verify(&signed.value), Ok(alg), "{alg}");
        // The control for the forging helper: the same header and lines verify.
        let reforged = forge(&header, &signed.lines(), alg, signed.key);
        assert_eq!(signed.verify(&reforged), Ok(alg), "{alg} reforged");
    }
}

fn expect_jws(result: Result<Algorithm, JwsError>, want: &JwsError, diagnosis: &str, case: &str) {
    let err = result.expect_err(case);
    assert_eq!(&err, want, "{case}");
    assert_eq!(err.diagnosis_id(), diagnosis, "{case}");
}

#[test]
fn jws_header_b64_true_or_absent_is_rejected() {
    let signed = SignedJws::new(Algorithm::PS256, KeyKind::Rsa2048);
    for b64 in [json!(true), json!("false"), Value::Null] {
        let mut header = signed.header();
        if b64.is_null() {
            header.as_object_mut().unwrap().remove("b64");
        } else {
            header["b64"] = b64.clone();
        }
        let value = forge(&header, &signed.lines(), Algorithm::PS256, signed.key);
        expect_jws(
            signed.verify(&value),
            &JwsError::B64NotFalse,
            "jws.b64-not-false",
            &format!("b64 {b64}"),
        );
    }
}

#[test]
fn jws_crit_missing_an_entry_is_rejected() {
    let signed = SignedJws::new(Algorithm::PS256, KeyKind::Rsa2048);
    for missing in ["sigT", "sigD", "b64"] {
        let mut header = signed.header();
        let crit: Vec<&str> = ["sigT", "sigD", "b64"]
            .into_iter()
            .filter(|c| *c != missing)
            .collect();
        header["crit"] = json!(crit);
        let value = forge(&header, &signed.lines(), Algorithm::PS256, signed.key);
        expect_jws(
            signed.verify(&value),
            &JwsError::CritIncomplete(missing.into()),
            "jws.crit-incomplete",
            missing,
        );
    }
    let mut header = signed.header();
    header.as_object_mut().unwrap().remove("crit");
    let value = forge(&header, &signed.lines(), Algorithm::PS256, signed.key);
    expect_jws(
        signed.verify(&value),
        &JwsError::CritIncomplete("sigT".into()),
        "jws.crit-incomplete",
        "no crit",
    );
}

#[test]
fn jws_sig_t_outside_three_minutes_is_rejected() {
    let signed = SignedJws::new(Algorithm::PS256, KeyKind::Rsa2048);
    for at in [
        now() + Duration::from_secs(181),
        now() - Duration::from_secs(181),
    ] {
        expect_jws(
            signed.verify_at(&signed.value, at, &signed.request),
            &JwsError::SigTSkew {
                sig_t: "2023-11-14T22:13:20Z".into(),
                skew: 181,
            },
            "jws.sigt-skew",
            "181 s",
        );
    }
    for at in [
        now() + Duration::from_secs(180),
        now() - Duration::from_secs(180),
    ] {
        assert_eq!(
            signed.verify_at(&signed.value, at, &signed.request),
            Ok(Algorithm::PS256),
            "180 s is within"
        );
    }
    // A client whose clock is four minutes behind signs a stale sigT.
    let mut header = signed.header();
    header["sigT"] = json!("2023-11-14T22:09:20Z");
    let value = forge(&header, &signed.lines(), Algorithm::PS256, signed.key);
    expect_jws(
        signed.verify(&value),
        &JwsError::SigTSkew {
            sig_t: "2023-11-14T22:09:20Z".into(),
            skew: 240,
        },
        "jws.sigt-skew",
        "stale sigT",
    );
    // Fractions and offsets are not the format.
    for text in ["2023-11-14T22:13:20.000Z", "2023-11-14T23:13:20+01:00"] {
        let mut header = signed.header();
        header["sigT"] = json!(text);
        let value = forge(&header, &signed.lines(), Algorithm::PS256, signed.key);
        expect_jws(
            signed.verify(&value),
            &JwsError::SigTFormat(text.into()),
            "jws.sigt-skew",
            text,
        );
    }
}

/// chrono alone accepts unpadded fields and a leading `+`; `parse_sig_t` must not.
#[test]
fn jws_sig_t_not_in_rfc_3339_form_is_rejected() {
    let signed = SignedJws::new(Algorithm::PS256, KeyKind::Rsa2048);
    for text in [
        "2023-11-14T22:13:2Z",
        " 2023-11-14T22:13:20Z",
        "+2023-11-14T22:13:20Z",
    ] {
        let mut header = signed.header();
        header["sigT"] = json!(text);
        let value = forge(&header, &signed.lines(), Algorithm::PS256, signed.key);
        expect_jws(
            signed.verify(&value),
            &JwsError::SigTFormat(text.into()),
            "jws.sigt-skew",
            text,
        );
    }
}

#[test]
fn jws_pars_order_other_than_the_signed_lines_is_rejected() {
    let signed = SignedJws::new(Algorithm::PS256, KeyKind::Rsa2048);
    // The header lists digest first, the lines were collected in the old order.
    let mut header = signed.header();
    header["sigD"]["pars"] = json!(["digest", "(request-target)", "content-type"]);
    let value = forge(&header, &signed.lines(), Algorithm::PS256, signed.key);
    expect_jws(
        signed.verify(&value),
        &JwsError::BadSignature,
        "jws.wrong-key",
        "pars swapped",
    );
    // And the other way round: the header as signed, the lines swapped.
    let signed_lines = signed.lines();
    let lines: Vec<&str> = signed_lines.split('\n').collect();
    let swapped = [lines[1], lines[0], lines[2]].join("\n");
    let value = forge(&signed.header(), &swapped, Algorithm::PS256, signed.key);
    expect_jws(
        signed.verify(&value),
        &JwsError::BadSignature,
        "jws.wrong-key",
        "lines swapped",
    );
    // The same headers in the header's order do verify.
    let value = forge(&header, &swapped, Algorithm::PS256, signed.key);
    assert_eq!(signed.verify(&value), Ok(Algorithm::PS256));
}

#[test]
fn jws_trailing_lf_or_crlf_line_endings_are_rejected() {
    let signed = SignedJws::new(Algorithm::PS256, KeyKind::Rsa2048);
    let header = signed.header();
    for (case, lines) in [
        ("trailing LF", format!("{}\n", signed.lines())),
        ("CRLF", signed.lines().replace('\n', "\r\n")),
        ("trailing CRLF", format!("{}\r\n", signed.lines())),
        ("LF before the lines", format!("\n{}", signed.lines())),
    ] {
        let value = forge(&header, &lines, Algorithm::PS256, signed.key);
        expect_jws(
            signed.verify(&value),
            &JwsError::BadSignature,
            "jws.wrong-key",
            case,
        );
    }
}

#[test]
fn jws_alg_other_than_the_one_signed_with_is_rejected() {
    let signed = SignedJws::new(Algorithm::PS256, KeyKind::Rsa2048);
    // Header says PS384, the client signed with PS256 (the guide's troubleshooting item 8).
    let mut header = signed.header();
    header["alg"] = json!("PS384");
    let value = forge(&header, &signed.lines(), Algorithm::PS256, signed.key);
    expect_jws(
        signed.verify(&value),
        &JwsError::BadSignature,
        "jws.wrong-key",
        "PS384 header, PS256 signature",
    );
    // Header says PS256, signed with PS384 or with PKCS#1 v1.5.
    for used in [Algorithm::PS384, Algorithm::RS256] {
        let value = forge(&signed.header(), &signed.lines(), used, signed.key);
        expect_jws(
            signed.verify(&value),
            &JwsError::BadSignature,
            "jws.wrong-key",
            used.name(),
        );
    }
    // Names a detached JWS for ING may not carry.
    for alg in ["RS256", "ps256", "none", "rsa-sha256", "HS256"] {
        let mut header = signed.header();
        header["alg"] = json!(alg);
        let value = forge(&header, &signed.lines(), Algorithm::PS256, signed.key);
        expect_jws(
            signed.verify(&value),
            &JwsError::Algorithm(alg.into()),
            "jws.alg-mismatch",
            alg,
        );
    }
    // ES256 named but the certificate is RSA.
    let mut header = signed.header();
    header["alg"] = json!("ES256");
    let value = forge(&header, &signed.lines(), Algorithm::PS256, signed.key);
    expect_jws(
        signed.verify(&value),
        &JwsError::BadSignature,
        "jws.wrong-key",
        "ES256 with an RSA certificate",
    );
}

#[test]
fn jws_x5t_s256_of_another_certificate_is_rejected() {
    let signed = SignedJws::new(Algorithm::PS256, KeyKind::Rsa2048);
    let mut header = signed.header();
    header["x5t#S256"] = json!(other_rsa().x5t_s256);
    let value = forge(&header, &signed.lines(), Algorithm::PS256, signed.key);
    expect_jws(
        signed.verify(&value),
        &JwsError::X5tMismatch,
        "jws.x5t-mismatch",
        "other x5t#S256",
    );
    // The SHA-1 x5t in its place, and the standard-base64 form of the right one.
    let mut header = signed.header();
    header["x5t#S256"] = json!(signed.key.x5t);
    let value = forge(&header, &signed.lines(), Algorithm::PS256, signed.key);
    expect_jws(
        signed.verify(&value),
        &JwsError::X5tMismatch,
        "jws.x5t-mismatch",
        "x5t (SHA-1) value",
    );
    let padded = STANDARD.encode(signed.key.cert.digest(MessageDigest::sha256()).unwrap());
    if padded != signed.key.x5t_s256 {
        let mut header = signed.header();
        header["x5t#S256"] = json!(padded);
        let value = forge(&header, &signed.lines(), Algorithm::PS256, signed.key);
        expect_jws(
            signed.verify(&value),
            &JwsError::X5tMismatch,
            "jws.x5t-mismatch",
            "standard base64 thumbprint",
        );
    }
}

#[test]
fn jws_header_changed_after_signing_is_rejected() {
    let signed = SignedJws::new(Algorithm::PS256, KeyKind::Rsa2048);
    let signature = URL_SAFE_NO_PAD.encode(signed.signature());
    // Re-encoded JSON (same members, other spacing) is another header.
    let mut header_text = signed.header().to_string();
    header_text = header_text.replacen("\"b64\":false", "\"b64\": false", 1);
    let value = format!("{}..{signature}", URL_SAFE_NO_PAD.encode(&header_text));
    expect_jws(
        signed.verify(&value),
        &JwsError::BadSignature,
        "jws.wrong-key",
        "header respaced",
    );
    // sigT moved by a second without re-signing.
    let mut header = signed.header();
    header["sigT"] = json!("2023-11-14T22:13:21Z");
    let value = format!(
        "{}..{signature}",
        URL_SAFE_NO_PAD.encode(header.to_string())
    );
    expect_jws(
        signed.verify(&value),
        &JwsError::BadSignature,
        "jws.wrong-key",
        "sigT changed",
    );
}

#[test]
fn jws_request_header_values_changed_after_signing_are_rejected() {
    let signed = SignedJws::new(Algorithm::PS256, KeyKind::Rsa2048);
    let with = |name: &str, value: &str| {
        let mut request = signed.request.clone();
        for (k, v) in request.headers.iter_mut() {
            if k.eq_ignore_ascii_case(name) {
                *v = value.to_string();
            }
        }
        request
    };
    let content_type = with("Content-Type", "application/json; charset=utf-8");
    expect_jws(
        signed.verify_at(&signed.value, now(), &content_type),
        &JwsError::BadSignature,
        "jws.wrong-key",
        "content-type",
    );
    // A Digest that matches another body: the body check names it.
    let digest = with("Digest", &obconform::sign::digest::sha256_digest(b"{}"));
    let err = signed.verify_at(&signed.value, now(), &digest).unwrap_err();
    assert!(matches!(err, JwsError::Digest(_)), "{err:?}");
    assert_eq!(err.diagnosis_id(), "jws.header-value-mismatch");
    // A body byte changed in transit.
    let mut body = signed.request.clone();
    body.body[3] ^= 0x20;
    let err = signed.verify_at(&signed.value, now(), &body).unwrap_err();
    assert!(matches!(err, JwsError::Digest(_)), "{err:?}");
    // The method and the path are signed.
    let mut method = signed.request.clone();
    method.method = "PUT".into();
    expect_jws(
        signed.verify_at(&signed.value, now(), &method),
        &JwsError::BadSignature,
        "jws.wrong-key",
        "method",
    );
    let mut path = signed.request.clone();
    path.url = "https://api.sandbox.ing.com/oauth2/applications/me".into();
    let parsed = jws::parse(&signed.value).unwrap();
    let err = jws::verify(
        &Message::of(&path, "/oauth2/applications/me"),
        &parsed,
        &public(signed.key),
        &signed.key.x5t_s256,
        &jws::Policy {
            required: &jws::DEFAULT_PARS,
            now: now(),
            max_skew: Duration::from_secs(180),
        },
    )
    .unwrap_err();
    assert_eq!(err, JwsError::BadSignature, "path");
    // A pars header the request lacks, and a required one left out of pars.
    let mut header = signed.header();
    header["sigD"]["pars"] = json!(["(request-target)", "digest", "content-type", "date"]);
    let value = forge(&header, &signed.lines(), Algorithm::PS256, signed.key);
    expect_jws(
        signed.verify(&value),
        &JwsError::ParsHeaderMissing("date".into()),
        "jws.pars-not-signed",
        "date in pars",
    );
    let mut header = signed.header();
    header["sigD"]["pars"] = json!(["(request-target)", "content-type"]);
    let value = forge(&header, &signed.lines(), Algorithm::PS256, signed.key);
    expect_jws(
        signed.verify(&value),
        &JwsError::RequiredNotInPars("digest".into()),
        "jws.signed-not-in-pars",
        "digest not in pars",
    );
}

#[test]
fn jws_signed_by_another_key_is_rejected() {
    let signed = SignedJws::new(Algorithm::PS256, KeyKind::Rsa2048);
    let value = forge(
        &signed.header(),
        &signed.lines(),
        Algorithm::PS256,
        other_rsa(),
    );
    expect_jws(
        signed.verify(&value),
        &JwsError::BadSignature,
        "jws.wrong-key",
        "other key",
    );
    // And an ES256 JWS checked against another P-256 certificate's key.
    let es = SignedJws::new(Algorithm::ES256, KeyKind::P256);
    let stranger = certify(generate(KeyKind::P256), 0x6000);
    let parsed = jws::parse(&es.value).unwrap();
    assert_eq!(
        jws::verify(
            &es.message(),
            &parsed,
            &public(&stranger),
            &es.key.x5t_s256,
            &jws::Policy {
                required: &jws::DEFAULT_PARS,
                now: now(),
                max_skew: Duration::from_secs(180),
            },
        ),
        Err(JwsError::BadSignature)
    );
}

#[test]
fn jws_with_an_attached_payload_is_rejected() {
    let signed = SignedJws::new(Algorithm::PS256, KeyKind::Rsa2048);
    let (header, signature) = signed.value.split_once("..").unwrap();
    let attached = format!(
        "{header}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(signed.lines())
    );
    let err = signed.verify(&attached).unwrap_err();
    assert!(matches!(err, JwsError::Malformed(_)), "{err:?}");
    assert_eq!(err.diagnosis_id(), "jws.header-not-json");
}

#[test]
fn a_maximum_salt_jws_is_named_and_aws_lc_agrees_it_is_wrong() {
    let signed = SignedJws::new(Algorithm::PS256, KeyKind::Rsa2048);
    let header_b64 = signed.value.split_once("..").unwrap().0;
    let input = format!("{header_b64}.{}", signed.lines());
    let signature = max_salt_pss(Algorithm::PS256, signed.key, input.as_bytes());
    assert!(!aws_lc_verifies(
        &lc::RSA_PSS_2048_8192_SHA256,
        signed.key,
        input.as_bytes(),
        &signature
    ));
    let value = format!("{header_b64}..{}", URL_SAFE_NO_PAD.encode(&signature));
    expect_jws(
        signed.verify(&value),
        &JwsError::PssSaltLength {
            found: 222,
            expected: 32,
        },
        "jws.pss-salt-length",
        "max salt",
    );
}

// ---- HTTP signatures, every algorithm ----

#[test]
fn http_signatures_of_every_algorithm_verify_in_aws_lc_and_in_obconform() {
    let http: Vec<_> = matrix()
        .into_iter()
        .filter(|(alg, _, _)| alg.family() == obconform::sign::Family::HttpSignature)
        .collect();
    assert_eq!(http.len(), 4);
    for (alg, kind, verifier) in http {
        let key = signing(kind);
        let request = HttpRequest {
            method: "POST".into(),
            url: TOKEN_URL.into(),
            headers: vec![(
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            body: b"grant_type=client_credentials".to_vec(),
        };
        let profile = SignProfile {
            flow: Flow::HttpSignature,
            algorithm: Some(alg),
            ..SignProfile::default()
        };
        let inputs = SignInputs {
            key: Some(key),
            key_id: None,
            audience: None,
            client_id: None,
            now: now(),
        };
        let signed = obconform::steps::sign::sign(request, &profile, &inputs).unwrap();
        let message = Message::of(&signed.request, "/oauth2/token");
        let (placement, params) = http_signature::locate(&message).unwrap();
        assert_eq!(placement, Placement::Authorization);
        assert_eq!(params.algorithm.as_deref(), Some(alg.name()));
        let signature = STANDARD.decode(&params.signature).unwrap();
        let input = signed.signing_input.unwrap();
        assert!(
            aws_lc_verifies(verifier, key, input.as_bytes(), &signature),
            "{alg}: aws-lc-rs rejects obconform's HTTP signature"
        );
        let policy = http_signature::Policy {
            required: &["(request-target)", "date", "digest"],
            now: now(),
            max_skew: Duration::from_secs(180),
        };
        assert_eq!(
            http_signature::verify(&message, &params, &public(key), &policy),
            Ok(alg)
        );
        assert_eq!(
            http_signature::verify(&message, &params, &public(other_rsa()), &policy)
                .unwrap_err()
                .diagnosis_id(),
            "httpsig.wrong-key",
            "{alg}"
        );
    }
}

// ---- client assertions ----

#[derive(Clone)]
struct Assertion {
    key: &'static SigningKey,
    jwt: String,
    signing_input: String,
}

fn assertion(alg: Algorithm, thumbprint: Thumbprint) -> Assertion {
    let key = signing(KeyKind::Rsa2048);
    let spec = AssertionSpec {
        algorithm: alg,
        client_id: CLIENT_ID,
        audience: TOKEN_URL,
        jti: "9b0c6f0e-5f0e-4a57-9d55-2c0f3f9f0a11",
        thumbprint,
        thumbprint_value: match thumbprint {
            Thumbprint::X5t => &key.x5t,
            Thumbprint::X5tS256 => &key.x5t_s256,
        },
        now: now(),
        lifetime: DEFAULT_LIFETIME,
    };
    let made = client_assertion::sign(&spec, &key.key).unwrap();
    Assertion {
        key,
        jwt: made.jwt,
        signing_input: made.signing_input,
    }
}

impl Assertion {
    fn verify_with(
        &self,
        key: &SigningKey,
        thumbprints: (&str, &str),
        audience: &str,
        at: SystemTime,
        leeway: Duration,
    ) -> Result<client_assertion::VerifiedAssertion, AssertionError> {
        client_assertion::verify(
            &self.jwt,
            &public(key),
            thumbprints,
            CLIENT_ID,
            audience,
            at,
            leeway,
        )
    }

    fn verify(&self) -> Result<client_assertion::VerifiedAssertion, AssertionError> {
        self.verify_with(
            self.key,
            (&self.key.x5t, &self.key.x5t_s256),
            TOKEN_URL,
            now(),
            Duration::ZERO,
        )
    }
}

#[test]
fn client_assertions_verify_in_aws_lc_and_in_obconform() {
    for (alg, verifier) in [
        (
            Algorithm::RS256,
            &lc::RSA_PKCS1_2048_8192_SHA256 as &dyn VerificationAlgorithm,
        ),
        (Algorithm::PS256, &lc::RSA_PSS_2048_8192_SHA256),
    ] {
        for thumbprint in [Thumbprint::X5t, Thumbprint::X5tS256] {
            let made = assertion(alg, thumbprint);
            let (input, signature) = made.jwt.rsplit_once('.').unwrap();
            assert_eq!(input, made.signing_input);
            let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
            assert!(
                aws_lc_verifies(verifier, made.key, input.as_bytes(), &signature),
                "{alg}: aws-lc-rs rejects obconform's client assertion"
            );
            let verified = made.verify().unwrap();
            assert_eq!(verified.client_id, CLIENT_ID);
            assert_eq!(verified.jti, "9b0c6f0e-5f0e-4a57-9d55-2c0f3f9f0a11");
            assert_eq!(verified.header["alg"], alg.name());
            assert_eq!(verified.header["typ"], "JWT");
            let claims: Value = serde_json::from_slice(
                &URL_SAFE_NO_PAD
                    .decode(input.split_once('.').unwrap().1)
                    .unwrap(),
            )
            .unwrap();
            assert_eq!(claims["iss"], CLIENT_ID);
            assert_eq!(claims["sub"], CLIENT_ID);
            assert_eq!(claims["aud"], TOKEN_URL);
            assert_eq!(claims["iat"], NOW_SECS);
            assert_eq!(claims["exp"], NOW_SECS + 300);
        }
    }
}

#[test]
fn client_assertion_with_the_wrong_audience_is_rejected() {
    let made = assertion(Algorithm::RS256, Thumbprint::X5t);
    let err = made
        .verify_with(
            made.key,
            (&made.key.x5t, &made.key.x5t_s256),
            "https://api.ing.com/oauth2/token",
            now(),
            Duration::ZERO,
        )
        .unwrap_err();
    assert_eq!(
        err,
        AssertionError::Claim("aud must be https://api.ing.com/oauth2/token".into())
    );
}

#[test]
fn an_expired_client_assertion_is_rejected() {
    let made = assertion(Algorithm::PS256, Thumbprint::X5t);
    let thumbprints = (made.key.x5t.as_str(), made.key.x5t_s256.as_str());
    let at = |secs: u64| now() + Duration::from_secs(secs);
    assert!(
        made.verify_with(made.key, thumbprints, TOKEN_URL, at(300), Duration::ZERO)
            .is_ok(),
        "at exp"
    );
    assert_eq!(
        made.verify_with(made.key, thumbprints, TOKEN_URL, at(301), Duration::ZERO)
            .unwrap_err(),
        AssertionError::Expired { by: 1 }
    );
    assert!(
        made.verify_with(
            made.key,
            thumbprints,
            TOKEN_URL,
            at(360),
            Duration::from_secs(60)
        )
        .is_ok(),
        "within the leeway"
    );
    assert_eq!(
        made.verify_with(
            made.key,
            thumbprints,
            TOKEN_URL,
            at(361),
            Duration::from_secs(60)
        )
        .unwrap_err(),
        AssertionError::Expired { by: 61 }
    );
    assert_eq!(
        made.verify_with(
            made.key,
            thumbprints,
            TOKEN_URL,
            now() - Duration::from_secs(10),
            Duration::ZERO
        )
        .unwrap_err(),
        AssertionError::Claim("nbf is in the future".into())
    );
}

#[test]
fn a_client_assertion_checked_with_another_key_is_rejected() {
    for alg in [Algorithm::RS256, Algorithm::PS256] {
        let made = assertion(alg, Thumbprint::X5t);
        // The thumbprints name the signer, but the key is another one.
        assert_eq!(
            made.verify_with(
                other_rsa(),
                (&made.key.x5t, &made.key.x5t_s256),
                TOKEN_URL,
                now(),
                Duration::ZERO
            )
            .unwrap_err(),
            AssertionError::BadSignature,
            "{alg}"
        );
    }
}

#[test]
fn a_client_assertion_naming_another_certificate_is_rejected() {
    for thumbprint in [Thumbprint::X5t, Thumbprint::X5tS256] {
        let made = assertion(Algorithm::RS256, thumbprint);
        let other = other_rsa();
        assert_eq!(
            made.verify_with(
                made.key,
                (&other.x5t, &other.x5t_s256),
                TOKEN_URL,
                now(),
                Duration::ZERO
            )
            .unwrap_err(),
            AssertionError::Thumbprint,
            "{thumbprint:?}"
        );
    }
    // x5t and x5t#S256 are not interchangeable.
    let made = assertion(Algorithm::RS256, Thumbprint::X5t);
    assert_eq!(
        made.verify_with(
            made.key,
            (&made.key.x5t_s256, &made.key.x5t),
            TOKEN_URL,
            now(),
            Duration::ZERO
        )
        .unwrap_err(),
        AssertionError::Thumbprint
    );
}

#[test]
fn a_client_assertion_with_a_tampered_claim_or_signature_is_rejected() {
    let made = assertion(Algorithm::RS256, Thumbprint::X5t);
    let parts: Vec<&str> = made.jwt.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["exp"] = json!(NOW_SECS + 86_400);
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    let tampered = Assertion {
        jwt: tampered,
        ..made.clone()
    };
    assert_eq!(tampered.verify().unwrap_err(), AssertionError::BadSignature);
    // The claims as signed, one bit of the signature flipped.
    let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    signature[0] ^= 1;
    let flipped = Assertion {
        jwt: format!(
            "{}.{}.{}",
            parts[0],
            parts[1],
            URL_SAFE_NO_PAD.encode(signature)
        ),
        ..made.clone()
    };
    assert_eq!(flipped.verify().unwrap_err(), AssertionError::BadSignature);
    assert!(made.verify().is_ok(), "the untouched assertion verifies");
    // Only RS256 and PS256 are made.
    let key = signing(KeyKind::Rsa2048);
    for alg in [Algorithm::PS384, Algorithm::RS512] {
        let spec = AssertionSpec {
            algorithm: alg,
            client_id: CLIENT_ID,
            audience: TOKEN_URL,
            jti: "x",
            thumbprint: Thumbprint::X5t,
            thumbprint_value: &key.x5t,
            now: now(),
            lifetime: DEFAULT_LIFETIME,
        };
        assert!(matches!(
            client_assertion::sign(&spec, &key.key),
            Err(AssertionError::Algorithm(_))
        ));
    }
}
