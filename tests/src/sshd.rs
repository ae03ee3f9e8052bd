//! SSH test helpers: the fixture's connection options, and throwaway sshd instances for tests
//! that kill or stop a server (the shared fixture sshd on its port is never touched).
//!
//! A [`Sshd`] runs `sshd -D` as our child with the fixture's host key and settings on its own
//! port; dropping it kills the listener and every process under it, so no test leaves a server
//! behind. Every wait is bounded.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use remote_host::ssh::{ConfigFile, SshBackend, SshOptions, StrictHostKeyChecking};
use remote_host::{Backend, DestType, parse_destination};

use crate::SshFixture;

/// Where Debian installs the server; sshd must be started by absolute path.
const SSHD: &str = "/usr/sbin/sshd";

/// Ports for throwaway servers, handed out once each within a test process.
static NEXT_PORT: AtomicU16 = AtomicU16::new(2230);

/// How long a throwaway sshd may take to listen.
const START_WAIT: Duration = Duration::from_secs(10);

/// Options that use exactly the fixture's key and known_hosts: no `~/.ssh/config`, no agent, so
/// the machine's own SSH setup cannot make a test pass or fail.
pub fn fixture_options(f: &SshFixture) -> SshOptions {
    SshOptions {
        config: ConfigFile::None,
        strict_host_key_checking: Some(StrictHostKeyChecking::Yes),
        known_hosts: vec![f.known_hosts.clone()],
        identities: vec![f.identity.clone()],
        identities_only: Some(true),
        use_agent: false,
        ..SshOptions::default()
    }
}

/// `ssh://user@host:port` of the fixture user on `port`.
pub fn url(f: &SshFixture, port: u16) -> String {
    format!("ssh://{}@{}:{port}", f.user, f.host)
}

/// A backend for `url` with `opts`, not started.
pub fn backend(url: &str, opts: SshOptions) -> SshBackend {
    let dest = parse_destination(url, DestType::Ssh).unwrap_or_else(|e| panic!("{url}: {e}"));
    SshBackend::new(&dest, opts).unwrap_or_else(|e| panic!("{url}: {e}"))
}

/// A started backend for `url` with `opts`; panics with the reason if it cannot connect.
pub async fn connect(url: &str, opts: SshOptions) -> SshBackend {
    let b = backend(url, opts);
    b.start()
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
    b
}

/// A fresh, empty directory for one test, removed on drop.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Creates `/tmp/remote-ssh-test-<pid>-<tag>-<nanos>`.
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "remote-ssh-test-{}-{tag}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        std::fs::create_dir_all(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        TempDir(p)
    }

    /// `self/name`.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs a program to completion and returns its stdout; panics with its stderr on failure.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A new unencrypted (or, with a passphrase, encrypted) ed25519 key pair at `path`.
pub fn keygen(path: &Path, passphrase: &str) {
    run(Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            passphrase,
            "-C",
            "remote-test-extra",
            "-f",
        ])
        .arg(path));
}

/// A throwaway sshd with the fixture's host key and settings on a port of its own.
#[derive(Debug)]
pub struct Sshd {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    dir: TempDir,
}

