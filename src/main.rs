//! Thin entry point: parse the command line, call the library, map the outcome to an exit code.

use clap::Parser;
use obconform::cli::{
    Cli, Command, Outcome, ReportCommand, certs, explain, manual, report_merge, run, sandbox, sign,
};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    obconform::install_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(Outcome::UsageError.code());
        }
    };
    let outcome = match cli.command {
        Command::Run(args) => runtime.block_on(run::run(*args)),
        Command::Sandbox(args) => runtime.block_on(sandbox::serve(args)),
        Command::Sign(args) => sign::sign_command(*args),
        Command::Explain(args) => explain::explain_command(args),
        Command::Certs { command } => certs::certs_command(command),
        Command::Report {
            command: ReportCommand::Merge(args),
        } => report_merge::merge_command(args),
        Command::Schema {
            environments,
            steps,
        } => print_schema(environments, steps),
        Command::Completions { shell } => manual::completions_command(shell),
        Command::Man => manual::man_command(),
    };
    ExitCode::from(outcome.code())
}

fn print_schema(environments: bool, steps: bool) -> Outcome {
    use obconform::scenario::schema;
    let schema = match (environments, steps) {
        (true, _) => schema::environments_schema(),
        (_, true) => schema::steps_file_schema(),
        _ => schema::scenario_schema(),
    };
    match serde_json::to_string_pretty(&schema) {
        Ok(text) => {
            println!("{text}");
            Outcome::Success
        }
        Err(e) => {
            obconform::error_chain::print_error(e);
            Outcome::UsageError
        }
    }
}
