//! Reading a consent screen like a browser does: the form's action, its hidden fields and the
//! test profiles offered as radio buttons. Written for ING's sandbox screen as the embedded
//! sandbox renders it; anything else is reported as "not a consent form".

use regex::Regex;
use std::sync::LazyLock;

static FORM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?is)<form\b[^>]*\baction="([^"]*)"[^>]*>(.*?)</form>"#).expect("valid regex")
});
static HIDDEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)<input type="hidden" name="([^"]*)" value="([^"]*)">"#).expect("valid regex")
});
static PROFILE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?is)<input type="radio" name="profile" value="([^"]*)"[^>]*>\s*<span class="name">(.*?)</span>"#,
    )
    .expect("valid regex")
});
static TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?s)<[^>]*>").expect("valid regex"));

/// The consent form of a consent screen.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentForm {
    /// Where the form posts, as written (may be relative).
    pub action: String,
    pub hidden: Vec<(String, String)>,
    /// `(id, name on the screen)`, in screen order.
    pub profiles: Vec<(String, String)>,
}

impl ConsentForm {
    pub fn parse(html: &str) -> Option<ConsentForm> {
        let form = FORM.captures(html)?;
        let inner = form.get(2).map_or("", |m| m.as_str());
        let hidden = HIDDEN
            .captures_iter(inner)
            .map(|c| (unescape(&c[1]), unescape(&c[2])))
            .collect();
        let profiles: Vec<(String, String)> = PROFILE
            .captures_iter(inner)
            .map(|c| (unescape(&c[1]), unescape(&c[2])))
            .collect();
        if profiles.is_empty() {
            return None;
        }
        Some(ConsentForm {
            action: unescape(&form[1]),
            hidden,
            profiles,
        })
    }

    /// The id of the profile named `wanted` (its screen name or its id), or of the first one.
    pub fn choose(&self, wanted: Option<&str>) -> Result<&str, String> {
        let Some(wanted) = wanted else {
            return Ok(&self.profiles[0].0);
        };
        self.profiles
            .iter()
            .find(|(id, name)| id == wanted || name == wanted)
            .map(|(id, _)| id.as_str())
            .ok_or_else(|| {
                let names: Vec<&str> = self.profiles.iter().map(|(_, n)| n.as_str()).collect();
                format!(
                    "the consent screen offers no test profile `{wanted}`; it offers: {}",
                    names.join("; ")
                )
            })
    }

    /// The form body a browser submits: the hidden fields, the profile and the button pressed.
    pub fn submission(&self, profile: &str, cancel: bool) -> String {
        let mut body = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.hidden {
            body.append_pair(name, value);
        }
        body.append_pair("profile", profile);
        body.append_pair("decision", if cancel { "cancel" } else { "allow" });
        body.finish()
    }
}

/// The visible text of an HTML page, whitespace collapsed, for error messages.
pub fn page_text(html: &str) -> String {
    let without_head = html.split_once("</head>").map_or(html, |(_, body)| body);
    let text = unescape(&TAG.replace_all(without_head, " "));
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<html><head><title>x</title></head><body>
<form method="post" action="/authorize/v2/NL">
<input type="hidden" name="client_id" value="abc">
<input type="hidden" name="state" value="a&amp;b">
<label class="profile"><input type="radio" name="profile" value="p1" checked> <span class="name">Hr A van Dijk , Mw B Mol-van Dijk</span><span class="scope">s</span></label>
<label class="profile"><input type="radio" name="profile" value="p2"> <span class="name">Jane Doe</span><span class="scope">s</span></label>
</form></body></html>"#;

    #[test]
    fn reads_the_form_and_submits_like_a_browser() {
        let form = ConsentForm::parse(PAGE).expect("a consent form");
        assert_eq!(form.action, "/authorize/v2/NL");
        assert_eq!(
            form.hidden,
            [
                ("client_id".into(), "abc".into()),
                ("state".into(), "a&b".into())
            ]
        );
        assert_eq!(form.choose(None), Ok("p1"));
        assert_eq!(form.choose(Some("Jane Doe")), Ok("p2"));
        assert_eq!(form.choose(Some("p2")), Ok("p2"));
        let missing = form.choose(Some("Nobody")).unwrap_err();
        assert!(
            missing.contains("Nobody") && missing.contains("Jane Doe"),
            "{missing}"
        );
        assert_eq!(
            form.submission("p2", false),
            "client_id=abc&state=a%26b&profile=p2&decision=allow"
        );
        assert!(form.submission("p2", true).ends_with("decision=cancel"));
    }

    #[test]
    fn an_error_page_is_not_a_form_and_reads_as_text() {
        let page = "<html><head><style>p{}</style></head><body><h1>Something went wrong</h1>\n<p class=\"error\">Unknown client_id &amp; more</p></body></html>";
        assert_eq!(ConsentForm::parse(page), None);
        assert_eq!(
            page_text(page),
            "Something went wrong Unknown client_id & more"
        );
    }
}
