//! `upload-agent` on a container: the archive API writes the file beside its destination under a
//! temporary name, private (0600) and with its owner, the agent sets the requested mode and then
//! renames it into place (an atomic `rename(2)`), so a running copy is never half-overwritten and
//! no shell is needed.

use std::path::Path;

use super::{Container, archive};
use crate::error::{Error, ErrorCode, Result};
use crate::file_client::FileClient;
use crate::upload::resolve_remote_path;

/// Installs `local` at `remote` (`~` = the agent's start directory, the user's home) and returns
/// the absolute path.
///
/// The temporary file is written 0600 and only gets `mode` once it is complete: nobody else can
/// read or run a half-written file, and its unpredictable name leaves nothing to prepare there.
pub async fn upload(
    c: &Container,
    files: &dyn FileClient,
    local: &Path,
    remote: &str,
    mode: u32,
) -> Result<String> {
    if mode > 0o7777 {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "upload agent",
            remote,
            format!("mode {mode:#o} has bits outside 0o7777"),
        ));
    }
    let bytes = tokio::fs::read(local)
        .await
        .map_err(|e| Error::from_io("upload agent", local.display().to_string(), e))?;
    let home = files.getwd().await?;
    let path = resolve_remote_path(remote, &home, &home)?;
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", &path));
    let dir = if dir.is_empty() { "/" } else { dir };
    if name.is_empty() {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "upload agent",
            remote,
            "the destination names a directory, not a file",
        ));
    }
    files.mkdir_all(dir, 0o755).await?;
    let owner = owner(c, files).await?;
    let temp_name = format!(".{name}.remote-upload-{}", archive::random_tag());
    archive::put_file(c, dir, &temp_name, &bytes, 0o600, owner).await?;
    let temp = format!("{}/{temp_name}", dir.trim_end_matches('/'));
    let placed = match files.chmod(&temp, mode).await {
        Ok(()) => files.rename(&temp, &path).await,
        Err(e) => Err(e),
    };
    if let Err(e) = placed {
        let _ = files.remove(&temp).await;
        return Err(e);
    }
    Ok(path)
}

/// The numeric owner of files the backend's user creates: `uid[:gid]` as given, a name looked up
/// in the container's `/etc/passwd` and `/etc/group`, root when the user is empty.
async fn owner(c: &Container, files: &dyn FileClient) -> Result<(u32, u32)> {
    let (user, group) = match c.user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (c.user.as_str(), None),
    };
    if user.is_empty() {
        return Ok((0, 0));
    }
    let passwd = read_text(files, "/etc/passwd").await;
    let (uid, primary_gid) = match user.parse::<u32>() {
        Ok(uid) => (
            uid,
            lookup(&passwd, 2, &uid.to_string()).and_then(|f| f.get(3)?.parse().ok()),
        ),
        Err(_) => {
            let fields = lookup(&passwd, 0, user).ok_or_else(|| {
                Error::new(
                    ErrorCode::NotFound,
                    "upload agent",
                    &c.name,
                    format!("user {user:?} is not in the container's /etc/passwd"),
                )
            })?;
            let uid = fields.get(2).and_then(|s| s.parse().ok());
            let gid = fields.get(3).and_then(|s| s.parse().ok());
            (
                uid.ok_or_else(|| {
                    Error::new(
                        ErrorCode::Io,
                        "upload agent",
                        "/etc/passwd",
                        format!("malformed entry for {user:?}"),
                    )
                })?,
                gid,
            )
        }
    };
    let gid = match group {
        None => primary_gid.unwrap_or(uid),
        Some(g) => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => {
                let groups = read_text(files, "/etc/group").await;
                lookup(&groups, 0, g)
                    .and_then(|f| f.get(2)?.parse().ok())
                    .ok_or_else(|| {
                        Error::new(
                            ErrorCode::NotFound,
                            "upload agent",
                            &c.name,
                            format!("group {g:?} is not in the container's /etc/group"),
                        )
                    })?
            }
        },
    };
    Ok((uid, gid))
}

async fn read_text(files: &dyn FileClient, path: &str) -> String {
    let Ok(mut h) = files.open(path).await else {
        return String::new();
    };
    let mut out = Vec::new();
    while let Ok(chunk) = h.read(1 << 20).await {
        if chunk.is_empty() || out.len() > 16 << 20 {
            break;
        }
        out.extend_from_slice(&chunk);
    }
    let _ = h.close().await;
    String::from_utf8_lossy(&out).into_owned()
}

/// The `:`-separated fields of the first line whose field `key` equals `value`.
fn lookup<'a>(text: &'a str, key: usize, value: &str) -> Option<Vec<&'a str>> {
    text.lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.get(key) == Some(&value))
}
