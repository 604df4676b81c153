//! The curl export: one bash script per request a run sent, reproducing it byte for byte with
//! curl — every secret read from an environment variable the script checks before sending.
//!
//! `render` is pure (a request, the run's secrets and the TLS settings in, the script's text
//! out); `files` lays the scripts out under the export folder.

pub mod files;
pub mod identity;
pub mod quote;
pub mod secrets;

pub use identity::{CertType, CurlIdentity};
pub use quote::{quote_bytes, shell_quote};

use crate::archive::sidecar::rfc3339;
use crate::http::USER_AGENT;
use obconform_core::wire::{HttpRequest, find_header};
use secrets::{Piece, Secrets};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A script and what it needs to run.
#[derive(Debug, Clone)]
pub struct CurlScript {
    pub text: String,
    /// The secrets the script reads from the environment, in the order it checks them.
    pub variables: Vec<SecretVariable>,
    /// Environment variables the script needs whose values the run never held (the TLS key's
    /// passphrase or PKCS#12 password: the environment names the variable).
    pub passphrase_variables: Vec<String>,
    /// The body, to be written beside the script under `ScriptContext::body_file`, when it holds
    /// no secret (a body with secrets is built inside the script instead).
    pub body_file: Option<Vec<u8>>,
}

/// One secret of a script: set `name` to `value` to run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretVariable {
    /// `OBCONFORM_AUTHORIZATION`, `OBCONFORM_APP_TOKEN`, …
    pub name: String,
    /// Where it goes: "the Bearer token in the Authorization header of step 3 (known to the run
    /// as app_token)".
    pub what: String,
    /// The real value; never written anywhere.
    pub value: String,
}

/// Where the request came from, for the script's header and its body file.
#[derive(Debug, Clone)]
pub struct ScriptContext<'a> {
    /// `system::file-stem`.
    pub scenario: &'a str,
    pub scenario_path: &'a Path,
    /// From 1.
    pub step_number: usize,
    pub step_name: &'a str,
    /// (attempt, of) for a `retry` step that sent more than once.
    pub attempt: Option<(usize, usize)>,
    /// "embedded (embedded, https://127.0.0.1:4431)".
    pub environment: &'a str,
    pub sent_at: SystemTime,
    /// The name of the body file beside the script.
    pub body_file: &'a str,
}

/// How the script does TLS.
#[derive(Debug, Clone)]
pub struct CurlTls {
    /// The certificate role the request presented (`tls`, `new_tls`).
    pub role: String,
    /// `None`: the environment has no certificate for the role; none is presented.
    pub identity: Option<CurlIdentity>,
    pub server: ServerTrust,
}

/// How curl verifies the server.
#[derive(Debug, Clone)]
pub enum ServerTrust {
    /// curl's own CA bundle (the environment trusts the system store).
    System,
    /// Only this CA file (the environment's own anchors); relative: to the script's folder.
    CaFile(PathBuf),
    /// The system store and this file: curl takes one bundle, so the script says so.
    SystemAndCaFile(PathBuf),
    /// The environment has `insecure: true`.
    Insecure,
}

