//! `remote guest new`: each language's scaffold builds with its own build script, as a user would
//! run it, and the guest it makes passes the whole conformance suite around `local://`.

use remote_host::conformance::CASES;
use remote_host::guest::scaffold::{self, Lang};
use remote_tests::foreign::{out_dir, toolchain_path};

use super::*;

/// Scaffolds `name` in `lang`, runs its `build.sh` and returns the component it built.
fn scaffold_and_build(name: &str, lang: Lang) -> String {
    let parent = scratch(name);
    let dir = scaffold::new(name, lang, Path::new(&parent))
        .unwrap_or_else(|e| panic!("scaffolding {name}: {e}"));
    let out = std::process::Command::new(dir.join("build.sh"))
        .env("PATH", toolchain_path())
        // Outside the workspace's target directory, which the running `cargo test` holds; kept
        // between runs so wit-bindgen is built once.
        .env("CARGO_TARGET_DIR", out_dir().join("scaffold-target"))
        .output()
        .unwrap_or_else(|e| panic!("running {}/build.sh: {e}", dir.display()));
    assert!(
        out.status.success(),
        "{}/build.sh failed:\n{}{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let wasm = dir.join(format!("{name}.wasm"));
    assert!(wasm.is_file(), "build.sh made no {}", wasm.display());
    wasm.display().to_string()
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
