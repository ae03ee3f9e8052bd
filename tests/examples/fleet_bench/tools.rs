//! The three tools of the fan-out benchmark: each one's command line, with the same
//! parallelism, key, known_hosts and host key policy, and how to read each target's result from
//! its output.

use std::path::{Path, PathBuf};
use std::process::Output;

use remote_tests::bench;
use remote_tests::sshd::TempDir;
use serde::Deserialize;
use tokio::process::Command;

use crate::{COMMAND, Fleet, Node, PARALLEL, Results, Tool};

/// A command of the benchmark: piped and killed on drop ([`bench::command`]), without the
/// ssh-agent, so the key given is the only one any tool tries.
fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut c = bench::command(program);
    c.env_remove("SSH_AUTH_SOCK");
    c
}

/// `remote exec --targets` over an inventory of `ssh://user@addr:port` lines, `--json` out.
pub(crate) fn ours_tool(remote: &Path, fleet: &Fleet, dir: &TempDir) -> Tool {
    let inventory = dir.join("inventory");
    let lines: String = fleet
        .nodes
        .iter()
        .map(|n| ours_key(fleet, n) + "\n")
        .collect();
    std::fs::write(&inventory, lines).unwrap_or_else(|e| panic!("{}: {e}", inventory.display()));
    let (remote, identity, known_hosts) = (
        remote.to_path_buf(),
        fleet.identity.clone(),
        fleet.known_hosts.clone(),
    );
    Tool::new(
        ("`remote exec --targets`".into(), String::new()),
        move || {
            let mut c = command(&remote);
            c.arg("exec")
                .arg("--targets")
                .arg(&inventory)
                .args(["--parallel", &PARALLEL.to_string()])
                .arg("-i")
                .arg(&identity)
                .arg("--known-hosts")
                .arg(&known_hosts)
                .args(["--strict-host-key-checking", "yes", "--ssh-config", "none"])
                .args(["--json", "--", COMMAND]);
            c
        },
        parse_ours,
        ours_key,
    )
}

fn ours_key(fleet: &Fleet, n: &Node) -> String {
    format!("ssh://{}@{}:{}", fleet.user, n.addr, n.port)
}

/// One JSON object a line: `dest`, then `exit_code` and `stdout`, or `error`.
fn parse_ours(out: &Output) -> Results {
    #[derive(Deserialize)]
    struct Line {
        dest: String,
        exit_code: Option<i64>,
        signal: Option<String>,
        #[serde(default)]
        stdout: String,
        #[serde(default)]
        stderr: String,
        error: Option<serde_json::Value>,
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Line>(l).ok())
        .map(|l| {
            let result = match (l.error, l.exit_code) {
                (Some(e), _) => Err(format!("error {e}")),
                (None, Some(0)) => Ok(l.stdout),
                (None, code) => Err(format!(
                    "exit {code:?}, signal {:?}: {}",
                    l.signal,
                    l.stderr.trim()
                )),
            };
            (l.dest, result)
        })
        .collect()
}

/// `parallel-ssh -i` over the fleet's `hosts` file (`addr:port` lines), with `kex` if given.
pub(crate) fn pssh_tool(fleet: &Fleet, hosts: &Path, kex: Option<&str>) -> Tool {
    let mut options = fleet.ssh_options();
    options.extend(kex.map(|k| format!("KexAlgorithms={k}")));
    let (user, hosts) = (fleet.user.clone(), hosts.to_path_buf());
    Tool::new(
        named(
            "`parallel-ssh`",
            &format!("`parallel-ssh -p {PARALLEL} -i`"),
            kex,
        ),
        move || {
            let mut c = command("parallel-ssh");
            c.arg("-h")
                .arg(&hosts)
                .args(["-l", &user, "-p", &PARALLEL.to_string(), "-i"])
                // No ~/.ssh/config, as ours reads none.
                .args(["-x", "-F /dev/null"]);
            for o in &options {
                c.args(["-O", o]);
            }
            c.arg(COMMAND);
            c
        },
        parse_pssh,
        |_, n| format!("{}:{}", n.addr, n.port),
    )
}

