//! Host-key verification against OpenSSH known_hosts files, strict by default.
//!
//! The file format is sshd(8)'s "SSH_KNOWN_HOSTS FILE FORMAT": `[marker] patterns keytype
//! base64 [comment]`, with hashed host names (`|1|salt|hmac`), `[host]:port` for ports other
//! than 22, wildcard and negated patterns, and the `@revoked` and `@cert-authority` markers. The
//! verdicts are OpenSSH's: a revoked key is refused whatever the policy; a host known with a
//! different key of the same type has **changed** and is refused unless checking is off; a host
//! without a key of this type is **unknown** and is refused unless the user opted in with
//! `accept-new` (which records it) or `no`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use data_encoding::BASE64;
use hmac::{Hmac, KeyInit, Mac};
use russh::keys::{Algorithm, HashAlg, PublicKey};
use sha1::Sha1;

use crate::error::{Error, ErrorCode, Result};

use super::pattern::pattern_list_matches;

/// What to do with a host key that known_hosts does not vouch for (`StrictHostKeyChecking`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StrictHostKeyChecking {
    /// Refuse unknown and changed keys (also what OpenSSH's `ask` amounts to without a prompt).
    #[default]
    Yes,
    /// Record unknown keys in the user's known_hosts; refuse changed keys.
    AcceptNew,
    /// Accept any key that is not revoked. Only when the user says so.
    No,
}

impl FromStr for StrictHostKeyChecking {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "yes" | "ask" | "true" => Ok(StrictHostKeyChecking::Yes),
            "accept-new" => Ok(StrictHostKeyChecking::AcceptNew),
            "no" | "off" | "false" => Ok(StrictHostKeyChecking::No),
            other => Err(format!("want yes, accept-new or no, got {other:?}")),
        }
    }
}

/// Where host keys are looked up, and the policy for keys they do not vouch for.
#[derive(Debug, Clone)]
pub struct HostKeyPolicy {
    /// The policy.
    pub strict: StrictHostKeyChecking,
    /// The user's files; `accept-new` writes to the first.
    pub user_files: Vec<PathBuf>,
    /// System-wide files, read only.
    pub global_files: Vec<PathBuf>,
}

/// The name a host is recorded under: `host` for port 22, `[host]:port` otherwise.
pub fn host_key_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    None,
    Revoked,
    CertAuthority,
}

/// One usable known_hosts line.
struct Entry {
    marker: Marker,
    hosts: String,
    key: PublicKey,
    origin: String,
}

/// Parses one line; `None` for comments, blanks and lines OpenSSH would skip as malformed.
fn parse_line(line: &str, origin: String) -> Option<Entry> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut fields = line.split_whitespace();
    let mut first = fields.next()?;
    let marker = match first {
        "@revoked" => Marker::Revoked,
        "@cert-authority" => Marker::CertAuthority,
        m if m.starts_with('@') => return None,
        _ => Marker::None,
    };
    if marker != Marker::None {
        first = fields.next()?;
    }
    let _key_type = fields.next()?;
    let key = russh::keys::parse_public_key_base64(fields.next()?).ok()?;
    Some(Entry {
        marker,
        hosts: first.to_string(),
        key,
        origin,
    })
}

/// Whether a host field (comma-separated patterns, or one hashed name) names `name`.
fn hosts_match(hosts: &str, name: &str) -> bool {
    if let Some(hashed) = hosts.strip_prefix("|1|") {
        let Some((salt, hash)) = hashed.split_once('|') else {
            return false;
        };
        let (Ok(salt), Ok(hash)) = (
            BASE64.decode(salt.as_bytes()),
            BASE64.decode(hash.as_bytes()),
        ) else {
            return false;
        };
        return Hmac::<Sha1>::new_from_slice(&salt)
            .map(|m| m.chain_update(name.as_bytes()).verify_slice(&hash).is_ok())
            .unwrap_or(false);
    }
    let patterns: Vec<String> = hosts.split(',').map(str::to_string).collect();
    pattern_list_matches(&patterns, name)
}

/// What the files say about a key.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Known,
    Revoked(String),
    Changed { origin: String, recorded: String },
    Unknown { cert_authority: bool },
}

impl HostKeyPolicy {
    fn files(&self) -> impl Iterator<Item = &PathBuf> {
        self.user_files.iter().chain(&self.global_files)
    }

