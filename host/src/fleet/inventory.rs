//! Inventories: which targets a run covers, how they are grouped, and the connection options
//! each one needs. Three formats, told apart by the name's extension or else by the text:
//!
//! - plain text, one destination a line (`#` starts a comment);
//! - JSON: a list of targets, or an object;
//! - TOML: an object.
//!
//! In an object, `defaults` holds options for every target, `targets` lists targets outside
//! any group, and every other key is a group: a list of targets, or a table with `targets` and
//! the group's options. A target is a destination string, or a table with `dest` and its own
//! options. The most specific option wins (target, group, defaults), and a user or port written
//! in the destination itself wins over all of them, as `ssh alice@host` wins over `User`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::destination::{DestType, Destination, parse_destination};
use crate::error::{Error, ErrorCode, Result};
use crate::ssh::{SshOptions, StrictHostKeyChecking};

/// One target of an inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The destination, as `remote` takes it (`ssh://…`, `docker://…`, a bare host…).
    pub dest: String,
    /// The group it was listed under; `None` outside any group.
    pub group: Option<String>,
    /// Its options, with the group's and the defaults' already folded in.
    pub options: TargetOptions,
}

impl Target {
    /// A target with no group and no options.
    pub fn new(dest: impl Into<String>) -> Target {
        Target {
            dest: dest.into(),
            group: None,
            options: TargetOptions::default(),
        }
    }

    /// The parsed destination, with the inventory's user and port filled in where the
    /// destination names none. They mean something only to `ssh://`; other types keep theirs.
    pub fn destination(&self, default_type: DestType) -> Result<Destination> {
        let mut dest = parse_destination(&self.dest, default_type)?;
        if dest.dest_type == DestType::Ssh {
            if let (true, Some(user)) = (dest.user.is_empty(), &self.options.user) {
                dest.user.clone_from(user);
            }
            if let (0, Some(port)) = (dest.port, self.options.port) {
                dest.port = port;
            }
        }
        Ok(dest)
    }

    /// `base` (the command line's SSH options) with the inventory's options over it: its
    /// identities are tried first, its known_hosts files and host key policy replace the base's.
    pub fn ssh_options(&self, base: &SshOptions) -> SshOptions {
        let o = &self.options;
        let mut ssh = base.clone();
        if !o.identity.is_empty() {
            ssh.identities = o.identity.iter().chain(&base.identities).cloned().collect();
        }
        if !o.known_hosts.is_empty() {
            ssh.known_hosts.clone_from(&o.known_hosts);
        }
        if o.strict_host_key_checking.is_some() {
            ssh.strict_host_key_checking = o.strict_host_key_checking;
        }
        ssh
    }
}

/// What an inventory may say about how to reach a target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetOptions {
    /// The SSH user when the destination names none.
    pub user: Option<String>,
    /// The SSH port when the destination names none.
    pub port: Option<u16>,
    /// Identity files tried before the command line's.
    pub identity: Vec<PathBuf>,
    /// known_hosts files used instead of the command line's or the config's.
    pub known_hosts: Vec<PathBuf>,
    /// The host key policy.
    pub strict_host_key_checking: Option<StrictHostKeyChecking>,
    /// This target's own time limit, over the run's.
    pub timeout: Option<Duration>,
}

impl TargetOptions {
    /// These options, with what they leave unset taken from `wider`.
    fn over(self, wider: &TargetOptions) -> TargetOptions {
        let list = |mine: Vec<PathBuf>, theirs: &Vec<PathBuf>| {
            if mine.is_empty() {
                theirs.clone()
            } else {
                mine
            }
        };
        TargetOptions {
            user: self.user.or_else(|| wider.user.clone()),
            port: self.port.or(wider.port),
            identity: list(self.identity, &wider.identity),
            known_hosts: list(self.known_hosts, &wider.known_hosts),
            strict_host_key_checking: self
                .strict_host_key_checking
                .or(wider.strict_host_key_checking),
            timeout: self.timeout.or(wider.timeout),
        }
    }
}

