//! Bad input, table-driven: each case is a command, the files it reads, the exit code and the
//! start of the first line it prints (stderr's, or stdout's when stderr is empty) — and never a
//! panic. Cases run in a fresh folder each, the command's working directory.
//!
//! In a case: `args` is split on spaces (`%20` stands for a space inside one argument); a file's
//! content `$HEAD` / `$STEP` / `$TOKEN` is replaced by a scenario head / a valid step / a valid
//! token request, and a content that is exactly `@ca`, `@tls_cert`, `@tls_key`, `@sign_cert`,
//! `@sign_key`, `@enc_key` (the TLS key encrypted with `secret`), `@p12` (TLS pair, password
//! `secret`) or `@der` (TLS certificate, DER) becomes that file of a test PKI generated once;
//! `@part1`, `@part2` are the example partitioned run's reports, `@whole`, `@part1of3` and
//! `@format9` the first part made a whole run, part 1 of 3 and of another report format.
//! A `run` case gets the embedded environments.yaml unless it writes its own.
//!
//! `OBCONFORM_BAD_INPUT_DUMP=FILE` records what each case printed (name, code, first line) in FILE
//! instead of checking: for writing new cases.

use crate::common::{EMBEDDED_ENV, Output, obconform_with_env};
use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

struct Case {
    name: &'static str,
    args: &'static str,
    files: &'static [(&'static str, &'static str)],
    code: i32,
    first: &'static str,
}

const fn c(
    name: &'static str,
    args: &'static str,
    files: &'static [(&'static str, &'static str)],
    code: i32,
    first: &'static str,
) -> Case {
    Case {
        name,
        args,
        files,
        code,
        first,
    }
}

const HEAD: &str = "name: bad input\nsystem: test\nsteps:";
const STEP: &str = "\n  - name: token\n    request:\n      method: POST\n      url: \"{{env.api}}/oauth2/token\"\n      form: { grant_type: client_credentials }\n    expect: { status: 200 }\n";
const TOKEN: &str =
    "method: POST, url: \"{{env.api}}/oauth2/token\", form: { grant_type: client_credentials }";

/// The test PKI's files as bytes, by name (`@ca`, `@tls_key`, …), generated once for the suite.
fn pki() -> &'static HashMap<&'static str, Vec<u8>> {
    static PKI: OnceLock<HashMap<&'static str, Vec<u8>>> = OnceLock::new();
    PKI.get_or_init(|| {
        use obconform::certs::test_pki::TestPki;
        let dir = tempfile::tempdir().unwrap();
        let pki = TestPki::generate(&[]).unwrap();
        let files = pki.write_to(dir.path()).unwrap();
        let read = |p: &Path| std::fs::read(p).unwrap();
        let key = &pki.client_tls.key;
        let enc = key
            .private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_256_cbc(), b"secret")
            .unwrap();
        let p12 = openssl::pkcs12::Pkcs12::builder()
            .name("tls")
            .pkey(key)
            .cert(&pki.client_tls.cert)
            .build2("secret")
            .unwrap()
            .to_der()
            .unwrap();
        HashMap::from([
            ("@ca", read(&files.ca_cert)),
            ("@tls_cert", read(&files.client_tls_cert)),
            ("@tls_key", read(&files.client_tls_key)),
            ("@sign_cert", read(&files.client_signing_cert)),
            ("@sign_key", read(&files.client_signing_key)),
            ("@enc_key", enc),
            ("@p12", p12),
            ("@der", pki.client_tls.cert.to_der().unwrap()),
        ])
    })
}

fn content(text: &str) -> Vec<u8> {
    if let Some(bytes) = pki().get(text) {
        return bytes.clone();
    }
    match text {
        "@part1" | "@part2" | "@whole" | "@part1of3" | "@format9" => report(text),
        _ => text
            .replace("$HEAD", HEAD)
            .replace("$STEP", STEP)
            .replace("$TOKEN", TOKEN)
            .into_bytes(),
    }
}

/// A part of the example partitioned run (`tests/fuzz/corpus/report/`), maybe changed.
fn report(which: &str) -> Vec<u8> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus/report");
    let file = if which == "@part2" {
        "part-2-of-2.json"
    } else {
        "part-1-of-2.json"
    };
    let mut report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(corpus.join(file)).unwrap()).unwrap();
    match which {
        "@whole" => report["partitions"] = serde_json::json!([]),
        "@part1of3" => report["partitions"] = serde_json::json!([{ "index": 1, "count": 3 }]),
        "@format9" => report["format"] = serde_json::json!(9),
        _ => {}
    }
    serde_json::to_vec_pretty(&report).unwrap()
}

fn first_line(out: &Output) -> String {
    let text = if out.stderr.trim().is_empty() {
        &out.stdout
    } else {
        &out.stderr
    };
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_string()
}

