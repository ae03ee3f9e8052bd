//! Fan-out over the loopback fleet of `tests/fixtures/fleet.sh`: real sshds, each with its own
//! host key and host name, plus slow nodes (a fault proxy on their public address), a node that
//! refuses every key and a dead address. Every healthy node must answer as itself while the
//! others each end with their own error, every connection must serve every piece of work of the
//! run, and nothing may be left open after.

use std::time::Duration;

use remote_host::backend::capture;
use remote_host::fleet::{FanOut, Fleet as Connections, Outcome, Target, in_order};
use remote_host::ssh::SshBackend;
use remote_host::{Backend, DestType, ErrorCode, Result};
use remote_tests::fault_proxy::FaultProxy;
use remote_tests::fleet::{Fleet, Role};
use remote_tests::soak::open_fds;

/// Long enough for a healthy node on a loaded 2-core machine, short for a test that waits it
/// out on every slow node.
const LIMIT: Duration = Duration::from_secs(8);

async fn open(target: Target) -> Result<Box<dyn Backend>> {
    let dest = target.destination(DestType::Ssh)?;
    let backend = SshBackend::new(&dest, target.ssh_options(&Fleet::base_options()))?;
    backend.start().await?;
    Ok(Box::new(backend))
}

/// Runs `cmd` on every node over `fleet`'s connections; stdout of those that exited 0.
async fn run<O, F>(fleet: &Connections<O>, cmd: &'static str) -> Vec<Outcome<String>>
where
    O: Fn(Target) -> F,
    F: std::future::Future<Output = Result<Box<dyn Backend>>>,
{
    let opts = FanOut {
        timeout: Some(LIMIT),
        ..FanOut::default()
    };
    let work = |_, backend: std::sync::Arc<dyn Backend>| async move {
        let out = capture(backend.as_ref(), cmd, &[]).await?;
        assert!(out.status.success(), "{cmd}: {:?}", out.status);
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    in_order(fleet.run(&opts, work, |_| false)).await
}

/// Waits (bounded) for `now` to come back to `before`, as the tasks of closed connections end.
async fn settles(what: &str, before: usize, now: impl Fn() -> usize) {
    for _ in 0..100 {
        if now() <= before {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: {} after the run, {before} before", now());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_answers_as_itself_and_the_bad_ones_fail_alone() {
    let fleet = Fleet::load();
    let rt = tokio::runtime::Handle::current();
    let (fds, tasks) = (open_fds(), rt.metrics().num_alive_tasks());

    // One slow node stalls every byte; the other takes 3 s per hop, more than LIMIT for the
    // handshake's round trips.
    let mut proxies = Vec::new();
    for (i, node) in fleet.role(Role::Slow).enumerate() {
        let proxy = FaultProxy::start_on(node.public(), node.sshd())
            .await
            .unwrap_or_else(|e| panic!("proxy for {} on {}: {e}", node.name, node.public()));
        if i == 0 {
            proxy.set_stalled(true);
        } else {
            proxy.set_latency(Duration::from_secs(3));
        }
        proxies.push(proxy);
    }

    let connections = Connections::new(fleet.targets(), open);
    let first = run(&connections, "hostname && echo \"$SSH_CLIENT\"").await;
    let again = run(&connections, "echo \"$SSH_CLIENT\"").await;
    for ((node, one), two) in fleet.nodes.iter().zip(&first).zip(&again) {
        let got = (&one.result, &two.result);
        match node.role {
            Role::Healthy => {
                let (Ok(one), Ok(two)) = got else {
                    panic!("{} ({}): {got:?}", node.name, node.addr);
                };
                let mut lines = one.lines();
                assert_eq!(lines.next(), Some(node.name.as_str()), "{}", node.addr);
                // The same client port both times: the second command rode the first's
                // connection.
                let client = lines.next().unwrap_or_default();
                assert!(
                    client.starts_with("127.0.0.1 "),
                    "{}: {client:?}",
                    node.name
                );
                assert_eq!(
                    client,
                    two.trim_end(),
                    "{} was connected to twice",
                    node.name
                );
            }
            role => {
                let want = match role {
                    Role::Slow => ErrorCode::Timeout,
                    Role::Refusing => ErrorCode::AccessDenied,
                    _ => ErrorCode::ConnectionLost,
                };
                for outcome in [one, two] {
                    let e = outcome.result.as_ref().err().unwrap_or_else(|| {
                        panic!("{} ({role:?}) succeeded: {:?}", node.name, outcome.result)
                    });
                    assert_eq!(e.code(), want, "{} ({role:?}): {e}", node.name);
                    assert!(e.to_string().contains(&node.addr), "{}: {e}", node.name);
                }
            }
        }
    }
    let healthy = fleet.role(Role::Healthy).count();
    assert!(healthy >= 2, "the fleet has {healthy} healthy nodes");

    let unclosed = connections.close(8).await;
    assert!(unclosed.is_empty(), "{unclosed:?}");
    drop(connections);
    drop(proxies);
    settles("open file descriptors", fds, open_fds).await;
    settles("tokio tasks", tasks, || rt.metrics().num_alive_tasks()).await;
}
