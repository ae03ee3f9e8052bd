//! `--targets`: one piece of work on every target of an inventory, at most `--parallel` at once,
//! each target over one connection for the whole run (a [`Fleet`]). Each target's result is
//! printed as soon as it finishes, as lines prefixed `DEST | ` (stderr's on stderr) or as one
//! JSON object a line; then, without `--json`, a summary in the inventory's order on stderr.

use std::borrow::Cow;
use std::io::Write as _;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use futures::StreamExt as _;
use remote_host::backend::{Captured, capture};
use remote_host::fleet::{FanOut, Fleet, Inventory, Outcome, Target};
use remote_host::guest::GuestSpec;
use remote_host::ssh::SshOptions;
use remote_host::{Backend, DestType, Error, ErrorCode, ExitStatus, PlatformInfo};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt as _;

use crate::cli::{ExecArgs, FanOutArgs};

/// What one target's work produced, as the fan-out shows it.
pub trait Report {
    /// Whether the target counts as done well (the exit status is 0 only when all do).
    fn ok(&self) -> bool;
    /// One short line for the summary: `exit 0`, `linux/amd64`…
    fn summary(&self) -> String;
    /// Output printed on stdout, each line prefixed with the target.
    fn stdout(&self) -> Cow<'_, str> {
        Cow::Borrowed("")
    }
    /// Output printed on stderr, each line prefixed with the target.
    fn stderr(&self) -> Cow<'_, str> {
        Cow::Borrowed("")
    }
    /// Adds the result's fields to the target's JSON object.
    fn json(&self, object: &mut Value);
}

impl Report for Captured {
    fn ok(&self) -> bool {
        self.status.success()
    }

    fn summary(&self) -> String {
        match &self.status {
            ExitStatus::Exited(code) => format!("exit {code}"),
            ExitStatus::Signaled { signal, .. } => format!("signal {signal}"),
        }
    }

    fn stdout(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.stdout)
    }

    fn stderr(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.stderr)
    }

    fn json(&self, v: &mut Value) {
        let (code, signal) = match &self.status {
            ExitStatus::Exited(code) => (json!(code), Value::Null),
            ExitStatus::Signaled { signal, .. } => (Value::Null, json!(signal.as_str())),
        };
        v["exit_code"] = code;
        v["signal"] = signal;
        v["stdout"] = self.stdout().into();
        v["stderr"] = self.stderr().into();
    }
}

impl Report for PlatformInfo {
    fn ok(&self) -> bool {
        true
    }

    fn summary(&self) -> String {
        let part = |s: &str| if s.is_empty() { "?" } else { s }.to_string();
        let mut text = format!("{}/{}", part(&self.os), part(&self.arch));
        if !self.variant.is_empty() {
            text = format!("{text}/{}", self.variant);
        }
        text
    }

    fn stdout(&self) -> Cow<'_, str> {
        Cow::Owned(self.summary())
    }

    fn json(&self, v: &mut Value) {
        v["os"] = self.os.as_str().into();
        v["arch"] = self.arch.as_str().into();
        v["variant"] = self.variant.as_str().into();
    }
}

/// How a `--targets` run connects to each target: the SSH flags' options under each target's
/// own, and the `--guest` stack around every connection.
#[derive(Debug)]
pub struct Opener<'a> {
    default: DestType,
    ssh: SshOptions,
    guests: &'a [GuestSpec],
}

