//! User authentication in OpenSSH's order: the keys of an ssh-agent, then identity files, then
//! (only when asked for) a password. Every attempt is written down, so a failure says exactly
//! what was tried and what the server would have accepted.

use std::path::Path;
use std::sync::Arc;

use russh::MethodSet;
use russh::client::{AuthResult, Handle, Handler};
use russh::keys::agent::client::AgentClient;
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKey};

use crate::error::{Error, ErrorCode, Result};

use super::errors::map;
use super::options::{Endpoint, Prompt};

/// How often to ask for a passphrase or password before giving up, as OpenSSH's
/// `NumberOfPasswordPrompts`.
const PROMPTS: usize = 3;

/// The record of what was tried.
struct Tried {
    lines: Vec<String>,
    server_accepts: Option<String>,
}

impl Tried {
    fn note(&mut self, line: String) {
        tracing::debug!("auth: {line}");
        self.lines.push(line);
    }

    fn failed(&mut self, what: String, r: &AuthResult) {
        if let AuthResult::Failure {
            remaining_methods, ..
        } = r
        {
            self.server_accepts = Some(method_names(remaining_methods));
        }
        self.note(format!("{what}: rejected by the server"));
    }
}

fn method_names(m: &MethodSet) -> String {
    m.iter().map(<&str>::from).collect::<Vec<_>>().join(",")
}

/// Authenticates `ep.user` on a fresh connection, or fails with `access-denied` listing every
/// attempt.
pub(crate) async fn authenticate<H: Handler>(handle: &mut Handle<H>, ep: &Endpoint) -> Result<()> {
    let target = ep.display();
    let mut tried = Tried {
        lines: Vec::new(),
        server_accepts: None,
    };
    let mut offered: Vec<PublicKey> = Vec::new();
    if with_agent(handle, ep, &mut tried, &mut offered).await? {
        return Ok(());
    }
    if with_identity_files(handle, ep, &mut tried, &offered).await? {
        return Ok(());
    }
    if with_password(handle, ep, &mut tried).await? {
        return Ok(());
    }
    if tried.lines.is_empty() {
        tried.note("no ssh-agent, no identity file and no password".into());
    }
    let accepts = tried
        .server_accepts
        .map(|m| format!("; the server accepts: {m}"))
        .unwrap_or_default();
    Err(Error::new(
        ErrorCode::AccessDenied,
        "authenticate",
        target,
        format!(
            "permission denied for user {:?}: tried {}{accepts}",
            ep.user,
            tried.lines.join("; ")
        ),
    ))
}

/// The RSA signature hash to use with `key`: the best rsa-sha2 the server lists, rsa-sha2-256
/// when it lists nothing (every current server has it).
async fn rsa_hash<H: Handler>(handle: &Handle<H>, key: &PublicKey) -> Option<HashAlg> {
    if !key.algorithm().is_rsa() {
        return None;
    }
    match handle.best_supported_rsa_hash().await {
        Ok(Some(best)) => best,
        _ => Some(HashAlg::Sha256),
    }
}

async fn with_agent<H: Handler>(
    handle: &mut Handle<H>,
    ep: &Endpoint,
    tried: &mut Tried,
    offered: &mut Vec<PublicKey>,
) -> Result<bool> {
    let Some(sock) = &ep.auth.agent else {
        return Ok(false);
    };
    let mut agent = match AgentClient::connect_uds(sock).await {
        Ok(a) => a,
        Err(e) => {
            tried.note(format!(
                "ssh-agent at {}: cannot connect ({e})",
                sock.display()
            ));
            return Ok(false);
        }
    };
    if let Some(binding) = handle.agent_session_binding() {
        // Older agents do not know session binding; they still sign.
        let _ = agent.bind_session(binding, false).await;
    }
    let identities = match agent.request_identities().await {
        Ok(ids) => ids,
        Err(e) => {
            tried.note(format!("ssh-agent: cannot list keys ({e})"));
            return Ok(false);
        }
    };
    let allowed: Vec<PublicKey> = if ep.auth.identities_only {
        ep.auth
            .identities
            .iter()
            .filter_map(|i| russh::keys::load_public_key(pub_path(&i.path)).ok())
            .collect()
    } else {
        Vec::new()
    };
    let mut used = 0;
    for id in identities {
        let key = id.public_key().into_owned();
        if ep.auth.identities_only && !allowed.iter().any(|a| a.key_data() == key.key_data()) {
            continue;
        }
        used += 1;
        let what = format!(
            "ssh-agent key {} {}",
            key.fingerprint(HashAlg::Sha256),
            id.comment()
        );
        let hash = rsa_hash(handle, &key).await;
        match handle
            .authenticate_publickey_with(&ep.user, key.clone(), hash, &mut agent)
            .await
        {
            Ok(r) if r.success() => return Ok(true),
            Ok(r) => tried.failed(what, &r),
            Err(e) => tried.note(format!("{what}: the agent did not sign ({e})")),
        }
        offered.push(key);
    }
    if used == 0 {
        tried.note(format!(
            "ssh-agent at {}: no usable keys{}",
            sock.display(),
            if ep.auth.identities_only {
                " (IdentitiesOnly: only keys of the identity files)"
            } else {
                ""
            }
        ));
    }
    Ok(false)
}

