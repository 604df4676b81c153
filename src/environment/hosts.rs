//! Where an environment's credentials may go: the client certificate, tokens and signatures are
//! sent only to the environment's own origins — `api`, `consent`, `grants_support` and the
//! origins its `hosts:` adds — and never in clear to anything but the embedded sandbox or a
//! loopback mock.

use crate::environment::model::EnvironmentKind;

/// Scheme, host and port of a URL (the port filled in from the scheme).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub scheme: String,
    pub host: String,
    pub port: u16,
}

impl Origin {
    /// The origin of a `hosts:` entry: a URL, or a bare `host[:port]` taken for `https://`.
    pub fn of_entry(entry: &str) -> Result<Origin, String> {
        match entry.contains("://") {
            true => Origin::parse(entry),
            false => Origin::parse(&format!("https://{entry}")),
        }
    }

    /// The origin of the absolute URL `url`.
    pub fn parse(url: &str) -> Result<Origin, String> {
        let parsed = url::Url::parse(url).map_err(|e| {
            format!("`{url}` is not an absolute URL ({e}); write it as https://host[:port][/path]")
        })?;
        let host = parsed
            .host_str()
            .ok_or_else(|| format!("`{url}` names no host"))?
            .to_ascii_lowercase();
        let port = parsed
            .port_or_known_default()
            .ok_or_else(|| format!("`{url}`: unknown scheme `{}`", parsed.scheme()))?;
        Ok(Origin {
            scheme: parsed.scheme().to_string(),
            host,
            port,
        })
    }

    fn is_loopback(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// Why a base URL of an environment of `kind` may not carry credentials, if it may not:
/// `http://` only for the embedded sandbox and for a sandbox on loopback (a local mock).
pub fn cleartext_refusal(kind: EnvironmentKind, field: &str, url: &str) -> Option<String> {
    let origin = match Origin::parse(url) {
        Ok(origin) => origin,
        Err(e) => return Some(format!("`{field}`: {e}")),
    };
    match origin.scheme.as_str() {
        "https" => None,
        "http" if kind == EnvironmentKind::Embedded => None,
        "http" if kind == EnvironmentKind::Sandbox && origin.is_loopback() => None,
        "http" => Some(format!(
            "`{field}: {url}` is plain HTTP: tokens and client secrets would cross the network in \
             clear; use https:// (plain HTTP is for a sandbox on 127.0.0.1 only)"
        )),
        other => Some(format!(
            "`{field}: {url}`: unsupported scheme `{other}`; use https://"
        )),
    }
}

/// The origins that may receive an environment's credentials.
#[derive(Debug, Clone, Default)]
pub struct HostPolicy {
    pub environment: String,
    pub allowed: Vec<Origin>,
}

impl HostPolicy {
    /// `Err` with what to do when `url` is not one of the environment's origins.
    pub fn check(&self, url: &str) -> Result<(), String> {
        let origin = Origin::parse(url)?;
        if self.allowed.contains(&origin) {
            return Ok(());
        }
        let known: Vec<String> = self.allowed.iter().map(Origin::to_string).collect();
        Err(format!(
            "{origin} is not a host of environment `{}` ({}): the client certificate, tokens and \
             signatures go only to the environment's own hosts, so nothing was sent; if the bank \
             really serves this step there, add the host to the environment's `hosts:`; a step \
             meant for a third party says `other_host: true` (and carries no credentials)",
            self.environment,
            known.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(urls: &[&str]) -> HostPolicy {
        HostPolicy {
            environment: "sandbox".into(),
            allowed: urls.iter().map(|u| Origin::of_entry(u).unwrap()).collect(),
        }
    }

    #[test]
    fn only_the_environments_origins_pass() {
        let p = policy(&["https://api.sandbox.ing.com", "auth.example:8443"]);
        assert!(
            p.check("https://api.sandbox.ing.com/v3/accounts?x=1")
                .is_ok()
        );
        assert!(p.check("https://API.sandbox.ing.com:443/").is_ok());
        assert!(p.check("https://auth.example:8443/token").is_ok());
        for foreign in [
            "https://evil.example/v3/accounts",
            "http://api.sandbox.ing.com/v3/accounts",
            "https://api.sandbox.ing.com:8443/",
            "https://api.sandbox.ing.com.evil.example/",
            "https://auth.example/token",
        ] {
            let e = p.check(foreign).unwrap_err();
            assert!(e.contains("is not a host of environment `sandbox`"), "{e}");
            assert!(e.contains("hosts:"), "{e}");
        }
    }

    #[test]
    fn plain_http_only_for_embedded_and_a_loopback_sandbox() {
        use EnvironmentKind::*;
        assert!(cleartext_refusal(Production, "api", "https://api.ing.com").is_none());
        assert!(cleartext_refusal(Embedded, "api", "http://127.0.0.1:1").is_none());
        assert!(cleartext_refusal(Sandbox, "api", "http://127.0.0.1:8080").is_none());
        assert!(cleartext_refusal(Sandbox, "api", "http://[::1]:8080").is_none());
        assert!(cleartext_refusal(Sandbox, "api", "http://localhost:8080").is_none());
        let e = cleartext_refusal(Production, "api", "http://127.0.0.1:1").unwrap();
        assert!(e.contains("plain HTTP"), "{e}");
        assert!(cleartext_refusal(Sandbox, "api", "http://api.example").is_some());
        assert!(cleartext_refusal(Sandbox, "api", "ftp://api.example").is_some());
        let e = cleartext_refusal(Sandbox, "api", "api.example").unwrap();
        assert!(e.contains("not an absolute URL"), "{e}");
    }
}
