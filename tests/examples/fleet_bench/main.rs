//! Fan-out: `uname -a` on the 100 healthy nodes of the loopback fleet by `remote exec --targets`,
//! side by side with `parallel-ssh` (Debian's `pssh`) and `ansible -m raw` (ansible-core from
//! PyPI), printed as the README's table:
//!
//! ```sh
//! cargo run --release -p remote-tests --example fleet_bench
//! ```
//!
//! It first brings the fleet to 100 healthy nodes (`tests/fixtures/fleet.sh up 100`, left so
//! afterwards), installs the peers if missing (`tests/bench/fleet-peers.sh`, which says why it
//! cannot), and builds our `remote` in release, so a stale binary is never timed. Every row pairs
//! one whole fan-out of ours with one of a peer, alternately (see [`remote_tests::bench`]); each
//! run is a process of its own, timed from spawn to exit, and bounded by the shared watchdog.
//!
//! Every tool gets the same work: 32 targets at once, user `remote-test`, the fixtures' key and
//! nothing else (no agent, no `~/.ssh/config`), the fleet's known_hosts with strict host key
//! checking on. No connection outlives its run: `parallel-ssh` has no connection sharing, and
//! Ansible's ControlMaster/ControlPersist is turned off, so every run of every tool pays its 100
//! handshakes. After each run, every healthy node's output must contain its own name (`uname -a`
//! prints the nodename, `fleet-NNN`); a node that failed or is missing is a failure of that run,
//! printed with its target. Ours failing stops the benchmark; a peer's failures replace its
//! ratio, and the program exits non-zero after the table.
//!
//! OpenSSH 9.2 negotiates `sntrup761x25519-sha512` with the fleet's sshds, and we (russh, which
//! has no sntrup761) negotiate `curve25519-sha256`: each peer therefore also has a row with
//! `KexAlgorithms=curve25519-sha256`, the same key exchange as ours.
//!
//! Besides wall time, each run's CPU time on both ends is read around it, and its medians are
//! printed below the table: on 2 cores it tells where the time goes. The client's is user + sys
//! of the tool and every process it waited for (`ssh` clients, Ansible's workers), from
//! `/proc/self/stat`; the servers' is that of the sessions every node's sshd has reaped, from
//! `/proc/PID/stat` of the sshds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use remote_tests::bench::{self, Case, Failures, Show, Table};
use remote_tests::sshd::TempDir;
use serde::Deserialize;
use tokio::process::Command;

mod tools;

use tools::{ansible_inventory, ansible_tool, ours_tool, pssh_tool};

/// Healthy nodes the fleet is brought to.
const NODES: usize = 100;
/// Targets at once, for every tool: our default.
const PARALLEL: usize = 32;
/// What each node runs.
const COMMAND: &str = "uname -a";
/// The key exchange russh negotiates with OpenSSH 9.2's sshd, given to the peers' second rows.
const OUR_KEX: &str = "curve25519-sha256";
/// The pause after a run before the sshds' CPU time is read: their session processes end, and
/// are reaped, just after the client has gone. Not timed.
const SETTLE: Duration = Duration::from_millis(200);

/// The part of the fleet's `fleet.json` the benchmark reads.
#[derive(Debug, Deserialize)]
struct FleetJson {
    user: String,
    identity: PathBuf,
    known_hosts: PathBuf,
    nodes: Vec<Node>,
}

/// One node of `fleet.json`.
#[derive(Debug, Deserialize)]
struct Node {
    name: String,
    addr: String,
    port: u16,
    role: String,
    /// The node's listening sshd, whose waited-for children are its sessions.
    pid: Option<u32>,
}

/// The healthy nodes and how to reach them.
#[derive(Debug)]
struct Fleet {
    user: String,
    identity: PathBuf,
    known_hosts: PathBuf,
    nodes: Vec<Node>,
}