    /// Every usable line of every file that names `name`, in file order.
    fn entries_for(&self, name: &str) -> Vec<Entry> {
        let mut out = Vec::new();
        for file in self.files() {
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            for (i, line) in text.lines().enumerate() {
                let origin = format!("{}:{}", file.display(), i + 1);
                if let Some(entry) = parse_line(line, origin)
                    && hosts_match(&entry.hosts, name)
                {
                    out.push(entry);
                }
            }
        }
        out
    }

    fn verdict(&self, name: &str, key: &PublicKey) -> Verdict {
        let mut changed = None;
        let mut cert_authority = false;
        let mut known = false;
        for entry in self.entries_for(name) {
            let same = entry.key.key_data() == key.key_data();
            match entry.marker {
                Marker::Revoked if same => return Verdict::Revoked(entry.origin),
                Marker::Revoked => {}
                Marker::CertAuthority => cert_authority = true,
                Marker::None if same => known = true,
                Marker::None if entry.key.algorithm() == key.algorithm() => {
                    changed.get_or_insert(Verdict::Changed {
                        origin: entry.origin,
                        recorded: entry.key.fingerprint(HashAlg::Sha256).to_string(),
                    });
                }
                Marker::None => {}
            }
        }
        if known {
            Verdict::Known
        } else {
            changed.unwrap_or(Verdict::Unknown { cert_authority })
        }
    }

    /// `algorithms` (our preference order) with the types known_hosts already holds for `name`
    /// moved to the front, as OpenSSH orders `HostKeyAlgorithms`: a server with several host
    /// keys then shows the one we can verify, instead of one we would have to call unknown.
    pub fn preferred_algorithms(&self, name: &str, algorithms: &[Algorithm]) -> Vec<Algorithm> {
        let known: Vec<Algorithm> = self
            .entries_for(name)
            .into_iter()
            .filter(|e| e.marker == Marker::None)
            .map(|e| e.key.algorithm())
            .collect();
        let is_known = |a: &Algorithm| {
            known
                .iter()
                .any(|k| k == a || (k.clone().is_rsa() && a.clone().is_rsa()))
        };
        let (mut first, rest): (Vec<Algorithm>, Vec<Algorithm>) =
            algorithms.iter().cloned().partition(is_known);
        first.extend(rest);
        first
    }

    /// Accepts or refuses `key` presented by the host recorded as `name` (see
    /// [`host_key_name`]), recording it first under `accept-new`. The error says why, with the
    /// key's SHA256 fingerprint and what to do about it.
    pub fn verify(&self, name: &str, key: &PublicKey) -> Result<()> {
        let fp = key.fingerprint(HashAlg::Sha256);
        let kind = key.algorithm().to_string();
        let refuse = |msg: String| {
            Err(Error::new(
                ErrorCode::AccessDenied,
                "verify host key",
                name,
                msg,
            ))
        };
        let checked = || {
            let list: Vec<String> = self.files().map(|p| p.display().to_string()).collect();
            if list.is_empty() {
                "no known_hosts file configured".to_string()
            } else {
                format!("checked {}", list.join(", "))
            }
        };
        match self.verdict(name, key) {
            Verdict::Known => Ok(()),
            Verdict::Revoked(origin) => refuse(format!(
                "the server's {kind} key {fp} is marked @revoked in {origin}; refusing to connect"
            )),
            Verdict::Changed { origin, recorded } => {
                if self.strict == StrictHostKeyChecking::No {
                    tracing::warn!(
                        host = name,
                        %fp,
                        recorded,
                        "host key changed; accepted because StrictHostKeyChecking=no"
                    );
                    return Ok(());
                }
                refuse(format!(
                    "REMOTE HOST IDENTIFICATION HAS CHANGED: the server presented {kind} key {fp}, \
                     but {origin} records {recorded} for this host. Someone could be \
                     intercepting the connection, or the host key was replaced; if you know it \
                     was, remove the old entry (ssh-keygen -R '{name}') and connect again"
                ))
            }
            Verdict::Unknown { cert_authority } => match self.strict {
                StrictHostKeyChecking::No => {
                    tracing::warn!(host = name, %fp, "unknown host key accepted because StrictHostKeyChecking=no");
                    Ok(())
                }
                StrictHostKeyChecking::AcceptNew => self.record(name, key),
                StrictHostKeyChecking::Yes => {
                    let ca = if cert_authority {
                        " (known_hosts has an @cert-authority line for this host, but host \
                         certificates are not supported by this client)"
                    } else {
                        ""
                    };
                    refuse(format!(
                        "host key is not known: the server presented {kind} key {fp} ({}){ca}. \
                         If that is the right fingerprint, accept it with \
                         --strict-host-key-checking accept-new (or StrictHostKeyChecking \
                         accept-new in ssh_config), or add the key to known_hosts",
                        checked()
                    ))
                }
            },
        }
    }

