//! The troubleshooting engine against requests made by an independent implementation: the guide's
//! own `openssl` shell recipes, each with one of the guide's mistakes built in. The engine is not
//! told which: it must name exactly that one — and nothing for the recipe done right.

use crate::common::{TestSandbox, local_command};
use obconform::certs::wire::one_line_pem;
use obconform::diagnose::{Evidence, Finding, FlowContext, diagnose, ids};
use obconform::sign::message::Message;
use openssl::x509::X509;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// The guide's registration payload.
const PAYLOAD: &str = "{ \"contact\": \"test@ingsandbox.com\", \"redirect_uris\":[ \"https://example.com\", \"https://another-example.com\"]}";

/// The guide's JWS recipe with knobs for its troubleshooting list: `$join` between the header
/// lines (LF or CR LF), `$tail` after the last, `$order` of the lines, `$dgst`/`$sigopts` of the
/// openssl call, `$sigT`, `$signKey`. Prints the Digest and the x-jws-signature.
const JWS_SCRIPT: &str = r#"
x5t=$(openssl x509 -noout -fingerprint -sha256 -inform pem -in "$signCertificate" | cut -d '=' -f2 | sed s/://g | python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.stdin.read().strip()))' | base64 | tr -d '=' | tr '/+' '_-' | tr -d '\n')
header='{"b64":false,"x5t#S256":"'"$x5t"'","crit":["sigT","sigD","b64"],"sigT":"'"$sigT"'","sigD":{"pars":["(request-target)","digest","content-type"],"mId":"http://uri.etsi.org/19182/HttpHeaders"},"alg":"PS256"}'
headerB64=$(printf %s "$header" | openssl base64 -e -A | tr -d '=' | tr '/+' '_-')
digest="SHA-256=$(printf %s "$payload" | openssl dgst -binary -sha256 | openssl base64)"
l1="(request-target): post /oauth2/applications"
l2="digest: $digest"
l3="content-type: application/json"
if [ "$order" = swapped ]; then lines="$l1$join$l3$join$l2"; else lines="$l1$join$l2$join$l3"; fi
signature=$(printf '%s%s' "$headerB64.$lines" "$tail" | openssl dgst -$dgst -sign "$signKey" -sigopt rsa_padding_mode:pss $sigopts | openssl base64 -A | tr -d '=' | tr '/+' '_-')
printf '%s\n%s\n' "$digest" "$headerB64..$signature"
"#;

/// The guide's application-token HTTP signature recipe: `$lines` is the signing string (with
/// `$date` and `$digest` substituted), `$tail` after it, signed PKCS#1 v1.5 SHA-256.
const HTTPSIG_SCRIPT: &str = r#"
signature=$(printf '%s%s' "$lines" "$tail" | openssl dgst -sha256 -sign "$signKey" | openssl base64 -A)
printf '%s' "$signature"
"#;

struct Knobs<'a> {
    join: &'a str,
    tail: &'a str,
    order: &'a str,
    dgst: &'a str,
    sigopts: &'a str,
    key: &'a Path,
    sig_t: String,
}

struct Fixture {
    sandbox: TestSandbox,
    certificates: Vec<X509>,
}

impl Fixture {
    fn new() -> Fixture {
        let sandbox = TestSandbox::start();
        let pki = sandbox.pki();
        let certificates = [&pki.client_signing_cert, &pki.client_tls_cert]
            .iter()
            .map(|p| X509::from_pem(&std::fs::read(p).unwrap()).unwrap())
            .collect();
        Fixture {
            sandbox,
            certificates,
        }
    }

