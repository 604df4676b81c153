//! The `authorize` step (guide step 3a/3b): the customer consents on the bank's screen and is
//! sent back to the TPP's `redirect_uri` with `code` and `state`.
//!
//! The step renders the consent URL (`{{env.consent}}/authorize/v2/{COUNTRY}?client_id&scope&
//! state&redirect_uri&response_type=code`, the guide's parameters, space as `%20`), then:
//! - on the embedded sandbox it behaves like a browser: loads the consent screen, picks the test
//!   profile, submits the form and takes the `302` (`browser`);
//! - elsewhere a person has to consent: the URL is printed (and opened in a browser when there
//!   is one) and the redirect is taken from `--code`, a loopback listener on an
//!   `http://127.0.0.1:PORT/…` redirect URI, or a line on stdin (`supply`).
//!
//! With `via: grants-support` no one consents on a screen: the step uses the sandbox's
//! automated consent as ING's open-banking CLI does (`grants_support`) — on the embedded
//! sandbox and on ING's sandbox alike.
//!
//! Either way the step's response is the redirect (status 302, `Location`), checked here: the
//! `state` must come back unchanged and the target must be the redirect URI.

mod browser;
mod form;
mod grants_support;
mod loopback;
mod redirect;
mod supply;

pub use self::grants_support::{GrantsSupportPlan, reference_id};
pub use self::supply::CodeSupply;

use crate::environment::ActiveEnvironment;
use crate::environment::model::EnvironmentKind;
use crate::http::{Exchange, Transport};
use crate::plan::{PlanError, plan_error};
use crate::scenario::Located;
use crate::scenario::Position;
use crate::scenario::model::{Authorize, AuthorizeVia};
use crate::steps::sign::SignedRequest;
use crate::template::{Renderer, URL_COMPONENT};
use obconform_core::wire::HttpRequest;
use percent_encoding::utf8_percent_encode;

/// A rendered `authorize` step.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizePlan {
    /// The consent URL with its query.
    pub consent_url: String,
    pub redirect_uri: Option<String>,
    pub state: String,
    /// Embedded sandbox: the test profile (name or id); `None` picks the first.
    pub profile: Option<String>,
    /// Embedded sandbox: press Cancel.
    pub cancel: bool,
    /// Whether the redirect must carry `code` and `state` (false: an aggregator's redirect).
    pub expects_code: bool,
    /// `via: grants-support`: the automated consent's requests.
    pub grants: Option<GrantsSupportPlan>,
}

/// An `authorize` step's templates rendered with the run's data: a template error at the
/// template's place, any other problem at the step.
struct StepTemplates<'a> {
    renderer: &'a Renderer,
    data: &'a serde_json::Value,
    at: Position,
}

impl StepTemplates<'_> {
    fn render(&self, text: &Located<String>) -> Result<String, PlanError> {
        self.renderer
            .render(&text.value, self.data)
            .map_err(|e| plan_error(text.at, e))
    }

    fn render_opt(&self, text: &Option<Located<String>>) -> Result<Option<String>, PlanError> {
        text.as_ref().map(|t| self.render(t)).transpose()
    }

    fn problem(&self, message: String) -> PlanError {
        PlanError {
            at: self.at,
            message,
            undefined_variable: None,
        }
    }
}

