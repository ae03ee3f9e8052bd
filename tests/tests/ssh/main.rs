//! The `ssh://` backend against real sshd instances: host-key policy, authentication,
//! `ssh_config`, ProxyJump, environment, many sessions, signals, keep-alive and reconnect, a
//! server that dies mid-transfer, platform detection and agent upload.
//!
//! Tests that kill or stop a server use a throwaway sshd ([`Sshd`]) with the fixture's keys on a
//! port of its own; the shared fixture sshd is only ever connected to.

use std::sync::Arc;
use std::time::Duration;

use remote_host::ssh::{ConfigFile, Prompt, SshBackend, SshOptions, StrictHostKeyChecking};
use remote_host::{Backend, ErrorCode, ExitStatus, FileKind, OpenFlags, PlatformInfo};
use remote_tests::sshd::{
    Agent, Sshd, TempDir, backend, connect, eventually, fixture_options, keygen, url,
};
use remote_tests::{Fixtures, exec};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

/// A bound on any single step that waits for a server.
const STEP: Duration = Duration::from_secs(30);

async fn bounded<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(STEP, f)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {STEP:?}"))
}

/// Why `b` refuses to start; panics with `accepted` if it starts.
async fn refusal(b: &SshBackend, accepted: &str) -> remote_host::Error {
    bounded("start", b.start())
        .await
        .err()
        .unwrap_or_else(|| panic!("{accepted}"))
}

mod auth;
mod config;
mod connection;
mod host_keys;
mod sessions;