impl Fleet {
    /// Runs `fleet.sh up 100` and reads the `fleet.json` it writes.
    fn up(fixtures: &Path) -> Fleet {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/fleet.sh");
        let status = std::process::Command::new(&script)
            .args(["up", &NODES.to_string()])
            .stdin(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            status.success(),
            "{} up {NODES} failed ({status}); it says why above (it needs root and \
             tests/fixtures/setup.sh)",
            script.display()
        );
        let json = fixtures.join("fleet/fleet.json");
        let text =
            std::fs::read_to_string(&json).unwrap_or_else(|e| panic!("{}: {e}", json.display()));
        let f: FleetJson =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", json.display()));
        let nodes: Vec<Node> = f
            .nodes
            .into_iter()
            .filter(|n| n.role == "healthy")
            .collect();
        assert_eq!(nodes.len(), NODES, "healthy nodes in {}", json.display());
        Fleet {
            user: f.user,
            identity: f.identity,
            known_hosts: f.known_hosts,
            nodes,
        }
    }

    /// The CPU time of every healthy node's sshd so far, its sessions included.
    fn sshds_cpu(&self, ticks: u64) -> Duration {
        self.nodes
            .iter()
            .map(|n| {
                let pid = n
                    .pid
                    .unwrap_or_else(|| panic!("{} has no sshd pid in fleet.json", n.name));
                children_cpu(&pid.to_string(), ticks)
            })
            .sum()
    }

    /// OpenSSH's options for every peer: the fixtures' key only, the fleet's known_hosts only,
    /// strict host key checking, never a question.
    fn ssh_options(&self) -> Vec<String> {
        vec![
            format!("IdentityFile={}", self.identity.display()),
            "IdentitiesOnly=yes".into(),
            "StrictHostKeyChecking=yes".into(),
            format!("UserKnownHostsFile={}", self.known_hosts.display()),
            "GlobalKnownHostsFile=/dev/null".into(),
            "BatchMode=yes".into(),
        ]
    }
}

/// How a tool's output names a target, and that target's stdout or why it failed.
type Results = BTreeMap<String, Result<String, String>>;

/// One tool as the benchmark runs it: its command, how to read each target's result from its
/// output, and what its runs measured.
struct Tool {
    /// As the summaries name it.
    name: String,
    /// As the table's peer column names it.
    label: String,
    /// One run's command, new each time.
    command: Box<dyn Fn() -> Command>,
    /// Each target's result, keyed as [`Tool::key`] keys the nodes.
    parse: fn(&Output) -> Results,
    /// How `parse` names a node.
    key: fn(&Fleet, &Node) -> String,
    /// CPU time of the runs of the row under way, its untimed run first.
    row_cpu: Vec<Cpu>,
    /// CPU time of the timed runs of the finished rows.
    cpu: Vec<Cpu>,
    /// Every failure of every run, with its run and target.
    failures: Vec<String>,
    /// Runs so far, which number the runs in the failures.
    runs: usize,
}

impl std::fmt::Debug for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tool").field("name", &self.name).finish()
    }
}

impl Tool {
    fn new(
        (name, label): (String, String),
        command: impl Fn() -> Command + 'static,
        parse: fn(&Output) -> Results,
        key: fn(&Fleet, &Node) -> String,
    ) -> Tool {
        Tool {
            name,
            label,
            command: Box::new(command),
            parse,
            key,
            row_cpu: Vec::new(),
            cpu: Vec::new(),
            failures: Vec::new(),
            runs: 0,
        }
    }

