//! ssh_config parsing and resolution on hand-written files.

use super::*;

fn home() -> &'static Path {
    Path::new("/home/me")
}

fn resolve(text: &str, alias: &str) -> HostConfig {
    let cfg = SshConfig::parse(text, "test", home()).unwrap_or_else(|e| panic!("{e}"));
    cfg.resolve(&Lookup {
        alias,
        user: None,
        local_user: "me",
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn first_value_wins_and_identity_files_accumulate() {
    let text = "\
# comment
Host web
  HostName 10.0.0.5
  Port=2200
  IdentityFile ~/.ssh/web
Host w*
  HostName ignored
  User deploy
  IdentityFile \"~/.ssh/with space\"
Host *
  User nobody
  Port 22
  IdentitiesOnly yes
  ProxyJump bastion,jump2:2022
  StrictHostKeyChecking accept-new
  UserKnownHostsFile ~/.ssh/a ~/.ssh/b
  ServerAliveInterval 5
  ConnectTimeout 7
";
    let c = resolve(text, "web");
    assert_eq!(c.hostname.as_deref(), Some("10.0.0.5"));
    assert_eq!(c.port, Some(2200));
    assert_eq!(c.user.as_deref(), Some("deploy"));
    assert_eq!(c.identity_files, ["~/.ssh/web", "~/.ssh/with space"]);
    assert_eq!(c.identities_only, Some(true));
    assert_eq!(
        c.proxy_jump,
        Some(vec!["bastion".to_string(), "jump2:2022".to_string()])
    );
    assert_eq!(
        c.strict_host_key_checking,
        Some(StrictHostKeyChecking::AcceptNew)
    );
    assert_eq!(
        c.user_known_hosts_files,
        Some(vec!["~/.ssh/a".to_string(), "~/.ssh/b".to_string()])
    );
    assert_eq!(c.server_alive_interval, Some(Duration::from_secs(5)));
    assert_eq!(c.connect_timeout, Some(Duration::from_secs(7)));
    let other = resolve(text, "db");
    assert_eq!(other.hostname, None);
    assert_eq!(other.user.as_deref(), Some("nobody"));
}

#[test]
fn negated_patterns_and_match_blocks() {
    let text = "\
Host *.example.com !secret.example.com
  User ex
Match originalhost db,cache user admin
  Port 5555
Match host 10.*
  ProxyJump none
Host db
  HostName 10.1.1.1
Match exec \"true\"
  User never
";
    assert_eq!(resolve(text, "a.example.com").user.as_deref(), Some("ex"));
    assert_eq!(resolve(text, "secret.example.com").user, None);
    let db = resolve(text, "db");
    assert_eq!(db.port, None, "Match user admin does not hold for me");
    assert_eq!(db.hostname.as_deref(), Some("10.1.1.1"));
    assert_eq!(
        db.proxy_jump, None,
        "Match host saw the alias, not 10.1.1.1 yet"
    );
    assert!(
        db.unsupported_match
            .is_some_and(|m| m.contains("Match exec"))
    );
    let admin = SshConfig::parse(text, "t", home())
        .and_then(|c| {
            c.resolve(&Lookup {
                alias: "cache",
                user: Some("admin"),
                local_user: "me",
            })
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(admin.port, Some(5555));
}

#[test]
fn bad_values_name_the_line() {
    for (text, want) in [
        ("Host x\n Port 0\n", "test:2"),
        ("Port abc\n", "test:1"),
        ("IdentitiesOnly maybe\n", "test:1"),
        ("StrictHostKeyChecking sometimes\n", "test:1"),
        ("Match bogus x\n", "test:1"),
        ("User \"unterminated\n", "test:1"),
        ("Host\n", "test:1"),
    ] {
        let err = SshConfig::parse(text, "test", home())
            .and_then(|c| {
                c.resolve(&Lookup {
                    alias: "x",
                    user: None,
                    local_user: "me",
                })
            })
            .err()
            .unwrap_or_else(|| panic!("{text:?} should be refused"));
        assert_eq!(err.code(), ErrorCode::InvalidArgument, "{err}");
        assert_eq!(err.target(), want, "{err}");
    }
}

#[test]
fn tokens_expand() {
    let t = Tokens {
        home: home(),
        host: "10.0.0.5",
        alias: "web",
        port: 2200,
        remote_user: "deploy",
        local_user: "me",
    };
    let p = expand_path("~/.ssh/%r@%h:%p-%n-%u-%%", &t).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p, Path::new("/home/me/.ssh/deploy@10.0.0.5:2200-web-me-%"));
    assert_eq!(
        expand_path("%d/x", &t).ok(),
        Some(PathBuf::from("/home/me/x"))
    );
    assert!(expand_path("%Z", &t).is_err());
}

#[test]
fn include_reads_files_under_dot_ssh_in_place() {
    let dir = std::env::temp_dir().join(format!("remote-sshcfg-{}", std::process::id()));
    let ssh = dir.join(".ssh");
    std::fs::create_dir_all(ssh.join("conf.d")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(ssh.join("conf.d/10-a.conf"), "Host inc\n  User from-a\n")
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        ssh.join("conf.d/20-b.conf"),
        "Host inc\n  User from-b\n  Port 7\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let cfg =
        SshConfig::parse("Include conf.d/*.conf\nHost *\n  Port 9\n", "t", &dir).and_then(|c| {
            c.resolve(&Lookup {
                alias: "inc",
                user: None,
                local_user: "me",
            })
        });
    let _ = std::fs::remove_dir_all(&dir);
    let c = cfg.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.user.as_deref(), Some("from-a"));
    assert_eq!(c.port, Some(7));
}
