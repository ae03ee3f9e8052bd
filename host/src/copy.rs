//! Copying files and whole trees between any two file clients. This machine is one more file
//! client (`local://`'s), so upload, download and a copy from one target to another (streamed
//! through this process) are the same code.
//!
//! Every file is written beside its final name and renamed into place only once complete and
//! synced, so an interrupted copy never leaves a half file under the final name. With `resume`
//! the partial file has a fixed name, `.NAME.remote-partial`, and is kept when the copy fails;
//! the next resumed copy continues it when the SHA-256 of its bytes equals that of the source's
//! prefix of the same length, and starts it afresh otherwise. With `verify`, both sides' SHA-256
//! are compared once the file is in place, each computed on its own machine where it can be
//! ([`hash`]). Symlinks inside a tree stay symlinks; modes are always kept, times with
//! `preserve`.

pub mod hash;

use std::sync::Arc;

use futures::StreamExt as _;

use crate::backend::Backend;
use crate::error::{Error, ErrorCode, Result};
use crate::file_client::FileClient;
use crate::types::{FileKind, FileStat, OpenFlags};

/// How much is read and written at a time.
const CHUNK: u64 = 1 << 20;

/// One side of a copy.
#[derive(Clone)]
pub struct Endpoint {
    /// Its files.
    pub files: Arc<dyn FileClient>,
    /// The backend that runs commands there, used to hash files in place; `None` hashes by
    /// reading (right for this machine, where reading is what `sha256sum` would do).
    pub backend: Option<Arc<dyn Backend>>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("hashes_in_place", &self.backend.is_some())
            .finish_non_exhaustive()
    }
}

/// What a copy does besides the bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct CopyOptions {
    /// Copy directories and everything under them.
    pub recursive: bool,
    /// Keep access and modification times.
    pub preserve: bool,
    /// Continue a partial file an earlier resumed copy left, and leave one when failing.
    pub resume: bool,
    /// Compare both sides' SHA-256 once each file is in place.
    pub verify: bool,
    /// How many files of a tree are copied at once (0 counts as 1): small files cost round
    /// trips more than bytes, and several in flight keep the link busy.
    pub jobs: usize,
}

/// What a copy reports as it goes.
#[derive(Debug, Clone)]
pub enum Progress<'a> {
    /// The source has been walked: this much is to be copied.
    Planned {
        /// Regular files.
        files: u64,
        /// Their bytes.
        bytes: u64,
    },
    /// More bytes of a file arrived.
    Bytes {
        /// The destination path.
        path: &'a str,
        /// How many arrived since the last report.
        bytes: u64,
    },
    /// A file is in place.
    FileDone {
        /// The destination path.
        path: &'a str,
        /// Its size.
        size: u64,
        /// How many bytes were already there from an earlier, interrupted copy.
        resumed_from: u64,
        /// Its SHA-256, when verified.
        sha256: Option<&'a str>,
    },
}

/// What a copy did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Copied {
    /// Regular files copied.
    pub files: u64,
    /// Directories made or filled.
    pub dirs: u64,
    /// Symlinks made.
    pub symlinks: u64,
    /// Bytes of the files copied, resumed ones whole.
    pub bytes: u64,
    /// Bytes that did not move because a partial copy already held them.
    pub resumed_bytes: u64,
    /// Where the source went: the destination path of the top file or directory.
    pub path: String,
}

/// One thing to copy, relative to the source's top.
#[derive(Debug)]
struct Item {
    rel: String,
    stat: FileStat,
    /// A symlink's target.
    link: Option<String>,
}

