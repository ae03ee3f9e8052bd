//! Commands in the container: `docker exec` attached to stdin, stdout and stderr (no TTY, so
//! binary data and the two output streams stay apart), environment through the exec's `Env`.
//!
//! The caller's pipes are in-memory pipes: a pump task feeds the exec's input from the stdin
//! pipe, another demultiplexes its output into the stdout and stderr pipes. The exit code comes
//! from exec inspect once the output has ended; the daemon may still report the exec running
//! for a moment then, so inspect is retried with a growing pause, bounded in time.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use futures::StreamExt;
use tokio::io::{AsyncWriteExt, DuplexStream};
use tokio::task::JoinHandle;

use super::{Container, argv, errors};
use crate::error::{Error, ErrorCode, Result};
use crate::session::{OutputPipe, Session, StdinPipe, check_env};
use crate::types::{ExitStatus, signal_name};

/// Capacity of each in-memory pipe: enough for the daemon's frames to flow without a stall.
const PIPE: usize = 256 << 10;

/// How long `wait` keeps asking for the exit code after the output ended.
const EXIT_CODE_WAIT: Duration = Duration::from_secs(10);

/// An exec started attached: its id, the stream of its output and the writer of its input.
pub struct Attached {
    /// The exec's id, for inspect.
    pub id: String,
    /// stdout and stderr frames.
    pub output: std::pin::Pin<
        Box<dyn futures::Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>,
    >,
    /// The exec's stdin; shutting it down sends end-of-file.
    pub input: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
}

