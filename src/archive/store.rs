//! Where a run's requests are archived: `DIR/requests/<scenario>/<NN>-<step>.http` and its
//! `.json` sidecar, each written atomically (a temporary file renamed) and private (0600).

use super::http_file;
use super::redact::redact_with;
use super::sidecar::{Sidecar, rfc3339};
use crate::runner::StepOutcome;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The archive of one run.
#[derive(Debug, Clone)]
pub struct Archive {
    requests: PathBuf,
}

/// The scenario a step belongs to, as the sidecars name it.
#[derive(Debug, Clone, Copy)]
pub struct ScenarioSource<'a> {
    /// `system::file-stem` (`ing-psd2::negative/10-token-mode`).
    pub test_name: &'a str,
    pub path: &'a Path,
    pub environment: &'a str,
    /// PEM of each certificate the environment presents or signs with (public): the sidecars
    /// carry them so `explain` needs no `--cert` for an archived request.
    pub certificates: &'a [String],
}

#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct ArchiveError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// The file that marks `DIR/requests/` as made by obconform: only a marked folder is removed
/// when the next run starts.
pub const MARKER: &str = ".obconform-requests";

/// Why `out/requests` must not be touched: it exists, is not empty and has no marker (someone
/// else's folder, or a file). `None` when the archive may start there.
pub fn refusal(out: &Path) -> Option<String> {
    let requests = out.join("requests");
    if !ours_or_empty(&requests) {
        return Some(format!(
            "{} was not made by obconform (no {MARKER} marker in it); the request archive \
             removes only a folder it made: move it away or choose another --out",
            requests.display()
        ));
    }
    None
}

/// `path` is absent, an empty folder, or a folder with the marker.
fn ours_or_empty(path: &Path) -> bool {
    match std::fs::symlink_metadata(path) {
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        Ok(meta) if meta.is_dir() => {
            path.join(MARKER).is_file()
                || std::fs::read_dir(path).is_ok_and(|mut entries| entries.next().is_none())
        }
        Ok(_) => false,
    }
}