    /// Appends `name key` to the first user file, creating it (and its directory) if needed.
    fn record(&self, name: &str, key: &PublicKey) -> Result<()> {
        let Some(file) = self.user_files.first() else {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "record host key",
                name,
                "StrictHostKeyChecking accept-new needs a user known_hosts file to write to",
            ));
        };
        let io = |e| Error::from_io("record host key", file.display().to_string(), e);
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir).map_err(io)?;
        }
        let needs_newline = std::fs::read(file)
            .map(|b| b.last().is_some_and(|c| *c != b'\n'))
            .unwrap_or(false);
        let openssh = key.to_openssh().map_err(|e| {
            Error::new(ErrorCode::Io, "record host key", name, e.to_string()).with_source(e)
        })?;
        let line = format!(
            "{}{name} {}\n",
            if needs_newline { "\n" } else { "" },
            openssh.trim()
        );
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file)
            .map_err(io)?;
        f.write_all(line.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        tracing::info!(host = name, file = %file.display(), fp = %key.fingerprint(HashAlg::Sha256), "recorded new host key");
        Ok(())
    }
}

/// Creates `dir` and missing parents with mode 0700, as ssh does for `~/.ssh`.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) const KEY_A: &str =
        "AAAAC3NzaC1lZDI1NTE5AAAAIL7ih64ikMU00yKhP0zFi/XWc8hhuzbV1EcFScfP4PGo";
    pub(super) const KEY_B: &str =
        "AAAAC3NzaC1lZDI1NTE5AAAAIIjhMfakUDaTQVnwSDa8+1zmU4FCQQkL9rNdWgHydjx7";
    pub(super) const RSA: &str = concat!(
        "AAAAB3NzaC1yc2EAAAADAQABAAABAQC2N0MWyH6SPbguMLWg/O8rH/VA8YK2Fn09Qv52qRS4xnYNU/8w",
        "axp/Lx7R/D8aGefOgyz9EN4yVFlG5MCMxBjmorfIj8df9Wzzde7CypaDtICwN64MOXPVNKO4m3VEeWp6",
        "rimwho9097Q7i1msX+2d7DvQ+kPtjx1kWOc52ihFvkN/JqvcXFHiz/JZ2xfOD5k2c+0WPO5bRXW7seek",
        "1A4dmje++TGjgLFOqcsFVhRsZTkL+pKPaOhVXx8P0KmS5Fco4xdMv3Kvz0xov/HoKkfvKSJcY1oi+oh2",
        "ofducb73OK2AdAOsFZLU1ZiO79Th+WczbpL7/XW0gVv+hRGXtxNT",
    );

    fn key(b64: &str) -> PublicKey {
        russh::keys::parse_public_key_base64(b64).unwrap_or_else(|e| panic!("{e}"))
    }

    fn policy(text: &str, strict: StrictHostKeyChecking) -> (HostKeyPolicy, PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "remote-kh-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        let file = dir.join("sub/known_hosts");
        if !text.is_empty() {
            std::fs::create_dir_all(dir.join("sub")).unwrap_or_else(|e| panic!("{e}"));
            std::fs::write(&file, text).unwrap_or_else(|e| panic!("{e}"));
        }
        (
            HostKeyPolicy {
                strict,
                user_files: vec![file],
                global_files: vec![],
            },
            dir,
        )
    }

    #[test]
    fn known_changed_unknown_and_revoked() {
        let text = format!(
            "# comment\n\n[10.0.0.1]:2222,web   ssh-ed25519 {KEY_A} c\n\
             *.example.com,!bad.example.com ssh-ed25519 {KEY_A}\n\
             @revoked * ssh-ed25519 {KEY_B}\n\
             @cert-authority *.ca.test ssh-ed25519 {KEY_B}\n\
             garbage line\n"
        );
        let (p, dir) = policy(&text, StrictHostKeyChecking::Yes);
        assert_eq!(p.verdict("[10.0.0.1]:2222", &key(KEY_A)), Verdict::Known);
        assert_eq!(p.verdict("web", &key(KEY_A)), Verdict::Known);
        assert_eq!(p.verdict("a.example.com", &key(KEY_A)), Verdict::Known);
        assert!(matches!(
            p.verdict("bad.example.com", &key(KEY_A)),
            Verdict::Unknown { .. }
        ));
        assert!(matches!(
            p.verdict("10.0.0.1", &key(KEY_A)),
            Verdict::Unknown { .. }
        ));
        assert!(matches!(p.verdict("web", &key(KEY_B)), Verdict::Revoked(_)));
        assert!(matches!(
            p.verdict("x.ca.test", &key(KEY_A)),
            Verdict::Unknown {
                cert_authority: true
            }
        ));
        let err = p
            .verify("other", &key(KEY_A))
            .err()
            .unwrap_or_else(|| panic!("unknown key accepted"));
        assert_eq!(err.code(), ErrorCode::AccessDenied);
        let fp = key(KEY_A).fingerprint(HashAlg::Sha256).to_string();
        assert!(err.to_string().contains(&fp), "{err}");
        assert!(err.to_string().contains("accept-new"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn changed_key_is_refused_even_with_accept_new() {
        let (p, dir) = policy(
            &format!("web ssh-ed25519 {KEY_A}\n"),
            StrictHostKeyChecking::AcceptNew,
        );
        let err = p.verify("web", &key(KEY_B)).err();
        let _ = std::fs::remove_dir_all(dir);
        let err = err.unwrap_or_else(|| panic!("changed key accepted"));
        assert!(err.to_string().contains("HAS CHANGED"), "{err}");
        assert!(err.to_string().contains("known_hosts:1"), "{err}");
    }

    #[test]
    fn hashed_names_match() {
        // `ssh-keygen -H` of "[127.0.0.1]:2222" with a fixed salt, computed here.
        let salt = b"0123456789abcdefghij";
        let mac = Hmac::<Sha1>::new_from_slice(salt)
            .unwrap_or_else(|e| panic!("{e}"))
            .chain_update(b"[127.0.0.1]:2222")
            .finalize()
            .into_bytes();
        let hashed = format!("|1|{}|{}", BASE64.encode(salt), BASE64.encode(&mac));
        assert!(hosts_match(&hashed, "[127.0.0.1]:2222"));
        assert!(!hosts_match(&hashed, "127.0.0.1"));
        assert!(!hosts_match("|1|bad", "x"));
    }

    #[test]
    fn accept_new_records_then_knows() {
        let (p, dir) = policy("", StrictHostKeyChecking::AcceptNew);
        let recorded = p.verify("[h]:2200", &key(KEY_A));
        let text = std::fs::read_to_string(&p.user_files[0]).unwrap_or_default();
        let strict = HostKeyPolicy {
            strict: StrictHostKeyChecking::Yes,
            ..p.clone()
        };
        let again = strict.verify("[h]:2200", &key(KEY_A));
        let _ = std::fs::remove_dir_all(dir);
        recorded.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(text, format!("[h]:2200 ssh-ed25519 {KEY_A}\n"));
        again.unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn known_key_types_are_preferred() {
        let (p, dir) = policy(
            &format!("web ssh-ed25519 {KEY_A}\nrsa-host ssh-rsa {RSA}\n"),
            StrictHostKeyChecking::Yes,
        );
        let ours = russh::Preferred::DEFAULT.key.to_vec();
        let web = p.preferred_algorithms("web", &ours);
        let rsa = p.preferred_algorithms("rsa-host", &ours);
        let other = p.preferred_algorithms("other", &ours);
        let _ = std::fs::remove_dir_all(dir);
        assert_eq!(web[0], Algorithm::Ed25519);
        assert!(rsa[..3].iter().all(|a| a.clone().is_rsa()), "{rsa:?}");
        assert_eq!(other, ours);
        assert_eq!(rsa.len(), ours.len());
    }

    #[test]
    fn policy_names_parse() {
        assert_eq!("ask".parse(), Ok(StrictHostKeyChecking::Yes));
        assert_eq!("Accept-New".parse(), Ok(StrictHostKeyChecking::AcceptNew));
        assert_eq!("off".parse(), Ok(StrictHostKeyChecking::No));
        assert!("maybe".parse::<StrictHostKeyChecking>().is_err());
        assert_eq!(host_key_name("h", 22), "h");
        assert_eq!(host_key_name("::1", 2222), "[::1]:2222");
    }
}

#[cfg(test)]
mod fuzz;
