//! `remote`: run commands on, move files to and from, and check a target machine, whatever
//! backend reaches it.
//!
//! Exit status: a remote command's own status passes through unchanged (128 + N for a command
//! killed by signal N); the tool's own failures print `remote: error: …` with the cause chain
//! and exit 255, as `ssh` does.
//!
//! # Layout
//! - `cli`: the argument grammar (clap).
//! - `exec`: `remote exec`, streaming stdio.
//! - `cp`: `remote cp`, files to and from a target or to every target of an inventory.
//! - `fanout`: `--targets`, one piece of work on every target of an inventory.
//! - `fs`: `remote fs`, one subcommand per file-client operation.
//! - `report`: `remote conformance` and `remote demo`.

mod cli;
mod cp;
mod exec;
mod fanout;
mod fs;
mod report;

use anyhow::Context as _;
use clap::{CommandFactory as _, FromArgMatches as _};
use remote_host::fleet::Target;
use remote_host::ssh::{SshBackend, SshOptions};
use remote_host::{Backend, DestType, Destination, connect, parse_destination};

use cli::{Cli, Command, DestCommand, GuestCommand, SshArgs};
use remote_host::guest::GuestSpec;

/// The exit status of the tool's own failures.
const TOOL_FAILURE: u8 = 255;

fn main() {
    let matches = Cli::command().long_version(long_version()).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("REMOTE_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(if cli.verbose { "debug" } else { "warn" })
            }),
        )
        .init();
    let code = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run(cli)).unwrap_or_else(|e| fail(&e)),
        Err(e) => fail(&anyhow::Error::new(e).context("cannot start the async runtime")),
    };
    // Exit at once: a thread still blocked reading our stdin for a finished command must not
    // hold the process open.
    std::process::exit(i32::from(code))
}

/// `--version`: the version and what this build carries, since what it can do depends on the
/// Rust targets installed when it was built (an agent per container platform, the compose
/// resolver).
fn long_version() -> String {
    let mut out = format!("{}\n", env!("CARGO_PKG_VERSION"));
    for (arch, built) in remote_host::docker::embedded_agents() {
        match built {
            Ok(size) => out.push_str(&format!("agent linux/{arch}: embedded, {size} bytes\n")),
            Err(why) => out.push_str(&format!("agent linux/{arch}: not built ({why})\n")),
        }
    }
    match remote_host::guest::ComposeResolver::embedded_size() {
        Ok(size) => out.push_str(&format!("compose resolver: embedded, {size} bytes")),
        Err(why) => out.push_str(&format!("compose resolver: not built ({why})")),
    }
    out
}

fn fail(e: &anyhow::Error) -> u8 {
    eprintln!("remote: error: {}", cause_chain(e));
    TOOL_FAILURE
}

/// The error and its causes joined with `: `, leaving out a cause whose text the message already
/// holds: our errors carry their cause's words in their own message, so printing every source
/// would say the same thing twice.
fn cause_chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Parses a destination, connects to it (`ssh://` with the options of the SSH flags) and wraps
/// it in the guests named with `--guest`.
async fn open(
    dest: &str,
    cli_default: DestType,
    ssh: &SshArgs,
    guests: &[GuestSpec],
) -> anyhow::Result<Box<dyn Backend>> {
    let dest = parse_destination(dest, cli_default)?;
    open_parsed(&dest, ssh.options(), guests).await
}

/// [`open`] for a target of an inventory: its options over the SSH flags'.
pub(crate) async fn open_target(
    target: &Target,
    cli_default: DestType,
    ssh: &SshOptions,
    guests: &[GuestSpec],
) -> anyhow::Result<Box<dyn Backend>> {
    let dest = target.destination(cli_default)?;
    open_parsed(&dest, target.ssh_options(ssh), guests).await
}

async fn open_parsed(
    dest: &Destination,
    ssh: SshOptions,
    guests: &[GuestSpec],
) -> anyhow::Result<Box<dyn Backend>> {
    let connected = async {
        if dest.dest_type != DestType::Ssh {
            return connect(dest).await;
        }
        let backend = SshBackend::new(dest, ssh)?;
        backend.start().await?;
        Ok(Box::new(backend) as Box<dyn Backend>)
    };
    let backend = connected
        .await
        .with_context(|| format!("cannot connect to {}", dest.raw))?;
    if guests.is_empty() {
        return Ok(backend);
    }
    let limits = remote_host::guest::Limits::default();
    remote_host::guest::stack(guests, backend, &dest.raw, &limits)
        .await
        .with_context(|| format!("cannot wrap {} in its guests", dest.raw))
}

