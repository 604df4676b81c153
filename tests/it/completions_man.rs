//! `obconform completions SHELL` and `obconform man`: generated from the clap definitions, so
//! every subcommand and every `run` flag the parser knows is in them.

use crate::common::obconform;
use clap::CommandFactory as _;
use obconform::cli::Cli;

fn subcommands() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect()
}

#[test]
fn every_shell_gets_a_script_and_bash_completes_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = obconform(&["completions", shell], dir.path());
        assert_eq!(out.code, 0, "{shell}: {out}");
        assert!(out.stdout.contains("obconform"), "{shell}: {out}");
    }
    let bash = obconform(&["completions", "bash"], dir.path()).stdout;
    let names = subcommands();
    assert!(names.len() >= 9, "{names:?}");
    for name in &names {
        // The top level's candidate list holds every subcommand as a word.
        let listed = bash
            .lines()
            .filter(|l| l.contains("opts=\""))
            .any(|l| l.split(['"', ' ']).any(|w| w == name));
        assert!(listed, "`{name}` missing from the bash completion");
    }
    let bad = obconform(&["completions", "tcsh"], dir.path());
    assert_eq!(bad.code, 2, "{bad}");
    assert!(bad.stderr.contains("possible values"), "{bad}");
    bad.assert_no_panic();
}

#[test]
fn the_man_page_is_roff_naming_every_subcommand_and_every_run_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = obconform(&["man"], dir.path());
    assert_eq!(out.code, 0, "{out}");
    let page = out.stdout;
    assert!(page.starts_with(".TH "), "{}", &page[..page.len().min(200)]);
    for name in subcommands() {
        let heading = format!(".SH \"OBCONFORM {}\"", name.to_uppercase());
        assert!(page.contains(&heading), "no section `{heading}`");
    }
    let command = Cli::command();
    let run = command.find_subcommand("run").unwrap();
    let mut flags = 0;
    for long in run.get_arguments().filter_map(|a| a.get_long()) {
        // roff escapes every hyphen.
        let flag = format!("\\fB\\-\\-{}\\fR", long.replace('-', "\\-"));
        assert!(page.contains(&flag), "run flag --{long} missing");
        flags += 1;
    }
    assert!(flags > 20, "{flags} run flags");
}
