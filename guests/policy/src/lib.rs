//! The policy guest: refuses commands, environment variables, paths and agent uploads that its
//! rules do not allow, with `access-denied` naming the rule that matched.
//!
//! Configuration (JSON; every key optional, `{}` allows everything):
//!
//! ```json
//! {
//!   "commands": { "allow": ["git", "make"], "deny": ["rm"], "deny_lines": ["*--force*"] },
//!   "env": { "deny": ["LD_*"], "strip": ["*"], "keep": ["HOME", "PATH", "LC_*"] },
//!   "paths": { "read_only": ["/etc"], "hidden": ["/root/.ssh"] },
//!   "upload_agent": false,
//!   "audit": true
//! }
//! ```
//!
//! - `commands.allow`: when present, every program the command line starts must be listed (a bare
//!   name matches only that name as written, a path only that path); `deny`: programs refused
//!   anywhere in the line (a bare name matches any path ending in it); `deny_lines`: globs (`*`,
//!   `?`) over the whole line. The line is read as `sh` reads it: `;`, `&&`, `||`, `|`, `&`,
//!   newlines, subshells and command substitutions all start programs that are checked. A
//!   program named by an expansion (`$cmd`) cannot be checked and is refused while either list is
//!   set. A deny list is a blocklist: a program that runs its arguments (`sh -c`, `env`,
//!   `xargs`) can still reach a denied one; use `allow` for a boundary.
//! - `env.deny`: globs of names refused; `env.strip`: globs of names dropped silently unless they
//!   match `env.keep` (default: HOME, PATH, TERM, LANG, LC_*, USER, LOGNAME, SHELL, EDITOR, VISUAL,
//!   PAGER, TZ, DISPLAY, SSH_AUTH_SOCK, COLORTERM, TMPDIR).
//! - `paths.hidden`: prefixes no operation may touch (and `read-dir` does not list);
//!   `paths.read_only`: prefixes no operation may change. Paths are checked as written (made
//!   absolute and normalised) and as resolved through every symlink below, one `readlink` per
//!   component, so neither `..` nor a symlink leads around a rule.
//! - `upload_agent`: `false` refuses `upload-agent`.
//! - `audit`: log every decision through the host's `log` import.
//!
//! # Layout
//! - `shell`: the programs a command line starts.
//! - `rules`: the configuration and the decisions.
//! - this file: the [`Layer`] glue.

pub mod rules;
pub mod shell;

use std::cell::RefCell;
use std::sync::OnceLock;

use remote_guest_kit::bindings::remote::machine::types::DirEntry;
use remote_guest_kit::path::{Link, absolute, resolve};
use remote_guest_kit::{
    Access, BelowClient, Error, ErrorCode, Layer, LazyFiles, Level, error, log,
};
use rules::{Denied, EnvDecision, Policy};

/// The configured layer.
#[derive(Debug)]
pub struct PolicyLayer(Policy);

thread_local! {
    /// The working directory below, for relative paths (asked once).
    static CWD: RefCell<Option<String>> = const { RefCell::new(None) };
}

impl PolicyLayer {
    fn audit(&self, level: Level, what: impl FnOnce() -> String) {
        if self.0.audit {
            log(level, &what());
        }
    }

    /// The `access-denied` error for a refusal, logged when auditing.
    fn deny(&self, op: &str, target: &str, d: Denied) -> Error {
        let message = format!("policy: denied by rule `{}`: {}", d.rule, d.why);
        self.audit(Level::Warn, || format!("deny {op} {target:?}: {message}"));
        error(ErrorCode::AccessDenied, op, target, message)
    }

    fn cwd(files: &BelowClient) -> Result<String, Error> {
        if let Some(cwd) = CWD.with_borrow(Clone::clone) {
            return Ok(cwd);
        }
        let cwd = files.getwd()?;
        CWD.set(Some(cwd.clone()));
        Ok(cwd)
    }

    /// Checks `path` as written and as resolved through the symlinks below.
    fn check_path(
        &self,
        files: &BelowClient,
        op: &str,
        path: &str,
        access: Access,
    ) -> Result<(), Error> {
        let raw = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("{}/{path}", Self::cwd(files)?)
        };
        let abs = absolute("/", &raw);
        // Resolved from the path as written: `link/..` is the link target's parent for the
        // kernel, which the lexical `abs` does not know.
        let resolved = resolve(&raw, access.follow, |p| {
            Link::from_readlink(files.readlink(p))
        })?;
        self.0
            .path(&[&abs, &resolved], access.write)
            .map_err(|d| self.deny(op, path, d))
    }
}

