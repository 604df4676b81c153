//! Preflight: everything about a scenario that can be wrong before a byte is sent — undefined
//! variables, captures used before they exist, two bodies, unknown profiles, bad JSONPaths and
//! regexes. Every error names the scenario, the step and the place in the file.

use crate::context::{
    RESERVED_NAMES, callback_names, insert_callbacks, render_vars, step_data, template_data,
};
use crate::environment::ActiveEnvironment;
use crate::environment::hosts::Origin;
use crate::environment::model::EnvironmentKind;
use crate::plan::plan_request;
use crate::scenario::model::{
    AuthorizeVia, Callback, CaptureSource, Expect, Mutation, Request, StatusSet, Step, ValueCheck,
};
use crate::scenario::{LoadedScenario, Located, Position, SourceError, SourceErrors};
use crate::steps::authorize::plan_authorize;
use crate::steps::callback::{callback_path, listen_address, listener_settings, respond_status};
use crate::steps::mutate::{self, MutateError};
use crate::steps::sign::{SignInputs, check_profile, key_role, sign};
use crate::template::{Renderer, TemplateError};
use obconform_core::wire::{HttpRequest, is_tchar};
use serde_json::Value;
use std::time::SystemTime;

pub fn validate(
    loaded: &LoadedScenario,
    env: &ActiveEnvironment,
    renderer: &Renderer,
) -> Result<(), SourceErrors> {
    let scenario = &loaded.scenario;
    let mut errors = Vec::new();
    let mut data = template_data(env);
    // Listeners start with the run; their URLs are only known then.
    let placeholders: Vec<(&str, String)> = callback_names(loaded)
        .into_iter()
        .map(|name| (name, format!("http://127.0.0.1:0{}", callback_path(name))))
        .collect();
    insert_callbacks(
        &mut data,
        placeholders.iter().map(|(n, u)| (*n, u.as_str())),
    );
    for var in render_vars(loaded, renderer, &mut data, &mut |_, _| {}) {
        let message = match &var.error {
            TemplateError::UndefinedVariable(_) => {
                format!("in variable `{}`: {}", var.name, var.error)
            }
            TemplateError::Invalid(message) => message.clone(),
        };
        let help = if RESERVED_NAMES.contains(&var.name.as_str()) {
            "rename the variable".into()
        } else {
            undefined_help(&var.error)
        };
        errors.push(loaded.error_at(var.at, None, message).with_help(help));
    }

    for (kind, reason) in scenario.skip_on.iter() {
        if !EnvironmentKind::NAMES.contains(&kind.as_str()) {
            errors.push(
                loaded
                    .error_at(
                        reason.at,
                        None,
                        format!("`skip_on` names `{kind}`, not a kind of environment"),
                    )
                    .with_help(format!("use one of: {}", EnvironmentKind::NAMES.join(", "))),
            );
        }
    }

    let mut step_names: Vec<&str> = Vec::new();
    for (index, step) in scenario.steps.iter().enumerate() {
        let step_name = step.name.value.as_str();
        let err = |at: Position, message: String| loaded.step_error_at(step, at, message);
        if step_names.contains(&step_name) {
            errors.push(err(
                step.name.at,
                "two steps have this name; names identify steps in reports and snapshots".into(),
            ));
        }
        step_names.push(step_name);

        for path in step.snapshot.iter().flat_map(|s| s.extra_redactions()) {
            if let Err(e) = serde_json_path::JsonPath::parse(path) {
                let at = written_after(loaded.source_of(step), step.name.at, path)
                    .unwrap_or(step.name.at);
                errors.push(
                    err(
                        at,
                        format!("snapshot.redact: `{path}` is not a valid JSONPath: {e}"),
                    )
                    .with_help("paths start with `$`, e.g. `$.transactions[*].bookingDate`"),
                );
            }
        }

        let (dry, param_errors) = step_data(&data, step, renderer);
        for e in param_errors {
            let message = format!("param `{}`: {}", e.name, e.error);
            let help = undefined_help(&e.error);
            errors.push(if e.is_default {
                err(e.at, message).with_help(help)
            } else {
                loaded.error_at(e.at, None, message).with_help(help)
            });
        }
        if let Some(callback) = &step.callback {
            check_callback(loaded, step, callback, &dry, renderer, &err, &mut errors);
        }
        // The request as validation renders it, for the rehearsal of its mutations.
        let mut dry_request = None;
        let planned = match (&step.request, &step.authorize) {
            (Some(_), _) | (_, Some(_)) if step.callback.is_some() => {
                let at = step.callback.as_ref().map_or(step.name.at, |c| c.at);
                errors.push(
                    err(
                        at,
                        "a step has one of `request`, `authorize` and `callback`".into(),
                    )
                    .with_help("split it into two steps"),
                );
                Ok(())
            }
            (Some(request), None) => {
                plan_request(request, renderer, &dry).map(|planned| dry_request = Some(planned))
            }
            (None, Some(authorize)) => {
                let grants = authorize.value.via == AuthorizeVia::GrantsSupport;
                // Grants support without a reference calls authorization-server-url: signed.
                let calls_server_url = grants && authorize.value.reference.is_none();
                match (&step.sign, calls_server_url) {
                    (Some(sign), false) => errors.push(err(
                        sign.at,
                        if grants {
                            "this `authorize` step is not signed: with `reference` it sends only \
                             the automated consent's requests (Bearer token, no signature)"
                                .into()
                        } else {
                            "an `authorize` step is not signed: the customer consents in a browser"
                                .into()
                        },
                    )),
                    (None, true) => errors.push(
                        err(
                            authorize.at,
                            "`via: grants-support` without `reference` calls GET \
                             /oauth2/authorization-server-url, which is signed: name the \
                             signing profile with `sign`"
                                .into(),
                        )
                        .with_help(
                            "add `sign: http-signature` to the step (keyId = the captured \
                             client_id), or give the old flow's location as `reference`",
                        ),
                    ),
                    _ => {}
                }
                if !step.mutate.is_empty() {
                    errors.push(err(
                        authorize.at,
                        "an `authorize` step cannot be mutated: the browser's requests are not signed"
                            .into(),
                    ));
                }
                plan_authorize(authorize, env, renderer, &dry).map(|_| ())
            }
            (Some(_), Some(authorize)) => {
                errors.push(
                    err(
                        authorize.at,
                        "a step has either `request` or `authorize`, not both".into(),
                    )
                    .with_help("split it into two steps"),
                );
                Ok(())
            }
            (None, None) if step.callback.is_some() => Ok(()),
            (None, None) => {
                errors.push(
                    err(
                        step.name.at,
                        "the step has none of `request`, `authorize` and `callback`".into(),
                    )
                    .with_help(
                        "add `request: {method, url, …}`, `authorize: {country, scope, …}` or `callback: {name, until}`",
                    ),
                );
                Ok(())
            }
        };
        if let Err(mut e) = planned {
            if let Some(var) = &e.undefined_variable {
                e.at = point_at_variable(loaded.source_of(step), e.at, var);
            }
            let mut error = err(e.at, e.message.clone());
            if let Some(var) = &e.undefined_variable {
                error = match later_capture(loaded, index, var) {
                    Some(later) => err(e.at, format!("unknown capture `{var}`: it is captured only by the later step `{later}`"))
                        .with_help("move the capture to an earlier step, or the use to a later one"),
                    None => error.with_help(undefined_help(&TemplateError::UndefinedVariable(var.clone()))),
                };
            }
            errors.push(error);
        }

        for (kind, reason) in step.skip_on.iter() {
            if !EnvironmentKind::NAMES.contains(&kind.as_str()) {
                errors.push(
                    err(
                        reason.at,
                        format!("`skip_on` names `{kind}`, not a kind of environment"),
                    )
                    .with_help(format!("use one of: {}", EnvironmentKind::NAMES.join(", "))),
                );
            }
        }

        if let Some(role) = &step.tls
            && env.identity(&role.value).is_none()
        {
            errors.push(
                err(
                    role.at,
                    format!(
                        "environment `{}` has no certificate `{}` to present in TLS",
                        env.name, role.value
                    ),
                )
                .with_help(certificate_role_help(&role.value)),
            );
        }

        if let Some(sign) = &step.sign {
            match env.resolve_sign(Some(&sign.value)) {
                Ok(profile) => {
                    if let Err(e) = check_profile(&profile) {
                        errors.push(err(sign.at, e.to_string()));
                    }
                    // The profile's algorithm must suit the key it signs with (ES256 with an
                    // RSA key fails only at send time otherwise, after earlier steps were sent).
                    if let (Some(algorithm), Some(key)) = (
                        profile.algorithm,
                        key_role(&profile).and_then(|role| env.signing_key(role)),
                    ) && let Err(e) = algorithm.check_key(&key.key)
                    {
                        errors.push(err(sign.at, format!("algorithm {algorithm}: {e}")));
                    }
                    if let Some(role) = key_role(&profile)
                        && env.signing_key(role).is_none()
                    {
                        errors.push(err(
                            sign.at,
                            format!(
                                "flow `{}` signs with the `{role}` certificate, but environment `{}` has no `certs.{role}`",
                                profile.flow.name(),
                                env.name
                            ),
                        ).with_help(certificate_role_help(role)));
                    }
                    for template in [&profile.key_id, &profile.audience].into_iter().flatten() {
                        if let Err(e) = renderer.render(template, &dry) {
                            errors.push(
                                err(sign.at, format!("in the signing profile: {e}"))
                                    .with_help(undefined_help(&e)),
                            );
                        }
                    }
                }
                Err(e) => errors.push(err(sign.at, e).with_help(format!(
                    "define it under `profiles:` in environments.yaml; known: {}",
                    env.profile_names().join(", ")
                ))),
            }
        }

        if let Some(request) = &step.request {
            for (name, value) in request.headers.iter() {
                if let Some(problem) = header_problem(name, &value.value) {
                    errors.push(err(value.at, problem));
                }
            }
        }
        for mutation in &step.mutate {
            if let Mutation::SetHeader { name, value } | Mutation::ResignHeader { name, value } =
                &mutation.value
                && let Some(problem) = header_problem(name, value)
            {
                errors.push(err(mutation.at, problem));
            }
        }

        if let (Some(request), Some(planned)) = (&step.request, &dry_request) {
            check_host(step, request, planned, env, &err, &mut errors);
        }
        if let Some(request) = dry_request
            && !step.mutate.is_empty()
        {
            check_mutations(step, request, env, renderer, &dry, &err, &mut errors);
        }

        if let Some(expect) = &step.expect {
            check_expect(expect, &dry, renderer, &err, &mut errors);
        }
        if step.request.is_none() {
            let diagnosed = step
                .expect
                .iter()
                .flat_map(|e| e.diagnosis.iter().flatten())
                .next();
            let snapshot = step
                .snapshot
                .as_ref()
                .filter(|s| s.kind() == crate::scenario::model::SnapshotKind::Diagnosis);
            if let Some(at) = diagnosed.map(|id| id.at).or(snapshot.map(|_| step.name.at)) {
                errors.push(
                    err(
                        at,
                        "only a step that sends a `request` has a diagnosis: the engine judges the request as sent"
                            .into(),
                    )
                    .with_help("move `diagnosis` to the request step, or snapshot `response`"),
                );
            }
        }
        if let Some(retry) = &step.retry {
            if step.authorize.is_some() {
                errors.push(err(
                    retry.at,
                    "an `authorize` step cannot poll: the customer consents once".into(),
                ));
            }
            check_expect(&retry.value.until, &dry, renderer, &err, &mut errors);
        }

        for (name, capture) in step.capture.iter() {
            if RESERVED_NAMES.contains(&name.as_str()) {
                errors.push(err(
                    capture.at,
                    format!("`{name}` is reserved; capture into another name"),
                ));
            }
            match &capture.value.source {
                CaptureSource::Json(path) => {
                    if let Err(e) = serde_json_path::JsonPath::parse(path) {
                        errors.push(err(
                            capture.at,
                            format!("`{path}` is not a valid JSONPath: {e}"),
                        ));
                    }
                }
                CaptureSource::Regex(pattern) => {
                    if let Err(e) = regex::Regex::new(pattern) {
                        errors.push(err(capture.at, format!("invalid regex /{pattern}/: {e}")));
                    }
                }
                CaptureSource::Header(_) | CaptureSource::Query(_) => {}
            }
            data.insert(name.clone(), Value::String(format!("«{name}»")));
        }
    }

    if errors.is_empty() {
        Ok(())
    } else {
        Err(SourceErrors(errors))
    }
}

