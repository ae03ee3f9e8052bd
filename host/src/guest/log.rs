//! The `log` interface: a guest's audit and diagnostic lines, tagged with the guest's name.

use std::sync::Arc;

use super::bindings::middleware::remote::machine::log::{Host, Level};
use super::ctx::GuestCtx;

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

/// Lines longer than this are cut: a guest must not make the host's log hold unbounded text.
const MAX_LINE: usize = 4096;

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

impl Host for GuestCtx {
    async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let level = match level {
            Level::Trace => LogLevel::Trace,
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        };
        let mut line = String::with_capacity(message.len().min(MAX_LINE));
        for c in message.chars() {
            if c.is_control() {
                line.extend(c.escape_default());
            } else {
                line.push(c);
            }
        }
        if line.len() > MAX_LINE {
            let cut = (0..=MAX_LINE)
                .rev()
                .find(|i| line.is_char_boundary(*i))
                .unwrap_or(0);
            line.truncate(cut);
            line.push('…');
        }
        (self.log)(&self.name, level, &line);
        Ok(())
    }
}
