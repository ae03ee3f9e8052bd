//! `remote exec --targets`: one command on every target of an inventory, at most `--parallel`
//! at once. Each target's output is gathered and printed when the run ends, in the inventory's
//! order, each line prefixed `DEST | ` (stderr's on stderr), then a summary on stderr; or one
//! JSON object a line per target with `--json`.

use std::future::Future;
use std::io::Write as _;
use std::time::Duration;

use anyhow::Context as _;
use remote_host::backend::{Captured, capture};
use remote_host::fleet::{FanOut, Inventory, Outcome, fan_out};
use remote_host::{Backend, Error, ErrorCode, ExitStatus};
use tokio::io::AsyncReadExt as _;

use crate::cli::ExecArgs;

/// Runs the command on every target of `inventory` (a path, or `-` for stdin) and returns the
/// status to exit with: 0 only when every target ran it and it exited 0, else 1.
pub async fn exec<O, F>(inventory: &str, args: &ExecArgs, open: O) -> anyhow::Result<u8>
where
    O: Fn(String) -> F,
    F: Future<Output = anyhow::Result<Box<dyn Backend>>>,
{
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
    let inv = Inventory::parse(&text, inventory)?;
    let env = args
        .env
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .with_context(|| format!("-e {kv:?}: want NAME=VALUE"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let timeout = args
        .timeout
        .map(|s| {
            Duration::try_from_secs_f64(s)
                .ok()
                .filter(|d| !d.is_zero())
                .with_context(|| format!("--timeout {s}: want a positive number of seconds"))
        })
        .transpose()?;
    let opts = FanOut {
        parallel: usize::from(args.parallel),
        timeout,
        fail_fast: args.fail_fast,
    };
    let cmd = args.command.join(" ");
    let outcomes = fan_out(
        &inv.targets,
        &opts,
        |target| {
            let (open, cmd, env) = (&open, &cmd, &env);
            async move {
                let backend = open(target.dest.clone())
                    .await
                    .map_err(|e| as_error(&target.dest, &e))?;
                let env: Vec<(&str, &str)> =
                    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let ran = capture(backend.as_ref(), cmd, &env).await;
                let closed = backend.close().await;
                let ran = ran?;
                closed?;
                Ok(ran)
            }
        },
        |ran: &Captured| !ran.status.success(),
    )
    .await;
    if args.json {
        print_json(&outcomes)?;
    } else {
        print_lines(&outcomes)?;
    }
    let all_ok = outcomes
        .iter()
        .all(|o| o.result.as_ref().is_ok_and(|r| r.status.success()));
    Ok(if all_ok { 0 } else { 1 })
}

/// The connection error as the library's error, keeping its code where it has one.
fn as_error(dest: &str, e: &anyhow::Error) -> Error {
    let code = e
        .chain()
        .find_map(|c| c.downcast_ref::<Error>())
        .map_or(ErrorCode::Io, |inner| inner.code());
    Error::new(code, "connect", dest, format!("{e:#}"))
}

fn status_text(o: &Outcome<Captured>) -> String {
    match &o.result {
        Ok(r) => match &r.status {
            ExitStatus::Exited(code) => format!("exit {code}"),
            ExitStatus::Signaled { signal, .. } => format!("signal {signal}"),
        },
        Err(e) => format!("error {}: {}", e.code().as_str(), e.message()),
    }
}

fn print_lines(outcomes: &[Outcome<Captured>]) -> anyhow::Result<()> {
    let (mut stdout, mut stderr) = (std::io::stdout().lock(), std::io::stderr().lock());
    for o in outcomes {
        if let Ok(r) = &o.result {
            for line in String::from_utf8_lossy(&r.stdout).lines() {
                writeln!(stdout, "{} | {line}", o.dest)?;
            }
            for line in String::from_utf8_lossy(&r.stderr).lines() {
                writeln!(stderr, "{} | {line}", o.dest)?;
            }
        }
    }
    stdout.flush()?;
    let width = outcomes.iter().map(|o| o.dest.len()).max().unwrap_or(0);
    for o in outcomes {
        writeln!(
            stderr,
            "{:<width$}  {:>8} ms  {}",
            o.dest,
            o.duration.as_millis(),
            status_text(o)
        )?;
    }
    let ok = outcomes
        .iter()
        .filter(|o| o.result.as_ref().is_ok_and(|r| r.status.success()))
        .count();
    writeln!(
        stderr,
        "{} targets: {ok} ok, {} failed",
        outcomes.len(),
        outcomes.len() - ok
    )?;
    Ok(())
}

fn print_json(outcomes: &[Outcome<Captured>]) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    for o in outcomes {
        let mut v = serde_json::json!({
            "dest": o.dest,
            "duration_ms": u64::try_from(o.duration.as_millis()).unwrap_or(u64::MAX),
        });
        match &o.result {
            Ok(r) => {
                v["exit_code"] = match &r.status {
                    ExitStatus::Exited(code) => (*code).into(),
                    ExitStatus::Signaled { .. } => serde_json::Value::Null,
                };
                v["signal"] = match &r.status {
                    ExitStatus::Signaled { signal, .. } => signal.as_str().into(),
                    ExitStatus::Exited(_) => serde_json::Value::Null,
                };
                v["stdout"] = String::from_utf8_lossy(&r.stdout).into();
                v["stderr"] = String::from_utf8_lossy(&r.stderr).into();
            }
            Err(e) => {
                v["error"] = serde_json::json!({
                    "code": e.code().as_str(),
                    "message": e.to_string(),
                });
            }
        }
        writeln!(stdout, "{v}")?;
    }
    stdout.flush()?;
    Ok(())
}