/// A request to a host that is not the environment's is refused here when its URL names the host
/// itself (a URL taken from a capture is checked when it is sent); a step meant for another host
/// (`other_host`) presents no certificate and signs nothing.
fn check_host(
    step: &Step,
    request: &Request,
    planned: &HttpRequest,
    env: &ActiveEnvironment,
    err: &dyn Fn(Position, String) -> SourceError,
    errors: &mut Vec<SourceError>,
) {
    if step.other_host {
        if let Some(tls) = &step.tls {
            errors.push(err(
                tls.at,
                "a step for another host (`other_host: true`) presents no client certificate"
                    .into(),
            ));
        }
        if let Some(sign) = &step.sign {
            errors.push(err(
                sign.at,
                "a step for another host (`other_host: true`) is not signed: signatures go only \
                 to the environment's hosts"
                    .into(),
            ));
        }
        return;
    }
    // A capture (`«name»`) in the authority, or a callback listener (port 0 until the run),
    // decides the host later: checked when the request is sent.
    let after_scheme = planned.url.split_once("://").map_or("", |(_, rest)| rest);
    let authority = after_scheme.split(['/', '?', '#']).next().unwrap_or("");
    let Ok(origin) = Origin::parse(&planned.url) else {
        return;
    };
    if authority.contains('«') || origin.port == 0 {
        return;
    }
    if let Err(e) = env.host_policy().check(&planned.url) {
        errors.push(err(request.url.at, e));
    }
}

