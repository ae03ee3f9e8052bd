//! What the caller says about a connection ([`SshOptions`]) and how it combines with the
//! destination and `ssh_config` into a [`Route`]: the hops to dial, each with its user, port,
//! identities and host-key policy.
//!
//! Precedence is OpenSSH's: the destination's own user and port win over everything, explicit
//! options (the CLI's flags) over the config file, the config file over the defaults.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::destination::{DestType, Destination, parse_destination};
use crate::error::{Error, ErrorCode, Result};

use super::config::{HostConfig, Lookup, SshConfig, Tokens, expand_path};
use super::known_hosts::{HostKeyPolicy, StrictHostKeyChecking, host_key_name};

/// How long dialing (TCP connect and SSH handshake, per hop) may take when neither the options
/// nor `ConnectTimeout` say.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// The keep-alive interval when neither the options nor `ServerAliveInterval` say.
const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Unanswered keep-alives before the connection counts as dead (`ServerAliveCountMax`).
const DEFAULT_KEEP_ALIVE_MAX: u32 = 3;

/// Asks the user for a secret (a key passphrase, a password), given the prompt text; `None`
/// when there is nobody to ask or they gave nothing. The CLI reads the terminal; a library
/// caller decides for itself.
pub type Prompt = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Which `ssh_config` to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ConfigFile {
    /// `~/.ssh/config` when it exists.
    #[default]
    Default,
    /// This file, which must exist.
    Path(PathBuf),
    /// No config at all (`ssh -F none`).
    None,
}

/// Caller-side settings of an SSH connection; anything left unset comes from `ssh_config` or
/// OpenSSH's defaults.
#[derive(Clone)]
pub struct SshOptions {
    /// Which config file to read.
    pub config: ConfigFile,
    /// Overrides `StrictHostKeyChecking`.
    pub strict_host_key_checking: Option<StrictHostKeyChecking>,
    /// Overrides `UserKnownHostsFile` when non-empty; `accept-new` records keys in the first.
    pub known_hosts: Vec<PathBuf>,
    /// Identity files tried before the config's `IdentityFile`s (`ssh -i`).
    pub identities: Vec<PathBuf>,
    /// Overrides `IdentitiesOnly`.
    pub identities_only: Option<bool>,
    /// Whether to ask an ssh-agent (`SSH_AUTH_SOCK` or `IdentityAgent`) for keys.
    pub use_agent: bool,
    /// Try password authentication after the keys, asking through `prompt`.
    pub password: bool,
    /// Asks for passphrases and passwords; without it, an encrypted key or a password is an
    /// error that says so.
    pub prompt: Option<Prompt>,
    /// Overrides `ConnectTimeout`.
    pub connect_timeout: Option<Duration>,
    /// Overrides `ServerAliveInterval`; zero turns keep-alive off.
    pub keep_alive_interval: Option<Duration>,
}

impl Default for SshOptions {
    fn default() -> SshOptions {
        SshOptions {
            config: ConfigFile::Default,
            strict_host_key_checking: None,
            known_hosts: Vec::new(),
            identities: Vec::new(),
            identities_only: None,
            use_agent: true,
            password: false,
            prompt: None,
            connect_timeout: None,
            keep_alive_interval: None,
        }
    }
}

impl std::fmt::Debug for SshOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshOptions")
            .field("config", &self.config)
            .field("strict_host_key_checking", &self.strict_host_key_checking)
            .field("known_hosts", &self.known_hosts)
            .field("identities", &self.identities)
            .field("identities_only", &self.identities_only)
            .field("use_agent", &self.use_agent)
            .field("password", &self.password)
            .field("prompt", &self.prompt.is_some())
            .field("connect_timeout", &self.connect_timeout)
            .field("keep_alive_interval", &self.keep_alive_interval)
            .finish()
    }
}

/// An identity file to offer, and whether the user named it (a missing named file is worth
/// reporting; a missing default one is not).
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub path: PathBuf,
    pub named: bool,
}

/// How to authenticate to one hop.
#[derive(Clone)]
pub(crate) struct AuthPlan {
    pub agent: Option<PathBuf>,
    pub identities: Vec<Identity>,
    pub identities_only: bool,
    pub password: bool,
    pub prompt: Option<Prompt>,
}

/// One SSH server on the way: where to dial, as whom, and how to trust it.
#[derive(Clone)]
pub(crate) struct Endpoint {
    /// The host to connect to (after `HostName`).
    pub host: String,
    pub port: u16,
    pub user: String,
    /// The name the host key is looked up under in known_hosts.
    pub key_name: String,
    pub host_keys: HostKeyPolicy,
    pub auth: AuthPlan,
}

impl Endpoint {
    /// `ssh://user@host:port`, for messages.
    pub fn display(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("ssh://{}@{host}:{}", self.user, self.port)
    }
}

