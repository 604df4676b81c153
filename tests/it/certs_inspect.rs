//! `obconform certs inspect` against certificates made here with the openssl CLI — the tool the
//! guide's scripts use — whose own output (`-serial`, `-fingerprint -sha256`, `asn1parse`) is the
//! independent check of what obconform prints.

use crate::common::{Output, obconform, obconform_with_env};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::path::Path;
use std::process::Command;

/// Runs the openssl CLI in `dir`; panics with its output when it fails. Returns stdout.
fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl CLI runs");
    assert!(
        out.status.success(),
        "openssl {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `NAME.pem` + `NAME.key`: a self-signed RSA 2048 certificate valid from now for `days`.
pub fn self_signed(dir: &Path, name: &str, days: u32) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
            "-subj",
            &format!("/C=NL/O=Example TPP/CN={name}"),
            "-days",
            &days.to_string(),
        ],
    );
}

const CA_CONFIG: &str = "[ca]\ndefault_ca = ca_default\n[ca_default]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\ndefault_md = sha256\npolicy = policy_any\nunique_subject = no\n[policy_any]\ncommonName = supplied\n";

/// `NAME.pem` + `NAME.key`: a self-signed RSA certificate with exactly these dates
/// (`YYYYMMDDHHMMSSZ`) and serial, made with `openssl ca -selfsign`.
pub fn dated(dir: &Path, name: &str, serial_hex: &str, start: &str, end: &str) {
    std::fs::write(dir.join("ca.cnf"), CA_CONFIG).unwrap();
    std::fs::write(dir.join("index.txt"), "").unwrap();
    std::fs::write(dir.join("serial"), format!("{serial_hex}\n")).unwrap();
    let (key, csr, pem) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            &format!("/CN={name}"),
        ],
    );
    openssl(
        dir,
        &[
            "ca",
            "-batch",
            "-config",
            "ca.cnf",
            "-selfsign",
            "-keyfile",
            &key,
            "-in",
            &csr,
            "-out",
            &pem,
            "-notext",
            "-startdate",
            start,
            "-enddate",
            end,
        ],
    );
}

/// The serial as `openssl x509 -serial` prints it.
fn openssl_serial(dir: &Path, cert: &str, inform: &str) -> String {
    let out = openssl(
        dir,
        &["x509", "-inform", inform, "-in", cert, "-noout", "-serial"],
    );
    out.trim().strip_prefix("serial=").unwrap().to_string()
}

/// `x5t#S256` from `openssl x509 -fingerprint -sha256` (hex with colons → base64url).
fn openssl_x5t_s256(dir: &Path, cert: &str, inform: &str) -> String {
    let out = openssl(
        dir,
        &[
            "x509",
            "-inform",
            inform,
            "-in",
            cert,
            "-noout",
            "-fingerprint",
            "-sha256",
        ],
    );
    let hex = out.trim().split_once('=').unwrap().1.replace(':', "");
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    assert_eq!(bytes.len(), 32);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn inspect(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["certs", "inspect"];
    all.extend_from_slice(args);
    let out = obconform(&all, dir);
    out.assert_no_panic();
    out
}

fn inspect_with_env(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut all = vec!["certs", "inspect"];
    all.extend_from_slice(args);
    let out = obconform_with_env(&all, dir, vars);
    out.assert_no_panic();
    out
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not only JSON ({e}): {out}"))
}

/// The value printed after `label` (a text-output line `  label   value`).
fn field<'a>(out: &'a Output, label: &str) -> &'a str {
    out.stdout
        .lines()
        .find_map(|line| {
            line.strip_prefix("  ")
                .and_then(|l| l.strip_prefix(label))
                .filter(|rest| rest.starts_with(' '))
                .map(str::trim)
        })
        .unwrap_or_else(|| panic!("no `{label}` line: {out}"))
}

