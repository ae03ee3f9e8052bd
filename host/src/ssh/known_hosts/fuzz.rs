//! Property tests against hostile known_hosts text: arbitrary lines, soup of markers, patterns,
//! hashed names and mangled key blobs (hostile length fields included), whole files of arbitrary
//! bytes, and valid lines that must read back. A line is used or skipped, a file gives a
//! verdict; nothing panics.

use proptest::prelude::*;
use proptest::test_runner::TestRunner;

use super::tests::{KEY_A, KEY_B, RSA};
use super::*;

/// The largest token tried: far beyond any real known_hosts line, small enough for a debug
/// build.
const HUGE: usize = 64 * 1024;

/// A real key's wire blob, damaged: a byte changed, cut short, or a length field (every blob
/// field starts with a 4-byte length) set to a value up to 4 GiB.
fn mangled_key() -> impl Strategy<Value = String> {
    (
        prop::sample::select(&[KEY_A, KEY_B, RSA][..]),
        any::<prop::sample::Index>(),
        any::<u8>(),
        prop_oneof![Just(u32::MAX), Just(0x8000_0000), any::<u32>()],
        0u8..3,
    )
        .prop_map(|(key, at, byte, len, how)| {
            let mut blob = BASE64
                .decode(key.as_bytes())
                .unwrap_or_else(|e| panic!("{e}"));
            let i = at.index(blob.len());
            match how {
                0 => blob[i] ^= byte | 1,
                1 => blob.truncate(i),
                _ => {
                    let end = (i + 4).min(blob.len());
                    blob[i..end].copy_from_slice(&len.to_be_bytes()[..end - i]);
                }
            }
            BASE64.encode(&blob)
        })
}

/// A host field: patterns, negations, `[host]:port`, hashed names with bad parts, NUL, huge.
fn host_field() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z0-9.*?!,-]{1,30}",
        1 => "\\[[a-z0-9.:]{1,15}\\]:[0-9]{1,6}",
        1 => "\\|1\\|[A-Za-z0-9+/=|]{0,40}",
        1 => "\\|[0-9]\\|[ -~]{0,20}",
        1 => "[a-z]{0,4}\0[a-z]{0,4}",
        1 => Just(",".repeat(HUGE)),
        1 => Just("a".repeat(HUGE)),
    ]
}

