//! Commands over SSH: one session channel per command.
//!
//! A pump task owns the channel's read side from `start` until the server closes it: it routes
//! data to the stdout and stderr pipes, keeps the exit status whether it arrives before or after
//! EOF, and keeps draining after the caller lost interest, because an unread channel would stall
//! every channel of the connection. Environment variables go out as `env` requests; the ones the
//! server refuses (a stock sshd accepts only `AcceptEnv LANG LC_*`) are exported in front of the
//! command instead, quoted for a POSIX shell.

use std::sync::Arc;

use async_trait::async_trait;
use russh::client::Msg;
use russh::{ChannelMsg, ChannelReadHalf, ChannelWriteHalf, Sig};
use tokio::io::{AsyncWriteExt as _, BufReader, DuplexStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::error::{Error, ErrorCode, Result};
use crate::session::{OutputPipe, Session, StdinPipe, record_env, shell_quote};
use crate::types::ExitStatus;

use super::errors::map;
use super::pool::{Lease, Pool};

/// Bytes buffered in each pipe between the channel and the caller.
const PIPE_BUFFER: usize = 256 << 10;

/// How much stdin is read at once before it goes out as channel data (in packets of the
/// server's maximum size).
const STDIN_CHUNK: usize = 256 << 10;

enum State {
    New,
    Running {
        done: oneshot::Receiver<Result<ExitStatus>>,
        close: oneshot::Sender<()>,
        stdin: Option<JoinHandle<()>>,
    },
    Exited,
    Closed,
}

/// One command on the SSH target.
pub struct SshSession {
    pool: Arc<Pool>,
    target: String,
    env: Vec<(String, String)>,
    stdin: Option<DuplexStream>,
    stdout: Option<DuplexStream>,
    stderr: Option<DuplexStream>,
    cmd: String,
    state: State,
}

impl std::fmt::Debug for SshSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshSession")
            .field("target", &self.target)
            .field("cmd", &self.cmd)
            .finish_non_exhaustive()
    }
}

impl SshSession {
    pub(crate) fn new(pool: Arc<Pool>, target: String) -> SshSession {
        SshSession {
            pool,
            target,
            env: Vec::new(),
            stdin: None,
            stdout: None,
            stderr: None,
            cmd: String::new(),
            state: State::New,
        }
    }

    fn before_start(&self, what: &str) -> Result<()> {
        if !matches!(self.state, State::New) {
            return Err(crate::session::already_started(what, &self.cmd));
        }
        Ok(())
    }

    fn pipe(
        &self,
        what: &str,
        slot: &Option<DuplexStream>,
    ) -> Result<(DuplexStream, DuplexStream)> {
        self.before_start(what)?;
        if slot.is_some() {
            return Err(crate::session::pipe_taken(what, &self.target));
        }
        Ok(tokio::io::duplex(PIPE_BUFFER))
    }