#[test]
fn a_valid_rsa_certificate_with_its_key_passes_and_agrees_with_openssl() {
    let dir = tempfile::tempdir().unwrap();
    self_signed(dir.path(), "client", 365);
    let out = inspect(dir.path(), &["client.pem"]);
    assert_eq!(out.code, 0, "{out}");
    let serial = openssl_serial(dir.path(), "client.pem", "PEM");
    let x5t = openssl_x5t_s256(dir.path(), "client.pem", "PEM");
    assert_eq!(
        field(&out, "serial"),
        format!("{serial}   keyId SN={serial}"),
        "{out}"
    );
    assert_eq!(field(&out, "x5t#S256"), x5t, "{out}");
    assert_eq!(field(&out, "subject"), "CN=client, O=Example TPP, C=NL");
    assert_eq!(field(&out, "key"), "RSA 2048");
    // client.key lies beside client.pem and is its key.
    assert_eq!(
        field(&out, "private key"),
        "matches: client.key (beside it)",
        "{out}"
    );
    // 364 days and some hours are left (365 when run in the second openssl made it).
    let valid = field(&out, "valid");
    assert!(
        valid.ends_with("(365 days, 364 days left)")
            || valid.ends_with("(365 days, 365 days left)"),
        "{out}"
    );
    assert_eq!(field(&out, "status"), "OK");
    assert!(!out.stdout.contains("WARNING"), "{out}");
    assert!(
        out.stdout.contains("1 certificate: 1 OK, 0 with warnings"),
        "{out}"
    );
    // The key is compared, never printed.
    let key = std::fs::read_to_string(dir.path().join("client.key")).unwrap();
    let key_line = key.lines().nth(1).unwrap();
    assert!(!out.stdout.contains(key_line) && !out.stderr.contains(key_line));
}

