//! Helpers shared by the integration tests: a sandbox on 127.0.0.1 that stops when dropped, and a
//! way to run the real binary and look at what it printed.
#![allow(dead_code)]

pub mod psd2;
use obconform::sandbox::{PkiFiles, Sandbox, SandboxConfig};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const EMBEDDED_ENV: &str = "environments:\n  embedded:\n    kind: embedded\n    client_id: 5ca1ab1e-c0ca-c01a-cafe-154deadbea75\n";

/// An embedded sandbox with its own runtime, for tests that drive the binary against it.
pub struct TestSandbox {
    runtime: tokio::runtime::Runtime,
    sandbox: Option<Sandbox>,
}

impl TestSandbox {
    pub fn start() -> TestSandbox {
        obconform::install_crypto_provider();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let config = SandboxConfig::new(([127, 0, 0, 1], 0).into());
        let sandbox = runtime
            .block_on(Sandbox::start(config))
            .expect("sandbox starts");
        TestSandbox {
            runtime,
            sandbox: Some(sandbox),
        }
    }

    pub fn sandbox(&self) -> &Sandbox {
        self.sandbox.as_ref().expect("running")
    }

    pub fn base_url(&self) -> String {
        self.sandbox().base_url()
    }

    pub fn pki(&self) -> &PkiFiles {
        self.sandbox().pki()
    }

    /// An environments file with one environment, `local`, pointing at this sandbox.
    pub fn environment_yaml(&self) -> String {
        let pki = self.pki();
        local_environment(
            &self.base_url(),
            &pki.ca_cert,
            Some((&pki.client_tls_cert, &pki.client_tls_key)),
            "",
        )
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }
}

impl Drop for TestSandbox {
    fn drop(&mut self) {
        if let Some(sandbox) = self.sandbox.take() {
            self.runtime.block_on(sandbox.shutdown());
        }
    }
}

/// An environments file with one environment, `local` (kind sandbox): `api`, trusting `ca`, with
/// an optional TLS client identity and `extra` lines (indented like the environment's keys).
pub fn local_environment(api: &str, ca: &Path, tls: Option<(&Path, &Path)>, extra: &str) -> String {
    let mut yaml = format!(
        "environments:\n  local:\n    kind: sandbox\n    api: {api}\n    client_id: 5ca1ab1e-c0ca-c01a-cafe-154deadbea75\n    trust: [{}]\n",
        ca.display()
    );
    if let Some((cert, key)) = tls {
        yaml.push_str(&format!(
            "    certs:\n      tls: {{ cert: {}, key: {} }}\n",
            cert.display(),
            key.display()
        ));
    }
    yaml.push_str(extra);
    yaml
}

/// `obconform run FILE --env local --no-snapshots` in `dir`.
pub fn run_local(file: &Path, dir: &Path) -> Output {
    obconform(
        &[
            "run",
            file.to_str().unwrap(),
            "--env",
            "local",
            "--no-snapshots",
        ],
        dir,
    )
}

/// A command for a client (curl, a script) that must reach the test's 127.0.0.1 servers
/// directly: proxy variables from the environment are dropped, and `NO_PROXY` covers all.
pub fn local_command(program: &str) -> std::process::Command {
    let mut command = std::process::Command::new(program);
    for var in [
        "https_proxy",
        "HTTPS_PROXY",
        "http_proxy",
        "HTTP_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ] {
        command.env_remove(var);
    }
    command.env("NO_PROXY", "*").env("no_proxy", "*");
    command
}

/// Writes `dir/name` (creating folders in `name`).
pub fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, content).unwrap();
    path
}

/// What a run of the binary produced.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn assert_no_panic(&self) {
        assert!(
            !self.stderr.contains("panicked"),
            "the binary panicked: {self}"
        );
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub fn obconform(args: &[&str], cwd: &Path) -> Output {
    obconform_with_env(args, cwd, &[])
}

