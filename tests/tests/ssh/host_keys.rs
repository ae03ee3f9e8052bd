//! Host-key policy: unknown and changed keys refused with their fingerprints, `accept-new`, and the key type known_hosts holds negotiated first.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_host_key_is_refused_with_its_fingerprint() {
    let f = Fixtures::load().ssh;
    let dir = TempDir::new("unknown");
    let empty = dir.join("known_hosts");
    std::fs::write(&empty, "").unwrap_or_else(|e| panic!("{e}"));
    let opts = SshOptions {
        known_hosts: vec![empty.clone()],
        strict_host_key_checking: None,
        ..fixture_options(&f)
    };
    let b = backend(&url(&f, f.port), opts);
    let err = refusal(&b, "an unknown host key was accepted by default").await;
    assert_eq!(err.code(), ErrorCode::AccessDenied, "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&f.host_key_fingerprint), "{msg}");
    assert!(msg.contains("accept-new"), "says how to accept it: {msg}");
    assert!(!b.is_connected());
    assert_eq!(
        std::fs::read_to_string(&empty).unwrap_or_default(),
        "",
        "nothing recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_new_records_the_key_and_later_connections_trust_it() {
    let f = Fixtures::load().ssh;
    let dir = TempDir::new("acceptnew");
    let kh = dir.join("fresh/.ssh/known_hosts");
    let opts = SshOptions {
        known_hosts: vec![kh.clone()],
        strict_host_key_checking: Some(StrictHostKeyChecking::AcceptNew),
        ..fixture_options(&f)
    };
    let b = connect(&url(&f, f.port), opts).await;
    b.close().await.unwrap_or_else(|e| panic!("{e}"));
    let text = std::fs::read_to_string(&kh).unwrap_or_else(|e| panic!("{}: {e}", kh.display()));
    let fixture_key = std::fs::read_to_string(&f.known_hosts).unwrap_or_default();
    let blob = fixture_key.split_whitespace().nth(2).unwrap_or("missing");
    assert!(
        text.starts_with(&format!("[{}]:{} ssh-ed25519 {blob}", f.host, f.port)),
        "{text}"
    );
    let strict = SshOptions {
        known_hosts: vec![kh],
        ..fixture_options(&f)
    };
    connect(&url(&f, f.port), strict).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_host_key_is_refused_even_with_accept_new() {
    let f = Fixtures::load().ssh;
    let dir = TempDir::new("changed");
    keygen(&dir.join("other"), "");
    let other = std::fs::read_to_string(dir.join("other.pub")).unwrap_or_default();
    let mut fields = other.split_whitespace();
    let (kind, blob) = (fields.next().unwrap_or(""), fields.next().unwrap_or(""));
    let kh = dir.join("known_hosts");
    std::fs::write(&kh, format!("[{}]:{} {kind} {blob}\n", f.host, f.port))
        .unwrap_or_else(|e| panic!("{e}"));
    let opts = SshOptions {
        known_hosts: vec![kh.clone()],
        strict_host_key_checking: Some(StrictHostKeyChecking::AcceptNew),
        ..fixture_options(&f)
    };
    let err = refusal(
        &backend(&url(&f, f.port), opts),
        "a changed host key was accepted",
    )
    .await;
    assert_eq!(err.code(), ErrorCode::AccessDenied, "{err}");
    let msg = err.to_string();
    assert!(msg.contains("HAS CHANGED"), "{msg}");
    assert!(msg.contains(&f.host_key_fingerprint), "{msg}");
    assert!(
        msg.contains(&format!("{}:1", kh.display())),
        "names the line: {msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_key_type_known_hosts_holds_is_negotiated_first() {
    let f = Fixtures::load().ssh;
    let dir = TempDir::new("keytypes");
    let ecdsa = dir.join("ssh_host_ecdsa_key");
    remote_tests::sshd::run(
        std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ecdsa", "-N", "", "-f"])
            .arg(&ecdsa),
    );
    let fixture_conf = std::fs::read_to_string(&f.sshd_config).unwrap_or_default();
    let ed25519 = fixture_conf
        .lines()
        .find(|l| l.starts_with("HostKey "))
        .unwrap_or_else(|| panic!("no HostKey in {}", f.sshd_config.display()))
        .to_string();
    let ecdsa_line = format!("HostKey {}", ecdsa.display());
    // The server has both keys; known_hosts vouches only for the ECDSA one, which is not our
    // first choice.
    let sshd = Sshd::start(&f, &[&ed25519, &ecdsa_line]);
    let public = std::fs::read_to_string(dir.join("ssh_host_ecdsa_key.pub")).unwrap_or_default();
    let mut fields = public.split_whitespace();
    let kh = dir.join("known_hosts");
    std::fs::write(
        &kh,
        format!(
            "[127.0.0.1]:{} {} {}\n",
            sshd.port,
            fields.next().unwrap_or(""),
            fields.next().unwrap_or("")
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let opts = SshOptions {
        known_hosts: vec![kh],
        ..fixture_options(&f)
    };
    let b = connect(&url(&f, sshd.port), opts).await;
    assert!(b.is_connected());
}