/// A line as hostile as the format allows, built from its own pieces.
fn soup_line() -> impl Strategy<Value = String> {
    let marker = prop::sample::select(&["", "@revoked ", "@cert-authority ", "@bogus ", "@"][..]);
    let kind =
        prop::sample::select(&["ssh-ed25519", "ssh-rsa", "", "x", "ecdsa-sha2-nistp256"][..]);
    let key = prop_oneof![
        2 => prop::sample::select(&[KEY_A, KEY_B, RSA][..]).prop_map(String::from),
        4 => mangled_key(),
        1 => "[A-Za-z0-9+/=]{0,80}",
        1 => "[ -~]{0,40}",
        1 => Just("A".repeat(HUGE)),
    ];
    let comment = prop_oneof![
        "",
        " [ -~]{0,20}",
        any::<String>().prop_map(|s| format!(" {s}"))
    ];
    let sep = prop::sample::select(&[" ", "\t", "  \t "][..]);
    prop_oneof![
        8 => (marker, host_field(), sep, kind, key, comment)
            .prop_map(|(m, h, s, k, b, c)| format!("{m}{h}{s}{k}{s}{b}{c}")),
        1 => any::<String>(),
        1 => "[ -~\t]{0,60}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// Any line is used or skipped, and a used line's host field can be matched against any
    /// name.
    #[test]
    fn any_line_is_used_or_skipped(line in soup_line(), name in "[a-z0-9.\\[\\]:]{0,20}") {
        if let Some(entry) = parse_line(&line, "fuzz:1".into()) {
            let _ = hosts_match(&entry.hosts, &name);
            prop_assert!(line.contains(&entry.hosts));
        }
    }

    /// Any host field and any name, hashed or not, match or do not; never panic.
    #[test]
    fn any_host_field_matches_or_not(hosts in prop_oneof![host_field(), any::<String>()], name in any::<String>()) {
        let _ = hosts_match(&hosts, &name);
    }

    /// A valid line reads back with its marker, hosts and key, and its host field matches each
    /// name it lists and no other.
    #[test]
    fn valid_lines_read_back(
        marker in prop::sample::select(&[("", Marker::None), ("@revoked ", Marker::Revoked), ("@cert-authority ", Marker::CertAuthority)][..]),
        names in prop::collection::vec(prop_oneof!["[a-z0-9][a-z0-9.-]{0,15}", "\\[[a-z0-9.]{1,15}\\]:[0-9]{1,5}"], 1..5),
        key in prop::sample::select(&[("ssh-ed25519", KEY_A), ("ssh-ed25519", KEY_B), ("ssh-rsa", RSA)][..]),
        comment in "( [ -~]{0,20})?",
    ) {
        let hosts = names.join(",");
        let line = format!("{}{hosts} {} {}{comment}", marker.0, key.0, key.1);
        let entry = parse_line(&line, "fuzz:1".into());
        prop_assert!(entry.is_some(), "{line}");
        let entry = entry.unwrap_or_else(|| unreachable!());
        prop_assert_eq!(entry.marker, marker.1);
        prop_assert_eq!(&entry.hosts, &hosts);
        let want = russh::keys::parse_public_key_base64(key.1).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(entry.key.key_data() == want.key_data());
        for name in &names {
            prop_assert!(hosts_match(&hosts, name), "{hosts} {name}");
            prop_assert!(!hosts_match(&hosts, &format!("{name}_other")), "{hosts} {name}");
        }
    }

    /// A hashed name matches the name it was made from, whatever the salt, and nothing else.
    #[test]
    fn hashed_names_match_only_their_name(
        salt in prop::collection::vec(any::<u8>(), 1..64),
        name in any::<String>(),
    ) {
        let mac = Hmac::<Sha1>::new_from_slice(&salt)
            .map_err(|e| TestCaseError::fail(e.to_string()))?
            .chain_update(name.as_bytes())
            .finalize()
            .into_bytes();
        let hashed = format!("|1|{}|{}", BASE64.encode(&salt), BASE64.encode(&mac));
        prop_assert!(hosts_match(&hashed, &name));
        let other = format!("{name}x");
        prop_assert!(!hosts_match(&hashed, &other));
    }
}

/// Whole files, as arbitrary bytes (NUL and invalid UTF-8 included) or as soup, give every
/// lookup a verdict: under `yes` the key is accepted only when some line vouches for it, and
/// refused with `access-denied` otherwise.
#[test]
fn any_file_gives_a_verdict() {
    let dir = std::env::temp_dir().join(format!("remote-kh-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let policy = HostKeyPolicy {
        strict: StrictHostKeyChecking::Yes,
        user_files: vec![dir.join("known_hosts")],
        global_files: vec![],
    };
    let file = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        prop::collection::vec(soup_line(), 0..10).prop_map(|l| l.join("\n").into_bytes()),
    ];
    let ours = russh::Preferred::DEFAULT.key.to_vec();
    let result = TestRunner::new(ProptestConfig {
        cases: 200,
        ..ProptestConfig::default()
    })
    .run(&(file, "[a-z0-9.]{1,12}"), |(bytes, name)| {
        std::fs::write(&policy.user_files[0], &bytes)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let key = russh::keys::parse_public_key_base64(KEY_A)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        if let Err(e) = policy.verify(&name, &key) {
            prop_assert_eq!(e.code(), ErrorCode::AccessDenied, "{}", e);
        }
        prop_assert_eq!(policy.preferred_algorithms(&name, &ours).len(), ours.len());
        Ok(())
    });
    let _ = std::fs::remove_dir_all(&dir);
    result.unwrap_or_else(|e| panic!("{e}"));
}
