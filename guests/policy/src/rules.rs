//! The policy's configuration and its decisions, as pure functions of the configuration and
//! the request: no I/O, so every rule is tested natively.

use remote_guest_kit::path::{absolute, below};
use serde::Deserialize;

use crate::shell::programs;

/// Environment variables passed on even when `env.strip` would drop them: the defaults of the
/// original tool (a session needs them to behave like a login).
pub const DEFAULT_KEEP: [&str; 16] = [
    "HOME",
    "PATH",
    "TERM",
    "LANG",
    "LC_*",
    "USER",
    "LOGNAME",
    "SHELL",
    "EDITOR",
    "VISUAL",
    "PAGER",
    "TZ",
    "DISPLAY",
    "SSH_AUTH_SOCK",
    "COLORTERM",
    "TMPDIR",
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Commands {
    allow: Option<Vec<String>>,
    #[serde(default)]
    deny: Vec<String>,
    #[serde(default)]
    deny_lines: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Env {
    #[serde(default)]
    deny: Vec<String>,
    #[serde(default)]
    strip: Vec<String>,
    keep: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Paths {
    #[serde(default)]
    read_only: Vec<String>,
    #[serde(default)]
    hidden: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    commands: Commands,
    #[serde(default)]
    env: Env,
    #[serde(default)]
    paths: Paths,
    #[serde(default = "yes")]
    upload_agent: bool,
    #[serde(default)]
    audit: bool,
}

fn yes() -> bool {
    true
}

/// A refusal: the rule that matched and why, for the `access-denied` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// The rule's place in the configuration, e.g. `commands.allow`.
    pub rule: &'static str,
    /// What matched, in words.
    pub why: String,
}

impl Denied {
    fn new(rule: &'static str, why: impl Into<String>) -> Denied {
        Denied {
            rule,
            why: why.into(),
        }
    }
}

/// What happens to an environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvDecision {
    /// Set it below.
    Pass,
    /// Drop it silently (`env.strip`, not in `env.keep`).
    Strip,
}

/// The validated policy.
#[derive(Debug)]
pub struct Policy {
    allow: Option<Vec<String>>,
    deny: Vec<String>,
    deny_lines: Vec<String>,
    env_deny: Vec<String>,
    env_strip: Vec<String>,
    env_keep: Vec<String>,
    /// Absolute, normalised prefixes nothing may change.
    pub read_only: Vec<String>,
    /// Absolute, normalised prefixes nothing may see.
    pub hidden: Vec<String>,
    upload_agent: bool,
    /// Whether every decision is logged.
    pub audit: bool,
}

impl Policy {
    /// Parses and checks the JSON configuration.
    pub fn parse(json: &str) -> Result<Policy, String> {
        let c: Config = serde_json::from_str(json)
            .map_err(|e| format!("policy: invalid configuration: {e}"))?;
        let prefixes = |what: &str, list: Vec<String>| -> Result<Vec<String>, String> {
            list.into_iter()
                .map(|p| {
                    if p.starts_with('/') {
                        Ok(absolute("/", &p))
                    } else {
                        Err(format!(
                            "policy: {what} entry {p:?} must be an absolute path"
                        ))
                    }
                })
                .collect()
        };
        for name in c.commands.allow.iter().flatten().chain(&c.commands.deny) {
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(format!(
                    "policy: command rule {name:?} must be one program name or path"
                ));
            }
        }
        Ok(Policy {
            allow: c.commands.allow,
            deny: c.commands.deny,
            deny_lines: c.commands.deny_lines,
            env_deny: c.env.deny,
            env_strip: c.env.strip,
            env_keep: c
                .env
                .keep
                .unwrap_or_else(|| DEFAULT_KEEP.iter().map(|s| s.to_string()).collect()),
            read_only: prefixes("paths.read_only", c.paths.read_only)?,
            hidden: prefixes("paths.hidden", c.paths.hidden)?,
            upload_agent: c.upload_agent,
            audit: c.audit,
        })
    }

    /// Whether any path rule exists (else paths need no resolving).
    pub fn has_path_rules(&self) -> bool {
        !self.read_only.is_empty() || !self.hidden.is_empty()
    }

    /// Decides a command line.
    pub fn command(&self, cmd: &str) -> Result<(), Denied> {
        let line = cmd.trim();
        if let Some(p) = self.deny_lines.iter().find(|p| glob(p, line)) {
            return Err(Denied::new(
                "commands.deny_lines",
                format!("the command line matches {p:?}"),
            ));
        }
        if self.allow.is_none() && self.deny.is_empty() {
            return Ok(());
        }
        for p in programs(cmd) {
            if p.dynamic {
                let rule = if self.allow.is_some() {
                    "commands.allow"
                } else {
                    "commands.deny"
                };
                return Err(Denied::new(
                    rule,
                    format!(
                        "program {:?} is only known when the shell runs, so it cannot be checked",
                        p.name
                    ),
                ));
            }
            let base = p.name.rsplit('/').next().unwrap_or(&p.name);
            if let Some(d) = self.deny.iter().find(|d| {
                if d.contains('/') {
                    **d == p.name
                } else {
                    *d == base
                }
            }) {
                return Err(Denied::new(
                    "commands.deny",
                    format!("program {:?} matches {d:?}", p.name),
                ));
            }
            if let Some(allow) = &self.allow
                && !allow.contains(&p.name)
            {
                return Err(Denied::new(
                    "commands.allow",
                    format!("program {:?} is not in the allow list", p.name),
                ));
            }
        }
        Ok(())
    }

    /// Decides an environment variable by its name.
    pub fn env(&self, name: &str) -> Result<EnvDecision, Denied> {
        if let Some(p) = self.env_deny.iter().find(|p| glob(p, name)) {
            return Err(Denied::new(
                "env.deny",
                format!("variable {name:?} matches {p:?}"),
            ));
        }
        let stripped = self.env_strip.iter().any(|p| glob(p, name))
            && !self.env_keep.iter().any(|p| glob(p, name));
        Ok(if stripped {
            EnvDecision::Strip
        } else {
            EnvDecision::Pass
        })
    }

    /// Decides an access to the absolute, normalised `paths` (the path as written and as resolved
    /// through symlinks): hidden prefixes refuse every access, read-only ones every change.
    pub fn path(&self, paths: &[&str], write: bool) -> Result<(), Denied> {
        for p in paths {
            if let Some(h) = self.hidden.iter().find(|h| below(p, h).is_some()) {
                return Err(Denied::new(
                    "paths.hidden",
                    format!("{p} is under hidden {h}"),
                ));
            }
        }
        if write {
            for p in paths {
                if let Some(r) = self.read_only.iter().find(|r| below(p, r).is_some()) {
                    return Err(Denied::new(
                        "paths.read_only",
                        format!("{p} is under read-only {r}"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether a read-dir entry at the absolute `path` is shown.
    pub fn visible(&self, path: &str) -> bool {
        !self.hidden.iter().any(|h| below(path, h).is_some())
    }

    /// Decides an agent upload.
    pub fn upload(&self) -> Result<(), Denied> {
        if self.upload_agent {
            Ok(())
        } else {
            Err(Denied::new(
                "upload_agent",
                "agent uploads are not allowed (upload_agent is false)",
            ))
        }
    }
}

/// Shell-style matching where `*` is any run of characters and `?` any one character.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(json: &str) -> Policy {
        Policy::parse(json).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn allow_list_sees_through_metacharacters() {
        let p = policy(r#"{"commands":{"allow":["true","echo"]}}"#);
        let rule = |cmd: &str| p.command(cmd).err().map(|d| d.rule);
        assert_eq!(rule("true"), None);
        assert_eq!(rule("echo 'a; rm -rf /'"), None);
        for bad in [
            "true; rm -rf /",
            "true && rm -rf /",
            "true || rm",
            "true | rm",
            "true & rm",
            "true\nrm",
            "true $(rm)",
            "true `rm`",
            "echo \"$(rm)\"",
            "/bin/true",
            "$X",
            "(rm)",
        ] {
            assert_eq!(rule(bad), Some("commands.allow"), "{bad:?}");
        }
    }

    #[test]
    fn deny_list_matches_base_names_and_lines() {
        let p = policy(r#"{"commands":{"deny":["rm"],"deny_lines":["*--force*"]}}"#);
        let rule = |cmd: &str| p.command(cmd).err().map(|d| d.rule);
        assert_eq!(rule("ls -l"), None);
        assert_eq!(rule("ls; /bin/rm x"), Some("commands.deny"));
        assert_eq!(rule("echo `rm x`"), Some("commands.deny"));
        assert_eq!(rule("git push --force"), Some("commands.deny_lines"));
        assert_eq!(rule("$(echo rm) x"), Some("commands.deny"));
    }

    #[test]
    fn env_deny_strip_keep() {
        let p = policy(r#"{"env":{"deny":["LD_*"],"strip":["*"]}}"#);
        assert_eq!(p.env("LD_PRELOAD").err().map(|d| d.rule), Some("env.deny"));
        assert_eq!(p.env("SECRET_TOKEN"), Ok(EnvDecision::Strip));
        for kept in ["HOME", "PATH", "LC_ALL", "LANG", "SSH_AUTH_SOCK", "TZ"] {
            assert_eq!(p.env(kept), Ok(EnvDecision::Pass), "{kept}");
        }
        assert_eq!(policy("{}").env("ANYTHING"), Ok(EnvDecision::Pass));
    }

    #[test]
    fn paths_hidden_and_read_only() {
        let p = policy(r#"{"paths":{"read_only":["/etc"],"hidden":["/root/.ssh/"]}}"#);
        assert!(p.path(&["/etc/passwd"], false).is_ok());
        assert_eq!(
            p.path(&["/etc/passwd"], true).err().map(|d| d.rule),
            Some("paths.read_only")
        );
        assert_eq!(
            p.path(&["/tmp/x", "/root/.ssh/id"], false)
                .err()
                .map(|d| d.rule),
            Some("paths.hidden")
        );
        assert!(p.path(&["/etcetera"], true).is_ok());
        assert!(!p.visible("/root/.ssh"));
        assert!(p.visible("/root/.sshx"));
    }

    #[test]
    fn globs() {
        for (p, t, want) in [
            ("*", "", true),
            ("LC_*", "LC_ALL", true),
            ("LC_*", "LANG", false),
            ("a?c", "abc", true),
            ("*--force*", "git push --force-with-lease", true),
            ("*x", "abc", false),
        ] {
            assert_eq!(glob(p, t), want, "{p} {t}");
        }
    }

    #[test]
    fn bad_configurations_are_explained() {
        for (json, want) in [
            ("\"text\"", "invalid configuration"),
            (r#"{"paths":{"hidden":["rel"]}}"#, "absolute"),
            (r#"{"commands":{"allow":["a b"]}}"#, "one program"),
            (r#"{"comands":{}}"#, "unknown field"),
        ] {
            let e = Policy::parse(json).err().unwrap_or_default();
            assert!(e.contains(want), "{json}: {e}");
        }
    }
}

#[cfg(test)]
mod fuzz;
