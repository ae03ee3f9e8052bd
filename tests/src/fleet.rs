//! The fleet of loopback sshds that `tests/fixtures/fleet.sh up` starts, as its `fleet.json`
//! describes it.

use std::net::SocketAddr;
use std::path::PathBuf;

use remote_host::fleet::{Target, TargetOptions};
use remote_host::ssh::{ConfigFile, SshOptions, StrictHostKeyChecking};
use serde::Deserialize;

/// What a node is there to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Answers as its own host.
    Healthy,
    /// Its sshd listens on `sshd_port`; a test puts a fault proxy on its public address.
    Slow,
    /// Completes the key exchange, then refuses every authentication.
    Refusing,
    /// Nothing listens on its address.
    Dead,
}

/// One node.
#[derive(Debug, Clone, Deserialize)]
pub struct Node {
    /// The host name the node reports (`fleet-007`).
    pub name: String,
    /// Its loopback address (`127.0.1.7`).
    pub addr: String,
    /// The public port, the one known_hosts names.
    pub port: u16,
    /// What it is for.
    pub role: Role,
    /// Where its sshd really listens, when it has one.
    pub sshd_port: Option<u16>,
}

impl Node {
    /// `ssh://user@addr:port`.
    pub fn dest(&self, user: &str) -> String {
        format!("ssh://{user}@{}:{}", self.addr, self.port)
    }

    /// The public address.
    pub fn public(&self) -> SocketAddr {
        self.socket(self.port)
    }

    /// Where the sshd listens; panics for a dead node.
    pub fn sshd(&self) -> SocketAddr {
        let port = self
            .sshd_port
            .unwrap_or_else(|| panic!("{} has no sshd", self.name));
        self.socket(port)
    }

    fn socket(&self, port: u16) -> SocketAddr {
        format!("{}:{port}", self.addr)
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", self.addr))
    }
}

/// The fleet.
#[derive(Debug, Clone, Deserialize)]
pub struct Fleet {
    /// The user every node lets in.
    pub user: String,
    /// Its key.
    pub identity: PathBuf,
    /// Every node's host key.
    pub known_hosts: PathBuf,
    /// Every node, in address order.
    pub nodes: Vec<Node>,
}

impl Fleet {
    /// Reads `$REMOTE_FIXTURES_DIR/fleet/fleet.json` (default under `/var/tmp`); panics with
    /// the fix when the fleet is not up, so a fleet test never passes without its fleet.
    pub fn load() -> Fleet {
        let dir = std::env::var_os("REMOTE_FIXTURES_DIR").map_or_else(
            || PathBuf::from("/var/tmp/remote-test-fixtures"),
            PathBuf::from,
        );
        let path = dir.join("fleet/fleet.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "the test fleet is not up ({}: {e}); run tests/fixtures/fleet.sh up, or the README's test command tests/run",
                path.display()
            )
        });
        let fleet: Fleet = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is malformed: {e}", path.display()));
        for role in [Role::Healthy, Role::Slow, Role::Refusing, Role::Dead] {
            assert!(
                fleet.nodes.iter().any(|n| n.role == role),
                "{} has no {role:?} node; run tests/fixtures/fleet.sh up",
                path.display()
            );
        }
        fleet
    }

    /// The nodes of one role.
    pub fn role(&self, role: Role) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(move |n| n.role == role)
    }

    /// Every node as a target carrying the fleet's key and known_hosts.
    pub fn targets(&self) -> Vec<Target> {
        self.nodes
            .iter()
            .map(|n| Target {
                dest: n.dest(&self.user),
                group: None,
                options: TargetOptions {
                    identity: vec![self.identity.clone()],
                    known_hosts: vec![self.known_hosts.clone()],
                    strict_host_key_checking: Some(StrictHostKeyChecking::Yes),
                    ..TargetOptions::default()
                },
            })
            .collect()
    }

    /// Options that read no ssh_config and ask no agent, so only the fleet's own files count.
    pub fn base_options() -> SshOptions {
        SshOptions {
            config: ConfigFile::None,
            identities_only: Some(true),
            use_agent: false,
            ..SshOptions::default()
        }
    }
}
