//! Where the curl export goes: `DIR/<scenario>/<NN>-<step>.sh` (0700) for each request sent,
//! `<same>.body` (0600) for a body without secrets, the environment's own CA as `ca.pem`, and
//! `DIR/index.tsv` listing every script and the variables it needs. Every file is written
//! atomically but the index, which gets a row appended once its script is in place (a run
//! stopped half-way leaves an index of the scripts it wrote); the scenario folders carry a
//! marker so the next export clears them (and nothing else of DIR).

use super::{CurlIdentity, CurlScript, CurlTls, ScriptContext, ServerTrust, render};
use crate::archive::store::{attempt_stem, open_with_mode, write_atomic};
use crate::archive::{ArchiveError, ScenarioSource};
use crate::environment::ActiveEnvironment;
use crate::redact::Redactor;
use crate::runner::StepOutcome;
use base64::Engine as _;
use std::path::{Path, PathBuf};

/// In each scenario folder the export made.
const MARKER: &str = ".obconform-curl";
const INDEX: &str = "index.tsv";
const INDEX_HEADER: &str = "script\tscenario\tstep\tsent_at\tvariables\n";
const CA_FILE: &str = "ca.pem";

/// The export of one run.
#[derive(Debug)]
pub struct CurlDir {
    dir: PathBuf,
    /// Scenario folders this export has made (marked and given their CA file).
    folders: Vec<PathBuf>,
    /// `index.tsv`, open for appending once the first script is written.
    index: Option<std::fs::File>,
}

/// A script written, with its secrets (for a caller that runs it; never written).
#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    pub script: CurlScript,
}