/// `[1] 12:00:00 [SUCCESS] addr:port` (or `[FAILURE] addr:port why`), then the target's stdout,
/// then `Stderr: …` if it wrote any.
fn parse_pssh(out: &Output) -> Results {
    let mut results = Results::new();
    let mut current: Option<(String, Result<String, String>)> = None;
    let mut in_stderr = false;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let header = words.len() >= 4
            && words[0].starts_with('[')
            && words[0].ends_with(']')
            && matches!(words[2], "[SUCCESS]" | "[FAILURE]");
        if header {
            results.extend(current.take());
            let result = if words[2] == "[SUCCESS]" {
                Ok(String::new())
            } else {
                Err(words[4..].join(" "))
            };
            current = Some((words[3].to_string(), result));
            in_stderr = false;
        } else if let Some((_, result)) = &mut current {
            in_stderr |= line.starts_with("Stderr: ");
            match result {
                Ok(stdout) if !in_stderr => {
                    stdout.push_str(line);
                    stdout.push('\n');
                }
                Err(why) if in_stderr => {
                    why.push_str("; ");
                    why.push_str(line);
                }
                _ => {}
            }
        }
    }
    results.extend(current);
    results
}

/// An INI inventory for Ansible naming each node `fleet-NNN`, with its address, port, user and
/// the peers' OpenSSH options (no `~/.ssh/config`, as ours reads none).
pub(crate) fn ansible_inventory(fleet: &Fleet, dir: &TempDir) -> PathBuf {
    let inventory = dir.join("inventory.ini");
    let mut ini = String::from("[fleet]\n");
    for n in &fleet.nodes {
        ini += &format!(
            "{} ansible_host={} ansible_port={}\n",
            n.name, n.addr, n.port
        );
    }
    let common: Vec<String> = fleet
        .ssh_options()
        .iter()
        .map(|o| format!("-o {o}"))
        .collect();
    ini += &format!(
        "[fleet:vars]\nansible_user={}\nansible_ssh_common_args='-F /dev/null {}'\n",
        fleet.user,
        common.join(" ")
    );
    std::fs::write(&inventory, ini).unwrap_or_else(|e| panic!("{}: {e}", inventory.display()));
    inventory
}

/// `ansible all -m raw -o` over `inventory`, with `kex` if given. ControlMaster is off
/// (`ANSIBLE_SSH_ARGS`, whose default is `-C -o ControlMaster=auto -o ControlPersist=60s`), so a
/// run reuses no connection of the run before, as no other tool does.
pub(crate) fn ansible_tool(inventory: &Path, venv: &Path, kex: Option<&str>) -> Tool {
    let (ansible, inventory) = (venv.join("bin/ansible"), inventory.to_path_buf());
    let extra = kex.map(|k| format!("-o KexAlgorithms={k}"));
    Tool::new(
        named(
            "`ansible -m raw`",
            &format!("`ansible -m raw -f {PARALLEL} -o`, no ControlMaster"),
            kex,
        ),
        move || {
            let mut c = command(&ansible);
            c.arg("all")
                .arg("-i")
                .arg(&inventory)
                .args([
                    "-m",
                    "raw",
                    "-a",
                    COMMAND,
                    "-f",
                    &PARALLEL.to_string(),
                    "-o",
                ])
                .env("ANSIBLE_HOST_KEY_CHECKING", "True")
                .env(
                    "ANSIBLE_SSH_ARGS",
                    "-o ControlMaster=no -o ControlPersist=no -o ControlPath=none",
                )
                .env("ANSIBLE_GATHERING", "explicit")
                .env("ANSIBLE_RETRY_FILES_ENABLED", "False")
                .env("ANSIBLE_NOCOWS", "1")
                .env("ANSIBLE_DEPRECATION_WARNINGS", "False");
            if let Some(extra) = &extra {
                c.env("ANSIBLE_SSH_EXTRA_ARGS", extra);
            }
            c
        },
        parse_ansible,
        |_, n| n.name.clone(),
    )
}

/// `-o` output, one line a target: `NAME | CHANGED | rc=0 | (stdout) …\r\n (stderr) …`, or
/// `NAME | FAILED | rc=N | …`, or `NAME | UNREACHABLE!: why`.
fn parse_ansible(out: &Output) -> Results {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (name, rest) = l.split_once(" | ")?;
            let result = match rest.split_once(" | ") {
                Some(("CHANGED" | "SUCCESS", rest)) => Ok(rest
                    .split_once("(stdout) ")
                    .map_or("", |(_, s)| s)
                    .split(" (stderr) ")
                    .next()
                    .unwrap_or_default()
                    .to_string()),
                _ => Err(rest.to_string()),
            };
            Some((name.to_string(), result))
        })
        .collect()
}

/// A peer's name for the summaries and label for the table, saying which key exchange it used.
fn named(name: &str, label: &str, kex: Option<&str>) -> (String, String) {
    match kex {
        Some(k) => (
            format!("{name}, `{k}`"),
            format!("{label}, `KexAlgorithms={k}` (as ours)"),
        ),
        None => (name.into(), format!("{label}, OpenSSH's default kex")),
    }
}
