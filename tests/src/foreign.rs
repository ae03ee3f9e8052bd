//! Guests written in other languages, built by their own toolchains against `wit/` unchanged:
//! `audit-py` (Python, componentize-py) and `policy-js` (JavaScript, jco componentize).
//!
//! `tests/foreign-guests/build.sh` builds them (installing the pinned toolchains once, then
//! offline; a guest whose inputs did not change is not rebuilt). [`guest`] runs it once per test
//! process, so a test always gets the component of the sources in this checkout, and fails with
//! the script's reason when a toolchain or a guest cannot be built: a missing toolchain is a
//! failure, never a skip.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use remote_host::guest::scaffold::{self, Lang};

/// The Python audit layer: logs every operation through `log`, passes everything through.
pub const AUDIT_PY: &str = "audit-py";

/// The JavaScript policy: refuses the programs its configuration's `deny` lists.
pub const POLICY_JS: &str = "policy-js";

/// The policy-js configuration the conformance suite runs under: it denies programs, but none
/// that the suite runs.
pub const POLICY_JS_SUITE_CONFIG: &str = r#"{"deny":["reboot","shutdown","mkfs"]}"#;

/// Where build.sh puts the components: `$REMOTE_FOREIGN_GUESTS`, as the script reads it.
pub fn out_dir() -> PathBuf {
    std::env::var_os("REMOTE_FOREIGN_GUESTS")
        .filter(|v| !v.is_empty())
        .map_or_else(
            || PathBuf::from("/var/tmp/remote-foreign-guests"),
            PathBuf::from,
        )
}

/// Runs the build script once per process and returns what it printed.
fn build() -> &'static str {
    static BUILT: OnceLock<String> = OnceLock::new();
    BUILT.get_or_init(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/foreign-guests/build.sh");
        match std::process::Command::new(script).output() {
            Ok(out) => String::from_utf8_lossy(&out.stderr).into_owned(),
            Err(e) => format!("cannot run {script}: {e}"),
        }
    })
}

/// The path of the built guest `name` (`audit-py`, `policy-js`), after running the build script
/// once per process; panics with the reason the script recorded when it could not be built.
pub fn guest(name: &str) -> String {
    let log = build();
    let dir = out_dir();
    let wasm = dir.join(format!("{name}.wasm"));
    if let Ok(why) = std::fs::read_to_string(dir.join(format!("{name}.error"))) {
        panic!("the {name} guest could not be built by tests/foreign-guests/build.sh:\n{why}");
    }
    if !wasm.is_file() {
        panic!(
            "tests/foreign-guests/build.sh left no {} and no reason; its output:\n{log}",
            wasm.display()
        );
    }
    wasm.display().to_string()
}

/// `$PATH` with the installed toolchains first (`componentize-py`, `jco`), for building other
/// guests with them; panics as [`guest`] does when they are not installed.
pub fn toolchain_path() -> String {
    guest(AUDIT_PY);
    guest(POLICY_JS);
    let dir = out_dir();
    let mut path = vec![
        dir.join("python/venv/bin"),
        dir.join("js/node_modules/.bin"),
    ];
    path.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(path)
        .unwrap_or_else(|e| panic!("PATH: {e}"))
        .to_string_lossy()
        .into_owned()
}

/// Makes the guest `name` in `lang` with `remote guest new`'s scaffold under `parent`, runs its
/// `build.sh` as a user would (with [`toolchain_path`]) and returns the component it built;
/// panics with the script's output when the build fails.
pub fn scaffold(name: &str, lang: Lang, parent: &Path) -> String {
    let dir =
        scaffold::new(name, lang, parent).unwrap_or_else(|e| panic!("scaffolding {name}: {e}"));
    let out = std::process::Command::new(dir.join("build.sh"))
        .env("PATH", toolchain_path())
        // Outside the workspace's target directory, which a running `cargo test` holds; kept
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
