//! The suite is not a rubber stamp: every case can fail. Each [`Fault`] is one bug put into
//! `local://` by a wrapper (a size off by one, a wrong error code, lost nanoseconds, a close
//! that does nothing, an exit status off, stderr mixed into stdout, the environment dropped, …);
//! the suite run over it must fail exactly the cases the fault names, no more and no fewer, and
//! every case of `conformance_cases!` must be named by some fault. A new case without a fault
//! that makes it fail fails this test, as does a case that stops noticing its fault.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use remote_host::conformance::{CASES, Outcome, SuiteOptions, run_suite};
use remote_host::local::LocalBackend;
use remote_host::session::{OutputPipe, StdinPipe};
use remote_host::{
    Backend, DirEntry, Error, ErrorCode, ExitStatus, FileClient, FileStat, OpenFlags, PlatformInfo,
    RemoteFile, RemoteWriteFile, Result, Session, Statfs, Timestamp,
};
use tokio::io::AsyncWriteExt as _;

/// One bug each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// `create` does not truncate an existing file.
    CreateKeepsContent,
    /// `exclusive` is ignored when opening.
    ExclusiveIgnored,
    /// A `read-at` at or past the end is an error instead of empty.
    ReadAtEndFails,
    /// `write-at` moves the handle's position, so the next `write` lands after it.
    WriteAtMovesPosition,
    /// A byte of every write at or past 48 MiB is flipped.
    CorruptPast48MiB,
    /// A listing stops after 500 entries.
    ListingCutAt500,
    /// A listing leaves out names holding a newline.
    ListingDropsNewlineNames,
    /// `lstat` follows a final symlink.
    LstatFollows,
    /// `link` copies the file instead of linking it.
    LinkCopies,
    /// Renaming a directory is refused.
    RenameRefusesDirectories,
    /// `remove` reports every failure as `io`.
    RemoveErrorsAreIo,
    /// `chmod` drops the set-id and sticky bits.
    ChmodDropsSpecialBits,
    /// `chown` does nothing.
    ChownDoesNothing,
    /// `chtimes` drops the nanoseconds.
    ChtimesLosesNanoseconds,
    /// A handle's `truncate` does nothing.
    HandleTruncateDoesNothing,
    /// `statfs` swaps free and available blocks.
    StatfsSwapsFree,
    /// `getwd` is relative.
    GetwdRelative,
    /// `mkdir-all` ignores its mode.
    MkdirAllIgnoresMode,
    /// A read handle's `sync` fails.
    ReadSyncFails,
    /// `stat` keeps answering for a path after it was removed (a stale cache).
    StatStaleAfterRemove,
    /// A closed read handle goes on reading.
    ReadAfterClose,
    /// A `write-at` of 64 KiB or more writes only its first 64 KiB.
    LargeWriteAtCut,
    /// Exit status 255 reads as -1 (a signed byte).
    Exit255Negative,
    /// A signal reads as exit status 128+N.
    SignalAsExitCode,
    /// Standard input stops after 1 MiB.
    StdinCutAt1MiB,
    /// Standard error is mixed into standard output.
    StderrIntoStdout,
    /// Environment values are trimmed of white space.
    EnvTrimmed,
    /// `setenv` is accepted and dropped.
    EnvDropped,
    /// Exit status 127 reads as 1.
    NotFoundAs1,
    /// A second `wait` answers again instead of failing.
    WaitTwiceAnswers,
    /// `close` leaves the command running.
    CloseLeavesCommand,
    /// A command whose stdin was not taken reads a stray newline.
    UntakenStdinNotEmpty,
    /// Output nobody took is never read, so the command stalls once a pipe fills.
    UntakenOutputNotDrained,
    /// `user` names someone else.
    WrongUser,
    /// `detect-platform` reports arm64.
    WrongArch,
    /// Keep-alive fails on a healthy backend.
    KeepAliveFails,
    /// `upload-agent` returns the path as given, not resolved.
    UploadPathUnresolved,
    /// The backend's `close` does nothing.
    CloseDoesNothing,
    /// No sessions at all (`unsupported`): not a bug, a target without a shell.
    NoSessions,
}

