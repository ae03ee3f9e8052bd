//! The case registry, the context a case runs in, and reports.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use serde::Serialize;

use crate::backend::Backend;
use crate::error::{Error, ErrorCode};
use crate::file_client::FileClient;

/// Why a case did not pass.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The backend gave a wrong answer.
    Fail(String),
    /// The backend or target cannot do what the case needs; the reason says why.
    Unsupported(String),
}

/// What a case returns.
pub type CaseResult = std::result::Result<(), Failure>;

impl From<Error> for Failure {
    /// An `unsupported` error marks the case unsupported; any other unexpected error fails it.
    fn from(e: Error) -> Failure {
        match e.code() {
            ErrorCode::Unsupported => Failure::Unsupported(e.to_string()),
            _ => Failure::Fail(format!("unexpected error: {e}")),
        }
    }
}

/// What a case sees: the backend, its file client, a fresh directory of its own, and the
/// commands the target has.
pub struct Cx<'a> {
    /// The backend under test, already started.
    pub backend: &'a dyn Backend,
    files: Result<Arc<dyn FileClient>, Error>,
    /// An empty directory on the target for this case alone (absolute path); empty on a target
    /// with no file client, whose file cases end unsupported before they use it.
    pub dir: String,
    /// A command that exits 0 at once ([`SuiteOptions::noop_command`]).
    pub noop: &'a str,
    /// A command that runs until it is killed ([`SuiteOptions::idle_command`]).
    pub idle: &'a str,
}

impl fmt::Debug for Cx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cx")
            .field("backend", &self.backend.backend_type())
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Cx<'_> {
    /// The backend's file client, or the reason there is none.
    pub fn files(&self) -> Result<&dyn FileClient, Failure> {
        match &self.files {
            Ok(f) => Ok(f.as_ref()),
            Err(e) => Err(e.clone().into()),
        }
    }

    /// `self.dir` joined with `name`.
    pub fn path(&self, name: &str) -> String {
        format!("{}/{name}", self.dir)
    }
}

/// One scenario.
#[derive(Clone, Copy)]
pub struct Case {
    /// The name reports use; also the test name generated per backend.
    pub name: &'static str,
    /// The scenario.
    pub run: for<'a> fn(&'a Cx<'a>) -> BoxFuture<'a, CaseResult>,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

macro_rules! case_table {
    (; $($name:ident),* $(,)?) => {
        /// Every case of the suite, in report order.
        pub static CASES: &[Case] = &[
            $(Case { name: stringify!($name), run: |cx| Box::pin(super::cases::$name(cx)) },)*
        ];
    };
}
crate::conformance_cases!(case_table!());

/// How a case ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "kebab-case")]
pub enum Outcome {
    /// Every check held.
    Pass,
    /// A check failed; the text says which and how.
    Fail(String),
    /// The target cannot do what the case needs; the text says why.
    Unsupported(String),
}

/// The result of one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    /// The case's name.
    pub name: &'static str,
    /// How it ended.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Wall time in milliseconds.
    pub millis: u128,
}

/// The results of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The backend's type.
    pub backend: String,
    /// The backend's address.
    pub addr: String,
    /// One entry per case run.
    pub cases: Vec<CaseReport>,
}

impl Report {
    /// Cases that failed.
    pub fn failed(&self) -> impl Iterator<Item = &CaseReport> {
        self.cases
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Fail(_)))
    }

    /// Counts of (passed, failed, unsupported).
    pub fn counts(&self) -> (usize, usize, usize) {
        self.cases
            .iter()
            .fold((0, 0, 0), |(p, f, u), c| match c.outcome {
                Outcome::Pass => (p + 1, f, u),
                Outcome::Fail(_) => (p, f + 1, u),
                Outcome::Unsupported(_) => (p, f, u + 1),
            })
    }
}

/// Where and what to run.
#[derive(Debug, Clone)]
pub struct SuiteOptions {
    /// The parent of the suite's working directory on the target; `/tmp` when `None`.
    pub parent_dir: Option<String>,
    /// Only cases whose name contains this text.
    pub filter: Option<String>,
    /// A bound on each case, so a hung backend fails the case instead of the run.
    pub case_timeout: Duration,
    /// A command that exits 0 at once, for cases that need some command to run but not what it
    /// does: `true`, or on a target without a shell a program it has (e.g. `/remote-agent
    /// --version`), so those cases still run there.
    pub noop_command: String,
    /// A command that runs until it is killed, for the cases about ending sessions and closing
    /// the backend under a running command: `exec sleep 300`, or a program the target has.
    pub idle_command: String,
}

