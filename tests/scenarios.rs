//! Every scenario file under scenarios/ is one test, `<system>::<file stem>`, run against one shared
//! embedded sandbox (or the environment named by OBCONFORM_ENV) — through the same harness a TPP's
//! own crate uses. `--list` and name filters work as with any cargo test.

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    obconform::harness::Harness::new(root.join("scenarios")).run()
}