/// Everything needed to dial the target: the jump hosts in order, then the target.
#[derive(Clone)]
pub(crate) struct Route {
    pub jumps: Vec<Endpoint>,
    pub target: Endpoint,
    pub connect_timeout: Duration,
    /// `None` when keep-alive is off.
    pub keep_alive: Option<Duration>,
    pub keep_alive_max: u32,
}

/// The local user's name and home, for `%u`, `~` and the default user.
struct Local {
    user: String,
    home: PathBuf,
}

fn local() -> Result<Local> {
    let home = PathBuf::from(crate::local::home_dir()?);
    let user = crate::local::passwd_entry()
        .map(|(name, _)| name)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| rustix::process::getuid().as_raw().to_string());
    Ok(Local { user, home })
}

/// Combines a destination, the options and the config into a route.
pub(crate) fn resolve(dest: &Destination, opts: &SshOptions) -> Result<Route> {
    let local = local()?;
    let config = match &opts.config {
        ConfigFile::None => SshConfig::default(),
        ConfigFile::Path(p) => SshConfig::load(p, &local.home)?,
        ConfigFile::Default => {
            let p = local.home.join(".ssh/config");
            if p.is_file() {
                SshConfig::load(&p, &local.home)?
            } else {
                SshConfig::default()
            }
        }
    };
    let (target, hc) = endpoint(&dest.host, &dest.user, dest.port, &config, opts, &local)?;
    if hc.proxy_command.is_some() && hc.proxy_jump.is_none() {
        return Err(Error::unsupported(
            "resolve ssh destination",
            &dest.raw,
            "ProxyCommand is not supported by this client; use ProxyJump",
        ));
    }
    let mut jumps = Vec::new();
    for spec in hc.proxy_jump.iter().flatten() {
        let jump = parse_destination(spec, DestType::Ssh).map_err(|e| {
            Error::new(
                ErrorCode::InvalidArgument,
                "resolve ProxyJump",
                spec,
                e.message(),
            )
        })?;
        if jump.dest_type != DestType::Ssh {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "resolve ProxyJump",
                spec,
                "a jump host must be an SSH destination",
            ));
        }
        jumps.push(endpoint(&jump.host, &jump.user, jump.port, &config, opts, &local)?.0);
    }
    let keep_alive = opts
        .keep_alive_interval
        .or(hc.server_alive_interval)
        .unwrap_or(DEFAULT_KEEP_ALIVE);
    Ok(Route {
        jumps,
        target,
        connect_timeout: opts
            .connect_timeout
            .or(hc.connect_timeout)
            .filter(|t| !t.is_zero())
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT),
        keep_alive: (!keep_alive.is_zero()).then_some(keep_alive),
        keep_alive_max: hc.server_alive_count_max.unwrap_or(DEFAULT_KEEP_ALIVE_MAX),
    })
}