    fn knobs(&self) -> Knobs<'_> {
        Knobs {
            join: "\n",
            tail: "",
            order: "listed",
            dgst: "sha256",
            sigopts: "-sigopt rsa_pss_saltlen:32",
            key: &self.sandbox.pki().client_signing_key,
            sig_t: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        }
    }

    fn bash(&self, script: &str, vars: &[(&str, &str)]) -> String {
        let mut command = local_command("bash");
        command.arg("-c").arg(script);
        for (k, v) in vars {
            command.env(k, v);
        }
        let out = command.output().expect("bash runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// A registration request signed by the guide's recipe with `knobs`: its findings at `now`.
    fn registration(&self, knobs: &Knobs<'_>, now: SystemTime) -> Vec<Finding> {
        let pki = self.sandbox.pki();
        let out = self.bash(
            JWS_SCRIPT,
            &[
                ("payload", PAYLOAD),
                ("signCertificate", pki.client_signing_cert.to_str().unwrap()),
                ("signKey", knobs.key.to_str().unwrap()),
                ("join", knobs.join),
                ("tail", knobs.tail),
                ("order", knobs.order),
                ("dgst", knobs.dgst),
                ("sigopts", knobs.sigopts),
                ("sigT", &knobs.sig_t),
            ],
        );
        let mut lines = out.lines();
        let digest = lines.next().unwrap().to_string();
        let jws = lines.next().unwrap().to_string();
        let headers = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            ("Digest".to_string(), digest),
            (
                "TPP-Signature-Certificate".to_string(),
                one_line_pem(&self.certificates[0]),
            ),
            ("x-jws-signature".to_string(), jws),
        ];
        self.diagnose(
            "POST",
            "/oauth2/applications",
            &headers,
            PAYLOAD.as_bytes(),
            now,
        )
    }

    fn diagnose(
        &self,
        method: &str,
        target: &str,
        headers: &[(String, String)],
        body: &[u8],
        now: SystemTime,
    ) -> Vec<Finding> {
        let flow = FlowContext::default();
        let evidence = Evidence {
            certificates: &self.certificates,
            keys: &[],
            now,
            flow: Some(&flow),
        };
        diagnose(
            &Message {
                method,
                target,
                headers,
                body,
            },
            &evidence,
        )
    }

    /// The guide's application-token request, its signing string built from `lines` (where
    /// `DATE` and `DIGEST` stand for the values sent), signed by openssl, with `key_id`.
    fn token_request(
        &self,
        lines: &str,
        tail: &str,
        key_id: &str,
        date: &str,
        body: &str,
    ) -> Vec<Finding> {
        self.token_request_with(lines, tail, key_id, date, body, |_| {})
    }

    /// [`Fixture::token_request`] with the headers changed by `edit` before it is judged.
    fn token_request_with(
        &self,
        lines: &str,
        tail: &str,
        key_id: &str,
        date: &str,
        body: &str,
        edit: impl Fn(&mut Vec<(String, String)>),
    ) -> Vec<Finding> {
        let digest = obconform::sign::digest::sha256_digest(body.as_bytes());
        let lines = lines.replace("DATE", date).replace("DIGEST", &digest);
        let key = self.sandbox.pki().client_signing_key.clone();
        let signature = self.bash(
            HTTPSIG_SCRIPT,
            &[
                ("lines", &lines),
                ("tail", tail),
                ("signKey", key.to_str().unwrap()),
            ],
        );
        let headers = vec![
            ("Date".to_string(), date.to_string()),
            ("Digest".to_string(), digest),
            (
                "Authorization".to_string(),
                format!(
                    "Signature keyId=\"{key_id}\",algorithm=\"rsa-sha256\",headers=\"(request-target) date digest\",signature=\"{signature}\""
                ),
            ),
            (
                "Content-Type".to_string(),
                "application/x-www-form-urlencoded".to_string(),
            ),
        ];
        let mut headers = headers;
        edit(&mut headers);
        self.diagnose(
            "POST",
            "/oauth2/token",
            &headers,
            body.as_bytes(),
            SystemTime::now(),
        )
    }
}

fn assert_ids(findings: &[Finding], expected: &[&str], case: &str) {
    assert_eq!(ids(findings), expected, "{case}: {findings:#?}");
}

#[test]
fn the_guides_jws_recipe_done_right_has_no_findings_and_each_mistake_is_named() {
    let f = Fixture::new();
    let now = SystemTime::now();
    assert_ids(
        &f.registration(&f.knobs(), now),
        &[],
        "the recipe done right",
    );

    // (11) OpenSSL 3.0's default PSS salt: the maximum.
    let knobs = Knobs {
        sigopts: "",
        ..f.knobs()
    };
    assert_ids(
        &f.registration(&knobs, now),
        &["jws.pss-salt-length"],
        "default salt",
    );
    // (4) `echo` instead of printf: a line feed after the last header.
    let knobs = Knobs {
        tail: "\n",
        ..f.knobs()
    };
    assert_ids(
        &f.registration(&knobs, now),
        &["jws.trailing-lf"],
        "trailing LF",
    );
    // (9) Windows line endings.
    let knobs = Knobs {
        join: "\r\n",
        ..f.knobs()
    };
    assert_ids(
        &f.registration(&knobs, now),
        &["jws.crlf-line-endings"],
        "CRLF",
    );
    // (7) the lines in another order than sigD.pars.
    let knobs = Knobs {
        order: "swapped",
        ..f.knobs()
    };
    assert_ids(&f.registration(&knobs, now), &["jws.pars-order"], "order");
    // (8) signed with PS384 while alg says PS256.
    let knobs = Knobs {
        dgst: "sha384",
        sigopts: "-sigopt rsa_pss_saltlen:48",
        ..f.knobs()
    };
    assert_ids(&f.registration(&knobs, now), &["jws.alg-mismatch"], "PS384");
    // (10) a sigT ten minutes old.
    let later = now + Duration::from_secs(600);
    assert_ids(
        &f.registration(&f.knobs(), later),
        &["jws.sigt-skew"],
        "sigT",
    );
}

#[test]
fn a_jws_made_with_the_tls_key_names_that_key() {
    let f = Fixture::new();
    let tls_key = f.sandbox.pki().client_tls_key.clone();
    let knobs = Knobs {
        key: &tls_key,
        ..f.knobs()
    };
    let findings = f.registration(&knobs, SystemTime::now());
    assert_ids(&findings, &["jws.wrong-key"], "TLS key");
    assert!(
        findings[0].what.contains("a TLS certificate"),
        "{findings:#?}"
    );
}

