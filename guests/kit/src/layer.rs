//! The [`Layer`] trait a guest implements, the slot holding its configured instance, and the
//! [`LazyFiles`] its upload decision gets.

use std::cell::OnceCell;
use std::marker::PhantomData;
use std::sync::OnceLock;

use crate::bindings::exports::remote::machine::guest;
use crate::bindings::remote::machine::types::{DirEntry, Error, ErrorCode};
use crate::{BelowBackend, BelowClient, error};

/// How an operation uses a path: for reading or writing, and whether a final symlink is
/// followed (`stat`, `open`) or acted on itself (`lstat`, `remove`, `rename`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// The operation changes the file system at this path.
    pub write: bool,
    /// A final symlink is followed.
    pub follow: bool,
}

impl Access {
    /// Reads through a final symlink (`stat`, `open`, `read-dir`, `statfs`).
    pub const READ: Access = Access {
        write: false,
        follow: true,
    };
    /// Reads the final component itself (`lstat`, `readlink`).
    pub const READ_LINK: Access = Access {
        write: false,
        follow: false,
    };
    /// Changes what a final symlink points to (`open-file` for writing, `chmod`, `truncate`).
    pub const WRITE: Access = Access {
        write: true,
        follow: true,
    };
    /// Changes the directory entry itself (`remove`, `rename`, `mkdir`, `symlink`).
    pub const WRITE_LINK: Access = Access {
        write: true,
        follow: false,
    };
}

/// The decisions of a middleware guest. The kit calls these at every point where something goes
/// down to the layer below or comes back up; everything else passes through unchanged.
///
/// Every method is required so a layer states what it does at each point, even "nothing".
pub trait Layer: Sized + 'static {
    /// Parses the guest's JSON configuration; the error is shown to the user as it is.
    fn configure(config: &str) -> Result<Self, String>;

    /// Where the configured layer lives (a `static` of the guest).
    fn slot() -> &'static OnceLock<Self>;

    /// The destination to open below, or a refusal.
    fn dest(&self, dest: &str) -> Result<String, Error>;

    /// The `backend-type` this layer reports, given the one below.
    fn backend_type(&self, below: String) -> String;

    /// The command line to start below, or a refusal.
    fn command(&self, cmd: &str) -> Result<String, Error>;

    /// An environment variable to set below: `Some` to pass it on (possibly changed), `None` to
    /// drop it silently, or a refusal.
    fn env(&self, name: &str, value: &str) -> Result<Option<(String, String)>, Error>;

    /// A path argument of `op` going down, or a refusal. `files` is the client below, for layers
    /// that must see symlinks to decide.
    fn path_in(
        &self,
        files: &BelowClient,
        op: &str,
        path: &str,
        access: Access,
    ) -> Result<String, Error>;

    /// The working directory to report, given the one below.
    fn getwd(&self, below: String) -> String;

    /// A path coming up (from `upload-agent`).
    fn path_out(&self, path: String) -> String;

    /// The target of a new symlink going down (`symlink`), or a refusal.
    fn link_target_in(&self, target: &str) -> Result<String, Error>;

    /// A symlink target coming up (`readlink`).
    fn link_target_out(&self, target: String) -> String;

    /// Removes the entries `read-dir` of `dir` (as the caller wrote it) must not show.
    fn entries(&self, files: &BelowClient, dir: &str, entries: &mut Vec<DirEntry>);

    /// The remote path of `upload-agent` going down, or a refusal.
    fn upload(&self, files: &LazyFiles, local: &str, remote: &str) -> Result<String, Error>;
}

/// The file client below, fetched on first use: a Docker backend has none until its agent was
/// uploaded, so `upload-agent` must not ask for it up front.
#[derive(Debug, Default)]
pub struct LazyFiles {
    backend: Option<std::rc::Rc<BelowBackend>>,
    client: OnceCell<BelowClient>,
}

impl LazyFiles {
    /// A client asked of `backend` on first use.
    pub(crate) fn of(backend: std::rc::Rc<BelowBackend>) -> LazyFiles {
        LazyFiles {
            backend: Some(backend),
            client: OnceCell::new(),
        }
    }

    /// A client that is already known.
    pub fn ready(client: BelowClient) -> LazyFiles {
        LazyFiles {
            backend: None,
            client: OnceCell::from(client),
        }
    }

    /// The client below, asking the backend below for it the first time.
    pub fn get(&self) -> Result<&BelowClient, Error> {
        if let Some(c) = self.client.get() {
            return Ok(c);
        }
        let backend = self.backend.as_ref().ok_or_else(|| {
            crate::error(
                crate::ErrorCode::Unsupported,
                "files",
                "",
                "no file client below",
            )
        })?;
        let client = backend.files()?;
        Ok(self.client.get_or_init(|| client))
    }
}

/// The configured layer. A guest that was never configured (the inner one of a composition made
/// ahead of time, whose `guest` export nobody can reach) runs with the configuration `{}`, if
/// that is valid for it.
pub fn layer<L: Layer>(op: &str) -> Result<&'static L, Error> {
    if let Some(l) = L::slot().get() {
        return Ok(l);
    }
    match L::configure("{}") {
        Ok(l) => Ok(L::slot().get_or_init(|| l)),
        Err(why) => Err(error(
            ErrorCode::InvalidArgument,
            op,
            "",
            format!("the guest was not configured, and it needs a configuration: {why}"),
        )),
    }
}

/// The component: every exported interface of the `middleware` world, implemented by wrapping
/// the imported one and asking `L`.
#[derive(Debug)]
pub struct Middleware<L>(PhantomData<L>);

impl<L: Layer> guest::Guest for Middleware<L> {
    fn configure(config: String) -> Result<(), String> {
        let layer = L::configure(&config)?;
        L::slot()
            .set(layer)
            .map_err(|_| "the guest was already configured".to_string())
    }
}
