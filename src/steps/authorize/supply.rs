//! Where the redirect comes from when a person has to consent (ING's sandbox or production):
//! `--code`, a loopback redirect listener, or a line on stdin (the redirect URL the browser
//! landed on, or just the code). The consent URL goes to stderr, and to a browser when the run
//! is interactive and one can be opened.

use super::AuthorizePlan;
use super::loopback::{listen, loopback_address, wait_for_redirect};
use crate::http::Exchange;
use crate::steps::sign::SignedRequest;
use obconform_core::wire::HttpRequest;
use obconform_core::wire::HttpResponse;
use std::collections::VecDeque;
use std::io::IsTerminal;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Stands in for a redirect URI the step did not name (the bank used the registered one).
const UNNAMED_REDIRECT: &str = "urn:obconform:registered-redirect-uri";

/// The run's ways of getting an authorization code from a person.
#[derive(Debug)]
pub struct CodeSupply {
    /// `--code` values, used by the `authorize` steps in order.
    codes: Mutex<VecDeque<String>>,
    /// How long to wait for the loopback redirect or a line on stdin.
    timeout: Duration,
    /// Open the consent URL in a browser (an interactive run on a desktop).
    open_browser: bool,
}

impl CodeSupply {
    pub fn new(codes: Vec<String>, timeout: Duration) -> Self {
        let desktop = std::env::var_os("DISPLAY").is_some()
            || std::env::var_os("WAYLAND_DISPLAY").is_some()
            || cfg!(target_os = "macos");
        Self {
            codes: Mutex::new(codes.into()),
            timeout,
            open_browser: desktop && std::io::stdin().is_terminal(),
        }
    }

    /// No `--code`; stdin and a loopback redirect only.
    pub fn none() -> Self {
        Self::new(Vec::new(), Duration::from_secs(300))
    }

    /// The redirect the customer's browser was sent to, as the step's exchange.
    pub async fn obtain(&self, plan: &AuthorizePlan) -> Result<Exchange, String> {
        let started = Instant::now();
        let redirect_uri = plan.redirect_uri.as_deref();
        let next_code = self
            .codes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front();
        let location = if let Some(code) = next_code {
            eprintln!("authorize: using the code given with --code");
            with_code(plan, &code)
        } else if let Some(address) = redirect_uri.and_then(loopback_address) {
            let listener = listen(address).await?;
            self.show(plan, &format!("waiting for the redirect on {address}"));
            let uri = redirect_uri.unwrap_or_default();
            wait_for_redirect(&listener, uri, self.timeout).await?
        } else {
            self.show(
                plan,
                "then paste the URL the browser was sent to (or just the code) and press Enter",
            );
            let line = read_line(self.timeout).await?;
            if line.contains("://") || line.starts_with("urn:") {
                line
            } else {
                with_code(plan, &line)
            }
        };
        Ok(Exchange {
            request: SignedRequest::unsigned(HttpRequest {
                method: "GET".into(),
                url: plan.consent_url.clone(),
                headers: Vec::new(),
                body: Vec::new(),
            }),
            response: HttpResponse {
                status: 302,
                headers: vec![("Location".into(), location)],
                body: Vec::new(),
            },
            elapsed: started.elapsed(),
            server_certificate: None,
        })
    }

    fn show(&self, plan: &AuthorizePlan, next: &str) {
        eprintln!(
            "authorize: the customer must consent. Open this URL in a browser and log in:\n  {}\n  {next}",
            plan.consent_url
        );
        if self.open_browser {
            open_in_browser(&plan.consent_url);
        }
    }
}

/// The redirect a browser would have received for `code`.
fn with_code(plan: &AuthorizePlan, code: &str) -> String {
    let base = plan.redirect_uri.as_deref().unwrap_or(UNNAMED_REDIRECT);
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("state", &plan.state);
    query.append_pair("code", code.trim());
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}{}", query.finish())
}

async fn read_line(timeout: Duration) -> Result<String, String> {
    let mut line = String::new();
    let mut stdin = BufReader::new(tokio::io::stdin());
    match tokio::time::timeout(timeout, stdin.read_line(&mut line)).await {
        Err(_) => Err(format!(
            "no code was entered within {} s; pass --code CODE instead",
            timeout.as_secs()
        )),
        Ok(Err(e)) => Err(format!("cannot read the code from stdin: {e}")),
        Ok(Ok(_)) if line.trim().is_empty() => Err(
            "the customer's consent is needed and stdin gave no code: rerun with --code CODE, \
             or use a loopback redirect_uri such as http://127.0.0.1:8765/callback"
                .into(),
        ),
        Ok(Ok(_)) => Ok(line.trim().to_string()),
    }
}

fn open_in_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let spawned = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if spawned.is_err() {
        eprintln!("authorize: could not start {opener}; open the URL yourself");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(redirect_uri: Option<&str>) -> AuthorizePlan {
        AuthorizePlan {
            consent_url: "https://myaccount.sandbox.ing.com/authorize/v2/NL?x=1".into(),
            redirect_uri: redirect_uri.map(str::to_owned),
            state: "st".into(),
            profile: None,
            cancel: false,
            expects_code: true,
            grants: None,
        }
    }

    #[tokio::test]
    async fn a_code_from_the_command_line_becomes_the_redirect() {
        let supply = CodeSupply::new(vec!["c 1".into()], Duration::from_secs(1));
        let exchange = supply
            .obtain(&plan(Some("https://www.example.com/")))
            .await
            .expect("redirect");
        assert_eq!(exchange.response.status, 302);
        assert_eq!(
            exchange.response.header("location"),
            Some("https://www.example.com/?state=st&code=c+1")
        );
        assert_eq!(
            exchange.request.request.url,
            "https://myaccount.sandbox.ing.com/authorize/v2/NL?x=1"
        );
    }

    #[test]
    fn without_a_redirect_uri_the_code_goes_to_a_stand_in() {
        assert_eq!(
            with_code(&plan(None), "abc"),
            "urn:obconform:registered-redirect-uri?state=st&code=abc"
        );
    }
}
