//! The `openssl` command line as an independent implementation of ING's signing recipes: keys
//! and certificates made by the CLI, obconform's signatures checked by `openssl dgst -verify`,
//! and signatures made with the guide's own shell commands checked by obconform's verifiers.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use obconform::scenario::model::{Flow, SignProfile};
use obconform::sign::http_signature::{self, HttpSigError, Placement};
use obconform::sign::jws::{self, JwsError};
use obconform::sign::message::Message;
use obconform::sign::{Algorithm, JWS_HEADER, SigningKey};
use obconform::steps::sign::{SignInputs, SignedRequest};
use obconform::wire::HttpRequest;
use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::pkey::{PKey, Public};
use openssl::x509::X509;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};
use tempfile::TempDir;

const TOKEN_URL: &str = "https://api.sandbox.ing.com/oauth2/token";
const APPLICATIONS_URL: &str = "https://api.sandbox.ing.com/oauth2/applications";
/// The guide's registration payload.
const REGISTRATION_PAYLOAD: &str = "{ \"contact\": \"test@ingsandbox.com\", \"redirect_uris\":[ \"https://example.com\", \"https://another-example.com\"]}";
const ING_HTTPSIG_REQUIRED: [&str; 3] = ["(request-target)", "date", "digest"];

fn run(command: &mut Command) -> Output {
    let out = command.output().expect("the command runs");
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: Output) -> String {
    String::from_utf8(out.stdout).unwrap()
}

/// A key and self-signed certificate made by the openssl CLI in a temporary directory.
struct CliPki {
    dir: TempDir,
    key: PathBuf,
    cert: PathBuf,
    public: PathBuf,
    signing: SigningKey,
}

#[derive(Clone, Copy)]
enum KeyKind {
    Rsa2048,
    P256,
    P384,
}

impl CliPki {
    fn new(kind: KeyKind) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("signing.key");
        let cert = dir.path().join("signing.cer");
        let public = dir.path().join("pub.pem");
        let mut req = Command::new("openssl");
        req.current_dir(dir.path())
            .args(["req", "-x509", "-newkey"]);
        match kind {
            KeyKind::Rsa2048 => req.arg("rsa:2048"),
            KeyKind::P256 => req.args(["ec", "-pkeyopt", "ec_paramgen_curve:P-256"]),
            KeyKind::P384 => req.args(["ec", "-pkeyopt", "ec_paramgen_curve:P-384"]),
        };
        req.args(["-nodes", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .args(["-subj", "/C=NL/O=obconform test/CN=signing", "-days", "2"]);
        run(&mut req);
        let pem = run(Command::new("openssl")
            .args(["x509", "-noout", "-pubkey", "-in"])
            .arg(&cert))
        .stdout;
        std::fs::write(&public, pem).unwrap();
        let signing = SigningKey::new(
            X509::from_pem(&std::fs::read(&cert).unwrap()).unwrap(),
            PKey::private_key_from_pem(&std::fs::read(&key).unwrap()).unwrap(),
        );
        CliPki {
            dir,
            key,
            cert,
            public,
            signing,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn public_key(&self) -> PKey<Public> {
        self.signing.cert.public_key().unwrap()
    }

    /// `openssl dgst -<digest> [sigopts] -verify pub.pem -signature sig.bin input`: whether
    /// openssl says `Verified OK`.
    fn openssl_verifies(
        &self,
        digest: &str,
        sigopts: &[&str],
        input: &[u8],
        signature: &[u8],
    ) -> bool {
        let input_path = self.path("input.bin");
        let signature_path = self.path("sig.bin");
        std::fs::write(&input_path, input).unwrap();
        std::fs::write(&signature_path, signature).unwrap();
        let mut dgst = Command::new("openssl");
        dgst.arg("dgst").arg(format!("-{digest}"));
        for opt in sigopts {
            dgst.args(["-sigopt", opt]);
        }
        let out = dgst
            .arg("-verify")
            .arg(&self.public)
            .arg("-signature")
            .arg(&signature_path)
            .arg(&input_path)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        let ok = out.status.success() && said.contains("Verified OK");
        // A "no" must be openssl's verdict on the signature ("Verification failure", or "Error
        // verifying data" for bytes that are no signature at all), not a failure to run the
        // check (an unknown option, an unreadable file), which it words otherwise.
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            ok || said.contains("Verification failure") || stderr.contains("Error verifying data"),
            "openssl did not verify: {said}{stderr}"
        );
        ok
    }

    /// Runs a bash script in the directory with the guide's variable names set.
    fn bash(&self, script: &str, vars: &[(&str, &str)]) -> String {
        let mut command = Command::new("bash");
        command
            .current_dir(self.dir.path())
            .args(["-euo", "pipefail", "-c", script])
            .env("signKey", &self.key)
            .env("signCertificate", &self.cert);
        for (k, v) in vars {
            command.env(k, v);
        }
        stdout(run(&mut command))
    }
}

fn inputs(key: &SigningKey, now: SystemTime) -> SignInputs<'_> {
    SignInputs {
        key: Some(key),
        key_id: None,
        audience: None,
        client_id: Some("5ca1ab1e-c0ca-c01a-cafe-154deadbea75"),
        now,
    }
}

fn token_request() -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        url: TOKEN_URL.into(),
        headers: vec![(
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body: b"grant_type=client_credentials".to_vec(),
    }
}

fn registration_request() -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        url: APPLICATIONS_URL.into(),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: REGISTRATION_PAYLOAD.as_bytes().to_vec(),
    }
}

