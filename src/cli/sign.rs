//! `obconform sign`: sign one request outside any scenario and print what to send — the signing
//! input, every header, and a ready-to-run curl command. The key is read, never printed.

use super::{Outcome, SignArgs};
use crate::context::template_data;
use crate::environment::active::EmbeddedTarget;
use crate::environment::model::EnvironmentKind;
use crate::environment::{load_environments, locate_environments_file};
use crate::report::curl::{CurlIdentity, quote_bytes, shell_quote};
use crate::scenario::model::{Flow, SignProfile};
use crate::steps::sign::{SignInputs, SignedRequest, key_role, sign};
use crate::template::Renderer;
use obconform_core::certs::load_leaf_and_key;
use obconform_core::certs::test_pki::PkiFiles;
use obconform_core::sign::{Algorithm, SigningKey};
use obconform_core::wire::HttpRequest;
use obconform_core::wire::is_tchar;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

/// What a signing needs once the arguments are resolved.
struct Resolved {
    profile: SignProfile,
    key: Option<Arc<SigningKey>>,
    key_id: Option<String>,
    audience: Option<String>,
    client_id: Option<String>,
    /// The TLS client identity for the curl command.
    tls: Option<CurlIdentity>,
    /// A CA file for curl's `--cacert` (the embedded sandbox's own CA).
    cacert: Option<PathBuf>,
}

pub fn sign_command(args: SignArgs) -> Outcome {
    match sign_and_print(&args) {
        Ok(()) => Outcome::Success,
        Err(message) => {
            crate::error_chain::print_error(message);
            Outcome::UsageError
        }
    }
}

fn sign_and_print(args: &SignArgs) -> Result<(), String> {
    let request = planned_request(args)?;
    let resolved = match (&args.profile, args.flow) {
        (Some(name), None) => from_profile(args, name)?,
        (None, Some(flow)) => ad_hoc(args, flow)?,
        _ => return Err("give either --profile NAME or --flow FLOW".into()),
    };
    let now = match &args.now {
        Some(text) => chrono::DateTime::parse_from_rfc3339(text)
            .map(SystemTime::from)
            .map_err(|e| format!("--now `{text}` is not RFC 3339: {e}"))?,
        None => SystemTime::now(),
    };
    let inputs = SignInputs {
        key: resolved.key.as_deref(),
        key_id: resolved.key_id.as_deref(),
        audience: resolved.audience.as_deref(),
        client_id: resolved.client_id.as_deref(),
        now,
    };
    let signed = sign(request, &resolved.profile, &inputs).map_err(|e| e.to_string())?;
    print!(
        "{}",
        render_output(&signed, resolved.tls.as_ref(), resolved.cacert.as_ref())
    );
    Ok(())
}

fn planned_request(args: &SignArgs) -> Result<HttpRequest, String> {
    let mut headers = Vec::new();
    for header in &args.headers {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| format!("--header `{header}` is not `Name: value`"))?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let body = match (&args.body_file, args.form.is_empty()) {
        (Some(path), true) => std::fs::read(path)
            .map_err(|e| format!("cannot read --body-file {}: {e}", path.display()))?,
        (None, false) => {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for pair in &args.form {
                let (k, v) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("--form `{pair}` is not `name=value`"))?;
                form.append_pair(k, v);
            }
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                headers.push((
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ));
            }
            form.finish().into_bytes()
        }
        (None, true) => Vec::new(),
        (Some(_), false) => return Err("give --body-file or --form, not both".into()),
    };
    reqwest::Url::parse(&args.url).map_err(|e| format!("--url `{}`: {e}", args.url))?;
    if args.method.is_empty() || !args.method.chars().all(is_tchar) {
        return Err(format!(
            "--method `{}` is not an HTTP method (a token such as GET, POST, PUT)",
            args.method.escape_debug()
        ));
    }
    Ok(HttpRequest {
        method: args.method.to_ascii_uppercase(),
        url: args.url.clone(),
        headers,
        body,
    })
}

/// `--profile NAME [--env E]`: the profile, certificates and client_id of an environment.
fn from_profile(args: &SignArgs, name: &str) -> Result<Resolved, String> {
    let path =
        locate_environments_file(args.environments.as_deref(), &[]).map_err(|e| e.to_string())?;
    let source = load_environments(&path).map_err(|e| e.to_string())?;
    let env_name = source.resolve_name(args.env.as_deref());
    let embedded = match (source.kind_of(&env_name), &args.pki) {
        (Some(EnvironmentKind::Embedded), Some(dir)) => Some(EmbeddedTarget::new(
            origin_of(&args.url),
            // Signing never visits the consent screens.
            origin_of(&args.url),
            PkiFiles::in_dir(dir),
        )),
        (Some(EnvironmentKind::Embedded), None) => {
            return Err(format!(
                "environment `{env_name}` takes its certificates from the embedded sandbox: pass --pki DIR (the folder of `obconform sandbox --pki DIR`), or use --flow with --cert/--key"
            ));
        }
        _ => None,
    };
    let env = source
        .activate(&env_name, embedded.as_ref(), &[], &|var| {
            std::env::var(var).ok()
        })
        .map_err(|e| e.to_string())?;
    for warning in &env.cert_warnings {
        eprintln!("warning: environment `{env_name}`: {warning}");
    }
    let profile = env.profile(name).ok_or_else(|| {
        format!(
            "unknown signing profile `{name}` in environment `{env_name}`; known: {}",
            env.profile_names().join(", ")
        )
    })?;
    let client_id = args.client_id.clone().or_else(|| env.client_id.clone());
    let mut data = template_data(&env);
    if let Some(id) = &client_id {
        data.insert("client_id".into(), Value::String(id.clone()));
    }
    let data = Value::Object(data);
    let renderer = Renderer::new();
    let render = |template: &Option<String>| -> Result<Option<String>, String> {
        template
            .as_deref()
            .map(|t| {
                renderer.render(t, &data).map_err(|e| {
                    format!("profile `{name}`: {e} (pass --client-id if it is `client_id`)")
                })
            })
            .transpose()
    };
    let tls = env
        .certs
        .iter()
        .find(|(role, _)| role == "tls")
        .map(|(_, files)| CurlIdentity::of(files));
    Ok(Resolved {
        key: key_role(&profile).and_then(|role| env.signing_key(role).cloned()),
        key_id: match &args.key_id {
            Some(key_id) => Some(key_id.clone()),
            None => render(&profile.key_id)?,
        },
        audience: render(&profile.audience)?,
        profile,
        client_id,
        tls,
        cacert: embedded.map(|target| target.pki.ca_cert),
    })
}

