//! The argument grammar.

use std::path::PathBuf;

use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};
use remote_host::DestType;
use remote_host::ssh::{ConfigFile, Prompt, SshOptions, StrictHostKeyChecking};

/// Run commands and move files on a target machine over SSH, Docker, Podman, Compose or locally.
///
/// DEST is `ssh://[user@]host[:port]`, `docker://container`, `podman://container`,
/// `compose://project/service[/N]` (project `.` = the working directory's), `local://`, or a
/// bare `[user@]host` that takes --default-type.
#[derive(Debug, Parser)]
#[command(name = "remote", version, max_term_width = 100)]
pub struct Cli {
    /// The backend of a destination written without `scheme://`.
    #[arg(long, global = true, value_enum, default_value_t = DefaultType::Ssh)]
    pub default_type: DefaultType,
    /// Log what the tool does on stderr (or set REMOTE_LOG, e.g. REMOTE_LOG=debug).
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(flatten)]
    pub ssh: SshArgs,
    /// Wrap the backend in a guest component: PATH, or PATH=CONFIG_FILE with the guest's JSON
    /// configuration. Repeatable; each wraps the ones before it.
    #[arg(long = "guest", global = true, value_name = "PATH[=CONFIG_FILE]")]
    pub guests: Vec<remote_host::guest::GuestSpec>,
    #[command(subcommand)]
    pub command: Command,
}

/// The backend types a bare destination may default to.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DefaultType {
    /// `[user@]host[:port]` is an SSH server.
    Ssh,
    /// A bare string is a Docker container's name or ID.
    Docker,
    /// A bare string is a Podman container's name or ID.
    Podman,
    /// A bare string is `project/service[/N]`.
    Compose,
}

impl From<DefaultType> for DestType {
    fn from(t: DefaultType) -> DestType {
        match t {
            DefaultType::Ssh => DestType::Ssh,
            DefaultType::Docker => DestType::Docker,
            DefaultType::Podman => DestType::Podman,
            DefaultType::Compose => DestType::Compose,
        }
    }
}

/// Options of `ssh://` destinations; they override `ssh_config`, and other backends ignore them.
#[derive(Debug, Args)]
pub struct SshArgs {
    /// Read this ssh_config instead of ~/.ssh/config; `none` reads none.
    #[arg(long, global = true, value_name = "FILE")]
    pub ssh_config: Option<PathBuf>,
    /// What to do with a host key that known_hosts does not vouch for [default: yes, or the
    /// config's StrictHostKeyChecking].
    #[arg(long, global = true, value_enum, value_name = "POLICY")]
    pub strict_host_key_checking: Option<HostKeyChecking>,
    /// A known_hosts file to check instead of the config's (repeatable); accept-new records new
    /// keys in the first.
    #[arg(long, global = true, value_name = "FILE")]
    pub known_hosts: Vec<PathBuf>,
    /// An identity (private key) file to try before the config's (repeatable).
    #[arg(short = 'i', long = "identity", global = true, value_name = "FILE")]
    pub identity: Vec<PathBuf>,
    /// Also try password authentication, asking on the terminal.
    #[arg(long, global = true)]
    pub password: bool,
}

/// `--strict-host-key-checking` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum HostKeyChecking {
    /// Refuse unknown and changed host keys.
    Yes,
    /// Record unknown host keys in known_hosts; refuse changed ones.
    AcceptNew,
    /// Accept any host key that is not revoked.
    No,
}

