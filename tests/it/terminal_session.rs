//! What a person sees at a terminal: the binary runs in a pseudo-terminal (util-linux `script`),
//! so it draws its progress bar and colours its verdicts — and with `NO_COLOR` set, no colour at
//! all. The screen is compared with escapes stripped, as a person reads it.

use std::path::Path;
use std::process::Command;

struct Screen {
    code: Option<i32>,
    /// Everything written to the terminal, escapes included.
    raw: String,
}

impl Screen {
    /// The lines as a person reads them: escapes and bar redraws removed.
    fn text(&self) -> String {
        let no_escapes = regex::Regex::new(r"\x1b\[[0-9;?]*[A-Za-z]")
            .unwrap()
            .replace_all(&self.raw, "");
        no_escapes
            .split('\n')
            // A pty ends lines with CR LF; a bar redraw returns the cursor with CR first.
            .map(|line| {
                let line = line.trim_end_matches('\r');
                line.rsplit('\r').next().unwrap_or("").trim_end()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `obconform ARGS` in a pseudo-terminal (outside CI, so the console behaves as on a desk).
fn in_terminal(args: &str, env: &[(&str, &str)]) -> Screen {
    let command = format!("{} {args}", env!("CARGO_BIN_EXE_obconform"));
    let mut script = Command::new("script");
    script
        .args(["-qefc", &command, "/dev/null"])
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .env_remove("CI")
        .env_remove("NO_COLOR")
        .env("TERM", "xterm");
    for (name, value) in env {
        script.env(name, value);
    }
    let out = script.output().expect("util-linux `script` runs");
    Screen {
        code: out.status.code(),
        raw: String::from_utf8_lossy(&out.stdout).into_owned(),
    }
}

#[test]
fn a_terminal_gets_a_progress_bar_and_coloured_verdicts() {
    let out = tempfile::tempdir().unwrap();
    let args = format!(
        "run scenarios/ing-psd2/02-application-metadata.yaml --no-snapshots --out {}",
        out.path().display()
    );
    let screen = in_terminal(&args, &[]);
    assert_eq!(screen.code, Some(0), "{}", screen.raw);
    assert!(screen.raw.contains("\x1b[32mPASS\x1b[0m"), "{}", screen.raw);
    assert!(
        screen.raw.contains("0/1 scenarios"),
        "the bar: {}",
        screen.raw
    );
    let text = screen.text();
    for line in [
        "ing-psd2::02-application-metadata — Application metadata with an mTLS-only application access token (guide step 2)",
        "  ok: 3 steps passed, 0 failed, 0 skipped",
        "scenarios: 1 passed, 0 failed (1 in",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    assert!(
        text.lines()
            .any(|l| l.starts_with("  PASS  1. mTLS-only application access token")),
        "{text}"
    );

    let screen = in_terminal(&args, &[("NO_COLOR", "1")]);
    assert_eq!(screen.code, Some(0), "{}", screen.raw);
    assert!(!screen.raw.contains("\x1b[3"), "no colour: {}", screen.raw);
    assert!(screen.text().contains("  PASS  1."), "{}", screen.raw);
}

#[test]
fn a_failure_is_red_at_a_terminal_and_plain_in_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::write(
        dir.path(),
        "s/fails.yaml",
        &crate::common::failing_scenario("fails", "second", "trailing-lf"),
    );
    let environments = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/environments.yaml");
    let args = format!(
        "run {} --environments {} --no-snapshots --out {}",
        dir.path().join("s").display(),
        environments.display(),
        dir.path().join("out").display()
    );
    let screen = in_terminal(&args, &[]);
    assert_eq!(screen.code, Some(1), "{}", screen.raw);
    assert!(screen.raw.contains("\x1b[31mFAIL\x1b[0m"), "{}", screen.raw);
    assert!(screen.raw.contains("\x1b[33m⚑\x1b[0m"), "{}", screen.raw);

    let piped = crate::common::obconform(&args.split_whitespace().collect::<Vec<_>>(), dir.path());
    assert_eq!(piped.code, 1, "{piped}");
    assert!(!piped.stdout.contains('\x1b'), "{piped}");
    assert!(piped.stdout.contains("  FAIL  2."), "{piped}");
}
