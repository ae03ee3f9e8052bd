//! Which Rust targets the toolchain running a build script has installed, and the nested cargo
//! builds for them, shared by the build scripts that build for other targets
//! (`host/build/main.rs`, `guests/artifacts/build.rs`).
//!
//! The guest components are built by one nested build ([`build_guests`]) whichever script asks
//! first: the same command into the same directory, so the other finds it up to date instead of
//! building the compose resolver a second way.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The target the guest components are built for.
pub const WASM: &str = "wasm32-wasip2";

/// The toolchain of the build (`$RUSTC`, as cargo passes it to build scripts).
pub struct Toolchain {
    /// `rustc --print sysroot`, or `None` when rustc could not say.
    sysroot: Option<PathBuf>,
}

impl Toolchain {
    /// Asks `$RUSTC` (else `rustc`) for its sysroot.
    pub fn detect() -> Toolchain {
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let sysroot = Command::new(rustc)
            .args(["--print", "sysroot"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
        Toolchain { sysroot }
    }

    fn rustlib(&self) -> Option<PathBuf> {
        self.sysroot.as_deref().map(|s| s.join("lib/rustlib"))
    }

    /// Whether the standard library for `triple` is installed (`rustup target add <triple>`).
    pub fn has_target(&self, triple: &str) -> bool {
        self.rustlib()
            .is_some_and(|r| r.join(triple).join("lib").is_dir())
    }

    /// Makes cargo rerun the build script when a target is installed or removed.
    ///
    /// What these scripts build depends on the installed targets, and cargo keeps a build
    /// script's output until something it watches changes: without this, a first build made
    /// before `rustup target add` (the README's demo, run before `tests/run` installs the
    /// targets) would embed "no agent" for good. rustup rewrites `lib/rustlib/components` on
    /// every target it adds or removes; a toolchain without that file (not managed by rustup) has
    /// its `lib/rustlib` directory watched instead, whose entries are the installed targets.
    pub fn watch_installed_targets(&self) {
        println!("cargo:rerun-if-env-changed=RUSTC");
        let Some(rustlib) = self.rustlib() else {
            return;
        };
        println!("cargo:rerun-if-changed={}", watched(&rustlib).display());
    }
}

fn watched(rustlib: &Path) -> PathBuf {
    let components = rustlib.join("components");
    if components.is_file() {
        components
    } else {
        rustlib.to_path_buf()
    }
}

/// Runs a nested `cargo build --manifest-path <manifest> <what…> --target <triple>`; fails the
/// build with cargo's output.
pub fn nested_build(manifest: &Path, what: &[&str], target_dir: &Path, triple: &str) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--manifest-path")
        .arg(manifest)
        .args(what)
        .args(["--target", triple])
        .env("CARGO_TARGET_DIR", target_dir)
        // The outer build's flags and wrappers (clippy, coverage) are not for nested builds.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_BUILD_TARGET");
    if triple.starts_with("aarch64") {
        // The toolchain's own lld links a static musl binary without a cross compiler.
        cmd.env("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER", "rust-lld");
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo to build {what:?} for {triple}: {e}"));
    assert!(
        status.success(),
        "building {what:?} for {triple} failed ({status}); run: cargo build --manifest-path {} {} --target {triple}",
        manifest.display(),
        what.join(" ")
    );
}

/// Builds every guest component of the workspace at `guests_manifest` for [`WASM`] into
/// `wasm_dir`; the components are `<wasm_dir>/wasm32-wasip2/release/remote_guest_<name>.wasm`.
pub fn build_guests(guests_manifest: &Path, wasm_dir: &Path) {
    nested_build(
        guests_manifest,
        &["--workspace", "--release"],
        wasm_dir,
        WASM,
    );
}
