//! Running one scenario: for each step render → sign → send (or consent) → check, in order.

use crate::check::conformance::{ContractCall, ContractVerdict, check_schema, judge_exchange};
use crate::check::expect::{RenderFn, evaluate};
use crate::check::failure::{Failure, FailureKind};
use crate::check::response_signature::check_response_signature;
use crate::check::server_certificate::check_server_certificate;
use crate::check::snapshot_file::{SnapshotMode, check_snapshot};
use crate::check::{capture::capture, snapshot};
use crate::context::{insert_callbacks, render_vars, step_data, template_data};
use crate::environment::ActiveEnvironment;
use crate::environment::model::EnvironmentKind;
use crate::http::{DEFAULT_TLS_ROLE, Exchange, Transport};
use crate::pacing::Pacing;
use crate::plan::plan_request;
use crate::put_guard;
use crate::redact::{Redactor, looks_secret};
use crate::scenario::LoadedScenario;
use crate::scenario::located::Located;
use crate::scenario::model::SnapshotKind;
use crate::scenario::model::{Callback as CallbackSpec, Request, Retry, Step};
use crate::steps::authorize::{self, CodeSupply, plan_authorize};
use crate::steps::callback::{Callbacks, as_message};
use crate::steps::mutate;
use crate::steps::sign::{SignInputs, SignedRequest, key_role, sign};
use crate::template::{Renderer, as_text};
use obconform_core::catalogue::DIAGNOSIS_HEADER;
use obconform_core::diagnose::{self, Evidence, Finding, FlowContext, diagnose};
use obconform_core::sign::SigningKey;
use obconform_core::sign::message::{Message, request_target_of_url};
use obconform_core::wire::{HttpRequest, HttpResponse, path_of};
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Whether and where responses are snapshot-checked.
#[derive(Debug, Clone)]
pub enum Snapshots {
    /// Check against `<root>/<environment>/<system>/`; `mode` says whether new or changed
    /// snapshots are accepted.
    Check {
        root: PathBuf,
        mode: SnapshotMode,
    },
    Skip,
}

/// What a run needs besides the scenario.
pub struct RunContext<'a> {
    pub env: &'a ActiveEnvironment,
    pub transport: &'a Transport,
    pub renderer: &'a Renderer,
    pub snapshots: Snapshots,
    /// Where `authorize` steps get a code when a person has to consent.
    pub codes: &'a CodeSupply,
    /// The steps that run (`--from-step`, `--to-step`); the others are reported not applicable.
    pub steps: StepRange,
    /// How retries and callback steps wait: in real time, or on the embedded sandbox's clock.
    pub pacing: &'a Pacing,
}

/// Steps `from..=to`, numbered from 1 as the console shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepRange {
    pub from: usize,
    pub to: usize,
}

impl Default for StepRange {
    fn default() -> Self {
        StepRange {
            from: 1,
            to: usize::MAX,
        }
    }
}

