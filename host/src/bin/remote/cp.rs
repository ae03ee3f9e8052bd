//! `remote cp`: files and trees between this machine and targets (or from one target to
//! another, through this process), or from this machine to every target of an inventory. The
//! copying itself is `remote_host::copy`; this module parses operands, opens each side once and
//! shows progress.

use std::borrow::Cow;
use std::future::Future;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use remote_host::copy::{Copied, CopyOptions, Endpoint, Progress, copy};
use remote_host::fleet::{Inventory, Target};
use remote_host::local::LocalBackend;
use remote_host::{Backend, FileKind};
use serde_json::{Value, json};

use crate::cli::CpArgs;
use crate::fanout::{self, Opener, Report};

/// One operand of `remote cp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    /// A path on this machine.
    Local(PathBuf),
    /// `DEST:PATH`; `dest` is empty for `:PATH`, which means every target of `--targets`.
    Remote { dest: String, path: String },
}

/// Splits an operand the way scp does, with our destinations: `DEST:PATH` is remote when DEST
/// is a destination, where a `scheme://` destination may hold `[user@]host[:port]` (so the
/// path starts after the port) and a bare one may not hold a `/`. Anything starting with `/`
/// or `.` is local, so `./a:b` names a local file with a colon.
pub fn parse_operand(s: &str) -> anyhow::Result<Operand> {
    if s.is_empty() {
        anyhow::bail!("cp: an operand is empty");
    }
    if s.starts_with('/') || s.starts_with('.') {
        return Ok(Operand::Local(PathBuf::from(s)));
    }
    if let Some(path) = s.strip_prefix(':') {
        return Ok(Operand::Remote {
            dest: String::new(),
            path: path.to_string(),
        });
    }
    let (scheme, rest) = match s.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, s),
    };
    // The host starts after the last `@` before any `:`; a bracketed IPv6 host ends at `]`.
    let host_start = rest
        .split(':')
        .next()
        .and_then(|before| before.rfind('@'))
        .map_or(0, |at| at + 1);
    let after_host = if rest[host_start..].starts_with('[') {
        rest[host_start..]
            .find(']')
            .map(|end| host_start + end + 1)
            .with_context(|| format!("cp: {s:?}: an IPv6 host needs its closing `]`"))?
    } else {
        rest[host_start..]
            .find(':')
            .map_or(rest.len(), |c| host_start + c)
    };
    let mut split = after_host;
    if scheme.is_some() {
        // `ssh://host:2222:/path`: a port is digits followed by the path's colon.
        let tail = &rest[split..];
        if let Some(port) = tail.strip_prefix(':') {
            let digits = port.bytes().take_while(u8::is_ascii_digit).count();
            if digits > 0 && port[digits..].starts_with(':') {
                split += 1 + digits;
            }
        }
    }
    let Some(path) = rest[split..].strip_prefix(':') else {
        if scheme.is_some() {
            anyhow::bail!("cp: {s:?} names a target but no path; write DEST:PATH");
        }
        return Ok(Operand::Local(PathBuf::from(s)));
    };
    if scheme.is_none() && rest[..split].contains('/') {
        return Ok(Operand::Local(PathBuf::from(s)));
    }
    let dest = match scheme {
        Some(scheme) => format!("{scheme}://{}", &rest[..split]),
        None => rest[..split].to_string(),
    };
    let path = if path.is_empty() { "." } else { path };
    Ok(Operand::Remote {
        dest,
        path: path.to_string(),
    })
}

impl Report for Copied {
    fn ok(&self) -> bool {
        true
    }

    fn summary(&self) -> String {
        let mut text = format!("{} file(s), {} bytes", self.files, self.bytes);
        if self.resumed_bytes > 0 {
            text.push_str(&format!(" ({} resumed)", self.resumed_bytes));
        }
        text
    }

    fn stdout(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.path)
    }

    fn json(&self, v: &mut Value) {
        v["path"] = self.path.as_str().into();
        v["files"] = self.files.into();
        v["dirs"] = self.dirs.into();
        v["symlinks"] = self.symlinks.into();
        v["bytes"] = self.bytes.into();
        v["resumed_bytes"] = self.resumed_bytes.into();
    }
}

impl CpArgs {
    fn options(&self) -> CopyOptions {
        CopyOptions {
            recursive: self.recursive,
            preserve: self.preserve,
            resume: self.resume,
            verify: self.verify,
            jobs: usize::from(self.jobs),
        }
    }
}

/// This machine as one side of a copy: hashed by reading, as `sha256sum` would.
async fn this_machine() -> anyhow::Result<Endpoint> {
    let backend = LocalBackend::new();
    backend.start().await?;
    Ok(Endpoint {
        files: backend.files().await?,
        backend: None,
    })
}

