//! The OpenSSH extensions: `posix-rename`, `statvfs`, `fstatvfs`, `fsync`, `hardlink`, `limits`
//! and `lsetstat`, advertised with the exact version strings clients check.

use std::collections::HashMap;

use bytes::Bytes;
use russh_sftp::de;
use russh_sftp::extensions::{LimitsExtension, Statvfs};
use russh_sftp::protocol::{ExtendedReply, FileAttributes, Packet, StatusCode};
use russh_sftp::ser;
use russh_sftp::server::StatusReply;
use rustix::fs::StatVfsMountFlags;

use super::{Agent, Target, ok, set_attrs};
use crate::errno;
use crate::limits::{MAX_HANDLES, MAX_IO, MAX_PACKET};

/// (name, version) of every extension served.
const EXTENSIONS: &[(&str, &str)] = &[
    ("posix-rename@openssh.com", "1"),
    ("statvfs@openssh.com", "2"),
    ("fstatvfs@openssh.com", "2"),
    ("hardlink@openssh.com", "1"),
    ("fsync@openssh.com", "1"),
    ("lsetstat@openssh.com", "1"),
    ("limits@openssh.com", "1"),
];

/// The extensions for the version packet.
pub fn advertised() -> HashMap<String, String> {
    EXTENSIONS
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn decode<'a, T: serde::Deserialize<'a>>(
    request: &str,
    bytes: &'a mut Bytes,
) -> Result<T, StatusReply> {
    de::from_bytes(bytes).map_err(|e| {
        StatusCode::BadMessage.with_message(format!("EBADMSG: malformed {request} request: {e}"))
    })
}

fn reply<T: serde::Serialize>(id: u32, value: &T) -> Result<Packet, StatusReply> {
    let data =
        ser::to_bytes(value).map_err(|e| errno::status(5, &format!("encoding the reply: {e}")))?;
    Ok(Packet::ExtendedReply(ExtendedReply {
        id,
        data: data.to_vec(),
    }))
}

fn statvfs_reply(id: u32, s: &rustix::fs::StatVfs) -> Result<Packet, StatusReply> {
    // OpenSSH's SSH2_FXE_STATVFS_ST_RDONLY and _ST_NOSUID.
    let mut flags = 0;
    if s.f_flag.contains(StatVfsMountFlags::RDONLY) {
        flags |= 1;
    }
    if s.f_flag.contains(StatVfsMountFlags::NOSUID) {
        flags |= 2;
    }
    reply(
        id,
        &Statvfs {
            block_size: s.f_bsize,
            fragment_size: s.f_frsize,
            blocks: s.f_blocks,
            blocks_free: s.f_bfree,
            blocks_avail: s.f_bavail,
            inodes: s.f_files,
            inodes_free: s.f_ffree,
            inodes_avail: s.f_favail,
            fs_id: s.f_fsid,
            flags,
            name_max: s.f_namemax,
        },
    )
}

/// Serves one extended request.
pub fn handle(
    agent: &mut Agent,
    id: u32,
    request: &str,
    data: Vec<u8>,
) -> Result<Packet, StatusReply> {
    let mut bytes = Bytes::from(data);
    let e = errno::from_errno;
    match request {
        "posix-rename@openssh.com" => {
            let (old, new): (String, String) = decode(request, &mut bytes)?;
            rustix::fs::rename(old.as_str(), new.as_str()).map_err(e)?;
            Ok(ok(id).into())
        }
        "hardlink@openssh.com" => {
            let (old, new): (String, String) = decode(request, &mut bytes)?;
            rustix::fs::link(old.as_str(), new.as_str()).map_err(e)?;
            Ok(ok(id).into())
        }
        "statvfs@openssh.com" => {
            let (path,): (String,) = decode(request, &mut bytes)?;
            statvfs_reply(id, &rustix::fs::statvfs(path.as_str()).map_err(e)?)
        }
        "fstatvfs@openssh.com" => {
            let (handle,): (String,) = decode(request, &mut bytes)?;
            statvfs_reply(id, &rustix::fs::fstatvfs(agent.file(&handle)?).map_err(e)?)
        }
        "fsync@openssh.com" => {
            let (handle,): (String,) = decode(request, &mut bytes)?;
            rustix::fs::fsync(agent.file(&handle)?).map_err(e)?;
            Ok(ok(id).into())
        }
        "lsetstat@openssh.com" => {
            let (path, attrs): (String, FileAttributes) = decode(request, &mut bytes)?;
            set_attrs(Target::Path(&path, false), &attrs)?;
            Ok(ok(id).into())
        }
        "limits@openssh.com" => reply(
            id,
            &LimitsExtension {
                max_packet_len: u64::from(MAX_PACKET),
                max_read_len: u64::from(MAX_IO),
                max_write_len: u64::from(MAX_IO),
                max_open_handles: MAX_HANDLES as u64,
            },
        ),
        other => Err(errno::status(
            95,
            &format!("extension {other:?} is not supported"),
        )),
    }
}