    /// One fan-out: its wall time, and the nodes that failed with why (also kept, with the run,
    /// for the summary). Only the child's life is timed; parsing and checks are not.
    async fn run(&mut self, fleet: &Fleet, ticks: u64) -> (Duration, Vec<(String, String)>) {
        self.runs += 1;
        let before = Cpu::now(fleet, ticks);
        let (took, out) = bench::finish(&mut (self.command)()).await;
        // The sshds reap their sessions just after the clients have gone.
        tokio::time::sleep(SETTLE).await;
        self.row_cpu.push(Cpu::now(fleet, ticks).since(before));
        let mut results = match &out {
            Ok(out) => (self.parse)(out),
            Err(_) => Results::new(),
        };
        let mut failed = Vec::new();
        for node in &fleet.nodes {
            let target = format!("{} ({}:{})", node.name, node.addr, node.port);
            let why = match results.remove(&(self.key)(fleet, node)) {
                Some(Ok(stdout)) if stdout.contains(&node.name) => continue,
                Some(Ok(stdout)) => format!("output lacks {}: {:?}", node.name, stdout.trim()),
                Some(Err(why)) => why,
                None => match &out {
                    Ok(out) => format!(
                        "no result in the output (exit {}; stderr: {})",
                        out.status,
                        String::from_utf8_lossy(&out.stderr).trim()
                    ),
                    Err(why) => format!("no result: {why}"),
                },
            };
            eprintln!("bench: {} run {}: {target}: {why}", self.name, self.runs);
            self.failures
                .push(format!("run {}: {target}: {why}", self.runs));
            failed.push((target, why));
        }
        if let Ok(out) = &out
            && failed.is_empty()
            && !out.status.success()
        {
            let why = format!(
                "every node answered, but it exited with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
            self.failures.push(format!("run {}: {why}", self.runs));
            failed.push(("the run".into(), why));
        }
        (took, failed)
    }

    /// Ends a row: keeps the CPU times of its timed runs (all but the first).
    fn end_row(&mut self) {
        self.cpu.extend(self.row_cpu.drain(..).skip(1));
    }
}

/// CPU time (user + sys) spent so far on either end of the connections.
#[derive(Debug, Clone, Copy)]
struct Cpu {
    /// By the tools this process ran, and the processes they waited for (`ssh` clients,
    /// Ansible's workers). The runs are one at a time, so the difference around one is its own.
    tools: Duration,
    /// By the healthy nodes' sshds and their sessions (the shell and `uname` included).
    sshds: Duration,
}

impl Cpu {
    fn now(fleet: &Fleet, ticks: u64) -> Cpu {
        Cpu {
            tools: children_cpu("self", ticks),
            sshds: fleet.sshds_cpu(ticks),
        }
    }

    fn since(self, before: Cpu) -> Cpu {
        Cpu {
            tools: self.tools.saturating_sub(before.tools),
            sshds: self.sshds.saturating_sub(before.sshds),
        }
    }
}

/// The CPU time (user + sys) of every child process `pid` (`self` for this one) has waited for
/// so far, and of their waited-for descendants: `cutime` + `cstime` of `/proc/PID/stat`, in
/// `ticks` a second.
fn children_cpu(pid: &str, ticks: u64) -> Duration {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    // Fields after the command name, which is in parentheses and may hold spaces: the 3rd
    // field (state) is the first, so cutime (16th) and cstime (17th) are the 14th and 15th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let field = |i: usize| -> u64 {
        fields
            .get(i)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{path}: no field {}: {stat}", i + 3))
    };
    Duration::from_secs_f64((field(13) + field(14)) as f64 / ticks as f64)
}

/// The median of `times`, in seconds.
fn median(times: impl Iterator<Item = Duration>) -> f64 {
    remote_tests::bench::median(times.map(|t| t.as_secs_f64()).collect())
}

/// `getconf CLK_TCK`: the unit of `/proc`'s CPU times.
fn clock_ticks() -> u64 {
    let out = tool_output("getconf", &["CLK_TCK"]);
    out.trim()
        .parse()
        .unwrap_or_else(|e| panic!("getconf CLK_TCK said {out:?}: {e}"))
}

/// A version command's stdout and stderr, joined (`ssh -V` writes to stderr).
fn tool_output(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> String {
    let program = program.as_ref();
    let out = std::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program:?}: {e}"));
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Builds `remote` in release into the target directory this example runs from (a no-op when
/// it is fresh) and returns its path.
fn build_remote() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    // …/<target>/release/examples/fleet_bench
    let release = exe
        .parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("{} is not under <target>/release/examples", exe.display()));
    let target = release.parent().unwrap_or(release);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or_else(|| panic!("the tests crate has no parent directory"));
    let status = std::process::Command::new(&cargo)
        .args(["build", "--release", "-p", "remote-host", "--bin", "remote"])
        .arg("--target-dir")
        .arg(target)
        .current_dir(workspace)
        .stdin(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cargo:?}: {e}"));
    assert!(status.success(), "building remote failed ({status})");
    release.join("remote")
}

