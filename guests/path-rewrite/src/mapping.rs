//! The configuration and the mapping between virtual and real paths, pure functions.

use remote_guest_kit::path::{absolute, below};
use serde::Deserialize;

/// One virtual root and where it really is.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The prefix callers see, e.g. `/workspace`.
    #[serde(rename = "virtual")]
    pub virt: String,
    /// The prefix on the target, e.g. `/home/user/project`.
    pub real: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    mappings: Vec<Mapping>,
    workdir: Option<String>,
    #[serde(default = "yes")]
    check_symlinks: bool,
    #[serde(default = "yes")]
    rewrite_commands: bool,
}

fn yes() -> bool {
    true
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Mappings {
    /// Longest virtual prefix first, so nested mappings win.
    by_virtual: Vec<Mapping>,
    /// Longest real prefix first.
    by_real: Vec<Mapping>,
    /// The virtual working directory.
    pub workdir: String,
    /// Whether symlinks below are resolved to catch escapes.
    pub check_symlinks: bool,
    rewrite_commands: bool,
}

impl Mappings {
    /// Parses and checks the JSON configuration.
    pub fn parse(json: &str) -> Result<Mappings, String> {
        let c: Config = serde_json::from_str(json)
            .map_err(|e| format!("path-rewrite: invalid configuration: {e}"))?;
        if c.mappings.is_empty() {
            return Err("path-rewrite: `mappings` must hold at least one mapping".into());
        }
        let mut maps = Vec::new();
        for m in c.mappings {
            for (what, p) in [("virtual", &m.virt), ("real", &m.real)] {
                if !p.starts_with('/') {
                    return Err(format!(
                        "path-rewrite: mapping {what} path {p:?} must be absolute"
                    ));
                }
            }
            let m = Mapping {
                virt: absolute("/", &m.virt),
                real: absolute("/", &m.real),
            };
            if maps.iter().any(|o: &Mapping| o.virt == m.virt) {
                return Err(format!(
                    "path-rewrite: virtual root {:?} is mapped twice",
                    m.virt
                ));
            }
            maps.push(m);
        }
        let workdir = absolute("/", c.workdir.as_deref().unwrap_or(&maps[0].virt));
        if !maps.iter().any(|m| below(&workdir, &m.virt).is_some()) {
            return Err(format!(
                "path-rewrite: workdir {workdir:?} is not inside a virtual root"
            ));
        }
        let mut by_virtual = maps.clone();
        by_virtual.sort_by_key(|m| std::cmp::Reverse(m.virt.len()));
        let mut by_real = maps;
        by_real.sort_by_key(|m| std::cmp::Reverse(m.real.len()));
        Ok(Mappings {
            by_virtual,
            by_real,
            workdir,
            check_symlinks: c.check_symlinks,
            rewrite_commands: c.rewrite_commands,
        })
    }

    /// The real path of a virtual one (absolute or relative to the workdir), or `None` outside
    /// every mapping.
    pub fn to_real(&self, path: &str) -> Option<String> {
        let abs = absolute(&self.workdir, path);
        self.by_virtual
            .iter()
            .find_map(|m| below(&abs, &m.virt).map(|rest| join(&m.real, rest)))
    }

    /// The real root and the rest below it for a virtual path (absolute or relative to the
    /// workdir), or `None` outside every mapping.
    pub fn split_real(&self, path: &str) -> Option<(&str, String)> {
        let abs = absolute(&self.workdir, path);
        self.by_virtual
            .iter()
            .find_map(|m| below(&abs, &m.virt).map(|rest| (m.real.as_str(), rest.to_string())))
    }

    /// The virtual path of a real one, or `None` outside every mapping.
    pub fn to_virtual(&self, real: &str) -> Option<String> {
        let abs = absolute("/", real);
        self.by_real
            .iter()
            .find_map(|m| below(&abs, &m.real).map(|rest| join(&m.virt, rest)))
    }

    /// Whether a resolved real path is inside one of the real roots.
    pub fn inside_real(&self, real: &str) -> bool {
        self.by_real.iter().any(|m| below(real, &m.real).is_some())
    }

    /// `~` and `~/…` as the workdir.
    pub fn expand_home(&self, path: &str) -> String {
        match path.strip_prefix('~') {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                format!("{}{rest}", self.workdir)
            }
            _ => path.to_string(),
        }
    }

    /// The command line with every word that starts with a virtual root mapped to the real one,
    /// run from the real working directory.
    pub fn command(&self, cmd: &str) -> String {
        if !self.rewrite_commands {
            return cmd.to_string();
        }
        let mut out = String::with_capacity(cmd.len() + 64);
        let real_wd = self.to_real(&self.workdir).unwrap_or_else(|| "/".into());
        out.push_str(&format!(
            "cd -- '{}' || exit 1\n",
            real_wd.replace('\'', "'\\''")
        ));
        let mut rest = cmd;
        let mut prev: Option<char> = None;
        'scan: while !rest.is_empty() {
            if prev.is_none_or(starts_word) {
                for m in &self.by_virtual {
                    if let Some(after) = rest.strip_prefix(m.virt.as_str())
                        && after
                            .chars()
                            .next()
                            .is_none_or(|c| c == '/' || ends_word(c))
                    {
                        out.push_str(&m.real);
                        rest = after;
                        prev = m.virt.chars().last();
                        continue 'scan;
                    }
                }
            }
            let c = rest.chars().next().unwrap_or_default();
            out.push(c);
            rest = &rest[c.len_utf8()..];
            prev = Some(c);
        }
        out
    }
}

