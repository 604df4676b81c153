//! The harness a TPP's crate uses, through its library API: a scenario folder becomes one test
//! per scenario named `<system>::<file stem>`; an unloadable file and a missing folder are tests
//! that fail and say why; a scenario needing certificates the environment lacks is ignored.
//! (Running them is libtest-mimic's part, proven by `tests/scenarios.rs` and the example crate.)

use crate::common::{EMBEDDED_ENV, write};
use obconform::harness::Harness;

fn scenario(system: &str, extra: &str) -> String {
    format!(
        "name: token\nsystem: {system}\n{extra}steps:\n  - name: token\n    request: {{ method: GET, url: \"{{{{env.api}}}}/\" }}\n"
    )
}

#[test]
fn a_folder_becomes_one_test_per_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let scenarios = dir.path().join("scenarios");
    write(&scenarios, "environments.yaml", EMBEDDED_ENV);
    write(&scenarios, "bank/passes.yaml", &scenario("bank", ""));
    write(&scenarios, "other/second.yaml", &scenario("other", ""));
    write(
        &scenarios,
        "bank/needs-renewed.yaml",
        &scenario("bank", "requires_certs: [new_tls]\n"),
    );
    write(&scenarios, "bank/broken.yaml", "name: [unclosed\n");

    let (trials, teardown) = Harness::new(&scenarios).trials();
    let listed: Vec<(&str, bool)> = trials
        .iter()
        .map(|t| (t.name(), t.has_ignored_flag()))
        .collect();
    assert_eq!(
        listed,
        [
            ("bank::needs-renewed", true),
            ("bank::passes", false),
            ("other::second", false),
            ("unloadable::broken", false),
        ]
    );
    teardown.close();
}

#[test]
fn a_missing_folder_is_one_test_that_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (trials, teardown) = Harness::new(dir.path().join("nowhere")).trials();
    let names: Vec<&str> = trials.iter().map(|t| t.name()).collect();
    assert_eq!(names, ["harness::scenarios"]);
    teardown.close();
}
