//! The imported `log` interface: a guest's lines, made safe to print and bounded, handed to the
//! context's [`LogSink`](crate::guest::LogSink).

use crate::guest::bindings::middleware::remote::machine::log::{Host, Level};
use crate::guest::ctx::GuestCtx;
use crate::guest::log::LogLevel;

/// Lines longer than this are cut: a guest must not make the host's log hold unbounded text.
const MAX_LINE: usize = 4096;

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