/// Each fault and the cases it must fail, exactly.
const FAULTS: &[(Fault, &[&str])] = &[
    (Fault::CreateKeepsContent, &["file_create_write_read"]),
    (Fault::ExclusiveIgnored, &["open_flags_matrix"]),
    (Fault::ReadAtEndFails, &["read_partial_and_eof"]),
    (Fault::WriteAtMovesPosition, &["positioned_io_and_holes"]),
    (Fault::CorruptPast48MiB, &["large_file_checksum"]),
    (Fault::ListingCutAt500, &["read_dir_many_entries"]),
    (
        Fault::ListingDropsNewlineNames,
        &["read_dir_non_ascii_names"],
    ),
    (Fault::LstatFollows, &["symlink_readlink_lstat"]),
    (Fault::LinkCopies, &["hard_link_nlink"]),
    (Fault::RenameRefusesDirectories, &["rename_over_and_across"]),
    (Fault::RemoveErrorsAreIo, &["error_codes"]),
    (Fault::ChmodDropsSpecialBits, &["chmod_visible_in_stat"]),
    (Fault::ChownDoesNothing, &["chown_visible_in_stat"]),
    (Fault::ChtimesLosesNanoseconds, &["chtimes_visible_in_stat"]),
    (Fault::HandleTruncateDoesNothing, &["truncate_up_and_down"]),
    (Fault::StatfsSwapsFree, &["statfs_plausible"]),
    (Fault::GetwdRelative, &["getwd_is_a_directory"]),
    (Fault::MkdirAllIgnoresMode, &["mkdir_modes_and_mkdir_all"]),
    (Fault::ReadSyncFails, &["write_handle_stat_and_sync"]),
    (Fault::StatStaleAfterRemove, &["remove_kinds"]),
    (Fault::ReadAfterClose, &["closed_handle_is_rejected"]),
    (Fault::LargeWriteAtCut, &["large_append_and_write_at"]),
    (Fault::Exit255Negative, &["exit_codes"]),
    (Fault::SignalAsExitCode, &["signal_termination"]),
    (Fault::StdinCutAt1MiB, &["stdin_stdout_round_trip"]),
    (
        Fault::StderrIntoStdout,
        &[
            "stderr_separated",
            "concurrent_sessions",
            "command_not_found",
        ],
    ),
    (Fault::EnvTrimmed, &["env_values_need_quoting"]),
    (
        Fault::EnvDropped,
        &["env_values_need_quoting", "concurrent_sessions"],
    ),
    (Fault::NotFoundAs1, &["command_not_found"]),
    (Fault::WaitTwiceAnswers, &["session_misuse"]),
    (Fault::CloseLeavesCommand, &["session_close_ends_command"]),
    (Fault::UntakenStdinNotEmpty, &["stdin_not_taken_reads_eof"]),
    (
        Fault::UntakenOutputNotDrained,
        &["untaken_output_does_not_stall"],
    ),
    (Fault::WrongUser, &["backend_identity"]),
    (Fault::WrongArch, &["detect_platform"]),
    (Fault::KeepAliveFails, &["keep_alive"]),
    (
        Fault::UploadPathUnresolved,
        &["upload_agent_atomic_replace"],
    ),
    (Fault::CloseDoesNothing, &["close_ends_everything"]),
    (Fault::NoSessions, &[]),
];

/// Sessions a [`Fault::CloseLeavesCommand`] session left running, ended when the test ends.
static LEFT_RUNNING: Mutex<Vec<Box<dyn Session>>> = Mutex::new(Vec::new());

fn flip(e: Error, code: ErrorCode) -> Error {
    Error::new(code, e.op(), e.target(), e.message())
}

/// `local://` with one fault.
struct Faulty {
    inner: LocalBackend,
    fault: Fault,
}

