//! ING's published API specs against the embedded sandbox, checked by a client that shares no
//! code with obconform: `tests/probe/ing_contract_probe.py` (Python: `requests`, `cryptography`,
//! `jsonschema`) signs its own requests, drives the consent screen and the SCA page like a
//! browser, calls every operation of the OAuth 2.0, AIS, PIS and Showcase specs that the sandbox
//! serves — successes and their 400/401/403/404 refusals — and validates every answer against the
//! spec (status documented, content type listed, body valid against the response schema; XML
//! and multipart answers well-formed, their refusals valid as TPPMessages). Its Payment Request
//! section (`tests/probe/ing_payment_request_probe.py`) does the same for the nine operations of
//! the Payment Request spec, paying on the payer page like a browser.
//!
//! The specs are ING's, read from a folder and never copied into the repository:
//! `OBCONFORM_ING_SPECS`, else `../shared/reference/ing-openapi` beside the repository. Without
//! them the test says so and passes, unless `OBCONFORM_REQUIRE_ING_SPECS=1` makes that a failure.

use crate::common::{StandaloneSandbox, ing_specs_dir, local_command};
use std::path::Path;

#[test]
fn every_answer_of_the_sandbox_is_what_ings_published_specs_document() {
    let Some(specs) = ing_specs_dir("contract probe") else {
        return;
    };
    // `obconform sandbox` as a child process; dropping it (also when an assertion fails) kills it.
    let sandbox = StandaloneSandbox::start();
    let endpoints = obconform::sandbox::endpoints::read_endpoints(sandbox.pki.path())
        .expect("the sandbox wrote its endpoints.json");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/probe/ing_contract_probe.py");
    let output = local_command("python3")
        .arg(&script)
        .args(["--api", sandbox.url.as_str()])
        .args(["--consent", endpoints.consent.as_str()])
        .arg("--pki")
        .arg(sandbox.pki.path())
        .arg("--specs")
        .arg(&specs)
        .output()
        .expect("python3 runs (with the requests, cryptography and jsonschema packages)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary = stdout
        .lines()
        .rev()
        .find(|line| line.starts_with("probe: "))
        .unwrap_or("no summary line");
    assert!(
        output.status.success(),
        "the contract probe failed (exit {:?}, {summary}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status.code()
    );
    println!("{summary}");
}
