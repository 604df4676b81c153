//! Bounded fuzzing of every parser that reads user input: the property is "never panics", on
//! arbitrary strings and bytes and on mutations of a corpus (the scenario library, archived
//! requests in `tests/fuzz/corpus/`, example reports, a freshly generated test PKI).
//!
//! cargo-fuzz needs a nightly toolchain; these targets use proptest on stable instead, which
//! catches a panic, shrinks the input and prints it. Each target runs a small, fixed-seed number of
//! cases in `cargo test`; `OBCONFORM_FUZZ_CASES=20000 cargo test --release --test it fuzz::` runs
//! longer with a fresh random seed (see the README's "Fuzzing and bad input").
//!
//! Numbers are left as the mutations make them: huge durations, `{{now offset=…}}` and
//! `shift-time` values are errors, never panics.

use obconform::cli::report_merge::merge;
use obconform::report::model::RunReport;
use obconform::scenario::load::parse_yaml;
use obconform::scenario::model::Scenario;
use obconform::sign::http_signature::SignatureParams;
use obconform::template::Renderer;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Cases per target: 256 in `cargo test`, `OBCONFORM_FUZZ_CASES` for a longer run.
fn cases() -> Option<u32> {
    std::env::var("OBCONFORM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
}

const DEFAULT_CASES: u32 = 256;

/// Runs `check` on `cases()` inputs from `strategy`; a panic fails the test with the (shrunk) input.
fn fuzz<S>(target: &str, strategy: S, check: impl Fn(S::Value))
where
    S: Strategy,
    S::Value: Debug,
{
    let longer = cases();
    let config = Config {
        cases: longer.unwrap_or(DEFAULT_CASES),
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..Config::default()
    };
    // Reproducible in CI; a longer run explores with a fresh seed each time.
    let mut runner = match longer {
        None => TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha)),
        Some(_) => TestRunner::new(config),
    };
    let started = std::time::Instant::now();
    if let Err(e) = runner.run(&strategy, |input| {
        check(input);
        Ok(())
    }) {
        panic!("fuzz target `{target}` panicked: {e}");
    }
    eprintln!(
        "fuzz target `{target}`: {} cases in {:.2?}",
        runner.config().cases,
        started.elapsed()
    );
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The files of `tests/fuzz/corpus/<target>/`.
fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = root().join("tests/fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let seeds: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

/// Every scenario of the library (`scenarios/**/*.yaml`, environments files left out).
fn scenario_seeds() -> &'static Vec<Vec<u8>> {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "yaml")
                    && !path.ends_with("environments.yaml")
                {
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        walk(&root().join("scenarios"), &mut files);
        files.sort();
        assert!(files.len() >= 20, "the scenario library: {}", files.len());
        files.iter().map(|f| std::fs::read(f).unwrap()).collect()
    })
}

/// One change to an input; positions are taken modulo the input's length.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Duplicate(usize, usize, usize),
    Token(usize, usize),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Flip(at, b)),
        (any::<usize>(), vec(any::<u8>(), 1..8)).prop_map(|(at, b)| Edit::Insert(at, b)),
        (any::<usize>(), 1..64usize).prop_map(|(at, n)| Edit::Delete(at, n)),
        (any::<usize>(), 1..64usize, any::<usize>())
            .prop_map(|(from, n, to)| Edit::Duplicate(from, n, to)),
        (any::<usize>(), any::<usize>()).prop_map(|(at, t)| Edit::Token(at, t)),
        (any::<usize>()).prop_map(Edit::Truncate),
    ]
}

/// Fragments worth splicing in: YAML, JSON, handlebars, header and encoding syntax.
const TOKENS: &[&str] = &[
    "\n",
    "\r\n",
    ": ",
    "- ",
    "  ",
    "\t",
    "{",
    "}",
    "[",
    "]",
    "\"",
    "'",
    ",",
    "#",
    "|",
    ">",
    "&a ",
    "*a",
    "!!str ",
    "!!binary ",
    "~",
    "null",
    "true",
    "-1",
    "0",
    "65536",
    "1.5",
    "---\n",
    "...\n",
    "? ",
    "\u{feff}",
    "é",
    "🦀",
    "\\",
    "\\u0000",
    "%",
    "=",
    ";",
    "{{",
    "}}",
    "{{{",
    "}}}",
    "{{#each steps}}",
    "{{/each}}",
    "{{#if x}}",
    "{{else}}",
    "{{/if}}",
    "{{now}}",
    "{{now \"%Y\" offset=\"-7d\"}}",
    "{{uuid}}",
    "{{json env}}",
    "{{base64 x}}",
    "{{urlencode x}}",
    "{{env.api}}",
    "{{> p}}",
    "{{! c }}",
    "$.",
    "$..a",
    "$[*]",
    "$[?@.a]",
    "status: ",
    "expect: ",
    "request: ",
    "steps:\n",
    "url: ",
    "method: ",
    "headers: ",
    "capture: ",
    "mutate: ",
    "sign: ",
    "retry: ",
    "timeout: 2s",
    "shift-time: -5m",
    "keyId=\"",
    "signature=\"",
    "headers=\"",
    "algorithm=\"",
    "(request-target)",
    "eyJ",
    "..",
    "=",
    "==",
    "-----BEGIN CERTIFICATE-----\n",
    "-----END CERTIFICATE-----\n",
    "-----BEGIN PRIVATE KEY-----\n",
    "-----BEGIN ENCRYPTED PRIVATE KEY-----\n",
    "Proc-Type: 4,ENCRYPTED\n",
    "HTTP/1.1",
    "Content-Length: 99999\r\n",
    "Transfer-Encoding: chunked\n",
    "Host: ",
    "\"partitions\": [{\"index\": 2, \"count\": 3}]",
    "\"format\": 2",
    "\"scenarios\": []",
];

