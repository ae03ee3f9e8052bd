//! A test guest that misbehaves on request, so the host's limits can be shown to hold: a path
//! argument ending in `/.sandbox-loop` spins forever, `/.sandbox-grow` allocates memory until
//! the host refuses, `/.sandbox-hoard` opens `/dev/null` below until the host refuses another
//! handle, and `/.sandbox-trap` executes `unreachable`. `/.sandbox-escape` tries to reach the
//! host around the interfaces (its files, environment, arguments, network) with WASI and fails
//! with what it saw, so the host can show the sandbox grants none of it. Every other call passes
//! through, so the same instance shows that the next call works. Configuration: `{}`.

use std::sync::OnceLock;

use remote_guest_kit::bindings::remote::machine::types::DirEntry;
use remote_guest_kit::{Access, BelowClient, Error, Layer, LazyFiles};

/// The layer.
#[derive(Debug)]
pub struct Misbehave;

/// Does what the path asks for.
fn misbehave(files: &BelowClient, path: &str) -> Result<(), Error> {
    if path.ends_with("/.sandbox-hoard") {
        let mut hoard = Vec::new();
        loop {
            hoard.push(files.open("/dev/null")?);
        }
    }
    if path.ends_with("/.sandbox-loop") {
        let mut n = 0u64;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
    if path.ends_with("/.sandbox-grow") {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            // Touch every page so the memory is really used, not just reserved.
            hoard.push(std::hint::black_box(vec![1u8; 1 << 20]));
        }
    }
    if path.ends_with("/.sandbox-trap") {
        std::process::abort();
    }
    if path.ends_with("/.sandbox-escape") {
        return Err(remote_guest_kit::error(
            remote_guest_kit::ErrorCode::AccessDenied,
            "sandbox-escape",
            path,
            escape(),
        ));
    }
    Ok(())
}

/// What the guest reaches of the host through WASI alone, in words: `files: …; env: N; args: N;
/// net: …`.
fn escape() -> String {
    let files = ["/", "/etc/passwd", ".", "/proc/self/environ"]
        .iter()
        .map(|p| match std::fs::metadata(p) {
            Ok(_) => format!("{p} reachable"),
            Err(_) => format!("{p} unreachable"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let net = match std::net::TcpStream::connect("127.0.0.1:2222") {
        Ok(_) => "connected".to_string(),
        Err(_) => "refused".to_string(),
    };
    format!(
        "files: {files}; env: {}; args: {}; net: {net}",
        std::env::vars_os().count(),
        std::env::args_os().count()
    )
}

impl Layer for Misbehave {
    fn configure(config: &str) -> Result<Self, String> {
        match config.trim() {
            "" | "{}" => Ok(Misbehave),
            other => Err(format!(
                "sandbox-test: takes no configuration, got {other:?}"
            )),
        }
    }

    fn slot() -> &'static OnceLock<Self> {
        static SLOT: OnceLock<Misbehave> = OnceLock::new();
        &SLOT
    }

    fn dest(&self, dest: &str) -> Result<String, Error> {
        Ok(dest.to_string())
    }

    fn backend_type(&self, below: String) -> String {
        below
    }

    fn command(&self, cmd: &str) -> Result<String, Error> {
        Ok(cmd.to_string())
    }

    fn env(&self, name: &str, value: &str) -> Result<Option<(String, String)>, Error> {
        Ok(Some((name.to_string(), value.to_string())))
    }

    fn path_in(
        &self,
        files: &BelowClient,
        _: &str,
        path: &str,
        _: Access,
    ) -> Result<String, Error> {
        misbehave(files, path)?;
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

    fn entries(&self, _: &BelowClient, _: &str, _: &mut Vec<DirEntry>) {}

    fn upload(&self, _: &LazyFiles, _: &str, remote: &str) -> Result<String, Error> {
        Ok(remote.to_string())
    }
}

/// The component.
pub type Component = remote_guest_kit::Middleware<Misbehave>;
// Exported only in the wasm build (see the other middleware guests for why).
#[cfg(target_arch = "wasm32")]
remote_guest_kit::bindings::export!(Component with_types_in remote_guest_kit::bindings);