/// The options as written; converted by [`RawOptions::parse`] so each mistake gets its own
/// message instead of serde's "did not match any variant".
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOptions {
    user: Option<String>,
    port: Option<u16>,
    identity: Option<Value>,
    known_hosts: Option<Value>,
    strict_host_key_checking: Option<String>,
    timeout: Option<f64>,
}

impl RawOptions {
    fn parse(map: Map<String, Value>, bad: &dyn Fn(String) -> Error) -> Result<TargetOptions> {
        let raw: RawOptions = serde_json::from_value(Value::Object(map))
            .map_err(|e| bad(format!("bad options: {e}")))?;
        let paths = |key: &str, v: Option<Value>| -> Result<Vec<PathBuf>> {
            match v {
                None => Ok(Vec::new()),
                Some(Value::String(s)) => Ok(vec![PathBuf::from(s)]),
                Some(Value::Array(items)) => items
                    .into_iter()
                    .map(|item| match item {
                        Value::String(s) => Ok(PathBuf::from(s)),
                        other => Err(bad(format!("{key}: want a path, got {other}"))),
                    })
                    .collect(),
                Some(other) => Err(bad(format!(
                    "{key}: want a path or a list of paths, got {other}"
                ))),
            }
        };
        if raw.port == Some(0) {
            return Err(bad("port: want 1 to 65535, got 0".into()));
        }
        if raw.user.as_deref() == Some("") {
            return Err(bad("user: must not be empty".into()));
        }
        let timeout = raw
            .timeout
            .map(|s| {
                Duration::try_from_secs_f64(s)
                    .ok()
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| {
                        bad(format!(
                            "timeout: want a positive number of seconds, got {s}"
                        ))
                    })
            })
            .transpose()?;
        let strict = raw
            .strict_host_key_checking
            .map(|s| {
                s.parse::<StrictHostKeyChecking>()
                    .map_err(|e| bad(format!("strict_host_key_checking: {e}")))
            })
            .transpose()?;
        Ok(TargetOptions {
            user: raw.user,
            port: raw.port,
            identity: paths("identity", raw.identity)?,
            known_hosts: paths("known_hosts", raw.known_hosts)?,
            strict_host_key_checking: strict,
            timeout,
        })
    }
}

/// The targets of a run, in the order they were listed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Every target, each listed once.
    pub targets: Vec<Target>,
}

/// The formats an inventory comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Lines,
    Json,
    Toml,
}

/// The format `name`'s extension names, else the one `text` looks like. A destination never
/// holds `=` and a TOML table header never holds `:`, so a plain list (even one whose first
/// line is `[::1]:22`) is never mistaken for TOML, nor, having no quotes, for JSON.
fn format_of(text: &str, name: &str) -> Format {
    if name.ends_with(".toml") {
        return Format::Toml;
    }
    if name.ends_with(".json") {
        return Format::Json;
    }
    let trimmed = text.trim_start();
    let first_line = trimmed.lines().next().unwrap_or_default();
    let bracketed_ipv6 = first_line
        .strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .is_some_and(|(inside, _)| inside.contains(':') && !inside.contains('"'));
    if trimmed.starts_with('{') || (trimmed.starts_with('[') && !bracketed_ipv6) && !tomlish(text) {
        return Format::Json;
    }
    if tomlish(text) {
        Format::Toml
    } else {
        Format::Lines
    }
}

/// Whether `text` has a TOML key (`=`) or table header (`[name]`) line.
fn tomlish(text: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim();
        !line.starts_with('#')
            && (line.contains('=')
                || (line.starts_with('[')
                    && line.ends_with(']')
                    && !line.contains(':')
                    && !line.contains('"')))
    })
}