/// One row: ours against `peer`, timed pairs after an untimed one.
async fn row(table: &mut Table, fleet: &Fleet, ticks: u64, ours: &mut Tool, peer: &mut Tool) {
    let what = format!("`remote exec --targets` `{COMMAND}` on {NODES} nodes, {PARALLEL} at once");
    let label = peer.label.clone();
    table
        .row(
            Case::new(&what, &label, Show::Total),
            async || {
                let (took, failed) = ours.run(fleet, ticks).await;
                assert!(
                    failed.is_empty(),
                    "our fan-out failed on {} of {NODES} nodes:\n{}",
                    failed.len(),
                    failed
                        .iter()
                        .map(|(t, why)| format!("  {t}: {why}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                );
                took
            },
            async || {
                let (took, failed) = peer.run(fleet, ticks).await;
                if failed.is_empty() {
                    return Ok(took);
                }
                let mut f = Failures::default();
                for _ in failed.len()..NODES {
                    f.count(Ok(()));
                }
                for (_, why) in failed {
                    f.count(Err(why));
                }
                Err(f)
            },
        )
        .await;
    ours.end_row();
    peer.end_row();
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let fixtures = PathBuf::from(
        std::env::var("REMOTE_FIXTURES_DIR")
            .unwrap_or_else(|_| "/var/tmp/remote-test-fixtures".into()),
    );
    let venv = PathBuf::from(
        std::env::var("REMOTE_BENCH_VENV").unwrap_or_else(|_| "/var/tmp/remote-bench-venv".into()),
    );
    let fleet = Fleet::up(&fixtures);
    let peers = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/fleet-peers.sh");
    let status = std::process::Command::new(&peers)
        .env("REMOTE_BENCH_VENV", &venv)
        .stdin(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", peers.display()));
    assert!(
        status.success(),
        "{} failed ({status}): it says why above",
        peers.display()
    );
    let remote = build_remote();
    let ticks = clock_ticks();
    let dir = TempDir::new("fleet-bench");
    let hosts = fixtures.join("fleet/hosts");

    let inventory = ansible_inventory(&fleet, &dir);
    let mut ours = ours_tool(&remote, &fleet, &dir);
    let mut peers = [
        pssh_tool(&fleet, &hosts, None),
        pssh_tool(&fleet, &hosts, Some(OUR_KEX)),
        ansible_tool(&inventory, &venv, None),
        ansible_tool(&inventory, &venv, Some(OUR_KEX)),
    ];
    let mut table = Table::default();
    for peer in &mut peers {
        row(&mut table, &fleet, ticks, &mut ours, peer).await;
    }

    let rev = tool_output(
        "git",
        &[
            "-C",
            env!("CARGO_MANIFEST_DIR"),
            "describe",
            "--always",
            "--dirty",
        ],
    );
    let first_line = |s: String| s.lines().next().unwrap_or_default().trim().to_string();
    let pssh_version = first_line(tool_output("parallel-ssh", &["--version"]));
    let ansible_version = first_line(tool_output(venv.join("bin/ansible"), &["--version"]));
    let ssh_version = first_line(tool_output("ssh", &["-V"]));

    let mut note = format!(
        "peer / ours: each pair's peer time over our time, the median of the pairs (≥ 1.0: we are \
         as fast or faster); one untimed pair first; every run a new process making {NODES} new \
         connections (no ControlMaster), {PARALLEL} at once, strict host key checking. remote \
         {}, parallel-ssh {pssh_version}, {ansible_version}, {ssh_version}.\n\n\
         | tool | runs | CPU time of the tool and its children, median | CPU time of the {NODES} \
         sshds and their sessions, median |\n\
         |---|---|---|---|\n",
        rev.trim()
    );
    let mut failed = false;
    for t in std::iter::once(&ours).chain(&peers) {
        let (tools, sshds) = (
            median(t.cpu.iter().map(|c| c.tools)),
            median(t.cpu.iter().map(|c| c.sshds)),
        );
        note += &format!(
            "| {} | {} | {tools:.2} s ({:.1} ms/node) | {sshds:.2} s ({:.1} ms/node) |\n",
            t.name,
            t.cpu.len(),
            tools * 1e3 / NODES as f64,
            sshds * 1e3 / NODES as f64
        );
        failed |= !t.failures.is_empty();
    }
    for t in std::iter::once(&ours).chain(&peers) {
        if !t.failures.is_empty() {
            note += &format!(
                "\n{}: {} failures in {} runs:\n",
                t.name,
                t.failures.len(),
                t.runs
            );
            for f in &t.failures {
                note += &format!("- {f}\n");
            }
        }
    }
    table.print(&note);
    if failed {
        eprintln!("bench: some runs had failed nodes (listed above)");
        std::process::exit(1);
    }
}
