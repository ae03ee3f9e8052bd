//! The path-rewrite guest: presents the target's file system under virtual prefixes, e.g.
//! `/workspace` for `/home/user/project`, and refuses every path outside them.
//!
//! Going down, every path argument is made absolute (against the virtual working directory),
//! normalised, mapped to its real location, and, with `check_symlinks`, resolved through
//! `readlink` below so a `..` or a symlink cannot lead out of the mapped roots. Coming up,
//! `getwd`, `readlink` targets and the path `upload-agent` returns are mapped back. Command lines
//! get the same mapping for every word that starts with a virtual prefix, and run in the real
//! working directory.
//!
//! Configuration (JSON):
//!
//! ```json
//! {
//!   "mappings": [{ "virtual": "/workspace", "real": "/home/user/project" }],
//!   "workdir": "/workspace",
//!   "check_symlinks": true,
//!   "rewrite_commands": true
//! }
//! ```
//!
//! `workdir` (default: the first mapping's virtual root) is what `getwd` answers, the base of
//! relative paths and of `~`, and where commands start. `check_symlinks` (default `true`) costs one
//! `readlink` below per path component.
//!
//! # Layout
//! - `mapping`: the configuration and the pure mapping functions.
//! - this file: the [`Layer`] glue.

mod mapping;

use std::sync::OnceLock;

use remote_guest_kit::path::{Link, absolute, resolve_below};
use remote_guest_kit::{Access, BelowClient, Error, ErrorCode, Layer, LazyFiles, error};

pub use mapping::Mappings;

/// The configured layer.
#[derive(Debug)]
pub struct PathRewrite(Mappings);

impl PathRewrite {
    /// Maps `path` (virtual) to its real location and checks it stays inside the real roots.
    fn down(
        &self,
        files: Option<&BelowClient>,
        op: &str,
        path: &str,
        follow: bool,
    ) -> Result<String, Error> {
        let m = &self.0;
        let (root, rest) = m.split_real(path).ok_or_else(|| {
            error(
                ErrorCode::AccessDenied,
                op,
                path,
                format!(
                    "path-rewrite: {} is outside every mapped root",
                    absolute(&m.workdir, path)
                ),
            )
        })?;
        let real = if root == "/" && !rest.is_empty() {
            rest.clone()
        } else {
            format!("{root}{rest}")
        };
        if let (true, Some(files)) = (m.check_symlinks, files) {
            // The configured real root is trusted; every component below it is checked.
            let resolved = resolve_below(root, &rest, follow, |p| {
                Link::from_readlink(files.readlink(p))
            })?;
            if !m.inside_real(&resolved) {
                return Err(error(
                    ErrorCode::AccessDenied,
                    op,
                    path,
                    "path-rewrite: a symlink leads outside the mapped roots",
                ));
            }
        }
        Ok(real)
    }
}

impl Layer for PathRewrite {
    fn configure(config: &str) -> Result<Self, String> {
        Mappings::parse(config).map(PathRewrite)
    }

    fn slot() -> &'static OnceLock<Self> {
        static SLOT: OnceLock<PathRewrite> = OnceLock::new();
        &SLOT
    }

    fn dest(&self, dest: &str) -> Result<String, Error> {
        Ok(dest.to_string())
    }

    fn backend_type(&self, below: String) -> String {
        below
    }

    fn command(&self, cmd: &str) -> Result<String, Error> {
        Ok(self.0.command(cmd))
    }

    fn env(&self, name: &str, value: &str) -> Result<Option<(String, String)>, Error> {
        Ok(Some((name.to_string(), value.to_string())))
    }

    fn path_in(
        &self,
        files: &BelowClient,
        op: &str,
        path: &str,
        access: Access,
    ) -> Result<String, Error> {
        self.down(Some(files), op, path, access.follow)
    }

    fn getwd(&self, _below: String) -> String {
        self.0.workdir.clone()
    }

    fn path_out(&self, path: String) -> String {
        self.0.to_virtual(&path).unwrap_or(path)
    }

    fn link_target_in(&self, target: &str) -> Result<String, Error> {
        if !target.starts_with('/') {
            return Ok(target.to_string());
        }
        self.0.to_real(target).ok_or_else(|| {
            error(
                ErrorCode::AccessDenied,
                "symlink",
                target,
                "path-rewrite: an absolute symlink target must be inside a mapped root",
            )
        })
    }

    fn link_target_out(&self, target: String) -> String {
        if target.starts_with('/') {
            self.path_out(target)
        } else {
            target
        }
    }

    fn entries(
        &self,
        _files: &BelowClient,
        _dir: &str,
        _entries: &mut Vec<remote_guest_kit::bindings::remote::machine::types::DirEntry>,
    ) {
    }

    fn upload(&self, files: &LazyFiles, _local: &str, remote: &str) -> Result<String, Error> {
        let remote = self.0.expand_home(remote);
        // Before a Docker backend's agent runs there is no client to ask about symlinks; the
        // lexical check still holds then.
        self.down(files.get().ok(), "upload-agent", &remote, true)
    }
}

/// The component.
pub type Component = remote_guest_kit::Middleware<PathRewrite>;
// Exported only in the wasm build: the component's export names are not valid symbol names for a
// native shared library, and natively only the pure modules are tested.
#[cfg(target_arch = "wasm32")]
remote_guest_kit::bindings::export!(Component with_types_in remote_guest_kit::bindings);
