//! `remote cp`: files between this machine and one target, or from this machine to every
//! target of an inventory. Every copy is written beside its destination and renamed into place,
//! so an interrupted copy never leaves a half file under the final name; modes are kept, and
//! times too with `-p`.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use remote_host::fleet::{Inventory, Target};
use remote_host::upload::upload_via_files;
use remote_host::{Backend, Error, ErrorCode, FileClient, FileKind, Timestamp};
use serde_json::Value;

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

/// What a copy to one target did.
#[derive(Debug, Default)]
pub struct Copied {
    /// The remote paths written, absolute.
    pub paths: Vec<String>,
    /// The bytes copied.
    pub bytes: u64,
}

impl Report for Copied {
    fn ok(&self) -> bool {
        true
    }

    fn summary(&self) -> String {
        format!("{} file(s), {} bytes", self.paths.len(), self.bytes)
    }

    fn stdout(&self) -> Cow<'_, str> {
        Cow::Owned(self.paths.join("\n"))
    }

    fn json(&self, v: &mut Value) {
        v["paths"] = self.paths.clone().into();
        v["bytes"] = self.bytes.into();
    }
}

/// A local source file, read once before any target is touched.
#[derive(Debug)]
struct Source {
    path: PathBuf,
    name: String,
    mode: u32,
    size: u64,
    atime: Timestamp,
    mtime: Timestamp,
}

fn timestamp(t: std::io::Result<std::time::SystemTime>) -> Timestamp {
    let since = t
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .unwrap_or_default();
    Timestamp {
        seconds: i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        nanoseconds: since.subsec_nanos(),
    }
}

fn source(path: &Path) -> anyhow::Result<Source> {
    let meta = std::fs::metadata(path).with_context(|| format!("cp: {}", path.display()))?;
    if meta.is_dir() {
        anyhow::bail!(
            "cp: {} is a directory; remote cp copies files",
            path.display()
        );
    }
    anyhow::ensure!(
        meta.is_file(),
        "cp: {} is not a regular file",
        path.display()
    );
    let name = path
        .file_name()
        .with_context(|| format!("cp: {} has no file name", path.display()))?
        .to_string_lossy()
        .into_owned();
    Ok(Source {
        path: path.to_path_buf(),
        name,
        mode: std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777,
        size: meta.len(),
        atime: timestamp(meta.accessed()),
        mtime: timestamp(meta.modified()),
    })
}

/// Copies every source to `dir_or_path` on one target: into it when it is a directory (or
/// ends with `/`, or there are several sources), else onto it.
async fn upload(
    files: &dyn FileClient,
    sources: &[Source],
    dir_or_path: &str,
    preserve: bool,
) -> remote_host::Result<Copied> {
    let into_dir = sources.len() > 1
        || dir_or_path.ends_with('/')
        || files
            .stat(dir_or_path)
            .await
            .is_ok_and(|st| st.kind == FileKind::Directory);
    let cwd = files.getwd().await?;
    let mut copied = Copied::default();
    for src in sources {
        let remote = if into_dir {
            format!("{}/{}", dir_or_path.trim_end_matches('/'), src.name)
        } else {
            dir_or_path.to_string()
        };
        let path = upload_via_files(files, &src.path, &remote, src.mode, &cwd).await?;
        if preserve {
            files.chtimes(&path, src.atime, src.mtime).await?;
        }
        copied.bytes += src.size;
        copied.paths.push(path);
    }
    Ok(copied)
}

/// `remote cp` to every target of `inventory`: the last operand is `:PATH`.
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
    let sources = local_sources(srcs)?;
    let work = |_: Target, backend: Arc<dyn Backend>| {
        let (sources, path) = (&sources, &path);
        async move {
            let files = backend.files().await?;
            upload(files.as_ref(), sources, path, args.preserve).await
        }
    };
    fanout::run(inventory, &args.fan, opener, work).await
}