fn apply(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for e in edits {
        let at = |i: usize, len: usize| if len == 0 { 0 } else { i % (len + 1) };
        match e {
            Edit::Flip(i, b) if !out.is_empty() => {
                let i = i % out.len();
                out[i] ^= b | 1;
            }
            Edit::Flip(..) => {}
            Edit::Insert(i, bytes) => {
                let i = at(*i, out.len());
                out.splice(i..i, bytes.iter().copied());
            }
            Edit::Delete(i, n) => {
                let i = at(*i, out.len());
                let end = (i + n).min(out.len());
                out.drain(i..end);
            }
            Edit::Duplicate(from, n, to) => {
                let from = at(*from, out.len());
                let end = (from + n).min(out.len());
                let piece = out[from..end].to_vec();
                let to = at(*to, out.len());
                out.splice(to..to, piece);
            }
            Edit::Token(i, t) => {
                let i = at(*i, out.len());
                let token = TOKENS[t % TOKENS.len()].as_bytes();
                out.splice(i..i, token.iter().copied());
            }
            Edit::Truncate(i) => {
                let i = at(*i, out.len());
                out.truncate(i);
            }
        }
    }
    out
}

/// Arbitrary bytes, arbitrary text, or a mutated seed (most often).
fn input(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let count = seeds.len();
    prop_oneof![
        1 => vec(any::<u8>(), 0..512),
        1 => vec(any::<char>(), 0..256).prop_map(|c| c.into_iter().collect::<String>().into_bytes()),
        1 => vec(prop::sample::select(TOKENS), 0..24).prop_map(|t| t.concat().into_bytes()),
        6 => (0..count, vec(edit(), 1..10)).prop_map(move |(i, edits)| apply(&seeds[i], &edits)),
    ]
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn fuzz_scenario_loader() {
    let path = Path::new("fuzz.yaml");
    fuzz("scenario", input(scenario_seeds().clone()), |bytes| {
        let source = text(&bytes);
        if let Err(e) = parse_yaml::<Scenario>(path, &source) {
            // The error's rendering (line text, caret) reads the source too.
            let _ = e.to_string();
        }
    });
}

#[test]
fn fuzz_template_renderer() {
    // The library's template lines, each a seed of its own.
    let mut seeds: Vec<Vec<u8>> = scenario_seeds()
        .iter()
        .flat_map(|s| text(s).lines().map(str::to_string).collect::<Vec<_>>())
        .filter(|l| l.contains("{{"))
        .map(String::into_bytes)
        .collect();
    seeds.sort();
    seeds.dedup();
    let renderer = Renderer::new();
    let data = serde_json::json!({
        "env": { "api": "https://127.0.0.1:1", "client_id": "c0ffee" },
        "x": "a b&c/é", "n": 5, "list": [1, "two", { "three": 3 }], "obj": { "a": "b" },
        "steps": [], "certs": { "signing": { "serial": "5F", "jwk": { "kty": "RSA" } } },
    });
    fuzz("template", input(seeds), |bytes| {
        let template = text(&bytes);
        let _ = renderer.render(&template, &data);
        let _ = renderer.render_json(&serde_json::json!([template, { "k": template }]), &data);
    });
}

#[test]
fn fuzz_http_file_parser() {
    let path = Path::new("fuzz.http");
    fuzz(
        "http",
        input(corpus("http")),
        |bytes| match obconform::archive::http_file::parse(&bytes, path) {
            Ok(request) => {
                let _ = request.message();
            }
            Err(e) => {
                let _ = e.to_string();
            }
        },
    );
}

#[test]
fn fuzz_http_signature_header_parser() {
    fuzz("http-signature", input(corpus("http-signature")), |bytes| {
        if let Ok(params) = SignatureParams::parse(&text(&bytes)) {
            let _ = SignatureParams::parse(&params.to_header_value());
        }
    });
}

#[test]
fn fuzz_jws_parser() {
    fuzz("jws", input(corpus("jws")), |bytes| {
        let _ = obconform::sign::jws::parse(&text(&bytes));
    });
}

/// A test PKI's files as seeds: PEM certificates and keys, DER, PKCS#12 (password `pw`).
fn certificate_seeds(dir: &Path) -> Vec<Vec<u8>> {
    use obconform::certs::test_pki::TestPki;
    let pki = TestPki::generate(&[]).expect("test PKI");
    let files = pki.write_to(dir).expect("write PKI");
    let mut seeds: Vec<Vec<u8>> = [
        &files.ca_cert,
        &files.client_tls_cert,
        &files.client_tls_key,
        &files.client_signing_cert,
    ]
    .iter()
    .map(|f| std::fs::read(f).unwrap())
    .collect();
    let cert = &pki.client_tls.cert;
    let key = &pki.client_tls.key;
    seeds.push(cert.to_der().unwrap());
    let mut chain = cert.to_pem().unwrap();
    chain.extend(key.private_key_to_pem_pkcs8().unwrap());
    seeds.push(chain);
    seeds.push(
        key.private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_256_cbc(), b"pw")
            .unwrap(),
    );
    let p12 = openssl::pkcs12::Pkcs12::builder()
        .name("fuzz")
        .pkey(key)
        .cert(cert)
        .build2("pw")
        .unwrap();
    seeds.push(p12.to_der().unwrap());
    seeds
}

