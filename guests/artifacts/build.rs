//! Builds the guest components (the workspace in `guests/`) for `wasm32-wasip2` with a nested
//! cargo (`toolchain::build_guests`, the one build the host's script runs too), as wasmtime's
//! test-programs do, and writes their paths as constants plus a
//! `foreach_guest!` macro that test files use to prove every guest has a test.

use std::path::{Path, PathBuf};

#[path = "../../host/build/toolchain.rs"]
mod toolchain;

use toolchain::WASM;

/// The guests, by crate directory; the component is `remote_guest_<name>.wasm`.
const GUESTS: [&str; 4] = ["policy", "path-rewrite", "compose-resolver", "sandbox-test"];

fn main() {
    let manifest =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let guests = manifest.parent().expect("guests/").to_path_buf();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    // <target>/<profile>/build/<pkg>-<hash>/out: share one guest build across profiles and
    // across `cargo clippy`/`cargo test`, beside (not inside) the host's own artifacts.
    let target = out.ancestors().nth(4).unwrap_or(&out).join("wasm-guests");

    for dir in GUESTS.iter().chain(&["kit"]) {
        println!(
            "cargo:rerun-if-changed={}",
            guests.join(dir).join("src").display()
        );
        println!(
            "cargo:rerun-if-changed={}",
            guests.join(dir).join("Cargo.toml").display()
        );
    }
    for f in ["Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", guests.join(f).display());
    }
    println!("cargo:rerun-if-changed={}", guests.join("../wit").display());

    let toolchain = toolchain::Toolchain::detect();
    toolchain.watch_installed_targets();
    assert!(
        toolchain.has_target(WASM),
        "the guests need the Rust target {WASM}, which is not installed: run \
         `rustup target add {WASM}` (tests/fixtures/setup.sh does), then build again"
    );

    toolchain::build_guests(&guests.join("Cargo.toml"), &target);

    let mut code = String::new();
    let mut names = Vec::new();
    for dir in GUESTS {
        let name = dir.replace('-', "_");
        let wasm = target
            .join(WASM)
            .join("release")
            .join(format!("remote_guest_{name}.wasm"));
        assert!(
            wasm.is_file(),
            "the guest build did not produce {}",
            wasm.display()
        );
        deps_of(&wasm);
        code += &format!(
            "/// The `{dir}` guest component (`guests/{dir}`).\npub const {}: &str = {:?};\n",
            name.to_uppercase(),
            wasm.display().to_string()
        );
        names.push(name);
    }
    code += "/// Calls `$mac!(name)` for every guest: a test file that expands it with a macro\n\
             /// referring to a test per name fails to build when a guest has no test.\n\
             #[macro_export]\nmacro_rules! foreach_guest {\n    ($mac:ident) => {\n";
    for n in &names {
        code += &format!("        $mac!({n});\n");
    }
    code += "    };\n}\n";
    std::fs::write(out.join("guests.rs"), code).expect("write guests.rs");
}

/// Reruns this script when any source file the component was built from changes, as listed in
/// cargo's dep-info file beside it.
fn deps_of(wasm: &Path) {
    let Ok(text) = std::fs::read_to_string(wasm.with_extension("d")) else {
        return;
    };
    for line in text.lines() {
        let Some((_, deps)) = line.split_once(": ") else {
            continue;
        };
        let mut parts = deps.split_whitespace();
        while let Some(part) = parts.next() {
            let mut file = part.to_string();
            while file.ends_with('\\') {
                file.pop();
                file.push(' ');
                file.push_str(parts.next().unwrap_or_default());
            }
            println!("cargo:rerun-if-changed={file}");
        }
    }
}