/// A target as one side of a copy, hashed in place.
async fn target_side(backend: Arc<dyn Backend>) -> remote_host::Result<Endpoint> {
    Ok(Endpoint {
        files: backend.files().await?,
        backend: Some(backend),
    })
}

/// `path` on `side` with `~` and `~/` taken against the side's working directory (its home,
/// for SSH and the containers' users), as scp does.
async fn expand(side: &Endpoint, path: &str) -> remote_host::Result<String> {
    match path.strip_prefix('~') {
        Some("") => side.files.getwd().await,
        Some(rest) if rest.starts_with('/') => Ok(format!("{}{rest}", side.files.getwd().await?)),
        _ => Ok(path.to_string()),
    }
}

fn local_path(p: &Path) -> anyhow::Result<String> {
    let abs = std::path::absolute(p).with_context(|| format!("cp: {}", p.display()))?;
    abs.to_str()
        .map(String::from)
        .with_context(|| format!("cp: {} is not UTF-8", abs.display()))
}

/// `remote cp` to every target of `inventory`: the sources are on this machine and the last
/// operand is `:PATH`.
pub async fn to_targets(
    inventory: Inventory,
    args: &CpArgs,
    opener: &Opener<'_>,
) -> anyhow::Result<u8> {
    let (dst, srcs) = args.operands.split_last().context("cp: want SRC... DST")?;
    let Operand::Remote { dest, path } = parse_operand(dst)? else {
        anyhow::bail!("cp --targets: the destination must be :PATH (on every target), got {dst:?}");
    };
    anyhow::ensure!(
        dest.is_empty(),
        "cp --targets: the destination must be :PATH without a target (the inventory names them), got {dst:?}"
    );
    let sources = srcs
        .iter()
        .map(|s| match parse_operand(s)? {
            Operand::Local(p) => local_path(&p),
            Operand::Remote { .. } => {
                anyhow::bail!("cp --targets: {s:?} is remote; the sources are on this machine")
            }
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let here = this_machine().await?;
    let opts = args.options();
    let many = sources.len() > 1;
    let work = |_: Target, backend: Arc<dyn Backend>| {
        let (here, sources, path) = (&here, &sources, &path);
        async move {
            let there = target_side(backend).await?;
            let mut to = expand(&there, path).await?;
            if many && !to.ends_with('/') {
                to.push('/');
            }
            let mut all = Copied::default();
            for src in sources {
                let one = copy(here, src, &there, &to, &opts, &|_| {}).await?;
                all.files += one.files;
                all.dirs += one.dirs;
                all.symlinks += one.symlinks;
                all.bytes += one.bytes;
                all.resumed_bytes += one.resumed_bytes;
                all.path = if many { to.clone() } else { one.path };
            }
            Ok(all)
        }
    };
    fanout::run(inventory, &args.fan, opener, work).await
}

/// `remote cp` without `--targets`: each remote operand's target is opened once with `open`,
/// and this machine is the local side. Both sides may be remote; the bytes then stream through
/// this process.
pub async fn run<O, F>(args: &CpArgs, open: O) -> anyhow::Result<u8>
where
    O: Fn(String) -> F,
    F: Future<Output = anyhow::Result<Box<dyn Backend>>>,
{
    let ops = args
        .operands
        .iter()
        .map(|s| parse_operand(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if ops.iter().all(|op| matches!(op, Operand::Local(_))) {
        anyhow::bail!("cp: no operand is remote; write DEST:PATH on one side");
    }
    let mut sides: Vec<(String, Arc<dyn Backend>, Endpoint)> = Vec::new();
    let here = this_machine().await?;
    let mut resolved = Vec::with_capacity(ops.len());
    for (op, raw) in ops.iter().zip(&args.operands) {
        resolved.push(match op {
            Operand::Local(p) => (None, local_path(p)?),
            Operand::Remote { dest, .. } if dest.is_empty() => {
                anyhow::bail!("cp: {raw:?} names no target: :PATH needs --targets")
            }
            Operand::Remote { dest, path } => {
                if !sides.iter().any(|(d, _, _)| d == dest) {
                    let backend: Arc<dyn Backend> = Arc::from(open(dest.clone()).await?);
                    let side = target_side(backend.clone()).await?;
                    sides.push((dest.clone(), backend, side));
                }
                let side = sides
                    .iter()
                    .find(|(d, _, _)| d == dest)
                    .map(|(_, _, side)| side)
                    .context("cp: a target vanished")?;
                (Some(dest.clone()), expand(side, path).await?)
            }
        });
    }
    let result = copy_all(args, &here, &sides, &resolved).await;
    for (dest, backend, _) in &sides {
        if let Err(e) = backend.close().await {
            tracing::warn!(dest, "closing: {e}");
        }
    }
    result
}

async fn copy_all(
    args: &CpArgs,
    here: &Endpoint,
    sides: &[(String, Arc<dyn Backend>, Endpoint)],
    resolved: &[(Option<String>, String)],
) -> anyhow::Result<u8> {
    let side = |dest: &Option<String>| -> &Endpoint {
        dest.as_ref()
            .and_then(|d| sides.iter().find(|(name, _, _)| name == d))
            .map_or(here, |(_, _, side)| side)
    };
    let ((dst_dest, dst_path), srcs) = resolved.split_last().context("cp: want SRC... DST")?;
    let dst = side(dst_dest);
    let mut to = dst_path.clone();
    if srcs.len() > 1 {
        let is_dir = dst
            .files
            .stat(&to)
            .await
            .is_ok_and(|st| st.kind == FileKind::Directory);
        anyhow::ensure!(
            is_dir,
            "cp: {to} is not a directory, and there are several sources"
        );
        to.push('/');
    }
    let opts = args.options();
    let progress = Shown::new(args.fan.json);
    for (src_dest, src_path) in srcs {
        let done = copy(side(src_dest), src_path, dst, &to, &opts, &|p| {
            progress.show(p)
        })
        .await?;
        progress.done(&done)?;
    }
    Ok(0)
}

/// Progress on a terminal (a bar with bytes, rate and ETA), as JSON events with `--json`, or
/// nothing.
struct Shown {
    json: bool,
    bar: ProgressBar,
    files: std::sync::atomic::AtomicU64,
}

impl Shown {
    fn new(json: bool) -> Shown {
        let bar = if !json && std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(0);
            if let Ok(style) = ProgressStyle::with_template(
                "{msg} {bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
            ) {
                bar.set_style(style);
            }
            bar
        } else {
            ProgressBar::hidden()
        };
        Shown {
            json,
            bar,
            files: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn show(&self, p: Progress<'_>) {
        match p {
            Progress::Planned { files, bytes } => {
                self.bar.inc_length(bytes);
                self.files
                    .fetch_add(files, std::sync::atomic::Ordering::Relaxed);
                if self.json {
                    println!(
                        "{}",
                        json!({"event": "planned", "files": files, "bytes": bytes})
                    );
                }
            }
            Progress::Bytes { bytes, .. } => self.bar.inc(bytes),
            Progress::FileDone {
                path,
                size,
                resumed_from,
                sha256,
            } => {
                self.bar.set_message(format!(
                    "{} file(s) left",
                    self.files
                        .fetch_sub(1, std::sync::atomic::Ordering::Relaxed)
                        .saturating_sub(1)
                ));
                if resumed_from > 0 {
                    self.bar.inc(resumed_from);
                }
                if self.json {
                    println!(
                        "{}",
                        json!({"event": "file", "path": path, "size": size,
                               "resumed_from": resumed_from, "sha256": sha256})
                    );
                }
            }
        }
    }

    fn done(&self, c: &Copied) -> anyhow::Result<()> {
        if self.json {
            let mut v = json!({"event": "done"});
            c.json(&mut v);
            println!("{v}");
        }
        self.bar.finish_and_clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(dest: &str, path: &str) -> Operand {
        Operand::Remote {
            dest: dest.into(),
            path: path.into(),
        }
    }

    #[test]
    fn operands_split_like_scp_with_our_destinations() {
        for (s, want) in [
            ("web-1:/etc/motd", remote("web-1", "/etc/motd")),
            ("alice@web-1:x", remote("alice@web-1", "x")),
            ("web-1:", remote("web-1", ".")),
            (
                "ssh://alice@h:2222:/tmp/a:b",
                remote("ssh://alice@h:2222", "/tmp/a:b"),
            ),
            ("ssh://h:/tmp", remote("ssh://h", "/tmp")),
            ("ssh://[::1]:22:~/x", remote("ssh://[::1]:22", "~/x")),
            ("[::1]:/x", remote("[::1]", "/x")),
            ("docker://web:/tmp/x", remote("docker://web", "/tmp/x")),
            (
                "compose://./web/2:/srv",
                remote("compose://./web/2", "/srv"),
            ),
            ("local://:/tmp/x", remote("local://", "/tmp/x")),
            (":/tmp/x", remote("", "/tmp/x")),
            ("/abs/a:b", Operand::Local("/abs/a:b".into())),
            ("./a:b", Operand::Local("./a:b".into())),
            ("dir/a:b", Operand::Local("dir/a:b".into())),
            ("plain", Operand::Local("plain".into())),
        ] {
            assert_eq!(parse_operand(s).ok(), Some(want), "{s}");
        }
        for bad in ["", "ssh://host", "ssh://[::1"] {
            assert!(parse_operand(bad).is_err(), "{bad:?} parsed");
        }
    }
}