#[test]
fn fuzz_certificate_loading() {
    use obconform::certs::load::load_certificate;
    use obconform::certs::{identity::load_cert_and_key, load_private_key, load_trust_anchors};
    let dir = tempfile::tempdir().unwrap();
    let seeds = certificate_seeds(dir.path());
    let file = dir.path().join("fuzz.pem");
    fuzz("certs", input(seeds), |bytes| {
        std::fs::write(&file, &bytes).unwrap();
        let pass = || Some(("FUZZ_PASSPHRASE", Some("pw".to_string())));
        let unset = || Some(("FUZZ_PASSPHRASE", None));
        for passphrase in [None, unset(), pass()] {
            if let Ok(loaded) = load_certificate(&file, passphrase.clone()) {
                let _ = obconform::certs::inspect(&loaded.leaf, None, chrono::Utc::now());
            }
            let _ = load_private_key(&file, passphrase.clone());
            let _ = load_cert_and_key(&file, None, passphrase);
        }
        let _ = load_trust_anchors(&file);
    });
}

/// Structured changes to a report part, beside the byte-level ones.
#[derive(Debug, Clone)]
enum ReportEdit {
    Partitions(Vec<(u32, u32)>),
    Duration(u64),
    DropScenarios(usize),
    DuplicateScenarios,
    Format(u32),
}

fn report_edit() -> impl Strategy<Value = ReportEdit> {
    prop_oneof![
        // Counts stay small: `report merge` lists every missing part of the split.
        vec((0..6u32, 0..6u32), 0..4).prop_map(ReportEdit::Partitions),
        any::<u64>().prop_map(ReportEdit::Duration),
        any::<usize>().prop_map(ReportEdit::DropScenarios),
        Just(ReportEdit::DuplicateScenarios),
        (0..4u32).prop_map(ReportEdit::Format),
    ]
}

fn edit_report(mut report: serde_json::Value, edits: &[ReportEdit]) -> serde_json::Value {
    use serde_json::json;
    for e in edits {
        match e {
            ReportEdit::Partitions(p) => {
                report["partitions"] = p
                    .iter()
                    .map(|(index, count)| json!({ "index": index, "count": count }))
                    .collect();
            }
            ReportEdit::Duration(ms) => report["duration_ms"] = json!(ms),
            ReportEdit::DropScenarios(n) => {
                if let Some(s) = report["scenarios"].as_array_mut() {
                    let keep = if s.is_empty() { 0 } else { n % s.len() };
                    s.truncate(keep);
                }
            }
            ReportEdit::DuplicateScenarios => {
                if let Some(s) = report["scenarios"].as_array_mut() {
                    let copy = s.clone();
                    s.extend(copy);
                }
            }
            ReportEdit::Format(f) => report["format"] = json!(f),
        }
    }
    report
}

#[test]
fn fuzz_report_merge() {
    let seeds = corpus("report");
    let values: Vec<serde_json::Value> = seeds
        .iter()
        .map(|s| serde_json::from_slice(s).expect("seed report parses"))
        .collect();
    let count = values.len();
    let part = prop_oneof![
        // Byte-level mutations of a part (most no longer parse: that path is covered too).
        1 => input(seeds).prop_map(|bytes| serde_json::from_slice::<RunReport>(&bytes).ok()),
        3 => (0..count, vec(report_edit(), 0..4)).prop_map(move |(i, edits)| {
            serde_json::from_value::<RunReport>(edit_report(values[i].clone(), &edits)).ok()
        }),
    ];
    fuzz(
        "report-merge",
        (vec(part, 0..4), any::<bool>()),
        |(parts, allow_incomplete)| {
            let parts: Vec<RunReport> = parts.into_iter().flatten().collect();
            if let Ok(merged) = merge(parts, allow_incomplete) {
                let _ = serde_json::to_string(&merged).unwrap();
            }
        },
    );
}