fn sign_http(pki: &CliPki, now: SystemTime) -> SignedRequest {
    let profile = SignProfile {
        flow: Flow::HttpSignature,
        ..SignProfile::default()
    };
    obconform::steps::sign::sign(token_request(), &profile, &inputs(&pki.signing, now)).unwrap()
}

fn http_signature_bytes(signed: &SignedRequest) -> Vec<u8> {
    let message = Message::of(&signed.request, "/oauth2/token");
    let (_, params) = http_signature::locate(&message).unwrap();
    STANDARD.decode(params.signature).unwrap()
}

fn ing_http_policy(now: SystemTime) -> http_signature::Policy<'static> {
    http_signature::Policy {
        required: &ING_HTTPSIG_REQUIRED,
        now,
        max_skew: Duration::from_secs(180),
    }
}

// ---- (a) obconform's HTTP signatures verify with openssl ----

#[test]
fn obconform_http_signatures_verify_with_openssl_dgst() {
    for (kind, alg, digest) in [
        (KeyKind::Rsa2048, "rsa-sha256", "sha256"),
        (KeyKind::P256, "ecdsa-sha256", "sha256"),
        (KeyKind::P384, "ecdsa-sha384", "sha384"),
    ] {
        let pki = CliPki::new(kind);
        let signed = sign_http(&pki, SystemTime::now());
        let input = signed.signing_input.clone().unwrap();
        let date = signed.request.header("Date").unwrap();
        assert_eq!(
            input,
            format!(
                "(request-target): post /oauth2/token\ndate: {date}\ndigest: SHA-256=w0mymuL8aCrbJmmabs1pytZhon8lQucTuJMUtuKr+uw="
            ),
            "the guide's signing string"
        );
        let authorization = signed.request.header("Authorization").unwrap();
        assert!(
            authorization.starts_with(&format!(
                r#"Signature keyId="SN={}",algorithm="{alg}",headers="(request-target) date digest",signature=""#,
                pki.signing.serial
            )),
            "{authorization}"
        );
        let signature = http_signature_bytes(&signed);
        assert!(
            pki.openssl_verifies(digest, &[], input.as_bytes(), &signature),
            "{alg}: openssl rejects obconform's signature"
        );
        // The control: openssl does notice a trailing LF and a changed digest line.
        let with_lf = format!("{input}\n");
        assert!(!pki.openssl_verifies(digest, &[], with_lf.as_bytes(), &signature));
        let other = input.replace("w0mymu", "w0mymv");
        assert!(!pki.openssl_verifies(digest, &[], other.as_bytes(), &signature));
    }
}

#[test]
fn obconform_rsa_sha256_is_byte_identical_to_the_guides_openssl_pipe() {
    let pki = CliPki::new(KeyKind::Rsa2048);
    let signed = sign_http(&pki, SystemTime::now());
    let input = signed.signing_input.clone().unwrap();
    let guide = pki.bash(
        r#"printf %s "$signingString" | openssl dgst -sha256 -sign "$signKey" | openssl base64 -A"#,
        &[("signingString", &input)],
    );
    assert_eq!(guide, STANDARD.encode(http_signature_bytes(&signed)));
}

// ---- (b) the guide's HTTP signatures verify in obconform ----

