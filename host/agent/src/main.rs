//! `remote-agent`: an SFTP v3 server on standard input and output, the long-lived worker behind
//! the file client of targets that have no SSH server (Docker containers, even `FROM scratch`).
//!
//! It is built static (musl) so it runs in any Linux container, is started attached to a
//! `docker exec`, and speaks to the same SFTP client the SSH backend uses, so there is one client
//! implementation for both. Any SFTP client works against it, e.g. OpenSSH's
//! `sftp -D ./remote-agent`.
//!
//! It serves the OpenSSH extensions `posix-rename`, `statvfs`, `fstatvfs`, `fsync`, `hardlink`,
//! `limits` and `lsetstat`. Every failure is a status whose code fits (`no such file`,
//! `permission denied`, `op unsupported`, else `failure`) and whose message starts with the errno
//! symbol and a colon (`EEXIST: File exists`), because SFTP v3 has no codes for most errnos and
//! the client reads the symbol back.
//!
//! Like OpenSSH's `sftp-server`, it serves from the directory it was started in, and `-d DIR`
//! names another start directory, where `%d` stands for `$HOME`. The Docker backend starts it with
//! `-d %d` so relative paths and the client's working directory are the user's home, as over SSH;
//! when that is not a directory (a `FROM scratch` image has no home) it stays where it started.
//!
//! # Layout
//! - `serve`: the packet loop: framing, limits, dispatch, replies.
//! - `handler`: the file operations, as a `russh_sftp::server::Handler`.
//! - `handler/extensions`: the OpenSSH extensions.
//! - `limits`: packet, read and handle limits, shared by the loop, the handler and `limits`.
//! - `attrs`: file attributes and `ls -l` long names from `stat` results.
//! - `errno`: OS errors to SFTP statuses.
#![deny(missing_docs)]

mod attrs;
mod errno;
mod handler;
mod limits;
mod serve;

use std::os::fd::AsFd;
use std::process::ExitCode;

const USAGE: &str = "usage: remote-agent [-d start_directory] | --idle\n\
Serves SFTP version 3 on standard input and output until end of input.\n\
-d DIR  serve from DIR (%d = $HOME) when it is a directory\n\
--idle  do nothing until killed (keeps a FROM scratch test container running)\n\
Try it with OpenSSH: sftp -D ./remote-agent\n";

/// What the command line asked for.
enum Command {
    Serve { start_dir: Option<String> },
    Idle,
    Print(String),
    Usage(String),
}

fn parse_args(mut args: impl Iterator<Item = std::ffi::OsString>) -> Command {
    let mut start_dir = None;
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("-h" | "--help") => return Command::Print(USAGE.into()),
            Some("-V" | "--version") => {
                return Command::Print(format!("remote-agent {}\n", env!("CARGO_PKG_VERSION")));
            }
            Some("--idle") => return Command::Idle,
            Some("-d") => match args.next().map(|d| d.into_string()) {
                Some(Ok(d)) => start_dir = Some(d),
                Some(Err(d)) => return Command::Usage(format!("-d {d:?} is not UTF-8")),
                None => return Command::Usage("-d needs a directory".into()),
            },
            _ => return Command::Usage(format!("unexpected argument {arg:?}")),
        }
    }
    Command::Serve { start_dir }
}

/// Changes to the start directory when it is one; a failure keeps the directory we started in,
/// which is still a valid place to serve from.
fn enter(start_dir: &str) {
    let home = std::env::var("HOME").unwrap_or_default();
    let dir = start_dir.replace("%d", &home);
    if !dir.is_empty()
        && std::path::Path::new(&dir).is_dir()
        && let Err(e) = std::env::set_current_dir(&dir)
    {
        eprintln!("remote-agent: staying in the start directory: cannot enter {dir}: {e}");
    }
}

fn main() -> ExitCode {
    match parse_args(std::env::args_os().skip(1)) {
        Command::Print(text) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Command::Usage(why) => {
            eprint!("remote-agent: {why}\n{USAGE}");
            return ExitCode::from(2);
        }
        Command::Idle => loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        },
        Command::Serve { start_dir } => {
            if let Some(d) = start_dir {
                enter(&d);
            }
        }
    }
    // Own descriptors for fds 0 and 1: reads and writes then go straight to the OS through our
    // own buffers, not through std's line-buffered stdout.
    let dup = |fd: std::os::fd::BorrowedFd<'_>| fd.try_clone_to_owned().map(std::fs::File::from);
    let (input, output) = match (
        dup(std::io::stdin().as_fd()),
        dup(std::io::stdout().as_fd()),
    ) {
        (Ok(i), Ok(o)) => (i, o),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("remote-agent: cannot use standard input/output: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Larger pipe buffers let the sender (docker's shim, or a local client) run further ahead of
    // the agent; where the descriptors are not pipes this fails and changes nothing.
    for fd in [input.as_fd(), output.as_fd()] {
        let _ = rustix::pipe::fcntl_setpipe_size(fd, 1 << 20);
    }
    match serve::serve(input, output) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("remote-agent: {e}");
            ExitCode::FAILURE
        }
    }
}
