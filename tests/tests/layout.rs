//! The layout rules the README states, checked on the sources so they stay true:
//!
//! - **No import cycle between sibling modules** of any crate. Every `use` and every
//!   `crate::`/`super::`/`self::` path in a module's file is resolved (through `pub use`
//!   re-exports) to the module that defines it; a reference from module `a::x` to `a::y::z` is an
//!   edge `x → y` among the children of `a`. References between a module and its ancestors or
//!   descendants are the module tree itself and are not edges. Each parent's edges must form no
//!   cycle, so every module's children can be read in an order where each uses only those before.
//! - **No source file over 600 lines**, except the conformance suite's case files, which are one
//!   scenario after another.
//!
//! The scan is lexical (comments and string literals are blanked first), which is enough for
//! paths spelled out in `use` and in code; a name brought in by a glob import is not followed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type ModPath = Vec<String>;

/// The longest a source file may be.
const MAX_LINES: usize = 600;

/// Files allowed past [`MAX_LINES`]: the conformance scenarios, one case after another.
const LONG_ALLOWED: &[&str] = &[
    "host/src/conformance/file_client.rs",
    "host/src/conformance/session.rs",
    "host/src/conformance/backend.rs",
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or_else(|| panic!("tests/ has a parent"))
        .to_path_buf()
}

/// One crate: its source directory, its root file's name, and directories that belong to other
/// crates (a binary under the library's `src/`).
struct Crate {
    name: String,
    dir: PathBuf,
    root: &'static str,
    exclude: Vec<PathBuf>,
}

fn crates(repo: &Path) -> Vec<Crate> {
    let mut all = vec![
        Crate {
            name: "remote-host".into(),
            dir: repo.join("host/src"),
            root: "lib.rs",
            exclude: vec![repo.join("host/src/bin")],
        },
        Crate {
            name: "remote (CLI)".into(),
            dir: repo.join("host/src/bin/remote"),
            root: "main.rs",
            exclude: vec![],
        },
        Crate {
            name: "remote-agent".into(),
            dir: repo.join("host/agent/src"),
            root: "main.rs",
            exclude: vec![],
        },
        Crate {
            name: "remote-tests".into(),
            dir: repo.join("tests/src"),
            root: "lib.rs",
            exclude: vec![],
        },
    ];
    for (parent, root) in [("guests", "lib.rs"), ("tests/tests", "main.rs")] {
        let entries = std::fs::read_dir(repo.join(parent))
            .unwrap_or_else(|e| panic!("{parent}: {e}"))
            .map(|e| e.unwrap_or_else(|e| panic!("{parent}: {e}")).path());
        for dir in entries {
            let src = if parent == "guests" {
                dir.join("src")
            } else {
                dir.clone()
            };
            if src.join(root).is_file() {
                all.push(Crate {
                    name: format!("{parent}/{}", dir.file_name().unwrap_or_default().display()),
                    dir: src,
                    root,
                    exclude: vec![],
                });
            }
        }
    }
    all
}

