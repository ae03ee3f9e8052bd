//! The subset of OpenSSH's `ssh_config` that decides where and how to connect.
//!
//! The semantics are OpenSSH's (ssh_config(5)): keywords are case-insensitive, `key value` and
//! `key=value` both work, arguments may be double-quoted, `Host` and `Match` start blocks that
//! apply when their patterns match, `Include` reads further files in place, and for each option
//! the **first** value obtained wins (except `IdentityFile`, which accumulates). Options we do not
//! use are skipped. `ProxyCommand` is kept so that connecting can refuse it clearly; a `Match`
//! block whose criteria we cannot evaluate (`exec`, `canonical`, …) is skipped and named, so the
//! caller can warn instead of silently applying or dropping it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, ErrorCode, Result};

use super::known_hosts::StrictHostKeyChecking;
use super::pattern::{pattern_list_matches, wildcard_match};

/// How deep `Include` may nest before we call it a loop, as OpenSSH does.
const MAX_INCLUDE_DEPTH: usize = 16;

/// The options of one host after reading the config: `None` where the config said nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostConfig {
    /// `HostName`, with `%h` already replaced by the alias.
    pub hostname: Option<String>,
    /// `Port`.
    pub port: Option<u16>,
    /// `User`.
    pub user: Option<String>,
    /// Every `IdentityFile`, in order, unexpanded (`~` and `%` tokens are expanded when used).
    pub identity_files: Vec<String>,
    /// `IdentitiesOnly`.
    pub identities_only: Option<bool>,
    /// `ProxyJump`: the hops, or an empty list for `none`.
    pub proxy_jump: Option<Vec<String>>,
    /// `ProxyCommand`, which this client does not run; kept to refuse it clearly.
    pub proxy_command: Option<String>,
    /// `ConnectTimeout`.
    pub connect_timeout: Option<Duration>,
    /// `ServerAliveInterval` (zero turns keep-alive off).
    pub server_alive_interval: Option<Duration>,
    /// `ServerAliveCountMax`.
    pub server_alive_count_max: Option<u32>,
    /// `UserKnownHostsFile`, unexpanded.
    pub user_known_hosts_files: Option<Vec<String>>,
    /// `GlobalKnownHostsFile`, unexpanded.
    pub global_known_hosts_files: Option<Vec<String>>,
    /// `StrictHostKeyChecking`.
    pub strict_host_key_checking: Option<StrictHostKeyChecking>,
    /// `HostKeyAlias`: the name looked up in known_hosts instead of the host name.
    pub host_key_alias: Option<String>,
    /// `IdentityAgent`: a socket path, `SSH_AUTH_SOCK`, or `none`.
    pub identity_agent: Option<String>,
    /// The first `Match` criterion this client cannot evaluate, with its line; its block was
    /// skipped.
    pub unsupported_match: Option<String>,
}

/// One condition of a block: all criteria must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Criterion {
    /// `Host` patterns, matched against the alias given on the command line.
    Host(Vec<String>),
    /// `Match all`.
    All,
    /// `Match host` (the host name so far), `originalhost` (the alias), `user`, `localuser`;
    /// `negated` for a leading `!`.
    Match {
        what: MatchOn,
        patterns: Vec<String>,
        negated: bool,
    },
    /// A `Match` criterion we cannot evaluate (`exec`, `canonical`, …).
    Unsupported(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MatchOn {
    Host,
    OriginalHost,
    User,
    LocalUser,
}

/// One option line with the conditions it sits under.
#[derive(Debug, Clone)]
struct Directive {
    conditions: Vec<Criterion>,
    key: String,
    args: Vec<String>,
    origin: String,
}

/// A parsed config: its directives in file order, `Include`s expanded.
#[derive(Debug, Clone, Default)]
pub struct SshConfig {
    directives: Vec<Directive>,
}

/// What a lookup matches against.
#[derive(Debug, Clone)]
pub struct Lookup<'a> {
    /// The host as given on the command line (the alias).
    pub alias: &'a str,
    /// The remote user when it is already known (from the destination), for `Match user`.
    pub user: Option<&'a str>,
    /// The local user's name, for `Match localuser`.
    pub local_user: &'a str,
}