/// A `callback` step: nothing of a sent request applies, the listener settings parse and are
/// given once per listener, and its checks look at a POST (there is no status to expect).
fn check_callback(
    loaded: &LoadedScenario,
    step: &Step,
    callback: &Located<Callback>,
    data: &Value,
    renderer: &Renderer,
    err: &dyn Fn(Position, String) -> SourceError,
    errors: &mut Vec<SourceError>,
) {
    let spec = &callback.value;
    let at = callback.at;
    let name_ok = !spec.name.is_empty()
        && spec
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !name_ok {
        errors.push(
            err(
                at,
                format!("callback name `{}` is not usable in a URL path", spec.name),
            )
            .with_help("use letters, digits, `-` and `_`, e.g. `update-status`"),
        );
    }
    let not_for_callbacks = [
        ("sign", step.sign.is_some()),
        ("mutate", !step.mutate.is_empty()),
        ("retry", step.retry.is_some()),
        ("tls", step.tls.is_some()),
        ("allow_drop", step.allow_drop),
    ];
    for (field, present) in not_for_callbacks {
        if present {
            errors.push(err(
                at,
                format!("a `callback` step receives a POST: `{field}` does not apply to it"),
            ));
        }
    }
    for (what, expect) in [
        ("until", spec.until.as_ref()),
        ("expect", step.expect.as_ref()),
    ] {
        let Some(expect) = expect else { continue };
        if expect.status.is_some() {
            errors.push(
                err(
                    at,
                    format!(
                        "`{what}` of a callback step checks the received POST: it has no `status`"
                    ),
                )
                .with_help("check its body (`json`, `body_contains`) or `headers`"),
            );
        }
        if what == "until" {
            check_expect(expect, data, renderer, err, errors);
        }
    }
    let (listen, respond) = (listen_address(spec), respond_status(spec));
    for problem in [listen.err(), respond.err()].into_iter().flatten() {
        errors.push(err(at, problem));
    }
    let configured =
        |c: &Callback| c.listen.is_some() || c.public_url.is_some() || c.respond.is_some();
    if configured(spec)
        && let Some(first) = listener_settings(loaded, &spec.name)
        && !std::ptr::eq(first, callback)
    {
        errors.push(
            err(
                at,
                format!(
                    "listener `{}` is configured (listen, public_url, respond) by an earlier step too",
                    spec.name
                ),
            )
            .with_help("configure each listener in one step; the others just name it"),
        );
    }
}