#[async_trait]
impl Backend for Faulty {
    fn backend_type(&self) -> String {
        format!("faulty({:?})", self.fault)
    }
    fn addr(&self) -> String {
        self.inner.addr()
    }
    fn user(&self) -> String {
        match self.fault {
            Fault::WrongUser => "nobody-at-all".into(),
            _ => self.inner.user(),
        }
    }
    async fn start(&self) -> Result<()> {
        self.inner.start().await
    }
    fn is_connected(&self) -> bool {
        self.inner.is_connected()
    }
    fn last_err(&self) -> Option<Error> {
        self.inner.last_err()
    }
    fn keep_alive_interval(&self) -> Option<Duration> {
        self.inner.keep_alive_interval()
    }
    async fn send_keep_alive(&self) -> Result<()> {
        match self.fault {
            Fault::KeepAliveFails => Err(Error::new(
                ErrorCode::ConnectionLost,
                "keep-alive",
                "faulty",
                "no answer",
            )),
            _ => self.inner.send_keep_alive().await,
        }
    }
    async fn new_session(&self) -> Result<Box<dyn Session>> {
        if self.fault == Fault::NoSessions {
            return Err(Error::unsupported(
                "new session",
                "faulty",
                "this target has no shell",
            ));
        }
        Ok(Box::new(FaultySession {
            inner: Some(self.inner.new_session().await?),
            fault: self.fault,
            stdin: false,
            stdout: false,
            stderr: false,
            started: false,
            waited: None,
            unread: Mutex::new(None),
        }))
    }
    async fn files(&self) -> Result<Arc<dyn FileClient>> {
        Ok(Arc::new(FaultyFiles {
            inner: self.inner.files().await?,
            fault: self.fault,
            removed: Mutex::new(Vec::new()),
        }))
    }
    async fn upload_agent(&self, l: &Path, r: &str, m: u32) -> Result<String> {
        let resolved = self.inner.upload_agent(l, r, m).await?;
        match self.fault {
            Fault::UploadPathUnresolved => Ok(r.to_string()),
            _ => Ok(resolved),
        }
    }
    async fn detect_platform(&self) -> Result<PlatformInfo> {
        let mut p = self.inner.detect_platform().await?;
        if self.fault == Fault::WrongArch {
            p.arch = "arm64".into();
        }
        Ok(p)
    }
    async fn close(&self) -> Result<()> {
        match self.fault {
            Fault::CloseDoesNothing => Ok(()),
            _ => self.inner.close().await,
        }
    }
}

struct FaultyFiles {
    inner: Arc<dyn FileClient>,
    fault: Fault,
    /// (path, its stat) of what was removed, for [`Fault::StatStaleAfterRemove`].
    removed: Mutex<Vec<(String, FileStat)>>,
}

impl FaultyFiles {
    fn write(&self, inner: Box<dyn RemoteWriteFile>) -> Box<dyn RemoteWriteFile> {
        Box::new(FaultyWrite {
            inner,
            fault: self.fault,
            moved_to: Mutex::new(None),
        })
    }
}

