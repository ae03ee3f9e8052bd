//! `remote fs DEST <op>`.

use std::io::IsTerminal as _;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use remote_host::upload::{resolve_remote_path, upload_with_progress};
use remote_host::{Backend, ErrorCode, FileClient, FileKind, FileStat, OpenFlags, Timestamp};
use tokio::io::AsyncWriteExt;

use crate::cli::{FsOp, parse_mode};

/// Bytes per read or write call of a transfer.
const CHUNK: u64 = 4 << 20;

/// Runs one file operation.
pub async fn run(backend: &dyn Backend, op: FsOp) -> anyhow::Result<u8> {
    let files = backend.files().await?;
    let f = files.as_ref();
    match op {
        FsOp::Ls { long, path } => {
            let dir = match path {
                Some(p) => p,
                None => f.getwd().await?,
            };
            let mut out = String::new();
            for e in f.read_dir(&dir).await? {
                if long {
                    out.push_str(&long_line(&e.stat, &e.name));
                } else {
                    out.push_str(&e.name);
                }
                out.push('\n');
            }
            print!("{out}");
        }
        FsOp::Stat { lstat, path } => {
            let st = if lstat {
                f.lstat(&path).await?
            } else {
                f.stat(&path).await?
            };
            println!("{}", serde_json::to_string(&st)?);
        }
        FsOp::Cat { path } => {
            let mut h = f.open(&path).await?;
            let mut stdout = tokio::io::stdout();
            loop {
                let chunk = h.read(CHUNK).await?;
                if chunk.is_empty() {
                    break;
                }
                stdout.write_all(&chunk).await.context("writing stdout")?;
            }
            stdout.flush().await.context("writing stdout")?;
            h.close().await?;
        }
        FsOp::Put { local, remote } => put(f, &local, &remote).await?,
        FsOp::Get { remote, local } => get(f, &remote, &local).await?,
        FsOp::Mkdir {
            parents,
            mode,
            path,
        } => {
            let mode = parse_mode(&mode)?;
            if parents {
                f.mkdir_all(&path, mode).await?;
            } else {
                f.mkdir(&path, mode).await?;
            }
        }
        FsOp::Rm { path } => f.remove(&path).await?,
        FsOp::Mv { old, new } => f.rename(&old, &new).await?,
        FsOp::Ln {
            symbolic,
            target,
            link,
        } => {
            if symbolic {
                f.symlink(&target, &link).await?;
            } else {
                f.link(&target, &link).await?;
            }
        }
        FsOp::Readlink { path } => println!("{}", f.readlink(&path).await?),
        FsOp::Chmod { mode, path } => f.chmod(&path, parse_mode(&mode)?).await?,
        FsOp::Chown { owner, path } => {
            let (uid, gid) = owner
                .split_once(':')
                .and_then(|(u, g)| Some((u.parse().ok()?, g.parse().ok()?)))
                .with_context(|| format!("owner {owner:?}: want numeric UID:GID"))?;
            f.chown(&path, uid, gid).await?;
        }
        FsOp::Touch { atime, mtime, path } => {
            let now = now();
            let atime = atime.as_deref().map(parse_time).transpose()?.unwrap_or(now);
            let mtime = mtime.as_deref().map(parse_time).transpose()?.unwrap_or(now);
            let create = OpenFlags {
                write: true,
                create: true,
                ..OpenFlags::default()
            };
            f.open_file(&path, create, 0o666).await?.close().await?;
            f.chtimes(&path, atime, mtime).await?;
        }
        FsOp::Truncate { path, size } => f.truncate(&path, size).await?,
        FsOp::Statfs { path } => {
            let path = match path {
                Some(p) => p,
                None => f.getwd().await?,
            };
            println!("{}", serde_json::to_string(&f.statfs(&path).await?)?);
        }
        FsOp::Getwd => println!("{}", f.getwd().await?),
    }
    Ok(0)
}

fn now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanoseconds: d.subsec_nanos(),
    }
}

/// `SECONDS[.NANOS]`, where NANOS has 1 to 9 digits (a decimal fraction).
fn parse_time(s: &str) -> anyhow::Result<Timestamp> {
    let bad = || anyhow::anyhow!("time {s:?}: want SECONDS[.FRACTION] since the epoch");
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let seconds: i64 = secs.parse().map_err(|_| bad())?;
    anyhow::ensure!(
        frac.len() <= 9 && frac.bytes().all(|b| b.is_ascii_digit()),
        bad()
    );
    let nanoseconds = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().map_err(|_| bad())?
    };
    Ok(Timestamp {
        seconds,
        nanoseconds,
    })
}