impl Archive {
    /// The archive under `out`, with the `requests/` folder of an earlier run removed when it
    /// carries the marker (nothing else in `out` is touched; an unmarked folder is left alone
    /// and reported). The archive is usable even when the removal failed: files are then
    /// overwritten one by one.
    pub fn start(out: &Path) -> (Archive, Result<(), ArchiveError>) {
        let requests = out.join("requests");
        let fail = |source| ArchiveError {
            path: requests.clone(),
            source,
        };
        let cleared = if let Some(why) = refusal(out) {
            Err(fail(std::io::Error::other(why)))
        } else {
            match std::fs::remove_dir_all(&requests) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(fail(e)),
                _ => write_private(
                    &requests.join(MARKER),
                    b"made by obconform run: the next run with this --out removes this folder\n",
                ),
            }
        };
        (Archive { requests }, cleared)
    }

    /// `DIR/requests`.
    pub fn dir(&self) -> &Path {
        &self.requests
    }

    /// Writes every request the step sent (redacted) with its sidecar; the `.http` paths written.
    /// All are attempted; the first failure is returned.
    pub fn record(
        &self,
        source: &ScenarioSource<'_>,
        step: &StepOutcome,
        known_secrets: &[(&str, &str)],
    ) -> Result<Vec<PathBuf>, ArchiveError> {
        let dir = self.requests.join(source.folder_name());
        let attempts = step.sent.len();
        let mut written = Vec::with_capacity(attempts);
        let mut first_error = None;
        for (i, sent) in step.sent.iter().enumerate() {
            let stem = attempt_stem(step, i);
            let sidecar = Sidecar {
                scenario: source.path.display().to_string(),
                step: step.name.clone(),
                environment: source.environment.to_string(),
                sent_at: rfc3339(sent.sent_at),
                // The step's exchange is its last: earlier attempts' answers are not kept.
                status: (i + 1 == attempts)
                    .then(|| step.exchange.as_ref().map(|x| x.response.status))
                    .flatten(),
                flow: sent.flow.clone(),
                certificates: source.certificates.to_vec(),
            };
            let http = dir.join(format!("{stem}.http"));
            let json = dir.join(format!("{stem}.json"));
            let result = write_private(
                &http,
                &http_file::format(&redact_with(&sent.request, known_secrets)),
            )
            .and_then(|()| {
                let text = serde_json::to_vec_pretty(&sidecar).map_err(|e| ArchiveError {
                    path: json.clone(),
                    source: std::io::Error::other(e),
                })?;
                write_private(&json, &text)
            });
            match result {
                Ok(()) => written.push(http),
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
}

impl ScenarioSource<'_> {
    /// The scenario's folder in the archive and the curl export (`/` of the file stem as `__`).
    pub fn folder_name(&self) -> String {
        // No `:` — curl reads `--cert a:b` as a certificate and its passphrase — and no `/`.
        self.test_name
            .replace("::", "--")
            .replace(':', "-")
            .replace('/', "__")
    }
}

/// `03-customer-access-token` for a step's request, `-a2` added for a retry's second attempt.
pub fn attempt_stem(step: &StepOutcome, attempt: usize) -> String {
    let suffix = if step.sent.len() > 1 {
        format!("-a{}", attempt + 1)
    } else {
        String::new()
    };
    format!("{:02}-{}{suffix}", step.index + 1, slug(&step.name))
}

/// `mTLS-only application access token` → `mtls-only-application-access-token` (at most 60
/// characters, never empty).
pub fn slug(name: &str) -> String {
    let words: Vec<String> = name
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    let mut slug = String::new();
    for word in words {
        if !slug.is_empty() && slug.len() + 1 + word.len() > 60 {
            break;
        }
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.push_str(&word[..word.len().min(60)]);
    }
    if slug.is_empty() {
        "step".to_string()
    } else {
        slug
    }
}

/// Writes `bytes` to `path` atomically with mode 0600 (the files hold signed requests).
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ArchiveError> {
    write_atomic(path, bytes, 0o600)
}

/// Writes `bytes` to `path` through a temporary file in the same folder, renamed into place, so
/// a reader never sees half a file; `mode` on unix (0600 private, 0700 a private script).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), ArchiveError> {
    let fail = |at: &Path, source| ArchiveError {
        path: at.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| fail(dir, e))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = open_with_mode(&temp, mode)
        .and_then(|mut file| file.write_all(bytes))
        .map_err(|e| fail(&temp, e))
        .and_then(|()| std::fs::rename(&temp, path).map_err(|e| fail(path, e)));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// `path` opened for writing (created, or emptied), with `mode` set outright on unix.
pub(crate) fn open_with_mode(path: &Path, mode: u32) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        options.mode(mode);
        let file = options.open(path)?;
        // `mode` only applies to a new file (and through the umask); set it outright.
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        Ok(file)
    }
    #[cfg(not(unix))]
    {
        let _ = mode;
        options.open(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::SentRequest;
    use obconform_core::wire::HttpRequest;
    use std::time::{Duration, UNIX_EPOCH};

    fn step(index: usize, name: &str, attempts: usize) -> StepOutcome {
        let sent = (0..attempts)
            .map(|i| {
                let request = HttpRequest {
                    method: "GET".into(),
                    url: format!("https://h/poll?n={i}"),
                    headers: vec![("Authorization".into(), "Bearer tok-123456".into())],
                    body: Vec::new(),
                };
                let sent_at = UNIX_EPOCH + Duration::from_secs(1_715_076_000 + i as u64);
                SentRequest::answered_200(request, sent_at)
            })
            .collect();
        StepOutcome::passed_with(index, name, sent)
    }

    #[test]
    fn slugs_are_short_lowercase_words() {
        assert_eq!(
            slug("mTLS-only application access token"),
            "mtls-only-application-access-token"
        );
        assert_eq!(slug("  «»  "), "step");
        assert!(slug(&"word ".repeat(40)).len() <= 60);
        assert_eq!(slug(&"x".repeat(100)).len(), 60);
    }

    #[test]
    fn layout_retry_suffixes_sidecars_and_a_fresh_start() {
        let out = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(out.path().join("requests/old")).unwrap();
        std::fs::write(out.path().join("requests").join(MARKER), "").unwrap();
        std::fs::write(out.path().join("keep.txt"), "mine").unwrap();
        let (archive, cleared) = Archive::start(out.path());
        cleared.unwrap();
        assert!(!out.path().join("requests/old").exists());
        assert!(
            out.path().join("keep.txt").exists(),
            "only requests/ is removed"
        );

        let source = ScenarioSource {
            test_name: "ing-psd2::negative/10-x",
            path: Path::new("scenarios/ing-psd2/negative/10-x.yaml"),
            environment: "embedded",
            certificates: &[],
        };
        let one = archive
            .record(&source, &step(0, "Get a token", 1), &[])
            .unwrap();
        let three = archive.record(&source, &step(4, "poll", 3), &[]).unwrap();
        let dir = out.path().join("requests/ing-psd2--negative__10-x");
        assert_eq!(one, vec![dir.join("01-get-a-token.http")]);
        assert_eq!(
            three,
            (1..=3)
                .map(|a| dir.join(format!("05-poll-a{a}.http")))
                .collect::<Vec<_>>()
        );
        let http = std::fs::read_to_string(&one[0]).unwrap();
        assert!(!http.contains("tok-123456"), "{http}");
        let sidecar: Sidecar =
            serde_json::from_slice(&std::fs::read(dir.join("05-poll-a2.json")).unwrap()).unwrap();
        assert_eq!(sidecar.sent_at, "2024-05-07T10:00:01.000Z");
        assert_eq!(sidecar.step, "poll");
        assert_eq!(sidecar.status, None);
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 8, "no temporary files left: {names:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&one[0]).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn an_unmarked_requests_folder_is_left_alone() {
        let out = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(out.path().join("requests")).unwrap();
        std::fs::write(out.path().join("requests/precious.txt"), "mine").unwrap();
        assert!(
            refusal(out.path())
                .unwrap()
                .contains("not made by obconform")
        );
        let (_, cleared) = Archive::start(out.path());
        assert!(cleared.is_err());
        assert!(out.path().join("requests/precious.txt").exists());
    }

    #[test]
    fn a_failed_write_names_the_path() {
        let out = tempfile::tempdir().unwrap();
        let (archive, _) = Archive::start(out.path());
        // A file where the scenario's folder should be.
        std::fs::create_dir_all(out.path().join("requests")).unwrap();
        std::fs::write(out.path().join("requests/s"), "").unwrap();
        let source = ScenarioSource {
            test_name: "s",
            path: Path::new("s.yaml"),
            environment: "e",
            certificates: &[],
        };
        let e = archive.record(&source, &step(0, "a", 1), &[]).unwrap_err();
        assert!(e.to_string().contains("requests/s"), "{e}");
    }
}
