//! The suite is not a rubber stamp: every case can fail. Each [`Fault`] is one bug put into
//! `local://` by a wrapper (a size off by one, a wrong error code, lost nanoseconds, a close
//! that does nothing, an exit status off, stderr mixed into stdout, the environment dropped, …);
//! the suite run over it must fail exactly the cases the fault names, no more and no fewer, and
//! every case of `conformance_cases!` must be named by some fault. A new case without a fault
//! that makes it fail fails this test, as does a case that stops noticing its fault.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use remote_host::conformance::{CASES, Outcome, SuiteOptions, run_suite};
use remote_host::local::LocalBackend;
use remote_host::session::{OutputPipe, StdinPipe};
use remote_host::{
    Backend, DirEntry, Error, ErrorCode, ExitStatus, FileClient, FileStat, OpenFlags, PlatformInfo,
    RemoteFile, RemoteWriteFile, Result, Session, Statfs, Timestamp,
};
use tokio::io::AsyncWriteExt as _;

mod faulty;

use faulty::{Faulty, LEFT_RUNNING};

/// One bug each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// `create` does not truncate an existing file.
    CreateKeepsContent,
    /// `exclusive` is ignored when opening.
    ExclusiveIgnored,
    /// A `read-at` at or past the end is an error instead of empty.
    ReadAtEndFails,
    /// `write-at` moves the handle's position, so the next `write` lands after it.
    WriteAtMovesPosition,
    /// A byte of every write at or past 48 MiB is flipped.
    CorruptPast48MiB,
    /// A listing stops after 500 entries.
    ListingCutAt500,
    /// A listing leaves out names holding a newline.
    ListingDropsNewlineNames,
    /// `lstat` follows a final symlink.
    LstatFollows,
    /// `link` copies the file instead of linking it.
    LinkCopies,
    /// Renaming a directory is refused.
    RenameRefusesDirectories,
    /// `remove` reports every failure as `io`.
    RemoveErrorsAreIo,
    /// `chmod` drops the set-id and sticky bits.
    ChmodDropsSpecialBits,
    /// `chown` does nothing.
    ChownDoesNothing,
    /// `chtimes` drops the nanoseconds.
    ChtimesLosesNanoseconds,
    /// A handle's `truncate` does nothing.
    HandleTruncateDoesNothing,
    /// `statfs` swaps free and available blocks.
    StatfsSwapsFree,
    /// `getwd` is relative.
    GetwdRelative,
    /// `mkdir-all` ignores its mode.
    MkdirAllIgnoresMode,
    /// A read handle's `sync` fails.
    ReadSyncFails,
    /// `stat` keeps answering for a path after it was removed (a stale cache).
    StatStaleAfterRemove,
    /// A closed read handle goes on reading.
    ReadAfterClose,
    /// A `write-at` of 64 KiB or more writes only its first 64 KiB.
    LargeWriteAtCut,
    /// Exit status 255 reads as -1 (a signed byte).
    Exit255Negative,
    /// A signal reads as exit status 128+N.
    SignalAsExitCode,
    /// Standard input stops after 1 MiB.
    StdinCutAt1MiB,
    /// Standard error is mixed into standard output.
    StderrIntoStdout,
    /// Environment values are trimmed of white space.
    EnvTrimmed,
    /// `setenv` is accepted and dropped.
    EnvDropped,
    /// Exit status 127 reads as 1.
    NotFoundAs1,
    /// A second `wait` answers again instead of failing.
    WaitTwiceAnswers,
    /// `close` leaves the command running.
    CloseLeavesCommand,
    /// A command whose stdin was not taken reads a stray newline.
    UntakenStdinNotEmpty,
    /// Output nobody took is never read, so the command stalls once a pipe fills.
    UntakenOutputNotDrained,
    /// `user` names someone else.
    WrongUser,
    /// `detect-platform` reports arm64.
    WrongArch,
    /// Keep-alive fails on a healthy backend.
    KeepAliveFails,
    /// `upload-agent` returns the path as given, not resolved.
    UploadPathUnresolved,
    /// The backend's `close` does nothing.
    CloseDoesNothing,
    /// No sessions at all (`unsupported`): not a bug, a target without a shell.
    NoSessions,
}

