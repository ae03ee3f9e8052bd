//! Destination strings: `ssh://[user@]host[:port]`, bare `[user@]host[:port]`,
//! `docker://container`, `podman://container`, `compose://project/service[/sequence]` and
//! `local://`.
//!
//! The rules follow the original tool where it was right and close its holes: an empty host
//! before a port (`ssh://alice@:22`) is an error, IPv6 literals must be valid, ports are digits
//! only, and container, project and service names are checked against what Docker and Compose
//! accept, so a typo fails here with a message naming the part instead of deep inside a backend.

use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

use serde::Serialize;

use crate::error::{Error, ErrorCode, Result};

/// Which backend a destination selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DestType {
    /// An SSH server.
    Ssh,
    /// A running Docker container.
    Docker,
    /// A running Podman container, through Podman's Docker-compatible API.
    Podman,
    /// A service of a Docker Compose project.
    Compose,
    /// This machine, without any connection.
    Local,
}

impl DestType {
    /// The scheme name, as in `ssh://`.
    pub fn as_str(self) -> &'static str {
        match self {
            DestType::Ssh => "ssh",
            DestType::Docker => "docker",
            DestType::Podman => "podman",
            DestType::Compose => "compose",
            DestType::Local => "local",
        }
    }
}

impl fmt::Display for DestType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DestType {
    type Err = Error;

    fn from_str(s: &str) -> Result<DestType> {
        match s {
            "ssh" => Ok(DestType::Ssh),
            "docker" => Ok(DestType::Docker),
            "podman" => Ok(DestType::Podman),
            "compose" => Ok(DestType::Compose),
            "local" => Ok(DestType::Local),
            other => Err(invalid(
                other,
                format!(
                    "unknown destination scheme {other:?} (want ssh://, docker://, podman://, compose:// or local://)"
                ),
            )),
        }
    }
}

/// A parsed destination. Fields a type does not use are empty or zero.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Destination {
    /// The backend to use.
    #[serde(rename = "type")]
    pub dest_type: DestType,
    /// The SSH user, when one was given.
    pub user: String,
    /// The SSH host (IPv6 without brackets), the container name or ID (Docker, Podman), or the
    /// Compose project
    /// (`.` = detect from the working directory).
    pub host: String,
    /// The SSH port; 0 when not given.
    pub port: u16,
    /// The Compose service.
    pub service: String,
    /// The 1-based Compose replica; 0 = exactly one running replica must match.
    pub sequence: u32,
    /// The input, untouched.
    pub raw: String,
}

impl Destination {
    fn empty(dest_type: DestType, raw: &str) -> Destination {
        Destination {
            dest_type,
            user: String::new(),
            host: String::new(),
            port: 0,
            service: String::new(),
            sequence: 0,
            raw: raw.to_string(),
        }
    }
}

impl fmt::Display for Destination {
    /// The canonical form, which parses back to the same fields.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.dest_type)?;
        match self.dest_type {
            DestType::Local => Ok(()),
            DestType::Docker | DestType::Podman => f.write_str(&self.host),
            DestType::Compose => {
                write!(f, "{}/{}", self.host, self.service)?;
                if self.sequence > 0 {
                    write!(f, "/{}", self.sequence)?;
                }
                Ok(())
            }
            DestType::Ssh => {
                if !self.user.is_empty() {
                    write!(f, "{}@", self.user)?;
                }
                if self.host.contains(':') {
                    write!(f, "[{}]", self.host)?;
                } else {
                    f.write_str(&self.host)?;
                }
                if self.port > 0 {
                    write!(f, ":{}", self.port)?;
                }
                Ok(())
            }
        }
    }
}

fn invalid(raw: &str, message: String) -> Error {
    Error::new(
        ErrorCode::InvalidArgument,
        "parse destination",
        raw,
        message,
    )
}

/// Parses a destination. A string without `scheme://` takes `default_type`.
pub fn parse_destination(s: &str, default_type: DestType) -> Result<Destination> {
    if s.is_empty() {
        return Err(invalid(s, "destination must not be empty".into()));
    }
    if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(
            s,
            format!("destination contains the invalid character {c:?}"),
        ));
    }
    let (dest_type, rest) = match s.split_once("://") {
        Some((scheme, rest)) => (
            scheme
                .parse::<DestType>()
                .map_err(|e| invalid(s, e.message().into()))?,
            rest,
        ),
        None => (default_type, s),
    };
    let mut d = Destination::empty(dest_type, s);
    match dest_type {
        DestType::Local => {
            if !rest.is_empty() {
                return Err(invalid(
                    s,
                    format!("local destination takes no host, got {rest:?} (write local://)"),
                ));
            }
        }
        DestType::Ssh => parse_ssh(s, rest, &mut d)?,
        DestType::Docker | DestType::Podman => {
            check_container(s, dest_type, rest)?;
            d.host = rest.to_string();
        }
        DestType::Compose => parse_compose(s, rest, &mut d)?,
    }
    Ok(d)
}

