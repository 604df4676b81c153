//! The rendered scripts run by bash with a stand-in `curl` that records its arguments and the
//! body it was given: what curl would send is what was sent.

use super::*;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

const FAKE_CURL: &str = r#"#!/usr/bin/env bash
# Records each argument NUL-terminated, and stdin when the body comes from it.
for a in "$@"; do printf '%s\0' "$a"; done > "$CAPTURE/args"
for a in "$@"; do if [ "$a" = "@-" ]; then cat > "$CAPTURE/stdin"; fi; done
"#;

/// What the script handed curl.
struct Captured {
    args: Vec<Vec<u8>>,
    stdin: Option<Vec<u8>>,
    /// The `--data-binary @file`'s content, read while the file exists.
    file_body: Option<Vec<u8>>,
}

impl Captured {
    /// The values of every `-H`, as text.
    fn headers(&self) -> Vec<String> {
        self.args
            .windows(2)
            .filter(|w| w[0] == b"-H")
            .map(|w| String::from_utf8_lossy(&w[1]).into_owned())
            .collect()
    }

    fn after(&self, flag: &str) -> Option<&[u8]> {
        self.args
            .windows(2)
            .find(|w| w[0] == flag.as_bytes())
            .map(|w| w[1].as_slice())
    }

    /// The body curl would send: from stdin or from the `@file`.
    fn body(&self) -> Option<Vec<u8>> {
        let arg = self.after("--data-binary")?;
        if arg == b"@-" {
            self.stdin.clone()
        } else {
            self.file_body.clone()
        }
    }
}

fn context(body_file: &str) -> ScriptContext<'_> {
    ScriptContext {
        scenario: "ing-psd2::05-account-information",
        scenario_path: Path::new("scenarios/ing-psd2/05-account-information.yaml"),
        step_number: 3,
        step_name: "customer access token",
        attempt: None,
        environment: "embedded (embedded, https://127.0.0.1:4431)",
        sent_at: UNIX_EPOCH + Duration::from_secs(1_715_076_000),
        body_file,
    }
}

fn no_tls() -> CurlTls {
    CurlTls {
        role: "tls".into(),
        identity: None,
        server: ServerTrust::System,
    }
}

/// Writes the script (and its body file) into a folder, runs it with `vars` and the stand-in
/// curl; the exit status, stderr and what curl got.
fn run(script: &CurlScript, vars: &[(&str, &str)]) -> (bool, String, Option<Captured>) {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fake = bin.join("curl");
    std::fs::write(&fake, FAKE_CURL).unwrap();
    let script_path = dir.path().join("03-step.sh");
    std::fs::write(&script_path, &script.text).unwrap();
    if let Some(body) = &script.body_file {
        std::fs::write(dir.path().join("03-step.body"), body).unwrap();
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("bash");
    command
        .arg(&script_path)
        .env("PATH", path)
        .env("CAPTURE", dir.path());
    for (name, value) in vars {
        command.env(name, value);
    }
    let out = command.output().expect("bash runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let captured = std::fs::read(dir.path().join("args")).ok().map(|args| {
        let mut args: Vec<Vec<u8>> = args.split(|&b| b == 0).map(<[u8]>::to_vec).collect();
        args.pop();
        let mut captured = Captured {
            args,
            stdin: std::fs::read(dir.path().join("stdin")).ok(),
            file_body: None,
        };
        captured.file_body = captured
            .after("--data-binary")
            .and_then(|arg| arg.strip_prefix(b"@"))
            .filter(|path| *path != b"-")
            .map(|path| std::fs::read(String::from_utf8_lossy(path).as_ref()).expect("body file"));
        captured
    });
    (out.status.success(), stderr, captured)
}

fn values(script: &CurlScript) -> Vec<(&str, &str)> {
    script
        .variables
        .iter()
        .map(|v| (v.name.as_str(), v.value.as_str()))
        .collect()
}

#[test]
fn header_values_with_quotes_newlines_dollars_and_backticks_reach_curl_unchanged() {
    let odd = "it's \"quoted\" $HOME ${PATH} `id` $(id) \\ !x";
    let request = HttpRequest {
        method: "GET".into(),
        url: "https://h/v3/accounts?q=a'b&x=$HOME".into(),
        headers: vec![
            ("X-Odd".into(), odd.into()),
            ("X-Empty".into(), String::new()),
            ("Authorization".into(), "Bearer t'k$`x`\"n".into()),
        ],
        body: Vec::new(),
    };
    let script = render(&context("03-step.body"), &request, &[], &no_tls());
    assert!(
        !script.text.contains("t'k$"),
        "the token is not in the script"
    );
    let (ok, stderr, captured) = run(&script, &values(&script));
    assert!(ok, "{stderr}");
    let captured = captured.expect("curl ran");
    assert_eq!(
        captured.after("-X"),
        Some(&b"GET"[..]),
        "{:?}",
        captured.args
    );
    assert!(
        captured
            .args
            .iter()
            .any(|a| a == b"https://h/v3/accounts?q=a'b&x=$HOME")
    );
    assert_eq!(
        captured.headers(),
        [
            format!("X-Odd: {odd}"),
            "X-Empty;".to_string(),
            "Authorization: Bearer t'k$`x`\"n".to_string(),
            format!("User-Agent: {USER_AGENT}"),
        ]
    );
    assert_eq!(captured.after("--data-binary"), None);
}

