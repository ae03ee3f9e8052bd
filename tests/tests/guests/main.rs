//! Guests through the host: the policy's decisions (exact codes and rules), the path rewriter's
//! refusals, the sandbox's limits (a loop, unbounded memory, a trap: each an error within its
//! limit, and the next call works), the compose resolver, and the guests written in Python and
//! JavaScript. The conformance suite over guest stacks is in `conformance.rs`.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use remote_host::guest::{Layer, Limits, LogLevel};
use remote_host::{Backend, ErrorCode, ExitStatus};
use remote_tests::backends::local;
use tokio::io::AsyncReadExt;

/// Every guest has a test module here: the build fails otherwise.
macro_rules! has_tests {
    ($name:ident) => {
        #[expect(unused_imports, reason = "only proves the module exists")]
        use self::$name as _;
    };
}
remote_guest_artifacts::foreach_guest!(has_tests);

/// A fresh local directory for one test.
fn scratch(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = format!(
        "/tmp/remote-guest-test-{name}-{}-{nanos}",
        std::process::id()
    );
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{dir}: {e}"));
    dir
}

/// `local://` in the guest at `wasm` with `config` and `limits`, its log lines collected.
async fn wrapped(
    wasm: &str,
    config: &str,
    limits: Limits,
) -> (Box<dyn Backend>, Arc<Mutex<Vec<String>>>) {
    wrapped_cached(wasm, config, limits, None).await
}

/// [`wrapped`] with the compilation cache in `cache` (the guests built by other languages'
/// toolchains take tens of seconds to compile).
async fn wrapped_cached(
    wasm: &str,
    config: &str,
    limits: Limits,
    cache: Option<&Path>,
) -> (Box<dyn Backend>, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink_lines = lines.clone();
    let sink = Arc::new(move |_: &str, level: LogLevel, line: &str| {
        sink_lines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(format!("{level:?} {line}"));
    });
    let layer = Layer::load_with(Path::new(wasm), config, limits, cache, sink)
        .await
        .unwrap_or_else(|e| panic!("loading {wasm}: {e}"));
    let b = layer
        .wrap(local().await, "local://")
        .await
        .unwrap_or_else(|e| panic!("wrapping: {e}"));
    b.start().await.unwrap_or_else(|e| panic!("start: {e}"));
    (Box::new(b), lines)
}

/// Runs `cmd` with `env`, returning its status and stdout.
async fn run(
    b: &dyn Backend,
    cmd: &str,
    env: &[(&str, &str)],
) -> remote_host::Result<(ExitStatus, String)> {
    let mut s = b.new_session().await?;
    for (k, v) in env {
        s.setenv(k, v)?;
    }
    let mut out = s.stdout()?;
    s.start(cmd).await?;
    let mut text = String::new();
    out.read_to_string(&mut text)
        .await
        .unwrap_or_else(|e| panic!("reading stdout of {cmd:?}: {e}"));
    let status = s.wait().await?;
    s.close().await?;
    Ok((status, text))
}

/// Asserts `r` is `access-denied` naming `rule`.
#[track_caller]
fn denied<T: std::fmt::Debug>(r: remote_host::Result<T>, rule: &str, what: &str) {
    match r {
        Err(e) => {
            assert_eq!(e.code(), ErrorCode::AccessDenied, "{what}: {e}");
            assert!(
                e.message().contains(&format!("rule `{rule}`")),
                "{what}: the message should name rule {rule}: {e}"
            );
        }
        Ok(v) => panic!("{what}: allowed ({v:?}), want access-denied by {rule}"),
    }
}

mod policy;

mod path_rewrite;

mod sandbox_test;

mod compose_resolver;

mod embedder;

mod foreign;

mod scaffold;

/// `wasm-tools validate` and `wasm-tools component wit` accept every guest and show the world it
/// was built for (wasm-tools is installed by `tests/fixtures/setup.sh`). The real guests ask for
/// no files or sockets of their own; the sandbox probe does, to show the host grants none.
#[test]
fn every_guest_validates_and_shows_its_world() {
    let middleware = [
        "export remote:machine/backend@0.1.0;",
        "export remote:machine/session@0.1.0;",
        "export remote:machine/file-client@0.1.0;",
        "export remote:machine/guest@0.1.0;",
        "import remote:machine/backend@0.1.0;",
    ];
    let resolver = [
        "export remote:machine/compose@0.1.0;",
        "export remote:machine/guest@0.1.0;",
    ];
    for (wasm, want, probes_the_host) in [
        (remote_guest_artifacts::POLICY, &middleware[..], false),
        (remote_guest_artifacts::PATH_REWRITE, &middleware[..], false),
        (remote_guest_artifacts::SANDBOX_TEST, &middleware[..], true),
        (
            remote_guest_artifacts::COMPOSE_RESOLVER,
            &resolver[..],
            false,
        ),
    ] {
        let tool = |args: &[&str]| {
            let out = std::process::Command::new("wasm-tools")
                .args(args)
                .arg(wasm)
                .output()
                .unwrap_or_else(|e| panic!("wasm-tools (run tests/fixtures/setup.sh): {e}"));
            assert!(
                out.status.success(),
                "wasm-tools {args:?} {wasm}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        tool(&["validate"]);
        let wit = tool(&["component", "wit"]);
        for line in want {
            assert!(wit.contains(line), "{wasm}: missing {line}\n{wit}");
        }
        let own = [
            wit.contains("wasi:filesystem"),
            wit.contains("wasi:sockets"),
        ];
        assert_eq!(
            own, [probes_the_host; 2],
            "{wasm}: [files, sockets] of its own\n{wit}"
        );
    }
}
