//! `obconform run --curl DIR`: a runnable curl script for each request the run sends, written as
//! each step finishes; trouble writing is a warning, said once, that never stops the run.

use super::write_warnings::WriteWarnings;
use crate::archive::ScenarioSource;
use crate::environment::ActiveEnvironment;
use crate::redact::Redactor;
use crate::report::curl::files::CurlDir;
use crate::run::events::{Event, Reporter};
use crate::runner::StepOutcome;
use std::path::Path;

pub struct CurlExport {
    export: CurlDir,
    written: usize,
    warnings: WriteWarnings,
}

impl CurlExport {
    /// Starts the export under `dir` (removing the scenario folders an earlier export made there).
    pub fn start(dir: &Path) -> CurlExport {
        let (export, cleared) = CurlDir::start(dir);
        let run = CurlExport {
            export,
            written: 0,
            warnings: WriteWarnings::new("curl export"),
        };
        if let Err(e) = cleared {
            run.warnings
                .warn(&format!("cannot remove the previous curl export: {e}"));
        }
        run
    }

    /// Writes a script for each request `step` sent (none for a step that sent nothing).
    pub fn step(
        &mut self,
        source: &ScenarioSource<'_>,
        env: &ActiveEnvironment,
        step: &StepOutcome,
        redactor: &Redactor,
    ) {
        match self.export.record(source, env, step, redactor) {
            Ok(written) => self.written += written.len(),
            Err(e) => self
                .warnings
                .warn(&format!("cannot write the curl export: {e}")),
        }
    }

    /// The closing line for the console.
    pub fn summary(&self) -> String {
        format!(
            "curl: {} scripts under {} (secrets from environment variables: see each script's header){}",
            self.written,
            self.export.dir().display(),
            self.warnings.summary_suffix()
        )
    }
}

impl Reporter for CurlExport {
    fn on(&mut self, event: &Event<'_>) {
        if let Event::StepFinished {
            source,
            env,
            step,
            redactor,
        } = event
        {
            self.step(source, env, step, redactor);
        }
    }

    fn finish(&mut self) -> Result<Option<String>, String> {
        Ok(Some(self.summary()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environment::active::Trust;
    use crate::environment::model::EnvironmentKind;
    use crate::runner::SentRequest;
    use obconform_core::wire::HttpRequest;
    use std::time::{Duration, SystemTime};

    fn environment() -> ActiveEnvironment {
        ActiveEnvironment {
            name: "e".into(),
            kind: EnvironmentKind::Sandbox,
            api: "https://h".into(),
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
            trust: Trust::default(),
            insecure: false,
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(1),
            contract_setup: Default::default(),
            contract: None,
            contract_note: None,
            bank_ca: Vec::new(),
        }
    }

    fn step(sent: usize) -> StepOutcome {
        let sent = (0..sent)
            .map(|_| {
                let request = HttpRequest {
                    method: "GET".into(),
                    url: "https://h/x".into(),
                    headers: vec![],
                    body: vec![],
                };
                SentRequest::answered_200(request, SystemTime::now())
            })
            .collect();
        StepOutcome::passed_with(0, "a step", sent)
    }

    #[test]
    fn scripts_are_counted_and_write_errors_only_counted_after_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let source = ScenarioSource {
            test_name: "s::t",
            path: Path::new("t.yaml"),
            environment: "e",
            certificates: &[],
        };
        let mut export = CurlExport::start(dir.path());
        export.step(&source, &environment(), &step(2), &Redactor::new());
        export.step(&source, &environment(), &step(0), &Redactor::new());
        assert!(
            export.summary().starts_with("curl: 2 scripts under "),
            "{}",
            export.summary()
        );

        // A file where the export folder should be: every write fails, the first is the warning.
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        let mut export = CurlExport::start(&file);
        export.step(&source, &environment(), &step(1), &Redactor::new());
        export.step(&source, &environment(), &step(1), &Redactor::new());
        assert!(
            export
                .summary()
                .ends_with("; 2 more curl export writes failed"),
            "{}",
            export.summary()
        );
    }
}
