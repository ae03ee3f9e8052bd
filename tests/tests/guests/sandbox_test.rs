//! The sandbox probe against its limits: a loop (time and fuel), unbounded memory, hoarded handles and a trap each end that call with an error, and the next call works; a long command is not cut.

use super::*;

const SANDBOX: &str = remote_guest_artifacts::SANDBOX_TEST;

/// Runs the misbehaving call and then a good one, both bounded so a broken limit fails the
/// test instead of hanging it.
async fn misbehave_then_recover(limits: Limits, trigger: &str, code: ErrorCode, why: &str) {
    let dir = scratch("sandbox");
    let (b, _) = wrapped(SANDBOX, "{}", limits).await;
    let f = b.files().await.unwrap_or_else(|e| panic!("{e}"));
    let session = b.new_session().await.unwrap_or_else(|e| panic!("{e}"));
    let bad = tokio::time::timeout(Duration::from_secs(60), f.stat(&format!("{dir}/{trigger}")))
        .await
        .unwrap_or_else(|_| panic!("{trigger}: no error within 60 s: the limit does not hold"));
    let e = bad.err().unwrap_or_else(|| panic!("{trigger} succeeded"));
    assert_eq!(e.code(), code, "{trigger}: {e}");
    assert!(e.message().contains(why), "{trigger}: {e}");
    // The host is up and the guest was restarted: the same client works again…
    assert!(f.stat(&dir).await.is_ok(), "the next call after {trigger}");
    assert!(
        run(b.as_ref(), "true", &[]).await.is_ok(),
        "a new session after {trigger}"
    );
    // …while what the stopped instance held is gone.
    let mut session = session;
    let stale = session.start("true").await.err().map(|e| e.code());
    assert_eq!(
        stale,
        Some(ErrorCode::ConnectionLost),
        "a session of the stopped instance"
    );
    std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infinite_loop_stops_at_the_time_limit() {
    let limits = Limits {
        time: Some(Duration::from_millis(300)),
        fuel: None,
        ..Limits::default()
    };
    misbehave_then_recover(
        limits,
        ".sandbox-loop",
        ErrorCode::Timeout,
        "CPU limit (300 ms",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infinite_loop_stops_at_the_fuel_limit() {
    let limits = Limits {
        time: None,
        fuel: Some(20_000_000),
        ..Limits::default()
    };
    misbehave_then_recover(
        limits,
        ".sandbox-loop",
        ErrorCode::Timeout,
        "CPU limit (20000000 fuel",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbounded_memory_stops_at_the_memory_limit() {
    let limits = Limits {
        memory: 24 << 20,
        ..Limits::default()
    };
    misbehave_then_recover(limits, ".sandbox-grow", ErrorCode::Io, "memory").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hoarding_handles_stops_at_the_handle_limit() {
    let limits = Limits {
        handles: 40,
        ..Limits::default()
    };
    misbehave_then_recover(limits, ".sandbox-hoard", ErrorCode::Io, "40 handles").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trap_is_an_error_for_that_call() {
    misbehave_then_recover(
        Limits::default(),
        ".sandbox-trap",
        ErrorCode::Io,
        "failed and was stopped",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_command_is_not_cut_by_the_time_limit() {
    let limits = Limits {
        time: Some(Duration::from_millis(100)),
        ..Limits::default()
    };
    let (b, _) = wrapped(SANDBOX, "{}", limits).await;
    let r = run(b.as_ref(), "sleep 0.5", &[]).await.map(|r| r.0);
    assert_eq!(
        r.ok(),
        Some(ExitStatus::Exited(0)),
        "time spent waiting on the host does not count"
    );
}