/// Renders the step's templates and builds the consent URL.
pub fn plan_authorize(
    step: &Located<Authorize>,
    env: &ActiveEnvironment,
    renderer: &Renderer,
    data: &serde_json::Value,
) -> Result<AuthorizePlan, PlanError> {
    let authorize = &step.value;
    let templates = StepTemplates {
        renderer,
        data,
        at: step.at,
    };
    let render = |text: &Located<String>| templates.render(text);
    let render_opt = |text: &Option<Located<String>>| templates.render_opt(text);
    let problem = |message: String| templates.problem(message);

    if authorize.via == AuthorizeVia::GrantsSupport {
        return plan_grants_support(step, env, renderer, data);
    }
    if !authorize.code {
        // An aggregator's authorization URL is complete: nothing is added to it.
        let Some(url) = render_opt(&authorize.url)? else {
            return Err(problem(
                "`code: false` opens an aggregator's authorization URL: give it as `url`".into(),
            ));
        };
        return Ok(AuthorizePlan {
            consent_url: url,
            redirect_uri: render_opt(&authorize.redirect_uri)?,
            state: String::new(),
            profile: render_opt(&authorize.profile)?,
            cancel: authorize.cancel,
            expects_code: false,
            grants: None,
        });
    }
    let base = match (render_opt(&authorize.url)?, render_opt(&authorize.country)?) {
        (Some(url), _) => url,
        (None, Some(country)) => {
            let consent = env.consent.as_deref().ok_or_else(|| {
                problem(format!(
                    "environment `{}` has no `consent` URL (the bank's consent host, e.g. \
                     https://myaccount.sandbox.ing.com); add it in environments.yaml or give `url`",
                    env.name
                ))
            })?;
            let country = country.trim().to_ascii_uppercase();
            if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(PlanError {
                    at: authorize.country.as_ref().map_or(step.at, |c| c.at),
                    message: format!("`{country}` is not a country code: use two letters, e.g. NL"),
                    undefined_variable: None,
                });
            }
            format!("{consent}/authorize/v2/{country}")
        }
        (None, None) => {
            return Err(problem(
                "`authorize` needs `country` (the consent screen of /authorize/v2/{country}) or `url`"
                    .into(),
            ));
        }
    };
    let client_id = match render_opt(&authorize.client_id)? {
        Some(id) => id,
        None => env.client_id.clone().ok_or_else(|| {
            problem(format!(
                "no client_id: set `client_id` on the step or on environment `{}`",
                env.name
            ))
        })?,
    };
    let scope = match &authorize.scope {
        Some(scope) => render(scope)?,
        None => {
            return Err(problem(
                "`authorize` needs `scope` (space-separated scope-tokens, e.g. `payment-accounts:balances:view`)"
                    .into(),
            ));
        }
    };
    let redirect_uri = render_opt(&authorize.redirect_uri)?;
    let state = match render_opt(&authorize.state)? {
        Some(state) => state,
        None => uuid::Uuid::new_v4().simple().to_string(),
    };

    let mut query = vec![
        ("client_id", client_id.as_str()),
        ("scope", scope.as_str()),
        ("state", state.as_str()),
    ];
    if let Some(uri) = &redirect_uri {
        query.push(("redirect_uri", uri));
    }
    query.push(("response_type", "code"));
    let encoded: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, URL_COMPONENT)))
        .collect();
    let separator = if base.contains('?') { '&' } else { '?' };
    Ok(AuthorizePlan {
        consent_url: format!("{base}{separator}{}", encoded.join("&")),
        redirect_uri,
        state,
        profile: render_opt(&authorize.profile)?,
        cancel: authorize.cancel,
        expects_code: true,
        grants: None,
    })
}