fn parse_ssh(raw: &str, rest: &str, d: &mut Destination) -> Result<()> {
    if rest.is_empty() {
        return Err(invalid(raw, "ssh destination must include a host".into()));
    }
    let hostport = match rest.rsplit_once('@') {
        Some((user, hostport)) => {
            if user.is_empty() {
                return Err(invalid(
                    raw,
                    "ssh destination has an empty user before '@'".into(),
                ));
            }
            if user.contains('/') {
                return Err(invalid(
                    raw,
                    format!("ssh user {user:?} contains the invalid character '/'"),
                ));
            }
            d.user = user.to_string();
            hostport
        }
        None => rest,
    };
    let (host, port) = if let Some(inner) = hostport.strip_prefix('[') {
        let Some((host, after)) = inner.split_once(']') else {
            return Err(invalid(raw, "ssh destination has an unclosed '['".into()));
        };
        check_ipv6(raw, host)?;
        let port = match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(p) => Some(p),
                None => {
                    return Err(invalid(
                        raw,
                        format!("ssh destination has unexpected trailing {after:?} after ']'"),
                    ));
                }
            },
        };
        (host, port)
    } else if hostport.matches(':').count() >= 2 {
        check_ipv6(raw, hostport).map_err(|_| {
            invalid(
                raw,
                format!(
                    "ssh host {hostport:?} has several ':' but is not an IPv6 address (write [addr]:port)"
                ),
            )
        })?;
        (hostport, None)
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(invalid(raw, "ssh destination must include a host".into()));
    }
    if let Some(c) = host.chars().find(|c| matches!(c, '/' | '@' | '[' | ']')) {
        return Err(invalid(
            raw,
            format!("ssh host {host:?} contains the invalid character {c:?}"),
        ));
    }
    d.host = host.to_string();
    if let Some(p) = port {
        d.port = parse_port(raw, p)?;
    }
    Ok(())
}

fn check_ipv6(raw: &str, host: &str) -> Result<()> {
    let addr = host.split_once('%').map_or(host, |(a, _zone)| a);
    if host.ends_with('%') || addr.parse::<Ipv6Addr>().is_err() {
        return Err(invalid(
            raw,
            format!("ssh host [{host}] is not an IPv6 address"),
        ));
    }
    Ok(())
}

fn parse_port(raw: &str, p: &str) -> Result<u16> {
    if p.is_empty() {
        return Err(invalid(raw, "ssh destination has an empty port".into()));
    }
    if !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(raw, format!("ssh port {p:?} is not a number")));
    }
    match p.parse::<u32>() {
        Ok(n @ 1..=65535) => Ok(n as u16),
        _ => Err(invalid(
            raw,
            format!("ssh port {p} is out of range (1-65535)"),
        )),
    }
}

/// Docker's own rule for container names (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`), which IDs also meet;
/// Podman has the same rule.
fn check_container(raw: &str, engine: DestType, name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(invalid(
            raw,
            format!("{engine} destination must include a container name or ID"),
        ));
    }
    let first_ok = name.starts_with(|c: char| c.is_ascii_alphanumeric());
    let bad = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')));
    match (first_ok, bad) {
        (_, Some(c)) => Err(invalid(
            raw,
            format!("{engine} container {name:?} contains the invalid character {c:?}"),
        )),
        (false, None) => Err(invalid(
            raw,
            format!("{engine} container {name:?} must start with a letter or digit"),
        )),
        (true, None) => Ok(()),
    }
}

fn parse_compose(raw: &str, rest: &str, d: &mut Destination) -> Result<()> {
    let form = || format!("compose destination {raw:?} must be compose://project/service[/N]");
    let Some((project, tail)) = rest.split_once('/') else {
        return Err(invalid(raw, form()));
    };
    if project.is_empty() {
        return Err(invalid(
            raw,
            format!("{}: project name must not be empty", form()),
        ));
    }
    // Compose project names: lowercase letters, digits, '_' and '-', starting with a letter or
    // digit; '.' alone means "the project of the working directory".
    if project != "." {
        let bad = project
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-')));
        if let Some(c) = bad {
            return Err(invalid(
                raw,
                format!(
                    "compose project {project:?} contains the invalid character {c:?} (allowed: a-z 0-9 _ -, or '.' for the working directory's project)"
                ),
            ));
        }
        if !project.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(invalid(
                raw,
                format!("compose project {project:?} must start with a letter or digit"),
            ));
        }
    }
    let (service, seq) = match tail.split_once('/') {
        Some((service, seq)) => (service, Some(seq)),
        None => (tail, None),
    };
    if service.is_empty() {
        return Err(invalid(
            raw,
            format!("{}: service name must not be empty", form()),
        ));
    }
    if let Some(c) = service
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(invalid(
            raw,
            format!("compose service {service:?} contains the invalid character {c:?}"),
        ));
    }
    if let Some(seq) = seq {
        let n = if seq.bytes().all(|b| b.is_ascii_digit()) {
            seq.parse::<u32>().ok().filter(|n| *n >= 1)
        } else {
            None
        };
        d.sequence = n.ok_or_else(|| {
            invalid(
                raw,
                format!("compose sequence {seq:?} must be a positive integer (1, 2, …)"),
            )
        })?;
    }
    d.host = project.to_string();
    d.service = service.to_string();
    Ok(())
}

#[cfg(test)]
mod tests;