impl SshConfig {
    /// Reads `path`. A missing default file is no error for the caller to handle here: it asks
    /// only for files that exist or that the user named.
    pub fn load(path: &Path, home: &Path) -> Result<SshConfig> {
        let mut cfg = SshConfig::default();
        cfg.read_file(path, home, &[], 0)?;
        Ok(cfg)
    }

    /// Parses config text; `name` is used in error messages.
    #[cfg(test)]
    pub fn parse(text: &str, name: &str, home: &Path) -> Result<SshConfig> {
        let mut cfg = SshConfig::default();
        cfg.read_text(text, name, home, &[], 0)?;
        Ok(cfg)
    }

    fn read_file(
        &mut self,
        path: &Path,
        home: &Path,
        outer: &[Criterion],
        depth: usize,
    ) -> Result<()> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::from_io("read ssh config", path.display().to_string(), e))?;
        self.read_text(&text, &path.display().to_string(), home, outer, depth)
    }

    fn read_text(
        &mut self,
        text: &str,
        name: &str,
        home: &Path,
        outer: &[Criterion],
        depth: usize,
    ) -> Result<()> {
        let mut current: Vec<Criterion> = outer.to_vec();
        for (i, line) in text.lines().enumerate() {
            let origin = format!("{name}:{}", i + 1);
            let Some((key, args)) = split_line(line).map_err(|m| bad(&origin, m))? else {
                continue;
            };
            match key.as_str() {
                "host" => {
                    if args.is_empty() {
                        return Err(bad(&origin, "Host needs at least one pattern"));
                    }
                    current = outer.to_vec();
                    current.push(Criterion::Host(args));
                }
                "match" => {
                    current = outer.to_vec();
                    current.extend(parse_match(&args).map_err(|m| bad(&origin, m))?);
                }
                "include" => {
                    if depth >= MAX_INCLUDE_DEPTH {
                        return Err(bad(&origin, "Include nests too deep (a loop?)"));
                    }
                    for arg in &args {
                        for file in include_files(arg, home) {
                            self.read_file(&file, home, &current, depth + 1)?;
                        }
                    }
                }
                _ => {
                    if args.is_empty() {
                        return Err(bad(&origin, format!("{key} needs a value")));
                    }
                    self.directives.push(Directive {
                        conditions: current.clone(),
                        key,
                        args,
                        origin,
                    });
                }
            }
        }
        Ok(())
    }

    /// The options that apply to `lookup`, first value winning.
    pub fn resolve(&self, lookup: &Lookup<'_>) -> Result<HostConfig> {
        let mut c = HostConfig::default();
        for d in &self.directives {
            let matched = d
                .conditions
                .iter()
                .all(|cr| criterion_holds(cr, lookup, &c));
            if !matched {
                continue;
            }
            if let Some(Criterion::Unsupported(what)) = d
                .conditions
                .iter()
                .find(|cr| matches!(cr, Criterion::Unsupported(_)))
            {
                c.unsupported_match
                    .get_or_insert_with(|| format!("{what} ({})", d.origin));
                continue;
            }
            apply(&mut c, d, lookup.alias)?;
        }
        Ok(c)
    }
}

fn bad(origin: &str, msg: impl Into<String>) -> Error {
    Error::new(
        ErrorCode::InvalidArgument,
        "read ssh config",
        origin,
        msg.into(),
    )
}

