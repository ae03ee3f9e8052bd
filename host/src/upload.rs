//! Installing a helper binary through any [`FileClient`]: write a temporary file beside the
//! destination, fsync it, set its mode, then rename it over the destination.
//!
//! The rename is what makes the replacement atomic: a process running the old binary keeps its
//! inode, a process starting the binary sees the old or the new one and never a half-written
//! file, and a failed upload leaves the old file untouched. Backends whose file client can rename
//! over an existing file (local, SFTP with posix-rename) use this as their `upload-agent`.

use std::path::Path;

use tokio::io::AsyncReadExt;

use crate::error::{Error, ErrorCode, Result};
use crate::file_client::FileClient;
use crate::types::OpenFlags;

/// Chunk size of the copy: large enough to keep a pipelined client busy, small enough to bound
/// memory.
const CHUNK: usize = 1 << 20;

/// Resolves a remote path the way upload-agent documents: `~` and `~/…` against `home`, relative
/// paths against `cwd`. The result is absolute and has no `.`/`..` components or repeated `/`.
pub fn resolve_remote_path(path: &str, home: &str, cwd: &str) -> Result<String> {
    let joined = if path.is_empty() {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "resolve path",
            path,
            "remote path is empty",
        ));
    } else if path == "~" {
        home.to_string()
    } else if let Some(rest) = path.strip_prefix("~/") {
        format!("{home}/{rest}")
    } else if path.starts_with('~') {
        return Err(Error::new(
            ErrorCode::Unsupported,
            "resolve path",
            path,
            "~user paths are not supported; use ~ or an absolute path",
        ));
    } else if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{cwd}/{path}")
    };
    if !joined.starts_with('/') {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "resolve path",
            path,
            format!("the base directory {joined:?} is not absolute"),
        ));
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    Ok(format!("/{}", parts.join("/")))
}

/// Uploads `local` to `remote` (resolved with [`resolve_remote_path`]) with permission bits
/// `mode`, atomically, and returns the absolute remote path.
pub async fn upload_via_files(
    files: &dyn FileClient,
    local: &Path,
    remote: &str,
    mode: u32,
    home: &str,
) -> Result<String> {
    upload_with_progress(files, local, remote, mode, home, &|_| {}).await
}

/// [`upload_via_files`], calling `progress` with the bytes sent so far after every chunk.
pub async fn upload_with_progress(
    files: &dyn FileClient,
    local: &Path,
    remote: &str,
    mode: u32,
    home: &str,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<String> {
    if mode > 0o7777 {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "upload agent",
            remote,
            format!("mode {mode:#o} has bits outside 0o7777"),
        ));
    }
    let cwd = files.getwd().await?;
    let dest = resolve_remote_path(remote, home, &cwd)?;
    let (parent, name) = dest.rsplit_once('/').unwrap_or(("", &dest));
    if name.is_empty() {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "upload agent",
            &dest,
            "remote path names a directory, not a file",
        ));
    }
    let mut src = tokio::fs::File::open(local)
        .await
        .map_err(|e| Error::from_io("upload agent: open local", local.display().to_string(), e))?;
    if !parent.is_empty() {
        files.mkdir_all(parent, 0o755).await?;
    }
    let tmp = format!(
        "{parent}/.{name}.upload-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    // Exclusive create with 0600: nobody else can have opened or swapped the temporary name, and
    // nobody else can read it while it is being written.
    let flags = OpenFlags {
        write: true,
        create: true,
        exclusive: true,
        ..OpenFlags::default()
    };
    let mut out = files.open_file(&tmp, flags, 0o600).await?;
    let copied = async {
        let mut buf = vec![0; CHUNK];
        let mut sent = 0u64;
        loop {
            let n = src.read(&mut buf).await.map_err(|e| {
                Error::from_io("upload agent: read local", local.display().to_string(), e)
            })?;
            if n == 0 {
                break;
            }
            out.write(&buf[..n]).await?;
            sent += n as u64;
            progress(sent);
        }
        out.sync().await?;
        out.close().await?;
        files.chmod(&tmp, mode).await?;
        files.rename(&tmp, &dest).await
    }
    .await;
    if let Err(e) = copied {
        // Best effort: the temporary file is ours alone, and the error that matters is `e`.
        let _ = files.remove(&tmp).await;
        return Err(e);
    }
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_home_relative_and_absolute_paths() {
        let r = |p| resolve_remote_path(p, "/home/u", "/work");
        assert_eq!(r("~").ok().as_deref(), Some("/home/u"));
        assert_eq!(r("~/").ok().as_deref(), Some("/home/u"));
        assert_eq!(r("~/.cache/a").ok().as_deref(), Some("/home/u/.cache/a"));
        assert_eq!(r("bin/a").ok().as_deref(), Some("/work/bin/a"));
        assert_eq!(r("/opt//x/./y/../a").ok().as_deref(), Some("/opt/x/a"));
        assert_eq!(r("/../..").ok().as_deref(), Some("/"));
        assert_eq!(r("").map_err(|e| e.code()), Err(ErrorCode::InvalidArgument));
        assert_eq!(
            r("~bob/x").map_err(|e| e.code()),
            Err(ErrorCode::Unsupported)
        );
    }
}