#[test]
fn an_expired_certificate_fails_unless_judged_at_a_time_it_was_valid() {
    let dir = tempfile::tempdir().unwrap();
    dated(
        dir.path(),
        "old",
        "1001",
        "20200101000000Z",
        "20210101000000Z",
    );
    let out = inspect(dir.path(), &["old.pem"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        field(&out, "WARNING").starts_with("cert.expired: expired on 2021-01-01T00:00:00Z"),
        "{out}"
    );
    assert!(out.stdout.contains("0 OK, 1 with warnings"), "{out}");
    assert_eq!(field(&out, "serial"), "1001   keyId SN=1001");

    let out = inspect(dir.path(), &["old.pem", "--now", "2020-06-01T00:00:00Z"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        field(&out, "valid")
            .contains("2020-01-01T00:00:00Z → 2021-01-01T00:00:00Z  (366 days, 214 days left)"),
        "{out}"
    );
    let out = inspect(dir.path(), &["old.pem", "--now", "2019-12-31T23:59:59Z"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        field(&out, "WARNING").starts_with("cert.not-yet-valid"),
        "{out}"
    );
    let out = inspect(dir.path(), &["old.pem", "--now", "yesterday"]);
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("RFC 3339"), "{out}");
}

#[test]
fn lifetime_over_39_months_and_expiry_within_30_days_are_wrong() {
    let dir = tempfile::tempdir().unwrap();
    // 40 months.
    dated(
        dir.path(),
        "long",
        "2001",
        "20250101000000Z",
        "20280501000000Z",
    );
    let out = inspect(dir.path(), &["long.pem", "--now", "2026-01-01T00:00:00Z"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        field(&out, "WARNING").starts_with("cert.lifetime-over-39-months: valid for 1216 days"),
        "{out}"
    );
    // Exactly 39 months is still fine...
    dated(
        dir.path(),
        "max",
        "2002",
        "20250101000000Z",
        "20280401000000Z",
    );
    let out = inspect(dir.path(), &["max.pem", "--now", "2026-01-01T00:00:00Z"]);
    assert_eq!(out.code, 0, "{out}");
    // ... until it is 30 days from expiry.
    let out = inspect(dir.path(), &["max.pem", "--now", "2028-03-05T00:00:00Z"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        field(&out, "WARNING").starts_with("cert.expiring-soon"),
        "{out}"
    );
    assert!(field(&out, "valid").ends_with("27 days left)"), "{out}");
}

#[test]
fn a_key_that_is_not_the_certificates_is_a_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    self_signed(dir.path(), "mine", 100);
    self_signed(dir.path(), "other", 100);
    let out = inspect(dir.path(), &["mine.pem", "--key", "other.key"]);
    assert_eq!(out.code, 1, "{out}");
    assert_eq!(
        field(&out, "private key"),
        "DOES NOT MATCH: other.key (--key)"
    );
    assert!(
        field(&out, "WARNING").starts_with("cert.key-mismatch"),
        "{out}"
    );
    // The same key given explicitly matches.
    let out = inspect(dir.path(), &["mine.pem", "--key", "mine.key"]);
    assert_eq!(out.code, 0, "{out}");
    // A wrong key lying beside the certificate is found and flagged too.
    std::fs::copy(dir.path().join("other.key"), dir.path().join("mine.key")).unwrap();
    let out = inspect(dir.path(), &["--format", "json", "mine.pem"]);
    assert_eq!(out.code, 1, "{out}");
    let cert = &json(&out)["certificates"][0];
    assert_eq!(cert["key_matches"], false);
    assert_eq!(cert["key_file"], "mine.key");
    assert_eq!(cert["warnings"][0]["id"], "cert.key-mismatch");
    // A --key that does not exist is unusable input.
    let out = inspect(dir.path(), &["mine.pem", "--key", "absent.key"]);
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("absent.key"), "{out}");
}

#[test]
fn an_encrypted_key_is_read_with_the_passphrase_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    self_signed(dir.path(), "enc", 100);
    openssl(
        dir.path(),
        &[
            "pkey",
            "-in",
            "enc.key",
            "-aes256",
            "-passout",
            "pass:s3cret pass",
            "-out",
            "enc-protected.key",
        ],
    );
    let args = [
        "enc.pem",
        "--key",
        "enc-protected.key",
        "--passphrase-env",
        "CERT_PASS",
    ];
    let out = inspect_with_env(dir.path(), &args, &[("CERT_PASS", "s3cret pass")]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        field(&out, "private key"),
        "matches: enc-protected.key (--key)"
    );
    assert!(!out.stdout.contains("s3cret") && !out.stderr.contains("s3cret"));

    let out = inspect_with_env(dir.path(), &args, &[("CERT_PASS", "wrong")]);
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("wrong passphrase"), "{out}");
    let out = inspect(dir.path(), &args);
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr.contains("CERT_PASS") && out.stderr.contains("not set"),
        "{out}"
    );
    // Beside the certificate without a passphrase: noted, the certificate still inspected.
    std::fs::rename(
        dir.path().join("enc-protected.key"),
        dir.path().join("enc.key"),
    )
    .unwrap();
    let out = inspect(dir.path(), &["enc.pem"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        field(&out, "private key").starts_with("not checked: enc.key lies beside it"),
        "{out}"
    );
}