/// `--flow F --cert PEM --key PEM [--alg A] [--key-id K] [--headers LIST]`.
fn ad_hoc(args: &SignArgs, flow: Flow) -> Result<Resolved, String> {
    let algorithm = args
        .alg
        .as_deref()
        .map(|name| {
            Algorithm::from_name(name).ok_or_else(|| {
                let known: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
                format!("--alg `{name}` is unknown; one of: {}", known.join(", "))
            })
        })
        .transpose()?;
    let headers = args.signed_headers.as_deref().map(|list| {
        list.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|h| !h.is_empty())
            .map(str::to_string)
            .collect()
    });
    let profile = SignProfile {
        flow,
        algorithm,
        headers,
        placement: args.placement,
        certificate_header: args.certificate_header.then_some(true),
        request_target_omits: args.request_target_omits.clone(),
        ..SignProfile::default()
    };
    let key = if flow == Flow::Mtls {
        None
    } else {
        let (Some(cert), Some(key)) = (&args.cert, &args.key) else {
            return Err(format!(
                "--flow {} needs --cert PEM and --key PEM",
                flow.name()
            ));
        };
        let passphrase = args
            .passphrase_env
            .as_deref()
            .map(|var| (var, std::env::var(var).ok()));
        let (leaf, key) = load_leaf_and_key(cert, key, passphrase).map_err(|e| e.to_string())?;
        // No environment says which bank this is for: a warning, not a refusal; and none when
        // `--now` reproduces a request of another time.
        use crate::environment::active::{Validity, validity};
        let kind = crate::environment::model::EnvironmentKind::Production;
        if args.now.is_none()
            && let Validity::Refused(why) | Validity::ExpiringSoon(why) =
                validity(&leaf, kind, chrono::Utc::now())
        {
            eprintln!("warning: --cert {}: {why}", cert.display());
        }
        Some(Arc::new(SigningKey::new(leaf, key)))
    };
    Ok(Resolved {
        profile,
        key,
        key_id: args.key_id.clone(),
        audience: args.audience.clone(),
        client_id: args.client_id.clone(),
        tls: args
            .tls_cert
            .clone()
            .zip(args.tls_key.clone())
            .map(|(cert, key)| CurlIdentity::pem(cert, key)),
        cacert: args.cacert.clone(),
    })
}

fn origin_of(url: &str) -> String {
    reqwest::Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// The three parts of the output: signing input, headers, curl.
fn render_output(
    signed: &SignedRequest,
    tls: Option<&CurlIdentity>,
    cacert: Option<&PathBuf>,
) -> String {
    let request = &signed.request;
    let mut out = String::new();
    match &signed.signing_input {
        Some(input) => {
            out.push_str("# signing input\n");
            out.push_str(input);
            out.push_str("\n\n");
        }
        None => out.push_str("# signing input\n(none: mtls sends no message signature)\n\n"),
    }
    out.push_str("# headers\n");
    for (name, value) in &request.headers {
        out.push_str(&format!("{name}: {value}\n"));
    }
    out.push_str("\n# curl\n");
    out.push_str(&format!(
        "curl -i -X {} {}",
        shell_quote(&request.method),
        shell_quote(&request.url)
    ));
    for (name, value) in &request.headers {
        out.push_str(&format!(
            " \\\n  -H {}",
            shell_quote(&format!("{name}: {value}"))
        ));
    }
    if !request.body.is_empty() {
        out.push_str(&format!(
            " \\\n  --data-binary {}",
            quote_bytes(&request.body)
        ));
    }
    let path = |p: &PathBuf| shell_quote(&p.display().to_string());
    let identity = match tls {
        Some(identity) => {
            let key = identity.key.as_ref().map(path).unwrap_or_default();
            identity.flags(&path(&identity.cert), &key)
        }
        None => "--cert \"$TLS_CERT\" --key \"$TLS_KEY\"".to_string(),
    };
    out.push_str(&format!(" \\\n  {identity}"));
    if let Some(ca) = cacert {
        out.push_str(&format!(
            " --cacert {}",
            shell_quote(&ca.display().to_string())
        ));
    }
    out.push('\n');
    out
}