fn local_sources(srcs: &[String]) -> anyhow::Result<Vec<Source>> {
    srcs.iter()
        .map(|s| match parse_operand(s)? {
            Operand::Local(p) => source(&p),
            Operand::Remote { .. } => {
                anyhow::bail!("cp: {s:?} is remote; one side of a copy is this machine")
            }
        })
        .collect()
}

/// The target a one-target `remote cp` talks to, found in its operands: exactly one side is
/// remote, and every remote operand names the same target.
pub fn single_target(args: &CpArgs) -> anyhow::Result<String> {
    let ops = args
        .operands
        .iter()
        .map(|s| parse_operand(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (dst, srcs) = ops.split_last().context("cp: want SRC... DST")?;
    let remote = |op: &Operand| match op {
        Operand::Remote { dest, .. } => Some(dest.clone()),
        Operand::Local(_) => None,
    };
    let dests: Vec<String> = srcs.iter().filter_map(remote).collect();
    match (remote(dst), dests.as_slice()) {
        (Some(d), []) if d.is_empty() => anyhow::bail!(
            "cp: {:?} names no target: :PATH needs --targets",
            args.operands.last().map_or("", String::as_str)
        ),
        (Some(d), []) => Ok(d),
        (None, [first, rest @ ..])
            if rest.iter().all(|d| d == first) && dests.len() == srcs.len() =>
        {
            anyhow::ensure!(!first.is_empty(), "cp: :PATH needs --targets");
            Ok(first.clone())
        }
        (None, []) => anyhow::bail!("cp: no operand is remote; write DEST:PATH on one side"),
        (None, _) => {
            anyhow::bail!("cp: every source must be on the same target, and all of them remote")
        }
        (Some(_), _) => {
            anyhow::bail!("cp: both sides are remote; one side of a copy is this machine")
        }
    }
}

/// `remote cp` between this machine and the one target [`single_target`] found.
pub async fn one_target(backend: &dyn Backend, args: &CpArgs) -> anyhow::Result<u8> {
    let files = backend.files().await?;
    let ops = args
        .operands
        .iter()
        .map(|s| parse_operand(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (dst, srcs) = ops.split_last().context("cp: want SRC... DST")?;
    match dst {
        Operand::Remote { path, .. } => {
            let srcs: Vec<String> = args.operands[..srcs.len()].to_vec();
            let sources = local_sources(&srcs)?;
            upload(files.as_ref(), &sources, path, args.preserve).await?;
        }
        Operand::Local(local) => {
            let into_dir = srcs.len() > 1 || local.is_dir();
            for src in srcs {
                let Operand::Remote { path, .. } = src else {
                    anyhow::bail!("cp: every source must be remote when DST is local");
                };
                let st = files.stat(path).await?;
                if st.kind == FileKind::Directory {
                    return Err(Error::new(
                        ErrorCode::IsDirectory,
                        "cp",
                        path,
                        "is a directory; remote cp copies files",
                    )
                    .into());
                }
                let to = if into_dir {
                    let name = path.rsplit('/').next().unwrap_or(path);
                    local.join(name)
                } else {
                    local.clone()
                };
                crate::fs::get(files.as_ref(), path, &to).await?;
                let perms = std::os::unix::fs::PermissionsExt::from_mode(st.mode & 0o7777);
                std::fs::set_permissions(&to, perms)
                    .with_context(|| format!("cp: setting the mode of {}", to.display()))?;
                if args.preserve {
                    set_local_times(&to, st.atime, st.mtime)?;
                }
            }
        }
    }
    Ok(0)
}

fn set_local_times(path: &Path, atime: Timestamp, mtime: Timestamp) -> anyhow::Result<()> {
    let at = |t: Timestamp| {
        let secs = u64::try_from(t.seconds).unwrap_or(0);
        std::time::UNIX_EPOCH + std::time::Duration::new(secs, t.nanoseconds)
    };
    let times = std::fs::FileTimes::new()
        .set_accessed(at(atime))
        .set_modified(at(mtime));
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_times(times))
        .with_context(|| format!("cp: setting the times of {}", path.display()))
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
