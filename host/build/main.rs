//! Builds the target-side agent (`host/agent`, package `remote-agent`) as static musl binaries
//! and embeds them, so `files()` on a container works from a plain `cargo build` with no extra
//! step, and the `remote` binary carries everything it uploads.
//!
//! Like wasmtime's `crates/test-programs/artifacts`, this runs a nested `cargo build` with its
//! own target directory (beside the outer one, shared by every profile so it is built once), and
//! writes `agents.rs` into `OUT_DIR`: one `include_bytes!` per built platform, and for each
//! platform that could not be built the reason and the command that fixes it, which the Docker
//! backend reports when a container of that platform asks for its agent.
//!
//! A platform is built when its Rust standard library is installed (`rustup target add …`):
//! amd64 always is after the README's set-up; arm64 links with the toolchain's own `rust-lld`,
//! so no cross toolchain is needed.
//!
//! The compose-resolver guest (`guests/compose-resolver`), which `compose://` runs to pick its
//! container, is embedded the same way into `compose_resolver.rs`: built for `wasm32-wasip2`
//! by the same nested build of the guest workspace as the guest artifacts crate's (so there is
//! one build, whichever runs first), or,
//! when that target is not installed, the reason and the fix, which `compose://` reports.

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

mod toolchain;

use toolchain::{WASM, build_guests, nested_build};

/// (GOARCH, Rust target) of each agent platform.
const PLATFORMS: &[(&str, &str)] = &[
    ("amd64", "x86_64-unknown-linux-musl"),
    ("arm64", "aarch64-unknown-linux-musl"),
];

fn main() {
    let manifest =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace = manifest.parent().expect("host/ has a parent").to_path_buf();
    for watched in [
        "agent/src",
        "agent/Cargo.toml",
        "../guests/compose-resolver",
        "../guests/kit",
        "../guests/Cargo.lock",
        "../wit",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            manifest.join(watched).display()
        );
    }
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("Cargo.lock").display()
    );
    println!("cargo:rerun-if-env-changed=REMOTE_AGENT_TARGET_DIR");

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target_dir = env::var_os("REMOTE_AGENT_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| shared_target_dir(&out));
    let toolchain = toolchain::Toolchain::detect();
    toolchain.watch_installed_targets();
    let installed = |triple: &str| toolchain.has_target(triple);

    let mut code = String::from(
        "/// Agents built with this binary: (GOARCH, the static binary).\n\
         pub const BUILT: &[(&str, &[u8])] = &[\n",
    );
    let mut missing = String::from(
        "/// Agent platforms that were not built: (GOARCH, why, how to build).\n\
         pub const NOT_BUILT: &[(&str, &str, &str)] = &[\n",
    );
    for (arch, triple) in PLATFORMS {
        let how =
            format!("run `rustup target add {triple}`, then rebuild (cargo build -p remote-host)");
        if !installed(triple) {
            let why = format!("the Rust target {triple} is not installed");
            println!("cargo:warning=no remote-agent for linux/{arch}: {why}; {how}");
            writeln!(missing, "    ({arch:?}, {why:?}, {how:?}),").expect("write to a String");
            continue;
        }
        nested_build(
            &workspace.join("Cargo.toml"),
            &["-p", "remote-agent", "--profile", "agent"],
            &target_dir,
            triple,
        );
        let binary = target_dir.join(triple).join("agent").join("remote-agent");
        writeln!(
            code,
            "    ({arch:?}, include_bytes!({:?})),",
            binary.display().to_string()
        )
        .expect("write to a String");
    }
    code.push_str("];\n");
    missing.push_str("];\n");
    code.push_str(&missing);
    std::fs::write(out.join("agents.rs"), code).expect("write agents.rs into OUT_DIR");

    let resolver = if installed(WASM) {
        let wasm_dir = target_dir.with_file_name("wasm-guests");
        build_guests(&workspace.join("guests/Cargo.toml"), &wasm_dir);
        let wasm = wasm_dir
            .join(WASM)
            .join("release/remote_guest_compose_resolver.wasm");
        format!("Ok(include_bytes!({:?}))", wasm.display().to_string())
    } else {
        let why = format!(
            "this build has no compose resolver: the Rust target {WASM} was not installed; \
             run `rustup target add {WASM}`, then rebuild (cargo build -p remote-host)"
        );
        println!("cargo:warning={why}");
        format!("Err({why:?})")
    };
    std::fs::write(
        out.join("compose_resolver.rs"),
        format!(
            "/// The compose-resolver component, or why this build has none.\n\
             pub const COMPOSE_RESOLVER: Result<&[u8], &str> = {resolver};\n"
        ),
    )
    .expect("write compose_resolver.rs into OUT_DIR");
}

/// `<target>/remote-agent` beside the profile directories, found from `OUT_DIR`
/// (`<target>[/<triple>]/<profile>/build/<pkg>/out`), so dev, test and release share one build.
fn shared_target_dir(out: &Path) -> PathBuf {
    out.ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "build"))
        .and_then(|build| build.parent()?.parent())
        .map_or_else(|| out.join("remote-agent"), |t| t.join("remote-agent"))
}
