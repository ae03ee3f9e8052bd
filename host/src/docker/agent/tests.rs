//! The embedded agents and the checks a found copy must pass before it is run.

use super::*;

fn platform(os: &str, arch: &str) -> PlatformInfo {
    PlatformInfo {
        os: os.into(),
        arch: arch.into(),
        variant: String::new(),
    }
}

#[test]
fn amd64_is_embedded_and_other_platforms_say_what_is_missing() {
    let amd64 = binary(&platform("linux", "amd64"), "c").expect("the amd64 agent is built");
    assert!(amd64.starts_with(b"\x7fELF"), "an ELF binary");
    for (os, arch, names) in [
        ("linux", "riscv64", "linux/riscv64"),
        ("windows", "amd64", "windows/amd64"),
    ] {
        let e = binary(&platform(os, arch), "c").expect_err("no agent there");
        assert_eq!(e.code(), ErrorCode::Unsupported, "{e}");
        assert!(e.message().contains(names), "{e}");
    }
    if agent_for("arm64").is_none() {
        let e = binary(&platform("linux", "arm64"), "c").expect_err("arm64 was not built");
        assert!(
            e.message()
                .contains("rustup target add aarch64-unknown-linux-musl"),
            "{e}"
        );
    }
}

/// A one-entry archive as the daemon sends it: `kind`, owner `uid`, `mode`, `content`.
fn archive(kind: tar::EntryType, uid: u64, mode: u32, content: &[u8]) -> Vec<u8> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_uid(uid);
    header.set_mode(mode);
    header.set_size(content.len() as u64);
    let mut builder = tar::Builder::new(Vec::new());
    builder
        .append_data(&mut header, ".remote-agent-x", content)
        .expect("an in-memory archive");
    builder.into_inner().expect("an in-memory archive")
}

#[test]
fn only_an_exact_root_owned_copy_that_only_root_can_change_is_trusted() {
    let agent = b"\x7fELF the agent!!".as_slice();
    let regular = tar::EntryType::Regular;
    assert_eq!(
        check_archive(&archive(regular, 0, 0o755, agent), agent),
        Ok(())
    );
    assert_eq!(
        check_archive(&archive(regular, 0, 0o555, agent), agent),
        Ok(())
    );
    let same_size = b"#!/bin/sh pwned!".as_slice();
    assert_eq!(same_size.len(), agent.len());
    let mut truncated = archive(regular, 0, 0o755, agent);
    truncated.truncate(512 + 4);
    let cases: [(Vec<u8>, &str); 12] = [
        (archive(regular, 0, 0o755, same_size), "SHA-256 differs"),
        (
            archive(regular, 0, 0o755, &agent[1..]),
            "15 bytes where the agent has 16",
        ),
        (archive(regular, 1000, 0o755, agent), "owned by uid 1000"),
        (
            archive(regular, 0, 0o777, agent),
            "writable by group or others (mode 777)",
        ),
        (
            archive(regular, 0, 0o775, agent),
            "writable by group or others",
        ),
        (
            archive(regular, 0, 0o757, agent),
            "writable by group or others",
        ),
        (archive(regular, 0, 0o4755, agent), "setuid or setgid"),
        (archive(regular, 0, 0o2755, agent), "setuid or setgid"),
        (
            archive(regular, 0, 0o750, agent),
            "not executable by everyone",
        ),
        (
            archive(tar::EntryType::Symlink, 0, 0o755, b""),
            "not a regular file",
        ),
        (
            archive(tar::EntryType::Directory, 0, 0o755, b""),
            "not a regular file",
        ),
        (truncated, "ends after 4 of 16 bytes"),
    ];
    for (tar, want) in cases {
        let why = check_archive(&tar, agent).expect_err(want);
        assert!(why.contains(want), "want {want:?} in {why:?}");
    }
    let why = check_archive(&[0; 1024], agent).expect_err("an empty archive");
    assert!(why.contains("empty"), "{why}");
    let why = check_archive(b"not a tar", agent).expect_err("garbage");
    assert!(
        why.contains("does not parse") || why.contains("empty"),
        "{why}"
    );
}

#[test]
fn a_directory_others_may_write_is_safe_only_when_sticky() {
    let dir = GO_MODE_DIR;
    assert_eq!(dir_unsafe(dir | 0o755), None, "/");
    assert_eq!(dir_unsafe(dir | GO_MODE_STICKY | 0o777), None, "/tmp");
    assert_eq!(dir_unsafe(dir | 0o700), None);
    for mode in [dir | 0o777, dir | 0o775, dir | 0o757] {
        let why = dir_unsafe(mode).unwrap_or_else(|| panic!("{mode:o} is unsafe"));
        assert!(why.contains("without the sticky bit"), "{why}");
        assert!(why.contains(&format!("{:o}", mode & 0o777)), "{why}");
    }
    let symlink = 1 << 27;
    for mode in [0o755, symlink | 0o777] {
        assert_eq!(dir_unsafe(mode).as_deref(), Some("not a directory"));
    }
}

#[tokio::test]
async fn reading_stops_at_the_limit() {
    let read = std::sync::atomic::AtomicUsize::new(0);
    let chunks = futures::stream::iter(0..1000).map(|_| {
        read.fetch_add(1, Ordering::Relaxed);
        Ok::<_, std::io::Error>(bytes::Bytes::from(vec![0; 1 << 20]))
    });
    let got = read_bounded(chunks, (3 << 20) + 1).await.expect("no error");
    assert!(got.is_none(), "past the limit");
    assert_eq!(read.load(Ordering::Relaxed), 4, "the rest is never read");
    let small = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from("ab"))]);
    assert_eq!(
        read_bounded(small, 2).await.ok().flatten(),
        Some(b"ab".to_vec())
    );
}

#[test]
fn the_install_name_is_the_content_hash() {
    let name = agent_install_name(b"abc");
    assert_eq!(name, ".remote-agent-ba7816bf8f01cfea414140de");
}