async fn run(cli: Cli) -> anyhow::Result<u8> {
    let default = cli.default_type.into();
    let guests = cli.guests;
    match cli.command {
        Command::Dest {
            command: DestCommand::Parse { dest },
        } => {
            let d = parse_destination(&dest, default)?;
            println!("{}", serde_json::to_string(&d)?);
            Ok(0)
        }
        Command::Exec(args) => match (&args.fan.targets, &args.dest) {
            (Some(inventory), _) => {
                let inventory = fanout::load(inventory).await?;
                let open = fanout::Opener::new(default, cli.ssh.options(), &guests);
                fanout::exec(inventory, &args, &open).await
            }
            (None, Some(dest)) => {
                let backend = open(dest, default, &cli.ssh, &guests).await?;
                let code = exec::run(backend.as_ref(), &args).await;
                close(backend.as_ref(), code).await
            }
            (None, None) => anyhow::bail!("exec: give a destination or --targets"),
        },
        Command::Platform(args) => match (&args.fan.targets, &args.dest) {
            (Some(inventory), _) => {
                let inventory = fanout::load(inventory).await?;
                let open = fanout::Opener::new(default, cli.ssh.options(), &guests);
                fanout::platform(inventory, &args.fan, &open).await
            }
            (None, Some(dest)) => {
                let backend = open(dest, default, &cli.ssh, &guests).await?;
                let result = async {
                    let p = backend.detect_platform().await?;
                    println!("{}", serde_json::to_string(&p)?);
                    Ok(0)
                }
                .await;
                close(backend.as_ref(), result).await
            }
            (None, None) => anyhow::bail!("platform: give a destination or --targets"),
        },
        Command::Cp(args) => match &args.fan.targets {
            Some(inventory) => {
                let inventory = fanout::load(inventory).await?;
                let open = fanout::Opener::new(default, cli.ssh.options(), &guests);
                cp::to_targets(inventory, &args, &open).await
            }
            None => {
                let (ssh, guests) = (&cli.ssh, &guests);
                cp::run(&args, |dest: String| async move {
                    open(&dest, default, ssh, guests).await
                })
                .await
            }
        },
        Command::Fs { dest, op } => {
            let backend = open(&dest, default, &cli.ssh, &guests).await?;
            let result = fs::run(backend.as_ref(), op).await;
            close(backend.as_ref(), result).await
        }
        Command::UploadAgent {
            dest,
            local,
            remote,
            mode,
        } => {
            let backend = open(&dest, default, &cli.ssh, &guests).await?;
            let result = async {
                let mode = cli::parse_mode(&mode)?;
                let path = backend.upload_agent(&local, &remote, mode).await?;
                println!("{path}");
                Ok(0)
            }
            .await;
            close(backend.as_ref(), result).await
        }
        Command::Conformance(args) => {
            let backend = open(&args.dest, default, &cli.ssh, &guests).await?;
            let result = report::conformance(backend.as_ref(), &args).await;
            close(backend.as_ref(), result).await
        }
        Command::Guest {
            command: GuestCommand::Inspect { path, json },
        } => {
            let inspection = remote_host::guest::inspect(&path)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&inspection)?);
            } else {
                print!("{inspection}");
            }
            Ok(0)
        }
        Command::Guest {
            command: GuestCommand::New { name, lang, dir },
        } => {
            let made = remote_host::guest::scaffold::new(&name, lang, &dir)?;
            println!(
                "made {lang:?} guest {name} in {d}\nbuild it:  {d}/build.sh\ncheck it:  remote --guest {d}/{name}.wasm conformance local://",
                d = made.display()
            );
            Ok(0)
        }
        Command::Demo { dest } => {
            let backend = open(&dest, default, &cli.ssh, &guests).await?;
            let result = report::demo(backend.as_ref()).await;
            close(backend.as_ref(), result).await
        }
    }
}

/// Closes the backend after a command, keeping the command's result as what matters.
async fn close(backend: &dyn Backend, result: anyhow::Result<u8>) -> anyhow::Result<u8> {
    let closed = backend.close().await;
    let code = result?;
    closed.context("closing the connection")?;
    Ok(code)
}
