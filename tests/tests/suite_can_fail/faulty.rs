//! `local://` with one [`Fault`] put in: the backend, its file client and handles, and its
//! sessions, each passing everything else through unchanged.

use super::*;

/// Sessions a [`Fault::CloseLeavesCommand`] session left running, ended when the test ends.
pub(crate) static LEFT_RUNNING: Mutex<Vec<Box<dyn Session>>> = Mutex::new(Vec::new());

fn flip(e: Error, code: ErrorCode) -> Error {
    Error::new(code, e.op(), e.target(), e.message())
}

/// `local://` with one fault.
pub(crate) struct Faulty {
    pub(crate) inner: LocalBackend,
    pub(crate) fault: Fault,
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