/// Copies `src_path` on `src` to `dst_path` on `dst`: into it when it is a directory or ends
/// with `/`, else onto it. Directories need `opts.recursive`.
pub async fn copy(
    src: &Endpoint,
    src_path: &str,
    dst: &Endpoint,
    dst_path: &str,
    opts: &CopyOptions,
    progress: &(dyn Fn(Progress<'_>) + Send + Sync),
) -> Result<Copied> {
    let items = plan(src, src_path, opts.recursive).await?;
    let (files, bytes) = items
        .iter()
        .filter(|i| i.stat.kind == FileKind::Regular)
        .fold((0, 0), |(n, b), i| (n + 1, b + i.stat.size));
    progress(Progress::Planned { files, bytes });
    let into = dst_path.ends_with('/')
        || dst
            .files
            .stat(dst_path)
            .await
            .is_ok_and(|st| st.kind == FileKind::Directory);
    let top = if into {
        let name = src_path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .filter(|n| !n.is_empty() && *n != "." && *n != "..")
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::InvalidArgument,
                    "copy",
                    src_path,
                    "has no name to copy into a directory under",
                )
            })?;
        format!("{}/{name}", dst_path.trim_end_matches('/'))
    } else {
        dst_path.trim_end_matches('/').to_string()
    };
    let mut done = Copied {
        path: top.clone(),
        ..Copied::default()
    };
    let join = |base: &str, rel: &str| {
        if rel.is_empty() {
            base.to_string()
        } else {
            format!("{}/{rel}", base.trim_end_matches('/'))
        }
    };
    // Directories and symlinks first, in order (parents before children), then the files, a
    // few at once.
    let mut files_to_copy = Vec::new();
    for item in &items {
        let (from, to) = (join(src_path, &item.rel), join(&top, &item.rel));
        match (item.stat.kind, &item.link) {
            (FileKind::Directory, _) => {
                // Writable by us while it fills; its own mode is set once it is full.
                dst.files.mkdir_all(&to, 0o700).await?;
                done.dirs += 1;
            }
            (FileKind::Symlink, Some(target)) => {
                if dst.files.lstat(&to).await.is_ok() {
                    dst.files.remove(&to).await?;
                }
                dst.files.symlink(target, &to).await?;
                done.symlinks += 1;
            }
            (FileKind::Regular, _) => files_to_copy.push((from, to, &item.stat)),
            (kind, _) => {
                return Err(Error::new(
                    ErrorCode::Unsupported,
                    "copy",
                    from,
                    format!("is a {kind:?}; only files, directories and symlinks are copied"),
                ));
            }
        }
    }
    let mut copies =
        futures::stream::iter(files_to_copy.iter().map(|(from, to, stat)| async move {
            copy_file(src, from, dst, to, stat, opts, progress)
                .await
                .map(|resumed| (stat.size, resumed))
        }))
        .buffer_unordered(opts.jobs.max(1));
    while let Some(copied) = copies.next().await {
        let (size, resumed) = copied?;
        done.files += 1;
        done.bytes += size;
        done.resumed_bytes += resumed;
    }
    drop(copies);
    // Deepest first, so a directory's time is set after everything under it was written.
    for item in items
        .iter()
        .rev()
        .filter(|i| i.stat.kind == FileKind::Directory)
    {
        let to = join(&top, &item.rel);
        dst.files.chmod(&to, item.stat.mode & 0o7777).await?;
        if opts.preserve {
            dst.files
                .chtimes(&to, item.stat.atime, item.stat.mtime)
                .await?;
        }
    }
    Ok(done)
}

/// Every item under `path`, parents before children, in name order.
async fn plan(src: &Endpoint, path: &str, recursive: bool) -> Result<Vec<Item>> {
    let top = src.files.stat(path).await?;
    if top.kind == FileKind::Directory && !recursive {
        return Err(Error::new(
            ErrorCode::IsDirectory,
            "copy",
            path,
            "is a directory (copy it with -r)",
        ));
    }
    let mut items = vec![Item {
        rel: String::new(),
        stat: top,
        link: None,
    }];
    let mut next = 0;
    while next < items.len() {
        if items[next].stat.kind == FileKind::Directory {
            let rel = items[next].rel.clone();
            let dir = if rel.is_empty() {
                path.to_string()
            } else {
                format!("{}/{rel}", path.trim_end_matches('/'))
            };
            let mut entries = src.files.read_dir(&dir).await?;
            entries.sort_by(|a, b| a.name.cmp(&b.name));
            let mut children = Vec::with_capacity(entries.len());
            for entry in entries {
                let child_rel = if rel.is_empty() {
                    entry.name.clone()
                } else {
                    format!("{rel}/{}", entry.name)
                };
                let child = format!("{dir}/{}", entry.name);
                let stat = src.files.lstat(&child).await?;
                let link = if stat.kind == FileKind::Symlink {
                    Some(src.files.readlink(&child).await?)
                } else {
                    None
                };
                children.push(Item {
                    rel: child_rel,
                    stat,
                    link,
                });
            }
            items.splice(next + 1..next + 1, children);
        }
        next += 1;
    }
    Ok(items)
}