impl CurlDir {
    /// The export under `dir`, with the folders and index of an earlier export removed (only
    /// those: DIR may be any folder). Usable even when the removal failed.
    pub fn start(dir: &Path) -> (CurlDir, Result<(), ArchiveError>) {
        let export = CurlDir {
            dir: dir.to_path_buf(),
            folders: Vec::new(),
            index: None,
        };
        let cleared = clear_previous(dir);
        (export, cleared)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes a script for every request `step` sent; all are attempted, the first failure is
    /// returned.
    pub fn record(
        &mut self,
        source: &ScenarioSource<'_>,
        env: &ActiveEnvironment,
        step: &StepOutcome,
        redactor: &Redactor,
    ) -> Result<Vec<Written>, ArchiveError> {
        if step.sent.is_empty() {
            return Ok(Vec::new());
        }
        let folder = self.dir.join(source.folder_name());
        let ca = self.prepare(&folder, env)?;
        let known: Vec<(&str, &str)> = redactor.secrets().collect();
        let environment = format!("{} ({}, {})", env.name, env.kind.name(), env.api);
        let attempts = step.sent.len();
        let mut written = Vec::with_capacity(attempts);
        let mut first_error = None;
        for (i, sent) in step.sent.iter().enumerate() {
            let stem = attempt_stem(step, i);
            let body_file = format!("{stem}.body");
            let context = ScriptContext {
                scenario: source.test_name,
                scenario_path: source.path,
                step_number: step.index + 1,
                step_name: &step.name,
                attempt: (attempts > 1).then_some((i + 1, attempts)),
                environment: &environment,
                sent_at: sent.sent_at,
                body_file: &body_file,
            };
            let script = render(
                &context,
                &sent.request,
                &known,
                &tls_of(env, &sent.tls_role, ca),
            );
            let path = folder.join(format!("{stem}.sh"));
            let result = match &script.body_file {
                Some(body) => write_atomic(&folder.join(&body_file), body, 0o600),
                None => Ok(()),
            }
            .and_then(|()| write_atomic(&path, script.text.as_bytes(), 0o700));
            let result = result.and_then(|()| {
                let row = self.index_row(&path, source, &context, &script);
                self.append_to_index(&row)
            });
            match result {
                Ok(()) => written.push(Written { path, script }),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(written),
        }
    }

    /// Makes a scenario's folder once: the marker, and the environment's anchors when curl
    /// needs them. Whether there is a CA file.
    fn prepare(&mut self, folder: &Path, env: &ActiveEnvironment) -> Result<bool, ArchiveError> {
        let has_ca = !env.trust.anchors.is_empty();
        if self.folders.iter().any(|f| f == folder) {
            return Ok(has_ca);
        }
        let marker = "made by obconform's curl export: the next export removes this folder\n";
        write_atomic(&folder.join(MARKER), marker.as_bytes(), 0o600)?;
        if has_ca {
            write_atomic(&folder.join(CA_FILE), anchors_pem(env).as_bytes(), 0o600)?;
        }
        self.folders.push(folder.to_path_buf());
        Ok(has_ca)
    }

    /// Appends `row` to `index.tsv`, made (with its header) on the first row: one write a row,
    /// so the index grows with the run instead of being written again after every step.
    fn append_to_index(&mut self, row: &str) -> Result<(), ArchiveError> {
        use std::io::Write as _;
        let path = self.dir.join(INDEX);
        let fail = |source| ArchiveError {
            path: path.clone(),
            source,
        };
        if self.index.is_none() {
            let mut file = open_with_mode(&path, 0o600).map_err(fail)?;
            file.write_all(INDEX_HEADER.as_bytes()).map_err(fail)?;
            self.index = Some(file);
        }
        let file = self.index.as_mut().expect("opened above");
        file.write_all(row.as_bytes()).map_err(fail)
    }

    /// A script's row of `index.tsv`, its line break included.
    fn index_row(
        &self,
        path: &Path,
        source: &ScenarioSource<'_>,
        context: &ScriptContext<'_>,
        script: &CurlScript,
    ) -> String {
        let relative = path.strip_prefix(&self.dir).unwrap_or(path);
        let variables: Vec<&str> = script
            .variables
            .iter()
            .map(|v| v.name.as_str())
            .chain(script.passphrase_variables.iter().map(String::as_str))
            .collect();
        let cells = [
            relative.display().to_string(),
            source.test_name.to_string(),
            format!("{}. {}", context.step_number, context.step_name),
            crate::archive::sidecar::rfc3339(context.sent_at),
            variables.join(" "),
        ];
        let cells: Vec<String> = cells.iter().map(|c| tsv_cell(c)).collect();
        format!("{}\n", cells.join("\t"))
    }
}

/// The TLS settings of a request sent presenting `role`.
fn tls_of(env: &ActiveEnvironment, role: &str, has_ca: bool) -> CurlTls {
    let identity = env
        .certs
        .iter()
        .find(|(r, _)| r == role)
        .map(|(_, files)| CurlIdentity::of(files));
    let ca = || PathBuf::from(CA_FILE);
    let server = match (env.insecure, has_ca, env.trust.system) {
        (true, _, _) => ServerTrust::Insecure,
        (false, false, _) => ServerTrust::System,
        (false, true, false) => ServerTrust::CaFile(ca()),
        (false, true, true) => ServerTrust::SystemAndCaFile(ca()),
    };
    CurlTls {
        role: role.to_string(),
        identity,
        server,
    }
}

/// The environment's trust anchors as PEM.
fn anchors_pem(env: &ActiveEnvironment) -> String {
    let mut pem = String::new();
    for anchor in &env.trust.anchors {
        let base64 = base64::engine::general_purpose::STANDARD.encode(anchor.as_ref());
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        for line in base64.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    pem
}

/// Removes the marked folders and the index an earlier export left in `dir`.
fn clear_previous(dir: &Path) -> Result<(), ArchiveError> {
    let fail = |path: &Path, source| ArchiveError {
        path: path.to_path_buf(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(fail(dir, e)),
    };
    let mut first_error = None;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.join(MARKER).is_file()
            && let Err(e) = std::fs::remove_dir_all(&path)
        {
            first_error.get_or_insert(fail(&path, e));
        }
    }
    let index = dir.join(INDEX);
    let ours = std::fs::read_to_string(&index).is_ok_and(|text| text.starts_with(INDEX_HEADER));
    if ours && let Err(e) = std::fs::remove_file(&index) {
        first_error.get_or_insert(fail(&index, e));
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// A TSV cell: no tabs or line breaks.
fn tsv_cell(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environment::active::Trust;
    use crate::environment::model::EnvironmentKind;
    use crate::runner::SentRequest;
    use obconform_core::wire::HttpRequest;
    use std::time::{Duration, UNIX_EPOCH};

    fn environment(dir: &Path) -> ActiveEnvironment {
        let cert = dir.join("tls.cer");
        std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\n").unwrap();
        ActiveEnvironment {
            name: "embedded".into(),
            kind: EnvironmentKind::Embedded,
            api: "https://127.0.0.1:1".into(),
            consent: None,
            grants_support: None,
            hosts: Vec::new(),
            cert_warnings: Vec::new(),
            command_line_vars: Vec::new(),
            client_id: None,
            vars: vec![],
            profiles: vec![],
            certs: vec![(
                "tls".into(),
                crate::environment::active::CertFiles {
                    cert: cert.clone(),
                    key: Some(dir.join("tls.key")),
                    passphrase_env: None,
                },
            )],
            identities: vec![],
            signing_keys: vec![],
            trust: Trust {
                system: false,
                anchors: vec![vec![0x30, 0x03, 0x02, 0x01, 0x01].into()],
            },
            insecure: false,
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(1),
            contract_setup: Default::default(),
            contract: None,
            contract_note: None,
            bank_ca: Vec::new(),
        }
    }

    fn step(index: usize, name: &str, attempts: usize, body: &[u8]) -> StepOutcome {
        let sent = (0..attempts)
            .map(|i| {
                let request = HttpRequest {
                    method: "POST".into(),
                    url: format!("https://h/poll?n={i}"),
                    headers: vec![("Authorization".into(), "Bearer tok-123456".into())],
                    body: body.to_vec(),
                };
                SentRequest::answered_200(request, UNIX_EPOCH + Duration::from_secs(1_715_076_000))
            })
            .collect();
        StepOutcome::passed_with(index, name, sent)
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn layout_modes_index_and_a_fresh_start_that_spares_the_rest_of_the_folder() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("curl");
        std::fs::create_dir_all(out.join("mine")).unwrap();
        std::fs::write(out.join("notes.txt"), "keep").unwrap();
        let env = environment(root.path());
        let source = ScenarioSource {
            test_name: "ing-psd2::negative/10-x",
            path: Path::new("scenarios/ing-psd2/negative/10-x.yaml"),
            environment: "embedded",
            certificates: &[],
        };
        let mut redactor = Redactor::new();
        redactor.add_secret("app_token", "tok-123456");

        let (mut export, cleared) = CurlDir::start(&out);
        cleared.unwrap();
        let one = export
            .record(&source, &env, &step(0, "Get a token", 1, b"a=1"), &redactor)
            .unwrap();
        let three = export
            .record(&source, &env, &step(4, "poll", 3, b""), &redactor)
            .unwrap();
        let none = export
            .record(&source, &env, &step(5, "consent", 0, b""), &redactor)
            .unwrap();
        assert!(none.is_empty());
        let folder = out.join("ing-psd2--negative__10-x");
        assert_eq!(one[0].path, folder.join("01-get-a-token.sh"));
        let paths: Vec<PathBuf> = three.iter().map(|w| w.path.clone()).collect();
        assert_eq!(
            paths,
            (1..=3)
                .map(|a| folder.join(format!("05-poll-a{a}.sh")))
                .collect::<Vec<_>>()
        );
        assert_eq!(
            std::fs::read(folder.join("01-get-a-token.body")).unwrap(),
            b"a=1"
        );
        assert!(!folder.join("05-poll-a1.body").exists(), "no body, no file");
        let ca = std::fs::read_to_string(folder.join(CA_FILE)).unwrap();
        assert_eq!(
            ca,
            "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n"
        );
        let script = std::fs::read_to_string(&one[0].path).unwrap();
        assert!(!script.contains("tok-123456"), "the token is not written");
        assert!(script.contains("--cacert \"$cacert\""));
        assert_eq!(one[0].script.variables[0].name, "OBCONFORM_APP_TOKEN");
        #[cfg(unix)]
        {
            assert_eq!(mode(&one[0].path), 0o700);
            assert_eq!(mode(&folder.join("01-get-a-token.body")), 0o600);
        }
        let index = std::fs::read_to_string(out.join(INDEX)).unwrap();
        let rows: Vec<&str> = index.lines().collect();
        assert_eq!(rows.len(), 5, "{index}");
        assert_eq!(
            rows[1],
            "ing-psd2--negative__10-x/01-get-a-token.sh\ting-psd2::negative/10-x\t1. Get a token\t2024-05-07T10:00:00.000Z\tOBCONFORM_APP_TOKEN"
        );
        let names: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 7, "no temporary files left: {names:?}");

        // The next export removes what this one made, and only that.
        let (_, cleared) = CurlDir::start(&out);
        cleared.unwrap();
        assert!(!folder.exists() && !out.join(INDEX).exists());
        assert!(out.join("mine").is_dir() && out.join("notes.txt").is_file());
    }

    /// The index grows by a row a script: the same file throughout (one written again after
    /// every step would be a new file each time, and cost the square of the steps).
    #[cfg(unix)]
    #[test]
    fn the_index_is_appended_to_not_written_again() {
        use std::os::unix::fs::MetadataExt as _;
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("curl");
        let env = environment(root.path());
        let source = ScenarioSource {
            test_name: "s::a",
            path: Path::new("s/a.yaml"),
            environment: "embedded",
            certificates: &[],
        };
        let (mut export, _) = CurlDir::start(&out);
        let redactor = Redactor::new();
        export
            .record(&source, &env, &step(0, "one", 1, b""), &redactor)
            .unwrap();
        let index = out.join(INDEX);
        let inode = std::fs::metadata(&index).unwrap().ino();
        for n in 1..50 {
            export
                .record(&source, &env, &step(n, "more", 1, b""), &redactor)
                .unwrap();
        }
        assert_eq!(std::fs::metadata(&index).unwrap().ino(), inode);
        assert_eq!(mode(&index), 0o600);
        let text = std::fs::read_to_string(&index).unwrap();
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows.len(), 51, "the header and a row a script");
        assert_eq!(format!("{}\n", rows[0]), INDEX_HEADER);
        assert!(
            rows[50].starts_with("s--a/50-more.sh\ts::a\t50. more\t"),
            "{}",
            rows[50]
        );
    }

    #[test]
    fn a_failed_write_names_the_path() {
        let root = tempfile::tempdir().unwrap();
        let env = environment(root.path());
        // A file where the scenario's folder should be.
        std::fs::write(root.path().join("s"), "").unwrap();
        let source = ScenarioSource {
            test_name: "s",
            path: Path::new("s.yaml"),
            environment: "e",
            certificates: &[],
        };
        let (mut export, _) = CurlDir::start(root.path());
        let e = export
            .record(&source, &env, &step(0, "a", 1, b""), &Redactor::new())
            .unwrap_err();
        assert!(e.path.starts_with(root.path().join("s")), "{e}");
    }
}
