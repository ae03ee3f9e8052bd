//! `--targets`: the fan-out commands over `local://`, the fixture sshd and the loopback fleet of
//! `tests/fixtures/fleet.sh`.

use super::*;

/// `exec --targets` over a live, a refusing and a dead target beside `local://`: each answers or
/// fails with its own error, the others finish, and the exit status says not all succeeded.
#[test]
fn exec_on_many_targets_reports_each_one() {
    let f = ssh_fixture();
    let s = |k: &str| ssh_field(&f, k);
    let (user, port) = (s("user"), f["port"].to_string());
    let live = format!("ssh://{user}@{}:{port}", s("host"));
    // The fixture's known_hosts holds its key under the address only: this name is refused.
    let refused = format!("ssh://{user}@localhost:{port}");
    let dead = format!("ssh://{user}@127.0.0.1:1");
    let dir = std::env::temp_dir().join(format!("remote-cli-fleet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let inventory = dir.join("targets");
    std::fs::write(
        &inventory,
        format!("# a fleet\nlocal://\n{live}\n{refused}  # wrong name\n{dead}\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (identity, known_hosts) = (s("identity"), s("known_hosts"));
    let inv = inventory.to_string_lossy().into_owned();
    let base = [
        "--ssh-config",
        "none",
        "-i",
        identity.as_str(),
        "--known-hosts",
        known_hosts.as_str(),
        "exec",
        "--targets",
        inv.as_str(),
    ];
    let with = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend(extra);
        remote(&args, b"")
    };

    let out = with(&["-e", "WHO=x", "--", "echo \"$WHO\" out; echo err >&2"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    // Each target's lines come when it finishes, so in no fixed order between targets.
    let mut lines: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
    lines.sort();
    assert_eq!(
        lines,
        ["local:// | x out".to_string(), format!("{live} | x out")]
    );
    let err = text(&out.stderr);
    assert!(err.contains(&format!("{live} | err")), "{err}");
    assert!(err.contains("4 targets: 2 ok, 2 failed"), "{err}");
    for (dest, why) in [(&refused, "error "), (&dead, "error ")] {
        assert!(
            err.lines()
                .any(|l| l.starts_with(dest.as_str()) && l.contains(why)),
            "{dest} should end with its own error:\n{err}"
        );
    }

    let out = with(&["--json", "--", "exit 3"]);
    assert_eq!(out.status.code(), Some(1));
    let order = ["local://", live.as_str(), refused.as_str(), dead.as_str()];
    let mut lines = json_lines(&out);
    lines.sort_by_key(|v| order.iter().position(|d| v["dest"] == *d));
    let dests: Vec<&str> = lines.iter().filter_map(|v| v["dest"].as_str()).collect();
    assert_eq!(dests, order, "one object per target");
    assert_eq!(
        (
            lines[0]["exit_code"].as_i64(),
            lines[1]["exit_code"].as_i64()
        ),
        (Some(3), Some(3))
    );
    assert_eq!(lines[2]["error"]["code"], "access-denied", "{}", lines[2]);
    assert!(lines[3]["error"]["code"].is_string(), "{}", lines[3]);

    let out = with(&["--parallel", "1", "--fail-fast", "--json", "--", "exit 1"]);
    let codes: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap_or_default())
        .map(|v| v["error"]["code"].clone())
        .collect();
    assert_eq!(
        codes,
        [
            serde_json::Value::Null,
            "busy".into(),
            "busy".into(),
            "busy".into()
        ],
        "after the first failure nothing else starts"
    );

    std::fs::write(&inventory, "local://\n").unwrap_or_else(|e| panic!("{e}"));
    let out = with(&["--timeout", "1", "--json", "--", "sleep 30"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("\"code\":\"timeout\""),
        "{}",
        text(&out.stdout)
    );

    std::fs::write(&inventory, "local://\nlocal://\n").unwrap_or_else(|e| panic!("{e}"));
    let out = with(&["--", "true"]);
    assert_eq!(out.status.code(), Some(255));
    assert!(
        text(&out.stderr).contains("local:// is listed twice"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
}

/// The fleet of `tests/fixtures/fleet.sh`, as its fleet.json describes it.
fn fleet_fixture() -> serde_json::Value {
    let dir = std::env::var("REMOTE_FIXTURES_DIR")
        .unwrap_or_else(|_| "/var/tmp/remote-test-fixtures".into());
    let path = format!("{dir}/fleet/fleet.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the test fleet is not up ({path}: {e}); run tests/fixtures/fleet.sh up or tests/run"
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The addresses of the fleet's nodes of `role`, with their host names.
fn nodes(fleet: &serde_json::Value, role: &str) -> Vec<(String, String)> {
    let nodes: Vec<(String, String)> = fleet["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("fleet.json has no nodes"))
        .iter()
        .filter(|n| n["role"] == role)
        .map(|n| {
            let field = |k: &str| n[k].as_str().unwrap_or_default().to_string();
            (field("addr"), field("name"))
        })
        .collect();
    assert!(!nodes.is_empty(), "the fleet has no {role} node");
    nodes
}

/// A TOML inventory's defaults and groups reach the fleet: every healthy node answers `exec`,
/// `platform` and `cp` as itself, the refusing and dead nodes end with their own codes, and the
/// exit status says not all succeeded.
#[test]
fn a_toml_inventory_reaches_the_fleet_with_its_options() {
    let fleet = fleet_fixture();
    let healthy = nodes(&fleet, "healthy");
    let (refusing, dead) = (&nodes(&fleet, "refusing")[0], &nodes(&fleet, "dead")[0]);
    let field = |k: &str| fleet[k].as_str().unwrap_or_default().to_string();
    let quoted = |addrs: &[&str]| {
        addrs
            .iter()
            .map(|a| format!("{a:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let healthy_addrs: Vec<&str> = healthy.iter().map(|(a, _)| a.as_str()).collect();
    let inventory = format!(
        "# the loopback fleet\n\
         refusing = [{refusing:?}]\n\
         [healthy]\n\
         targets = [{}]\n\
         [broken]\n\
         timeout = 20\n\
         targets = [{{ dest = {:?}, port = {} }}]\n\
         [defaults]\n\
         user = {:?}\n\
         port = {}\n\
         identity = {:?}\n\
         known_hosts = [{:?}]\n\
         strict_host_key_checking = \"yes\"\n",
        quoted(&healthy_addrs),
        dead.0,
        fleet["port"],
        field("user"),
        fleet["port"],
        field("identity"),
        field("known_hosts"),
        refusing = refusing.0,
    );
    let dir = std::env::temp_dir().join(format!("remote-cli-toml-fleet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let inv_path = dir.join("fleet.toml");
    std::fs::write(&inv_path, &inventory).unwrap_or_else(|e| panic!("{e}"));
    let inv = inv_path.to_string_lossy().into_owned();
    let run = |args: &[&str]| {
        let mut all = vec!["--ssh-config", "none"];
        all.extend(args);
        remote(&all, b"")
    };
    let by_dest = |lines: &[serde_json::Value], dest: &str| -> serde_json::Value {
        lines
            .iter()
            .find(|v| v["dest"] == dest)
            .cloned()
            .unwrap_or_else(|| panic!("no object for {dest} in {lines:?}"))
    };

    let out = run(&["exec", "--targets", &inv, "--json", "--", "hostname"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), healthy.len() + 2, "{lines:?}");
    for (addr, name) in &healthy {
        let v = by_dest(&lines, addr);
        assert_eq!(v["exit_code"], 0, "{v}");
        assert_eq!(v["stdout"], format!("{name}\n"), "{addr} answered as {v}");
    }
    let v = by_dest(&lines, &refusing.0);
    assert_eq!(v["error"]["code"], "access-denied", "{v}");
    let v = by_dest(&lines, &dead.0);
    assert_eq!(v["error"]["code"], "connection-lost", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains(&dead.0)),
        "{v}"
    );

    // Prefixed lines and the summary, in the inventory's order (the refusing group first).
    let out = run(&["platform", "--targets", &inv]);
    assert_eq!(out.status.code(), Some(1));
    for (addr, _) in &healthy {
        assert!(
            text(&out.stdout).contains(&format!("{addr} | linux/")),
            "{}",
            text(&out.stdout)
        );
    }
    let err = text(&out.stderr);
    let summary: Vec<&str> = err
        .lines()
        .filter(|l| l.contains(" ms "))
        .map(|l| l.split_whitespace().next().unwrap_or_default())
        .collect();
    let mut order = vec![refusing.0.as_str()];
    order.extend(&healthy_addrs);
    order.push(&dead.0);
    assert_eq!(summary, order, "{err}");
    assert!(
        err.contains(&format!(
            "{} targets: {} ok, 2 failed",
            healthy.len() + 2,
            healthy.len()
        )),
        "{err}"
    );

    // One file to every healthy node (they share this machine's disk, so each renames its own
    // complete copy over the same name).
    // A plain list: no options, so the user and port go in each destination.
    let only_healthy = dir.join("healthy.txt");
    std::fs::write(
        &only_healthy,
        healthy_addrs
            .iter()
            .map(|a| format!("ssh://{}@{a}:{}\n", field("user"), fleet["port"]))
            .collect::<String>(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let src = dir.join("payload");
    std::fs::write(&src, b"to every node\n").unwrap_or_else(|e| panic!("{e}"));
    let remote_dir = dir.join("received");
    std::fs::create_dir_all(&remote_dir).unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(
        &remote_dir,
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let to = format!(":{}/", remote_dir.display());
    let args = [
        "-i",
        &field("identity"),
        "--known-hosts",
        &field("known_hosts"),
        "cp",
        "--targets",
        &only_healthy.to_string_lossy(),
        "--json",
        &src.to_string_lossy(),
        &to,
    ]
    .map(String::from);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let want = format!("{}/payload", remote_dir.display());
    for v in json_lines(&out) {
        assert_eq!(v["path"], want.as_str(), "{v}");
        assert_eq!(v["bytes"], 14, "{v}");
    }
    assert_eq!(
        std::fs::read(&want).unwrap_or_else(|e| panic!("{want}: {e}")),
        b"to every node\n"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&remote_dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .filter(|n| n != "payload")
        .collect();
    assert!(leftovers.is_empty(), "temporaries left: {leftovers:?}");
    std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
}

/// `--guest` wraps every target of a run: a policy that denies `hostname` denies it on each.
#[test]
fn guests_apply_to_every_target() {
    let dir = std::env::temp_dir().join(format!("remote-cli-fleet-guest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let config = dir.join("policy.json");
    std::fs::write(&config, r#"{"commands": {"deny": ["hostname"]}}"#)
        .unwrap_or_else(|e| panic!("{e}"));
    let guest = format!("{}={}", remote_guest_artifacts::POLICY, config.display());
    let f = ssh_fixture();
    let s = |k: &str| ssh_field(&f, k);
    let ssh = format!("ssh://{}@{}:{}", s("user"), s("host"), f["port"]);
    let (identity, known_hosts) = (s("identity"), s("known_hosts"));
    let inventory = format!("local://\n{ssh}\n");
    let with = |cmd: &str| {
        remote(
            &[
                "--ssh-config",
                "none",
                "-i",
                &identity,
                "--known-hosts",
                &known_hosts,
                "--guest",
                &guest,
                "exec",
                "--targets",
                "-",
                "--json",
                "--",
                cmd,
            ],
            inventory.as_bytes(),
        )
    };
    let out = with("hostname");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let denied = json_lines(&out);
    assert_eq!(denied.len(), 2, "{denied:?}");
    for v in &denied {
        assert_eq!(v["error"]["code"], "access-denied", "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("hostname")),
            "{v}"
        );
    }
    let out = with("echo allowed");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for v in json_lines(&out) {
        assert_eq!(v["stdout"], "allowed\n", "{v}");
    }
    std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
}