impl<'a> Opener<'a> {
    pub fn new(default: DestType, ssh: SshOptions, guests: &'a [GuestSpec]) -> Opener<'a> {
        Opener {
            default,
            ssh,
            guests,
        }
    }

    async fn open(&self, target: &Target) -> remote_host::Result<Box<dyn Backend>> {
        crate::open_target(target, self.default, &self.ssh, self.guests)
            .await
            .map_err(|e| as_error(&target.dest, &e))
    }
}

/// Reads an inventory from a file, or from stdin for `-`.
pub async fn load(inventory: &str) -> anyhow::Result<Inventory> {
    let text = if inventory == "-" {
        let mut text = String::new();
        tokio::io::stdin()
            .read_to_string(&mut text)
            .await
            .context("reading the inventory from stdin")?;
        text
    } else {
        std::fs::read_to_string(inventory).with_context(|| format!("reading {inventory}"))?
    };
    Ok(Inventory::parse(&text, inventory)?)
}

impl FanOutArgs {
    fn fan_out(&self) -> anyhow::Result<FanOut> {
        let timeout = self
            .timeout
            .map(|s| {
                Duration::try_from_secs_f64(s)
                    .ok()
                    .filter(|d| !d.is_zero())
                    .with_context(|| format!("--timeout {s}: want a positive number of seconds"))
            })
            .transpose()?;
        Ok(FanOut {
            parallel: usize::from(self.parallel),
            timeout,
            fail_fast: self.fail_fast,
        })
    }
}

/// Runs `work` on every target of `inventory` over connections made by `open`, prints each
/// result as it comes, and returns the status to exit with: 0 only when every target
/// succeeded, else 1.
pub async fn run<T, W, WF>(
    inventory: Inventory,
    args: &FanOutArgs,
    opener: &Opener<'_>,
    work: W,
) -> anyhow::Result<u8>
where
    T: Report,
    W: Fn(Target, Arc<dyn Backend>) -> WF,
    WF: Future<Output = remote_host::Result<T>>,
{
    let opts = args.fan_out()?;
    let open = |target: Target| async move { opener.open(&target).await };
    let fleet = Fleet::new(inventory.targets, open);
    let mut done: Vec<(usize, Outcome<T>)> = Vec::new();
    {
        let mut results = pin!(fleet.run(&opts, work, |r: &T| !r.ok()));
        while let Some((index, outcome)) = results.next().await {
            if args.json {
                print_json(&outcome)?;
            } else {
                print_lines(&outcome)?;
            }
            done.push((index, outcome));
        }
    }
    let unclosed = fleet.close(opts.parallel).await;
    done.sort_by_key(|(index, _)| *index);
    if !args.json {
        print_summary(done.iter().map(|(_, o)| o))?;
    }
    for (dest, e) in &unclosed {
        eprintln!("{dest} | closing the connection: {e}");
    }
    let all_ok = done
        .iter()
        .all(|(_, o)| o.result.as_ref().is_ok_and(Report::ok));
    Ok(if all_ok && unclosed.is_empty() { 0 } else { 1 })
}

/// `remote exec --targets`.
pub async fn exec(
    inventory: Inventory,
    args: &ExecArgs,
    opener: &Opener<'_>,
) -> anyhow::Result<u8> {
    let env = args
        .env
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .with_context(|| format!("-e {kv:?}: want NAME=VALUE"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let cmd = args.command.join(" ");
    let work = |_: Target, backend: Arc<dyn Backend>| {
        let (cmd, env) = (&cmd, &env);
        async move {
            let env: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            capture(backend.as_ref(), cmd, &env).await
        }
    };
    run(inventory, &args.fan, opener, work).await
}

/// `remote platform --targets`.
pub async fn platform(
    inventory: Inventory,
    args: &FanOutArgs,
    opener: &Opener<'_>,
) -> anyhow::Result<u8> {
    let work =
        |_: Target, backend: Arc<dyn Backend>| async move { backend.detect_platform().await };
    run(inventory, args, opener, work).await
}

/// The connection error as the library's error, keeping its code where it has one.
fn as_error(dest: &str, e: &anyhow::Error) -> Error {
    let code = e
        .chain()
        .find_map(|c| c.downcast_ref::<Error>())
        .map_or(ErrorCode::Io, |inner| inner.code());
    Error::new(code, "connect", dest, format!("{e:#}"))
}

fn status_text<T: Report>(o: &Outcome<T>) -> String {
    match &o.result {
        Ok(r) => r.summary(),
        Err(e) => format!("error {}: {}", e.code().as_str(), e.message()),
    }
}

fn print_lines<T: Report>(o: &Outcome<T>) -> anyhow::Result<()> {
    let Ok(r) = &o.result else { return Ok(()) };
    let mut stdout = std::io::stdout().lock();
    for line in r.stdout().lines() {
        writeln!(stdout, "{} | {line}", o.dest)?;
    }
    stdout.flush()?;
    let mut stderr = std::io::stderr().lock();
    for line in r.stderr().lines() {
        writeln!(stderr, "{} | {line}", o.dest)?;
    }
    Ok(())
}

fn print_summary<'a, T: Report + 'a>(
    outcomes: impl Iterator<Item = &'a Outcome<T>> + Clone,
) -> anyhow::Result<()> {
    let mut stderr = std::io::stderr().lock();
    let width = outcomes.clone().map(|o| o.dest.len()).max().unwrap_or(0);
    let (mut ok, mut all) = (0, 0);
    for o in outcomes {
        all += 1;
        ok += usize::from(o.result.as_ref().is_ok_and(Report::ok));
        writeln!(
            stderr,
            "{:<width$}  {:>8} ms  {}",
            o.dest,
            o.duration.as_millis(),
            status_text(o)
        )?;
    }
    writeln!(stderr, "{all} targets: {ok} ok, {} failed", all - ok)?;
    Ok(())
}

fn print_json<T: Report>(o: &Outcome<T>) -> anyhow::Result<()> {
    let mut v = json!({
        "dest": o.dest,
        "duration_ms": u64::try_from(o.duration.as_millis()).unwrap_or(u64::MAX),
    });
    match &o.result {
        Ok(r) => {
            v["ok"] = r.ok().into();
            r.json(&mut v);
        }
        Err(e) => {
            v["ok"] = false.into();
            v["error"] = json!({"code": e.code().as_str(), "message": e.to_string()});
        }
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{v}")?;
    stdout.flush()?;
    Ok(())
}
