//! Transfers both ways with their checks: the data file, our download and upload loops, the
//! SHA-256 checks of what landed (locally or on the target), and the transfer rows of a table.

use super::*;

/// Writes `bytes` of pseudo-random data to `path` (so a transfer that drops, repeats or reorders
/// a block changes the hash), flushed to disk, and returns its SHA-256 in hex.
pub fn data_file(path: &Path, bytes: u64) -> String {
    use std::io::Write as _;
    let mut f = std::fs::File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut rng = remote_host::conformance::support::Xorshift(0x9e37_79b9_7f4a_7c15);
    let mut sha = Sha256::new();
    let mut block = vec![0u8; 1 << 20];
    let mut left = bytes;
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            word.copy_from_slice(&rng.next_u64().to_le_bytes());
        }
        let len = left.min(block.len() as u64) as usize;
        sha.update(&block[..len]);
        f.write_all(&block[..len])
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        left -= len as u64;
    }
    drop(f);
    flush(path);
    hex(&sha.finalize())
}

/// Flushes the local file `path` to disk, so its writeback is over before the next run.
pub fn flush(path: &Path) {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .unwrap_or_else(|e| panic!("flushing {}: {e}", path.display()));
}

/// Lower-case hex, as `sha256sum` prints digests.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Panics, aborting the benchmark, unless the local file `path` has the SHA-256 `want`.
pub fn check_local(path: &Path, want: &str, what: &str) {
    use std::io::Read as _;
    let mut f = std::fs::File::open(path)
        .unwrap_or_else(|e| panic!("{what}: cannot read {}: {e}", path.display()));
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .unwrap_or_else(|e| panic!("{what}: reading {}: {e}", path.display()));
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
    }
    let got = hex(&sha.finalize());
    assert!(
        got == want,
        "{what}: {} has SHA-256 {got}, want {want}: the transfer is wrong, so the benchmark stops",
        path.display()
    );
}

/// Panics, aborting the benchmark, unless `path` on `b`'s target has the SHA-256 `want`, as the
/// target's own `sha256sum` computes it.
pub async fn check_remote(b: &dyn Backend, path: &str, want: &str, what: &str) {
    let (status, out, err) = crate::exec(b, &format!("sha256sum '{path}'"), &[])
        .await
        .unwrap_or_else(|e| panic!("{what}: sha256sum {path} on the target: {e}"));
    assert!(
        status.success(),
        "{what}: sha256sum {path} on the target: {status:?}: {err}"
    );
    let got = out.split_whitespace().next().unwrap_or_default();
    assert!(
        got == want,
        "{what}: {path} on the target has SHA-256 {got}, want {want}: the transfer is wrong, so \
         the benchmark stops"
    );
}

/// Where a transfer row's bytes land: cleared before each run and checked against the source's
/// SHA-256 after it, outside the time, on both sides.
#[derive(Clone, Copy)]
pub enum Landing<'a> {
    /// A local file (a download).
    Local(&'a Path),
    /// A file on `b`'s target (an upload), removed and checked through `b`.
    Remote(&'a dyn Backend, &'a str),
}

impl std::fmt::Debug for Landing<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Landing::Local(path) => f.debug_tuple("Local").field(path).finish(),
            Landing::Remote(b, path) => f
                .debug_tuple("Remote")
                .field(&b.backend_type())
                .field(path)
                .finish(),
        }
    }
}

