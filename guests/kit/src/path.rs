//! POSIX path helpers: lexical normalisation, prefix tests, and symlink resolution through
//! `readlink` of the layer below (a guest has no file system of its own to ask).

use crate::bindings::remote::machine::types::{Error, ErrorCode};
use crate::error;

/// How many symlinks one resolution follows before it reports `loop`, as Linux's `MAXSYMLINKS`.
const MAX_LINKS: usize = 40;

/// `path` made absolute against `base` (itself absolute) and normalised: repeated slashes and
/// `.` dropped, `..` removing the component before it (and staying at `/` at the root).
pub fn absolute(base: &str, path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{base}/{path}")
    };
    for c in joined.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The part of `path` below `prefix` (`""` for `prefix` itself, else starting with `/`), when
/// `path` is `prefix` or inside it, component-wise: `/a/bc` is not inside `/a/b`.
pub fn below<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let prefix = prefix.trim_end_matches('/');
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// What `readlink` below said about one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// A symlink with this stored target.
    Symlink(String),
    /// An existing object that is not a symlink.
    NotLink,
    /// Nothing there (so nothing below it either).
    Missing,
}

impl Link {
    /// Classifies the answer of the imported `readlink`.
    pub fn from_readlink(r: Result<String, Error>) -> Link {
        match r {
            Ok(target) => Link::Symlink(target),
            Err(e) if matches!(e.code, ErrorCode::NotFound | ErrorCode::NotDirectory) => {
                Link::Missing
            }
            Err(_) => Link::NotLink,
        }
    }
}

/// Resolves every symlink in the absolute, normalised `path` by asking `readlink`, the way the
/// kernel walks a path: a relative target continues from the link's directory, an absolute one
/// from `/`, and `..` applies to the resolved prefix. The final component is followed only when
/// `follow_last`. Components after a missing one are taken as written.
///
/// Errors: `loop` after more than 40 links.
pub fn resolve(
    path: &str,
    follow_last: bool,
    readlink: impl FnMut(&str) -> Link,
) -> Result<String, Error> {
    resolve_below("/", path, follow_last, readlink)
}

/// [`resolve`] of `root` joined with `rest`, taking `root` as already resolved (a configured
/// prefix the caller trusts), so only the components of `rest` cost a `readlink`.
pub fn resolve_below(
    root: &str,
    rest: &str,
    follow_last: bool,
    mut readlink: impl FnMut(&str) -> Link,
) -> Result<String, Error> {
    let path = format!("{root}/{rest}");
    let path = path.as_str();
    let mut resolved: Vec<String> = components(root).map(String::from).collect();
    let mut pending: Vec<String> = components(rest).rev().map(String::from).collect();
    let mut links = 0;
    let mut missing = false;
    while let Some(c) = pending.pop() {
        match c.as_str() {
            "." => continue,
            ".." => {
                resolved.pop();
                continue;
            }
            _ => {}
        }
        resolved.push(c);
        if missing || (pending.is_empty() && !follow_last) {
            continue;
        }
        match readlink(&format!("/{}", resolved.join("/"))) {
            Link::Symlink(target) => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(error(
                        ErrorCode::Loop,
                        "resolve",
                        path,
                        "too many levels of symbolic links",
                    ));
                }
                resolved.pop();
                if target.starts_with('/') {
                    resolved.clear();
                }
                pending.extend(components(&target).rev().map(String::from));
            }
            Link::NotLink => {}
            Link::Missing => missing = true,
        }
    }
    Ok(format!("/{}", resolved.join("/")))
}

fn components(path: &str) -> impl DoubleEndedIterator<Item = &str> {
    path.split('/').filter(|c| !c.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_normalises() {
        for (base, path, want) in [
            ("/home/u", "a/b", "/home/u/a/b"),
            ("/home/u", "/x//y/./z/", "/x/y/z"),
            ("/home/u", "../../../..", "/"),
            ("/", "a/../../b", "/b"),
            ("/w", ".", "/w"),
            ("/w", "a/./b/../c", "/w/a/c"),
        ] {
            assert_eq!(absolute(base, path), want, "{base} + {path}");
        }
    }

    #[test]
    fn below_is_component_wise() {
        assert_eq!(below("/a/b", "/a/b"), Some(""));
        assert_eq!(below("/a/b/c", "/a/b"), Some("/c"));
        assert_eq!(below("/a/b/c", "/a/b/"), Some("/c"));
        assert_eq!(below("/a/bc", "/a/b"), None);
        assert_eq!(below("/a", "/a/b"), None);
        assert_eq!(below("/anything", "/"), Some("/anything"));
    }

    /// A tiny file system of symlinks: every other path exists and is not a link.
    fn links(table: &'static [(&'static str, &'static str)]) -> impl FnMut(&str) -> Link {
        move |p| match table.iter().find(|(l, _)| *l == p) {
            Some((_, "")) => Link::Missing,
            Some((_, t)) => Link::Symlink(t.to_string()),
            None => Link::NotLink,
        }
    }

    #[test]
    fn resolve_follows_like_the_kernel() {
        let fs = &[
            ("/w/rel", "sub/deep"),
            ("/w/abs", "/etc"),
            ("/w/up", "../outside"),
            ("/w/gone", ""),
            ("/w/loop", "/w/loop"),
            ("/w/chain", "rel/.."),
        ];
        let r = |p: &str, follow| resolve(p, follow, links(fs));
        assert_eq!(r("/w/rel/x", true).ok().as_deref(), Some("/w/sub/deep/x"));
        assert_eq!(
            r("/w/abs/passwd", true).ok().as_deref(),
            Some("/etc/passwd")
        );
        assert_eq!(r("/w/up", true).ok().as_deref(), Some("/outside"));
        assert_eq!(r("/w/up", false).ok().as_deref(), Some("/w/up"));
        assert_eq!(r("/w/abs", false).ok().as_deref(), Some("/w/abs"));
        assert_eq!(r("/w/rel/..", true).ok().as_deref(), Some("/w/sub"));
        assert_eq!(r("/w/chain/z", true).ok().as_deref(), Some("/w/sub/z"));
        assert_eq!(r("/w/gone/abs", true).ok().as_deref(), Some("/w/gone/abs"));
        assert_eq!(r("/w/loop", true).map_err(|e| e.code), Err(ErrorCode::Loop));
        let mut asked = Vec::new();
        let below = resolve_below("/w", "rel/x", true, |p| {
            asked.push(p.to_string());
            links(fs)(p)
        });
        assert_eq!(below.ok().as_deref(), Some("/w/sub/deep/x"));
        assert!(
            !asked.contains(&"/w".to_string()),
            "the trusted root is not asked: {asked:?}"
        );
    }
}
