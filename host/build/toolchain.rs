//! Which Rust targets the toolchain running a build script has installed, shared by the build
//! scripts that build for other targets (`host/build/main.rs`, `guests/artifacts/build.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;

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