#[async_trait]
impl FileClient for FaultyFiles {
    async fn open(&self, p: &str) -> Result<Box<dyn RemoteFile>> {
        Ok(Box::new(FaultyRead {
            inner: self.inner.open(p).await?,
            fault: self.fault,
            closed: false,
        }))
    }
    async fn create(&self, p: &str) -> Result<Box<dyn RemoteWriteFile>> {
        let flags = match self.fault {
            Fault::CreateKeepsContent => OpenFlags {
                truncate: false,
                ..OpenFlags::CREATE
            },
            _ => OpenFlags::CREATE,
        };
        Ok(self.write(self.inner.open_file(p, flags, 0o666).await?))
    }
    async fn open_file(&self, p: &str, f: OpenFlags, m: u32) -> Result<Box<dyn RemoteWriteFile>> {
        let f = match self.fault {
            Fault::ExclusiveIgnored => OpenFlags {
                exclusive: false,
                ..f
            },
            _ => f,
        };
        Ok(self.write(self.inner.open_file(p, f, m).await?))
    }
    async fn stat(&self, p: &str) -> Result<FileStat> {
        if self.fault == Fault::StatStaleAfterRemove {
            let removed = self.removed.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((_, st)) = removed.iter().find(|(r, _)| r == p) {
                return Ok(st.clone());
            }
        }
        self.inner.stat(p).await
    }
    async fn lstat(&self, p: &str) -> Result<FileStat> {
        match self.fault {
            Fault::LstatFollows => self.inner.stat(p).await,
            _ => self.inner.lstat(p).await,
        }
    }
    async fn read_dir(&self, p: &str) -> Result<Vec<DirEntry>> {
        let mut entries = self.inner.read_dir(p).await?;
        match self.fault {
            Fault::ListingCutAt500 => entries.truncate(500),
            Fault::ListingDropsNewlineNames => entries.retain(|e| !e.name.contains('\n')),
            _ => {}
        }
        Ok(entries)
    }
    async fn readlink(&self, p: &str) -> Result<String> {
        self.inner.readlink(p).await
    }
    async fn mkdir(&self, p: &str, m: u32) -> Result<()> {
        self.inner.mkdir(p, m).await
    }
    async fn mkdir_all(&self, p: &str, m: u32) -> Result<()> {
        match self.fault {
            Fault::MkdirAllIgnoresMode => self.inner.mkdir_all(p, 0o755).await,
            _ => self.inner.mkdir_all(p, m).await,
        }
    }
    async fn remove(&self, p: &str) -> Result<()> {
        let before = self.inner.lstat(p).await;
        let r = self.inner.remove(p).await;
        match (self.fault, r, before) {
            (Fault::RemoveErrorsAreIo, Err(e), _) => Err(flip(e, ErrorCode::Io)),
            (Fault::StatStaleAfterRemove, Ok(()), Ok(st)) => {
                let mut removed = self.removed.lock().unwrap_or_else(|e| e.into_inner());
                removed.push((p.to_string(), st));
                Ok(())
            }
            (_, r, _) => r,
        }
    }
    async fn rename(&self, a: &str, b: &str) -> Result<()> {
        if self.fault == Fault::RenameRefusesDirectories
            && self.inner.lstat(a).await?.kind == remote_host::FileKind::Directory
        {
            return Err(Error::new(
                ErrorCode::IsDirectory,
                "rename",
                a,
                "directories cannot be renamed",
            ));
        }
        self.inner.rename(a, b).await
    }
    async fn symlink(&self, t: &str, l: &str) -> Result<()> {
        self.inner.symlink(t, l).await
    }
    async fn link(&self, a: &str, b: &str) -> Result<()> {
        if self.fault != Fault::LinkCopies {
            return self.inner.link(a, b).await;
        }
        let content = self.inner.open(a).await?.read_at(0, 1 << 20).await?;
        let exclusive = OpenFlags {
            write: true,
            create: true,
            exclusive: true,
            ..OpenFlags::default()
        };
        let mut w = self.inner.open_file(b, exclusive, 0o644).await?;
        w.write(&content).await?;
        w.close().await
    }
    async fn chmod(&self, p: &str, m: u32) -> Result<()> {
        match self.fault {
            Fault::ChmodDropsSpecialBits => self.inner.chmod(p, m & 0o777).await,
            _ => self.inner.chmod(p, m).await,
        }
    }
    async fn chown(&self, p: &str, u: u32, g: u32) -> Result<()> {
        match self.fault {
            Fault::ChownDoesNothing => Ok(()),
            _ => self.inner.chown(p, u, g).await,
        }
    }
    async fn chtimes(&self, p: &str, a: Timestamp, m: Timestamp) -> Result<()> {
        let whole = |t: Timestamp| Timestamp {
            seconds: t.seconds,
            nanoseconds: 0,
        };
        match self.fault {
            Fault::ChtimesLosesNanoseconds if a.nanoseconds < 1_000_000_000 => {
                self.inner.chtimes(p, whole(a), whole(m)).await
            }
            _ => self.inner.chtimes(p, a, m).await,
        }
    }
    async fn truncate(&self, p: &str, s: u64) -> Result<()> {
        self.inner.truncate(p, s).await
    }
    async fn statfs(&self, p: &str) -> Result<Statfs> {
        let mut s = self.inner.statfs(p).await?;
        if self.fault == Fault::StatfsSwapsFree {
            std::mem::swap(&mut s.bfree, &mut s.bavail);
            s.bavail += 1;
        }
        Ok(s)
    }
    async fn getwd(&self) -> Result<String> {
        match self.fault {
            Fault::GetwdRelative => Ok(".".into()),
            _ => self.inner.getwd().await,
        }
    }
}