/// The script that sends `request` again, exactly.
pub fn render(
    context: &ScriptContext<'_>,
    request: &HttpRequest,
    known_secrets: &[(&str, &str)],
    tls: &CurlTls,
) -> CurlScript {
    let mut secrets = Secrets::new(known_secrets, context.step_number);
    let url = secrets.url(&request.url);
    let headers: Vec<Vec<Piece>> = request
        .headers
        .iter()
        .map(|(name, value)| {
            let mut line = vec![Piece::Text(header_prefix(name, value).into_bytes())];
            line.extend(secrets.header(name, value));
            secrets::merge(line)
        })
        .collect();
    let content_type = find_header(&request.headers, "content-type");
    let body = secrets.body(&request.body, content_type);
    let body_has_secret = body.iter().any(|p| matches!(p, Piece::Var(_)));
    let variables = secrets.variables;
    let passphrase_variables: Vec<String> = tls
        .identity
        .iter()
        .filter_map(|identity| identity.passphrase_env.clone())
        .collect();

    let mut out = String::new();
    header_comment(&mut out, context, &variables, &passphrase_variables, tls);
    out.push_str("set -euo pipefail\n\n");
    for variable in &variables {
        let what = plain(&variable.what);
        out.push_str(&format!(
            ": \"${{{name}:?set {name} to {what}}}\"\n",
            name = variable.name
        ));
    }
    for var in &passphrase_variables {
        out.push_str(&format!(
            ": \"${{{var}:?set {var} to the passphrase of the TLS key of role {}}}\"\n",
            plain(&tls.role)
        ));
    }
    if !variables.is_empty() || !passphrase_variables.is_empty() {
        out.push('\n');
    }
    out.push_str("here=$(dirname \"$0\")\n");
    let tls_flags = tls_setup(&mut out, tls);

    let word = |pieces: &[Piece]| shell_word(pieces, &variables);
    let mut args: Vec<String> = Vec::new();
    let method = request.method.as_str();
    let method_flag = if method.eq_ignore_ascii_case("HEAD") {
        // `-X HEAD` would wait for a body that never comes.
        "--head".to_string()
    } else if !method.is_empty() && method.bytes().all(|b| b.is_ascii_alphabetic()) {
        format!("-X {method}")
    } else {
        format!("-X {}", shell_quote(method))
    };
    args.push(format!("{method_flag} {}", word(&url)));
    args.extend(headers.iter().map(|line| format!("-H {}", word(line))));
    if find_header(&request.headers, "user-agent").is_none() {
        args.push(format!(
            "-H {}",
            shell_quote(&format!("User-Agent: {USER_AGENT}"))
        ));
    }
    let mut stdin_body = None;
    if !request.body.is_empty() {
        // curl would add these to a body; the original request had neither.
        args.push("-H 'Expect:'".into());
        if content_type.is_none() {
            args.push("-H 'Content-Type:'".into());
        }
        if body_has_secret {
            args.push("--data-binary @-".into());
            stdin_body = Some(body_builder(&body, &variables));
        } else {
            // `@` and the file beside the script.
            let file = shell_quote(context.body_file);
            args.push(format!("--data-binary \"@$here/\"{file}"));
        }
    }
    args.extend(tls_flags);

    out.push('\n');
    if find_header(&request.headers, "accept").is_none() {
        out.push_str(
            "# No Accept: curl's own `Accept: */*` is what obconform's client sent too.\n",
        );
    }
    let command = format!(
        "curl -q --http1.1 -sS -i --path-as-is --globoff --noproxy '*' \\\n  {}\n",
        args.join(" \\\n  ")
    );
    match stdin_body {
        Some((builder, feed)) => {
            out.push_str(&builder);
            out.push_str(&format!("{feed} | {command}"));
        }
        None => out.push_str(&command),
    }
    CurlScript {
        text: out,
        variables,
        passphrase_variables,
        body_file: (!request.body.is_empty() && !body_has_secret).then(|| request.body.clone()),
    }
}

/// `Name: ` for `-H`; `Name;` is curl's way to send a header with an empty value.
fn header_prefix(name: &str, value: &str) -> String {
    if value.is_empty() {
        format!("{name};")
    } else {
        format!("{name}: ")
    }
}

/// The comment at the top: where the request came from, the Date caveat, the variables.
fn header_comment(
    out: &mut String,
    context: &ScriptContext<'_>,
    variables: &[SecretVariable],
    passphrases: &[String],
    tls: &CurlTls,
) {
    let attempt = context
        .attempt
        .map(|(n, of)| format!(", attempt {n} of {of}"))
        .unwrap_or_default();
    out.push_str("#!/usr/bin/env bash\n");
    out.push_str(&format!(
        "# obconform curl export\n# scenario:    {} ({})\n# step:        {}. {}{attempt}\n# environment: {}\n# sent:        {}\n#\n",
        plain(context.scenario),
        plain(&context.scenario_path.display().to_string()),
        context.step_number,
        plain(context.step_name),
        plain(context.environment),
        rfc3339(context.sent_at),
    ));
    out.push_str(
        "# Reproduces the request byte for byte; Date/Digest/Signature are those of the original\n\
         # request, so a bank refuses it once the Date is older than its window (ING: a few\n\
         # minutes) — re-run obconform for a fresh one.\n",
    );
    if variables.is_empty() && passphrases.is_empty() {
        out.push_str("#\n# No secrets: nothing to set.\n");
    } else {
        out.push_str("#\n# Secrets are not in this file: set these environment variables first.\n");
        for variable in variables {
            out.push_str(&format!(
                "#   {}: {}\n",
                variable.name,
                plain(&variable.what)
            ));
        }
        for var in passphrases {
            out.push_str(&format!(
                "#   {var}: the passphrase of the TLS key of role {}\n",
                plain(&tls.role)
            ));
        }
    }
}