/// A step's mutations, rehearsed: its request as validation renders it is signed with the
/// environment's keys and mutated by the code the run uses, so whatever a mutation needs — a
/// signature of its kind, a certificate role, a signed or present header — is found missing
/// before anything is sent. A request that cannot be signed is left to the run (and the checks
/// above) to report.
/// What makes a header unsendable, caught before anything is sent: a name that is not an HTTP
/// token, or a line break in the value (which would inject another header).
fn header_problem(name: &str, value: &str) -> Option<String> {
    if name.is_empty() || !name.chars().all(is_tchar) {
        return Some(format!(
            "header name `{}` is not an HTTP token (letters, digits and !#$%&'*+-.^_`|~, no spaces)",
            name.escape_debug()
        ));
    }
    if value.contains(['\r', '\n']) {
        return Some(format!(
            "the value of header `{name}` has a line break, which would start another header"
        ));
    }
    None
}

fn check_mutations(
    step: &Step,
    request: HttpRequest,
    env: &ActiveEnvironment,
    renderer: &Renderer,
    data: &Value,
    err: &dyn Fn(Position, String) -> SourceError,
    errors: &mut Vec<SourceError>,
) {
    let Ok(profile) = env.resolve_sign(step.sign.as_ref().map(|s| &s.value)) else {
        return;
    };
    let render = |template: &Option<String>| match template {
        Some(t) => renderer.render(t, data).map(Some),
        None => Ok(None),
    };
    let (Ok(key_id), Ok(audience)) = (render(&profile.key_id), render(&profile.audience)) else {
        return;
    };
    let key = key_role(&profile).and_then(|role| env.signing_key(role));
    let inputs = SignInputs {
        key: key.map(|k| k.as_ref()),
        key_id: key_id.as_deref(),
        audience: audience.as_deref(),
        client_id: env.client_id.as_deref(),
        now: SystemTime::now(),
    };
    let Ok(mut signed) = sign(request, &profile, &inputs) else {
        return;
    };
    let keys = mutate::Keys {
        signed_with: inputs.key,
        roles: &env.signing_keys,
    };
    let Err(failed) = mutate::apply(&mut signed, step.mutate.iter().map(|m| &m.value), &keys)
    else {
        return;
    };
    let at = step.mutate.get(failed.index).map_or(step.name.at, |m| m.at);
    let help = match &failed.source {
        MutateError::NotSigned(_) => Some(
            "sign the step with an http-signature or jws profile; only remove-header, set-header, \
             set-body and form-spaces-percent20 apply to a request without one"
                .to_string(),
        ),
        MutateError::WrongSignature { .. } => Some(
            "pss-salt and jws-header change a JWS; key-id and move-signature an HTTP signature"
                .to_string(),
        ),
        MutateError::NoRole(role) => Some(certificate_role_help(role)),
        MutateError::UnsignedHeader(..) => {
            Some("name a signed header, or list it in the profile's `headers`".to_string())
        }
        MutateError::AlreadySigned(..) | MutateError::NoSuchHeader(_) => Some(
            "sign-extra signs a header the request sends but the signature does not list".into(),
        ),
        _ => None,
    };
    let error = err(at, failed.to_string());
    errors.push(match help {
        Some(help) => error.with_help(help),
        None => error,
    });
}