fn pkcs12_export(dir: &Path, name: &str, password: &str, legacy: bool) -> String {
    self_signed(dir, name, 200);
    let out = format!("{name}.p12");
    let mut args = vec![
        "pkcs12",
        "-export",
        "-in",
        &format!("{name}.pem"),
        "-inkey",
        &format!("{name}.key"),
        "-out",
        &out,
        "-passout",
    ]
    .into_iter()
    .map(str::to_string)
    .collect::<Vec<_>>();
    args.push(format!("pass:{password}"));
    if legacy {
        args.push("-legacy".into());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    openssl(dir, &args);
    // Only the PKCS#12 file is left: the key must come out of it.
    std::fs::remove_file(dir.join(format!("{name}.key"))).unwrap();
    out
}

#[test]
fn a_legacy_rc2_pkcs12_opens_with_the_legacy_provider() {
    let dir = tempfile::tempdir().unwrap();
    let p12 = pkcs12_export(dir.path(), "legacy", "p12 pass", true);
    // Precondition: it really is RC2-40 (what `-legacy` produces and OpenSSL 3 hides).
    let info = Command::new("openssl")
        .args(["pkcs12", "-info", "-noout", "-legacy", "-in", &p12])
        .args(["-passin", "pass:p12 pass"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&info.stderr).contains("RC2"),
        "{}",
        String::from_utf8_lossy(&info.stderr)
    );
    let serial = openssl_serial(dir.path(), "legacy.pem", "PEM");

    let args = [p12.as_str(), "--passphrase-env", "P12_PASS"];
    let out = inspect_with_env(dir.path(), &args, &[("P12_PASS", "p12 pass")]);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.starts_with("legacy.p12  (PKCS#12)"), "{out}");
    assert_eq!(
        field(&out, "serial"),
        format!("{serial}   keyId SN={serial}")
    );
    assert_eq!(
        field(&out, "private key"),
        "matches: the key in the same file"
    );

    // Without the legacy provider (nowhere to load it from) RC2 cannot be decrypted: the error
    // says why. This is what makes the provider loading necessary.
    let empty = tempfile::tempdir().unwrap();
    let modules = empty.path().to_str().unwrap();
    let out = inspect_with_env(
        dir.path(),
        &args,
        &[("P12_PASS", "p12 pass"), ("OPENSSL_MODULES", modules)],
    );
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr.contains("legacy.p12") && out.stderr.contains("legacy provider"),
        "{out}"
    );

    // No password configured: say how to give one.
    let out = inspect(dir.path(), &[p12.as_str()]);
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr
            .contains("legacy.p12: PKCS#12 needs a password: set the environment variable named by --passphrase-env"),
        "{out}"
    );
    let out = inspect_with_env(dir.path(), &args, &[("P12_PASS", "nope")]);
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("wrong password"), "{out}");
}

#[test]
fn a_modern_pkcs12_and_one_with_an_empty_password_open() {
    let dir = tempfile::tempdir().unwrap();
    let p12 = pkcs12_export(dir.path(), "modern", "pw", false);
    let x5t = openssl_x5t_s256(dir.path(), "modern.pem", "PEM");
    let out = inspect_with_env(
        dir.path(),
        &[p12.as_str(), "--passphrase-env", "PW"],
        &[("PW", "pw")],
    );
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(field(&out, "x5t#S256"), x5t);
    assert_eq!(
        field(&out, "private key"),
        "matches: the key in the same file"
    );

    let p12 = pkcs12_export(dir.path(), "nopass", "", false);
    let out = inspect(dir.path(), &[p12.as_str()]);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.starts_with("nopass.p12  (PKCS#12)"), "{out}");
}

#[test]
fn a_der_cer_file_with_an_ing_style_key_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    self_signed(dir.path(), "example_client_tls", 100);
    openssl(
        dir.path(),
        &[
            "x509",
            "-in",
            "example_client_tls.pem",
            "-outform",
            "DER",
            "-out",
            "example_client_tls.cer",
        ],
    );
    std::fs::remove_file(dir.path().join("example_client_tls.pem")).unwrap();
    let out = inspect(dir.path(), &["example_client_tls.cer"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout.starts_with("example_client_tls.cer  (DER)"),
        "{out}"
    );
    let serial = openssl_serial(dir.path(), "example_client_tls.cer", "DER");
    assert_eq!(
        field(&out, "serial"),
        format!("{serial}   keyId SN={serial}")
    );
    assert_eq!(
        field(&out, "x5t#S256"),
        openssl_x5t_s256(dir.path(), "example_client_tls.cer", "DER")
    );
    assert_eq!(
        field(&out, "private key"),
        "matches: example_client_tls.key (beside it)"
    );
}

#[test]
fn an_ec_p256_certificate() {
    let dir = tempfile::tempdir().unwrap();
    openssl(
        dir.path(),
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ec.key",
            "-out",
            "ec.pem",
            "-subj",
            "/CN=ec",
            "-days",
            "90",
        ],
    );
    let out = inspect(dir.path(), &["ec.pem"]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(field(&out, "key"), "EC P-256");
    assert_eq!(field(&out, "private key"), "matches: ec.key (beside it)");
}

