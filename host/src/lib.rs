//! `remote-host`: one backend-neutral interface to a target machine — run commands, read and
//! write its files, learn its platform, install a helper binary — whether the target is this
//! machine, an SSH server, a Docker or Podman container or a Compose service.
//!
//! The interface is defined once in WIT (`wit/` at the repository root, package
//! `remote:machine`); the traits here mirror it one to one so native backends and sandboxed
//! guest components are interchangeable.
//!
//! ```no_run
//! use remote_host::{connect, parse_destination, DestType};
//!
//! # async fn demo() -> remote_host::Result<()> {
//! let dest = parse_destination("local://", DestType::Ssh)?;
//! let backend = connect(&dest).await?;
//! let files = backend.files().await?;
//! println!("{} entries in /", files.read_dir("/").await?.len());
//! let mut session = backend.new_session().await?;
//! session.start("true").await?;
//! assert!(session.wait().await?.success());
//! backend.close().await
//! # }
//! ```
//!
//! # Layout
//! - [`error`]: the [`Error`] type and its [`ErrorCode`], mirroring `types.error-code`.
//! - [`types`]: plain data shared by the interfaces.
//! - [`backend`], [`session`], [`file_client`]: the traits, one module per WIT interface.
//! - [`destination`]: parsing of destination strings.
//! - [`lifetime`]: a backend's open-or-closed state, shared with what it hands out.
//! - [`platform`]: `uname` names to GOOS/GOARCH.
//! - [`upload`]: atomic installation of a helper binary through any file client.
//! - [`local`]: the `local://` backend.
//! - [`sftp`]: the SFTP file client shared by the SSH and Docker backends.
//! - [`docker`], [`compose`]: the `docker://`, `podman://` and `compose://` backends.
//! - [`ssh`]: the `ssh://` backend.
//! - [`conformance`]: the suite every backend must pass.
//! - [`fleet`]: inventories of many targets and the bounded fan-out over them.
//! - [`guest`]: sandboxed WebAssembly layers over any backend (wasmtime).
#![deny(missing_docs)]

pub mod backend;
pub mod compose;
pub mod conformance;
pub mod copy;
pub mod destination;
pub mod docker;
pub mod error;
pub mod file_client;
pub mod fleet;
pub mod guest;
pub mod lifetime;
pub mod local;
pub mod platform;
pub mod session;
pub mod sftp;
pub mod ssh;
pub mod types;
pub mod upload;

pub use backend::Backend;
pub use destination::{DestType, Destination, parse_destination};
pub use error::{Error, ErrorCode, Result};
pub use file_client::{FileClient, RemoteFile, RemoteWriteFile};
pub use session::Session;
pub use types::{
    DirEntry, ExitStatus, FileKind, FileStat, OpenFlags, PlatformInfo, Statfs, Timestamp,
};

/// Builds and starts the backend a destination selects.
pub async fn connect(dest: &Destination) -> Result<Box<dyn Backend>> {
    let backend: Box<dyn Backend> = match dest.dest_type {
        DestType::Local => Box::new(local::LocalBackend::new()),
        DestType::Docker => Box::new(docker::DockerBackend::new(&dest.host)),
        DestType::Podman => Box::new(docker::DockerBackend::podman(&dest.host)),
        DestType::Compose => Box::new(compose::ComposeBackend::new(
            &dest.host,
            &dest.service,
            dest.sequence,
        )),
        DestType::Ssh => Box::new(ssh::SshBackend::new(dest, ssh::SshOptions::default())?),
    };
    backend.start().await?;
    Ok(backend)
}
