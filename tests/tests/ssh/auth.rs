//! Authentication: what was tried is named when refused, an encrypted key unlocked through the prompt, ssh-agent keys first.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_or_missing_keys_fail_naming_what_was_tried() {
    let f = Fixtures::load().ssh;
    let dir = TempDir::new("wrongkey");
    let wrong = dir.join("id_wrong");
    keygen(&wrong, "");
    let missing = dir.join("id_missing");
    let opts = SshOptions {
        identities: vec![missing.clone(), wrong.clone()],
        ..fixture_options(&f)
    };
    let err = refusal(&backend(&url(&f, f.port), opts), "a wrong key was accepted").await;
    assert_eq!(err.code(), ErrorCode::AccessDenied, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("{}: no such file", missing.display())),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("{} (", wrong.display())) && msg.contains("rejected"),
        "{msg}"
    );
    assert!(msg.contains("the server accepts: publickey"), "{msg}");

    let encrypted = dir.join("id_encrypted");
    keygen(&encrypted, "correct horse");
    let opts = SshOptions {
        identities: vec![encrypted.clone()],
        password: true,
        ..fixture_options(&f)
    };
    let err = refusal(
        &backend(&url(&f, f.port), opts),
        "an encrypted key without a passphrase was accepted",
    )
    .await;
    let msg = err.to_string();
    assert!(msg.contains("encrypted"), "{msg}");
    assert!(msg.contains("no terminal"), "{msg}");
    assert!(
        msg.contains("password: asked for, but there is no terminal"),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encrypted_key_is_unlocked_through_the_prompt() {
    let f = Fixtures::load().ssh;
    let dir = TempDir::new("passphrase");
    let key = dir.join("id_encrypted");
    keygen(&key, "correct horse");
    let authorized = dir.join("authorized_keys");
    std::fs::copy(dir.join("id_encrypted.pub"), &authorized).unwrap_or_else(|e| panic!("{e}"));
    let line = format!("AuthorizedKeysFile {}", authorized.display());
    let sshd = Sshd::start(&f, &[&line, "StrictModes no"]);
    let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = asked.clone();
    let prompt: Prompt = Arc::new(move |text: &str| {
        seen.lock().map(|mut v| v.push(text.to_string())).ok();
        Some("correct horse".to_string())
    });
    let opts = SshOptions {
        known_hosts: vec![sshd.known_hosts(&f)],
        identities: vec![key.clone()],
        prompt: Some(prompt),
        ..fixture_options(&f)
    };
    let b = connect(&url(&f, sshd.port), opts).await;
    let (status, out, _) = bounded("id", exec(&b, "id -un", &[]))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success());
    assert_eq!(out, format!("{}\n", f.user));
    let asked = asked.lock().map(|v| v.clone()).unwrap_or_default();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(asked[0].contains(&key.display().to_string()), "{asked:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_agent_keys_come_first_and_are_named_when_refused() {
    let f = Fixtures::load().ssh;
    let dir = TempDir::new("agent-auth");
    let wrong = dir.join("id_wrong");
    keygen(&wrong, "");
    let config_with = |agent: &Agent, name: &str| {
        let cfg = dir.join(name);
        std::fs::write(
            &cfg,
            format!("Host *\n  IdentityAgent {}\n", agent.socket.display()),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        SshOptions {
            config: ConfigFile::Path(cfg),
            identities: Vec::new(),
            identities_only: None,
            use_agent: true,
            ..fixture_options(&f)
        }
    };
    let good = Agent::start(&[&f.identity]);
    let b = connect(&url(&f, f.port), config_with(&good, "good")).await;
    let (_, out, _) = bounded("id", exec(&b, "id -un", &[]))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out, format!("{}\n", f.user));

    let bad = Agent::start(&[&wrong]);
    let err = refusal(
        &backend(&url(&f, f.port), config_with(&bad, "bad")),
        "the agent's wrong key was accepted",
    )
    .await;
    let msg = err.to_string();
    assert!(msg.contains("ssh-agent key SHA256:"), "{msg}");
    assert!(
        msg.contains("remote-test-extra"),
        "names the key's comment: {msg}"
    );
}
