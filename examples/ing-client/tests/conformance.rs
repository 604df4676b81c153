//! The crate's own scenarios (tests/scenarios/), one test each, run by obconform's harness
//! against the embedded sandbox — or the bank named by OBCONFORM_ENV.

fn main() {
    obconform::harness::Harness::new("tests/scenarios").run()
}