/// Each fault and the cases it must fail, exactly.
const FAULTS: &[(Fault, &[&str])] = &[
    (Fault::CreateKeepsContent, &["file_create_write_read"]),
    (Fault::ExclusiveIgnored, &["open_flags_matrix"]),
    (Fault::ReadAtEndFails, &["read_partial_and_eof"]),
    (Fault::WriteAtMovesPosition, &["positioned_io_and_holes"]),
    (Fault::CorruptPast48MiB, &["large_file_checksum"]),
    (Fault::ListingCutAt500, &["read_dir_many_entries"]),
    (
        Fault::ListingDropsNewlineNames,
        &["read_dir_non_ascii_names"],
    ),
    (Fault::LstatFollows, &["symlink_readlink_lstat"]),
    (Fault::LinkCopies, &["hard_link_nlink"]),
    (Fault::RenameRefusesDirectories, &["rename_over_and_across"]),
    (Fault::RemoveErrorsAreIo, &["error_codes"]),
    (Fault::ChmodDropsSpecialBits, &["chmod_visible_in_stat"]),
    (Fault::ChownDoesNothing, &["chown_visible_in_stat"]),
    (Fault::ChtimesLosesNanoseconds, &["chtimes_visible_in_stat"]),
    (Fault::HandleTruncateDoesNothing, &["truncate_up_and_down"]),
    (Fault::StatfsSwapsFree, &["statfs_plausible"]),
    (Fault::GetwdRelative, &["getwd_is_a_directory"]),
    (Fault::MkdirAllIgnoresMode, &["mkdir_modes_and_mkdir_all"]),
    (Fault::ReadSyncFails, &["write_handle_stat_and_sync"]),
    (Fault::StatStaleAfterRemove, &["remove_kinds"]),
    (Fault::ReadAfterClose, &["closed_handle_is_rejected"]),
    (Fault::LargeWriteAtCut, &["large_append_and_write_at"]),
    (Fault::Exit255Negative, &["exit_codes"]),
    (Fault::SignalAsExitCode, &["signal_termination"]),
    (Fault::StdinCutAt1MiB, &["stdin_stdout_round_trip"]),
    (
        Fault::StderrIntoStdout,
        &[
            "stderr_separated",
            "concurrent_sessions",
            "command_not_found",
        ],
    ),
    (Fault::EnvTrimmed, &["env_values_need_quoting"]),
    (
        Fault::EnvDropped,
        &["env_values_need_quoting", "concurrent_sessions"],
    ),
    (Fault::NotFoundAs1, &["command_not_found"]),
    (Fault::WaitTwiceAnswers, &["session_misuse"]),
    (Fault::CloseLeavesCommand, &["session_close_ends_command"]),
    (Fault::UntakenStdinNotEmpty, &["stdin_not_taken_reads_eof"]),
    (
        Fault::UntakenOutputNotDrained,
        &["untaken_output_does_not_stall"],
    ),
    (Fault::WrongUser, &["backend_identity"]),
    (Fault::WrongArch, &["detect_platform"]),
    (Fault::KeepAliveFails, &["keep_alive"]),
    (
        Fault::UploadPathUnresolved,
        &["upload_agent_atomic_replace"],
    ),
    (Fault::CloseDoesNothing, &["close_ends_everything"]),
    (Fault::NoSessions, &[]),
];

/// The cases that failed when the suite ran over `fault`, and those that ended unsupported.
async fn run_with(fault: Fault, parent: &Path) -> (BTreeSet<String>, BTreeSet<String>) {
    let b = Faulty {
        inner: LocalBackend::new(),
        fault,
    };
    b.start()
        .await
        .unwrap_or_else(|e| panic!("start {fault:?}: {e}"));
    let opts = SuiteOptions {
        parent_dir: Some(parent.display().to_string()),
        // A stalled case (the fault of undrained output) ends here rather than at the default.
        case_timeout: Duration::from_secs(20),
        ..SuiteOptions::default()
    };
    let report = run_suite(&b, &opts).await;
    assert_eq!(
        report.cases.len(),
        CASES.len(),
        "{fault:?}: the suite stopped early: {report:#?}"
    );
    let mut failed = BTreeSet::new();
    let mut unsupported = BTreeSet::new();
    for c in &report.cases {
        match &c.outcome {
            Outcome::Pass => {}
            Outcome::Fail(why) => {
                eprintln!("{fault:?}: {} failed: {why}", c.name);
                failed.insert(c.name.to_string());
            }
            Outcome::Unsupported(_) => {
                unsupported.insert(c.name.to_string());
            }
        }
    }
    (failed, unsupported)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_case_fails_against_the_fault_made_for_it() {
    let named: BTreeSet<&str> = FAULTS.iter().flat_map(|(_, c)| c.iter().copied()).collect();
    let unnamed: Vec<&str> = CASES
        .iter()
        .map(|c| c.name)
        .filter(|n| !named.contains(n))
        .collect();
    assert!(
        unnamed.is_empty(),
        "cases no fault makes fail (add a Fault for each): {unnamed:?}"
    );
    let stale: Vec<&&str> = named
        .iter()
        .filter(|n| !CASES.iter().any(|c| c.name == **n))
        .collect();
    assert!(
        stale.is_empty(),
        "faults name cases that do not exist: {stale:?}"
    );

    let parent = std::env::temp_dir().join(format!("remote-suite-can-fail-{}", std::process::id()));
    std::fs::create_dir_all(&parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
    // Four suites at a time: each is mostly waiting on the local machine.
    let mut wrong = Vec::new();
    for batch in FAULTS.chunks(4) {
        let runs = batch.iter().map(|(fault, want)| {
            let parent = parent.clone();
            async move { (*fault, *want, run_with(*fault, &parent).await) }
        });
        for (fault, want, (failed, unsupported)) in futures::future::join_all(runs).await {
            let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
            if failed != want {
                wrong.push(format!("{fault:?}: failed {failed:?}, want {want:?}"));
            }
            if fault == Fault::NoSessions {
                for case in ["exit_codes", "session_misuse", "close_ends_everything"] {
                    assert!(
                        unsupported.contains(case),
                        "without sessions {case} is unsupported, not passed: {unsupported:?}"
                    );
                }
            } else if !unsupported.is_empty() {
                wrong.push(format!("{fault:?}: unsupported {unsupported:?}"));
            }
        }
    }
    LEFT_RUNNING
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
    let _ = std::fs::remove_dir_all(&parent);
    assert!(
        wrong.is_empty(),
        "faults not caught exactly:\n{}",
        wrong.join("\n")
    );
}