impl Sshd {
    /// Starts one with the fixture's configuration (`extra` lines replace the same keywords).
    pub fn start(f: &SshFixture, extra: &[&str]) -> Sshd {
        let base = std::fs::read_to_string(&f.sshd_config)
            .unwrap_or_else(|e| panic!("fixture sshd config {}: {e}", f.sshd_config.display()));
        let mut last_err = String::new();
        for _ in 0..20 {
            let port = NEXT_PORT.fetch_add(1, Ordering::Relaxed);
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
                continue;
            }
            let dir = TempDir::new("sshd");
            let mut lines = vec![
                format!("Port {port}"),
                format!("PidFile {}", dir.join("sshd.pid").display()),
            ];
            lines.extend(extra.iter().map(|l| (*l).to_string()));
            let replaced: Vec<String> = lines
                .iter()
                .filter_map(|l| l.split_whitespace().next())
                .map(str::to_ascii_lowercase)
                .collect();
            for line in base.lines() {
                let key = line
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase();
                if !replaced.contains(&key) {
                    lines.push(line.to_string());
                }
            }
            let conf = dir.join(&format!("sshd-{port}.conf"));
            std::fs::write(&conf, lines.join("\n") + "\n")
                .unwrap_or_else(|e| panic!("{}: {e}", conf.display()));
            let log = dir.join("sshd.log");
            let child = Command::new(SSHD)
                .arg("-D")
                .arg("-f")
                .arg(&conf)
                .arg("-E")
                .arg(&log)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {SSHD}: {e}"));
            let mut sshd = Sshd { child, port, dir };
            let deadline = Instant::now() + START_WAIT;
            while Instant::now() < deadline {
                if let Ok(Some(status)) = sshd.child.try_wait() {
                    last_err = format!(
                        "sshd on port {port} exited with {status}: {}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return sshd;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            if last_err.is_empty() {
                last_err = format!("sshd on port {port} did not listen within {START_WAIT:?}");
            }
        }
        panic!("cannot start a throwaway sshd: {last_err}");
    }

    /// A known_hosts file (in this server's directory) vouching for its host key.
    pub fn known_hosts(&self, f: &SshFixture) -> PathBuf {
        let key = std::fs::read_to_string(
            std::fs::read_to_string(&f.sshd_config)
                .unwrap_or_default()
                .lines()
                .find_map(|l| l.strip_prefix("HostKey "))
                .map(|k| format!("{}.pub", k.trim()))
                .unwrap_or_else(|| panic!("no HostKey in {}", f.sshd_config.display())),
        )
        .unwrap_or_else(|e| panic!("fixture host key: {e}"));
        let mut fields = key.split_whitespace();
        let (kind, blob) = (fields.next().unwrap_or(""), fields.next().unwrap_or(""));
        let path = self.dir.join("known_hosts");
        std::fs::write(&path, format!("[127.0.0.1]:{} {kind} {blob}\n", self.port))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        path
    }

    /// The per-connection server processes (children of the listener), in pid order.
    pub fn connection_pids(&self) -> Vec<u32> {
        children_of(self.child.id())
    }

    /// Sends `signal` (e.g. `-KILL`, `-STOP`) to every process under the listener.
    ///
    /// The processes are frozen first, until no new one appears: a connection's monitor may be
    /// forking its post-authentication child at this very moment, and a child forked after the
    /// listing would outlive its killed parent, holding the connection open.
    pub fn signal_connections(&self, signal: &str) {
        let frozen = freeze_tree(self.child.id());
        for pid in &frozen {
            send(pid, signal);
        }
        if signal != "-STOP" {
            for pid in &frozen {
                send(pid, "-CONT");
            }
        }
    }

    /// Stops the server and every connection process, as `systemctl stop ssh` would.
    pub fn stop(&mut self) {
        send(&self.child.id(), "-STOP");
        self.signal_connections("-KILL");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends a signal with kill(1); a process that has exited since it was listed is fine.
fn send(pid: &u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(signal)
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status();
}

/// SIGSTOPs every process below `root` until a listing finds no new one; returns them.
fn freeze_tree(root: u32) -> Vec<u32> {
    let mut frozen: Vec<u32> = Vec::new();
    for _ in 0..50 {
        let fresh: Vec<u32> = descendants(root)
            .into_iter()
            .filter(|p| !frozen.contains(p))
            .collect();
        if fresh.is_empty() {
            break;
        }
        for pid in fresh {
            send(&pid, "-STOP");
            frozen.push(pid);
        }
    }
    frozen
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An `ssh-agent` of our own on a socket in a temporary directory, killed on drop.
#[derive(Debug)]
pub struct Agent {
    child: Child,
    /// The agent's socket (what `SSH_AUTH_SOCK` would name).
    pub socket: PathBuf,
    _dir: TempDir,
}

impl Agent {
    /// Starts an agent holding the keys at `keys`.
    pub fn start(keys: &[&Path]) -> Agent {
        let dir = TempDir::new("agent");
        let socket = dir.join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start ssh-agent: {e}"));
        let agent = Agent {
            child,
            socket,
            _dir: dir,
        };
        let deadline = Instant::now() + START_WAIT;
        while !agent.socket.exists() {
            assert!(
                Instant::now() < deadline,
                "ssh-agent did not create {} within {START_WAIT:?}",
                agent.socket.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        for key in keys {
            run(Command::new("ssh-add")
                .arg("-q")
                .arg(key)
                .env("SSH_AUTH_SOCK", &agent.socket));
        }
        agent
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `(pid, ppid)` of every process, from /proc.
fn processes() -> Vec<(u32, u32)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The command name is in parentheses and may hold spaces; ppid follows the state.
            let rest = &stat[stat.rfind(')')? + 2..];
            let ppid = rest.split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect()
}

fn children_of(parent: u32) -> Vec<u32> {
    let mut pids: Vec<u32> = processes()
        .into_iter()
        .filter(|(_, ppid)| *ppid == parent)
        .map(|(pid, _)| pid)
        .collect();
    pids.sort_unstable();
    pids
}

/// Every process below `root`, parents before children.
fn descendants(root: u32) -> Vec<u32> {
    let all = processes();
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for (pid, ppid) in &all {
            if *ppid == p && !out.contains(pid) {
                out.push(*pid);
                frontier.push(*pid);
            }
        }
    }
    out
}

/// Polls `cond` every 50 ms until it holds or `limit` passes; returns whether it held.
pub async fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
