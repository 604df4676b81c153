//! The report of one `obconform run`, gathered as scenarios finish and written with `--report`.

use crate::archive::sidecar::rfc3339;
use crate::environment::ActiveEnvironment;
use crate::report::coverage::CoverageTally;
use crate::report::files::write_report;
use crate::report::model::{
    EnvironmentReport, FORMAT, Partition, RunReport, ScenarioReport, SkippedScenario, StepReport,
    Summary, millis,
};
use crate::run::events::{Event, Reporter};
use crate::runner::ScenarioOutcome;
use crate::scenario::LoadedScenario;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

pub struct ReportBuilder {
    report: RunReport,
    started: Instant,
    coverage: CoverageTally,
}

impl ReportBuilder {
    pub fn new(partition: Option<Partition>) -> ReportBuilder {
        ReportBuilder {
            report: RunReport {
                format: FORMAT,
                tool: format!("obconform {}", env!("CARGO_PKG_VERSION")),
                started_at: rfc3339(SystemTime::now()),
                finished_at: String::new(),
                duration_ms: 0,
                partitions: partition.into_iter().collect(),
                environments: Vec::new(),
                scenarios: Vec::new(),
                skipped: Vec::new(),
                summary: Summary::default(),
                coverage: Vec::new(),
            },
            started: Instant::now(),
            coverage: CoverageTally::default(),
        }
    }

    /// An environment the run uses, with its certificates as of now.
    pub fn environment(&mut self, env: &ActiveEnvironment, file: &Path) {
        let now = chrono::Utc::now();
        self.report
            .environments
            .push(EnvironmentReport::of(env, file, now));
    }

    pub fn skipped(&mut self, test_name: String, reason: String) {
        self.report
            .skipped
            .push(SkippedScenario { test_name, reason });
    }

    /// A finished scenario; `order` is its place in the whole (unpartitioned) run.
    pub fn scenario(
        &mut self,
        order: usize,
        loaded: &LoadedScenario,
        environment: &str,
        outcome: &ScenarioOutcome,
        elapsed: Duration,
    ) {
        self.report.scenarios.push(ScenarioReport {
            order,
            test_name: outcome.test_name.clone(),
            system: loaded.scenario.system.clone(),
            title: outcome.title.clone(),
            file: loaded.path.display().to_string(),
            environment: environment.to_string(),
            passed: outcome.passed(),
            elapsed_ms: millis(elapsed),
            steps: outcome
                .steps
                .iter()
                .map(|step| StepReport::of(step, &loaded.path, &outcome.redactor))
                .collect(),
        });
    }

    pub fn finish(mut self) -> RunReport {
        self.report.finished_at = rfc3339(SystemTime::now());
        self.report.duration_ms = millis(self.started.elapsed());
        self.report.coverage = self.coverage.reports();
        self.report.finish();
        self.report
    }
}

/// `--report DIR`: the run's report, gathered from the events and written when the run is over.
pub struct ReportFiles {
    dir: PathBuf,
    builder: Option<ReportBuilder>,
}

impl ReportFiles {
    pub fn new(dir: &Path, partition: Option<Partition>) -> ReportFiles {
        ReportFiles {
            dir: dir.to_path_buf(),
            builder: Some(ReportBuilder::new(partition)),
        }
    }
}

impl Reporter for ReportFiles {
    fn on(&mut self, event: &Event<'_>) {
        let Some(builder) = &mut self.builder else {
            return;
        };
        builder.coverage.record(event);
        match *event {
            Event::Skipped { test_name, reason } => {
                builder.skipped(test_name.to_string(), reason.to_string())
            }
            Event::EnvironmentStarted { env, file } => builder.environment(env, file),
            Event::ScenarioFinished {
                scenario,
                order,
                environment,
                outcome,
                elapsed,
            } => builder.scenario(order, scenario, environment, outcome, elapsed),
            _ => {}
        }
    }

    fn finish(&mut self) -> Result<Option<String>, String> {
        let Some(builder) = self.builder.take() else {
            return Ok(None);
        };
        let paths = write_report(&self.dir, &builder.finish()).map_err(|e| e.to_string())?;
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        Ok(Some(format!("report: {}", shown.join(", "))))
    }
}