/// Splits a line into its lower-cased keyword and arguments; `None` for blanks and comments.
fn split_line(line: &str) -> std::result::Result<Option<(String, Vec<String>)>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let key = line[..end].to_ascii_lowercase();
    let mut rest = line[end..].trim_start();
    if let Some(r) = rest.strip_prefix('=') {
        rest = r.trim_start();
    }
    let mut args = Vec::new();
    let mut chars = rest.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut arg = String::new();
        if c == '"' {
            chars.next();
            let mut closed = false;
            for c in chars.by_ref() {
                if c == '"' {
                    closed = true;
                    break;
                }
                arg.push(c);
            }
            if !closed {
                return Err(format!("unterminated quote in {key}"));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                arg.push(c);
                chars.next();
            }
        }
        args.push(arg);
    }
    Ok(Some((key, args)))
}

fn parse_match(args: &[String]) -> std::result::Result<Vec<Criterion>, String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(word) = it.next() {
        let (negated, name) = match word.strip_prefix('!') {
            Some(n) => (true, n.to_ascii_lowercase()),
            None => (false, word.to_ascii_lowercase()),
        };
        let what = match name.as_str() {
            "all" => {
                out.push(Criterion::All);
                continue;
            }
            "canonical" | "final" => {
                out.push(Criterion::Unsupported(format!("Match {name}")));
                continue;
            }
            "host" => MatchOn::Host,
            "originalhost" => MatchOn::OriginalHost,
            "user" => MatchOn::User,
            "localuser" => MatchOn::LocalUser,
            "exec" | "localnetwork" | "tagged" => {
                it.next();
                out.push(Criterion::Unsupported(format!("Match {name}")));
                continue;
            }
            other => return Err(format!("unknown Match criterion {other:?}")),
        };
        let list = it
            .next()
            .ok_or_else(|| format!("Match {name} needs a pattern list"))?;
        out.push(Criterion::Match {
            what,
            patterns: list.split(',').map(str::to_string).collect(),
            negated,
        });
    }
    if out.is_empty() {
        return Err("Match needs a criterion".into());
    }
    Ok(out)
}

/// The files an `Include` argument names: relative paths are under `~/.ssh`, and `*`/`?` in
/// the last component match file names, in sorted order as OpenSSH's glob gives them.
fn include_files(arg: &str, home: &Path) -> Vec<PathBuf> {
    let path = if let Some(rest) = arg.strip_prefix("~/") {
        home.join(rest)
    } else if Path::new(arg).is_absolute() {
        PathBuf::from(arg)
    } else {
        home.join(".ssh").join(arg)
    };
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Vec::new();
    };
    if !name.contains(['*', '?']) {
        return if path.is_file() {
            vec![path]
        } else {
            Vec::new()
        };
    }
    let dir = path.parent().unwrap_or(Path::new("/"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| wildcard_match(name, n, false))
        })
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn criterion_holds(cr: &Criterion, lookup: &Lookup<'_>, so_far: &HostConfig) -> bool {
    match cr {
        Criterion::Host(patterns) => pattern_list_matches(patterns, lookup.alias),
        Criterion::All | Criterion::Unsupported(_) => true,
        Criterion::Match {
            what,
            patterns,
            negated,
        } => {
            let subject = match what {
                MatchOn::Host => so_far.hostname.as_deref().unwrap_or(lookup.alias),
                MatchOn::OriginalHost => lookup.alias,
                MatchOn::User => so_far
                    .user
                    .as_deref()
                    .or(lookup.user)
                    .unwrap_or(lookup.local_user),
                MatchOn::LocalUser => lookup.local_user,
            };
            pattern_list_matches(patterns, subject) != *negated
        }
    }
}