/// Copies one regular file through a partial file beside `to`; returns how many bytes an
/// earlier partial copy already held.
async fn copy_file(
    src: &Endpoint,
    from: &str,
    dst: &Endpoint,
    to: &str,
    stat: &FileStat,
    opts: &CopyOptions,
    progress: &(dyn Fn(Progress<'_>) + Send + Sync),
) -> Result<u64> {
    let (dir, name) = to.rsplit_once('/').unwrap_or(("", to));
    let dir = if dir.is_empty() && to.starts_with('/') {
        "/"
    } else {
        dir
    };
    let partial = if opts.resume {
        format!("{dir}/.{name}.remote-partial")
    } else {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!("{dir}/.{name}.remote-cp-{}-{nanos}", std::process::id())
    };
    let partial = partial.replacen("//", "/", 1);
    let offset = if opts.resume {
        resumable(src, from, dst, &partial, stat.size).await?
    } else {
        0
    };
    let written = write_partial(src, from, dst, &partial, to, offset, stat, opts, progress).await;
    if let Err(e) = written {
        if !opts.resume {
            // Ours alone (a unique name), and the error that matters is `e`.
            let _ = dst.files.remove(&partial).await;
        }
        return Err(e);
    }
    let sha256 = if opts.verify {
        let (a, b) = tokio::join!(hash::sha256(src, from, None), hash::sha256(dst, to, None));
        let (a, b) = (a?, b?);
        if a != b {
            return Err(Error::new(
                ErrorCode::Io,
                "verify",
                to,
                format!("SHA-256 {b} differs from the source's {a} ({from})"),
            ));
        }
        Some(a)
    } else {
        None
    };
    progress(Progress::FileDone {
        path: to,
        size: stat.size,
        resumed_from: offset,
        sha256: sha256.as_deref(),
    });
    Ok(offset)
}

/// How much of a partial file left by an earlier resumed copy can stay: all of it when its
/// bytes hash like the source's prefix of the same length, else none.
async fn resumable(
    src: &Endpoint,
    from: &str,
    dst: &Endpoint,
    partial: &str,
    size: u64,
) -> Result<u64> {
    let Ok(st) = dst.files.lstat(partial).await else {
        return Ok(0);
    };
    if st.kind != FileKind::Regular || st.size == 0 || st.size > size {
        return Ok(0);
    }
    let (a, b) = tokio::join!(
        hash::sha256(src, from, Some(st.size)),
        hash::sha256(dst, partial, Some(st.size))
    );
    Ok(if a? == b? { st.size } else { 0 })
}

/// Fills `partial` from `offset` on, syncs it, gives it its mode (and times), and renames it to
/// `to`.
#[expect(
    clippy::too_many_arguments,
    reason = "one step of copy_file, named for reading"
)]
async fn write_partial(
    src: &Endpoint,
    from: &str,
    dst: &Endpoint,
    partial: &str,
    to: &str,
    offset: u64,
    stat: &FileStat,
    opts: &CopyOptions,
    progress: &(dyn Fn(Progress<'_>) + Send + Sync),
) -> Result<()> {
    let flags = OpenFlags {
        write: true,
        create: true,
        // A fresh partial must be new (no one else's file under our name); a resumed one is
        // kept up to `offset` and cut after it.
        exclusive: !opts.resume,
        truncate: offset == 0,
        ..OpenFlags::default()
    };
    let mut out = dst.files.open_file(partial, flags, 0o600).await?;
    let mut input = src.files.open(from).await?;
    let mut at = offset;
    let copied = async {
        loop {
            // Sequential reads let the file client read ahead; a resumed copy starts mid-file.
            let chunk = if offset == 0 {
                input.read(CHUNK).await?
            } else {
                input.read_at(at, CHUNK).await?
            };
            if chunk.is_empty() {
                break;
            }
            if offset == 0 {
                out.write(&chunk).await?;
            } else {
                out.write_at(at, &chunk).await?;
            }
            at += chunk.len() as u64;
            progress(Progress::Bytes {
                path: to,
                bytes: chunk.len() as u64,
            });
        }
        out.sync().await
    }
    .await;
    let closed = (out.close().await, input.close().await);
    copied?;
    closed.0?;
    closed.1?;
    if at != stat.size {
        return Err(Error::new(
            ErrorCode::Io,
            "copy",
            from,
            format!(
                "changed while copied: {at} bytes read, {} expected",
                stat.size
            ),
        ));
    }
    dst.files.chmod(partial, stat.mode & 0o7777).await?;
    if opts.preserve {
        dst.files.chtimes(partial, stat.atime, stat.mtime).await?;
    }
    dst.files.rename(partial, to).await
}

#[cfg(test)]
mod tests;