/// `via: grants-support`: the token, scope and redirect URI are required; the reference is
/// given, or the step asks authorization-server-url for one (signed by the runner with the
/// step's `sign` profile before it runs).
fn plan_grants_support(
    step: &Located<Authorize>,
    env: &ActiveEnvironment,
    renderer: &Renderer,
    data: &serde_json::Value,
) -> Result<AuthorizePlan, PlanError> {
    let authorize = &step.value;
    let templates = StepTemplates {
        renderer,
        data,
        at: step.at,
    };
    let render = |text: &Located<String>| templates.render(text);
    let render_opt = |text: &Option<Located<String>>| templates.render_opt(text);
    let problem = |message: String| templates.problem(message);
    if authorize.url.is_some() {
        return Err(problem(
            "`via: grants-support` opens no consent URL: give the old flow's location as \
             `reference` instead of `url`"
                .into(),
        ));
    }
    if authorize.cancel || !authorize.code {
        return Err(problem(
            "`via: grants-support` always ends with a code: `cancel` and `code: false` are for \
             the consent screen"
                .into(),
        ));
    }
    let base = env.grants_support.clone().ok_or_else(|| {
        problem(format!(
            "environment `{}` has no `grants_support` URL: grants support is the sandbox's \
             automated consent (ING's sandbox: https://api.myaccount.sandbox.ing.com; the \
             embedded sandbox fills it in); production has none — give the scenario \
             `skip_on: {{ production: … }}`",
            env.name
        ))
    })?;
    let required = |field: &Option<Located<String>>, what: &str| match field {
        Some(value) => render(value),
        None => Err(problem(format!("`via: grants-support` needs {what}"))),
    };
    let token = required(
        &authorize.token,
        "`token`: the application access token obtained with an HTTP signature (e.g. `{{app_token}}`)",
    )?;
    let scope = required(
        &authorize.scope,
        "`scope`: the space-separated scope-tokens to grant",
    )?;
    let redirect_uri = required(
        &authorize.redirect_uri,
        "`redirect_uri`: where the code is sent (the auth-code request's redirectURL)",
    )?;
    let client_id = match render_opt(&authorize.client_id)? {
        Some(id) => id,
        None => env.client_id.clone().ok_or_else(|| {
            problem(format!(
                "no client_id: set `client_id` on the step or on environment `{}`",
                env.name
            ))
        })?,
    };
    let country = match render_opt(&authorize.country)? {
        None => None,
        Some(country) => {
            let country = country.trim().to_ascii_uppercase();
            if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(PlanError {
                    at: authorize.country.as_ref().map_or(step.at, |c| c.at),
                    message: format!("`{country}` is not a country code: use two letters, e.g. NL"),
                    undefined_variable: None,
                });
            }
            Some(country)
        }
    };
    let state = match render_opt(&authorize.state)? {
        Some(state) => state,
        None => uuid::Uuid::new_v4().simple().to_string(),
    };
    let reference = match render_opt(&authorize.reference)? {
        Some(given) => Some(reference_id(&given).ok_or_else(|| PlanError {
            at: authorize.reference.as_ref().map_or(step.at, |r| r.at),
            message: format!(
                "`{given}` is neither a referenceId nor a location of \
                 /oauth2/authorization-server-url"
            ),
            undefined_variable: None,
        })?),
        None => None,
    };
    let server_url = match reference {
        Some(_) => None,
        None => {
            let mut query = vec![
                ("scope", scope.as_str()),
                ("redirect_uri", redirect_uri.as_str()),
            ];
            if let Some(country) = &country {
                query.push(("country_code", country));
            }
            let encoded: Vec<String> = query
                .iter()
                .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, URL_COMPONENT)))
                .collect();
            Some(SignedRequest::unsigned(HttpRequest {
                method: "GET".into(),
                url: format!(
                    "{}/oauth2/authorization-server-url?{}",
                    env.api,
                    encoded.join("&")
                ),
                headers: vec![
                    ("Accept".into(), "application/json".into()),
                    ("Authorization".into(), format!("Bearer {token}")),
                ],
                body: Vec::new(),
            }))
        }
    };
    Ok(AuthorizePlan {
        consent_url: format!("{base}/grantssupport/accounts"),
        redirect_uri: Some(redirect_uri),
        state,
        profile: render_opt(&authorize.profile)?,
        cancel: false,
        expects_code: true,
        grants: Some(GrantsSupportPlan {
            base,
            token,
            client_id,
            scope,
            country,
            reference,
            server_url,
        }),
    })
}

/// Runs the consent and returns the redirect as the step's exchange, plus what is wrong with
/// the redirect (empty when it is the one the step asked for).
pub async fn authorize(
    plan: &AuthorizePlan,
    env: &ActiveEnvironment,
    transport: &Transport,
    supply: &CodeSupply,
) -> Result<(Exchange, Vec<String>), String> {
    let exchange = match (&plan.grants, env.kind) {
        (Some(grants), _) => grants_support::consent(plan, grants, transport).await?,
        (None, EnvironmentKind::Embedded) => browser::consent(plan, transport).await?,
        (None, EnvironmentKind::Sandbox | EnvironmentKind::Production) => {
            supply.obtain(plan).await?
        }
    };
    let problems = redirect::check(plan, &exchange.response);
    Ok((exchange, problems))
}
