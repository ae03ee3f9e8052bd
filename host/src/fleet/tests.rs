//! Inventories in each format and their errors; the fan-out's bound, order, time limit and
//! fail-fast, on work that only sleeps and counts.

use std::sync::atomic::AtomicUsize;

use super::*;

#[test]
fn inventories_in_every_format() {
    let plain = Inventory::parse(
        "  web-1  \n\n# all of it a comment\nssh://u@web-2:2222 # trailing\n",
        "hosts",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let dests: Vec<&str> = plain.targets.iter().map(|t| t.dest.as_str()).collect();
    assert_eq!(dests, ["web-1", "ssh://u@web-2:2222"]);
    assert!(plain.targets.iter().all(|t| t.group.is_none()));

    let list =
        Inventory::parse(r#"["a", "docker://b"]"#, "l.json").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(list.targets.len(), 2);

    let groups = Inventory::parse(r#"{"web": ["w1", "w2"], "db": ["docker://pg"]}"#, "g.json")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(groups.group("web").count(), 2);
    assert_eq!(
        groups
            .group("db")
            .map(|t| t.dest.as_str())
            .collect::<Vec<_>>(),
        ["docker://pg"]
    );
    assert_eq!(groups.group("none").count(), 0);
}

#[test]
fn bad_inventories_say_what_is_wrong() {
    for (text, want) in [
        ("", "no destination"),
        ("# only a comment\n", "no destination"),
        ("a\nb\na\n", "a is listed twice"),
        ("[\"a\", 3]", "must be a string"),
        ("{\"web\": \"a\"}", "group \"web\" must be a list"),
        ("[\"a\",", "not valid JSON"),
        ("[\" \"]", "an empty destination"),
    ] {
        let e = Inventory::parse(text, "inv")
            .err()
            .unwrap_or_else(|| panic!("{text:?} parsed"));
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{text:?}");
        assert!(
            e.to_string().contains(want) && e.to_string().contains("inv"),
            "{text:?}: {e}"
        );
    }
}

fn targets(n: usize) -> Vec<Target> {
    (0..n).map(|i| Target::new(format!("t{i}"))).collect()
}

#[tokio::test]
async fn at_most_parallel_run_at_once_and_results_keep_the_order() {
    let (now, peak) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let opts = FanOut {
        parallel: 3,
        ..FanOut::default()
    };
    let out = fan_out(
        &targets(10),
        &opts,
        |t| {
            let (now, peak) = (&now, &peak);
            async move {
                let running = now.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(running, Ordering::SeqCst);
                // Later targets finish first: the order must come back anyway.
                let n: u64 = t.dest[1..].parse().unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(50 - 4 * n)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                Ok(t.dest)
            }
        },
        |_| false,
    )
    .await;
    assert_eq!(peak.load(Ordering::SeqCst), 3);
    let dests: Vec<String> = out.iter().map(|o| o.dest.clone()).collect();
    assert_eq!(
        dests,
        targets(10).into_iter().map(|t| t.dest).collect::<Vec<_>>()
    );
    assert!(
        out.iter()
            .all(|o| o.result.as_ref().is_ok_and(|d| *d == o.dest))
    );
}

#[tokio::test]
async fn a_stalled_target_times_out_alone_and_holds_only_its_slot() {
    let opts = FanOut {
        parallel: 2,
        timeout: Some(Duration::from_millis(300)),
        fail_fast: false,
    };
    let finished = AtomicUsize::new(0);
    let out = fan_out(
        &targets(6),
        &opts,
        |t| {
            let finished = &finished;
            async move {
                if t.dest == "t0" {
                    std::future::pending::<()>().await;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                finished.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        },
        |_| false,
    )
    .await;
    let codes: Vec<Option<ErrorCode>> = out
        .iter()
        .map(|o| o.result.as_ref().err().map(Error::code))
        .collect();
    assert_eq!(codes[0], Some(ErrorCode::Timeout));
    assert!(codes[1..].iter().all(Option::is_none), "{codes:?}");
    // The five others ran through the one free slot while t0 held the other.
    assert_eq!(finished.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn fail_fast_starts_nothing_after_a_failure() {
    let opts = FanOut {
        parallel: 1,
        timeout: None,
        fail_fast: true,
    };
    let out = fan_out(
        &targets(4),
        &opts,
        |t| async move { Ok(if t.dest == "t1" { 1 } else { 0 }) },
        |status| *status != 0,
    )
    .await;
    let got: Vec<std::result::Result<i32, ErrorCode>> = out
        .into_iter()
        .map(|o| o.result.map_err(|e| e.code()))
        .collect();
    assert_eq!(
        got,
        [Ok(0), Ok(1), Err(ErrorCode::Busy), Err(ErrorCode::Busy)]
    );
}

#[test]
fn toml_options_fold_from_defaults_through_groups_to_targets() {
    let inv = Inventory::parse(
        r#"
        targets = ["solo"]

        [defaults]
        user = "deploy"
        port = 2200
        identity = "/keys/a"
        timeout = 30

        [web]
        known_hosts = ["/kh/web"]
        strict_host_key_checking = "accept-new"
        targets = ["w1", { dest = "w2", port = 2201, identity = ["/keys/b", "/keys/c"], timeout = 0.5 }]

        [db]
        targets = ["alice@db1:2222"]
        "#,
        "fleet.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let by = |dest: &str| {
        inv.targets
            .iter()
            .find(|t| t.dest == dest)
            .unwrap_or_else(|| panic!("{dest} missing"))
    };
    assert_eq!(by("solo").group, None);
    assert_eq!(by("solo").options.port, Some(2200));
    let w1 = &by("w1").options;
    assert_eq!(
        (w1.user.as_deref(), w1.port, w1.timeout),
        (Some("deploy"), Some(2200), Some(Duration::from_secs(30)))
    );
    assert_eq!(w1.identity, [std::path::PathBuf::from("/keys/a")]);
    assert_eq!(w1.known_hosts, [std::path::PathBuf::from("/kh/web")]);
    assert_eq!(
        w1.strict_host_key_checking,
        Some(crate::ssh::StrictHostKeyChecking::AcceptNew)
    );
    let w2 = &by("w2").options;
    assert_eq!(w2.port, Some(2201));
    assert_eq!(w2.identity.len(), 2);
    assert_eq!(w2.timeout, Some(Duration::from_millis(500)));
    assert_eq!(w2.known_hosts, [std::path::PathBuf::from("/kh/web")]);
    assert_eq!(inv.group("web").count(), 2);

    // The destination's own user and port win; the inventory fills in what it leaves out.
    let db = by("alice@db1:2222")
        .destination(crate::DestType::Ssh)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((db.user.as_str(), db.port), ("alice", 2222));
    let w2 = by("w2")
        .destination(crate::DestType::Ssh)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (w2.user.as_str(), w2.port, w2.host.as_str()),
        ("deploy", 2201, "w2")
    );
    let base = crate::ssh::SshOptions {
        identities: vec!["/keys/cli".into()],
        known_hosts: vec!["/kh/cli".into()],
        ..crate::ssh::SshOptions::default()
    };
    let ssh = by("w2").ssh_options(&base);
    assert_eq!(ssh.identities.len(), 3);
    assert_eq!(ssh.identities[2], std::path::PathBuf::from("/keys/cli"));
    assert_eq!(ssh.known_hosts, [std::path::PathBuf::from("/kh/web")]);
    assert_eq!(by("solo").ssh_options(&base).known_hosts, base.known_hosts);
}

#[test]
fn the_same_options_in_json_and_a_plain_list_that_only_looks_bracketed() {
    let json = Inventory::parse(
        r#"{"defaults": {"user": "u"}, "web": {"port": 2200, "targets": ["a", {"dest": "b", "user": "v"}]}}"#,
        "-",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let users: Vec<Option<&str>> = json
        .targets
        .iter()
        .map(|t| t.options.user.as_deref())
        .collect();
    assert_eq!(users, [Some("u"), Some("v")]);
    assert!(json.targets.iter().all(|t| t.options.port == Some(2200)));

    for (text, name) in [
        (
            "zeta = [\"z\"]\nalpha = [\"a\"]\n[mid]\ntargets = [\"m\"]\n",
            "order.toml",
        ),
        (
            r#"{"zeta": ["z"], "alpha": ["a"], "mid": {"targets": ["m"]}}"#,
            "order.json",
        ),
    ] {
        let inv = Inventory::parse(text, name).unwrap_or_else(|e| panic!("{e}"));
        let dests: Vec<&str> = inv.targets.iter().map(|t| t.dest.as_str()).collect();
        assert_eq!(
            dests,
            ["z", "a", "m"],
            "groups keep the file's order in {name}"
        );
    }

    let v6 = Inventory::parse("[::1]:2222\n[fe80::1]\n", "-").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v6.targets.len(), 2);
    assert_eq!(v6.targets[0].dest, "[::1]:2222");
}

#[test]
fn bad_options_name_the_place_and_the_mistake() {
    for (text, want) in [
        (
            "[defaults]\nprot = 22\nweb = [\"a\"]\n",
            "defaults: bad options: unknown field `prot`",
        ),
        (
            "[web]\nport = 0\ntargets = [\"a\"]\n",
            "group \"web\": port: want 1 to 65535",
        ),
        (
            "web = [{ dest = \"a\", timeout = -1 }]\n",
            "group \"web\", target 1: a: timeout",
        ),
        (
            "web = [{ port = 1 }]\n",
            "target 1: a target table needs a `dest` string",
        ),
        (
            "[web]\nuser = \"x\"\n",
            "group \"web\": a group table needs a `targets` list",
        ),
        (
            "web = [{ dest = \"a\", strict_host_key_checking = \"maybe\" }]\n",
            "want yes, accept-new or no",
        ),
        (
            "web = [{ dest = \"a\", identity = 3 }]\n",
            "identity: want a path or a list of paths",
        ),
        ("web = [\"a\"\n", "not valid TOML"),
        ("web = [3]\n", "must be a string or a table"),
        ("defaults = []\nw = [\"a\"]\n", "defaults must be a table"),
    ] {
        let e = Inventory::parse(text, "inv.toml")
            .err()
            .unwrap_or_else(|| panic!("{text:?} parsed"));
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{text:?}");
        assert!(e.to_string().contains(want), "{text:?}: {e}");
    }
}

#[tokio::test]
async fn a_target_s_own_time_limit_wins_over_the_run_s() {
    let mut patient = Target::new("patient");
    patient.options.timeout = Some(Duration::from_secs(30));
    let hasty = Target::new("hasty");
    let opts = FanOut {
        timeout: Some(Duration::from_millis(100)),
        ..FanOut::default()
    };
    let out = fan_out(
        &[patient, hasty],
        &opts,
        |_| async {
            tokio::time::sleep(Duration::from_millis(400)).await;
            Ok(())
        },
        |_| false,
    )
    .await;
    assert!(out[0].result.is_ok(), "{:?}", out[0].result);
    assert_eq!(
        out[1].result.as_ref().err().map(Error::code),
        Some(ErrorCode::Timeout)
    );
}

#[tokio::test]
async fn a_fleet_connects_to_each_target_once_for_all_its_runs() {
    let opened = AtomicUsize::new(0);
    let fleet = Fleet::new(
        vec![Target::new("a"), Target::new("b"), Target::new("bad")],
        |t: Target| {
            let opened = &opened;
            async move {
                opened.fetch_add(1, Ordering::SeqCst);
                if t.dest == "bad" {
                    return Err(Error::new(
                        ErrorCode::ConnectionLost,
                        "connect",
                        t.dest,
                        "no",
                    ));
                }
                let backend: Box<dyn Backend> = Box::new(crate::local::LocalBackend::new());
                backend.start().await?;
                Ok(backend)
            }
        },
    );
    let opts = FanOut::default();
    for _ in 0..3 {
        let out = in_order(fleet.run(
            &opts,
            |_, backend| async move { Ok(backend.backend_type().to_string()) },
            |_| false,
        ))
        .await;
        assert_eq!(out[0].result.as_deref().ok(), Some("local"));
        assert_eq!(
            out[2].result.as_ref().err().map(Error::code),
            Some(ErrorCode::ConnectionLost)
        );
    }
    // Two good targets opened once each; the bad one is tried again on every run.
    assert_eq!(opened.load(Ordering::SeqCst), 2 + 3);
    assert!(fleet.close(4).await.is_empty());
    let after = in_order(fleet.run(
        &opts,
        |_, backend| async move { backend.detect_platform().await },
        |_| false,
    ))
    .await;
    assert_eq!(
        after[0].result.as_ref().err().map(Error::code),
        Some(ErrorCode::ConnectionLost),
        "a closed fleet's connections stay closed"
    );
}