/// One hop: the config block of `alias`, overridden by the destination and the options.
fn endpoint(
    alias: &str,
    dest_user: &str,
    dest_port: u16,
    config: &SshConfig,
    opts: &SshOptions,
    local: &Local,
) -> Result<(Endpoint, HostConfig)> {
    let hc = config.resolve(&Lookup {
        alias,
        user: (!dest_user.is_empty()).then_some(dest_user),
        local_user: &local.user,
    })?;
    if let Some(what) = &hc.unsupported_match {
        tracing::warn!(
            host = alias,
            "ssh config: {what} cannot be evaluated by this client; its block is ignored"
        );
    }
    let host = hc.hostname.clone().unwrap_or_else(|| alias.to_string());
    let port = if dest_port != 0 {
        dest_port
    } else {
        hc.port.unwrap_or(22)
    };
    let user = if !dest_user.is_empty() {
        dest_user.to_string()
    } else {
        hc.user.clone().unwrap_or_else(|| local.user.clone())
    };
    let tokens = Tokens {
        home: &local.home,
        host: &host,
        alias,
        port,
        remote_user: &user,
        local_user: &local.user,
    };
    let expand_all = |list: &[String]| -> Result<Vec<PathBuf>> {
        list.iter()
            .filter(|p| !p.eq_ignore_ascii_case("none"))
            .map(|p| expand_path(p, &tokens))
            .collect()
    };
    let mut identities: Vec<Identity> = opts
        .identities
        .iter()
        .map(|p| Identity {
            path: p.clone(),
            named: true,
        })
        .collect();
    for p in expand_all(&hc.identity_files)? {
        identities.push(Identity {
            path: p,
            named: true,
        });
    }
    if identities.is_empty() {
        identities = ["id_rsa", "id_ecdsa", "id_ed25519"]
            .iter()
            .map(|n| Identity {
                path: local.home.join(".ssh").join(n),
                named: false,
            })
            .collect();
    }
    let agent = if !opts.use_agent {
        None
    } else {
        match hc.identity_agent.as_deref() {
            Some(a) if a.eq_ignore_ascii_case("none") => None,
            Some("SSH_AUTH_SOCK") | None => std::env::var_os("SSH_AUTH_SOCK")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
            Some(path) => Some(expand_path(path, &tokens)?),
        }
    };
    let user_files = if !opts.known_hosts.is_empty() {
        opts.known_hosts.clone()
    } else if let Some(files) = &hc.user_known_hosts_files {
        expand_all(files)?
    } else {
        vec![
            local.home.join(".ssh/known_hosts"),
            local.home.join(".ssh/known_hosts2"),
        ]
    };
    let global_files = match &hc.global_known_hosts_files {
        Some(files) => expand_all(files)?,
        None => vec![
            Path::new("/etc/ssh/ssh_known_hosts").to_path_buf(),
            Path::new("/etc/ssh/ssh_known_hosts2").to_path_buf(),
        ],
    };
    let key_host = hc.host_key_alias.clone().unwrap_or_else(|| host.clone());
    let ep = Endpoint {
        key_name: host_key_name(&key_host, port),
        host,
        port,
        user,
        host_keys: HostKeyPolicy {
            strict: opts
                .strict_host_key_checking
                .or(hc.strict_host_key_checking)
                .unwrap_or_default(),
            user_files,
            global_files,
        },
        auth: AuthPlan {
            agent,
            identities,
            identities_only: opts.identities_only.or(hc.identities_only).unwrap_or(false),
            password: opts.password,
            prompt: opts.prompt.clone(),
        },
    };
    Ok((ep, hc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_wins_over_config_and_options_over_config() {
        let dir = std::env::temp_dir().join(format!("remote-sshopt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let cfg = dir.join("config");
        std::fs::write(
            &cfg,
            "Host alias\n  HostName 127.0.0.9\n  Port 2200\n  User cfguser\n  \
             IdentityFile /k/%r\n  ProxyJump jumper@bastion:2022\n  StrictHostKeyChecking no\n\
             Host bastion\n  Port 9\n  IdentityFile /k/bastion\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let opts = SshOptions {
            config: ConfigFile::Path(cfg),
            strict_host_key_checking: Some(StrictHostKeyChecking::Yes),
            known_hosts: vec![PathBuf::from("/kh")],
            use_agent: false,
            ..SshOptions::default()
        };
        let dest =
            parse_destination("ssh://alice@alias", DestType::Ssh).unwrap_or_else(|e| panic!("{e}"));
        let route = resolve(&dest, &opts);
        let _ = std::fs::remove_dir_all(&dir);
        let route = route.unwrap_or_else(|e| panic!("{e}"));
        let t = &route.target;
        assert_eq!(
            (t.host.as_str(), t.port, t.user.as_str()),
            ("127.0.0.9", 2200, "alice")
        );
        assert_eq!(t.key_name, "[127.0.0.9]:2200");
        assert_eq!(t.host_keys.strict, StrictHostKeyChecking::Yes);
        assert_eq!(t.host_keys.user_files, vec![PathBuf::from("/kh")]);
        assert_eq!(t.auth.identities.len(), 1);
        assert_eq!(t.auth.identities[0].path, PathBuf::from("/k/alice"));
        assert!(t.auth.agent.is_none());
        assert_eq!(route.jumps.len(), 1);
        let j = &route.jumps[0];
        assert_eq!(
            (j.host.as_str(), j.port, j.user.as_str()),
            ("bastion", 2022, "jumper")
        );
        assert_eq!(j.auth.identities[0].path, PathBuf::from("/k/bastion"));
        assert_eq!(t.display(), "ssh://alice@127.0.0.9:2200");
    }

    #[test]
    fn proxy_command_is_refused_clearly() {
        let opts = SshOptions {
            config: ConfigFile::None,
            ..SshOptions::default()
        };
        let dest = parse_destination("ssh://h", DestType::Ssh).unwrap_or_else(|e| panic!("{e}"));
        assert!(resolve(&dest, &opts).is_ok());
        let dir = std::env::temp_dir().join(format!("remote-sshopt-pc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let cfg = dir.join("config");
        std::fs::write(&cfg, "ProxyCommand nc %h %p\n").unwrap_or_else(|e| panic!("{e}"));
        let r = resolve(
            &dest,
            &SshOptions {
                config: ConfigFile::Path(cfg),
                ..SshOptions::default()
            },
        );
        let _ = std::fs::remove_dir_all(&dir);
        let err = r.err().unwrap_or_else(|| panic!("ProxyCommand accepted"));
        assert_eq!(err.code(), ErrorCode::Unsupported);
        assert!(err.to_string().contains("ProxyJump"), "{err}");
    }
}
