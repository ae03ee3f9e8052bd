//! Table-driven cases (the original tool's list is the floor) and property tests.

use proptest::prelude::*;

use super::*;

/// (input, default type, expected `type user host port service sequence` or `ERR substring`).
const CASES: &[(&str, DestType, &str)] = &[
    // The original tool's cases.
    ("host", DestType::Ssh, "ssh - host 0 - 0"),
    ("alice@host", DestType::Ssh, "ssh alice host 0 - 0"),
    ("host:2222", DestType::Ssh, "ssh - host 2222 - 0"),
    ("alice@host:2222", DestType::Ssh, "ssh alice host 2222 - 0"),
    ("ssh://host", DestType::Docker, "ssh - host 0 - 0"),
    (
        "ssh://alice@host:22",
        DestType::Docker,
        "ssh alice host 22 - 0",
    ),
    (
        "ssh://alice@[::1]:2222",
        DestType::Ssh,
        "ssh alice ::1 2222 - 0",
    ),
    (
        "ssh://[fe80::1%eth0]",
        DestType::Ssh,
        "ssh - fe80::1%eth0 0 - 0",
    ),
    ("ssh://::1", DestType::Ssh, "ssh - ::1 0 - 0"),
    ("2001:db8::1", DestType::Ssh, "ssh - 2001:db8::1 0 - 0"),
    ("docker://web", DestType::Ssh, "docker - web 0 - 0"),
    (
        "docker://3f4e2a1b9c0d",
        DestType::Ssh,
        "docker - 3f4e2a1b9c0d 0 - 0",
    ),
    ("web-1", DestType::Docker, "docker - web-1 0 - 0"),
    ("podman://web", DestType::Ssh, "podman - web 0 - 0"),
    (
        "podman://3f4e2a1b9c0d",
        DestType::Docker,
        "podman - 3f4e2a1b9c0d 0 - 0",
    ),
    ("web_2.x", DestType::Podman, "podman - web_2.x 0 - 0"),
    ("ssh://web", DestType::Podman, "ssh - web 0 - 0"),
    (
        "compose://proj/app",
        DestType::Ssh,
        "compose - proj 0 app 0",
    ),
    ("compose://./app", DestType::Ssh, "compose - . 0 app 0"),
    (
        "compose://proj/app/2",
        DestType::Ssh,
        "compose - proj 0 app 2",
    ),
    ("compose://./app/3", DestType::Ssh, "compose - . 0 app 3"),
    ("proj/app/1", DestType::Compose, "compose - proj 0 app 1"),
    ("local://", DestType::Ssh, "local - - 0 - 0"),
    ("alice@bob@host", DestType::Ssh, "ssh alice@bob host 0 - 0"),
    ("", DestType::Ssh, "ERR destination must not be empty"),
    (
        "k8s://pod",
        DestType::Ssh,
        "ERR unknown destination scheme \"k8s\"",
    ),
    (
        "docker://",
        DestType::Ssh,
        "ERR must include a container name",
    ),
    ("docker://a/b", DestType::Ssh, "ERR invalid character '/'"),
    ("docker://a@b", DestType::Ssh, "ERR invalid character '@'"),
    (
        "podman://",
        DestType::Ssh,
        "ERR podman destination must include a container name",
    ),
    (
        "podman://a/b",
        DestType::Ssh,
        "ERR podman container \"a/b\" contains the invalid character '/'",
    ),
    (
        "podman://_x",
        DestType::Ssh,
        "ERR podman container \"_x\" must start with a letter or digit",
    ),
    ("alice@host", DestType::Podman, "ERR invalid character '@'"),
    (
        "Podman://web",
        DestType::Ssh,
        "ERR unknown destination scheme",
    ),
    (
        "docker://-x",
        DestType::Ssh,
        "ERR must start with a letter or digit",
    ),
    (
        "compose://",
        DestType::Ssh,
        "ERR must be compose://project/service[/N]",
    ),
    (
        "compose://proj",
        DestType::Ssh,
        "ERR must be compose://project/service[/N]",
    ),
    (
        "compose:///app",
        DestType::Ssh,
        "ERR project name must not be empty",
    ),
    (
        "compose://proj/",
        DestType::Ssh,
        "ERR service name must not be empty",
    ),
    (
        "compose://proj/app/x",
        DestType::Ssh,
        "ERR sequence \"x\" must be a positive integer",
    ),
    (
        "compose://proj/app/0",
        DestType::Ssh,
        "ERR sequence \"0\" must be a positive integer",
    ),
    (
        "compose://proj/app/2/extra",
        DestType::Ssh,
        "ERR sequence \"2/extra\"",
    ),
    (
        "compose://proj/app/+1",
        DestType::Ssh,
        "ERR sequence \"+1\"",
    ),
    (
        "compose://proj/app/99999999999",
        DestType::Ssh,
        "ERR sequence \"99999999999\"",
    ),
    (
        "compose://pro:j/app",
        DestType::Ssh,
        "ERR project \"pro:j\" contains the invalid character ':'",
    ),
    (
        "compose://Proj/app",
        DestType::Ssh,
        "ERR invalid character 'P'",
    ),
    (
        "compose://proj/a:b",
        DestType::Ssh,
        "ERR service \"a:b\" contains the invalid character ':'",
    ),
    ("ssh://alice@", DestType::Ssh, "ERR must include a host"),
    ("ssh://", DestType::Ssh, "ERR must include a host"),
    (
        "ssh://host:abc",
        DestType::Ssh,
        "ERR port \"abc\" is not a number",
    ),
    ("ssh://host:0", DestType::Ssh, "ERR port 0 is out of range"),
    (
        "ssh://host:65536",
        DestType::Ssh,
        "ERR port 65536 is out of range",
    ),
    (
        "ssh://host:+22",
        DestType::Ssh,
        "ERR port \"+22\" is not a number",
    ),
    ("ssh://host:", DestType::Ssh, "ERR empty port"),
    // The original accepted these with an empty host.
    ("ssh://alice@:22", DestType::Ssh, "ERR must include a host"),
    (":22", DestType::Ssh, "ERR must include a host"),
    ("@host", DestType::Ssh, "ERR empty user"),
    ("ssh://[::1", DestType::Ssh, "ERR unclosed '['"),
    (
        "ssh://[::1]x",
        DestType::Ssh,
        "ERR unexpected trailing \"x\"",
    ),
    (
        "ssh://[nothex]:22",
        DestType::Ssh,
        "ERR [nothex] is not an IPv6 address",
    ),
    ("ssh://a:b:c", DestType::Ssh, "ERR is not an IPv6 address"),
    (
        "ssh://host/path",
        DestType::Ssh,
        "ERR invalid character '/'",
    ),
    ("ssh://ho st", DestType::Ssh, "ERR invalid character ' '"),
    (
        "local://host",
        DestType::Ssh,
        "ERR local destination takes no host",
    ),
    (
        "web",
        DestType::Local,
        "ERR local destination takes no host",
    ),
];