impl Landing<'_> {
    /// Clears the landing, times `run`, checks what landed against `sha` (naming `who` in a
    /// mismatch) and flushes it to disk. Neither side fsyncs inside its time; the flush after
    /// it keeps one run's writeback from slowing the next run, which is the other side's.
    pub async fn timed(self, sha: &str, who: &str, run: impl Future<Output = ()>) -> Duration {
        match self {
            Landing::Local(path) => {
                let _ = std::fs::remove_file(path);
                let (took, ()) = timed(run).await;
                check_local(path, sha, who);
                flush(path);
                took
            }
            Landing::Remote(b, path) => {
                let files = b
                    .files()
                    .await
                    .unwrap_or_else(|e| panic!("the file client for {path}: {e}"));
                let _ = files.remove(path).await;
                let (took, ()) = timed(run).await;
                check_remote(b, path, sha, who).await;
                let (status, _, err) = crate::exec(b, "sync", &[])
                    .await
                    .unwrap_or_else(|e| panic!("sync on the target after {who}: {e}"));
                assert!(status.success(), "sync on the target: {status:?}: {err}");
                took
            }
        }
    }

    /// Our side of the row: `files` copies `from` (a path on the other side) to the landing.
    pub async fn ours(self, files: &dyn FileClient, from: &str) {
        match self {
            Landing::Local(path) => download(files, from, path).await,
            Landing::Remote(_, path) => upload(files, Path::new(from), path).await,
        }
    }
}

/// One transfer row: ours copies `from` to `landing` with our file client, and the peer runs
/// `command` (made inside its run, after the landing is cleared), which must land the same bytes.
pub struct Transfer<'a> {
    /// Our side's work, as the table names it.
    pub what: &'a str,
    /// The peer's work, as the table names it.
    pub peer: &'a str,
    /// Where both sides' bytes land.
    pub landing: Landing<'a>,
    /// The source: a target path for a download, a local one for an upload.
    pub from: &'a str,
    /// The peer's command for one run.
    pub command: &'a dyn Fn() -> Command,
}

impl std::fmt::Debug for Transfer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transfer")
            .field("what", &self.what)
            .field("peer", &self.peer)
            .field("landing", &self.landing)
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl Table {
    /// Times each of `rows` ([`PAIRS`] pairs, shown as the rate of `bytes`), every run's output
    /// checked against the source's SHA-256 `sha`.
    pub async fn transfers(
        &mut self,
        files: &dyn FileClient,
        (bytes, sha): (u64, &str),
        rows: &[Transfer<'_>],
    ) {
        for t in rows {
            self.row(
                Case::new(t.what, t.peer, Show::Rate(bytes)),
                async || {
                    t.landing
                        .timed(sha, "ours", t.landing.ours(files, t.from))
                        .await
                },
                async || {
                    Ok(t.landing
                        .timed(sha, t.peer, async {
                            run(&mut (t.command)()).await;
                        })
                        .await)
                },
            )
            .await;
        }
    }
}

/// Copies the target's `remote` into the local file `local` with our file client, in the
/// largest calls it allows; no fsync (as neither `sftp get`, `scp` nor `docker cp` does one).
pub async fn download(files: &dyn FileClient, remote: &str, local: &Path) {
    let what = || format!("downloading {remote} to {}", local.display());
    let mut h = files
        .open(remote)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", what()));
    let mut out = tokio::fs::File::create(local)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", what()));
    loop {
        let chunk = h
            .read(CHUNK)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", what()));
        if chunk.is_empty() {
            break;
        }
        out.write_all(&chunk)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", what()));
    }
    // tokio's file hands the last write to a blocking thread: wait for it, so the time includes
    // it and the check after sees every byte.
    out.flush()
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", what()));
    h.close()
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", what()));
}

/// Copies the local file `local` to the target's `remote` with our file client, in the largest
/// calls it allows; `create`, writes and `close`, no fsync (as the peers do none).
pub async fn upload(files: &dyn FileClient, local: &Path, remote: &str) {
    let what = || format!("uploading {} to {remote}", local.display());
    let mut src = tokio::fs::File::open(local)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", what()));
    let mut h = files
        .create(remote)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", what()));
    let mut buf = Vec::with_capacity(CHUNK as usize);
    loop {
        // Filled to CHUNK (tokio's file returns at most 2 MiB a read), so each write is as large
        // as a download's read.
        buf.clear();
        (&mut src)
            .take(CHUNK)
            .read_to_end(&mut buf)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", what()));
        if buf.is_empty() {
            break;
        }
        h.write(&buf)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", what()));
    }
    h.close()
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", what()));
}