/// Creates and starts an exec of `argv` attached to its streams.
pub async fn exec_attached(
    c: &Container,
    argv: Vec<String>,
    env: Vec<String>,
    stdin: bool,
    working_dir: Option<String>,
) -> Result<Attached> {
    let what = argv.join(" ");
    let created = c
        .docker
        .create_exec(
            &c.id,
            CreateExecOptions {
                cmd: Some(argv),
                env: Some(env),
                user: (!c.user.is_empty()).then(|| c.user.clone()),
                working_dir,
                attach_stdin: Some(stdin),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                tty: Some(false),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| errors::map(&c.endpoint, "exec create", &c.name, e))?;
    let started = c
        .docker
        .start_exec(
            &created.id,
            Some(StartExecOptions {
                detach: false,
                tty: false,
                output_capacity: Some(PIPE),
            }),
        )
        .await
        .map_err(|e| errors::map(&c.endpoint, "exec start", &what, e))?;
    match started {
        StartExecResults::Attached { output, input } => Ok(Attached {
            id: created.id,
            output,
            input,
        }),
        StartExecResults::Detached => Err(Error::new(
            ErrorCode::Io,
            "exec start",
            what,
            "the daemon started the exec detached although it was asked to attach",
        )),
    }
}

/// The exit code of a finished exec, asking again with a growing pause while the daemon still
/// reports it running.
pub async fn exit_code(c: &Container, exec_id: &str, what: &str) -> Result<i64> {
    let deadline = tokio::time::Instant::now() + EXIT_CODE_WAIT;
    let mut pause = Duration::from_millis(1);
    loop {
        let info = c
            .docker
            .inspect_exec(exec_id)
            .await
            .map_err(|e| errors::map(&c.endpoint, "exec inspect", what, e))?;
        if info.running != Some(true)
            && let Some(code) = info.exit_code
        {
            return Ok(code);
        }
        if tokio::time::Instant::now() + pause > deadline {
            return Err(Error::new(
                ErrorCode::Timeout,
                "wait",
                what,
                format!(
                    "the daemon still reports the exec running {} s after its output ended",
                    EXIT_CODE_WAIT.as_secs()
                ),
            ));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Docker reports a process killed by signal N as exit code 128+N, like a shell's `$?`: it keeps
/// no other trace of the signal. Codes 129–159 are read back as the signal (so `exit 130` reads
/// as SIGINT, the same ambiguity a shell has).
pub fn exit_status(code: i64) -> ExitStatus {
    match code {
        129..=159 => ExitStatus::Signaled {
            signal: signal_name((code - 128) as i32),
            core_dumped: false,
        },
        c => ExitStatus::Exited(i32::try_from(c).unwrap_or(i32::MAX)),
    }
}

/// A command in a container.
#[derive(Debug)]
pub struct DockerSession {
    container: Arc<Container>,
    env: Vec<String>,
    stdin: Option<DuplexStream>,
    stdout: Option<DuplexStream>,
    stderr: Option<DuplexStream>,
    running: Option<Running>,
    waited: bool,
    cmd: String,
}

#[derive(Debug)]
struct Running {
    exec_id: String,
    output: JoinHandle<Result<Option<String>>>,
    input: JoinHandle<()>,
    /// Kills the exec when the backend closes while nobody waits on it.
    killer: JoinHandle<()>,
}

impl Running {
    fn stop(&self) {
        self.input.abort();
        self.output.abort();
        self.killer.abort();
    }
}

impl DockerSession {
    /// A session not yet started.
    pub fn new(container: Arc<Container>) -> DockerSession {
        DockerSession {
            container,
            env: Vec::new(),
            stdin: None,
            stdout: None,
            stderr: None,
            running: None,
            waited: false,
            cmd: String::new(),
        }
    }

    fn before_start(&self, what: &str) -> Result<()> {
        self.container.lifetime.check(what, &self.container.name)?;
        if self.running.is_some() || self.waited {
            return Err(crate::session::already_started(what, &self.cmd));
        }
        Ok(())
    }

    fn argv(&self, cmd: &str) -> Result<Vec<String>> {
        if self.container.has_shell {
            return Ok(vec!["/bin/sh".into(), "-c".into(), cmd.into()]);
        }
        argv::split(cmd).map_err(|argv::NeedsShell(why)| {
            Error::unsupported(
                "start",
                cmd,
                &format!(
                    "container {} has no /bin/sh, and this command needs a shell: it uses {why}; \
                     run one program with plain arguments instead",
                    self.container.name
                ),
            )
        })
    }

    /// The exec's output to its end and its exit status.
    async fn finish(&mut self) -> Result<ExitStatus> {
        let Some(running) = self.running.as_mut() else {
            return Err(crate::session::not_started("wait"));
        };
        let pumped = (&mut running.output).await.map_err(|e| {
            Error::new(
                ErrorCode::Io,
                "wait",
                &self.cmd,
                format!("the output pump failed: {e}"),
            )
        })?;
        let exec_id = running.exec_id.clone();
        let code = exit_code(&self.container, &exec_id, &self.cmd).await;
        if let Some(running) = self.running.take() {
            running.stop();
        }
        let start_failure = pumped?;
        self.waited = true;
        Ok(status_of(code?, start_failure.as_deref()))
    }
}

/// Kills an exec's process when it still runs and the daemon is on this machine (its pids are
/// ours); the process is checked to be in the container's cgroup first, so a recycled pid is
/// never hit. A remote daemon offers no way to kill an exec: it runs on.
async fn kill(c: &Container, exec_id: &str) {
    if !c.endpoint.is_local() {
        return;
    }
    let Ok(info) = c.docker.inspect_exec(exec_id).await else {
        return;
    };
    let Some(pid) = info.pid.filter(|p| *p > 0 && info.running == Some(true)) else {
        return;
    };
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    if !cgroup.contains(&c.id) {
        return;
    }
    if let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
}

/// The message of an exec's first output frame when it says that the program could not start,
/// as dockerd says it (on stdout: `OCI runtime exec failed: …`, exit code 126) or Podman (on
/// stderr: `Error: runc: exec failed: …: OCI runtime attempted to invoke a command that was not
/// found`, exit code 127, or `…: OCI permission denied`, 126; crun's text differs, the `: OCI`
/// ending does not).
fn start_failure(frame: &LogOutput) -> Option<&[u8]> {
    match frame {
        LogOutput::StdOut { message } if message.starts_with(b"OCI runtime exec failed") => {
            Some(message)
        }
        LogOutput::StdErr { message }
            if message.starts_with(b"Error: ") && message.windows(6).any(|w| w == b": OCI ") =>
        {
            Some(message)
        }
        _ => None,
    }
}

/// Copies the exec's output frames into the pipes; a pipe whose reader went away is dropped and
/// its frames discarded, so the other stream keeps flowing. When the output ends the input pump
/// is stopped, so a writer to a command that exited without reading gets a broken pipe rather
/// than a stall. Returns the engine's message when the program could not start; it goes to
/// stderr, where a shell would have put its own, and ends the output: nothing ran to write
/// more, and Podman follows it with a line about its own attach connection, which it then
/// resets.
async fn pump_output(
    mut output: std::pin::Pin<
        Box<dyn futures::Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>,
    >,
    mut stdout: Option<DuplexStream>,
    mut stderr: Option<DuplexStream>,
    input: tokio::task::AbortHandle,
    endpoint: super::Endpoint,
    what: String,
) -> Result<Option<String>> {
    let mut result = Ok(None);
    let mut first = true;
    while let Some(frame) = output.next().await {
        if first
            && let Ok(f) = &frame
            && let Some(message) = start_failure(f)
        {
            result = Ok(Some(String::from_utf8_lossy(message).into_owned()));
            if let Some(w) = stderr.as_mut() {
                let _ = w.write_all(message).await;
            }
            break;
        }
        let (pipe, bytes) = match frame {
            Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => {
                (&mut stdout, message)
            }
            Ok(LogOutput::StdErr { message }) => (&mut stderr, message),
            Ok(LogOutput::StdIn { .. }) => continue,
            Err(e) => {
                result = Err(errors::map(&endpoint, "exec output", &what, e));
                break;
            }
        };
        first = false;
        if let Some(w) = pipe
            && w.write_all(&bytes).await.is_err()
        {
            *pipe = None;
        }
    }
    input.abort();
    for w in [stdout.as_mut(), stderr.as_mut()].into_iter().flatten() {
        let _ = w.shutdown().await;
    }
    result
}

/// The status of an exec: a program that could not start is reported as a shell would, 127
/// when it does not exist and 126 when it cannot be executed.
fn status_of(code: i64, start_failure: Option<&str>) -> ExitStatus {
    match start_failure {
        Some(m)
            if code == 126
                && (m.contains("executable file not found")
                    || m.contains("no such file or directory")) =>
        {
            ExitStatus::Exited(127)
        }
        _ => exit_status(code),
    }
}

impl Drop for DockerSession {
    /// A session dropped while its exec runs no longer waits for the backend to close to kill
    /// it: its killer task holds the container, and would hold it until then.
    fn drop(&mut self) {
        if let Some(running) = &self.running {
            running.killer.abort();
        }
    }
}

#[async_trait]
impl Session for DockerSession {
    fn stdin(&mut self) -> Result<StdinPipe> {
        self.before_start("stdin")?;
        if self.stdin.is_some() {
            return Err(crate::session::pipe_taken("stdin", &self.cmd));
        }
        let (ours, theirs) = tokio::io::duplex(PIPE);
        self.stdin = Some(ours);
        Ok(Box::new(theirs))
    }

    fn stdout(&mut self) -> Result<OutputPipe> {
        self.before_start("stdout")?;
        if self.stdout.is_some() {
            return Err(crate::session::pipe_taken("stdout", &self.cmd));
        }
        let (ours, theirs) = tokio::io::duplex(PIPE);
        self.stdout = Some(ours);
        Ok(Box::new(theirs))
    }

    fn stderr(&mut self) -> Result<OutputPipe> {
        self.before_start("stderr")?;
        if self.stderr.is_some() {
            return Err(crate::session::pipe_taken("stderr", &self.cmd));
        }
        let (ours, theirs) = tokio::io::duplex(PIPE);
        self.stderr = Some(ours);
        Ok(Box::new(theirs))
    }

    fn setenv(&mut self, name: &str, value: &str) -> Result<()> {
        self.before_start("setenv")?;
        check_env(name, value)?;
        self.env.push(format!("{name}={value}"));
        Ok(())
    }

    async fn start(&mut self, cmd: &str) -> Result<()> {
        self.before_start("start")?;
        crate::session::check_command(cmd)?;
        let argv = self.argv(cmd)?;
        self.cmd = cmd.to_string();
        let stdin = self.stdin.take();
        let attached = exec_attached(
            &self.container,
            argv,
            std::mem::take(&mut self.env),
            stdin.is_some(),
            None,
        )
        .await?;
        let mut exec_in = attached.input;
        let input = tokio::spawn(async move {
            if let Some(from) = stdin {
                // Large reads make few writes to the daemon's socket. A command that exits
                // without reading its input closes the pipe: not an error.
                let mut from = tokio::io::BufReader::with_capacity(PIPE, from);
                let _ = tokio::io::copy_buf(&mut from, &mut exec_in).await;
            }
            let _ = exec_in.shutdown().await;
        });
        let output = tokio::spawn(pump_output(
            attached.output,
            self.stdout.take(),
            self.stderr.take(),
            input.abort_handle(),
            self.container.endpoint.clone(),
            cmd.to_string(),
        ));
        let (c, exec_id) = (self.container.clone(), attached.id.clone());
        let killer = tokio::spawn(async move {
            c.lifetime.ended().await;
            kill(&c, &exec_id).await;
        });
        self.running = Some(Running {
            exec_id: attached.id,
            output,
            input,
            killer,
        });
        Ok(())
    }

    async fn wait(&mut self) -> Result<ExitStatus> {
        if self.waited {
            return Err(crate::session::already_waited("wait", &self.cmd));
        }
        let lifetime = self.container.lifetime.clone();
        // A backend closed while (or before) the command ran ends it: that is the answer.
        let finished = tokio::select! {
            biased;
            () = lifetime.ended() => None,
            r = self.finish() => Some(r),
        };
        match finished {
            Some(r) => r,
            None => {
                if let Some(running) = self.running.take() {
                    running.stop();
                    kill(&self.container, &running.exec_id).await;
                }
                Err(crate::lifetime::closed("wait", &self.cmd))
            }
        }
    }

    async fn close(&mut self) -> Result<()> {
        if let Some(running) = self.running.take() {
            running.stop();
            kill(&self.container, &running.exec_id).await;
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
    fn a_program_that_cannot_start_reads_as_a_shell_would_say() {
        let missing = "OCI runtime exec failed: exec failed: unable to start container process: exec: \"x\": executable file not found in $PATH: unknown";
        assert_eq!(status_of(126, Some(missing)), ExitStatus::Exited(127));
        let denied = "OCI runtime exec failed: exec failed: unable to start container process: exec: \"/etc/hosts\": permission denied: unknown";
        assert_eq!(status_of(126, Some(denied)), ExitStatus::Exited(126));
        assert_eq!(status_of(126, None), ExitStatus::Exited(126));
    }

    #[test]
    fn start_failures_are_told_from_output_by_engine() {
        let out = |m: &'static [u8]| LogOutput::StdOut { message: m.into() };
        let err = |m: &'static [u8]| LogOutput::StdErr { message: m.into() };
        let docker = b"OCI runtime exec failed: exec failed: unable to start container process";
        assert!(start_failure(&out(docker)).is_some());
        assert!(start_failure(&err(docker)).is_none());
        let podman = b"Error: runc: exec failed: unable to start container process: exec: \"cat\": executable file not found in $PATH: OCI runtime attempted to invoke a command that was not found\n";
        assert_eq!(start_failure(&err(podman)), Some(&podman[..]));
        assert!(start_failure(&out(podman)).is_none());
        let crun = b"Error: crun: executable file `cat` not found in $PATH: No such file or directory: OCI runtime attempted to invoke a command that was not found\n";
        assert!(start_failure(&err(crun)).is_some());
        assert!(start_failure(&err(b"Error: no such file\n")).is_none());
        assert!(start_failure(&out(b"hello\n")).is_none());
    }

    #[test]
    fn exit_codes_and_signals_as_docker_reports_them() {
        assert_eq!(exit_status(0), ExitStatus::Exited(0));
        assert_eq!(exit_status(127), ExitStatus::Exited(127));
        assert_eq!(exit_status(128), ExitStatus::Exited(128));
        assert_eq!(exit_status(255), ExitStatus::Exited(255));
        for (code, sig) in [(129, "HUP"), (130, "INT"), (137, "KILL"), (143, "TERM")] {
            assert_eq!(
                exit_status(code),
                ExitStatus::Signaled {
                    signal: sig.into(),
                    core_dumped: false
                }
            );
        }
    }
}