#[test]
fn the_guides_token_signature_done_right_has_no_findings_and_each_mistake_is_named() {
    let f = Fixture::new();
    let date = httpdate_now();
    let body = "grant_type=client_credentials&scope=payment-accounts%3Abalances%3Aview";
    let good = "(request-target): post /oauth2/token\ndate: DATE\ndigest: DIGEST";
    let serial = "SN=49BA5C71";
    assert_ids(
        &f.token_request(good, "", serial, &date, body),
        &[],
        "done right",
    );
    assert_ids(
        &f.token_request(good, "\n", serial, &date, body),
        &["httpsig.trailing-lf"],
        "trailing LF",
    );
    let upper = "(request-target): POST /oauth2/token\ndate: DATE\ndigest: DIGEST";
    assert_ids(
        &f.token_request(upper, "", serial, &date, body),
        &["httpsig.request-target-mismatch"],
        "upper-case method",
    );
    let names = "(request-target): post /oauth2/token\nDate: DATE\nDigest: DIGEST";
    assert_ids(
        &f.token_request(names, "", serial, &date, body),
        &["httpsig.headers-mismatch"],
        "header names not lower-cased",
    );
    // The serial in decimal (0x49BA5C71 = 1236950129).
    assert_ids(
        &f.token_request(good, "", "SN=1236950129", &date, body),
        &["httpsig.keyid-form"],
        "decimal serial",
    );
    let tls_serial = obconform::certs::wire::serial_hex(&f.certificates[1]);
    assert_ids(
        &f.token_request(good, "", &format!("SN={tls_serial}"), &date, body),
        &["cert.wrong-usage"],
        "the TLS certificate's serial",
    );
    let rfc3339 = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    assert_ids(
        &f.token_request(good, "", serial, &rfc3339, body),
        &["httpsig.date-format"],
        "RFC 3339 date",
    );
}

/// What real clients send: lines joined by spaces, a script copied from another step, a Digest
/// without its label, a keyId in another form than the certificate sent beside it.
#[test]
fn real_clients_mistakes_are_named_for_what_they_are() {
    let f = Fixture::new();
    let date = httpdate_now();
    let body = "grant_type=client_credentials&scope=payment-accounts%3Abalances%3Aview";
    let good = "(request-target): post /oauth2/token\ndate: DATE\ndigest: DIGEST";
    let serial = "SN=49BA5C71";
    let spaced = "(request-target): post /oauth2/token date: DATE digest: DIGEST";
    assert_ids(
        &f.token_request(spaced, "", serial, &date, body),
        &["httpsig.line-separator"],
        "lines joined by spaces",
    );
    let copied = "(request-target): get /v3/accounts\ndate: DATE\ndigest: DIGEST";
    let findings = f.token_request(copied, "", serial, &date, body);
    assert_ids(
        &findings,
        &["httpsig.request-target-mismatch"],
        "another endpoint's target",
    );
    assert!(
        findings[0]
            .what
            .contains("`get /v3/accounts`, another endpoint's"),
        "{findings:?}"
    );

    // Digest sent (and signed) without SHA-256=.
    let digest = obconform::sign::digest::sha256_digest(body.as_bytes());
    let bare = digest.trim_start_matches("SHA-256=").to_string();
    let unlabelled = good.replace("DIGEST", &bare);
    let findings = f.token_request_with(&unlabelled, "", serial, &date, body, |headers| {
        headers[1].1 = bare.clone();
    });
    assert_ids(
        &findings,
        &["httpsig.digest-label"],
        "Digest without its label",
    );

    // keyId and TPP-Signature-Certificate disagree: keyId's forms are examined first.
    let pem = String::from_utf8(f.certificates[0].to_pem().unwrap()).unwrap();
    let one_line = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>();
    let with_certificate = |headers: &mut Vec<(String, String)>| {
        headers.push(("TPP-Signature-Certificate".into(), one_line.clone()));
    };
    let findings = f.token_request_with(good, "", "SN=1236950129", &date, body, with_certificate);
    assert_ids(
        &findings,
        &["httpsig.keyid-form"],
        "decimal serial beside the certificate",
    );
    assert!(findings[0].what.contains("in decimal"), "{findings:?}");
    let tls_serial = obconform::certs::wire::serial_hex(&f.certificates[1]);
    let findings = f.token_request_with(
        good,
        "",
        &format!("SN={tls_serial}"),
        &date,
        body,
        with_certificate,
    );
    assert_ids(
        &findings,
        &["httpsig.keyid-form"],
        "the TLS serial beside the certificate",
    );
    assert!(findings[0].what.contains("TLS certificate"), "{findings:?}");
    // A keyId naming nothing the client has: then the certificate header is what disagrees.
    let findings = f.token_request_with(good, "", "SN=0BADC0DE", &date, body, with_certificate);
    assert_ids(
        &findings,
        &["httpsig.certificate-header"],
        "an unknown serial",
    );
}

fn httpdate_now() -> String {
    obconform::sign::message::imf_fixdate(SystemTime::now())
}
