//! The suite is not a rubber stamp: a backend that gets sizes or error codes wrong fails the
//! cases that check them, and only those.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use remote_host::conformance::{Outcome, SuiteOptions, run_suite};
use remote_host::local::LocalBackend;
use remote_host::{
    Backend, DirEntry, Error, ErrorCode, FileClient, FileStat, OpenFlags, PlatformInfo, RemoteFile,
    RemoteWriteFile, Result, Session, Statfs, Timestamp,
};

/// Local files, with `stat` off by one byte and `remove` reporting every failure as `io`.
struct BrokenFiles(Arc<dyn FileClient>);

#[async_trait]
impl FileClient for BrokenFiles {
    async fn open(&self, p: &str) -> Result<Box<dyn RemoteFile>> {
        self.0.open(p).await
    }
    async fn create(&self, p: &str) -> Result<Box<dyn RemoteWriteFile>> {
        self.0.create(p).await
    }
    async fn open_file(&self, p: &str, f: OpenFlags, m: u32) -> Result<Box<dyn RemoteWriteFile>> {
        self.0.open_file(p, f, m).await
    }
    async fn stat(&self, p: &str) -> Result<FileStat> {
        let mut st = self.0.stat(p).await?;
        st.size += 1;
        Ok(st)
    }
    async fn lstat(&self, p: &str) -> Result<FileStat> {
        self.0.lstat(p).await
    }
    async fn read_dir(&self, p: &str) -> Result<Vec<DirEntry>> {
        self.0.read_dir(p).await
    }
    async fn readlink(&self, p: &str) -> Result<String> {
        self.0.readlink(p).await
    }
    async fn mkdir(&self, p: &str, m: u32) -> Result<()> {
        self.0.mkdir(p, m).await
    }
    async fn mkdir_all(&self, p: &str, m: u32) -> Result<()> {
        self.0.mkdir_all(p, m).await
    }
    async fn remove(&self, p: &str) -> Result<()> {
        self.0
            .remove(p)
            .await
            .map_err(|e| Error::new(ErrorCode::Io, "remove", p, e.message()))
    }
    async fn rename(&self, a: &str, b: &str) -> Result<()> {
        self.0.rename(a, b).await
    }
    async fn symlink(&self, t: &str, l: &str) -> Result<()> {
        self.0.symlink(t, l).await
    }
    async fn link(&self, a: &str, b: &str) -> Result<()> {
        self.0.link(a, b).await
    }
    async fn chmod(&self, p: &str, m: u32) -> Result<()> {
        self.0.chmod(p, m).await
    }
    async fn chown(&self, p: &str, u: u32, g: u32) -> Result<()> {
        self.0.chown(p, u, g).await
    }
    async fn chtimes(&self, p: &str, a: Timestamp, m: Timestamp) -> Result<()> {
        self.0.chtimes(p, a, m).await
    }
    async fn truncate(&self, p: &str, s: u64) -> Result<()> {
        self.0.truncate(p, s).await
    }
    async fn statfs(&self, p: &str) -> Result<Statfs> {
        self.0.statfs(p).await
    }
    async fn getwd(&self) -> Result<String> {
        self.0.getwd().await
    }
}

/// The local backend with [`BrokenFiles`] and sessions that refuse to start (`unsupported`).
struct BrokenBackend(LocalBackend);

#[async_trait]
impl Backend for BrokenBackend {
    fn backend_type(&self) -> String {
        "broken".into()
    }
    fn addr(&self) -> String {
        self.0.addr()
    }
    fn user(&self) -> String {
        self.0.user()
    }
    async fn start(&self) -> Result<()> {
        self.0.start().await
    }
    fn is_connected(&self) -> bool {
        self.0.is_connected()
    }
    fn last_err(&self) -> Option<Error> {
        self.0.last_err()
    }
    fn keep_alive_interval(&self) -> Option<Duration> {
        self.0.keep_alive_interval()
    }
    async fn send_keep_alive(&self) -> Result<()> {
        self.0.send_keep_alive().await
    }
    async fn new_session(&self) -> Result<Box<dyn Session>> {
        Err(Error::unsupported(
            "new session",
            "broken://",
            "this target has no shell",
        ))
    }
    async fn files(&self) -> Result<Arc<dyn FileClient>> {
        Ok(Arc::new(BrokenFiles(self.0.files().await?)))
    }
    async fn upload_agent(&self, l: &Path, r: &str, m: u32) -> Result<String> {
        self.0.upload_agent(l, r, m).await
    }
    async fn detect_platform(&self) -> Result<PlatformInfo> {
        self.0.detect_platform().await
    }
    async fn close(&self) -> Result<()> {
        self.0.close().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_backend_fails_the_cases_that_check_what_it_breaks() {
    let b = BrokenBackend(LocalBackend::new());
    b.start().await.unwrap_or_else(|e| panic!("start: {e}"));
    let report = run_suite(&b, &SuiteOptions::default()).await;
    let outcome = |name: &str| {
        report
            .cases
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.outcome.clone())
            .unwrap_or_else(|| panic!("case {name} missing from the report"))
    };
    match outcome("file_create_write_read") {
        Outcome::Fail(why) => assert!(why.contains("size: got 13, want 12"), "{why}"),
        other => panic!("size off by one must fail file_create_write_read, got {other:?}"),
    }
    match outcome("error_codes") {
        Outcome::Fail(why) => assert!(why.contains("got error code io, want not-found"), "{why}"),
        other => panic!("a flattened error code must fail error_codes, got {other:?}"),
    }
    match outcome("exit_codes") {
        Outcome::Unsupported(why) => assert!(why.contains("no shell"), "{why}"),
        other => panic!("a target without sessions reports unsupported, got {other:?}"),
    }
    assert_eq!(outcome("read_partial_and_eof"), Outcome::Pass);
    assert_eq!(outcome("closed_handle_is_rejected"), Outcome::Pass);
    let (passed, failed, unsupported) = report.counts();
    assert_eq!(passed + failed + unsupported, report.cases.len());
    assert!(failed >= 2 && unsupported >= 8, "{report:#?}");
}
