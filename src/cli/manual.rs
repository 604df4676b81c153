//! `obconform completions SHELL` and `obconform man`: both generated from the clap definitions,
//! so they can never disagree with what the parser accepts.

use super::{Cli, Outcome};
use clap::CommandFactory as _;
use std::io::Write;

/// The completion script for `shell`, on stdout.
pub fn completions_command(shell: clap_complete::Shell) -> Outcome {
    let mut cli = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cli, "obconform", &mut out);
    emit(&out)
}

/// One roff page, obconform(1): the top-level page, then a section per (sub)command with its
/// synopsis, description and options — one page to install, every flag on it.
pub fn man_command() -> Outcome {
    match man_page() {
        Ok(page) => emit(&page),
        Err(e) => {
            crate::error_chain::print_error(format!("cannot render the manual page: {e}"));
            Outcome::UsageError
        }
    }
}

pub fn man_page() -> std::io::Result<Vec<u8>> {
    let mut cli = Cli::command().disable_help_subcommand(true);
    // Gives every subcommand its full name (`obconform certs inspect`) for the synopses.
    cli.build();
    let mut top = Vec::new();
    clap_mangen::Man::new(cli.clone()).render(&mut top)?;
    let mut page = single_page(&String::from_utf8_lossy(&top)).into_bytes();
    for command in cli.get_subcommands() {
        command_sections(command, &mut page)?;
    }
    Ok(page)
}

/// The top-level page made the head of a single page: its `.TH` line first (the renderer puts its
/// apostrophe string definitions before it, and `whatis`/`lexgrog` expect a page to open with
/// `.TH`; the definitions still come before any text using them), subcommands named, not linked.
fn single_page(page: &str) -> String {
    let lines: Vec<&str> = page.lines().collect();
    let Some(th) = lines.iter().position(|l| l.starts_with(".TH ")) else {
        return page.to_string();
    };
    let mut out = format!("{}\n", lines[th]);
    for (i, line) in lines.iter().enumerate() {
        if i == th {
            continue;
        }
        // The subcommand list points at obconform-run(1) and the like; their sections are in
        // this page instead.
        match line
            .strip_prefix("obconform\\-")
            .and_then(|l| l.strip_suffix("(1)"))
        {
            Some(name) => out.push_str(&format!("\\fBobconform {name}\\fR (below)")),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// `.SH "OBCONFORM RUN"` and the command's own sections demoted to `.SS`, then its subcommands.
fn command_sections(command: &clap::Command, page: &mut Vec<u8>) -> std::io::Result<()> {
    let name = command.get_bin_name().unwrap_or(command.get_name());
    writeln!(page, ".SH \"{}\"", name.to_uppercase())?;
    let man = clap_mangen::Man::new(command.clone());
    let mut sections = Vec::new();
    man.render_synopsis_section(&mut sections)?;
    man.render_description_section(&mut sections)?;
    if command.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut sections)?;
    }
    let sections = String::from_utf8_lossy(&sections);
    for line in sections.lines() {
        match line.strip_prefix(".SH ") {
            Some(heading) => writeln!(page, ".SS {heading}")?,
            None => writeln!(page, "{line}")?,
        }
    }
    for sub in command.get_subcommands() {
        command_sections(sub, page)?;
    }
    Ok(())
}

/// Writes to stdout; a closed pipe (`| head`) is no error worth a panic.
fn emit(bytes: &[u8]) -> Outcome {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Outcome::Success,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Outcome::Success,
        Err(e) => {
            crate::error_chain::print_error(format!("cannot write to stdout: {e}"));
            Outcome::UsageError
        }
    }
}