fn rust_files(dir: &Path, exclude: &[PathBuf], out: &mut Vec<PathBuf>) {
    if exclude.iter().any(|e| e == dir) {
        return;
    }
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .path();
        if path.is_dir() {
            rust_files(&path, exclude, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The module a file defines: `a/b.rs` and `a/b/mod.rs` are `a::b`; the root file is the crate.
fn module_of(rel: &Path, root: &str) -> ModPath {
    if rel == Path::new(root) {
        return Vec::new();
    }
    let mut parts: ModPath = rel
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|l| l == "mod") {
        parts.pop();
    }
    parts
}

/// The code with comments removed and string and character literals emptied, so neither a
/// doc link nor a message that mentions a path counts as a reference.
fn blank(code: &str) -> String {
    let b = code.as_bytes();
    let mut out = String::with_capacity(code.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            i = code[i..].find('\n').map_or(b.len(), |n| i + n);
        } else if b[i..].starts_with(b"/*") {
            i = code[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
        } else if b[i] == b'r'
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
            && b.get(i + 1).is_some_and(|&c| c == b'#' || c == b'"')
        {
            let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
            if b.get(i + 1 + hashes) != Some(&b'"') {
                out.push('r');
                i += 1;
                continue;
            }
            let close = format!("\"{}", "#".repeat(hashes));
            let start = i + 2 + hashes;
            i = code[start..]
                .find(&close)
                .map_or(b.len(), |n| start + n + close.len());
            out.push_str("\"\"");
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && char_literal_len(&b[i..]).is_some() {
            i += char_literal_len(&b[i..]).unwrap_or(1);
            out.push_str("' '");
        } else {
            let c = code[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The length of a character literal at the start of `b` (`'x'`, `'\n'`, `'\u{..}'`), or `None`
/// for a lifetime.
fn char_literal_len(b: &[u8]) -> Option<usize> {
    if b.get(1) == Some(&b'\\') {
        let end = b[2..].iter().position(|&c| c == b'\'')?;
        return Some(end + 3);
    }
    let s = std::str::from_utf8(&b[1..b.len().min(6)])
        .ok()
        .or_else(|| {
            (2..b.len().min(6))
                .rev()
                .find_map(|n| std::str::from_utf8(&b[1..n]).ok())
        })?;
    let c = s.chars().next()?;
    (b.get(1 + c.len_utf8()) == Some(&b'\'')).then_some(2 + c.len_utf8())
}

/// Expands a `use` tree (`a::{b, c::{d, e as f}}`) into its paths.
fn use_paths(prefix: &[String], tree: &str, out: &mut Vec<ModPath>) {
    let mut depth = 0;
    let mut item = String::new();
    let mut items = Vec::new();
    for c in tree.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(std::mem::take(&mut item));
                continue;
            }
            _ => {}
        }
        item.push(c);
    }
    items.push(item);
    for item in items {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        if let Some(open) = item.find('{') {
            let head = &item[..open];
            let inner = item[open + 1..].trim_end().trim_end_matches('}');
            let mut p = prefix.to_vec();
            p.extend(segments(head));
            use_paths(&p, inner, out);
        } else {
            let item = item.split(" as ").next().unwrap_or(item);
            let mut p = prefix.to_vec();
            p.extend(segments(item));
            out.push(p);
        }
    }
}

fn segments(path: &str) -> impl Iterator<Item = String> + '_ {
    path.split("::")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// The `use` statements of `code`, each as `(is_pub, body)`.
fn uses(code: &str) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = find_word(rest, "use") {
        let before = rest[..at].trim_end();
        let public = before.ends_with("pub") || before.ends_with(')') && before.contains("pub(");
        let after = &rest[at + 3..];
        let Some(end) = after.find(';') else { break };
        out.push((public, after[..end].trim().to_string()));
        rest = &after[end..];
    }
    out
}

fn find_word(s: &str, word: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut from = 0;
    while let Some(n) = s[from..].find(word) {
        let at = from + n;
        let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
        let left = at == 0 || !ident(b[at - 1]);
        let right = b.get(at + word.len()).is_none_or(|&c| !ident(c));
        if left && right {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// The `crate::…`, `super::…` and `self::…` paths written in code (outside `use`).
fn inline_paths(code: &str) -> Vec<ModPath> {
    let mut out = Vec::new();
    for start in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(n) = code[from..].find(start) {
            let at = from + n;
            from = at + start.len();
            let prev = code[..at].chars().next_back();
            if prev.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let len = code[at..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(code.len() - at);
            out.push(segments(&code[at..at + len]).collect());
        }
    }
    out
}

/// `path` as written in module `m`, made absolute (`None` for another crate's path).
fn absolute(m: &[String], path: &[String]) -> Option<ModPath> {
    let first = path.first()?;
    let (mut base, rest): (ModPath, &[String]) = match first.as_str() {
        "crate" => (Vec::new(), &path[1..]),
        "self" => (m.to_vec(), &path[1..]),
        "super" => {
            let supers = path.iter().take_while(|s| *s == "super").count();
            (m[..m.len().checked_sub(supers)?].to_vec(), &path[supers..])
        }
        _ => return None,
    };
    base.extend(rest.iter().cloned());
    Some(base)
}

struct Graph {
    modules: BTreeSet<ModPath>,
    /// (module, name) → what `pub use` in that module makes the name stand for.
    reexports: BTreeMap<(ModPath, String), ModPath>,
}

impl Graph {
    /// The module that defines what `full` names, following re-exports.
    fn resolve(&self, full: &[String], depth: usize) -> Option<ModPath> {
        for k in (0..=full.len()).rev() {
            let prefix = full[..k].to_vec();
            if !self.modules.contains(&prefix) {
                continue;
            }
            if let Some(name) = full.get(k)
                && let Some(to) = self.reexports.get(&(prefix.clone(), name.clone()))
                && depth < 8
            {
                let mut next = to.clone();
                next.extend(full[k + 1..].iter().cloned());
                return self.resolve(&next, depth + 1);
            }
            return Some(prefix);
        }
        None
    }
}

/// The cycles among sibling modules of `krate`, each described with the references that make it.
fn cycles(krate: &Crate) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&krate.dir, &krate.exclude, &mut files);
    let sources: Vec<(ModPath, String)> = files
        .iter()
        .map(|f| {
            let rel = f.strip_prefix(&krate.dir).unwrap_or(f);
            let text =
                std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            (module_of(rel, krate.root), blank(&text))
        })
        .collect();
    let mut graph = Graph {
        modules: sources.iter().map(|(m, _)| m.clone()).collect(),
        reexports: BTreeMap::new(),
    };
    for (m, code) in &sources {
        for (public, body) in uses(code) {
            if !public {
                continue;
            }
            let mut paths = Vec::new();
            use_paths(&[], &body, &mut paths);
            for p in paths {
                let Some(name) = p.last().filter(|n| *n != "*") else {
                    continue;
                };
                let full = absolute(m, &p).unwrap_or_else(|| {
                    let mut local = m.clone();
                    local.extend(p.iter().cloned());
                    local
                });
                graph.reexports.insert((m.clone(), name.clone()), full);
            }
        }
    }
    // parent → (child → child it refers to → one reference that makes the edge)
    let mut edges: BTreeMap<ModPath, BTreeMap<String, BTreeMap<String, String>>> = BTreeMap::new();
    for (m, code) in &sources {
        let mut paths = inline_paths(code);
        for (_, body) in uses(code) {
            use_paths(&[], &body, &mut paths);
        }
        for p in paths {
            let Some(full) = absolute(m, &p) else {
                continue;
            };
            let Some(t) = graph.resolve(&full, 0) else {
                continue;
            };
            if t.starts_with(m) || m.starts_with(&t) {
                continue;
            }
            let common = m.iter().zip(&t).take_while(|(a, b)| a == b).count();
            edges
                .entry(m[..common].to_vec())
                .or_default()
                .entry(m[common].clone())
                .or_default()
                .entry(t[common].clone())
                .or_insert_with(|| format!("{} uses {}", m.join("::"), p.join("::")));
        }
    }
    let mut found = Vec::new();
    for (parent, g) in &edges {
        let mut state: BTreeMap<&str, u8> = BTreeMap::new();
        let mut stack: Vec<&str> = Vec::new();
        for start in g.keys() {
            visit(start, g, &mut state, &mut stack, &mut |cycle| {
                let why: Vec<String> = cycle.windows(2).map(|w| g[w[0]][w[1]].clone()).collect();
                found.push(format!(
                    "{}: under `{}`: {} ({})",
                    krate.name,
                    if parent.is_empty() {
                        "crate".to_string()
                    } else {
                        parent.join("::")
                    },
                    cycle.join(" → "),
                    why.join("; ")
                ));
            });
        }
    }
    found
}

fn visit<'a>(
    u: &'a str,
    g: &'a BTreeMap<String, BTreeMap<String, String>>,
    state: &mut BTreeMap<&'a str, u8>,
    stack: &mut Vec<&'a str>,
    report: &mut impl FnMut(Vec<&str>),
) {
    if state.contains_key(u) {
        return;
    }
    state.insert(u, 1);
    stack.push(u);
    for v in g.get(u).into_iter().flat_map(|e| e.keys()) {
        match state.get(v.as_str()) {
            Some(1) => {
                let at = stack.iter().position(|s| s == v).unwrap_or(0);
                let mut cycle = stack[at..].to_vec();
                cycle.push(v);
                report(cycle);
            }
            Some(_) => {}
            None => visit(v, g, state, stack, report),
        }
    }
    stack.pop();
    state.insert(u, 2);
}

#[test]
fn no_import_cycle_between_sibling_modules() {
    let repo = repo();
    let all = crates(&repo);
    assert!(all.len() >= 8, "found only {} crates to check", all.len());
    let found: Vec<String> = all.iter().flat_map(cycles).collect();
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

/// The checker itself finds a cycle, named by the references that make it.
#[test]
fn a_cycle_is_found_and_explained() {
    let dir = std::env::temp_dir().join(format!("remote-layout-{}", std::process::id()));
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("b")).unwrap_or_else(|e| panic!("{e}"));
    let write = |f: &str, text: &str| {
        std::fs::write(src.join(f), text).unwrap_or_else(|e| panic!("{f}: {e}"));
    };
    write("lib.rs", "mod a;\nmod b;\npub use b::Thing;\n");
    write(
        "a.rs",
        "// crate::b::x in a comment is no edge\npub fn f() -> crate::Thing { todo!() }\n",
    );
    write("b/mod.rs", "mod inner;\npub use inner::Thing;\n");
    write(
        "b/inner.rs",
        "use crate::{a::f, b::Thing as _};\npub struct Thing;\n",
    );
    let krate = Crate {
        name: "probe".into(),
        dir: src,
        root: "lib.rs",
        exclude: vec![],
    };
    let found = cycles(&krate);
    std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("a → b → a"), "{found:?}");
    assert!(found[0].contains("a uses crate::Thing"), "{found:?}");
    assert!(found[0].contains("b::inner uses crate::a::f"), "{found:?}");
}

/// Every `.rs` file under `dir`, skipping build output and hidden directories.
fn sources_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                sources_under(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_source_file_is_over_six_hundred_lines() {
    let repo = repo();
    let mut files = Vec::new();
    for dir in ["host", "guests", "tests"] {
        sources_under(&repo.join(dir), &mut files);
    }
    assert!(files.len() > 50, "found only {} source files", files.len());
    let mut long = Vec::new();
    for f in files {
        let rel = f.strip_prefix(&repo).unwrap_or(&f).display().to_string();
        let lines = std::fs::read_to_string(&f)
            .unwrap_or_else(|e| panic!("{rel}: {e}"))
            .lines()
            .count();
        if lines > MAX_LINES && !LONG_ALLOWED.contains(&rel.as_str()) {
            long.push(format!("{rel}: {lines} lines"));
        }
    }
    long.sort();
    assert!(
        long.is_empty(),
        "over {MAX_LINES} lines:\n{}",
        long.join("\n")
    );
}