impl Layer for PolicyLayer {
    fn configure(config: &str) -> Result<Self, String> {
        Policy::parse(config).map(PolicyLayer)
    }

    fn slot() -> &'static OnceLock<Self> {
        static SLOT: OnceLock<PolicyLayer> = OnceLock::new();
        &SLOT
    }

    fn dest(&self, dest: &str) -> Result<String, Error> {
        self.audit(Level::Info, || format!("allow open {dest:?}"));
        Ok(dest.to_string())
    }

    fn backend_type(&self, below: String) -> String {
        below
    }

    fn command(&self, cmd: &str) -> Result<String, Error> {
        self.0
            .command(cmd)
            .map_err(|d| self.deny("start", cmd, d))?;
        self.audit(Level::Info, || format!("allow start {cmd:?}"));
        Ok(cmd.to_string())
    }

    fn env(&self, name: &str, value: &str) -> Result<Option<(String, String)>, Error> {
        match self.0.env(name).map_err(|d| self.deny("setenv", name, d))? {
            EnvDecision::Pass => {
                self.audit(Level::Info, || format!("allow setenv {name:?}"));
                Ok(Some((name.to_string(), value.to_string())))
            }
            EnvDecision::Strip => {
                self.audit(Level::Info, || format!("strip setenv {name:?}"));
                Ok(None)
            }
        }
    }

    fn path_in(
        &self,
        files: &BelowClient,
        op: &str,
        path: &str,
        access: Access,
    ) -> Result<String, Error> {
        if self.0.has_path_rules() {
            self.check_path(files, op, path, access)?;
        }
        self.audit(Level::Trace, || format!("allow {op} {path:?}"));
        Ok(path.to_string())
    }

    fn getwd(&self, below: String) -> String {
        below
    }

    fn path_out(&self, path: String) -> String {
        path
    }

    fn link_target_in(&self, target: &str) -> Result<String, Error> {
        Ok(target.to_string())
    }

    fn link_target_out(&self, target: String) -> String {
        target
    }

    fn entries(&self, files: &BelowClient, dir: &str, entries: &mut Vec<DirEntry>) {
        if self.0.hidden.is_empty() {
            return;
        }
        let Ok(cwd) = Self::cwd(files) else {
            return;
        };
        let abs = absolute(&cwd, dir);
        let raw = if dir.starts_with('/') {
            dir.to_string()
        } else {
            format!("{cwd}/{dir}")
        };
        let resolved = resolve(&raw, true, |p| Link::from_readlink(files.readlink(p)))
            .unwrap_or_else(|_| abs.clone());
        entries.retain(|e| {
            self.0.visible(&format!("{abs}/{}", e.name))
                && self.0.visible(&format!("{resolved}/{}", e.name))
        });
    }

    fn upload(&self, files: &LazyFiles, local: &str, remote: &str) -> Result<String, Error> {
        self.0
            .upload()
            .map_err(|d| self.deny("upload-agent", remote, d))?;
        if self.0.has_path_rules() {
            let files = files.get().map_err(|e| {
                self.deny(
                    "upload-agent",
                    remote,
                    Denied {
                        rule: "paths",
                        why: format!(
                            "the path cannot be checked without a file client ({})",
                            e.message
                        ),
                    },
                )
            })?;
            let path = match remote.strip_prefix('~') {
                Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                    format!("{}{rest}", Self::cwd(files)?)
                }
                _ => remote.to_string(),
            };
            self.check_path(files, "upload-agent", &path, Access::WRITE)?;
        }
        self.audit(Level::Info, || {
            format!("allow upload-agent {local:?} to {remote:?}")
        });
        Ok(remote.to_string())
    }
}

/// The component.
pub type Component = remote_guest_kit::Middleware<PolicyLayer>;
// Exported only in the wasm build: the component's export names are not valid symbol names for a
// native shared library, and natively only the pure modules are tested.
#[cfg(target_arch = "wasm32")]
remote_guest_kit::bindings::export!(Component with_types_in remote_guest_kit::bindings);
