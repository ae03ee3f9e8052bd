//! Compiled components, cached on disk (serialized, keyed by the wasm's SHA-256 and the engine's
//! compatibility hash) and in memory, so loading a guest a second time skips Cranelift.
//!
//! The cache directory is `$REMOTE_GUEST_CACHE`, else `$XDG_CACHE_HOME/remote/guests`, else
//! `~/.cache/remote/guests`, created with mode 0700. Entries are written (mode 0600) beside and
//! renamed into place, so a reader never sees half a file. Loading a cache entry runs its code,
//! so a directory that another user owns or may write is never read or written: the guest is
//! compiled instead.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::error::{Error, ErrorCode, Result};

/// Feeds a `Hash` into SHA-256, so the key is stable across processes (unlike `DefaultHasher`).
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The cache key of `wasm` compiled by `engine`.
pub fn key(engine: &Engine, wasm: &[u8]) -> String {
    let mut h = ShaHasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut h);
    let engine_hash = h.0.finalize();
    format!("{}-{}", hex(&Sha256::digest(wasm)), hex(&engine_hash[..8]))
}

/// The default cache directory, if a home can be found.
pub fn default_dir() -> Option<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("REMOTE_GUEST_CACHE")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("remote/guests")))
        .or_else(|| env("HOME").map(|d| d.join(".cache/remote/guests")))
}

/// How a component was obtained, for measurements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Compiled now.
    Compiled,
    /// Read from the disk cache.
    Disk,
    /// Already loaded in this process.
    Memory,
}

/// The compiled `wasm`, from the memory cache, the disk cache in `dir`, or Cranelift (then
/// stored in both). `what` names the guest in errors.
///
/// Loads of one component that race wait for a single compilation: a guest embedding an
/// interpreter (CPython, SpiderMonkey) takes tens of seconds to compile, and parallel tests load
/// the same guest at once.
pub fn load(
    engine: &Engine,
    wasm: &[u8],
    dir: Option<&Path>,
    what: &str,
) -> Result<(Component, Source)> {
    type Slot = Arc<Mutex<Option<Component>>>;
    static MEMORY: OnceLock<Mutex<HashMap<String, Slot>>> = OnceLock::new();
    let key = key(engine, wasm);
    let slot = MEMORY
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(key.clone())
        .or_default()
        .clone();
    let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(c) = &*slot {
        return Ok((c.clone(), Source::Memory));
    }
    let dir = dir.filter(|d| private_or_absent(d, what));
    let file = dir.map(|d| d.join(format!("{key}.cwasm")));
    let cached = file.as_deref().and_then(|f| read(engine, f));
    let (component, source) = match cached {
        Some(c) => (c, Source::Disk),
        None => {
            let c = Component::new(engine, wasm).map_err(|e| {
                Error::new(
                    ErrorCode::InvalidArgument,
                    "load guest",
                    what,
                    format!("not a valid component: {e:#}"),
                )
            })?;
            if let (Some(dir), Some(file)) = (dir, &file) {
                // A cache that cannot be written only costs the next load a compilation.
                if let Err(e) = write(&c, dir, file) {
                    tracing::debug!(target: "remote::guest", "not caching {what}: {e}");
                }
            }
            (c, Source::Compiled)
        }
    };
    *slot = Some(component.clone());
    Ok((component, source))
}

#[expect(
    unsafe_code,
    reason = "deserializing compiled code trusts the file; see the SAFETY comment"
)]
fn read(engine: &Engine, file: &Path) -> Option<Component> {
    if !file.is_file() {
        return None;
    }
    // SAFETY: the file is one this module wrote (from `Component::serialize`) into a directory
    // it created with mode 0700, renamed into place only when complete; its name holds the
    // engine's compatibility hash, and wasmtime checks the header's version and configuration
    // again and refuses a mismatch. Anyone able to replace it can already run code as this user.
    match unsafe { Component::deserialize_file(engine, file) } {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::debug!(target: "remote::guest", "ignoring cache entry {}: {e}", file.display());
            None
        }
    }
}

/// Whether `dir` is ours alone (owned by this user, writable by no one else) or does not exist
/// yet (then [`write`] creates it so).
fn private_or_absent(dir: &Path, what: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => {
            tracing::debug!(target: "remote::guest", "not caching {what}: {}: {e}", dir.display());
            false
        }
        Ok(m) => {
            let ours = m.uid() == rustix::process::geteuid().as_raw() && m.mode() & 0o022 == 0;
            if !ours {
                tracing::warn!(
                    target: "remote::guest",
                    "not using the guest cache {}: it must belong to this user and be writable by no one else (mode {:o}, owner {})",
                    dir.display(),
                    m.mode() & 0o7777,
                    m.uid()
                );
            }
            ours
        }
    }
}

fn write(c: &Component, dir: &Path, file: &Path) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let bytes = c
        .serialize()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        file.file_name().and_then(|n| n.to_str()).unwrap_or("entry"),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?
        .write_all(&bytes)?;
    std::fs::rename(&tmp, file)
}
