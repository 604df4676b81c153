//! Granting (guide step 3a/3b): ING's consent application and the authorization codes it issues,
//! plus the old flow's `GET /oauth2/authorization-server-url`.
//!
//! - `GET /authorize/v2/{COUNTRY}?client_id&scope&state&redirect_uri&response_type=code` renders
//!   the test-profile selection screen as a self-contained HTML form; `POST` to the same path
//!   (the form's fields plus `profile`) answers `302 Location: <redirect_uri>?state=…&code=…`.
//!   `GET /authorize/v2` without a country shows the country selection.
//! - `GET /oauth2/authorization-server-url?scope&redirect_uri&country_code` (old flow) answers
//!   ING's `{"location": "https://myaccount.sandbox.ing.com/granting/<uuid>/<COUNTRY>"}` with the
//!   sandbox's consent host in place of ING's (as every URL of the sandbox has its own host):
//!   `<consent host>/granting/<uuid>/<COUNTRY>` with the query of `/authorize/v2` shows the same screen for the redirect URI given to
//!   `authorization-server-url` (which need not be registered: old-flow redirects were configured
//!   outside the API). Using the old flow is remembered for the migration rule.
//!
//! - `GET /grantssupport/accounts` and `POST /grantssupport/{referenceId}/auth-code`: the
//!   sandbox's automated consent that ING's open-banking CLI uses instead of a browser
//!   (`grants_support.rs`).
//!
//! Every refusal of the consent screens is an HTML error page with status 400 (a browser shows it; nothing is redirected
//! and no code is issued) and, where one fits, `X-Obconform-Diagnosis`.
//!
//! The consent page is a browser page at ING (`myaccount.sandbox.ing.com`) and needs no client
//! certificate; the sandbox serves it on its consent listener ([`crate::Sandbox::consent_url`])
//! without one, and on the API listener as well for clients that hold the TLS certificate.
//!
//! The code exchange, refresh and revocation (`/oauth2/token`, `/oauth2/token/revoke`) are in
//! `oauth/`; the codes, refresh tokens and old-flow sessions they use are kept in `grants.rs`
//! ([`GrantStore`]).

mod grants;
mod grants_support;
mod old_flow;
mod page;
mod request;
mod screen;

pub use grants::*;
pub use grants_support::*;
pub use old_flow::*;
use page::*;
pub use page::{is_consent_page_path, method_not_allowed_page, not_found_page};
pub use request::*;
pub use screen::*;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::errors::diagnosis;
    use crate::kernel::html::escape;
    use reqwest::Url;
    use std::time::SystemTime;

    #[test]
    fn state_rule_follows_the_guide() {
        for good in [
            "123456",
            "ANY_ARBITRARY_VALUE",
            "a=b%20c#d,e;f+g/h_i-j",
            "with space",
            "tab\tand\nnewline",
            "3f2b8c1e-7d4a-4c2e-9b1a-0e5f6d7c8b9a",
        ] {
            assert!(check_state(good).is_ok(), "{good:?}");
        }
        for bad in [
            "", "   ", "\t\r\n", "a.b", "a~b", "a<b", "é", "a&b", "a?b", "a:b",
        ] {
            let err = check_state(bad).err();
            assert_eq!(
                err.and_then(|e| e.diagnosis),
                Some(diagnosis::STATE_INVALID),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn redirect_uris_compare_after_normalization() {
        assert!(same_uri("https://example.com", "https://example.com/"));
        assert!(same_uri(
            "https://EXAMPLE.com:443/cb",
            "https://example.com/cb"
        ));
        assert!(!same_uri(
            "https://example.com/cb",
            "https://example.com/cb/"
        ));
        assert!(!same_uri("https://example.com/", "http://example.com/"));
        assert!(!same_uri(
            "https://example.com/?a=1",
            "https://example.com/"
        ));
    }

    #[test]
    fn location_keeps_an_existing_query() {
        let base = Url::parse("https://example.com/cb?tenant=a%20b").ok();
        let location = base.map(|u| redirect_location(&u, &[("state", "x y"), ("code", "c")]));
        assert_eq!(
            location.as_deref(),
            Some("https://example.com/cb?tenant=a%20b&state=x+y&code=c")
        );
        let bare = Url::parse("https://www.example.com").ok();
        let location = bare.map(|u| redirect_location(&u, &[("state", "s"), ("code", "c")]));
        assert_eq!(
            location.as_deref(),
            Some("https://www.example.com/?state=s&code=c")
        );
    }

    #[test]
    fn params_skip_empty_names_and_refuse_duplicates() {
        let params = Params::parse(b"&client_id=a&scope=x+y&state=");
        let params = params.ok().unwrap_or_default();
        assert_eq!(params.get("client_id"), Some("a"));
        assert_eq!(params.get("scope"), Some("x y"));
        assert_eq!(params.get("state"), Some(""));
        assert_eq!(params.non_empty("state"), None);
        assert!(Params::parse(b"a=1&a=2").is_err());
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn codes_are_single_use_and_expire() {
        let store = GrantStore::default();
        let now = SystemTime::now();
        let record = AuthorizationCode {
            client_id: "c".into(),
            scopes: vec![],
            redirect_uri: None,
            effective_redirect_uri: "https://example.com/".into(),
            country: "NL",
            profile_id: "jane-doe",
            account_ids: vec![],
            issued_at: now,
            expires_at: now + CODE_LIFETIME,
            legacy: false,
            used: false,
        };
        store.insert_code("a".into(), record.clone(), now);
        store.insert_code("b".into(), record, now);
        // A refused check leaves the code usable.
        let refused = store.redeem_code("a", now, |_| Err(invalid_grant("no")));
        assert!(refused.is_err());
        assert!(store.redeem_code("a", now, |_| Ok(())).is_ok());
        let again = store.redeem_code("a", now, |_| Ok(())).err();
        assert_eq!(
            again.map(|e| e.diagnosis),
            Some(vec![diagnosis::CODE_EXPIRED])
        );
        let late = store
            .redeem_code("b", now + CODE_LIFETIME, |_| Ok(()))
            .err();
        assert_eq!(
            late.map(|e| e.diagnosis),
            Some(vec![diagnosis::CODE_EXPIRED])
        );
        let unknown = store.redeem_code("x", now, |_| Ok(())).err();
        assert_eq!(unknown.map(|e| e.diagnosis), Some(vec![]));
    }
}
