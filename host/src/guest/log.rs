//! Where a guest's audit and diagnostic lines go ([`LogSink`]), tagged with the guest's name;
//! the import that feeds it is `host::log`.

use std::sync::Arc;

/// How important a guest's log line is (mirrors `log.level`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Fine-grained detail.
    Trace,
    /// Debugging detail.
    Debug,
    /// A normal event, such as an audited decision.
    Info,
    /// A refused or unexpected operation.
    Warn,
    /// A failure.
    Error,
}

/// Where a guest's log lines go: called with the guest's name, the level and the line.
pub type LogSink = Arc<dyn Fn(&str, LogLevel, &str) + Send + Sync>;

/// The default sink: `tracing` events with target `remote::guest`.
pub fn tracing_sink() -> LogSink {
    Arc::new(|guest, level, line| match level {
        LogLevel::Trace => tracing::trace!(target: "remote::guest", guest, "{line}"),
        LogLevel::Debug => tracing::debug!(target: "remote::guest", guest, "{line}"),
        LogLevel::Info => tracing::info!(target: "remote::guest", guest, "{line}"),
        LogLevel::Warn => tracing::warn!(target: "remote::guest", guest, "{line}"),
        LogLevel::Error => tracing::error!(target: "remote::guest", guest, "{line}"),
    })
}