/// Where a missing certificate role comes from.
fn certificate_role_help(role: &str) -> String {
    match role.strip_prefix("new_") {
        Some(_) => {
            "`new_tls` and `new_signing` are the renewed pair: pass `--new-certs DIR`".into()
        }
        None => format!("add `{role}` (certificate and key) under `certs:` in environments.yaml"),
    }
}

/// Where `text` is next written in `source` from the line of `from` on (values that keep no
/// position of their own, such as those inside an either-form key).
fn written_after(source: &str, from: Position, text: &str) -> Option<Position> {
    let first = usize::try_from(from.line).ok()?.saturating_sub(1);
    source
        .lines()
        .enumerate()
        .skip(first)
        .find_map(|(i, line)| {
            line.find(text).map(|column| Position {
                line: i as u64 + 1,
                column: column as u64 + 1,
            })
        })
}

/// `server_certificate` names only the fields there are.
fn check_server_certificate_fields(
    expect: &Expect,
    data: &Value,
    renderer: &Renderer,
    err: &dyn Fn(Position, String) -> SourceError,
    errors: &mut Vec<SourceError>,
) {
    use crate::check::server_certificate::FIELDS;
    for (name, check) in expect.server_certificate.iter() {
        if !FIELDS.contains(&name.as_str()) {
            errors.push(
                err(
                    check.at,
                    format!("server_certificate has no field `{name}`"),
                )
                .with_help(format!("use one of: {}", FIELDS.join(", "))),
            );
        }
        check_value_check(&check.value, check.at, data, renderer, err, errors);
    }
}

/// The JSONPaths and value checks of `expect` (or of a `retry`'s `until`).
fn check_expect(
    expect: &Expect,
    data: &Value,
    renderer: &Renderer,
    err: &dyn Fn(Position, String) -> SourceError,
    errors: &mut Vec<SourceError>,
) {
    for (path, check) in expect.json.iter() {
        if let Err(e) = serde_json_path::JsonPath::parse(path) {
            errors.push(
                err(check.at, format!("`{path}` is not a valid JSONPath: {e}"))
                    .with_help("paths start with `$`, e.g. `$.access_token` or `$.keys[0].kty`"),
            );
        }
        check_value_check(&check.value, check.at, data, renderer, err, errors);
    }
    for (_, check) in expect.headers.iter() {
        check_value_check(&check.value, check.at, data, renderer, err, errors);
    }
    check_server_certificate_fields(expect, data, renderer, err, errors);
    if let Some(status) = &expect.status {
        let codes = match &status.value {
            StatusSet::One(code) => std::slice::from_ref(code),
            StatusSet::Any(codes) => codes.as_slice(),
        };
        for code in codes.iter().filter(|code| !(100..=599).contains(*code)) {
            errors.push(err(
                status.at,
                format!("status {code} is not an HTTP status: use 100 to 599"),
            ));
        }
    }
    for id in expect.diagnosis.iter().flatten() {
        if obconform_core::catalogue::entry(&id.value).is_none() {
            errors.push(
                err(id.at, format!("`{}` is not a diagnosis id", id.value)).with_help(
                    "see the catalogue in docs/diagnosis.md (`obconform explain` names them), e.g. jws.trailing-lf",
                ),
            );
        }
    }
}

