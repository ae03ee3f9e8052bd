//! `remote exec`: one command with our stdio connected to it.

use anyhow::Context as _;
use remote_host::Backend;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::cli::ExecArgs;

/// Runs the command and returns the status to exit with.
pub async fn run(backend: &dyn Backend, args: &ExecArgs) -> anyhow::Result<u8> {
    let mut session = backend.new_session().await?;
    for kv in &args.env {
        let (k, v) = kv
            .split_once('=')
            .with_context(|| format!("-e {kv:?}: want NAME=VALUE"))?;
        session.setenv(k, v)?;
    }
    let stdin = if args.no_stdin {
        None
    } else {
        Some(session.stdin()?)
    };
    let out = session.stdout()?;
    let err = session.stderr()?;
    session.start(&args.command.join(" ")).await?;
    let feeder = stdin.map(|mut remote_in| {
        tokio::spawn(async move {
            let mut local_in = tokio::io::stdin();
            // A command that stops reading early closes the pipe; that is its business, not an
            // error of ours.
            let _ = tokio::io::copy(&mut local_in, &mut remote_in).await;
            let _ = remote_in.shutdown().await;
        })
    });
    let (o, e) = tokio::join!(
        forward(out, tokio::io::stdout()),
        forward(err, tokio::io::stderr())
    );
    let status = session.wait().await;
    if let Some(f) = feeder {
        f.abort();
    }
    session.close().await?;
    let status = status?;
    o.context("writing stdout")?;
    e.context("writing stderr")?;
    Ok(u8::try_from(status.shell_code()).unwrap_or(u8::MAX))
}

/// Copies a remote output to a local one. When the local side goes away (`| head`), the rest is
/// drained so the remote command is never stalled on a full pipe.
async fn forward(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
) -> std::io::Result<()> {
    match tokio::io::copy(&mut from, &mut to).await {
        Ok(_) => to.flush().await,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            tokio::io::copy(&mut from, &mut tokio::io::sink()).await?;
            Ok(())
        }
        Err(e) => Err(e),
    }
}