#[test]
fn a_body_with_secrets_is_rebuilt_byte_for_byte() {
    // Field values as a form carries them, and a known secret with every shell character.
    let secret = "s3cr'et \"$HOME\" `id` \\ \n!";
    let body = format!(
        "grant_type=authorization_code&code=c0de-%24%60&redirect_uri=https%3A%2F%2Fx%2F%27&note={secret}&tail=\u{e9}\r\n"
    );
    let request = HttpRequest {
        method: "POST".into(),
        url: "https://h/oauth2/token".into(),
        headers: vec![(
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body: body.clone().into_bytes(),
    };
    let known = [("partner_secret", secret)];
    let script = render(&context("03-step.body"), &request, &known, &no_tls());
    assert!(
        script.body_file.is_none(),
        "a body with secrets stays in the script"
    );
    assert!(!script.text.contains("c0de-") && !script.text.contains("s3cr"));
    let names: Vec<&str> = script.variables.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["OBCONFORM_FORM_CODE", "OBCONFORM_PARTNER_SECRET"]);

    let (ok, stderr, captured) = run(&script, &values(&script));
    assert!(ok, "{stderr}");
    let captured = captured.expect("curl ran");
    assert_eq!(captured.body().as_deref(), Some(body.as_bytes()));
    let headers = captured.headers();
    assert!(headers.contains(&"Expect:".to_string()), "{headers:?}");
    assert!(
        !headers.contains(&"Content-Type:".to_string()),
        "{headers:?}"
    );
}

#[test]
fn the_generated_assignment_builds_the_body_exactly() {
    let secret = "tok'$`\"\\\n-value";
    let bodies: [&[u8]; 4] = [
        b"{\"access_token\":\"tok'$`\\\"\\\\\\n-value\",\"x\":\"\xc3\xa9\"}",
        b"code=abc123&x=\xff\xfe\x01\r\n",
        b"code=zzz999&x=\x00\x01&\x00",
        b"plain tok'$`\"\\\n-value end body() { x; }",
    ];
    for body in bodies {
        let mut secrets = Secrets::new(&[("tok", secret)], 1);
        let content_type = if body.starts_with(b"{") {
            Some("application/json")
        } else {
            Some("application/x-www-form-urlencoded")
        };
        let pieces = secrets.body(body, content_type);
        assert!(
            pieces.iter().any(|p| matches!(p, Piece::Var(_))),
            "{body:?}"
        );
        let (builder, feed) = body_builder(&pieces, &secrets.variables);
        let program = format!("set -euo pipefail\n{builder}{feed} > \"$OUT\"");
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("body");
        let mut command = Command::new("bash");
        command.args(["-c", &program]).env("OUT", &out);
        for v in &secrets.variables {
            command.env(&v.name, &v.value);
        }
        let status = command.output().expect("bash runs");
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        assert_eq!(std::fs::read(&out).unwrap(), body, "{builder}");
    }
}

#[test]
fn a_body_without_secrets_goes_to_the_file_beside_the_script() {
    let body = b"\x00\xff{\"amount\":\"1.00\"}\n".to_vec();
    let request = HttpRequest {
        method: "POST".into(),
        url: "https://h/v1/x".into(),
        headers: vec![("X-Request-ID".into(), "r-1".into())],
        body: body.clone(),
    };
    let script = render(&context("03-step.body"), &request, &[], &no_tls());
    assert_eq!(script.body_file.as_deref(), Some(body.as_slice()));
    assert!(script.variables.is_empty());
    assert!(script.text.contains("# No secrets: nothing to set."));
    let (ok, stderr, captured) = run(&script, &[]);
    assert!(ok, "{stderr}");
    let captured = captured.expect("curl ran");
    assert_eq!(captured.body(), Some(body));
    let headers = captured.headers();
    assert!(
        headers.contains(&"Content-Type:".to_string()),
        "the original had none: {headers:?}"
    );
}

#[test]
fn the_header_names_scenario_step_environment_time_and_the_date_window() {
    let request = HttpRequest {
        method: "GET".into(),
        url: "https://h/x".into(),
        headers: vec![
            ("Authorization".into(), "Bearer tok-1234567890".into()),
            ("Signature".into(), "keyId=\"k\",signature=\"s\"".into()),
        ],
        body: Vec::new(),
    };
    let script = render(
        &context("x.body"),
        &request,
        &[("customer_token", "tok-1234567890")],
        &no_tls(),
    );
    let text = &script.text;
    for expected in [
        "#!/usr/bin/env bash\n",
        "# scenario:    ing-psd2::05-account-information (scenarios/ing-psd2/05-account-information.yaml)\n",
        "# step:        3. customer access token\n",
        "# environment: embedded (embedded, https://127.0.0.1:4431)\n",
        "# sent:        2024-05-07T10:00:00.000Z\n",
        "Date/Digest/Signature are those of the original",
        "ING: a few\n# minutes",
        "#   OBCONFORM_CUSTOMER_TOKEN: the Bearer token in the Authorization header of step 3 (known to the run as customer_token)\n",
        "#   OBCONFORM_SIGNATURE: the Signature header of step 3\n",
        "set -euo pipefail\n",
        ": \"${OBCONFORM_CUSTOMER_TOKEN:?set OBCONFORM_CUSTOMER_TOKEN to the Bearer token",
        "curl -q --http1.1 -sS -i",
        "-X GET 'https://h/x' \\\n",
        "-H 'Authorization: Bearer '\"${OBCONFORM_CUSTOMER_TOKEN}\"",
        "-H 'Signature: '\"${OBCONFORM_SIGNATURE}\"",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    assert!(!text.contains("tok-1234567890") && !text.contains("signature=\"s\""));
    let (ok, stderr, captured) = run(&script, &[]);
    assert!(
        !ok && captured.is_none(),
        "nothing runs without the variables"
    );
    assert!(stderr.contains("OBCONFORM_CUSTOMER_TOKEN"), "{stderr}");
}

#[test]
fn tls_paths_are_overridable_and_insecure_only_when_the_environment_is() {
    let request = HttpRequest {
        method: "HEAD".into(),
        url: "https://h/x".into(),
        headers: vec![],
        body: Vec::new(),
    };
    let tls = CurlTls {
        role: "new_tls".into(),
        identity: Some(CurlIdentity::pem(
            "/pki/it's tls.cer".into(),
            "/pki/tls.key".into(),
        )),
        server: ServerTrust::CaFile("ca.pem".into()),
    };
    let script = render(&context("x.body"), &request, &[], &tls);
    assert!(script.text.contains("role new_tls"), "{}", script.text);
    assert!(!script.text.contains("--insecure"));
    let (ok, stderr, captured) = run(&script, &[]);
    assert!(ok, "{stderr}");
    let captured = captured.expect("curl ran");
    assert!(captured.args.iter().any(|a| a == b"--head"));
    assert_eq!(captured.after("--cert"), Some(&b"/pki/it's tls.cer"[..]));
    assert_eq!(captured.after("--key"), Some(&b"/pki/tls.key"[..]));
    let cacert = String::from_utf8_lossy(captured.after("--cacert").unwrap()).into_owned();
    assert!(cacert.ends_with("/ca.pem"), "{cacert}");

    let (ok, _, captured) = run(
        &script,
        &[
            ("OBCONFORM_TLS_CERT", "/other.pem"),
            ("OBCONFORM_CACERT", "/ca2.pem"),
        ],
    );
    let captured = captured.expect("curl ran");
    assert!(ok);
    assert_eq!(captured.after("--cert"), Some(&b"/other.pem"[..]));
    assert_eq!(captured.after("--cacert"), Some(&b"/ca2.pem"[..]));

    let insecure = CurlTls {
        server: ServerTrust::Insecure,
        ..tls
    };
    let script = render(&context("x.body"), &request, &[], &insecure);
    assert!(script.text.contains("insecure: true"));
    assert!(script.text.contains("--insecure"));
}

#[test]
fn a_pkcs12_password_comes_from_the_environments_variable() {
    let request = HttpRequest {
        method: "GET".into(),
        url: "https://h/x".into(),
        headers: vec![],
        body: Vec::new(),
    };
    let tls = CurlTls {
        role: "tls".into(),
        identity: Some(CurlIdentity::pkcs12(
            "/pki/tls.p12".into(),
            Some("TLS_P12_PASSWORD".into()),
        )),
        server: ServerTrust::System,
    };
    let script = render(&context("x.body"), &request, &[], &tls);
    assert_eq!(script.passphrase_variables, ["TLS_P12_PASSWORD"]);
    let (ok, stderr, _) = run(&script, &[]);
    assert!(!ok && stderr.contains("TLS_P12_PASSWORD"), "{stderr}");
    let (ok, stderr, captured) = run(&script, &[("TLS_P12_PASSWORD", "pw'1")]);
    assert!(ok, "{stderr}");
    let captured = captured.expect("curl ran");
    assert_eq!(captured.after("--cert-type"), Some(&b"P12"[..]));
    assert_eq!(captured.after("--pass"), Some(&b"pw'1"[..]));
    assert!(!script.text.contains("pw'1"));
}