fn long_line(st: &FileStat, name: &str) -> String {
    let kind = match st.kind {
        FileKind::Directory => 'd',
        FileKind::Symlink => 'l',
        FileKind::BlockDevice => 'b',
        FileKind::CharDevice => 'c',
        FileKind::Fifo => 'p',
        FileKind::Socket => 's',
        FileKind::Regular | FileKind::Unknown => '-',
    };
    let m = st.mode;
    let bit = |mask: u32, c: char| if m & mask != 0 { c } else { '-' };
    let exec = |x: u32, special: u32, set: char| match (m & x != 0, m & special != 0) {
        (true, true) => set,
        (false, true) => set.to_ascii_uppercase(),
        (true, false) => 'x',
        (false, false) => '-',
    };
    let perms: String = [
        bit(0o400, 'r'),
        bit(0o200, 'w'),
        exec(0o100, 0o4000, 's'),
        bit(0o040, 'r'),
        bit(0o020, 'w'),
        exec(0o010, 0o2000, 's'),
        bit(0o004, 'r'),
        bit(0o002, 'w'),
        exec(0o001, 0o1000, 't'),
    ]
    .into_iter()
    .collect();
    format!(
        "{kind}{perms} {:>3} {:>5} {:>5} {:>12} {:>10} {name}",
        st.nlink, st.uid, st.gid, st.size, st.mtime.seconds
    )
}

fn progress_bar(len: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} {bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    bar
}

async fn put(f: &dyn FileClient, local: &Path, remote: &str) -> anyhow::Result<()> {
    let meta = tokio::fs::metadata(local)
        .await
        .with_context(|| format!("cannot read {}", local.display()))?;
    anyhow::ensure!(meta.is_file(), "{} is not a regular file", local.display());
    let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777;
    let bar = progress_bar(meta.len(), "put");
    let cwd = f.getwd().await?;
    let dest = upload_with_progress(f, local, remote, mode, &cwd, &|n| bar.set_position(n)).await?;
    bar.finish_and_clear();
    tracing::debug!(dest, "put done");
    Ok(())
}

/// Downloads to a temporary file beside `local` and renames it into place only once every byte
/// arrived, so an interrupted transfer never leaves a truncated file under the real name.
async fn get(f: &dyn FileClient, remote: &str, local: &Path) -> anyhow::Result<()> {
    let st = f.stat(remote).await?;
    if st.kind == FileKind::Directory {
        return Err(remote_host::Error::new(
            ErrorCode::IsDirectory,
            "get",
            remote,
            "is a directory",
        )
        .into());
    }
    let cwd = f.getwd().await?;
    let remote = resolve_remote_path(remote, &cwd, &cwd)?;
    let name = local
        .file_name()
        .with_context(|| format!("{} has no file name", local.display()))?;
    let tmp = local.with_file_name(format!(
        ".{}.remote-get-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let bar = progress_bar(st.size, "get");
    let copied = async {
        let mut out = tokio::fs::File::create(&tmp)
            .await
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        let mut h = f.open(&remote).await?;
        let mut total = 0u64;
        loop {
            let chunk = h.read(CHUNK).await?;
            if chunk.is_empty() {
                break;
            }
            out.write_all(&chunk).await?;
            total += chunk.len() as u64;
            bar.set_position(total);
        }
        h.close().await?;
        out.sync_all().await?;
        tokio::fs::rename(&tmp, local)
            .await
            .with_context(|| format!("cannot rename into {}", local.display()))?;
        anyhow::Ok(())
    }
    .await;
    bar.finish_and_clear();
    if copied.is_err() {
        let _ = tokio::fs::remove_file(&tmp).await;
    }
    copied
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_with_fractions() {
        let t = |s| parse_time(s).ok().map(|t| (t.seconds, t.nanoseconds));
        assert_eq!(t("10"), Some((10, 0)));
        assert_eq!(t("10.5"), Some((10, 500_000_000)));
        assert_eq!(t("-1.000000001"), Some((-1, 1)));
        assert_eq!(t("1.0000000001"), None);
        assert_eq!(t("x"), None);
    }

    #[test]
    fn long_listing_shows_special_bits() {
        let st = FileStat {
            kind: FileKind::Regular,
            mode: 0o4754,
            uid: 1,
            gid: 2,
            size: 3,
            nlink: 1,
            atime: Timestamp::default(),
            mtime: Timestamp::default(),
        };
        assert!(long_line(&st, "x").starts_with("-rwsr-xr-- "));
        let dir = FileStat {
            kind: FileKind::Directory,
            mode: 0o1776,
            ..st
        };
        assert!(long_line(&dir, "d").starts_with("drwxrwxrwT "));
    }
}