struct FaultyRead {
    inner: Box<dyn RemoteFile>,
    fault: Fault,
    closed: bool,
}

#[async_trait]
impl RemoteFile for FaultyRead {
    async fn read(&mut self, len: u64) -> Result<Vec<u8>> {
        self.inner.read(len).await
    }
    async fn read_at(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        if self.fault == Fault::ReadAfterClose && self.closed {
            return Ok(vec![0; len.min(1) as usize]);
        }
        let data = self.inner.read_at(offset, len).await?;
        if self.fault == Fault::ReadAtEndFails && data.is_empty() && len > 0 {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "read at",
                "faulty",
                "offset past the end",
            ));
        }
        Ok(data)
    }
    async fn sync(&self) -> Result<()> {
        match self.fault {
            Fault::ReadSyncFails => Err(Error::new(ErrorCode::Io, "sync", "faulty", "EIO")),
            _ => self.inner.sync().await,
        }
    }
    async fn close(&mut self) -> Result<()> {
        self.closed = true;
        match self.fault {
            Fault::ReadAfterClose => Ok(()),
            _ => self.inner.close().await,
        }
    }
}

struct FaultyWrite {
    inner: Box<dyn RemoteWriteFile>,
    fault: Fault,
    /// Where [`Fault::WriteAtMovesPosition`] put the position.
    moved_to: Mutex<Option<u64>>,
}

#[async_trait]
impl RemoteWriteFile for FaultyWrite {
    async fn write(&mut self, data: &[u8]) -> Result<u64> {
        let moved = *self.moved_to.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = moved {
            let n = self.inner.write_at(at, data).await?;
            *self.moved_to.lock().unwrap_or_else(|e| e.into_inner()) = Some(at + n);
            return Ok(n);
        }
        let at = self.inner.stat().await?.size;
        if self.fault == Fault::CorruptPast48MiB && at + data.len() as u64 > 48 << 20 {
            let mut bad = data.to_vec();
            let i = bad.len() - 1;
            bad[i] ^= 1;
            return self.inner.write(&bad).await;
        }
        self.inner.write(data).await
    }
    async fn read_at(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        self.inner.read_at(offset, len).await
    }
    async fn write_at(&self, offset: u64, data: &[u8]) -> Result<u64> {
        match self.fault {
            Fault::WriteAtMovesPosition => {
                let n = self.inner.write_at(offset, data).await?;
                *self.moved_to.lock().unwrap_or_else(|e| e.into_inner()) = Some(offset + n);
                Ok(n)
            }
            Fault::LargeWriteAtCut if data.len() >= 64 << 10 => {
                self.inner.write_at(offset, &data[..64 << 10]).await?;
                Ok(data.len() as u64)
            }
            _ => self.inner.write_at(offset, data).await,
        }
    }
    async fn stat(&self) -> Result<FileStat> {
        self.inner.stat().await
    }
    async fn truncate(&self, size: u64) -> Result<()> {
        match self.fault {
            Fault::HandleTruncateDoesNothing => Ok(()),
            _ => self.inner.truncate(size).await,
        }
    }
    async fn sync(&self) -> Result<()> {
        self.inner.sync().await
    }
    async fn close(&mut self) -> Result<()> {
        self.inner.close().await
    }
}