fn render(d: &Destination) -> String {
    let dash = |s: &str| {
        if s.is_empty() {
            "-".to_string()
        } else {
            s.to_string()
        }
    };
    format!(
        "{} {} {} {} {} {}",
        d.dest_type,
        dash(&d.user),
        dash(&d.host),
        d.port,
        dash(&d.service),
        d.sequence
    )
}

#[test]
fn table() {
    for (input, default, want) in CASES {
        let got = parse_destination(input, *default);
        match (want.strip_prefix("ERR "), got) {
            (Some(msg), Err(e)) => {
                assert_eq!(e.code(), ErrorCode::InvalidArgument, "{input:?}");
                assert!(e.to_string().contains(msg), "{input:?}: {e} lacks {msg:?}");
            }
            (None, Ok(d)) => {
                assert_eq!(render(&d), *want, "{input:?}");
                assert_eq!(d.raw, *input, "raw must be untouched");
            }
            (_, got) => panic!("{input:?}: want {want}, got {got:?}"),
        }
    }
}

fn arb_destination() -> impl Strategy<Value = Destination> {
    let name = "[a-z0-9][a-z0-9_-]{0,12}";
    prop_oneof![
        (
            proptest::option::of("[a-z_][a-z0-9_.-]{0,8}"),
            prop_oneof![
                name.prop_map(String::from),
                Just("::1".to_string()),
                Just("fe80::2%lo".to_string())
            ],
            0u16..=65535
        )
            .prop_map(|(user, host, port)| Destination {
                dest_type: DestType::Ssh,
                user: user.unwrap_or_default(),
                host,
                port,
                service: String::new(),
                sequence: 0,
                raw: String::new(),
            }),
        (
            prop_oneof![Just(DestType::Docker), Just(DestType::Podman)],
            "[a-zA-Z0-9][a-zA-Z0-9_.-]{0,20}"
        )
            .prop_map(|(dest_type, host)| Destination {
                dest_type,
                user: String::new(),
                host,
                port: 0,
                service: String::new(),
                sequence: 0,
                raw: String::new(),
            }),
        (
            prop_oneof![name.prop_map(String::from), Just(".".to_string())],
            "[a-zA-Z0-9_.-]{1,10}",
            0u32..1000
        )
            .prop_map(|(host, service, sequence)| Destination {
                dest_type: DestType::Compose,
                user: String::new(),
                host,
                port: 0,
                service,
                sequence,
                raw: String::new(),
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Any input gives a destination or an `invalid-argument` error naming the input; never a panic.
    #[test]
    fn never_panics(s in any::<String>(), t in prop_oneof![Just(DestType::Ssh), Just(DestType::Docker), Just(DestType::Podman), Just(DestType::Compose), Just(DestType::Local)]) {
        match parse_destination(&s, t) {
            Ok(d) => prop_assert_eq!(d.raw, s),
            Err(e) => prop_assert_eq!(e.code(), ErrorCode::InvalidArgument),
        }
    }

    /// Inputs built from the grammar's own pieces, including the separators, never panic either.
    #[test]
    fn never_panics_on_grammar_soup(s in "[a-z0-9@:/\\[\\]%.]{0,24}") {
        let _ = parse_destination(&s, DestType::Ssh);
        let _ = parse_destination(&format!("ssh://{s}"), DestType::Ssh);
        let _ = parse_destination(&format!("compose://{s}"), DestType::Ssh);
    }

    /// The canonical form parses back to the same fields.
    #[test]
    fn display_round_trips(d in arb_destination()) {
        let text = d.to_string();
        let back = parse_destination(&text, DestType::Ssh);
        prop_assert!(back.is_ok(), "{text}: {:?}", back);
        let back = back.unwrap_or_else(|_| unreachable!());
        prop_assert_eq!(Destination { raw: String::new(), ..back }, d);
    }
}