fn pub_path(p: &Path) -> std::path::PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".pub");
    s.into()
}

async fn with_identity_files<H: Handler>(
    handle: &mut Handle<H>,
    ep: &Endpoint,
    tried: &mut Tried,
    offered: &[PublicKey],
) -> Result<bool> {
    let mut missing_defaults = Vec::new();
    for id in &ep.auth.identities {
        let shown = id.path.display().to_string();
        if !id.path.exists() {
            if id.named {
                tried.note(format!("identity {shown}: no such file"));
            } else {
                missing_defaults.push(shown);
            }
            continue;
        }
        let key = match load_key(&id.path, ep.auth.prompt.as_ref()).await {
            Ok(k) => k,
            Err(why) => {
                tried.note(format!("identity {shown}: {why}"));
                continue;
            }
        };
        let public = key.public_key().clone();
        if offered.iter().any(|k| k.key_data() == public.key_data()) {
            continue;
        }
        let hash = rsa_hash(handle, &public).await;
        let what = format!(
            "identity {shown} ({} {})",
            public.algorithm(),
            public.fingerprint(HashAlg::Sha256)
        );
        let r = handle
            .authenticate_publickey(&ep.user, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
            .await
            .map_err(|e| map("authenticate", &ep.display(), e))?;
        if r.success() {
            return Ok(true);
        }
        tried.failed(what, &r);
    }
    if !missing_defaults.is_empty() {
        tried.note(format!(
            "default identities {}: none exist",
            missing_defaults.join(", ")
        ));
    }
    Ok(false)
}

/// Loads a private key, asking for its passphrase through `prompt` when it is encrypted.
async fn load_key(
    path: &Path,
    prompt: Option<&Prompt>,
) -> std::result::Result<russh::keys::PrivateKey, String> {
    match russh::keys::load_secret_key(path, None) {
        Ok(k) => return Ok(k),
        Err(russh::keys::Error::KeyIsEncrypted) => {}
        Err(e) => return Err(format!("cannot load ({e})")),
    }
    let Some(prompt) = prompt else {
        return Err(
            "encrypted, and there is no terminal to ask for its passphrase (add it to ssh-agent)"
                .into(),
        );
    };
    for _ in 0..PROMPTS {
        let text = format!("Enter passphrase for key '{}': ", path.display());
        let Some(pass) = ask(prompt, text).await else {
            return Err("encrypted, and no passphrase was given".into());
        };
        if let Ok(k) = russh::keys::load_secret_key(path, Some(&pass)) {
            return Ok(k);
        }
    }
    Err(format!("encrypted, and {PROMPTS} passphrases were wrong"))
}

/// Runs the (blocking, terminal-reading) prompt off the async threads.
async fn ask(prompt: &Prompt, text: String) -> Option<String> {
    let prompt = prompt.clone();
    tokio::task::spawn_blocking(move || prompt(&text))
        .await
        .ok()
        .flatten()
}

async fn with_password<H: Handler>(
    handle: &mut Handle<H>,
    ep: &Endpoint,
    tried: &mut Tried,
) -> Result<bool> {
    if !ep.auth.password {
        return Ok(false);
    }
    let Some(prompt) = &ep.auth.prompt else {
        tried.note("password: asked for, but there is no terminal to read it from".into());
        return Ok(false);
    };
    for _ in 0..PROMPTS {
        let text = format!("{}@{}'s password: ", ep.user, ep.host);
        let Some(password) = ask(prompt, text).await else {
            tried.note("password: none given".into());
            return Ok(false);
        };
        let r = handle
            .authenticate_password(&ep.user, password)
            .await
            .map_err(|e| map("authenticate", &ep.display(), e))?;
        if r.success() {
            return Ok(true);
        }
        tried.failed("password".into(), &r);
    }
    Ok(false)
}