#[test]
fn json_output_is_only_json_and_holds_every_certificate() {
    let dir = tempfile::tempdir().unwrap();
    self_signed(dir.path(), "good", 365);
    dated(
        dir.path(),
        "old",
        "0A0B",
        "20200101000000Z",
        "20210101000000Z",
    );
    let out = inspect(dir.path(), &["--format", "json", "good.pem", "old.pem"]);
    assert_eq!(out.code, 1, "{out}");
    let value = json(&out);
    let certs = value["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 2);
    assert_eq!(value.as_object().unwrap().len(), 1);

    let good = &certs[0];
    let serial = openssl_serial(dir.path(), "good.pem", "PEM");
    assert_eq!(good["file"], "good.pem");
    assert_eq!(good["serial_hex"], serial.as_str());
    assert_eq!(good["key_id"], format!("SN={serial}").as_str());
    assert_eq!(
        good["x5t_s256"],
        openssl_x5t_s256(dir.path(), "good.pem", "PEM").as_str()
    );
    assert_eq!(good["key_type"], "RSA 2048");
    assert_eq!(good["key_bits"], 2048);
    assert_eq!(good["lifetime_days"], 365);
    assert_eq!(good["key_matches"], true);
    assert_eq!(good["warnings"], serde_json::json!([]));
    assert!(good["x5t"].as_str().unwrap().len() == 27);

    let old = &certs[1];
    assert_eq!(old["serial_hex"], "0A0B");
    assert_eq!(old["key_id"], "SN=0A0B");
    assert_eq!(old["not_before"], "2020-01-01T00:00:00Z");
    assert_eq!(old["not_after"], "2021-01-01T00:00:00Z");
    assert!(old["days_left"].as_i64().unwrap() < -1000);
    let ids: Vec<&str> = old["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["cert.expired"]);
}

#[test]
fn unusable_input_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    self_signed(dir.path(), "fine", 365);
    std::fs::write(dir.path().join("notes.txt"), "not a certificate\n").unwrap();
    let out = inspect(dir.path(), &["fine.pem", "missing.pem"]);
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr
            .contains("error: certificate file missing.pem not found"),
        "{out}"
    );
    // The usable one is still described.
    assert!(out.stdout.starts_with("fine.pem  (PEM)"), "{out}");

    let out = inspect(dir.path(), &["notes.txt"]);
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr.contains("notes.txt is not a certificate"),
        "{out}"
    );
    // A key given where a certificate is expected.
    let out = inspect(dir.path(), &["fine.key"]);
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr
            .contains("fine.key is not a certificate (it holds a private key but no certificate)"),
        "{out}"
    );
    // JSON mode keeps stdout parseable.
    let out = inspect(dir.path(), &["--format", "json", "missing.pem"]);
    assert_eq!(out.code, 2, "{out}");
    assert_eq!(json(&out)["certificates"], serde_json::json!([]));
}