struct FaultySession {
    inner: Option<Box<dyn Session>>,
    fault: Fault,
    stdin: bool,
    stdout: bool,
    stderr: bool,
    started: bool,
    waited: Option<ExitStatus>,
    /// The stdout [`Fault::UntakenOutputNotDrained`] took and never reads.
    unread: Mutex<Option<OutputPipe>>,
}

impl FaultySession {
    fn inner(&mut self) -> &mut Box<dyn Session> {
        self.inner
            .as_mut()
            .unwrap_or_else(|| panic!("a faulty session used after its close handed it away"))
    }
}

#[async_trait]
impl Session for FaultySession {
    fn stdin(&mut self) -> Result<StdinPipe> {
        self.stdin = true;
        let pipe = self.inner().stdin()?;
        if self.fault != Fault::StdinCutAt1MiB {
            return Ok(pipe);
        }
        let (ours, mut theirs) = tokio::io::duplex(64 << 10);
        tokio::spawn(async move {
            let mut pipe = pipe;
            let mut cut = tokio::io::AsyncReadExt::take(&mut theirs, 1 << 20);
            let _ = tokio::io::copy(&mut cut, &mut pipe).await;
            let _ = pipe.shutdown().await;
            let _ = tokio::io::copy(&mut theirs, &mut tokio::io::sink()).await;
        });
        Ok(Box::new(ours))
    }
    fn stdout(&mut self) -> Result<OutputPipe> {
        self.stdout = true;
        self.inner().stdout()
    }
    fn stderr(&mut self) -> Result<OutputPipe> {
        if self.fault != Fault::StderrIntoStdout {
            return self.inner().stderr();
        }
        // Misuse is still refused: only the stream is wrong.
        if self.stderr || self.started {
            return Err(remote_host::session::pipe_taken("stderr", "faulty"));
        }
        self.stderr = true;
        // The classic `2>&1`: what the command writes to stderr comes out of stdout.
        let (_, empty) = tokio::io::duplex(1);
        Ok(Box::new(empty))
    }
    fn setenv(&mut self, name: &str, value: &str) -> Result<()> {
        match self.fault {
            Fault::EnvDropped if !self.started => remote_host::session::check_env(name, value),
            Fault::EnvTrimmed => self.inner().setenv(name, value.trim()),
            _ => self.inner().setenv(name, value),
        }
    }
    async fn start(&mut self, cmd: &str) -> Result<()> {
        self.started = true;
        let cmd = match self.fault {
            Fault::StderrIntoStdout if self.stdout => format!("exec 2>&1; {cmd}"),
            _ => cmd.to_string(),
        };
        if self.fault == Fault::UntakenStdinNotEmpty && !self.stdin {
            let mut pipe = self.inner().stdin()?;
            self.inner().start(&cmd).await?;
            tokio::spawn(async move {
                let _ = pipe.write_all(b"\n").await;
                let _ = pipe.shutdown().await;
            });
            return Ok(());
        }
        if self.fault == Fault::UntakenOutputNotDrained && !self.stdout {
            // Taken and never read: the pipe fills and the command blocks on it.
            let pipe = self.inner().stdout()?;
            *self.unread.get_mut().unwrap_or_else(|e| e.into_inner()) = Some(pipe);
        }
        self.inner().start(&cmd).await
    }
    async fn wait(&mut self) -> Result<ExitStatus> {
        if self.fault == Fault::WaitTwiceAnswers
            && let Some(s) = &self.waited
        {
            return Ok(s.clone());
        }
        let status = match self.inner().wait().await? {
            ExitStatus::Exited(255) if self.fault == Fault::Exit255Negative => {
                ExitStatus::Exited(-1)
            }
            ExitStatus::Exited(127) if self.fault == Fault::NotFoundAs1 => ExitStatus::Exited(1),
            ExitStatus::Signaled { signal, .. } if self.fault == Fault::SignalAsExitCode => {
                let n = match signal.as_str() {
                    "INT" => 2,
                    "KILL" => 9,
                    _ => 15,
                };
                ExitStatus::Exited(128 + n)
            }
            s => s,
        };
        self.waited = Some(status.clone());
        Ok(status)
    }
    async fn close(&mut self) -> Result<()> {
        if self.fault == Fault::CloseLeavesCommand
            && let Some(inner) = self.inner.take()
        {
            LEFT_RUNNING
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(inner);
            return Ok(());
        }
        match self.inner.as_mut() {
            Some(s) => s.close().await,
            None => Ok(()),
        }
    }
}

