//! Property tests against hostile ssh_config text: arbitrary text, soup of the real keywords with
//! NUL, 64 KiB tokens and unbalanced quotes, `Include` loops, and valid lines that must read
//! back as written. Whatever the text, parsing and resolving give a value or an
//! `invalid-argument` error naming the line; they never panic and never loop.

use proptest::prelude::*;
use proptest::test_runner::TestRunner;

use super::*;

/// Option keywords of the soup: every one [`apply`] reads, plus one it skips. `Include` is left
/// to the tests with a home of their own, so soup never reads files outside one.
const KEYWORDS: &[&str] = &[
    "HostName",
    "Port",
    "User",
    "IdentityFile",
    "IdentitiesOnly",
    "ProxyJump",
    "ProxyCommand",
    "ConnectTimeout",
    "ServerAliveInterval",
    "ServerAliveCountMax",
    "UserKnownHostsFile",
    "GlobalKnownHostsFile",
    "StrictHostKeyChecking",
    "HostKeyAlias",
    "IdentityAgent",
    "Compression",
];

/// The words `Match` knows, negated ones, and one it does not.
const MATCH_WORDS: &[&str] = &[
    "all",
    "host",
    "!host",
    "originalhost",
    "user",
    "!localuser",
    "exec",
    "canonical",
    "final",
    "localnetwork",
    "tagged",
    "bogus",
];

/// The largest token tried: far beyond any real config, small enough for a debug build.
const HUGE: usize = 64 * 1024;

fn home() -> &'static Path {
    Path::new("/nonexistent-remote-fuzz-home")
}

fn lookup(alias: &str) -> Lookup<'_> {
    Lookup {
        alias,
        user: None,
        local_user: "me",
    }
}

/// A keyword in one of the spellings OpenSSH accepts (any case).
fn spelled(words: &'static [&'static str]) -> impl Strategy<Value = String> {
    (prop::sample::select(words), 0u8..3).prop_map(|(w, case)| match case {
        0 => w.to_string(),
        1 => w.to_ascii_lowercase(),
        _ => w.to_ascii_uppercase(),
    })
}

/// One argument as hostile as the grammar allows: empty, NUL, unbalanced or stray quotes,
/// patterns, numbers that overflow, `%` tokens, any Unicode, or a 64 KiB run.
fn hostile_value() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[ -~]{0,24}",
        2 => "[a-z0-9*?!,.%-]{1,16}",
        2 => "[0-9]{1,25}",
        1 => Just(String::new()),
        1 => "\"[^\"\n]{0,10}",
        1 => "[a-z]{0,4}\"[a-z ]{0,4}\"[a-z]{0,4}",
        1 => "[a-z]{0,4}\0[a-z]{0,4}",
        1 => "%[a-zA-Z%]?",
        2 => any::<String>(),
        1 => Just("x".repeat(HUGE)),
    ]
}

/// A line of the soup: an option, a block header, a comment or noise, with either separator.
fn soup_line() -> impl Strategy<Value = String> {
    let sep = prop::sample::select(&[" ", "=", " = ", "\t", "   ", "= "][..]);
    let values = || prop::collection::vec(hostile_value(), 0..4).prop_map(|v| v.join(" "));
    prop_oneof![
        6 => (spelled(KEYWORDS), sep.clone(), values())
            .prop_map(|(k, s, v)| format!("  {k}{s}{v}")),
        2 => (sep, values()).prop_map(|(s, v)| format!("Host{s}{v}")),
        2 => prop::collection::vec((spelled(MATCH_WORDS), hostile_value()), 0..3).prop_map(|c| {
            let words: Vec<String> = c.into_iter().map(|(w, v)| format!("{w} {v}")).collect();
            format!("Match {}", words.join(" "))
        }),
        1 => values().prop_map(|v| format!("# {v}")),
        1 => "[ -~\t\r]{0,40}",
    ]
}