impl Default for SuiteOptions {
    fn default() -> SuiteOptions {
        SuiteOptions {
            parent_dir: None,
            filter: None,
            case_timeout: Duration::from_secs(300),
            noop_command: "true".into(),
            idle_command: "exec sleep 300".into(),
        }
    }
}

/// Runs every selected case against a started backend and reports each one. A case whose
/// directory cannot be made ends the run there: the cases after it would fail the same way.
pub async fn run_suite(backend: &dyn Backend, opts: &SuiteOptions) -> Report {
    let mut cases = Vec::new();
    for case in CASES {
        if opts
            .filter
            .as_deref()
            .is_some_and(|f| !case.name.contains(f))
        {
            continue;
        }
        let report = run_case(backend, case, opts).await;
        let stop = matches!(&report.outcome, Outcome::Fail(why) if why.starts_with(NO_DIR));
        cases.push(report);
        if stop {
            break;
        }
    }
    Report {
        backend: backend.backend_type(),
        addr: backend.addr(),
        cases,
    }
}

/// How the failure of a case whose directory could not be made begins.
const NO_DIR: &str = "cannot create the case directory";

/// Runs one case in a fresh directory, bounded by `opts.case_timeout`, and cleans up after it.
///
/// A target with no file client at all (`files` is `unsupported`) runs its session cases with
/// no directory; any other failure to make the directory fails the case without running it, so
/// no case ever works in a directory it does not own. A case that closed the backend (the close
/// case, which removes its own files first) leaves nothing the runner could still reach.
pub async fn run_case(backend: &dyn Backend, case: &Case, opts: &SuiteOptions) -> CaseReport {
    let started = Instant::now();
    let files = backend.files().await;
    let parent = opts.parent_dir.clone().unwrap_or_else(|| "/tmp".into());
    let dir = format!(
        "{}/remote-conformance-{}-{}-{}",
        parent.trim_end_matches('/'),
        std::process::id(),
        case.name,
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    let made = match &files {
        Ok(f) => f.mkdir(&dir, 0o755).await.map(|()| dir.clone()),
        Err(e) if e.code() == ErrorCode::Unsupported => Ok(String::new()),
        Err(e) => Err(e.clone()),
    };
    let outcome = match made {
        Err(e) => Outcome::Fail(format!("{NO_DIR} {dir}: {e}")),
        Ok(dir) => {
            let cx = Cx {
                backend,
                files,
                dir: dir.clone(),
                noop: &opts.noop_command,
                idle: &opts.idle_command,
            };
            let outcome = finish(run_bounded(case, &cx, opts.case_timeout).await);
            let cleaned = match cx.files() {
                Ok(f) if !dir.is_empty() && backend.is_connected() => remove_all(f, &dir).await,
                _ => Ok(()),
            };
            match (outcome, cleaned) {
                (Outcome::Pass, Err(e)) => {
                    Outcome::Fail(format!("cannot remove the case directory {dir}: {e}"))
                }
                (outcome, _) => outcome,
            }
        }
    };
    CaseReport {
        name: case.name,
        outcome,
        millis: started.elapsed().as_millis(),
    }
}

async fn run_bounded(case: &Case, cx: &Cx<'_>, limit: Duration) -> CaseResult {
    match tokio::time::timeout(limit, (case.run)(cx)).await {
        Ok(r) => r,
        Err(_) => Err(Failure::Fail(format!(
            "did not finish within {} s",
            limit.as_secs()
        ))),
    }
}

fn finish(r: CaseResult) -> Outcome {
    match r {
        Ok(()) => Outcome::Pass,
        Err(Failure::Fail(m)) => Outcome::Fail(m),
        Err(Failure::Unsupported(m)) => Outcome::Unsupported(m),
    }
}

/// Removes a tree through the file client, depth first, without following symlinks.
pub(crate) async fn remove_all(files: &dyn FileClient, path: &str) -> crate::Result<()> {
    let mut stack = vec![(path.to_string(), false)];
    while let Some((p, visited)) = stack.pop() {
        let st = files.lstat(&p).await?;
        if st.kind == crate::FileKind::Directory && !visited {
            stack.push((p.clone(), true));
            for e in files.read_dir(&p).await? {
                stack.push((format!("{p}/{}", e.name), false));
            }
        } else {
            files.remove(&p).await?;
        }
    }
    Ok(())
}