impl StepRange {
    fn contains(&self, number: usize) -> bool {
        (self.from..=self.to).contains(&number)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    Failed,
    /// Not run because an earlier step failed.
    Skipped,
    /// Not run on this kind of environment (`skip_on`); the reason is the step's one failure text.
    NotApplicable,
}

#[derive(Debug, Clone)]
pub struct StepOutcome {
    pub index: usize,
    pub name: String,
    pub verdict: Verdict,
    pub failures: Vec<Failure>,
    pub exchange: Option<Exchange>,
    pub elapsed: Duration,
    /// Every request the step sent (one per attempt of a `retry`), as it went on the wire.
    pub sent: Vec<SentRequest>,
    /// The troubleshooting engine's findings on the last request sent, when the bank refused it
    /// or the step expects a diagnosis.
    pub diagnosis: Vec<Finding>,
    /// Contract violations reported without failing the step (`contract.mode: warn`).
    pub warnings: Vec<Failure>,
    /// Which operation of the environment's contract the step's exchange was.
    pub contract: Option<ContractCall>,
    /// What passed checks established, for the reports (a verified response signature).
    pub notes: Vec<String>,
}

/// A request as it went on the wire, with what `obconform explain` needs to judge it later.
#[derive(Debug, Clone)]
pub struct SentRequest {
    pub request: HttpRequest,
    pub sent_at: SystemTime,
    /// What the runner knew of the flow (tokens, codes, registration) before sending it.
    pub flow: FlowContext,
    /// What came back to this attempt (the wire log shows every attempt's answer).
    pub response: HttpResponse,
    pub elapsed: Duration,
    /// The certificate role presented in TLS (`tls`, or the step's `tls: new_tls`).
    pub tls_role: String,
}

#[cfg(test)]
impl StepOutcome {
    /// A passed step that sent `sent` (no exchange kept), for unit tests of what is written.
    pub(crate) fn passed_with(index: usize, name: &str, sent: Vec<SentRequest>) -> StepOutcome {
        StepOutcome {
            index,
            name: name.into(),
            verdict: Verdict::Passed,
            failures: Vec::new(),
            exchange: None,
            elapsed: Duration::ZERO,
            sent,
            diagnosis: Vec::new(),
            warnings: Vec::new(),
            contract: None,
            notes: Vec::new(),
        }
    }
}

#[cfg(test)]
impl SentRequest {
    /// A request sent on the `tls` role that got an empty 200 at once, for unit tests.
    pub(crate) fn answered_200(request: HttpRequest, sent_at: SystemTime) -> SentRequest {
        SentRequest {
            request,
            sent_at,
            flow: FlowContext::default(),
            tls_role: DEFAULT_TLS_ROLE.to_string(),
            response: HttpResponse {
                status: 200,
                headers: Vec::new(),
                body: Vec::new(),
            },
            elapsed: Duration::ZERO,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ScenarioOutcome {
    pub test_name: String,
    pub title: String,
    pub steps: Vec<StepOutcome>,
    /// Every secret the scenario learned by its end: reports redact earlier steps with it too (a
    /// value captured in step 3 may have been in step 2's response already).
    pub redactor: Redactor,
}

impl ScenarioOutcome {
    pub fn passed(&self) -> bool {
        self.steps
            .iter()
            .all(|s| matches!(s.verdict, Verdict::Passed | Verdict::NotApplicable))
    }

    /// It failed, and every failure is a request that got no answer (nothing was judged).
    pub fn unreachable(&self) -> bool {
        let failures = || self.steps.iter().flat_map(|s| &s.failures);
        !self.passed()
            && failures().next().is_some()
            && failures()
                .filter(|f| f.kind != FailureKind::NotApplicable)
                .all(|f| f.kind.is_unreachable())
    }
}

/// Runs a scenario that passed `validate`. `on_step` sees each step as it finishes.
pub async fn run_scenario(
    loaded: &LoadedScenario,
    ctx: &RunContext<'_>,
    on_step: &mut dyn FnMut(&StepOutcome, &Redactor),
) -> ScenarioOutcome {
    let scenario = &loaded.scenario;
    let mut redactor = Redactor::with_env_vars(&ctx.env.vars);
    for (name, value, secret) in &ctx.env.command_line_vars {
        if *secret || looks_secret(name) {
            redactor.add_secret(name, value);
        }
    }
    let mut data = template_data(ctx.env);
    // Listeners first: any step (or var) may hand their URLs to the system under test.
    let (callbacks, callback_failure) = match Callbacks::start(loaded).await {
        Ok(callbacks) => (callbacks, None),
        Err(e) => (
            Callbacks::default(),
            Some(vec![Failure::new(FailureKind::Callback, e)]),
        ),
    };
    insert_callbacks(&mut data, callbacks.urls());
    let var_errors = render_vars(loaded, ctx.renderer, &mut data, &mut |name, value| {
        if looks_secret(name) {
            redactor.add_secret(name, value);
        }
    });
    // Validation renders the same vars, so this only fires for a scenario run unvalidated.
    let mut var_failure = (!var_errors.is_empty())
        .then(|| {
            var_errors
                .iter()
                .map(|v| {
                    Failure::new(
                        FailureKind::Variable,
                        format!("variable `{}`: {}", v.name, v.error),
                    )
                })
                .collect::<Vec<_>>()
        })
        .or(callback_failure);

    let mut steps = Vec::with_capacity(scenario.steps.len());
    let mut failed = false;
    // What the run has seen of tokens, codes and the registration, for the engine's flow checks.
    let mut flow = FlowContext::default();
    for (index, step) in scenario.steps.iter().enumerate() {
        let mut outcome = if failed {
            // Later steps depend on the failed step's captures.
            StepOutcome::not_run(index, step, Verdict::Skipped, Vec::new())
        } else if let Some(failures) = var_failure.take() {
            StepOutcome::not_run(index, step, Verdict::Failed, failures)
        } else if !ctx.steps.contains(index + 1) {
            let why = format!(
                "not run: outside --from-step {} / --to-step {}",
                ctx.steps.from,
                ctx.steps.to.min(scenario.steps.len())
            );
            let why = Failure::new(FailureKind::NotApplicable, why);
            StepOutcome::not_run(index, step, Verdict::NotApplicable, vec![why])
        } else if let Some(reason) = step.skip_on.get(ctx.env.kind.name()) {
            let why = format!("not on {}: {}", ctx.env.kind.name(), reason.value);
            let why = Failure::new(FailureKind::NotApplicable, why).at(reason.at);
            StepOutcome::not_run(index, step, Verdict::NotApplicable, vec![why])
        } else {
            let step_ctx = StepContext {
                ctx,
                callbacks: &callbacks,
            };
            run_step(
                loaded,
                index,
                step,
                &step_ctx,
                &mut data,
                &mut redactor,
                &mut flow,
            )
            .await
        };
        if let Some(used) = &step.origin {
            // Positions of a used step's failures are in its steps file.
            for failure in outcome.failures.iter_mut().filter(|f| f.file.is_none()) {
                failure.file = Some(used.file.clone());
            }
        }
        failed |= outcome.verdict == Verdict::Failed;
        on_step(&outcome, &redactor);
        steps.push(outcome);
    }

    ScenarioOutcome {
        test_name: loaded.test_name(),
        title: scenario.name.clone(),
        steps,
        redactor,
    }
}

impl StepOutcome {
    fn not_run(index: usize, step: &Step, verdict: Verdict, failures: Vec<Failure>) -> StepOutcome {
        StepOutcome {
            index,
            name: step.name.value.clone(),
            verdict,
            failures,
            exchange: None,
            elapsed: Duration::ZERO,
            sent: Vec::new(),
            diagnosis: Vec::new(),
            warnings: Vec::new(),
            contract: None,
            notes: Vec::new(),
        }
    }
}

/// What a step runs with: the run's context and the scenario's callback listeners.
struct StepContext<'a, 'b> {
    ctx: &'a RunContext<'b>,
    callbacks: &'a Callbacks,
}

async fn run_step(
    loaded: &LoadedScenario,
    index: usize,
    step: &Step,
    step_ctx: &StepContext<'_, '_>,
    data: &mut serde_json::Map<String, Value>,
    redactor: &mut Redactor,
    flow: &mut FlowContext,
) -> StepOutcome {
    let ctx = step_ctx.ctx;
    let started = Instant::now();
    let name = step.name.value.clone();
    let fail = |failures: Vec<Failure>, exchange: Option<Exchange>| StepOutcome {
        index,
        name: name.clone(),
        verdict: Verdict::Failed,
        failures,
        exchange,
        elapsed: started.elapsed(),
        sent: Vec::new(),
        diagnosis: Vec::new(),
        warnings: Vec::new(),
        contract: None,
        notes: Vec::new(),
    };

    let (current, param_errors) = step_data(data, step, ctx.renderer);
    if !param_errors.is_empty() {
        // Validation renders the same params, so this only fires for a scenario run unvalidated.
        let failures = param_errors
            .iter()
            .map(|e| {
                let failure = Failure::new(
                    FailureKind::Variable,
                    format!("param `{}`: {}", e.name, e.error),
                )
                .at(e.at);
                if e.is_default {
                    failure
                } else {
                    failure.in_file(&loaded.path)
                }
            })
            .collect();
        return fail(failures, None);
    }
    for param in step.origin.iter().flat_map(|used| &used.params) {
        if let Some(Value::String(value)) = current.get(&param.name)
            && looks_secret(&param.name)
        {
            redactor.add_secret(&param.name, value);
        }
    }
    let render = |text: &str| {
        ctx.renderer
            .render(text, &current)
            .map_err(|e| e.to_string())
    };
    // A callback step's checks look at the POST it received, not at our answer to it.
    let mut received: Option<HttpResponse> = None;
    let mut sent: Vec<SentRequest> = Vec::new();
    let tls_role = step
        .tls
        .as_ref()
        .map_or(DEFAULT_TLS_ROLE, |role| role.value.as_str());
    let mut record = |exchange: &Exchange| sent.push(sent_request(exchange, flow, tls_role));
    let obtained = match (&step.request, &step.authorize, &step.callback) {
        (Some(request), _, _) => match &step.retry {
            None => send_request(loaded, request, step, ctx, &current, redactor)
                .await
                .map(|exchange| {
                    record(&exchange);
                    (exchange, Vec::new())
                }),
            Some(retry) => poll(&retry.value, ctx.pacing, &render, &mut record, || {
                send_request(loaded, request, step, ctx, &current, redactor)
            })
            .await
            .map(|(exchange, unmet)| (exchange, unmet.into_iter().collect())),
        },
        (None, Some(authorize), _) => {
            let planned = plan_authorize(authorize, ctx.env, ctx.renderer, &current);
            // Grants support asks authorization-server-url for its reference: a signed call.
            let planned = match planned {
                Ok(mut plan) => match plan.grants.as_mut().and_then(|g| g.server_url.as_mut()) {
                    Some(server_url) => {
                        match sign_for_step(server_url.request.clone(), step, ctx, &current) {
                            Ok((signed, _)) => {
                                *server_url = signed;
                                Ok(Ok(plan))
                            }
                            Err(failures) => Err(failures),
                        }
                    }
                    None => Ok(Ok(plan)),
                },
                Err(e) => Ok(Err(e)),
            };
            match planned {
                Err(failures) => Err(failures),
                Ok(Ok(plan)) => authorize::authorize(&plan, ctx.env, ctx.transport, ctx.codes)
                    .await
                    .map(|(exchange, problems)| {
                        (exchange, Failure::all(FailureKind::Consent, problems))
                    })
                    .map_err(|e| vec![Failure::new(FailureKind::Consent, e)]),
                Ok(Err(e)) => Err(vec![
                    Failure::new(
                        FailureKind::Request,
                        format!("{}:{}: {}", loaded.file_of(step).display(), e.at, e.message),
                    )
                    .at(e.at),
                ]),
            }
        }
        (None, None, Some(callback)) => {
            wait_for_callback(&callback.value, step_ctx, &render, started)
                .await
                .map(|(exchange, message)| {
                    received = Some(message);
                    (exchange, Vec::new())
                })
        }
        (None, None, None) => Err(vec![Failure::new(
            FailureKind::Request,
            "the step has none of `request`, `authorize` and `callback`",
        )]),
    };
    let (exchange, mut failures) = match obtained {
        Ok(x) => x,
        Err(failures) => return fail(failures, None),
    };
    let subject = received.as_ref().unwrap_or(&exchange.response);
    let diagnosis = match sent.last() {
        Some(last) if wants_diagnosis(step, &exchange.response) => diagnose_sent(last, ctx.env),
        _ => Vec::new(),
    };
    flow.observe(
        &exchange.request.request,
        &exchange.response,
        unix_secs(SystemTime::now()),
    );

    // Lines the reports show of a passed check (a verified response signature).
    let mut notes: Vec<String> = Vec::new();
    if let Some(expect) = &step.expect {
        failures.extend(evaluate(expect, subject, &render));
        failures.extend(check_server_certificate(
            &expect.server_certificate,
            exchange.server_certificate.as_deref(),
            chrono::Utc::now(),
            &render,
        ));
        if let Some(limit) = expect.max_time
            && exchange.elapsed > limit
        {
            failures.push(
                Failure::new(
                    FailureKind::Time,
                    format!(
                        "time: expected an answer within {} ms, it took {} ms",
                        limit.as_millis(),
                        exchange.elapsed.as_millis()
                    ),
                )
                .at(step.name.at),
            );
        }
        if let Some(expected) = &expect.diagnosis {
            failures.extend(diagnosis_failure(expected, &diagnosis, &exchange.response));
        }
        if let Some(check) = &expect.response_signature {
            match check_response_signature(subject, &ctx.env.bank_ca, check.at, SystemTime::now()) {
                Ok(line) => notes.push(line),
                Err(failure) => failures.push(failure),
            }
        }
        if let Some(schema) = &expect.schema {
            failures.extend(check_schema(
                &schema.value,
                schema.at,
                ctx.env.contract.as_deref(),
                &loaded.path,
                subject,
            ));
        }
    }
    // Only what the step sent to the bank's API is the contract's business (not a consent
    // page, not a callback the step received). A negative step's request is wrong on purpose:
    // only the bank's answer to it is judged.
    let verdict = match (&step.request, &received) {
        (Some(_), None) => judge_exchange(
            ctx.env.contract.as_deref(),
            &ctx.env.api,
            &exchange.request.request,
            &exchange.response,
            is_negative(step),
        ),
        _ => ContractVerdict::default(),
    };
    // A violation is the step's, not one expectation's: it points at the step.
    let at_step = |f: Failure| f.at(step.name.at);
    failures.extend(verdict.failures.into_iter().map(at_step));
    let contract_warnings: Vec<Failure> = verdict.warnings.into_iter().map(at_step).collect();

    for (var, spec) in step.capture.iter() {
        match capture(&spec.value.source, subject) {
            Ok(value) => {
                if spec.value.secret.unwrap_or_else(|| looks_secret(var)) {
                    redactor.add_secret(var, &as_text(&value));
                }
                data.insert(var.clone(), value);
            }
            Err(e) => failures.push(
                Failure::new(FailureKind::Capture, format!("capture `{var}`: {e}")).at(spec.at),
            ),
        }
    }

    if let (Some(spec), Snapshots::Check { root, mode }) = (&step.snapshot, &ctx.snapshots) {
        let dir = root.join(&ctx.env.name).join(&loaded.scenario.system);
        let name = snapshot::snapshot_name(&loaded.stem(), index, &step.name.value);
        let content = match &received {
            None if spec.kind() == SnapshotKind::Diagnosis => {
                snapshot::diagnosis_snapshot(&exchange, &diagnosis, redactor)
            }
            None => {
                snapshot::response_snapshot(&exchange.response, redactor, spec.extra_redactions())
            }
            Some(message) => {
                let first_line =
                    format!("callback: POST {}", path_of(&exchange.request.request.url));
                snapshot::message_snapshot(&first_line, message, redactor, spec.extra_redactions())
            }
        };
        if let Err(e) = check_snapshot(&dir, &name, &content, &loaded.path, *mode) {
            failures.push(Failure::new(FailureKind::Snapshot, e));
        }
    }

    StepOutcome {
        index,
        name,
        verdict: if failures.is_empty() {
            Verdict::Passed
        } else {
            Verdict::Failed
        },
        failures,
        sent,
        exchange: Some(exchange),
        elapsed: started.elapsed(),
        diagnosis,
        warnings: contract_warnings,
        contract: verdict.call,
        notes,
    }
}

/// A step that mutates its request or expects only refusals sends a wrong request on purpose.
fn is_negative(step: &Step) -> bool {
    !step.mutate.is_empty()
        || step
            .expect
            .as_ref()
            .and_then(|e| e.status.as_ref())
            .is_some_and(|status| status.value.only_errors())
}

/// A request as it went out, with the flow as known before it.
fn sent_request(exchange: &Exchange, flow: &FlowContext, tls_role: &str) -> SentRequest {
    SentRequest {
        request: exchange.request.request.clone(),
        sent_at: SystemTime::now()
            .checked_sub(exchange.elapsed)
            .unwrap_or_else(SystemTime::now),
        flow: flow.clone(),
        response: exchange.response.clone(),
        elapsed: exchange.elapsed,
        tls_role: tls_role.to_string(),
    }
}

/// The engine runs on a refused request, or when the step checks or snapshots its findings.
fn wants_diagnosis(step: &Step, response: &HttpResponse) -> bool {
    response.status >= 400
        || step.expect.as_ref().is_some_and(|e| e.diagnosis.is_some())
        || step
            .snapshot
            .as_ref()
            .is_some_and(|s| s.kind() == SnapshotKind::Diagnosis)
}

/// The engine's findings on a sent request, with every certificate and key of the environment.
fn diagnose_sent(sent: &SentRequest, env: &ActiveEnvironment) -> Vec<Finding> {
    let Ok(target) = request_target_of_url(&sent.request.url) else {
        return Vec::new();
    };
    let (certificates, keys) = env.evidence();
    let evidence = Evidence {
        certificates: &certificates,
        keys: &keys,
        now: sent.sent_at,
        flow: Some(&sent.flow),
    };
    diagnose(&Message::of(&sent.request, &target), &evidence)
}

/// `expect: diagnosis:` against the findings: the same ids, and the embedded sandbox's
/// `X-Obconform-Diagnosis` (when it sent one) agreeing with the engine.
fn diagnosis_failure(
    expected: &[Located<String>],
    findings: &[Finding],
    response: &HttpResponse,
) -> Vec<Failure> {
    let at = expected.first().map(|id| id.at).unwrap_or_default();
    let mut want: Vec<&str> = expected.iter().map(|id| id.value.as_str()).collect();
    let mut got: Vec<&str> = diagnose::ids(findings);
    want.sort_unstable();
    want.dedup();
    got.sort_unstable();
    got.dedup();
    let mut failures = Vec::new();
    if want != got {
        let listed = findings
            .iter()
            .map(|f| format!("{}: {}", f.id, f.what))
            .collect::<Vec<_>>();
        let message = format!(
            "diagnosis: expected [{}], the engine found [{}]{}",
            want.join(", "),
            got.join(", "),
            if listed.is_empty() {
                String::new()
            } else {
                format!(" — {}", listed.join("; "))
            }
        );
        failures.push(
            Failure::new(FailureKind::Diagnosis, message)
                .at(at)
                .expected_actual(want.join(", "), got.join(", ")),
        );
    }
    if let Some(header) = response.header(DIAGNOSIS_HEADER) {
        let mut bank: Vec<&str> = header.split(',').map(str::trim).collect();
        bank.sort_unstable();
        bank.dedup();
        if bank != got {
            let message = format!(
                "diagnosis: the embedded sandbox names [{}], the engine [{}]",
                bank.join(", "),
                got.join(", ")
            );
            failures.push(Failure::new(FailureKind::Diagnosis, message).at(at));
        }
    }
    failures
}

fn unix_secs(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Waits on the step's listener for a POST meeting `until`; the POST as an exchange (with our
/// answer as its response) and as the message the step's checks look at.
async fn wait_for_callback(
    spec: &CallbackSpec,
    step_ctx: &StepContext<'_, '_>,
    render: &RenderFn<'_>,
    started: Instant,
) -> Result<(Exchange, HttpResponse), Vec<Failure>> {
    let listener = step_ctx.callbacks.get(&spec.name).ok_or_else(|| {
        vec![Failure::new(
            FailureKind::Callback,
            format!("callback `{}` has no listener", spec.name),
        )]
    })?;
    let until = |message: &HttpResponse| match &spec.until {
        Some(until) => messages(evaluate(until, message, render)),
        None => Vec::new(),
    };
    let post = listener
        .wait_for(&until, spec.timeout, step_ctx.ctx.pacing)
        .await
        .map_err(|e| vec![Failure::new(FailureKind::Callback, e)])?;
    let message = as_message(&post);
    // The listener's answer: its `respond` may be set by another step waiting on it.
    let answer = HttpResponse {
        status: listener.respond().as_u16(),
        headers: Vec::new(),
        body: Vec::new(),
    };
    let exchange = Exchange {
        request: SignedRequest::unsigned(post),
        response: answer,
        elapsed: started.elapsed(),
        server_certificate: None,
    };
    Ok((exchange, message))
}

/// Sends (each time rendered and signed afresh by `attempt`) until the response meets
/// `retry.until` or the time is up; the last exchange, and why it did not meet it on time.
async fn poll<F, Fut>(
    retry: &Retry,
    pacing: &Pacing,
    render: &RenderFn<'_>,
    record: &mut dyn FnMut(&Exchange),
    mut attempt: F,
) -> Result<(Exchange, Option<Failure>), Vec<Failure>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Exchange, Vec<Failure>>>,
{
    // Counts the time simulated pacing skips, so the timeout means the same either way.
    let watch = pacing.stopwatch();
    let mut attempts = 0u32;
    loop {
        let exchange = attempt().await?;
        record(&exchange);
        attempts += 1;
        let unmet = evaluate(&retry.until, &exchange.response, render);
        if unmet.is_empty() {
            return Ok((exchange, None));
        }
        let capped = attempts >= crate::scenario::model::MAX_RETRY_ATTEMPTS;
        if capped || watch.elapsed() + retry.interval > retry.timeout {
            let limit = if capped {
                " (the most a retry sends)"
            } else {
                ""
            };
            let why = format!(
                "retry: `until` not met after {attempts} attempts{limit} in {:.1} s (timeout {:.1} s): {}",
                watch.elapsed().as_secs_f64(),
                retry.timeout.as_secs_f64(),
                messages(unmet).join("; ")
            );
            return Ok((exchange, Some(Failure::new(FailureKind::Timeout, why))));
        }
        pacing.pause(&watch, retry.interval).await;
    }
}

/// Renders, signs and sends a step's request; the failures when it cannot be sent.
async fn send_request(
    loaded: &LoadedScenario,
    request: &Request,
    step: &Step,
    ctx: &RunContext<'_>,
    current: &Value,
    redactor: &Redactor,
) -> Result<Exchange, Vec<Failure>> {
    let unsendable = |message: String| vec![Failure::new(FailureKind::Request, message)];
    let planned = plan_request(request, ctx.renderer, current).map_err(|e| {
        vec![
            Failure::new(
                FailureKind::Request,
                format!("{}:{}: {}", loaded.file_of(step).display(), e.at, e.message),
            )
            .at(e.at),
        ]
    })?;
    let (mut signed, signed_with) = sign_for_step(planned, step, ctx, current)?;
    let keys = mutate::Keys {
        signed_with,
        roles: &ctx.env.signing_keys,
    };
    mutate::apply(&mut signed, step.mutate.iter().map(|m| &m.value), &keys)
        .map_err(|e| unsendable(e.to_string()))?;
    let tls_role = step
        .tls
        .as_ref()
        .map_or(DEFAULT_TLS_ROLE, |role| role.value.as_str());
    // ING's sandbox answers every metadata GET with its pre-registered application, so there is
    // no registration to protect and nothing true to compare with.
    let guarded = ctx.env.kind != EnvironmentKind::Sandbox;
    if guarded && !step.allow_drop && put_guard::is_registration_update(&signed.request) {
        let tls_der = ctx
            .env
            .identity(tls_role)
            .and_then(|identity| identity.chain.first())
            .map(|cert| cert.as_ref().to_vec());
        let signing_der = signed_with.and_then(|key| key.cert.to_der().ok());
        let presented = obconform_core::diagnose::registration_drop::Presented {
            tls: tls_der.as_deref(),
            signing: signing_der.as_deref(),
        };
        put_guard::check(&signed.request, ctx.transport, tls_role, presented)
            .await
            .map_err(|e| vec![Failure::new(FailureKind::Guard, e)])?;
    }
    let sent = if step.other_host {
        if let Some(what) = credential_carried(&signed.request, redactor) {
            return Err(vec![Failure::new(
                FailureKind::Guard,
                format!(
                    "not sent: this step is for another host (`other_host: true`) and carries \
                     {what}; credentials go only to the environment's hosts"
                ),
            )]);
        }
        ctx.transport.send_elsewhere(&signed).await
    } else {
        ctx.transport.send_as(&signed, tls_role).await
    };
    sent.map_err(|e| {
        let kind = if e.refused_unsent() {
            FailureKind::Guard
        } else if e.timed_out() {
            FailureKind::Timeout
        } else {
            FailureKind::Transport
        };
        vec![Failure::new(kind, e.to_string())]
    })
}

/// What credential `request` carries, if any: a credential or signature header, or a secret the
/// run knows (in any of its encoded forms) in the URL, a header or the body.
fn credential_carried(request: &HttpRequest, redactor: &Redactor) -> Option<String> {
    let credential_headers = crate::redact::CREDENTIAL_HEADERS
        .iter()
        .chain(crate::redact::SIGNATURE_HEADERS);
    for name in credential_headers {
        if request.header(name).is_some() {
            return Some(format!("a `{name}` header"));
        }
    }
    let body = String::from_utf8_lossy(&request.body);
    let texts = [request.url.as_str(), body.as_ref()]
        .into_iter()
        .chain(request.headers.iter().map(|(_, value)| value.as_str()));
    for text in texts {
        if redactor.text(text) != text {
            return Some("a secret of the run".into());
        }
    }
    None
}

/// Signs `planned` with the step's profile (`sign`, or the environment's default) at the current
/// time; returns the signed request and the key it was signed with.
fn sign_for_step<'c>(
    planned: HttpRequest,
    step: &Step,
    ctx: &RunContext<'c>,
    current: &Value,
) -> Result<(SignedRequest, Option<&'c SigningKey>), Vec<Failure>> {
    let unsendable = |message: String| vec![Failure::new(FailureKind::Request, message)];
    let profile = ctx
        .env
        .resolve_sign(step.sign.as_ref().map(|s| &s.value))
        .map_err(unsendable)?;
    let rendered = |template: &Option<String>| -> Result<Option<String>, Vec<Failure>> {
        template
            .as_deref()
            .map(|t| {
                ctx.renderer
                    .render(t, current)
                    .map_err(|e| unsendable(format!("signing profile: {e}")))
            })
            .transpose()
    };
    let key_id = rendered(&profile.key_id)?;
    let audience = rendered(&profile.audience)?;
    let env: &'c ActiveEnvironment = ctx.env;
    let key: Option<&'c SigningKey> = key_role(&profile)
        .and_then(|role| env.signing_key(role))
        .map(|k| k.as_ref());
    let inputs = SignInputs {
        key,
        key_id: key_id.as_deref(),
        audience: audience.as_deref(),
        client_id: ctx.env.client_id.as_deref(),
        now: SystemTime::now(),
    };
    let signed = sign(planned, &profile, &inputs).map_err(|e| unsendable(e.to_string()))?;
    Ok((signed, key))
}

fn messages(failures: Vec<Failure>) -> Vec<String> {
    failures.into_iter().map(|f| f.message).collect()
}