impl SshArgs {
    /// The backend options these flags ask for. Passphrases and passwords are asked for on the
    /// terminal, and only when there is one.
    pub fn options(&self) -> SshOptions {
        let config = match &self.ssh_config {
            None => ConfigFile::Default,
            Some(p) if p.as_os_str() == "none" => ConfigFile::None,
            Some(p) => ConfigFile::Path(p.clone()),
        };
        let terminal = std::fs::File::open("/dev/tty").is_ok();
        let prompt: Option<Prompt> = terminal.then(|| {
            let ask: Prompt = Arc::new(|text: &str| rpassword::prompt_password(text).ok());
            ask
        });
        SshOptions {
            config,
            strict_host_key_checking: self.strict_host_key_checking.map(|p| match p {
                HostKeyChecking::Yes => StrictHostKeyChecking::Yes,
                HostKeyChecking::AcceptNew => StrictHostKeyChecking::AcceptNew,
                HostKeyChecking::No => StrictHostKeyChecking::No,
            }),
            known_hosts: self.known_hosts.clone(),
            identities: self.identity.clone(),
            password: self.password,
            prompt,
            ..SshOptions::default()
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Work with destination strings.
    Dest {
        #[command(subcommand)]
        command: DestCommand,
    },
    /// Run a command on the target, streaming stdin, stdout and stderr; exit with its status.
    Exec(ExecArgs),
    /// Print the target's platform as JSON: {"os","arch","variant"} in Go's names.
    Platform(PlatformArgs),
    /// Copy files between this machine and a target, or to every target of an inventory.
    Cp(CpArgs),
    /// File operations on the target.
    Fs {
        /// The target.
        dest: String,
        #[command(subcommand)]
        op: FsOp,
    },
    /// Install a local binary on the target atomically; prints the absolute remote path.
    UploadAgent {
        /// The target.
        dest: String,
        /// The local file.
        local: PathBuf,
        /// Where to put it (`~/…` and relative paths are resolved on the target).
        remote: String,
        /// Permission bits, in octal.
        #[arg(long, default_value = "755")]
        mode: String,
    },
    /// Run the conformance suite against the target; exits 1 when a case fails.
    Conformance(ConformanceArgs),
    /// Work with guest components.
    Guest {
        #[command(subcommand)]
        command: GuestCommand,
    },
    /// A short tour against a target (default: this machine): platform, commands, files.
    Demo {
        /// The target.
        #[arg(default_value = "local://")]
        dest: String,
    },
}

/// `remote dest …`.
#[derive(Debug, Subcommand)]
pub enum DestCommand {
    /// Parse DEST and print {"type","user","host","port","service","sequence","raw"} as JSON.
    Parse {
        /// The destination string.
        dest: String,
    },
}

/// `remote guest …`.
#[derive(Debug, Subcommand)]
pub enum GuestCommand {
    /// Print a component's world, imports and exports.
    Inspect {
        /// The component (`.wasm`).
        path: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make a new pass-through middleware guest to start from, in the directory NAME: the
    /// source, a build script (`NAME/build.sh` builds `NAME/NAME.wasm`) and a copy of the WIT.
    New {
        /// The guest's name: lowercase letters, digits and inner `-`.
        name: String,
        /// The language: `rust` (wit-bindgen), `python` (componentize-py) or `js` (jco
        /// componentize).
        #[arg(long)]
        lang: remote_host::guest::scaffold::Lang,
        /// Where to make the directory NAME.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
}

/// What `--targets` runs take: the inventory, and how the fan-out over it goes.
#[derive(Debug, Args)]
pub struct FanOutArgs {
    /// Run on every target of an inventory (`-` reads it from stdin): one destination a line,
    /// a JSON list or object, or TOML (see the README's "Many targets"). Each target's output is
    /// printed when it finishes, its lines prefixed `DEST | `; a summary goes to stderr; the exit
    /// status is 0 only when every target succeeded.
    #[arg(long, value_name = "FILE")]
    pub targets: Option<String>,
    /// With `--targets`: how many targets at once.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,
    /// With `--targets`: the most one target may take, connecting included, in seconds (an
    /// inventory's `timeout` wins for its targets).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// With `--targets`: start no further target once one failed.
    #[arg(long)]
    pub fail_fast: bool,
    /// With `--targets`: one JSON object a line per target instead of prefixed lines and a
    /// summary.
    #[arg(long)]
    pub json: bool,
}

/// `remote exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The target (or `--targets` for many).
    #[arg(required_unless_present = "targets", conflicts_with = "targets")]
    pub dest: Option<String>,
    #[command(flatten)]
    pub fan: FanOutArgs,
    /// Set an environment variable for the command (repeatable).
    #[arg(short = 'e', long = "env", value_name = "K=V")]
    pub env: Vec<String>,
    /// Do not forward stdin (the command reads end-of-file).
    #[arg(short = 'n', long)]
    pub no_stdin: bool,
    /// The command; its words are joined with spaces and run by the target's shell, as ssh does.
    #[arg(last = true, required = true, num_args = 1..)]
    pub command: Vec<String>,
}

/// `remote platform`.
#[derive(Debug, Args)]
pub struct PlatformArgs {
    /// The target (or `--targets` for many).
    #[arg(required_unless_present = "targets", conflicts_with = "targets")]
    pub dest: Option<String>,
    #[command(flatten)]
    pub fan: FanOutArgs,
}

/// `remote cp`.
#[derive(Debug, Args)]
pub struct CpArgs {
    /// Copy directories and everything under them (symlinks stay symlinks).
    #[arg(short = 'r', long)]
    pub recursive: bool,
    /// Keep the sources' modification and access times (modes are always kept).
    #[arg(short = 'p')]
    pub preserve: bool,
    /// Continue a partial file an earlier `--resume` copy left (when its bytes match the
    /// source's), and keep the partial file if this copy fails.
    #[arg(long)]
    pub resume: bool,
    /// Compare both sides' SHA-256 after each file, computed where the file is (`sha256sum` on
    /// the target when it has one).
    #[arg(long)]
    pub verify: bool,
    /// How many files of a tree are copied at once.
    #[arg(short = 'j', long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: u16,
    /// SRC... DST. A remote operand is `DEST:PATH` (`ssh://host:2222:/etc/motd`,
    /// `docker://web:/tmp/x`, `host:~/x`); with `--targets`, DST is `:PATH` on every target.
    /// Both sides may be remote (the bytes pass through this machine). `--json` prints progress
    /// events.
    #[arg(required = true, num_args = 2.., value_name = "SRC... DST")]
    pub operands: Vec<String>,
    #[command(flatten)]
    pub fan: FanOutArgs,
}

/// `remote conformance`.
#[derive(Debug, Args)]
pub struct ConformanceArgs {
    /// The target.
    pub dest: String,
    /// Parent directory for the suite's scratch directory on the target.
    #[arg(long, value_name = "PATH")]
    pub dir: Option<String>,
    /// Only cases whose name contains TEXT.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `remote fs DEST <op>`.
#[derive(Debug, Subcommand)]
pub enum FsOp {
    /// List a directory.
    Ls {
        /// Long listing: mode, links, owner, size, time.
        #[arg(short = 'l')]
        long: bool,
        /// The directory (default: the working directory).
        path: Option<String>,
    },
    /// Print metadata as JSON.
    Stat {
        /// Do not follow a final symlink.
        #[arg(short = 'L', long)]
        lstat: bool,
        /// The path.
        path: String,
    },
    /// Print a file's contents.
    Cat {
        /// The file.
        path: String,
    },
    /// Copy a local file to the target (written beside, then renamed into place).
    Put {
        /// The local file.
        local: PathBuf,
        /// The remote path.
        remote: String,
    },
    /// Copy a file from the target (written beside, then renamed into place).
    Get {
        /// The remote file.
        remote: String,
        /// The local path.
        local: PathBuf,
    },
    /// Make a directory.
    Mkdir {
        /// Make parents as needed; no error if it exists.
        #[arg(short = 'p')]
        parents: bool,
        /// Permission bits, in octal.
        #[arg(short = 'm', long, default_value = "755")]
        mode: String,
        /// The directory.
        path: String,
    },
    /// Remove a file, a symlink or an empty directory.
    Rm {
        /// The path.
        path: String,
    },
    /// Rename, replacing an existing file.
    Mv {
        /// The current name.
        old: String,
        /// The new name.
        new: String,
    },
    /// Make a link (hard unless -s).
    Ln {
        /// Make a symbolic link storing TARGET as given.
        #[arg(short = 's')]
        symbolic: bool,
        /// What the link points to.
        target: String,
        /// The link to create.
        link: String,
    },
    /// Print a symlink's target.
    Readlink {
        /// The symlink.
        path: String,
    },
    /// Set permission bits (octal).
    Chmod {
        /// Permission bits, in octal, e.g. 644 or 4755.
        mode: String,
        /// The path.
        path: String,
    },
    /// Set the numeric owner and group.
    Chown {
        /// UID:GID, numeric.
        owner: String,
        /// The path.
        path: String,
    },
    /// Create a file if missing and set its times (default: now).
    Touch {
        /// Access time as SECONDS[.NANOS] since the epoch.
        #[arg(long, value_name = "SECONDS[.NANOS]")]
        atime: Option<String>,
        /// Modification time as SECONDS[.NANOS] since the epoch.
        #[arg(long, value_name = "SECONDS[.NANOS]")]
        mtime: Option<String>,
        /// The file.
        path: String,
    },
    /// Set a file's size, cutting or extending with zeros.
    Truncate {
        /// The file.
        path: String,
        /// The new size in bytes.
        size: u64,
    },
    /// Print file-system statistics as JSON.
    Statfs {
        /// Any path on the file system (default: the working directory).
        path: Option<String>,
    },
    /// Print the working directory.
    Getwd,
}

/// Parses octal permission bits, refusing anything beyond 0o7777.
pub fn parse_mode(s: &str) -> anyhow::Result<u32> {
    let mode = u32::from_str_radix(s.strip_prefix("0o").unwrap_or(s), 8)
        .map_err(|_| anyhow::anyhow!("mode {s:?} is not an octal number"))?;
    anyhow::ensure!(mode <= 0o7777, "mode {s} has bits outside 7777");
    Ok(mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert_eq!(parse_mode("755").ok(), Some(0o755));
        assert_eq!(parse_mode("0o4755").ok(), Some(0o4755));
        assert!(parse_mode("9").is_err());
        assert!(parse_mode("17777").is_err());
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