impl Inventory {
    /// Parses an inventory in any of the module's formats; `name` (a file name, or `-`) names
    /// it in errors and, by its extension, may fix the format. A destination listed twice is an
    /// error: it would run the work twice on one machine.
    pub fn parse(text: &str, name: &str) -> Result<Inventory> {
        let bad = |msg: String| Error::new(ErrorCode::InvalidArgument, "inventory", name, msg);
        let targets = match format_of(text, name) {
            Format::Lines => text
                .lines()
                .map(|line| line.split('#').next().unwrap_or_default().trim())
                .filter(|line| !line.is_empty())
                .map(Target::new)
                .collect(),
            Format::Json => {
                let value: Value =
                    serde_json::from_str(text).map_err(|e| bad(format!("not valid JSON: {e}")))?;
                match value {
                    Value::Object(_) => {
                        let groups: Ordered = serde_json::from_str(text)
                            .map_err(|e| bad(format!("not valid JSON: {e}")))?;
                        from_groups(groups.0, &bad)?
                    }
                    list => target_list(list, None, &TargetOptions::default(), &bad)?,
                }
            }
            Format::Toml => {
                let groups: Ordered =
                    toml::from_str(text).map_err(|e| bad(format!("not valid TOML: {e}")))?;
                from_groups(groups.0, &bad)?
            }
        };
        let mut seen = BTreeSet::new();
        for t in &targets {
            if t.dest.trim().is_empty() {
                return Err(bad("an empty destination".into()));
            }
            if !seen.insert(t.dest.as_str()) {
                return Err(bad(format!("{} is listed twice", t.dest)));
            }
        }
        if targets.is_empty() {
            return Err(bad("no destination in it".into()));
        }
        Ok(Inventory { targets })
    }

    /// The targets of `group`.
    pub fn group<'a>(&'a self, group: &'a str) -> impl Iterator<Item = &'a Target> + 'a {
        self.targets
            .iter()
            .filter(move |t| t.group.as_deref() == Some(group))
    }
}

/// An object's entries in the order the file has them (serde_json's and toml's maps sort their
/// keys), so groups run in the order they are written.
struct Ordered(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Ordered, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of groups")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Ordered, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    entries.push(entry);
                }
                Ok(Ordered(entries))
            }
        }
        d.deserialize_map(Entries)
    }
}

/// The targets of an object inventory, group by group in the file's order.
fn from_groups(
    entries: Vec<(String, Value)>,
    bad: &dyn Fn(String) -> Error,
) -> Result<Vec<Target>> {
    let mut defaults = TargetOptions::default();
    for (key, value) in &entries {
        if key == "defaults" {
            defaults = match value {
                Value::Object(map) => {
                    RawOptions::parse(map.clone(), &|m| bad(format!("defaults: {m}")))?
                }
                other => return Err(bad(format!("defaults must be a table, got {other}"))),
            };
        }
    }
    let mut all = Vec::new();
    for (group, members) in entries {
        if group == "defaults" {
            continue;
        }
        if group == "targets" {
            all.extend(target_list(members, None, &defaults, bad)?);
            continue;
        }
        let in_group = |m: String| bad(format!("group {group:?}: {m}"));
        let (members, options) = match members {
            Value::Object(mut table) => {
                let members = table
                    .remove("targets")
                    .ok_or_else(|| in_group("a group table needs a `targets` list".into()))?;
                (
                    members,
                    RawOptions::parse(table, &in_group)?.over(&defaults),
                )
            }
            other => (other, defaults.clone()),
        };
        all.extend(target_list(members, Some(&group), &options, bad)?);
    }
    Ok(all)
}

/// The targets of one list, with `options` under each target's own.
fn target_list(
    value: Value,
    group: Option<&str>,
    options: &TargetOptions,
    bad: &dyn Fn(String) -> Error,
) -> Result<Vec<Target>> {
    let place = group.map_or("the inventory".to_string(), |g| format!("group {g:?}"));
    let Value::Array(items) = value else {
        return Err(bad(format!("{place} must be a list of destinations")));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let (dest, own) = match item {
                Value::String(dest) => (dest, TargetOptions::default()),
                Value::Object(mut table) => {
                    let at = |m: String| bad(format!("{place}, target {}: {m}", i + 1));
                    let dest = match table.remove("dest") {
                        Some(Value::String(dest)) => dest,
                        _ => return Err(at("a target table needs a `dest` string".into())),
                    };
                    (
                        dest.clone(),
                        RawOptions::parse(table, &|m| at(format!("{dest}: {m}")))?,
                    )
                }
                other => {
                    return Err(bad(format!(
                        "{place}: a destination must be a string or a table, got {other}"
                    )));
                }
            };
            Ok(Target {
                dest,
                group: group.map(String::from),
                options: own.over(options),
            })
        })
        .collect()
}
