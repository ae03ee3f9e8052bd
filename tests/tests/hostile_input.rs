//! Command lines and environment values holding every character from U+0001 to U+00FF (and
//! beyond) reach the target unchanged over `local://`, `ssh://` and `docker://`; a NUL is
//! refused before anything runs; and random command lines end in a status or an error, never a
//! hang.

use std::time::Duration;

use remote_host::conformance::support::Xorshift;
use remote_host::{Backend, ErrorCode, ExitStatus};
use remote_tests::{backends, exec};

/// A bound on one command.
const STEP: Duration = Duration::from_secs(30);

/// Every character from U+0001 to U+00FF, then some from other planes.
fn every_char() -> String {
    (1u32..=0xff)
        .filter_map(char::from_u32)
        .chain("€ 字 🦀 \u{200b}".chars())
        .collect()
}

/// `s` as one word for `/bin/sh`.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

async fn every_character_round_trips(b: &dyn Backend, random_lines: usize) {
    let kind = b.backend_type();
    let value = every_char();

    let (status, out, _) = tokio::time::timeout(
        STEP,
        exec(b, "printf '%s' \"$HOSTILE\"", &[("HOSTILE", &value)]),
    )
    .await
    .unwrap_or_else(|_| panic!("{kind}: env round trip hung"))
    .unwrap_or_else(|e| panic!("{kind}: env round trip: {e}"));
    assert_eq!(status, ExitStatus::Exited(0), "{kind}");
    assert!(
        out == value,
        "{kind}: the environment value came back changed"
    );

    let cmd = format!("printf '%s' {}", quoted(&value));
    let (status, out, _) = tokio::time::timeout(STEP, exec(b, &cmd, &[]))
        .await
        .unwrap_or_else(|_| panic!("{kind}: command line round trip hung"))
        .unwrap_or_else(|e| panic!("{kind}: command line round trip: {e}"));
    assert_eq!(status, ExitStatus::Exited(0), "{kind}");
    assert!(out == value, "{kind}: the command line came back changed");

    for (name, value) in [("A\0B", "x"), ("A", "x\0y"), ("", "x"), ("A=B", "x")] {
        let mut s = b
            .new_session()
            .await
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        let refused = s.setenv(name, value).map_err(|e| e.code());
        assert_eq!(
            refused,
            Err(ErrorCode::InvalidArgument),
            "{kind}: setenv({name:?}, {value:?})"
        );
        let _ = s.close().await;
    }

    let nul = exec(b, "echo a\0b", &[]).await.map_err(|e| e.code());
    assert_eq!(
        nul.err(),
        Some(ErrorCode::InvalidArgument),
        "{kind}: a NUL in a command line"
    );

    // Random lines of printable and control characters: shell syntax errors and all, each ends
    // in a status or an error within the bound.
    let mut rng = Xorshift(0x00c0_ffee_d00d);
    let alphabet: Vec<char> = every_char().chars().filter(|c| *c != '\u{0}').collect();
    for i in 0..random_lines {
        let len = (rng.next_u64() % 40) as usize;
        let line: String = (0..len)
            .map(|_| alphabet[(rng.next_u64() % alphabet.len() as u64) as usize])
            .collect();
        // Never a command that could wait on stdin, sleep or touch the machine.
        let line = format!("exit 0; {line}");
        let r = tokio::time::timeout(STEP, exec(b, &line, &[]))
            .await
            .unwrap_or_else(|_| panic!("{kind}: random line {i} hung: {line:?}"));
        if let Err(e) = r {
            assert!(!e.message().is_empty(), "{kind}: line {i}: {e:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_character_reaches_local_unchanged() {
    let b = backends::local().await;
    every_character_round_trips(b.as_ref(), 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_character_reaches_ssh_unchanged() {
    let b = backends::ssh().await;
    every_character_round_trips(b.as_ref(), 200).await;
    b.close().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_character_reaches_docker_unchanged() {
    let b = backends::docker_busybox().await;
    every_character_round_trips(b.as_ref(), 50).await;
    b.close().await.unwrap_or_else(|e| panic!("{e}"));
}