/// A path inside a mapped root: the root joined with the rest (`""` or `/…`).
fn join(root: &str, rest: &str) -> String {
    if root == "/" && !rest.is_empty() {
        rest.to_string()
    } else {
        format!("{root}{rest}")
    }
}

/// Characters after which a shell word (and so a path) can start.
fn starts_word(c: char) -> bool {
    c.is_whitespace() || "'\"=:;|&<>()`".contains(c)
}

/// Characters that end a path in a command line.
fn ends_word(c: char) -> bool {
    c.is_whitespace() || "'\";|&<>()`".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn maps() -> Mappings {
        Mappings::parse(
            r#"{"mappings":[{"virtual":"/workspace","real":"/home/u/proj"},
                            {"virtual":"/workspace/cache","real":"/var/cache/x"}]}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn maps_both_ways_and_refuses_outside() {
        let m = maps();
        let cases = [
            ("/workspace", Some("/home/u/proj")),
            ("/workspace/a/b", Some("/home/u/proj/a/b")),
            ("a/b", Some("/home/u/proj/a/b")),
            ("/workspace/cache/z", Some("/var/cache/x/z")),
            ("/workspace/../etc/passwd", None),
            ("../../etc", None),
            ("/workspacex", None),
            ("/etc/passwd", None),
        ];
        for (virt, real) in cases {
            assert_eq!(m.to_real(virt).as_deref(), real, "{virt}");
        }
        assert_eq!(
            m.to_virtual("/home/u/proj/a").as_deref(),
            Some("/workspace/a")
        );
        assert_eq!(
            m.to_virtual("/var/cache/x").as_deref(),
            Some("/workspace/cache")
        );
        assert_eq!(m.to_virtual("/home/u/projx"), None);
        assert!(m.inside_real("/var/cache/x/y"));
        assert!(!m.inside_real("/var/cache"));
        assert_eq!(m.expand_home("~/bin/agent"), "/workspace/bin/agent");
        assert_eq!(m.expand_home("~x"), "~x");
    }

    #[test]
    fn command_words_are_mapped() {
        let m = maps();
        assert_eq!(
            m.command("test -x '/workspace/bin/a' && cat /workspace/cache/f>/workspace/out"),
            "cd -- '/home/u/proj' || exit 1\n\
             test -x '/home/u/proj/bin/a' && cat /var/cache/x/f>/home/u/proj/out"
        );
        assert_eq!(
            m.command("echo x/workspace /workspacey"),
            "cd -- '/home/u/proj' || exit 1\necho x/workspace /workspacey"
        );
    }

    #[test]
    fn bad_configurations_are_explained() {
        for (json, want) in [
            ("{", "invalid configuration"),
            (r#"{"mappings":[]}"#, "at least one"),
            (
                r#"{"mappings":[{"virtual":"w","real":"/r"}]}"#,
                "must be absolute",
            ),
            (
                r#"{"mappings":[{"virtual":"/w","real":"/r"}],"workdir":"/x"}"#,
                "not inside",
            ),
            (
                r#"{"mappings":[{"virtual":"/w","real":"/r"}],"nope":1}"#,
                "unknown field",
            ),
        ] {
            let e = Mappings::parse(json).err().unwrap_or_default();
            assert!(e.contains(want), "{json}: {e}");
        }
    }
}

#[cfg(test)]
mod fuzz;