/// The guide's app-token recipe (Calculate Digest / Calculate date / Calculate signature), with
/// the keyId read by `openssl x509 -serial`; prints the headers it would send with curl.
const GUIDE_APP_TOKEN_SCRIPT: &str = r#"
payload="grant_type=client_credentials"
payloadDigest=`echo -n "$payload" | openssl dgst -binary -sha256 | openssl base64`
digest=SHA-256=$payloadDigest
reqDate=$(LC_TIME=en_US.UTF-8 date -u "+%a, %d %b %Y %H:%M:%S GMT")
httpMethod="post"
reqPath="/oauth2/token"
signingString="(request-target): $httpMethod $reqPath
date: $reqDate
digest: $digest"
signature=`printf %s "$signingString" | openssl dgst -sha256 -sign "$signKey" | openssl base64 -A`
keyId="SN=$(openssl x509 -noout -serial -in "$signCertificate" | cut -d= -f2)"
printf 'Content-Type: application/x-www-form-urlencoded\n'
printf 'Digest: %s\n' "$digest"
printf 'Date: %s\n' "$reqDate"
printf 'authorization: Signature keyId="%s",algorithm="%s",headers="(request-target) date digest",signature="%s"\n' "$keyId" "$algorithm" "$signature"
"#;

fn header_lines(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(|line| {
            let (k, v) = line.split_once(": ").unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn the_guides_http_signatures_verify_in_obconform() {
    for (kind, alg) in [
        (KeyKind::Rsa2048, Algorithm::RsaSha256),
        (KeyKind::P256, Algorithm::EcdsaSha256),
    ] {
        let pki = CliPki::new(kind);
        let out = pki.bash(GUIDE_APP_TOKEN_SCRIPT, &[("algorithm", alg.name())]);
        let headers = header_lines(&out);
        let body = b"grant_type=client_credentials";
        let message = Message {
            method: "POST",
            target: "/oauth2/token",
            headers: &headers,
            body,
        };
        let (placement, params) = http_signature::locate(&message).unwrap();
        assert_eq!(placement, Placement::Authorization);
        assert_eq!(params.key_id, format!("SN={}", pki.signing.serial));
        let public = pki.public_key();
        let now = SystemTime::now();
        assert_eq!(
            http_signature::verify(&message, &params, &public, &ing_http_policy(now)),
            Ok(alg),
            "{out}"
        );
        // A different body under the same headers: obconform notices the digest.
        let tampered = Message {
            body: b"grant_type=client_credentials&scope=x",
            ..message
        };
        assert_eq!(
            http_signature::verify(&tampered, &params, &public, &ing_http_policy(now))
                .unwrap_err()
                .diagnosis_id(),
            "httpsig.digest-mismatch"
        );
        // And another key.
        let other = CliPki::new(kind);
        assert_eq!(
            http_signature::verify(
                &message,
                &params,
                &other.public_key(),
                &ing_http_policy(now)
            ),
            Err(HttpSigError::BadSignature)
        );
    }
}

// ---- (c) obconform's JWS verify with openssl ----

fn sign_jws(pki: &CliPki, now: SystemTime) -> SignedRequest {
    let profile = SignProfile {
        flow: Flow::Jws,
        ..SignProfile::default()
    };
    obconform::steps::sign::sign(registration_request(), &profile, &inputs(&pki.signing, now))
        .unwrap()
}

fn jws_signature_bytes(signed: &SignedRequest) -> Vec<u8> {
    let value = signed.request.header(JWS_HEADER).unwrap();
    let (_, signature) = value.split_once("..").unwrap();
    URL_SAFE_NO_PAD.decode(signature).unwrap()
}

#[test]
fn obconform_ps256_jws_verifies_with_openssl_pss_salt_32() {
    let pki = CliPki::new(KeyKind::Rsa2048);
    let signed = sign_jws(&pki, SystemTime::now());
    let input = signed.signing_input.clone().unwrap();
    let digest = signed.request.header("Digest").unwrap();
    assert!(
        input.ends_with(&format!(
            ".(request-target): post /oauth2/applications\ndigest: {digest}\ncontent-type: application/json"
        )),
        "{input}"
    );
    let signature = jws_signature_bytes(&signed);
    assert_eq!(signature.len(), 256);
    let pss = |salt: &'static str| ["rsa_padding_mode:pss", salt];
    assert!(pki.openssl_verifies(
        "sha256",
        &pss("rsa_pss_saltlen:32"),
        input.as_bytes(),
        &signature
    ));
    assert!(pki.openssl_verifies(
        "sha256",
        &pss("rsa_pss_saltlen:digest"),
        input.as_bytes(),
        &signature
    ));
    // The salt is exactly 32 bytes: openssl refuses it as 31, 33 or the maximum.
    for wrong in [
        "rsa_pss_saltlen:31",
        "rsa_pss_saltlen:33",
        "rsa_pss_saltlen:max",
    ] {
        assert!(
            !pki.openssl_verifies("sha256", &pss(wrong), input.as_bytes(), &signature),
            "{wrong}"
        );
    }
    // PKCS#1 v1.5 verification must fail: it is PSS.
    assert!(!pki.openssl_verifies("sha256", &[], input.as_bytes(), &signature));
    // A trailing LF (the guide's troubleshooting item 4) is noticed.
    let with_lf = format!("{input}\n");
    assert!(!pki.openssl_verifies(
        "sha256",
        &pss("rsa_pss_saltlen:32"),
        with_lf.as_bytes(),
        &signature
    ));
}

#[test]
fn obconform_es256_jws_verifies_with_openssl_once_made_der() {
    let pki = CliPki::new(KeyKind::P256);
    let signed = sign_jws(&pki, SystemTime::now());
    let input = signed.signing_input.clone().unwrap();
    let header = jws::parse(signed.request.header(JWS_HEADER).unwrap()).unwrap();
    assert_eq!(header.alg, "ES256");
    let raw = jws_signature_bytes(&signed);
    assert_eq!(raw.len(), 64, "JWS ECDSA is raw r||s");
    let der = EcdsaSig::from_private_components(
        BigNum::from_slice(&raw[..32]).unwrap(),
        BigNum::from_slice(&raw[32..]).unwrap(),
    )
    .unwrap()
    .to_der()
    .unwrap();
    assert!(pki.openssl_verifies("sha256", &[], input.as_bytes(), &der));
    assert!(!pki.openssl_verifies("sha256", &[], input.as_bytes(), &raw));
}

// ---- (d) the guide's JWS script ----

/// ING's registration script, steps 1-6, as printed (bar the PDF's line breaks); `$extraSigopt`
/// is empty for the guide's own command. Prints the Digest and the x-jws-signature.
const GUIDE_JWS_SCRIPT: &str = r#"
httpMethod="POST"
reqPath="/oauth2/applications"
base64UrlFingerprint=$(openssl x509 -noout -fingerprint -sha256 -inform pem -in $signCertificate | cut -d '=' -f2 | sed s/://g | xxd -r -p | base64 | tr -d '=' | tr '/+' '_-' | tr -d '\n')
sigT=$(date -u +"%Y-%m-%dT%H:%M:%SZ")
jwsHeader='{ "b64":false, "x5t#S256":"'"$base64UrlFingerprint"'", "crit":[ "sigT", "sigD", "b64"], "sigT":"'"$sigT"'", "sigD":{"pars":[ "(request-target)", "digest", "content-type" ], "mId":"http://uri.etsi.org/19182/HttpHeaders"}, "alg":"PS256"}'
jwsHeaderBase64URL=$(echo -n "$jwsHeader" | openssl base64 -e -A | tr -d '=' | tr '/+' '_-' | tr -d '\n')
digest="SHA-256=$(echo -n "$payload" | openssl dgst -binary -sha256 | openssl base64)"
lowerCaseHttpMethod=`echo $httpMethod | tr [:upper:] [:lower:]`
signingString="(request-target): $lowerCaseHttpMethod $reqPath
digest: $digest
content-type: application/json"
inputForSignatureValueComputation="$jwsHeaderBase64URL.$signingString"
jwsSignatureValue=$(printf %s "$inputForSignatureValueComputation" | openssl dgst -sha256 -sign $signKey -sigopt rsa_padding_mode:pss $extraSigopt | openssl base64 -A | tr -d '=' | tr '/+' '_-' | tr -d '\n')
jwsSignature=$jwsHeaderBase64URL..$jwsSignatureValue
printf '%s\n%s\n' "$digest" "$jwsSignature"
"#;

/// Runs the guide's script and verifies its output with obconform, as the sandbox would.
fn verify_guide_jws(pki: &CliPki, extra_sigopt: &str) -> Result<Algorithm, JwsError> {
    let out = pki.bash(
        GUIDE_JWS_SCRIPT,
        &[
            ("payload", REGISTRATION_PAYLOAD),
            ("extraSigopt", extra_sigopt),
        ],
    );
    let mut lines = out.lines();
    let digest = lines.next().unwrap().to_string();
    let jws_value = lines.next().unwrap().to_string();
    let headers = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        ("Digest".to_string(), digest),
        (JWS_HEADER.to_string(), jws_value.clone()),
    ];
    let message = Message {
        method: "POST",
        target: "/oauth2/applications",
        headers: &headers,
        body: REGISTRATION_PAYLOAD.as_bytes(),
    };
    let parsed = jws::parse(&jws_value)?;
    assert_eq!(parsed.alg, "PS256");
    jws::verify(
        &message,
        &parsed,
        &pki.public_key(),
        &pki.signing.x5t_s256,
        &jws::Policy {
            required: &jws::DEFAULT_PARS,
            now: SystemTime::now(),
            max_skew: Duration::from_secs(180),
        },
    )
}

#[test]
fn the_guides_jws_script_makes_a_maximum_salt_that_obconform_names() {
    let pki = CliPki::new(KeyKind::Rsa2048);
    let err = verify_guide_jws(&pki, "").unwrap_err();
    assert_eq!(
        err,
        JwsError::PssSaltLength {
            found: 222,
            expected: 32
        }
    );
    assert_eq!(err.diagnosis_id(), "jws.pss-salt-length");
    assert!(
        err.to_string().contains("-sigopt rsa_pss_saltlen:32"),
        "{err}"
    );
}

#[test]
fn the_guides_jws_script_with_salt_32_is_accepted() {
    let pki = CliPki::new(KeyKind::Rsa2048);
    assert_eq!(
        verify_guide_jws(&pki, "-sigopt rsa_pss_saltlen:32"),
        Ok(Algorithm::PS256)
    );
    // Another salt length that is not the maximum is named too.
    assert_eq!(
        verify_guide_jws(&pki, "-sigopt rsa_pss_saltlen:20"),
        Err(JwsError::PssSaltLength {
            found: 20,
            expected: 32
        })
    );
}

// ---- (e) certificate identifiers ----

/// The guide's x5t#S256 pipeline (xxd, or python3 where xxd is missing).
fn guide_x5t_s256(pki: &CliPki, cert: &Path) -> String {
    let unhex = if Command::new("xxd").arg("-v").output().is_ok() {
        "xxd -r -p"
    } else {
        r#"python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.stdin.read().strip()))'"#
    };
    pki.bash(
        &format!(
            r#"openssl x509 -noout -fingerprint -sha256 -inform pem -in "$cert" | cut -d '=' -f2 | sed s/://g | {unhex} | base64 | tr -d '=' | tr '/+' '_-' | tr -d '\n'"#
        ),
        &[("cert", cert.to_str().unwrap())],
    )
}

fn cli_serial(pki: &CliPki, cert: &Path) -> String {
    let out = pki.bash(
        r#"openssl x509 -noout -serial -in "$cert""#,
        &[("cert", cert.to_str().unwrap())],
    );
    out.trim().strip_prefix("serial=").unwrap().to_string()
}

#[test]
fn x5t_s256_and_serial_equal_the_guides_openssl_commands() {
    for kind in [KeyKind::Rsa2048, KeyKind::P256] {
        let pki = CliPki::new(kind);
        assert_eq!(pki.signing.x5t_s256, guide_x5t_s256(&pki, &pki.cert));
        assert_eq!(pki.signing.x5t_s256.len(), 43);
        assert_eq!(pki.signing.serial, cli_serial(&pki, &pki.cert));
    }
}

#[test]
fn serials_of_every_shape_match_openssl_x509_serial() {
    let pki = CliPki::new(KeyKind::Rsa2048);
    // The guide's example serial, a one-byte one, a leading zero nibble, a high bit that DER
    // pads with 00, and a 20-byte one.
    for (serial, expected) in [
        ("0x49BA5C71", Some("49BA5C71")),
        ("1", Some("01")),
        ("0x0ABC", Some("0ABC")),
        ("0x80", Some("80")),
        ("0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", None),
    ] {
        let cert = pki.path(&format!("serial-{serial}.cer"));
        run(Command::new("openssl")
            .args(["req", "-x509", "-key"])
            .arg(&pki.key)
            .args([
                "-set_serial",
                serial,
                "-subj",
                "/CN=serial",
                "-days",
                "1",
                "-out",
            ])
            .arg(&cert));
        let key = SigningKey::new(
            X509::from_pem(&std::fs::read(&cert).unwrap()).unwrap(),
            PKey::private_key_from_pem(&std::fs::read(&pki.key).unwrap()).unwrap(),
        );
        let cli = cli_serial(&pki, &cert);
        assert_eq!(key.serial, cli, "serial {serial}");
        if let Some(expected) = expected {
            assert_eq!(key.serial, expected);
        }
        assert_eq!(key.x5t_s256, guide_x5t_s256(&pki, &cert), "serial {serial}");
        assert_eq!(
            key.template_value()["key_id"],
            format!("SN={cli}"),
            "serial {serial}"
        );
    }
}
