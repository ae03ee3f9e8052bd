//! `ssh_config` at work: an alias supplying host, port, user and identity, and ProxyJump.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ssh_config_alias_supplies_host_port_user_and_identity() {
    let f = Fixtures::load().ssh;
    let dir = TempDir::new("alias");
    let cfg = dir.join("config");
    std::fs::write(
        &cfg,
        format!(
            "Host fixture-alias\n  HostName {}\n  Port {}\n  User {}\n  IdentityFile {}\n  \
             UserKnownHostsFile {}\n  IdentitiesOnly yes\nHost *\n  User nobody-else\n",
            f.host,
            f.port,
            f.user,
            f.identity.display(),
            f.known_hosts.display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let opts = SshOptions {
        config: ConfigFile::Path(cfg),
        known_hosts: Vec::new(),
        identities: Vec::new(),
        identities_only: None,
        ..fixture_options(&f)
    };
    let b = connect("ssh://fixture-alias", opts).await;
    assert_eq!(b.user(), f.user);
    assert_eq!(b.addr(), format!("{}:{}", f.host, f.port));
    let (_, out, _) = bounded("id", exec(&b, "id -un", &[]))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out, format!("{}\n", f.user));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_jump_runs_the_connection_through_the_jump_host() {
    let f = Fixtures::load().ssh;
    let mut jump = Sshd::start(&f, &[]);
    let dir = TempDir::new("jump");
    let jump_kh = jump.known_hosts(&f);
    let cfg = dir.join("config");
    std::fs::write(
        &cfg,
        format!(
            "Host target\n  HostName {host}\n  Port {port}\n  ProxyJump jumphost\n\
             Host jumphost\n  HostName 127.0.0.1\n  Port {jport}\n\
             Host *\n  User {user}\n  IdentityFile {id}\n  UserKnownHostsFile {kh} {jkh}\n",
            host = f.host,
            port = f.port,
            jport = jump.port,
            user = f.user,
            id = f.identity.display(),
            kh = f.known_hosts.display(),
            jkh = jump_kh.display(),
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let opts = SshOptions {
        config: ConfigFile::Path(cfg),
        known_hosts: Vec::new(),
        identities: Vec::new(),
        ..fixture_options(&f)
    };
    let b = connect("ssh://target", opts).await;
    let (status, out, _) = bounded("echo", exec(&b, "echo through", &[]))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success());
    assert_eq!(out, "through\n");
    let files = b.files().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(files.getwd().await.is_ok());
    // The target's own sshd is the shared fixture, which we leave alone: if the connection to it
    // really runs through the jump host, stopping the jump host ends it.
    jump.stop();
    assert!(
        eventually(Duration::from_secs(10), || !b.is_connected()).await,
        "the target connection survived the jump host"
    );
}
