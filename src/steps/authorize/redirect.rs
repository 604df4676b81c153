//! Checking the redirect that ends a consent: back to the redirect URI, with the `state` that
//! was sent, and with a `code` unless the customer cancelled.

use super::AuthorizePlan;
use obconform_core::wire::HttpResponse;
use reqwest::Url;

/// What is wrong with the redirect; empty when it is what the step asked for.
pub fn check(plan: &AuthorizePlan, response: &HttpResponse) -> Vec<String> {
    if response.status != 302 && response.status != 303 {
        return vec![format!(
            "the consent ended with HTTP {} instead of a redirect to the redirect URI",
            response.status
        )];
    }
    let Some(location) = response.header("location") else {
        return vec!["the redirect has no Location header".into()];
    };
    let Ok(url) = Url::parse(location) else {
        return vec!["the redirect's Location is not an absolute URL".into()];
    };
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let mut problems = Vec::new();
    if let Some(expected) = &plan.redirect_uri
        && !same_target(&url, expected)
    {
        problems.push(format!(
            "the redirect goes to {}, not to the redirect_uri {expected}",
            without_query(&url)
        ));
    }
    if !plan.expects_code {
        // An aggregator sends the customer back without a code; only a refusal matters.
        if let Some(error) = param("error") {
            if !plan.cancel {
                problems.push(format!("the consent was not given: error={error}"));
            }
        } else if plan.cancel {
            problems.push("the customer cancelled, yet the redirect carries no `error`".into());
        }
        return problems;
    }
    match param("state") {
        Some(state) if state == plan.state => {}
        Some(_) => problems.push(
            "the redirect carries another `state` than the consent request sent: refuse it \
             (it may be a forged redirect)"
                .into(),
        ),
        None => problems.push("the redirect carries no `state`".into()),
    }
    match (param("code"), param("error"), plan.cancel) {
        (Some(_), None, false) | (None, Some(_), true) => {}
        (None, Some(error), false) => problems.push(format!(
            "the consent was not given: error={error}{}",
            param("error_description")
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        )),
        (Some(_), _, true) => {
            problems.push("the customer cancelled, yet the redirect carries a code".into())
        }
        _ => problems.push("the redirect carries neither `code` nor `error`".into()),
    }
    problems
}

/// Scheme, host, port and path equal; a bare origin and the same with `/` are one URI.
fn same_target(url: &Url, expected: &str) -> bool {
    let Ok(expected) = Url::parse(expected) else {
        return false;
    };
    url.scheme() == expected.scheme()
        && url.host_str() == expected.host_str()
        && url.port_or_known_default() == expected.port_or_known_default()
        && url.path() == expected.path()
}

fn without_query(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(cancel: bool) -> AuthorizePlan {
        AuthorizePlan {
            consent_url: "https://bank/authorize/v2/NL?x".into(),
            redirect_uri: Some("https://www.example.com".into()),
            state: "s1".into(),
            profile: None,
            cancel,
            expects_code: true,
            grants: None,
        }
    }

    fn redirect(location: &str) -> HttpResponse {
        HttpResponse {
            status: 302,
            headers: vec![("Location".into(), location.into())],
            body: Vec::new(),
        }
    }

    #[test]
    fn a_good_redirect_has_no_problems() {
        let ok = redirect("https://www.example.com/?state=s1&code=c");
        assert!(check(&plan(false), &ok).is_empty());
        let cancelled = redirect("https://www.example.com/?state=s1&error=access_denied");
        assert!(check(&plan(true), &cancelled).is_empty());
    }

    #[test]
    fn state_target_and_error_are_checked() {
        let forged = check(
            &plan(false),
            &redirect("https://www.example.com/?state=s2&code=c"),
        );
        assert!(forged[0].contains("another `state`"), "{forged:?}");
        let elsewhere = check(
            &plan(false),
            &redirect("https://evil.example/?state=s1&code=c"),
        );
        assert!(elsewhere[0].contains("evil.example"), "{elsewhere:?}");
        let denied = check(
            &plan(false),
            &redirect("https://www.example.com/?state=s1&error=access_denied"),
        );
        assert!(denied[0].contains("error=access_denied"), "{denied:?}");
        let not_redirect = HttpResponse {
            status: 400,
            headers: Vec::new(),
            body: Vec::new(),
        };
        assert!(check(&plan(false), &not_redirect)[0].contains("HTTP 400"));
    }

    #[test]
    fn an_aggregators_redirect_needs_no_code_but_must_not_carry_an_error() {
        let mut hub = plan(false);
        hub.expects_code = false;
        let given = redirect("https://www.example.com/?consentId=c1&status=given");
        assert!(check(&hub, &given).is_empty());
        let refused = redirect("https://www.example.com/?consentId=c1&error=access_denied");
        assert!(check(&hub, &refused)[0].contains("error=access_denied"));
        let elsewhere = redirect("https://evil.example/?consentId=c1&status=given");
        assert!(check(&hub, &elsewhere)[0].contains("not to the redirect_uri"));
        hub.cancel = true;
        assert!(check(&hub, &refused).is_empty());
        assert!(check(&hub, &given)[0].contains("no `error`"));
    }
}