/// The cases that failed when the suite ran over `fault`, and those that ended unsupported.
async fn run_with(fault: Fault, parent: &Path) -> (BTreeSet<String>, BTreeSet<String>) {
    let b = Faulty {
        inner: LocalBackend::new(),
        fault,
    };
    b.start()
        .await
        .unwrap_or_else(|e| panic!("start {fault:?}: {e}"));
    let opts = SuiteOptions {
        parent_dir: Some(parent.display().to_string()),
        // A stalled case (the fault of undrained output) ends here rather than at the default.
        case_timeout: Duration::from_secs(20),
        ..SuiteOptions::default()
    };
    let report = run_suite(&b, &opts).await;
    assert_eq!(
        report.cases.len(),
        CASES.len(),
        "{fault:?}: the suite stopped early: {report:#?}"
    );
    let mut failed = BTreeSet::new();
    let mut unsupported = BTreeSet::new();
    for c in &report.cases {
        match &c.outcome {
            Outcome::Pass => {}
            Outcome::Fail(why) => {
                eprintln!("{fault:?}: {} failed: {why}", c.name);
                failed.insert(c.name.to_string());
            }
            Outcome::Unsupported(_) => {
                unsupported.insert(c.name.to_string());
            }
        }
    }
    (failed, unsupported)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_case_fails_against_the_fault_made_for_it() {
    let named: BTreeSet<&str> = FAULTS.iter().flat_map(|(_, c)| c.iter().copied()).collect();
    let unnamed: Vec<&str> = CASES
        .iter()
        .map(|c| c.name)
        .filter(|n| !named.contains(n))
        .collect();
    assert!(
        unnamed.is_empty(),
        "cases no fault makes fail (add a Fault for each): {unnamed:?}"
    );
    let stale: Vec<&&str> = named
        .iter()
        .filter(|n| !CASES.iter().any(|c| c.name == **n))
        .collect();
    assert!(
        stale.is_empty(),
        "faults name cases that do not exist: {stale:?}"
    );

    let parent = std::env::temp_dir().join(format!("remote-suite-can-fail-{}", std::process::id()));
    std::fs::create_dir_all(&parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
    // Four suites at a time: each is mostly waiting on the local machine.
    let mut wrong = Vec::new();
    for batch in FAULTS.chunks(4) {
        let runs = batch.iter().map(|(fault, want)| {
            let parent = parent.clone();
            async move { (*fault, *want, run_with(*fault, &parent).await) }
        });
        for (fault, want, (failed, unsupported)) in futures::future::join_all(runs).await {
            let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
            if failed != want {
                wrong.push(format!("{fault:?}: failed {failed:?}, want {want:?}"));
            }
            if fault == Fault::NoSessions {
                for case in ["exit_codes", "session_misuse", "close_ends_everything"] {
                    assert!(
                        unsupported.contains(case),
                        "without sessions {case} is unsupported, not passed: {unsupported:?}"
                    );
                }
            } else if !unsupported.is_empty() {
                wrong.push(format!("{fault:?}: unsupported {unsupported:?}"));
            }
        }
    }
    LEFT_RUNNING
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
    let _ = std::fs::remove_dir_all(&parent);
    assert!(
        wrong.is_empty(),
        "faults not caught exactly:\n{}",
        wrong.join("\n")
    );
}