fn apply(c: &mut HostConfig, d: &Directive, alias: &str) -> Result<()> {
    let first = d.args[0].as_str();
    let yes_no = || match first.to_ascii_lowercase().as_str() {
        "yes" | "true" => Ok(true),
        "no" | "false" => Ok(false),
        other => Err(bad(
            &d.origin,
            format!("{} wants yes or no, got {other:?}", d.key),
        )),
    };
    let seconds = || {
        first
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| bad(&d.origin, format!("{} wants seconds, got {first:?}", d.key)))
    };
    match d.key.as_str() {
        "hostname" if c.hostname.is_none() => {
            c.hostname = Some(first.replace("%h", alias).replace("%%", "%"));
        }
        "port" if c.port.is_none() => {
            c.port = Some(
                first
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| bad(&d.origin, format!("Port {first:?} is not 1..65535")))?,
            );
        }
        "user" if c.user.is_none() => c.user = Some(first.to_string()),
        "identityfile" => c.identity_files.push(first.to_string()),
        "identitiesonly" if c.identities_only.is_none() => c.identities_only = Some(yes_no()?),
        "proxyjump" if c.proxy_jump.is_none() => {
            c.proxy_jump = Some(if first.eq_ignore_ascii_case("none") {
                Vec::new()
            } else {
                first.split(',').map(str::to_string).collect()
            });
        }
        "proxycommand" if c.proxy_command.is_none() => {
            c.proxy_command = Some(d.args.join(" "));
        }
        "connecttimeout" if c.connect_timeout.is_none() => c.connect_timeout = Some(seconds()?),
        "serveraliveinterval" if c.server_alive_interval.is_none() => {
            c.server_alive_interval = Some(seconds()?);
        }
        "serveralivecountmax" if c.server_alive_count_max.is_none() => {
            c.server_alive_count_max = Some(first.parse().map_err(|_| {
                bad(
                    &d.origin,
                    format!("ServerAliveCountMax wants a number, got {first:?}"),
                )
            })?);
        }
        "userknownhostsfile" if c.user_known_hosts_files.is_none() => {
            c.user_known_hosts_files = Some(d.args.clone());
        }
        "globalknownhostsfile" if c.global_known_hosts_files.is_none() => {
            c.global_known_hosts_files = Some(d.args.clone());
        }
        "stricthostkeychecking" if c.strict_host_key_checking.is_none() => {
            c.strict_host_key_checking = Some(
                first
                    .parse()
                    .map_err(|e: String| bad(&d.origin, format!("StrictHostKeyChecking: {e}")))?,
            );
        }
        "hostkeyalias" if c.host_key_alias.is_none() => c.host_key_alias = Some(first.into()),
        "identityagent" if c.identity_agent.is_none() => c.identity_agent = Some(first.into()),
        _ => {}
    }
    Ok(())
}

/// The values `%` tokens and `~` stand for in paths from the config.
#[derive(Debug, Clone)]
pub struct Tokens<'a> {
    /// The local home directory (`~`, `%d`).
    pub home: &'a Path,
    /// The remote host name (`%h`).
    pub host: &'a str,
    /// The alias as given (`%n`).
    pub alias: &'a str,
    /// The remote port (`%p`).
    pub port: u16,
    /// The remote user (`%r`).
    pub remote_user: &'a str,
    /// The local user (`%u`).
    pub local_user: &'a str,
}

/// Expands `~` and the `%` tokens of ssh_config(5) ("TOKENS") in a path.
pub fn expand_path(raw: &str, t: &Tokens<'_>) -> Result<PathBuf> {
    let with_home = if raw == "~" {
        t.home.display().to_string()
    } else if let Some(rest) = raw.strip_prefix("~/") {
        format!("{}/{rest}", t.home.display())
    } else {
        raw.to_string()
    };
    let mut out = String::new();
    let mut chars = with_home.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('d') => out.push_str(&t.home.display().to_string()),
            Some('h') => out.push_str(t.host),
            Some('n') => out.push_str(t.alias),
            Some('p') => out.push_str(&t.port.to_string()),
            Some('r') => out.push_str(t.remote_user),
            Some('u') => out.push_str(t.local_user),
            Some('i') => out.push_str(&rustix::process::getuid().as_raw().to_string()),
            other => {
                return Err(Error::new(
                    ErrorCode::InvalidArgument,
                    "expand ssh config path",
                    raw,
                    format!(
                        "unsupported token %{}",
                        other.map(String::from).unwrap_or_default()
                    ),
                ));
            }
        }
    }
    Ok(PathBuf::from(out))
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod fuzz;