fn check(cases: &[Case]) {
    let dump = std::env::var("OBCONFORM_BAD_INPUT_DUMP").ok();
    let mut failures = Vec::new();
    for case in cases {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in case.files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, content(text)).unwrap();
        }
        let args: Vec<String> = case
            .args
            .split_whitespace()
            .map(|a| a.replace("%20", " "))
            .collect();
        if args.first().is_some_and(|a| a == "run")
            && !case.files.iter().any(|(n, _)| *n == "environments.yaml")
        {
            std::fs::write(dir.path().join("environments.yaml"), EMBEDDED_ENV).unwrap();
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = obconform_with_env(
            &args,
            dir.path(),
            &[
                ("OBCONFORM_FUZZ_PASS", "secret"),
                ("OBCONFORM_WRONG_PASS", "wrong"),
            ],
        );
        out.assert_no_panic();
        // Temporary paths vary: expectations say `$DIR` for the case's folder.
        let first = first_line(&out).replace(&dir.path().display().to_string(), "$DIR");
        if let Some(dump) = &dump {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dump)
                .unwrap();
            writeln!(f, "{}\t{}\t{}", case.name, out.code, first).unwrap();
            continue;
        }
        if out.code != case.code || !first.starts_with(case.first) {
            failures.push(format!(
                "case `{}` (obconform {}): expected exit {} and a first line starting `{}`, got exit {} and `{}`\n{out}",
                case.name, case.args, case.code, case.first, out.code, first
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// `run s.yaml` with one scenario file.
macro_rules! scenario {
    ($name:literal, $yaml:literal, $code:literal, $first:literal) => {
        c(
            $name,
            "run s.yaml --no-snapshots",
            &[("s.yaml", $yaml)],
            $code,
            $first,
        )
    };
}

#[rustfmt::skip]
const SCENARIO_YAML: &[Case] = &[
    scenario!("empty file", "", 2, "error: unexpected end of input"),
    scenario!("only a comment", "# nothing here\n", 2, "error: unexpected end of input"),
    scenario!("a bare scalar", "hello\n", 2, "error: expected mapping start"),
    scenario!("a list at the top", "- a\n- b\n", 2, "error: expected mapping start"),
    scenario!("name only", "name: x\n", 2, "error: missing field `system`"),
    scenario!("no steps key", "name: x\nsystem: test\n", 2, "error: missing field `steps`"),
    scenario!("steps null", "$HEAD\n", 2, "error: expected sequence start"),
    scenario!("steps a string", "$HEAD text\n", 2, "error: expected sequence start"),
    scenario!("steps a map", "$HEAD\n  a: b\n", 2, "error: expected sequence start"),
    scenario!("name a list", "name: [a]\nsystem: test\nsteps:$STEP", 2, "error: expected string scalar"),
    scenario!("system a map", "name: x\nsystem: {a: b}\nsteps:$STEP", 2, "error: expected string scalar"),
    scenario!("unknown top-level key", "$HEAD$STEP\nowner: me\n", 2, "error: unknown field `owner`, expected one of name, system, description, vars, requires_certs,"),
    scenario!("tab indentation", "name: x\nsystem: test\nsteps:\n\t- name: t\n", 2, "error: tabs disallowed within this context (block indentation)"),
    scenario!("unclosed flow sequence", "$HEAD\n  - name: [unclosed\n", 2, "error: expected string scalar"),
    scenario!("unclosed flow map", "$HEAD\n  - { name: t\n", 2, "error: unclosed bracket '{'"),
    scenario!("unclosed double quote", "$HEAD\n  - name: \"t\n", 2, "error: invalid indentation in multiline quoted scalar"),
    scenario!("unclosed single quote", "$HEAD\n  - name: 't\n", 2, "error: invalid indentation in multiline quoted scalar"),
    scenario!("duplicate key", "name: x\nname: y\nsystem: test\nsteps:$STEP", 2, "error: duplicate mapping key: name, set DuplicateKeyPolicy in Options if acceptable"),
    scenario!("undefined alias", "$HEAD\n  - *nope\n", 2, "error: alias references unknown anchor"),
    scenario!("bad indentation", "$HEAD\n  - name: t\n   request: {}\n", 2, "error: while parsing a block collection, did not find expected '-' indicator"),
    scenario!("two documents", "$HEAD$STEP---\n$HEAD$STEP", 2, "error: multiple YAML documents detected; use from_str_multiple or from_str_multiple_with_options"),
    scenario!("step without name", "$HEAD\n  - request: { $TOKEN }\n", 2, "error: this step has no `name`"),
    scenario!("with without use", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    with: { a: b }\n", 2, "error: `with: {a: …}` sets a param of a steps file"),
    scenario!("use and request", "$HEAD\n  - use: t.steps.yaml\n    request: { $TOKEN }\n", 2, "error: a `use` step has only `use`, `with` and `name`; `request` belongs"),
    scenario!("use a scenario", "$HEAD\n  - use: other.yaml\n", 2, "error: `use: other.yaml` must name a `*.steps.yaml` file"),
    scenario!("use a missing file", "$HEAD\n  - use: missing.steps.yaml\n", 2, "error: cannot read"),
    scenario!("step a scalar", "$HEAD\n  - just text\n", 2, "error: expected mapping start"),
    scenario!("unknown step key", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    retries: 3\n", 2, "error: unknown field `retries`, expected one of name, use, with, request, authorize, callback, sign,"),
    scenario!("unknown request key", "$HEAD\n  - name: t\n    request: { $TOKEN, verb: GET }\n", 2, "error: unknown field `verb`, expected one of method, url, headers, query, json, form, raw"),
    scenario!("unknown expect key", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    expect: { code: 200 }\n", 2, "error: unknown field `code`, expected one of status, headers, json, body_contains, diagnosis,"),
    scenario!("request a string", "$HEAD\n  - name: t\n    request: GET /\n", 2, "error: expected mapping start"),
    scenario!("request without url", "$HEAD\n  - name: t\n    request: { method: GET }\n", 2, "error: missing field `url`"),
    scenario!("request without method", "$HEAD\n  - name: t\n    request: { url: \"{{env.api}}/x\" }\n", 2, "error: missing field `method`"),
    scenario!("method a list", "$HEAD\n  - name: t\n    request: { method: [GET], url: \"{{env.api}}/x\" }\n", 2, "error: expected string scalar"),
    scenario!("method with a space", "$HEAD\n  - name: t\n    request: { method: \"GE T\", url: \"{{env.api}}/x\" }\n", 2, "error: unknown HTTP method `GE T`: use one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"),
    scenario!("relative url", "$HEAD\n  - name: t\n    request: { method: GET, url: /x }\n", 2, "error: `/x` is not an absolute http(s) URL; start it with {{env.api}}"),
    scenario!("url not a url", "$HEAD\n  - name: t\n    request: { method: GET, url: \"ht tp://\" }\n", 2, "error: `ht tp://` is not an absolute http(s) URL; start it with {{env.api}}"),
    scenario!("headers a list", "$HEAD\n  - name: t\n    request: { $TOKEN, headers: [Accept] }\n", 2, "error: expected mapping start"),
    scenario!("header value a map", "$HEAD\n  - name: t\n    request: { $TOKEN, headers: { Accept: { a: b } } }\n", 2, "error: expected string scalar"),
    scenario!("form a list", "$HEAD\n  - name: t\n    request: { method: POST, url: \"{{env.api}}/oauth2/token\", form: [a] }\n", 2, "error: expected mapping start"),
    scenario!("two bodies", "$HEAD\n  - name: t\n    request: { $TOKEN, raw: x }\n", 2, "error: a request has at most one body: choose one of `json`, `form`, `raw`"),
    scenario!("json and raw", "$HEAD\n  - name: t\n    request: { method: POST, url: \"{{env.api}}/x\", json: {}, raw: x }\n", 2, "error: a request has at most one body: choose one of `json`, `form`, `raw`"),
    scenario!("status a string", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    expect: { status: ok }\n", 2, "error: this value has none of the forms allowed here (see `obconform schema` for them)"),
    scenario!("status negative", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    expect: { status: -1 }\n", 2, "error: this value has none of the forms allowed here (see `obconform schema` for them)"),
    scenario!("status 70000", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    expect: { status: 70000 }\n", 2, "error: this value has none of the forms allowed here (see `obconform schema` for them)"),
    scenario!("status a float", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    expect: { status: 200.5 }\n", 2, "error: this value has none of the forms allowed here (see `obconform schema` for them)"),
    scenario!("status a map", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    expect: { status: { a: 1 } }\n", 2, "error: this value has none of the forms allowed here (see `obconform schema` for them)"),
    scenario!("status class 2xx", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    expect: { status: 2xx }\n", 2, "error: this value has none of the forms allowed here (see `obconform schema` for them)"),
    scenario!("unclosed template", "$HEAD\n  - name: t\n    request: { method: GET, url: \"{{env.api/x\" }\n", 2, "error: template syntax: Template error: invalid handlebars syntax: expected"),
    scenario!("undefined variable", "$HEAD\n  - name: t\n    request: { method: GET, url: \"{{env.api}}/{{nope}}\" }\n", 2, "error: undefined variable `nope`"),
    scenario!("undefined env key", "$HEAD\n  - name: t\n    request: { method: GET, url: \"{{env.nothing}}/x\" }\n", 2, "error: undefined variable `env.nothing`"),
    scenario!("unknown helper", "$HEAD\n  - name: t\n    request: { method: GET, url: \"{{env.api}}/{{frobnicate 1}}\" }\n", 2, "error: Helper not found frobnicate"),
    scenario!("unclosed block", "$HEAD\n  - name: t\n    request: { method: GET, url: \"{{env.api}}/{{#if env.api}}x\" }\n", 2, "error: template syntax: Template error: invalid handlebars syntax: expected escape, expression,"),
    scenario!("stray closing block", "$HEAD\n  - name: t\n    request: { method: GET, url: \"{{env.api}}/{{/if}}\" }\n", 2, "error: template syntax: Template error: invalid handlebars syntax: expected identifier,"),
    scenario!("now with a bad offset", "$HEAD\n  - name: t\n    request: { method: GET, url: \"{{env.api}}/{{now offset=\\\"soon\\\"}}\" }\n", 2, "error: now: offset `soon` is not like -7d, +2h, 30m or 10s"),
    scenario!("now with an offset unit y", "$HEAD\n  - name: t\n    request: { method: GET, url: \"{{env.api}}/{{now offset=\\\"-7y\\\"}}\" }\n", 2, "error: now: offset `-7y` is not like -7d, +2h, 30m or 10s"),
    scenario!("base64 without argument", "$HEAD\n  - name: t\n    request: { method: GET, url: \"{{env.api}}/{{base64}}\" }\n", 2, "error: Helper/Decorator base64 param at index 0 required but not found"),
    scenario!("json without argument", "$HEAD\n  - name: t\n    request: { method: GET, url: \"{{env.api}}/{{json}}\" }\n", 2, "error: Helper/Decorator json param at index 0 required but not found"),
    scenario!("partial", "$HEAD\n  - name: t\n    request: { method: GET, url: \"{{env.api}}/{{> p}}\" }\n", 2, "error: Partial not found p"),
    scenario!("capture before it exists", "$HEAD\n  - name: a\n    request: { method: GET, url: \"{{env.api}}/{{later}}\" }\n  - name: b\n    request: { $TOKEN }\n    capture: { later: $.access_token }\n", 2, "error: unknown capture `later`: it is captured only by the later step `b`"),
    scenario!("capture unclosed bracket", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    capture: { tok: \"$[\" }\n", 2, "error: `$[` is not a valid JSONPath: at position 1, parser error"),
    scenario!("capture without dollar", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    capture: { tok: access_token }\n", 2, "error: `access_token` is not a JSONPath (it must start with `$`); for a header write `{header:"),
    scenario!("capture bad filter", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    capture: { tok: \"$[?(@.a ==]\" }\n", 2, "error: `$[?(@.a ==]` is not a valid JSONPath: at position 3, in long-hand segment, parser error"),
    scenario!("capture a list", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    capture: [tok]\n", 2, "error: expected mapping start"),
    scenario!("capture unknown source", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    capture: { tok: { cookie: a } }\n", 2, "error: unknown field `cookie`, expected one of json, header, regex, query, secret"),
    scenario!("capture reserved name env", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    capture: { env: $.access_token }\n", 2, "error: `env` is reserved; capture into another name"),
    scenario!("expect json bad path", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    expect: { status: 200, json: { \"$..[\": 1 } }\n", 2, "error: `$..[` is not a valid JSONPath: at position 3, must start with lowercase alpha or '_'"),
    scenario!("expect json path without dollar", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    expect: { status: 200, json: { access_token: 1 } }\n", 2, "error: `access_token` is not a valid JSONPath: at position 0, parser error"),
    scenario!("expect json unknown check", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    expect: { status: 200, json: { $.a: { longer_than: 3 } } }\n", 2, "error: unknown field `longer_than`, expected one of equals, exists, matches, length, gt, gte, lt,"),
    scenario!("expect json bad type", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    expect: { status: 200, json: { $.a: { type: date } } }\n", 2, "error: unknown variant `date`, expected one of string, number, integer, boolean, array, object, null"),
    scenario!("expect json bad regex", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    expect: { status: 200, json: { $.a: { matches: \"(\" } } }\n", 2, "error: invalid regex /(/: regex parse error:"),
    scenario!("expect unknown diagnosis", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    expect: { status: 200, diagnosis: [no.such.code] }\n", 2, "error: `no.such.code` is not a diagnosis id"),
    scenario!("mutate unknown kind", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    mutate: [shuffle-headers]\n", 2, "error: unknown variant `shuffle-headers`, expected one of remove-header, set-header, set-body,"),
    scenario!("mutate a map", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    mutate: { remove-header: Date }\n", 2, "error: expected sequence start"),
    scenario!("mutate set-header without value", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    mutate: [set-header: { name: Date }]\n", 2, "error: missing field `value`"),
    scenario!("mutate set-header unknown key", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    mutate: [set-header: { name: Date, value: x, at: 1 }]\n", 2, "error: unknown field `at`, expected one of name, value"),
    scenario!("mutate remove-header a list", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    mutate: [remove-header: [Date]]\n", 2, "error: expected string scalar"),
    scenario!("sign unknown profile", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    sign: no-such-profile\n", 2, "error: unknown signing profile `no-such-profile` in environment `embedded`"),
    scenario!("sign a number", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    sign: 5\n", 2, "error: this value has none of the forms allowed here (see `obconform schema` for them)"),
    scenario!("snapshot unknown kind", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    snapshot: everything\n", 2, "error: this value has none of the forms allowed here (see `obconform schema` for them)"),
    scenario!("retry without until", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    retry: { timeout: 1s }\n", 2, "error: missing field `until`"),
    scenario!("retry interval without unit", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    retry: { until: { status: 200 }, interval: 5 }\n", 2, "error: `5`: unknown unit ``; use ms, s or m (e.g. `2s`)"),
    scenario!("retry timeout unit y", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    retry: { until: { status: 200 }, timeout: 2y }\n", 2, "error: `2y`: unknown unit `y`; use ms, s or m (e.g. `2s`)"),
    scenario!("retry timeout words", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    retry: { until: { status: 200 }, timeout: soon }\n", 2, "error: `soon` is not a duration: write e.g. `500ms`, `2s` or `1m`"),
    scenario!("skip_on unknown kind", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    skip_on: { staging: not there }\n", 2, "error: `skip_on` names `staging`, not a kind of environment"),
    scenario!("write a string", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    write: maybe\n", 2, "error: invalid boolean"),
    scenario!("tls unknown pair", "$HEAD\n  - name: t\n    request: { $TOKEN }\n    tls: nosuchpair\n", 2, "error: environment `embedded` has no certificate `nosuchpair` to present in TLS"),
    scenario!("authorize unknown key", "$HEAD\n  - name: t\n    authorize: { country: NL, colour: red }\n", 2, "error: unknown field `colour`, expected one of via, country, token, reference, url, scope, code,"),
    scenario!("callback unknown key", "$HEAD\n  - name: t\n    callback: { colour: red }\n", 2, "error: unknown field `colour`, expected one of name, until, timeout, listen, public_url, respond"),
    scenario!("vars a list", "name: x\nsystem: test\nvars: [a]\nsteps:$STEP", 2, "error: expected mapping start"),
    scenario!("var undefined in vars", "name: x\nsystem: test\nvars: { a: \"{{b}}\" }\nsteps:$STEP", 2, "error: in variable `a`: undefined variable `b`"),
    scenario!("control characters", "\u{0}\u{1}bad", 2, "error: unexpected character: `\\u{0}'"),
];

/// `run s.yaml --env ENV` with a valid scenario and this environments.yaml.
macro_rules! environment {
    ($name:literal, $env:literal, $yaml:literal, $code:literal, $first:literal) => {
        c(
            $name,
            concat!("run s.yaml --no-snapshots --env ", $env),
            &[("s.yaml", "$HEAD$STEP"), ("environments.yaml", $yaml)],
            $code,
            $first,
        )
    };
}

#[rustfmt::skip]
const ENVIRONMENTS: &[Case] = &[
    environment!("unknown environment", "staging", "environments:\n  embedded: { kind: embedded }\n", 2, "error: unknown environment `staging`"),
    environment!("empty environments file", "embedded", "", 2, "error: unexpected end of input"),
    environment!("environments a list", "embedded", "- embedded\n", 2, "error: expected mapping start"),
    environment!("no environments key", "embedded", "default: embedded\n", 2, "error: missing field `environments`"),
    environment!("environments empty map", "embedded", "environments: {}\n", 2, "error: unknown environment `embedded`"),
    environment!("unknown kind", "x", "environments:\n  x: { kind: staging, api: \"https://127.0.0.1:9\" }\n", 2, "error: unknown variant `staging`, expected one of embedded, sandbox, production"),
    environment!("kind missing", "x", "environments:\n  x: { api: \"https://127.0.0.1:9\" }\n", 2, "error: missing field `kind`"),
    environment!("kind a number", "x", "environments:\n  x: { kind: 3 }\n", 2, "error: unknown variant `3`, expected one of embedded, sandbox, production"),
    environment!("unknown environment key", "x", "environments:\n  x: { kind: embedded, colour: red }\n", 2, "error: unknown field `colour`, expected one of kind, api, consent, grants_support, hosts, client_id,"),
    environment!("unknown top-level key", "x", "environments:\n  x: { kind: embedded }\nowner: me\n", 2, "error: unknown field `owner`, expected one of default, profiles, contract, environments"),
    environment!("sandbox without api", "x", "environments:\n  x: { kind: sandbox, trust: [system] }\n", 2, "error: `api` is required (the base URL, e.g. https://api.sandbox.ing.com)"),
    environment!("production without api", "x", "environments:\n  x: { kind: production }\n", 2, "error: `POST {{env.api}}/oauth2/token` changes state at the bank; refused on production environment"),
    environment!("api not a url", "x", "environments:\n  x: { kind: sandbox, api: \"not a url\", trust: [system] }\n", 2, "error: `api`: `not a url` is not an absolute URL (relative URL without a base); write it as https://host[:port][/path]"),
    environment!("api with http on production", "x", "environments:\n  x: { kind: production, api: \"http://127.0.0.1:9\" }\n", 2, "error: `POST {{env.api}}/oauth2/token` changes state at the bank; refused on production environment"),
    environment!("insecure on production", "x", "environments:\n  x: { kind: production, api: \"https://127.0.0.1:9\", insecure: true }\n", 2, "error: `POST {{env.api}}/oauth2/token` changes state at the bank; refused on production environment"),
    environment!("trust a string", "x", "environments:\n  x: { kind: sandbox, api: \"https://127.0.0.1:9\", trust: ca.pem }\n", 2, "error: expected sequence start"),
    environment!("trust file missing", "x", "environments:\n  x: { kind: sandbox, api: \"https://127.0.0.1:9\", trust: [missing-ca.pem] }\n", 2, "error: $DIR/environments.yaml:2:6: environment `x`: certs.trust: trust anchor file"),
    environment!("trust file not PEM", "x", "environments:\n  x: { kind: sandbox, api: \"https://127.0.0.1:9\", trust: [environments.yaml] }\n", 2, "error: $DIR/environments.yaml:2:6: environment `x`: certs.trust: cannot use"),
    environment!("certs a list", "x", "environments:\n  x: { kind: sandbox, api: \"https://127.0.0.1:9\", trust: [system], certs: [tls] }\n", 2, "error: expected mapping start"),
    environment!("cert pair without cert", "x", "environments:\n  x: { kind: sandbox, api: \"https://127.0.0.1:9\", trust: [system], certs: { tls: { key: k.pem } } }\n", 2, "error: missing field `cert`"),
    environment!("cert pair unknown key", "x", "environments:\n  x: { kind: sandbox, api: \"https://127.0.0.1:9\", trust: [system], certs: { tls: { cert: c.pem, pem: k } } }\n", 2, "error: unknown field `pem`, expected one of cert, key, passphrase_env"),
    environment!("tls cert missing", "x", "environments:\n  x: { kind: sandbox, api: \"https://127.0.0.1:9\", trust: [system], certs: { tls: { cert: no.pem, key: no.key } } }\n", 2, "error: $DIR/environments.yaml:2:6: environment `x`: certs.tls: certificate file"),
    environment!("signing cert missing", "x", "environments:\n  x: { kind: sandbox, api: \"https://127.0.0.1:9\", trust: [system], certs: { signing: { cert: no.pem, key: no.key } } }\n", 2, "error: $DIR/environments.yaml:2:6: environment `x`: certs.signing: certificate file"),
    environment!("unset variable", "x", "environments:\n  x: { kind: sandbox, api: \"${OBCONFORM_NOT_SET_ANYWHERE}\", trust: [system] }\n", 2, "error: environment variable `OBCONFORM_NOT_SET_ANYWHERE` is not set"),
    environment!("connect timeout a string", "x", "environments:\n  x: { kind: embedded, connect_timeout_secs: soon }\n", 2, "error: invalid u64"),
    environment!("connect timeout negative", "x", "environments:\n  x: { kind: embedded, connect_timeout_secs: -1 }\n", 2, "error: invalid u64"),
    environment!("vars a list", "x", "environments:\n  x: { kind: embedded, vars: [a] }\n", 2, "error: expected mapping start"),
    environment!("profile unknown flow", "x", "profiles:\n  p: { flow: carrier-pigeon }\nenvironments:\n  x: { kind: embedded }\n", 2, "error: unknown variant `carrier-pigeon`, expected one of mtls, http-signature, jws, client-assertion"),
    environment!("profile unknown key", "x", "profiles:\n  p: { flow: mtls, colour: red }\nenvironments:\n  x: { kind: embedded }\n", 2, "error: unknown field `colour`, expected one of flow, cert, algorithm, key_id, headers, placement,"),
    environment!("profile unknown algorithm", "x", "profiles:\n  p: { flow: http-signature, algorithm: rot13 }\nenvironments:\n  x: { kind: embedded }\n", 2, "error: unknown variant `rot13`, expected one of rsa-sha256, ecdsa-sha256, ecdsa-sha384,"),
    environment!("profile unknown placement", "x", "profiles:\n  p: { flow: http-signature, placement: body }\nenvironments:\n  x: { kind: embedded }\n", 2, "error: unknown variant `body`, expected one of authorization, signature-header"),
    environment!("contract specs missing", "x", "environments:\n  x: { kind: embedded, contract: { specs: [missing.yaml] } }\n", 2, "error: environment `x`: contract:"),
    environment!("contract unknown mode", "x", "environments:\n  x: { kind: embedded, contract: { specs: [], mode: loud } }\n", 2, "error: unknown variant `loud`, expected one of fail, warn, off"),
    environment!("yaml syntax error", "x", "environments:\n  x: { kind: embedded\n", 2, "error: unclosed bracket '{'"),
];

/// `run s.yaml --env sb` against a sandbox environment reading these certificate files.
macro_rules! cert {
    ($name:literal, $env:expr, [$(($file:literal, $content:literal)),*], $code:literal, $first:literal) => {
        c(
            $name,
            "run s.yaml --no-snapshots --env sb",
            &[("s.yaml", "$HEAD$STEP"), ("environments.yaml", $env), ("ca.pem", "@ca"), $(($file, $content)),*],
            $code,
            $first,
        )
    };
}

const SB_TLS: &str = "environments:\n  sb:\n    kind: sandbox\n    api: https://127.0.0.1:9\n    trust: [ca.pem]\n    certs:\n      tls: { cert: tls.pem, key: tls.key }\n";
const SB_TLS_UNSET: &str = "environments:\n  sb:\n    kind: sandbox\n    api: https://127.0.0.1:9\n    trust: [ca.pem]\n    certs:\n      tls: { cert: tls.pem, key: tls.key, passphrase_env: OBCONFORM_NOT_SET_ANYWHERE }\n";
const SB_P12: &str = "environments:\n  sb:\n    kind: sandbox\n    api: https://127.0.0.1:9\n    trust: [ca.pem]\n    certs:\n      tls: { cert: tls.p12, passphrase_env: OBCONFORM_FUZZ_PASS }\n";
const SB_P12_NOPASS: &str = "environments:\n  sb:\n    kind: sandbox\n    api: https://127.0.0.1:9\n    trust: [ca.pem]\n    certs:\n      tls: { cert: tls.p12 }\n";
const SB_P12_WRONG: &str = "environments:\n  sb:\n    kind: sandbox\n    api: https://127.0.0.1:9\n    trust: [ca.pem]\n    certs:\n      tls: { cert: tls.p12, passphrase_env: OBCONFORM_WRONG_PASS }\n";
const SB_TRUST: &str = "environments:\n  sb:\n    kind: sandbox\n    api: https://127.0.0.1:9\n    trust: [trust.pem]\n";
const SB_SIGN: &str = "environments:\n  sb:\n    kind: sandbox\n    api: https://127.0.0.1:9\n    trust: [ca.pem]\n    certs:\n      signing: { cert: sign.pem, key: sign.key }\n";

#[rustfmt::skip]
const CERTIFICATES: &[Case] = &[
    cert!("key file missing", SB_TLS, [("tls.pem", "@tls_cert")], 2, "error: $DIR/environments.yaml:3:5: environment `sb`: certs.tls: key file"),
    cert!("cert file missing", SB_TLS, [("tls.key", "@tls_key")], 2, "error: $DIR/environments.yaml:3:5: environment `sb`: certs.tls: certificate file"),
    cert!("cert empty", SB_TLS, [("tls.pem", ""), ("tls.key", "@tls_key")], 2, "error: $DIR/environments.yaml:3:5: environment `sb`: certs.tls:"),
    cert!("cert not PEM", SB_TLS, [("tls.pem", "hello world\n"), ("tls.key", "@tls_key")], 2, "error: $DIR/environments.yaml:3:5: environment `sb`: certs.tls:"),
    cert!("cert truncated PEM", SB_TLS, [ ("tls.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n"), ("tls.key", "@tls_key") ], 2, "error: $DIR/environments.yaml:3:5: environment `sb`: certs.tls:"),
    cert!("cert PEM with garbage base64", SB_TLS, [ ("tls.pem", "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n" ), ("tls.key", "@tls_key") ], 2, "error: $DIR/environments.yaml:3:5: environment `sb`: certs.tls:"),
    cert!("cert is a key", SB_TLS, [("tls.pem", "@tls_key"), ("tls.key", "@tls_key")], 2, "error: $DIR/environments.yaml:3:5: environment `sb`: certs.tls:"),
    cert!("key is a certificate", SB_TLS, [("tls.pem", "@tls_cert"), ("tls.key", "@tls_cert")], 2, "error: $DIR/environments.yaml:3:5: environment `sb`: certs.tls:"),
    cert!("key not PEM", SB_TLS, [("tls.pem", "@tls_cert"), ("tls.key", "not a key\n")], 2, "error: $DIR/environments.yaml:3:5: environment `sb`: certs.tls:"),
    cert!("key empty", SB_TLS, [("tls.pem", "@tls_cert"), ("tls.key", "")], 2, "error: $DIR/environments.yaml:3:5: environment `sb`: certs.tls:"),
    cert!("wrong key for the certificate", SB_TLS, [("tls.pem", "@tls_cert"), ("tls.key", "@sign_key")], 2, "error: $DIR/environments.yaml:3:5: environment `sb`: certs.tls: the key"),
    cert!("encrypted key without passphrase_env", SB_TLS, [("tls.pem", "@tls_cert"), ("tls.key", "@enc_key")], 2, "error: $DIR/environments.yaml:3:5: environment `sb`: certs.tls:"),
    cert!("encrypted key passphrase variable unset", SB_TLS_UNSET, [("tls.pem", "@tls_cert"), ("tls.key", "@enc_key")], 2, "error: $DIR/environments.yaml:3:5: environment `sb`: certs.tls:"),
    cert!("PKCS#12 without password", SB_P12_NOPASS, [("tls.p12", "@p12")], 2, "error: $DIR/environments.yaml:3:5: environment `sb`: certs.tls:"),
    cert!("PKCS#12 wrong password", SB_P12_WRONG, [("tls.p12", "@p12")], 2, "error: $DIR/environments.yaml:3:5: environment `sb`: certs.tls: cannot open the PKCS#12 file"),
    cert!("PKCS#12 garbage", SB_P12, [("tls.p12", "not pkcs12 at all")], 2, "error: $DIR/environments.yaml:3:5: environment `sb`: certs.tls:"),
    cert!("trust anchor empty", SB_TRUST, [("trust.pem", "")], 2, "error: $DIR/environments.yaml:3:5: environment `sb`: certs.trust: cannot use"),
    cert!("trust anchor a key", SB_TRUST, [("trust.pem", "@tls_key")], 2, "error: $DIR/environments.yaml:3:5: environment `sb`: certs.trust: cannot use"),
    cert!("trust anchor not PEM", SB_TRUST, [("trust.pem", "hello\n")], 2, "error: $DIR/environments.yaml:3:5: environment `sb`: certs.trust: cannot use"),
    cert!("signing key missing", SB_SIGN, [("sign.pem", "@sign_cert")], 2, "error: $DIR/environments.yaml:3:5: environment `sb`: certs.signing: key file"),
    cert!("signing key mismatched", SB_SIGN, [("sign.pem", "@sign_cert"), ("sign.key", "@tls_key")], 2, "error: $DIR/environments.yaml:3:5: environment `sb`: certs.signing: the key"),
    c("inspect missing file", "certs inspect missing.pem", &[], 2, "error: certificate file missing.pem not found: check the path"),
    c("inspect not a certificate", "certs inspect x.pem", &[("x.pem", "hello\n")], 2, "error: x.pem is not a certificate (neither PEM, nor a DER certificate, nor PKCS#12): expected PEM"),
    c("inspect empty file", "certs inspect x.pem", &[("x.pem", "")], 2, "error: x.pem is not a certificate (the file is empty): expected PEM (-----BEGIN CERTIFICATE-----),"),
    c("inspect a key", "certs inspect x.pem", &[("x.pem", "@tls_key")], 2, "error: x.pem is not a certificate (it holds a private key but no certificate): expected PEM"),
    c("inspect with a mismatched key", "certs inspect x.pem --key k.pem", &[("x.pem", "@tls_cert"), ("k.pem", "@sign_key")], 1, "x.pem  (PEM)"),
    c("inspect PKCS#12 without password", "certs inspect x.p12", &[("x.p12", "@p12")], 2, "error: x.p12: PKCS#12 needs a password: set the environment variable named by --passphrase-env"),
    c("inspect without files", "certs inspect", &[], 2, "error: the following required arguments were not provided:"), ];
const SIGN_KEYS: &[(&str, &str)] = &[("sign.pem", "@sign_cert"), ("sign.key", "@sign_key")];
const SIGN: &[Case] = &[
    c(
        "sign without arguments",
        "sign",
        &[],
        2,
        "error: the following required arguments were not provided:",
    ),
    c(
        "sign without url",
        "sign --method GET --flow http-signature --cert sign.pem --key sign.key",
        SIGN_KEYS,
        2,
        "error: the following required arguments were not provided:",
    ),
    c(
        "sign without method",
        "sign --url https://api.example/x --flow http-signature --cert sign.pem --key sign.key",
        SIGN_KEYS,
        2,
        "error: the following required arguments were not provided:",
    ),
    c(
        "sign without profile or flow",
        "sign --method GET --url https://api.example/x",
        &[],
        2,
        "error: the following required arguments were not provided:",
    ),
    c(
        "sign profile and flow both",
        "sign --method GET --url https://api.example/x --profile p --flow jws",
        &[],
        2,
        "error: the argument '--profile <PROFILE>' cannot be used with '--flow <FLOW>'",
    ),
    c(
        "sign unknown flow",
        "sign --method GET --url https://api.example/x --flow smoke-signal --cert sign.pem --key sign.key",
        SIGN_KEYS,
        2,
        "error: invalid value 'smoke-signal' for '--flow <FLOW>': one of: mtls, http-signature, jws,",
    ),
    c(
        "sign unknown algorithm",
        "sign --method GET --url https://api.example/x --flow http-signature --alg rot13 --cert sign.pem --key sign.key",
        SIGN_KEYS,
        2,
        "error: --alg `rot13` is unknown; one of: rsa-sha256, ecdsa-sha256, ecdsa-sha384, ecdsa-sha512,",
    ),
    c(
        "sign relative url",
        "sign --method GET --url /x --flow http-signature --cert sign.pem --key sign.key",
        SIGN_KEYS,
        2,
        "error: --url `/x`: relative URL without a base",
    ),
    c(
        "sign url not a url",
        "sign --method GET --url ht%20tp:// --flow http-signature --cert sign.pem --key sign.key",
        SIGN_KEYS,
        2,
        "error: --url `ht tp://`: relative URL without a base",
    ),
    c(
        "sign header without colon",
        "sign --method GET --url https://api.example/x -H NoColon --flow http-signature --cert sign.pem --key sign.key",
        SIGN_KEYS,
        2,
        "error: --header `NoColon` is not `Name: value`",
    ),
    c(
        "sign form without equals",
        "sign --method POST --url https://api.example/x --form novalue --flow http-signature --cert sign.pem --key sign.key",
        SIGN_KEYS,
        2,
        "error: --form `novalue` is not `name=value`",
    ),
    c(
        "sign body file missing",
        "sign --method POST --url https://api.example/x --body-file missing.json --flow http-signature --cert sign.pem --key sign.key",
        SIGN_KEYS,
        2,
        "error: cannot read --body-file missing.json: No such file or directory (os error 2)",
    ),
    c(
        "sign body file and form",
        "sign --method POST --url https://api.example/x --body-file b --form a=b --flow http-signature --cert sign.pem --key sign.key",
        &[
            ("b", "x"),
            ("sign.pem", "@sign_cert"),
            ("sign.key", "@sign_key"),
        ],
        2,
        "error: the argument '--body-file <BODY_FILE>' cannot be used with '--form <FORM>'",
    ),
    c(
        "sign certificate missing",
        "sign --method GET --url https://api.example/x --flow http-signature --cert missing.pem --key sign.key",
        SIGN_KEYS,
        2,
        "error: certificate file missing.pem not found",
    ),
    c(
        "sign key missing",
        "sign --method GET --url https://api.example/x --flow http-signature --cert sign.pem --key missing.key",
        SIGN_KEYS,
        2,
        "error: key file missing.key not found",
    ),
    c(
        "sign without key",
        "sign --method GET --url https://api.example/x --flow http-signature --cert sign.pem",
        SIGN_KEYS,
        2,
        "error: --flow http-signature needs --cert PEM and --key PEM",
    ),
    c(
        "sign without certificate",
        "sign --method GET --url https://api.example/x --flow http-signature --key sign.key",
        SIGN_KEYS,
        2,
        "error: --flow http-signature needs --cert PEM and --key PEM",
    ),
    c(
        "sign key not PEM",
        "sign --method GET --url https://api.example/x --flow http-signature --cert sign.pem --key bad.key",
        &[("sign.pem", "@sign_cert"), ("bad.key", "nope")],
        2,
        "error: bad.key holds no readable PEM private key",
    ),
    c(
        "sign wrong key",
        "sign --method GET --url https://api.example/x --flow http-signature --cert sign.pem --key tls.key",
        &[("sign.pem", "@sign_cert"), ("tls.key", "@tls_key")],
        2,
        "error: the key tls.key does not belong to the certificate sign.pem: use the key generated with that",
    ),
    c(
        "sign encrypted key without passphrase",
        "sign --method GET --url https://api.example/x --flow http-signature --cert tls.pem --key enc.key",
        &[("tls.pem", "@tls_cert"), ("enc.key", "@enc_key")],
        2,
        "error: enc.key is an encrypted key but no passphrase is given: name the environment variable holding it with --passphrase-env",
    ),
    c(
        "sign encrypted key wrong passphrase",
        "sign --method GET --url https://api.example/x --flow http-signature --cert tls.pem --key enc.key --passphrase-env OBCONFORM_WRONG_PASS",
        &[("tls.pem", "@tls_cert"), ("enc.key", "@enc_key")],
        2,
        "error: cannot decrypt the key enc.key with the passphrase from OBCONFORM_WRONG_PASS: wrong",
    ),
    c(
        "sign passphrase variable unset",
        "sign --method GET --url https://api.example/x --flow http-signature --cert tls.pem --key enc.key --passphrase-env OBCONFORM_NOT_SET_ANYWHERE",
        &[("tls.pem", "@tls_cert"), ("enc.key", "@enc_key")],
        2,
        "error: enc.key is an encrypted key and the environment variable OBCONFORM_NOT_SET_ANYWHERE (its",
    ),
    c(
        "sign unknown placement",
        "sign --method GET --url https://api.example/x --flow http-signature --placement body --cert sign.pem --key sign.key",
        SIGN_KEYS,
        2,
        "error: invalid value 'body' for '--placement <PLACEMENT>': one of: authorization, signature-header",
    ),
    c(
        "sign bad now",
        "sign --method GET --url https://api.example/x --flow http-signature --now yesterday --cert sign.pem --key sign.key",
        SIGN_KEYS,
        2,
        "error: --now `yesterday` is not RFC 3339: premature end of input",
    ),
    c(
        "sign environments file missing",
        "sign --method GET --url https://api.example/x --profile mtls --environments missing.yaml",
        &[],
        2,
        "error: cannot read missing.yaml: No such file or directory (os error 2)",
    ),
    c(
        "sign unknown environment",
        "sign --method GET --url https://api.example/x --profile mtls --env nope --environments e.yaml",
        &[("e.yaml", "environments:\n  x: { kind: embedded }\n")],
        2,
        "error: unknown environment `nope`",
    ),
    c(
        "sign unknown signed header",
        "sign --method GET --url https://api.example/x --flow http-signature --headers x-missing --cert sign.pem --key sign.key",
        SIGN_KEYS,
        2,
        "error: `x-missing` is listed in headers= but the request has no such header",
    ),
];

const HTTP_OK: &str = "GET /x HTTP/1.1\nHost: api.example\n\n";

#[rustfmt::skip]
const EXPLAIN: &[Case] = &[
    c("explain without certificate", "explain r.http", &[("r.http", HTTP_OK)], 2, "error: r.http: no certificate to check it with: pass --cert PEM (the signing certificate and the TLS"),
    c("explain without request", "explain --cert sign.pem", SIGN_KEYS, 2, "error: the following required arguments were not provided:"),
    c("explain request missing", "explain missing.http --cert sign.pem", SIGN_KEYS, 2, "error: missing.http not found: check the path"),
    c("explain certificate missing", "explain r.http --cert missing.pem", &[("r.http", HTTP_OK)], 2, "error: certificate file missing.pem not found: check the path"),
    c("explain certificate not PEM", "explain r.http --cert bad.pem", &[("r.http", HTTP_OK), ("bad.pem", "nope")], 2, "error: bad.pem is not a certificate (neither PEM, nor a DER certificate, nor PKCS#12): expected PEM"),
    c("explain empty file", "explain r.http --cert sign.pem", &[("r.http", ""), ("sign.pem", "@sign_cert")], 2, "error: r.http:1:1: the file is empty; write a request line (`GET /path HTTP/1.1`), header lines, an"),
    c("explain only blank lines", "explain r.http --cert sign.pem", &[("r.http", "\n\n\n"), ("sign.pem", "@sign_cert")], 2, "error: r.http:3:1: no request line, only empty lines; start the file with `METHOD /path HTTP/1.1`"),
    c("explain no request line", "explain r.http --cert sign.pem", &[ ("r.http", "Host: api.example\n\n"), ("sign.pem", "@sign_cert"), ], 2, "error: r.http:1:5: `Host:` is not an HTTP method; begin the request line with a method such as GET,"),
    c("explain request line one word", "explain r.http --cert sign.pem", &[("r.http", "GET\n\n"), ("sign.pem", "@sign_cert")], 2, "error: r.http:1:4: the request line has no target after the method; write `METHOD /path?query"),
    c("explain request line four words", "explain r.http --cert sign.pem", &[ ("r.http", "GET /x HTTP/1.1 extra\n\n"), ("sign.pem", "@sign_cert"), ], 2, "error: r.http:1:8: more than method, target and version on the request line; percent-encode spaces"),
    c("explain HTTP/2", "explain r.http --cert sign.pem", &[ ("r.http", "GET /x HTTP/2\nHost: a\n\n"), ("sign.pem", "@sign_cert"), ], 2, "error: r.http:1:8: `HTTP/2` is not HTTP/1.1; end the request line with HTTP/1.1 (or leave the"),
    c("explain lowercase version", "explain r.http --cert sign.pem", &[ ("r.http", "GET /x http/1.1\nHost: a\n\n"), ("sign.pem", "@sign_cert"), ], 2, "error: r.http:1:8: `http/1.1` is not HTTP/1.1; end the request line with HTTP/1.1 (or leave the"),
    c("explain target without slash", "explain r.http --cert sign.pem", &[ ("r.http", "GET x HTTP/1.1\nHost: a\n\n"), ("sign.pem", "@sign_cert"), ], 2, "error: r.http:1:5: `x` is not a request target; write the path and query (`/v3/accounts?x=1`) or an"),
    c("explain header without colon", "explain r.http --cert sign.pem", &[ ("r.http", "GET /x HTTP/1.1\nHost api.example\n\n"), ("sign.pem", "@sign_cert"), ], 2, "error: r.http:2:1: a header line without a colon; write headers as `Name: value`; an empty line"),
    c("explain header name with space", "explain r.http --cert sign.pem", &[ ("r.http", "GET /x HTTP/1.1\nBad Name: v\n\n"), ("sign.pem", "@sign_cert"), ], 2, "error: r.http:2:4: invalid header name `Bad Name`; no whitespace in a header name or before its"),
    c("explain empty header name", "explain r.http --cert sign.pem", &[ ("r.http", "GET /x HTTP/1.1\n: v\n\n"), ("sign.pem", "@sign_cert"), ], 2, "error: r.http:2:1: a header line with no name before the colon; write `Name: value`"),
    c("explain folded header", "explain r.http --cert sign.pem", &[ ("r.http", "GET /x HTTP/1.1\nHost: a\n  folded\n\n"), ("sign.pem", "@sign_cert"), ], 2, "error: r.http:3:1: a header line starts with whitespace; a line starting with whitespace continues"),
    c("explain content-length too long", "explain r.http --cert sign.pem", &[ ("r.http", "POST /x HTTP/1.1\nHost: a\nContent-Length: 99\n\nabc", ), ("sign.pem", "@sign_cert"), ], 2, "error: r.http:3:17: the body has 3 bytes, shorter than Content-Length 99 (the body starts on line"),
    c("explain content-length not a number", "explain r.http --cert sign.pem", &[ ("r.http", "POST /x HTTP/1.1\nHost: a\nContent-Length: lots\n\nabc", ), ("sign.pem", "@sign_cert"), ], 2, "error: r.http:3:17: Content-Length `lots` is not a number of bytes; write the body's length in"),
    c("explain binary garbage", "explain r.http --cert sign.pem", &[ ("r.http", "\u{1}\u{2}\u{3}\u{7f}"), ("sign.pem", "@sign_cert"), ], 2, "error: r.http:1:1: `` is not an HTTP method; begin the request line with a method such as GET,"),
    c("explain a JSON file", "explain r.http --cert sign.pem", &[ ("r.http", "{\"method\": \"GET\"}\n"), ("sign.pem", "@sign_cert"), ], 2, "error: r.http:1:1: `{\"method\":` is not an HTTP method; begin the request line with a method such as"),
    c("explain a curl command", "explain r.http --cert sign.pem", &[ ("r.http", "curl -X GET https://api.example/x\n"), ("sign.pem", "@sign_cert"), ], 2, "error: r.http:1:6: `-X` is not a request target; write the path and query (`/v3/accounts?x=1`) or"),
    c("explain unknown format", "explain r.http --cert sign.pem --format yaml", &[("r.http", HTTP_OK), ("sign.pem", "@sign_cert")], 2, "error: invalid value 'yaml' for '--format <FORMAT>'"),
    c("explain bad now", "explain r.http --cert sign.pem --now tomorrow", &[("r.http", HTTP_OK), ("sign.pem", "@sign_cert")], 2, "error: --now `tomorrow` is not an RFC 3339 time such as 2024-05-07T10:00:00Z (premature end of"),
    c("explain flow file missing", "explain r.http --cert sign.pem --flow missing.json", &[("r.http", HTTP_OK), ("sign.pem", "@sign_cert")], 2, "error: missing.json not found: check the path"),
    c("explain flow not JSON", "explain r.http --cert sign.pem --flow f.json", &[ ("r.http", HTTP_OK), ("sign.pem", "@sign_cert"), ("f.json", "{nope"), ], 2, "error: f.json:1:2: key must be a string at line 1 column 2; expected the JSON `obconform run`"),
    c("explain malformed sidecar", "explain r.http --cert sign.pem", &[ ("r.http", HTTP_OK), ("r.json", "{nope"), ("sign.pem", "@sign_cert"), ], 2, "error: r.json:1:2: key must be a string at line 1 column 2; expected the JSON `obconform run`"),
    c("explain key not PEM", "explain r.http --cert sign.pem --key k.pem", &[ ("r.http", HTTP_OK), ("sign.pem", "@sign_cert"), ("k.pem", "nope"), ], 2, "error: k.pem holds no readable PEM private key"),
];

#[rustfmt::skip]
const MERGE: &[Case] = &[
    c("merge without parts", "report merge --out m", &[], 2, "error: the following required arguments were not provided:"),
    c("merge without out", "report merge a.json", &[("a.json", "@part1")], 2, "error: the following required arguments were not provided:"),
    c("merge part missing on disk", "report merge missing.json --out m", &[], 2, "error: cannot read missing.json: No such file or directory (os error 2)"),
    c("merge folder without report", "report merge empty --out m", &[("empty/x.txt", "x")], 2, "error: cannot read empty/report.json: No such file or directory (os error 2)"),
    c("merge only one of two parts", "report merge a.json --out m", &[("a.json", "@part1")], 2, "error: parts missing: 2/2 (their scenarios would be absent from the report; --allow-incomplete"),
    c("merge the same part twice", "report merge a.json b.json --out m", &[("a.json", "@part1"), ("b.json", "@part1")], 2, "error: part 1/2 is given twice"),
    c("merge a whole run", "report merge a.json b.json --out m", &[("a.json", "@whole"), ("b.json", "@part2")], 2, "error: a part is a whole run (made without --partition): merge only the parts of one partitioned run"),
    c("merge mixed splits", "report merge a.json b.json --out m", &[("a.json", "@part1of3"), ("b.json", "@part2")], 2, "error: the parts come from different splits (of 2, of 3): merge the parts of one run"),
    c("merge another format", "report merge a.json b.json --out m", &[("a.json", "@format9"), ("b.json", "@part2")], 2, "error: cannot read a.json: report format 9 (this obconform reads format 2): merge reports of one"),
    c("merge empty file", "report merge a.json b.json --out m", &[("a.json", ""), ("b.json", "@part2")], 2, "error: cannot read a.json: EOF while parsing a value at line 1 column 0"),
    c("merge not JSON", "report merge a.json b.json --out m", &[("a.json", "<html>"), ("b.json", "@part2")], 2, "error: cannot read a.json: expected value at line 1 column 1"),
    c("merge truncated JSON", "report merge a.json b.json --out m", &[("a.json", "{\"format\": 2, \"tool\""), ("b.json", "@part2")], 2, "error: cannot read a.json: EOF while parsing an object at line 1 column 20"),
    c("merge JSON array", "report merge a.json b.json --out m", &[("a.json", "[]"), ("b.json", "@part2")], 2, "error: cannot read a.json: invalid length 0, expected struct RunReport with 11 elements at line 1"),
    c("merge JSON missing fields", "report merge a.json b.json --out m", &[("a.json", "{\"format\": 2}"), ("b.json", "@part2")], 2, "error: cannot read a.json: missing field `tool` at line 1 column 13"),
    c("merge partitions a string", "report merge a.json b.json --out m", &[ ("a.json", "{\"format\": 2, \"partitions\": \"1/2\"}"), ("b.json", "@part2"), ], 2, "error: cannot read a.json: invalid type: string \"1/2\", expected a sequence at line 1 column 33"),
    c("merge out is a file", "report merge a.json b.json --out f", &[("a.json", "@part1"), ("b.json", "@part2"), ("f", "x")], 2, "error: cannot write the report: f: File exists (os error 17)"),
    c("merge unknown flag", "report merge a.json --out m --force", &[("a.json", "@part1")], 2, "error: unexpected argument '--force' found"),
    c("report without subcommand", "report", &[], 2, "Reports: `report merge` joins the parts of a partitioned run"),
    c("report unknown subcommand", "report split a.json", &[], 2, "error: unrecognized subcommand 'split'"),
];

#[rustfmt::skip]
const CLI: &[Case] = &[
    c("no command", "", &[], 2, "Conformance runner for PSD2 / open-banking APIs (ING first)"),
    c("unknown command", "frobnicate", &[], 2, "error: unrecognized subcommand 'frobnicate'"),
    c("unknown global flag", "--colour", &[], 2, "error: unexpected argument '--colour' found"),
    c("run unknown flag", "run --bogus", &[], 2, "error: unexpected argument '--bogus' found"),
    c("run jobs zero", "run --jobs 0", &[], 2, "error: invalid value '0' for '--jobs <JOBS>': 0 is not in 1..=64"),
    c("run jobs not a number", "run --jobs many", &[], 2, "error: invalid value 'many' for '--jobs <JOBS>': invalid digit found in string"),
    c("run jobs negative", "run --jobs -3", &[], 2, "error: unexpected argument '-3' found"),
    c("run partition zero", "run --partition 0/3", &[], 2, "error: invalid value '0/3' for '--partition <K/N>': `0/3`: expected K/N with 1 <= K <= N <= 10000, e.g. 2/3"),
    c("run partition beyond count", "run --partition 4/3", &[], 2, "error: invalid value '4/3' for '--partition <K/N>': `4/3`: expected K/N with 1 <= K <= N <= 10000, e.g. 2/3"),
    c("run partition without slash", "run --partition 2", &[], 2, "error: invalid value '2' for '--partition <K/N>': `2`: expected K/N with 1 <= K <= N <= 10000, e.g. 2/3"),
    c("run partition words", "run --partition one/two", &[], 2, "error: invalid value 'one/two' for '--partition <K/N>': `one/two`: expected K/N with 1 <= K <= N <= 10000,"),
    c("run partition of zero", "run --partition 1/0", &[], 2, "error: invalid value '1/0' for '--partition <K/N>': `1/0`: expected K/N with 1 <= K <= N <= 10000, e.g. 2/3"),
    c("run missing scenario file", "run nothere.yaml", &[], 2, "error: nothere.yaml does not exist (expected a scenario file or folder)"),
    c("run folder without scenarios", "run empty", &[("empty/readme.txt", "x")], 2, "error: no scenario files (*.yaml) under empty"),
    c("run env without value", "run s.yaml --env", &[("s.yaml", "$HEAD$STEP")], 2, "error: a value is required for '--env <ENV>' but none was supplied"),
    c("run unknown progress mode", "run s.yaml --progress sparkles", &[("s.yaml", "$HEAD$STEP")], 2, "error: invalid value 'sparkles' for '--progress <PROGRESS>'"),
    c("sandbox unknown flag", "sandbox --bogus", &[], 2, "error: unexpected argument '--bogus' found"),
    c("sandbox bad port", "sandbox --port 99999", &[], 2, "error: unexpected argument '--port' found"),
    c("sandbox bad address", "sandbox --listen nowhere", &[], 2, "error: invalid value 'nowhere' for '--listen <LISTEN>': invalid socket address syntax"),
    c("schema unknown flag", "schema --xml", &[], 2, "error: unexpected argument '--xml' found"),
    c("certs without subcommand", "certs", &[], 2, "Certificates: `certs inspect` describes and checks certificate files"),
    c("certs unknown subcommand", "certs renew", &[], 2, "error: unrecognized subcommand 'renew'"),
    c("certs issue without pki", "certs issue", &[], 2, "error: the following required arguments were not provided:"),
    c("certs revoke without arguments", "certs revoke", &[], 2, "error: the following required arguments were not provided:"),
    c("certs inspect bad now", "certs inspect x.pem --now yesterday", &[("x.pem", "@tls_cert")], 2, "error: invalid value 'yesterday' for '--now <RFC3339>': not an RFC 3339 date-time (premature end of"),
    c("certs inspect unknown format", "certs inspect x.pem --format xml", &[("x.pem", "@tls_cert")], 2, "error: invalid value 'xml' for '--format <FORMAT>'"),
    c("help for an unknown command", "help frobnicate", &[], 2, "error: unrecognized subcommand 'frobnicate'"),
];

#[test]
fn scenario_yaml() {
    check(SCENARIO_YAML);
}

#[test]
fn environments_yaml() {
    check(ENVIRONMENTS);
}

#[test]
fn certificates() {
    check(CERTIFICATES);
}

#[test]
fn sign_command() {
    check(SIGN);
}

#[test]
fn explain_command() {
    check(EXPLAIN);
}

#[test]
fn report_merge_command() {
    check(MERGE);
}

#[test]
fn command_line() {
    check(CLI);
}

#[test]
fn the_suite_has_enough_cases() {
    let total = [
        SCENARIO_YAML,
        ENVIRONMENTS,
        CERTIFICATES,
        SIGN,
        EXPLAIN,
        MERGE,
        CLI,
    ]
    .iter()
    .map(|cases| cases.len())
    .sum::<usize>();
    assert!(total >= 150, "{total} cases");
}
