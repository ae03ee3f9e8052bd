//! `remote guest new`: each language's scaffold builds with its own build script, as a user would
//! run it, and the guest it makes passes the whole conformance suite around `local://`.

use remote_host::conformance::CASES;
use remote_host::guest::scaffold::{self, Lang};
use remote_tests::foreign::scaffold as build_scaffold;

use super::*;

/// Scaffolds `name` in `lang` in a fresh directory and builds it.
fn scaffold_and_build(name: &str, lang: Lang) -> String {
    build_scaffold(name, lang, Path::new(&scratch(name)))
}

/// Every conformance case through the guest at `wasm` around `local://`.
async fn passes_the_suite(wasm: &str) {
    for case in CASES {
        let below = remote_tests::backends::local().await;
        let b = remote_tests::guests::wrap(wasm, "{}", below).await;
        remote_tests::check_case(b, case.name).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_scaffold_builds_and_passes_the_suite() {
    passes_the_suite(&scaffold_and_build("pass-rust", Lang::Rust)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_scaffold_builds_and_passes_the_suite() {
    passes_the_suite(&scaffold_and_build("pass-python", Lang::Python)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_scaffold_builds_and_passes_the_suite() {
    passes_the_suite(&scaffold_and_build("pass-js", Lang::Js)).await;
}

#[test]
fn scaffold_refuses_bad_names_and_existing_directories() {
    let parent = scratch("scaffold-names");
    for name in [
        "",
        "Upper",
        "1st",
        "under_score",
        "trailing-",
        "a/b",
        "../x",
    ] {
        let e = scaffold::new(name, Lang::Python, Path::new(&parent)).expect_err(name);
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{name:?}: {e}");
    }
    scaffold::new("twice", Lang::Js, Path::new(&parent)).unwrap_or_else(|e| panic!("{e}"));
    let e = scaffold::new("twice", Lang::Rust, Path::new(&parent)).expect_err("a second time");
    assert_eq!(e.code(), ErrorCode::Exists, "{e}");
}