fn check_value_check(
    check: &ValueCheck,
    at: Position,
    data: &Value,
    renderer: &Renderer,
    err: &dyn Fn(Position, String) -> SourceError,
    errors: &mut Vec<SourceError>,
) {
    match check {
        ValueCheck::Equals(v) => check_templates([v], at, data, renderer, err, errors),
        ValueCheck::Checks(c) => check_checks(c, at, data, renderer, err, errors),
    }
}

/// Every template of `checks` renders and its regex compiles, `not` included.
fn check_checks(
    checks: &crate::scenario::model::Checks,
    at: Position,
    data: &Value,
    renderer: &Renderer,
    err: &dyn Fn(Position, String) -> SourceError,
    errors: &mut Vec<SourceError>,
) {
    let starts_with = checks.starts_with.clone().map(Value::String);
    let templates = checks
        .equals
        .iter()
        .chain(&checks.contains)
        .chain(starts_with.as_ref())
        .chain(checks.one_of.iter().flatten());
    check_templates(templates, at, data, renderer, err, errors);
    if let Some(pattern) = &checks.matches
        && let Err(e) = regex::Regex::new(pattern)
    {
        errors.push(err(at, format!("invalid regex /{pattern}/: {e}")));
    }
    if let Some(negated) = &checks.not {
        check_checks(negated, at, data, renderer, err, errors);
    }
    for (path, claim) in checks.jwt.iter().flat_map(|claims| claims.iter()) {
        if let Err(e) = serde_json_path::JsonPath::parse(path) {
            errors.push(err(
                at,
                format!("jwt: `{path}` is not a valid JSONPath: {e}"),
            ));
        }
        check_value_check(claim, at, data, renderer, err, errors);
    }
}

fn check_templates<'v>(
    values: impl IntoIterator<Item = &'v Value>,
    at: Position,
    data: &Value,
    renderer: &Renderer,
    err: &dyn Fn(Position, String) -> SourceError,
    errors: &mut Vec<SourceError>,
) {
    for value in values {
        if let Value::String(template) = value
            && let Err(e) = renderer.render(template, data)
        {
            errors.push(err(at, e.to_string()).with_help(undefined_help(&e)));
        }
    }
}

/// Moves the caret from the start of a template to the `{{` that uses `var`, when the template is on
/// that line.
fn point_at_variable(source: &str, at: Position, var: &str) -> Position {
    let Some(line) = source.lines().nth(at.line.saturating_sub(1) as usize) else {
        return at;
    };
    let start = (at.column.saturating_sub(1) as usize).min(line.len());
    let mut search = start;
    while let Some(found) = line.get(search..).and_then(|rest| rest.find("{{")) {
        let open = search + found;
        let inner = &line[open + 2..];
        let expression = inner.split("}}").next().unwrap_or_default();
        if expression.split_whitespace().any(|word| word == var) {
            return Position {
                line: at.line,
                column: (open + 1) as u64,
            };
        }
        search = open + 2;
    }
    at
}

fn later_capture(loaded: &LoadedScenario, index: usize, var: &str) -> Option<String> {
    let root = var.split('.').next().unwrap_or(var);
    loaded.scenario.steps[index..]
        .iter()
        .find(|s| s.capture.get(root).is_some())
        .map(|s| s.name.value.clone())
}

fn undefined_help(error: &TemplateError) -> String {
    match error {
        TemplateError::UndefinedVariable(_) => {
            "define it under `vars:`, capture it in an earlier step, or use an environment value such as {{env.api}} or {{env.client_id}}".into()
        }
        TemplateError::Invalid(_) => "fix the template; helpers: json, uuid, now, urlencode, base64".into(),
    }
}