/// The lines setting the certificate and CA paths (each overridable from the environment); the
/// curl flags that use them.
fn tls_setup(out: &mut String, tls: &CurlTls) -> Vec<String> {
    let mut flags = Vec::new();
    let role = plain(&tls.role);
    match &tls.identity {
        Some(identity) => {
            out.push_str(&format!(
                "# The client certificate of role {role} (OBCONFORM_TLS_CERT, OBCONFORM_TLS_KEY override).\n"
            ));
            out.push_str(&format!(
                "tls_cert=${{OBCONFORM_TLS_CERT:-{}}}\n",
                path_word(&identity.cert)
            ));
            if let Some(key) = &identity.key {
                out.push_str(&format!(
                    "tls_key=${{OBCONFORM_TLS_KEY:-{}}}\n",
                    path_word(key)
                ));
            }
            flags.push(identity.flags("\"$tls_cert\"", "\"$tls_key\""));
        }
        None => out.push_str(&format!(
            "# No client certificate: the environment has none for role {role}.\n"
        )),
    }
    match &tls.server {
        ServerTrust::System => {}
        ServerTrust::CaFile(path) => {
            out.push_str("# The environment's own trust anchors (OBCONFORM_CACERT overrides).\n");
            out.push_str(&format!(
                "cacert=${{OBCONFORM_CACERT:-{}}}\n",
                path_word(path)
            ));
            flags.push("--cacert \"$cacert\"".into());
        }
        ServerTrust::SystemAndCaFile(path) => out.push_str(&format!(
            "# The environment trusts the system store and the anchors in {}: curl takes one\n\
             # bundle (its own here); add that file to it if the server's CA is among them.\n",
            plain(&path.display().to_string())
        )),
        ServerTrust::Insecure => {
            out.push_str(
                "# The environment is `insecure: true`: the server's certificate is not verified.\n",
            );
            flags.push("--insecure".into());
        }
    }
    flags
}

/// A path as a shell word: absolute literal, or relative to the script's folder.
fn path_word(path: &Path) -> String {
    let text = path.display().to_string();
    if path.is_absolute() {
        shell_quote(&text)
    } else {
        format!("\"$here/\"{}", shell_quote(&text))
    }
}

/// Pieces as one shell word: literals quoted, variables as `"${NAME}"`.
fn shell_word(pieces: &[Piece], variables: &[SecretVariable]) -> String {
    let word: String = pieces
        .iter()
        .map(|piece| match piece {
            Piece::Text(text) if text.is_empty() => String::new(),
            Piece::Text(text) => quote_bytes(text),
            Piece::Var(i) => format!("\"${{{}}}\"", variables[*i].name),
        })
        .collect();
    if word.is_empty() { "''".into() } else { word }
}

/// The shell code that builds a body holding secrets, and the command printing it. A shell
/// variable cannot hold a NUL byte, so such a body is printed piece by piece by a function.
fn body_builder(body: &[Piece], variables: &[SecretVariable]) -> (String, &'static str) {
    let has_nul = body
        .iter()
        .any(|p| matches!(p, Piece::Text(text) if text.contains(&0)));
    if !has_nul {
        let code = format!(
            "# The body, with its secrets from the environment (not a byte changed).\nbody={}\n",
            shell_word(body, variables)
        );
        return (code, "printf '%s' \"$body\"");
    }
    let mut out = String::from(
        "# The body, with its secrets from the environment (not a byte changed; it holds NUL\n# bytes, which a shell variable cannot).\nbody() {\n",
    );
    for piece in body {
        match piece {
            Piece::Text(text) => {
                for (i, part) in text.split(|&b| b == 0).enumerate() {
                    if i > 0 {
                        out.push_str("  printf '\\000'\n");
                    }
                    if !part.is_empty() {
                        out.push_str(&format!("  printf '%s' {}\n", quote_bytes(part)));
                    }
                }
            }
            Piece::Var(i) => {
                out.push_str(&format!("  printf '%s' \"${{{}}}\"\n", variables[*i].name))
            }
        }
    }
    out.push_str("}\n");
    (out, "body")
}

/// Text safe in a comment and inside `"${VAR:?…}"`: no quotes, `$`, backticks, backslashes,
/// braces or control characters.
fn plain(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '"' | '\'' | '$' | '`' | '\\' | '{' | '}') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
