//! Files into a container through the archive API (`PUT /containers/{id}/archive`): a one-entry
//! tar the daemon unpacks, with the entry's mode and owner, and no shell or tool in the container.

use bollard::query_parameters::UploadToContainerOptions;

use super::{Container, errors};
use crate::error::{Error, ErrorCode, Result};

/// Writes `bytes` as `dir/name` with permission bits `mode` and owner `(uid, gid)`. The daemon
/// replaces an existing file by unlinking it first, so a process running the old file keeps it.
pub async fn put_file(
    c: &Container,
    dir: &str,
    name: &str,
    bytes: &[u8],
    mode: u32,
    (uid, gid): (u32, u32),
) -> Result<()> {
    let target = format!("{}/{name}", dir.trim_end_matches('/'));
    let tar_err = |e: std::io::Error| {
        Error::new(
            ErrorCode::Io,
            "upload",
            &target,
            format!("building the tar archive: {e}"),
        )
    };
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(mode);
    header.set_uid(u64::from(uid));
    header.set_gid(u64::from(gid));
    header.set_mtime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    );
    header.set_entry_type(tar::EntryType::Regular);
    let mut builder = tar::Builder::new(Vec::with_capacity(bytes.len() + 2048));
    builder
        .append_data(&mut header, name, bytes)
        .map_err(tar_err)?;
    let tar = builder.into_inner().map_err(tar_err)?;
    c.docker
        .upload_to_container(
            &c.id,
            Some(UploadToContainerOptions {
                path: dir.to_string(),
                no_overwrite_dir_non_dir: Some("true".into()),
                copy_uidgid: None,
            }),
            bollard::body_full(tar.into()),
        )
        .await
        .map_err(|e| errors::map(&c.endpoint, "upload", &target, e))
}

/// Sixteen hex digits nobody in the container can predict, for temporary names beside a
/// destination, so nobody can prepare a file, link or directory there in advance. std's
/// `RandomState` keys SipHash from the operating system's random source, which spares a
/// dependency; the time and process id make two values of one process differ.
pub fn random_tag() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_tags_are_sixteen_hex_digits_and_differ() {
        let (a, b) = (random_tag(), random_tag());
        assert_eq!(a.len(), 16, "{a}");
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()), "{a}");
        assert_ne!(a, b);
    }
}