    /// Sends the env requests and returns the variables the server refused.
    async fn send_env(
        &self,
        rx: &mut ChannelReadHalf,
        tx: &ChannelWriteHalf<Msg>,
    ) -> Result<Vec<(String, String)>> {
        for (k, v) in &self.env {
            tx.set_env(true, k.as_str(), v.as_str())
                .await
                .map_err(|e| map("setenv", k, e))?;
        }
        let mut refused = Vec::new();
        let mut answered = 0;
        while answered < self.env.len() {
            match rx.wait().await {
                Some(ChannelMsg::Success) => answered += 1,
                Some(ChannelMsg::Failure) => {
                    refused.push(self.env[answered].clone());
                    answered += 1;
                }
                Some(ChannelMsg::Close) | None => {
                    return Err(Error::new(
                        ErrorCode::ConnectionLost,
                        "setenv",
                        &self.target,
                        "the channel closed before the server answered",
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(refused)
    }
}

/// Whether `name` can be assigned by a POSIX shell.
fn is_shell_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// `cmd` with `vars` exported in front of it, for variables the server would not set.
pub(crate) fn with_exports(vars: &[(String, String)], cmd: &str) -> Result<String> {
    if vars.is_empty() {
        return Ok(cmd.to_string());
    }
    let mut out = String::from("export");
    for (k, v) in vars {
        if !is_shell_name(k) {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "setenv",
                k,
                "the server refused this variable and it is not a shell variable name, so it \
                 cannot be set through the command line either",
            ));
        }
        out.push(' ');
        out.push_str(k);
        out.push('=');
        out.push_str(&shell_quote(v));
    }
    out.push_str("; ");
    out.push_str(cmd);
    Ok(out)
}

fn signal_name(sig: &Sig) -> String {
    match sig {
        Sig::ABRT => "ABRT",
        Sig::ALRM => "ALRM",
        Sig::FPE => "FPE",
        Sig::HUP => "HUP",
        Sig::ILL => "ILL",
        Sig::INT => "INT",
        Sig::KILL => "KILL",
        Sig::PIPE => "PIPE",
        Sig::QUIT => "QUIT",
        Sig::SEGV => "SEGV",
        Sig::TERM => "TERM",
        Sig::USR1 => "USR1",
        Sig::Custom(name) => return name.trim_start_matches("SIG").to_string(),
    }
    .to_string()
}

/// Everything the pump task owns.
struct Pump {
    rx: ChannelReadHalf,
    tx: ChannelWriteHalf<Msg>,
    out: Option<DuplexStream>,
    err: Option<DuplexStream>,
    reply: Option<oneshot::Sender<bool>>,
    close: oneshot::Receiver<()>,
    closing: bool,
    _lease: Lease,
    target: String,
}

impl Pump {
    /// Ends a command that still runs (the `signal` request: sshd would otherwise leave it
    /// running once its channel closed, as OpenSSH's own client does), stops delivering output
    /// and asks the server to close the channel; draining goes on until it has.
    async fn start_closing(&mut self, exited: bool) {
        self.closing = true;
        self.out = None;
        self.err = None;
        if !exited {
            let _ = self.tx.signal(Sig::KILL).await;
        }
        let _ = self.tx.close().await;
    }

    /// Writes to a pipe while watching for `close`; a pipe whose reader went away is dropped
    /// so its data is discarded from then on.
    async fn deliver(&mut self, to_err: bool, data: &[u8], exited: bool) {
        let pipe = if to_err { &mut self.err } else { &mut self.out };
        let Some(p) = pipe.as_mut() else {
            return;
        };
        let wrote = tokio::select! {
            r = p.write_all(data) => Some(r.is_ok()),
            _ = &mut self.close, if !self.closing => None,
        };
        match wrote {
            Some(true) => {}
            Some(false) => *pipe = None,
            None => self.start_closing(exited).await,
        }
    }

    async fn run(mut self) -> Result<ExitStatus> {
        let mut status = None;
        loop {
            let msg = tokio::select! {
                m = self.rx.wait() => m,
                _ = &mut self.close, if !self.closing => {
                    self.start_closing(status.is_some()).await;
                    continue;
                }
            };
            match msg {
                Some(ChannelMsg::Data { data }) => {
                    self.deliver(false, &data, status.is_some()).await;
                }
                Some(ChannelMsg::ExtendedData { data, ext: 1 }) => {
                    self.deliver(true, &data, status.is_some()).await;
                }
                Some(ChannelMsg::ExitStatus { exit_status }) => {
                    status = Some(ExitStatus::Exited(
                        i32::try_from(exit_status).unwrap_or(i32::MAX),
                    ));
                }
                Some(ChannelMsg::ExitSignal {
                    signal_name: sig,
                    core_dumped,
                    ..
                }) => {
                    status = Some(ExitStatus::Signaled {
                        signal: signal_name(&sig),
                        core_dumped,
                    });
                }
                Some(ChannelMsg::Success) => {
                    if let Some(r) = self.reply.take() {
                        let _ = r.send(true);
                    }
                }
                Some(ChannelMsg::Failure) => {
                    if let Some(r) = self.reply.take() {
                        let _ = r.send(false);
                    }
                }
                Some(ChannelMsg::Eof) => {
                    self.out = None;
                    self.err = None;
                }
                Some(ChannelMsg::Close) | None => break,
                Some(_) => {}
            }
        }
        self.out = None;
        self.err = None;
        status.ok_or_else(|| {
            if self.closing {
                Error::new(
                    ErrorCode::InvalidArgument,
                    "wait",
                    &self.target,
                    "the session was closed before the command ended",
                )
            } else {
                Error::new(
                    ErrorCode::ConnectionLost,
                    "wait",
                    &self.target,
                    "the channel closed without an exit status (connection lost?)",
                )
            }
        })
    }
}

#[async_trait]
impl Session for SshSession {
    fn stdin(&mut self) -> Result<StdinPipe> {
        let (ours, theirs) = self.pipe("stdin", &self.stdin)?;
        self.stdin = Some(ours);
        Ok(Box::new(theirs))
    }

    fn stdout(&mut self) -> Result<OutputPipe> {
        let (ours, theirs) = self.pipe("stdout", &self.stdout)?;
        self.stdout = Some(ours);
        Ok(Box::new(theirs))
    }

    fn stderr(&mut self) -> Result<OutputPipe> {
        let (ours, theirs) = self.pipe("stderr", &self.stderr)?;
        self.stderr = Some(ours);
        Ok(Box::new(theirs))
    }

    fn setenv(&mut self, name: &str, value: &str) -> Result<()> {
        self.before_start("setenv")?;
        record_env(&mut self.env, name, value)
    }

    async fn start(&mut self, cmd: &str) -> Result<()> {
        self.before_start("start")?;
        crate::session::check_command(cmd)?;
        self.cmd = cmd.to_string();
        let (channel, lease) = self.pool.open_session().await?;
        let (mut rx, tx) = channel.split();
        let refused = self.send_env(&mut rx, &tx).await?;
        let full = with_exports(&refused, cmd)?;
        tx.exec(true, full.as_bytes())
            .await
            .map_err(|e| map("start", cmd, e))?;
        let stdin = match self.stdin.take() {
            Some(from) => {
                let mut to = tx.make_writer();
                Some(tokio::spawn(async move {
                    let mut from = BufReader::with_capacity(STDIN_CHUNK, from);
                    // The command may stop reading; the copy then ends with the channel.
                    let _ = tokio::io::copy_buf(&mut from, &mut to).await;
                    let _ = to.shutdown().await;
                }))
            }
            None => {
                tx.eof().await.map_err(|e| map("start", cmd, e))?;
                None
            }
        };
        let (reply_tx, reply_rx) = oneshot::channel();
        let (done_tx, done_rx) = oneshot::channel();
        let (close_tx, close_rx) = oneshot::channel();
        let pump = Pump {
            rx,
            tx,
            out: self.stdout.take(),
            err: self.stderr.take(),
            reply: Some(reply_tx),
            close: close_rx,
            closing: false,
            _lease: lease,
            target: self.target.clone(),
        };
        tokio::spawn(async move {
            let _ = done_tx.send(pump.run().await);
        });
        self.state = State::Running {
            done: done_rx,
            close: close_tx,
            stdin,
        };
        match reply_rx.await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::new(
                ErrorCode::NotExecutable,
                "start",
                cmd,
                "the server refused to run the command",
            )),
            Err(_) => Err(Error::new(
                ErrorCode::ConnectionLost,
                "start",
                cmd,
                "the channel closed before the server answered the exec request",
            )),
        }
    }

    async fn wait(&mut self) -> Result<ExitStatus> {
        let done = match &mut self.state {
            State::Exited => return Err(crate::session::already_waited("wait", &self.cmd)),
            State::Running { done, .. } => done,
            State::New | State::Closed => {
                return Err(Error::new(
                    ErrorCode::InvalidArgument,
                    "wait",
                    &self.cmd,
                    "the session is not running",
                ));
            }
        };
        let status = done.await.unwrap_or_else(|_| {
            Err(Error::new(
                ErrorCode::ConnectionLost,
                "wait",
                &self.target,
                "the session's reader ended unexpectedly",
            ))
        })?;
        if let State::Running { stdin: Some(t), .. } = &self.state {
            t.abort();
        }
        self.state = State::Exited;
        Ok(status)
    }

    async fn close(&mut self) -> Result<()> {
        if let State::Running { close, stdin, .. } =
            std::mem::replace(&mut self.state, State::Closed)
        {
            // The pump ends the command, asks the server to close the channel and drains it
            // until it has.
            let _ = close.send(());
            if let Some(t) = stdin {
                t.abort();
            }
        }
        self.stdin = None;
        self.stdout = None;
        self.stderr = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_everything_but_nul() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        let vars = vec![
            ("A".to_string(), "x y".to_string()),
            ("B_2".to_string(), "line1\nline2\n".to_string()),
        ];
        assert_eq!(
            with_exports(&vars, "echo hi").ok().as_deref(),
            Some("export A='x y' B_2='line1\nline2\n'; echo hi")
        );
        assert_eq!(with_exports(&[], "true").ok().as_deref(), Some("true"));
        let bad = vec![("NOT-A-NAME".to_string(), "v".to_string())];
        assert_eq!(
            with_exports(&bad, "true").map_err(|e| e.code()),
            Err(ErrorCode::InvalidArgument)
        );
        assert!(is_shell_name("_x9"));
        assert!(!is_shell_name("9x"));
        assert!(!is_shell_name(""));
    }

    #[test]
    fn signal_names_drop_the_prefix() {
        assert_eq!(signal_name(&Sig::KILL), "KILL");
        assert_eq!(signal_name(&Sig::Custom("SIGXCPU".into())), "XCPU");
        assert_eq!(signal_name(&Sig::Custom("WINCH".into())), "WINCH");
    }
}