pub fn obconform_with_env(args: &[&str], cwd: &Path, vars: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_obconform"));
    command
        .args(args)
        .current_dir(cwd)
        .env_remove("TEST_TLS_PASSPHRASE")
        .env("CI", "true");
    for (k, v) in vars {
        command.env(k, v);
    }
    let out = command.output().expect("run obconform");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The key re-written as encrypted PKCS#8 PEM (AES-256-CBC) with the passphrase.
pub fn encrypt_key(key_path: &Path, passphrase: &str) -> String {
    let pem = std::fs::read(key_path).unwrap();
    let key = openssl::pkey::PKey::private_key_from_pem(&pem).unwrap();
    let encrypted = key
        .private_key_to_pem_pkcs8_passphrase(
            openssl::symm::Cipher::aes_256_cbc(),
            passphrase.as_bytes(),
        )
        .unwrap();
    String::from_utf8(encrypted).unwrap()
}

/// A loopback port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A reqwest client trusting `ca` and presenting `identity` (certificate, key) if given: HTTP/1.1,
/// no proxy, redirects not followed (the consent screen's 302 is what tests look at).
pub fn sandbox_client(ca: &Path, identity: Option<(&Path, &Path)>) -> reqwest::Client {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    obconform::install_crypto_provider();
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).expect("read ca.pem") {
        roots.add(cert.expect("CA PEM")).expect("add CA");
    }
    let builder = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_root_certificates(roots);
    let mut config = match identity {
        Some((cert, key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .expect("read certificate")
                .collect::<Result<Vec<_>, _>>()
                .expect("certificate PEM");
            let key = PrivateKeyDer::from_pem_file(key).expect("key PEM");
            builder
                .with_client_auth_cert(chain, key)
                .expect("client identity")
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .http1_only()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .expect("reqwest client")
}

/// A PEM certificate and its key as obconform signs with them.
pub fn signing_key(cert: &Path, key: &Path) -> obconform::sign::SigningKey {
    let (cert, key) = obconform::certs::load_leaf_and_key(cert, key, None).expect("cert and key");
    obconform::sign::SigningKey::new(cert, key)
}

/// A sandbox on 127.0.0.1 with the example certificates loaded for signing and a client that
/// presents the example TLS certificate (redirects not followed). Test files add their own
/// request helpers in `impl Bank` blocks.
pub struct Bank {
    pub sandbox: Sandbox,
    pub base: String,
    pub client: reqwest::Client,
    pub signing: obconform::sign::SigningKey,
    pub tls: obconform::sign::SigningKey,
}

impl Bank {
    pub async fn start() -> Bank {
        Bank::start_with(SandboxConfig::new(([127, 0, 0, 1], 0).into())).await
    }

    /// [`Bank::start`] with another configuration (partner allowlist, rate limit, PKI dir).
    pub async fn start_with(config: SandboxConfig) -> Bank {
        let sandbox = Sandbox::start(config).await.expect("sandbox starts");
        let pki = sandbox.pki().clone();
        Bank {
            base: sandbox.base_url(),
            client: sandbox_client(
                &pki.ca_cert,
                Some((&pki.client_tls_cert, &pki.client_tls_key)),
            ),
            signing: signing_key(&pki.client_signing_cert, &pki.client_signing_key),
            tls: signing_key(&pki.client_tls_cert, &pki.client_tls_key),
            sandbox,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// `obconform sandbox --pki DIR` as a child process on 127.0.0.1, stopped when dropped.
pub struct StandaloneSandbox {
    child: std::process::Child,
    pub pki: tempfile::TempDir,
    pub url: String,
}

impl StandaloneSandbox {
    pub fn start() -> StandaloneSandbox {
        use std::io::BufRead;
        let pki = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_obconform"))
            .args(["sandbox", "--listen", "127.0.0.1:0", "--pki"])
            .arg(pki.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start obconform sandbox");
        // The first line appears once the sandbox accepts connections.
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        StandaloneSandbox {
            child,
            pki,
            url: line.trim().to_string(),
        }
    }

    pub fn pki_dir(&self) -> &str {
        self.pki.path().to_str().unwrap()
    }
}

impl Drop for StandaloneSandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scenario of three application-token requests whose second is signed with `mutation` and
/// still expected to pass: it fails with the engine's finding and the third step is skipped.
pub fn failing_scenario(title: &str, faulty_step: &str, mutation: &str) -> String {
    let step = |name: &str, mutate: &str| {
        format!(
            r#"  - name: {name}
    write: false
    request:
      method: POST
      url: "{{{{env.api}}}}/oauth2/token"
      headers: {{ Accept: application/json }}
      form: {{ grant_type: client_credentials, scope: "payment-accounts:balances:view" }}
    sign: app-token{mutate}
    expect: {{ status: 200 }}
"#
        )
    };
    format!(
        "name: {title}\nsystem: ing-psd2\nsteps:\n{}{}{}",
        step(
            "\"control: the application token request signed correctly\"",
            ""
        ),
        step(faulty_step, &format!("\n    mutate:\n      - {mutation}")),
        step("\"never reached: the same request signed correctly\"", "")
    )
}

/// The folder of ING's published API specifications: `OBCONFORM_ING_SPECS`, else
/// `../shared/reference/ing-openapi` beside the repository. They are ING's documents, never
/// copied into the repository. Without them a test says it was skipped (`what`) and passes,
/// unless `OBCONFORM_REQUIRE_ING_SPECS=1` (CI) makes that a failure.
pub fn ing_specs_dir(what: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("OBCONFORM_ING_SPECS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/ing-openapi"),
    };
    if dir.is_dir() {
        return Some(dir);
    }
    let skipped =
        format!("{what} skipped: ING's published specs not found (set OBCONFORM_ING_SPECS)");
    assert!(
        std::env::var("OBCONFORM_REQUIRE_ING_SPECS").as_deref() != Ok("1"),
        "{skipped}"
    );
    println!("{skipped}");
    None
}

/// A plain-HTTP loopback environment (kind sandbox, verification off) whose API is on `port`, for
/// tests that read the bytes on the wire with a server of their own.
pub fn plain_http_environment(port: u16) -> obconform::environment::ActiveEnvironment {
    obconform::environment::ActiveEnvironment {
        name: "wire".into(),
        kind: obconform::environment::model::EnvironmentKind::Sandbox,
        api: format!("http://127.0.0.1:{port}"),
        consent: None,
        grants_support: None,
        hosts: Vec::new(),
        cert_warnings: Vec::new(),
        command_line_vars: Vec::new(),
        client_id: None,
        vars: vec![],
        profiles: vec![],
        certs: vec![],
        identities: vec![],
        signing_keys: vec![],
        trust: obconform::environment::active::Trust::default(),
        insecure: true,
        connect_timeout: std::time::Duration::from_secs(5),
        request_timeout: std::time::Duration::from_secs(10),
        contract_setup: Default::default(),
        contract: None,
        contract_note: None,
        bank_ca: Vec::new(),
    }
}

/// A token request signed (HTTP signature, the default profile) with the client signing pair of a
/// fresh test PKI written to `dir/pki`, at a whole second (Date carries no more); the request,
/// the PKI's files and the signing time.
pub fn signed_token_request(
    dir: &Path,
) -> (
    obconform::wire::HttpRequest,
    obconform::certs::test_pki::PkiFiles,
    std::time::SystemTime,
) {
    use obconform::scenario::model::{Flow, SignProfile};
    use obconform::steps::sign::{SignInputs, sign};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};
    obconform::install_crypto_provider();
    let pki = obconform::certs::test_pki::TestPki::generate(&[]).expect("test PKI");
    let files = pki.write_to(&dir.join("pki")).expect("PKI written");
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let now = UNIX_EPOCH + Duration::from_secs(secs);
    let request = obconform::wire::HttpRequest {
        method: "POST".into(),
        url: "https://api.sandbox.ing.com/oauth2/token".into(),
        headers: vec![(
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body: b"grant_type=client_credentials".to_vec(),
    };
    let key = obconform::sign::SigningKey::new(
        pki.client_signing.cert.clone(),
        pki.client_signing.key.clone(),
    );
    let profile = SignProfile {
        flow: Flow::HttpSignature,
        ..SignProfile::default()
    };
    let inputs = SignInputs {
        key: Some(&key),
        key_id: None,
        audience: None,
        client_id: None,
        now,
    };
    let signed = sign(request, &profile, &inputs).expect("signed");
    (signed.request, files, now)
}