/// Checks that `text` reads as a config or an `invalid-argument` error naming one of its lines,
/// and that a config resolves for `alias` the same way.
fn read_and_resolve(text: &str, alias: &str) -> std::result::Result<(), TestCaseError> {
    let lines = text.lines().count();
    let names_a_line = |e: &Error| {
        e.code() == ErrorCode::InvalidArgument
            && e.target()
                .strip_prefix("fuzz:")
                .and_then(|n| n.parse::<usize>().ok())
                .is_some_and(|n| (1..=lines).contains(&n))
    };
    let cfg = match SshConfig::parse(text, "fuzz", home()) {
        Ok(cfg) => cfg,
        Err(e) => {
            prop_assert!(names_a_line(&e), "{e}");
            return Ok(());
        }
    };
    match cfg.resolve(&lookup(alias)) {
        Ok(c) => {
            prop_assert_ne!(c.port, Some(0));
            let tokens = Tokens {
                home: home(),
                host: c.hostname.as_deref().unwrap_or(alias),
                alias,
                port: c.port.unwrap_or(22),
                remote_user: c.user.as_deref().unwrap_or("me"),
                local_user: "me",
            };
            for file in &c.identity_files {
                if let Err(e) = expand_path(file, &tokens) {
                    prop_assert_eq!(e.code(), ErrorCode::InvalidArgument, "{}", e);
                }
            }
        }
        Err(e) => prop_assert!(names_a_line(&e), "{e}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// Any text, control characters and all, reads or is refused with the line that is wrong.
    #[test]
    fn arbitrary_text_reads_or_names_the_bad_line(
        text in prop_oneof![any::<String>(), "[ -~\t\r\n\"=#]{0,200}"],
        alias in "[a-z0-9.*-]{0,12}",
    ) {
        read_and_resolve(&text, &alias)?;
    }

    /// Blocks and options built from the real keywords with hostile values, in any order.
    #[test]
    fn keyword_soup_reads_or_names_the_bad_line(
        lines in prop::collection::vec(soup_line(), 0..30),
        crlf in any::<bool>(),
        alias in "[a-z0-9.-]{0,12}",
    ) {
        let text = lines.join(if crlf { "\r\n" } else { "\n" });
        read_and_resolve(&text, &alias)?;
    }

    /// The `*`/`?` matcher takes any pattern and text, and a literal pattern matches itself.
    #[test]
    fn wildcards_take_any_pattern(pattern in "[a-z*?!]{0,40}", text in "[a-zA-Z]{0,40}") {
        let _ = wildcard_match(&pattern, &text, true);
        let _ = pattern_list_matches(std::slice::from_ref(&pattern), &text);
        prop_assert!(wildcard_match(&text, &text, false));
        prop_assert!(wildcard_match(&text.to_ascii_uppercase(), &text, true));
    }
}

/// Valid options, each written once as the value that must win and once more as a decoy.
#[derive(Debug, Clone)]
struct Valid {
    hostname: Option<String>,
    port: Option<u16>,
    user: Option<String>,
    identity_files: Vec<String>,
    identities_only: Option<bool>,
    proxy_jump: Option<Vec<String>>,
    connect_timeout: Option<u64>,
    server_alive_count_max: Option<u32>,
    strict: Option<StrictHostKeyChecking>,
    host_key_alias: Option<String>,
}

fn valid() -> impl Strategy<Value = Valid> {
    let host = "[a-z][a-z0-9.-]{0,20}";
    (
        (
            proptest::option::of(host),
            proptest::option::of(1u16..=65535),
            proptest::option::of("[a-z_][a-z0-9_-]{0,12}"),
            prop::collection::vec("~/[a-z._-]{1,8}( [a-z]{1,5})?", 0..4),
            proptest::option::of(any::<bool>()),
        ),
        (
            proptest::option::of(prop::collection::vec(host, 1..4)),
            proptest::option::of(0u64..1_000_000),
            proptest::option::of(any::<u32>()),
            proptest::option::of(prop::sample::select(
                &[
                    StrictHostKeyChecking::Yes,
                    StrictHostKeyChecking::AcceptNew,
                    StrictHostKeyChecking::No,
                ][..],
            )),
            proptest::option::of(host),
        ),
    )
        .prop_map(
            |(
                (hostname, port, user, identity_files, identities_only),
                (proxy_jump, connect_timeout, server_alive_count_max, strict, host_key_alias),
            )| Valid {
                hostname,
                port,
                user,
                identity_files,
                identities_only,
                proxy_jump,
                connect_timeout,
                server_alive_count_max,
                strict,
                host_key_alias,
            },
        )
}

impl Valid {
    /// `(keyword, value)` pairs, the value as it must read back.
    fn lines(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut add = |k, v: Option<String>| out.extend(v.map(|v| (k, v)));
        add("HostName", self.hostname.clone());
        add("Port", self.port.map(|p| p.to_string()));
        add("User", self.user.clone());
        add(
            "IdentitiesOnly",
            self.identities_only
                .map(|b| if b { "yes" } else { "no" }.into()),
        );
        add("ProxyJump", self.proxy_jump.as_ref().map(|j| j.join(",")));
        add(
            "ConnectTimeout",
            self.connect_timeout.map(|s| s.to_string()),
        );
        add(
            "ServerAliveCountMax",
            self.server_alive_count_max.map(|n| n.to_string()),
        );
        add(
            "StrictHostKeyChecking",
            self.strict.map(|s| {
                match s {
                    StrictHostKeyChecking::Yes => "yes",
                    StrictHostKeyChecking::AcceptNew => "accept-new",
                    StrictHostKeyChecking::No => "no",
                }
                .into()
            }),
        );
        add("HostKeyAlias", self.host_key_alias.clone());
        out
    }

    fn expected(&self) -> HostConfig {
        HostConfig {
            hostname: self.hostname.clone(),
            port: self.port,
            user: self.user.clone(),
            identity_files: self.identity_files.clone(),
            identities_only: self.identities_only,
            proxy_jump: self.proxy_jump.clone(),
            connect_timeout: self.connect_timeout.map(Duration::from_secs),
            server_alive_count_max: self.server_alive_count_max,
            strict_host_key_checking: self.strict,
            host_key_alias: self.host_key_alias.clone(),
            ..HostConfig::default()
        }
    }
}

/// A value as a config writes it: quoted when it must be, or by choice.
fn quoted(v: &str, by_choice: bool) -> String {
    if by_choice || v.contains(' ') {
        format!("\"{v}\"")
    } else {
        v.to_string()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// Valid options read back as written, in any keyword case, with either separator, quoted or
    /// not, under a block that applies; a later decoy never overrides the first value, and every
    /// `IdentityFile` is kept in order.
    #[test]
    fn valid_options_read_back(
        v in valid(),
        header in prop::sample::select(&["", "Host *", "Host web", "Host w?b !db", "Match all"][..]),
        style in prop::collection::vec((0u8..3, 0u8..3, any::<bool>()), 16),
    ) {
        let mut text = format!("{header}\n");
        let lines = v.lines();
        for ((key, value), (case, sep, quote)) in lines.iter().zip(style.iter().cycle()) {
            let key = match case {
                0 => key.to_string(),
                1 => key.to_ascii_lowercase(),
                _ => key.to_ascii_uppercase(),
            };
            let sep = [" ", "=", " = "][usize::from(*sep)];
            text.push_str(&format!("  {key}{sep}{}\n", quoted(value, *quote)));
        }
        for f in &v.identity_files {
            text.push_str(&format!("  IdentityFile {}\n", quoted(f, false)));
        }
        for (key, _) in &lines {
            let decoy = if *key == "StrictHostKeyChecking" { "no" } else { "1" };
            text.push_str(&format!("  {key} {decoy}\n"));
        }
        let got = SshConfig::parse(&text, "fuzz", home()).and_then(|c| c.resolve(&lookup("web")));
        prop_assert!(got.is_ok(), "{text}\n{got:?}");
        prop_assert_eq!(got.unwrap_or_default(), v.expected(), "{}", text);
    }
}

/// A home whose `~/.ssh` holds files that include each other, removed on drop.
struct IncludeHome(PathBuf);

impl IncludeHome {
    /// Writes `files` (name, text) under `~/.ssh` of a fresh directory named after `test`.
    fn new(test: &str, files: &[(&str, &str)]) -> IncludeHome {
        let dir =
            std::env::temp_dir().join(format!("remote-sshcfg-fuzz-{test}-{}", std::process::id()));
        let ssh = dir.join(".ssh");
        std::fs::create_dir_all(ssh.join("d")).unwrap_or_else(|e| panic!("{e}"));
        for (name, text) in files {
            std::fs::write(ssh.join(name), text).unwrap_or_else(|e| panic!("{e}"));
        }
        IncludeHome(dir)
    }
}

impl Drop for IncludeHome {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Files that include themselves, each other, a glob over themselves, or themselves many times
/// on one line: every read stops at [`MAX_INCLUDE_DEPTH`] with an error naming the loop.
const LOOPS: &[(&str, &str)] = &[
    ("self", "Include self\n"),
    ("a", "Host a\n  User from-a\nInclude b\n"),
    ("b", "Include ~/.ssh/a\n"),
    ("d/1", "Include d/*\n"),
    ("d/2", "Port 2\n"),
    ("fan", "Include fan fan fan fan fan fan fan fan\n"),
    ("leaf", "Host *\n  Port 7\n"),
    ("quoted name", "Include \"quoted name\"\n"),
];

/// Each loop of [`LOOPS`] ends in an error after at most [`MAX_INCLUDE_DEPTH`] nested reads,
/// while a file that includes nothing further reads normally.
#[test]
fn include_loops_end_with_an_error() {
    let home = IncludeHome::new("loops", LOOPS);
    for start in ["self", "a", "b", "d/*", "fan", "\"quoted name\""] {
        let err = SshConfig::parse(&format!("Include {start}\n"), "fuzz", &home.0)
            .err()
            .unwrap_or_else(|| panic!("Include {start} loops, yet it was read"));
        assert_eq!(err.code(), ErrorCode::InvalidArgument, "{err}");
        assert!(err.to_string().contains("nests too deep"), "{err}");
    }
    let leaf = SshConfig::parse("Include leaf missing d/none*\n", "fuzz", &home.0)
        .and_then(|c| c.resolve(&lookup("x")))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(leaf.port, Some(7));
}

/// `Include` lines naming those files, globs over them and missing ones, mixed with options,
/// read or fail with `invalid-argument` and never run away.
#[test]
fn include_soup_reads_or_fails() {
    let home = IncludeHome::new("soup", LOOPS);
    let arg = prop::sample::select(
        &[
            "leaf",
            "self",
            "a",
            "fan",
            "d/*",
            "d/?",
            "l*",
            "missing",
            "~/.ssh/leaf",
            "\"quoted name\"",
            "\"unterminated",
            "",
        ][..],
    );
    let line = prop_oneof![
        prop::collection::vec(arg, 0..3).prop_map(|a| format!("Include {}", a.join(" "))),
        soup_line(),
    ];
    TestRunner::new(ProptestConfig {
        cases: 200,
        ..ProptestConfig::default()
    })
    .run(&prop::collection::vec(line, 0..8), |lines| {
        let text = lines.join("\n");
        if let Err(e) =
            SshConfig::parse(&text, "fuzz", &home.0).and_then(|c| c.resolve(&lookup("web")))
        {
            prop_assert_eq!(e.code(), ErrorCode::InvalidArgument, "{}", e);
        }
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{e}"));
}
