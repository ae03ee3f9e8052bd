//! SHA-256 of a file, or of its first bytes, on either side of a copy: by `sha256sum` on the
//! side's own machine when it has a shell with one, so the bytes never cross the wire, else by
//! reading them through the side's file client.

use sha2::{Digest as _, Sha256};

use super::Endpoint;
use crate::backend::capture;
use crate::error::{Error, ErrorCode, Result};
use crate::session::shell_quote;

/// How much a fallback read asks for at a time.
const CHUNK: u64 = 1 << 20;

/// The SHA-256 (lower-case hex) of `path` on `side`, or of its first `prefix` bytes.
pub async fn sha256(side: &Endpoint, path: &str, prefix: Option<u64>) -> Result<String> {
    if let Some(backend) = &side.backend {
        let file = shell_quote(path);
        let cmd = match prefix {
            Some(n) => format!("head -c {n} -- {file} | sha256sum"),
            None => format!("sha256sum < {file}"),
        };
        // A target without a shell or without sha256sum (a scratch container) answers with an
        // error or a failed status: the bytes are read instead.
        if let Ok(out) = capture(backend.as_ref(), &cmd, &[]).await
            && out.status.success()
            && let Some(hex) = parse(&out.stdout)
        {
            return Ok(hex);
        }
    }
    read_and_hash(side, path, prefix).await
}

/// The hex digest `sha256sum` printed, if it printed one.
fn parse(stdout: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(stdout).ok()?;
    let hex = text.split_whitespace().next()?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_lowercase())
}

async fn read_and_hash(side: &Endpoint, path: &str, prefix: Option<u64>) -> Result<String> {
    let mut file = side.files.open(path).await?;
    let mut hasher = Sha256::new();
    let mut left = prefix.unwrap_or(u64::MAX);
    while left > 0 {
        let chunk = file.read(CHUNK.min(left)).await?;
        if chunk.is_empty() {
            break;
        }
        left = left.saturating_sub(chunk.len() as u64);
        hasher.update(&chunk);
    }
    file.close().await?;
    if let (Some(n), true) = (prefix, left > 0) {
        return Err(Error::new(
            ErrorCode::Io,
            "hash",
            path,
            format!("shorter than the {n} bytes to hash"),
        ));
    }
    Ok(data_encoding::HEXLOWER.encode(&hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_digest_counts_as_one() {
        let d = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(parse(format!("{d}  -\n").as_bytes()).as_deref(), Some(d));
        assert_eq!(parse(d.to_uppercase().as_bytes()).as_deref(), Some(d));
        assert_eq!(parse(b"sh: sha256sum: not found\n"), None);
        assert_eq!(parse(b""), None);
        assert_eq!(parse(b"abc  -\n"), None);
    }
}
