//! The conformance suite: one set of scenarios every backend must pass, native or guest-wrapped.
//!
//! Scenarios are plain `async fn case(cx: &Cx) -> CaseResult` functions in [`cases`]. The
//! [`conformance_cases!`](crate::conformance_cases) macro lists them once; it builds [`CASES`]
//! for [`run_suite`] (and `remote conformance`), and test crates use it to generate one test per
//! case and backend, so `cargo test local::` filters by backend and adding a backend is one line.
//!
//! The suite works in a fresh directory it creates on the target (under `/tmp` unless told
//! otherwise) and removes afterwards, so it is safe to point at a real machine.
//!
//! # Layout
//! - `runner`: the case registry, the per-case context, outcomes and reports.
//! - `check`: assertion helpers that turn mismatches into failures with a message.
//! - `file_client`, `session`, `backend`: the scenarios, each file named after the WIT interface
//!   its cases exercise.

mod backend;
mod check;
mod file_client;
mod runner;
mod session;

pub use runner::{
    CASES, Case, CaseReport, CaseResult, Cx, Failure, Outcome, Report, SuiteOptions, run_case,
    run_suite,
};

/// Helpers the scenarios use that are useful to other test code too (load tests, benchmarks).
pub mod support {
    pub use super::check::{Xorshift, pattern};
    pub use super::session::{Output, run};
}

/// Every scenario, under the name the suite reports it by.
pub mod cases {
    pub use super::backend::*;
    pub use super::file_client::*;
    pub use super::session::*;
}

/// Expands `conformance_cases!(callback!(ARGS…))` to `callback! { ARGS… ; case, case, … }` with
/// the name of every scenario in [`cases`]: the single list of the suite's cases.
///
/// ```
/// macro_rules! count {
///     ($prefix:literal ; $($case:ident),* $(,)?) => { [$(concat!($prefix, stringify!($case))),*] };
/// }
/// let names = remote_host::conformance_cases!(count!("local::"));
/// assert!(names.contains(&"local::exit_codes"));
/// ```
#[macro_export]
macro_rules! conformance_cases {
    ($callback:ident ! ( $($args:tt)* )) => {
        $callback! { $($args)* ;
            file_create_write_read,
            open_flags_matrix,
            read_partial_and_eof,
            positioned_io_and_holes,
            large_file_checksum,
            read_dir_many_entries,
            read_dir_non_ascii_names,
            symlink_readlink_lstat,
            hard_link_nlink,
            rename_over_and_across,
            error_codes,
            chmod_visible_in_stat,
            chown_visible_in_stat,
            chtimes_visible_in_stat,
            truncate_up_and_down,
            statfs_plausible,
            getwd_is_a_directory,
            mkdir_modes_and_mkdir_all,
            write_handle_stat_and_sync,
            remove_kinds,
            closed_handle_is_rejected,
            large_append_and_write_at,
            exit_codes,
            signal_termination,
            stdin_stdout_round_trip,
            stderr_separated,
            env_values_need_quoting,
            concurrent_sessions,
            command_not_found,
            session_misuse,
            session_close_ends_command,
            stdin_not_taken_reads_eof,
            untaken_output_does_not_stall,
            backend_identity,
            detect_platform,
            keep_alive,
            upload_agent_atomic_replace,
            // Last: it closes the backend.
            close_ends_everything,
        }
    };
}