#[test]
fn psd2_statements_made_by_openssl_are_read() {
    // Built by OpenSSL's own ASN.1 generator, not by obconform: a QcCompliance statement first,
    // then PSD2 with two roles.
    let dir = tempfile::tempdir().unwrap();
    let config = "[req]\ndistinguished_name = dn\nx509_extensions = ext\nprompt = no\n[dn]\nCN = bafin tpp\n[ext]\n1.3.6.1.5.5.7.1.3 = ASN1:SEQUENCE:qcs\n[qcs]\ns1 = SEQUENCE:compliance\ns2 = SEQUENCE:psd2\n[compliance]\nid = OID:0.4.0.1862.1.1\n[psd2]\nid = OID:0.4.0.19495.2\ninfo = SEQUENCE:psd2type\n[psd2type]\nroles = SEQUENCE:roles\nncaName = UTF8:Bundesanstalt fuer Finanzdienstleistungsaufsicht\nncaId = UTF8:DE-BAFIN\n[roles]\nr1 = SEQUENCE:pi\nr2 = SEQUENCE:ai\n[pi]\noid = OID:0.4.0.19495.1.2\nname = UTF8:PSP_PI\n[ai]\noid = OID:0.4.0.19495.1.3\nname = UTF8:PSP_AI\n[bad]\n1.3.6.1.5.5.7.1.3 = DER:30:0A:30:08:06:06:04:00\n";
    std::fs::write(dir.path().join("qc.cnf"), config).unwrap();
    let req = |name: &str, extensions: &str| {
        openssl(
            dir.path(),
            &[
                "req",
                "-x509",
                "-config",
                "qc.cnf",
                "-extensions",
                extensions,
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.pem"),
                "-days",
                "100",
            ],
        )
    };
    req("bafin", "ext");
    let out = inspect(dir.path(), &["bafin.pem"]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        field(&out, "PSD2 roles"),
        "PSP_PI, PSP_AI  (NCA Bundesanstalt fuer Finanzdienstleistungsaufsicht, DE-BAFIN)"
    );
    let out = inspect(dir.path(), &["--format", "json", "bafin.pem"]);
    let psd2 = &json(&out)["certificates"][0]["psd2"];
    assert_eq!(psd2["roles"], serde_json::json!(["PSP_PI", "PSP_AI"]));
    assert_eq!(psd2["nca_id"], "DE-BAFIN");

    // A truncated statement: reported, not a crash.
    req("broken", "bad");
    let out = inspect(dir.path(), &["broken.pem"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        field(&out, "WARNING").starts_with("cert.qc-statements-malformed"),
        "{out}"
    );
}

#[test]
fn the_sandbox_example_certificates_carry_every_psd2_role() {
    let dir = tempfile::tempdir().unwrap();
    let pki = obconform::sandbox::kernel::pki::TestPki::generate(&[]).unwrap();
    let files = pki.write_to(dir.path()).unwrap();
    let out = inspect(
        dir.path(),
        &["example_client_tls.cer", "example_client_signing.cer"],
    );
    assert_eq!(out.code, 0, "{out}");
    let roles = "PSP_AS, PSP_PI, PSP_AI, PSP_IC  (NCA De Nederlandsche Bank, NL-DNB)";
    assert_eq!(
        out.stdout.matches(&format!("PSD2 roles   {roles}")).count(),
        2,
        "{out}"
    );
    assert!(out.stdout.contains("49BA5C71   keyId SN=49BA5C71"), "{out}");
    assert!(
        out.stdout
            .contains("matches: example_client_signing.key (beside it)"),
        "{out}"
    );

    // Independently: openssl's parser sees ETSI's structure in the extension.
    for cert in [&files.client_tls_cert, &files.client_signing_cert] {
        let cert = cert.to_str().unwrap();
        let outer = openssl(dir.path(), &["asn1parse", "-in", cert]);
        let offset = offset_after(&outer, ":qcStatements");
        let inner = openssl(
            dir.path(),
            &["asn1parse", "-in", cert, "-strparse", &offset],
        );
        let expected = [
            ":0.4.0.19495.2",
            ":0.4.0.19495.1.1",
            "UTF8STRING        :PSP_AS",
            ":0.4.0.19495.1.2",
            "UTF8STRING        :PSP_PI",
            ":0.4.0.19495.1.3",
            "UTF8STRING        :PSP_AI",
            ":0.4.0.19495.1.4",
            "UTF8STRING        :PSP_IC",
            "UTF8STRING        :De Nederlandsche Bank",
            "UTF8STRING        :NL-DNB",
        ];
        let mut rest = inner.as_str();
        for text in expected {
            let at = rest
                .find(text)
                .unwrap_or_else(|| panic!("`{text}` missing or out of order in:\n{inner}"));
            rest = &rest[at + text.len()..];
        }
    }
    // The CA has no PSD2 statement.
    let out = inspect(dir.path(), &["ca.pem"]);
    assert_eq!(field(&out, "PSD2 roles"), "none (no PSD2 qcStatement)");
}

/// The offset of the line after the one containing `marker` in `openssl asn1parse` output.
fn offset_after(asn1parse: &str, marker: &str) -> String {
    let mut lines = asn1parse.lines();
    lines.find(|l| l.contains(marker)).expect("marker present");
    let next = lines.next().expect("a line after the marker");
    next.trim().split(':').next().unwrap().to_string()
}
