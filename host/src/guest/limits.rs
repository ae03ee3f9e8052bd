//! What a guest may use, and the engines that enforce it.
//!
//! - Memory: `StoreLimits` caps each instance's linear memory (and its instance, table and
//!   memory counts), so a guest cannot grow the host's footprint without bound; growing past the
//!   cap traps.
//! - CPU, per call into the guest, two ways (both bound an infinite loop; either may be off):
//!   fuel counts executed wasm instructions (deterministic, a few percent slower), and the epoch
//!   deadline bounds the wall-clock time the guest spends in its own code. The deadline restarts
//!   whenever the guest returns from a host call, so a command that runs for an hour under
//!   `session.wait` is not cut short: only time inside the guest counts.
//! - Host allocations a guest can cause are capped where the host allocates: reads by
//!   `MAX_READ`, stream buffers at 64 KiB, log lines at 4 KiB, and the handles of the layer below
//!   it may hold (going past traps).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use wasmtime::{Config, Engine, OptLevel};

/// How often the epoch advances: the granularity of the time limit.
pub const TICK: Duration = Duration::from_millis(10);

/// The limits of one guest.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Linear memory per instance, in bytes.
    pub memory: usize,
    /// Instances, tables and memories per store (a component holds a few of each).
    pub instances: usize,
    /// Elements per table.
    pub table_elements: usize,
    /// Handles of the layer below (backends, sessions, clients, files) a guest may hold at once:
    /// each can pin a process, a file descriptor or a connection on the host.
    pub handles: usize,
    /// Fuel (about one unit per wasm instruction) per call; `None` meters nothing.
    pub fuel: Option<u64>,
    /// Time in guest code per call; `None` bounds nothing.
    pub time: Option<Duration>,
}

impl Default for Limits {
    /// 256 MiB of memory (a guest handles up to two 16 MiB reads at once), no fuel metering, and
    /// two seconds of guest code per call: far beyond what a layer's bookkeeping needs, short
    /// enough that a runaway guest fails the call quickly.
    fn default() -> Limits {
        Limits {
            memory: 256 << 20,
            instances: 32,
            table_elements: 100_000,
            handles: 4096,
            fuel: None,
            time: Some(Duration::from_secs(2)),
        }
    }
}

impl Limits {
    /// The epoch deadline, in ticks, for one call.
    pub(crate) fn ticks(&self) -> Option<u64> {
        self.time
            .map(|t| (t.as_millis().div_ceil(TICK.as_millis()) as u64).max(1))
    }

    /// A description for error messages.
    pub(crate) fn cpu(&self) -> String {
        match (self.fuel, self.time) {
            (Some(f), Some(t)) => format!("{f} fuel or {} ms", t.as_millis()),
            (Some(f), None) => format!("{f} fuel"),
            (None, Some(t)) => format!("{} ms", t.as_millis()),
            (None, None) => "none".into(),
        }
    }
}

/// The engine for a choice of CPU limits: fuel and epochs change the compiled code, so each
/// combination has its own engine (and its own entries in the compilation cache).
pub fn engine(limits: &Limits) -> Engine {
    static ENGINES: OnceLock<Mutex<HashMap<(bool, bool), Engine>>> = OnceLock::new();
    let key = (limits.fuel.is_some(), limits.time.is_some());
    let mut engines = ENGINES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    engines
        .entry(key)
        .or_insert_with(|| {
            let mut config = Config::new();
            config
                .cranelift_opt_level(OptLevel::Speed)
                // The component-model-async machinery doubles the cost of every call; no guest
                // here uses it.
                .concurrency_support(false)
                .consume_fuel(key.0)
                .epoch_interruption(key.1);
            let engine = Engine::new(&config)
                .unwrap_or_else(|e| panic!("the fixed wasmtime configuration is invalid: {e}"));
            if key.1 {
                let ticker = engine.clone();
                std::thread::Builder::new()
                    .name("remote-guest-epoch".into())
                    .spawn(move || {
                        loop {
                            std::thread::sleep(TICK);
                            ticker.increment_epoch();
                        }
                    })
                    .unwrap_or_else(|e| panic!("cannot start the epoch thread: {e}"));
            }
            engine
        })
        .clone()
}
