//! Many targets at once: an inventory of destinations with their options, a fan-out that runs
//! one piece of work on each with bounded concurrency, a per-target time limit and an optional
//! stop at the first failure, and a [`Fleet`] that keeps each target's connection for every
//! piece of work of a run. A target that is dead or slow costs only its own slot: the others go
//! on.
//!
//! ```
//! use remote_host::fleet::Inventory;
//!
//! let inv = Inventory::parse("web-1\n# comment\nssh://deploy@web-2:2222\n", "hosts")?;
//! assert_eq!(inv.targets.len(), 2);
//! let grouped = Inventory::parse(r#"{"web": ["web-1", "web-2"], "db": ["docker://pg"]}"#, "inv.json")?;
//! assert_eq!(grouped.group("db").count(), 1);
//! let toml = Inventory::parse(
//!     r#"
//!     defaults = { user = "deploy", timeout = 30 }
//!     web = ["web-1", { dest = "web-2", port = 2222 }]
//!     "#,
//!     "inv.toml",
//! )?;
//! assert_eq!(toml.targets[1].options.port, Some(2222));
//! assert_eq!(toml.targets[1].options.user.as_deref(), Some("deploy"));
//! # Ok::<(), remote_host::Error>(())
//! ```

mod inventory;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt as _};
use tokio::sync::OnceCell;

use crate::backend::Backend;
use crate::error::{Error, ErrorCode, Result};

pub use inventory::{Inventory, Target, TargetOptions};

/// How a fan-out runs.
#[derive(Debug, Clone)]
pub struct FanOut {
    /// How many targets are worked on at once (at least 1).
    pub parallel: usize,
    /// The most one target may take, connecting included; `None` bounds nothing.
    pub timeout: Option<Duration>,
    /// Start no further target once one has failed.
    pub fail_fast: bool,
}

impl Default for FanOut {
    /// 32 at once, no time limit, every target run.
    fn default() -> FanOut {
        FanOut {
            parallel: 32,
            timeout: None,
            fail_fast: false,
        }
    }
}

/// What one target's work came to.
#[derive(Debug)]
pub struct Outcome<T> {
    /// The target's destination.
    pub dest: String,
    /// The work's result: an error with its code when it failed, timed out or was not started
    /// (`--fail-fast` after another target failed: `busy`).
    pub result: Result<T>,
    /// How long the target took.
    pub duration: Duration,
}

/// Runs `work` on every target, at most `opts.parallel` at once, and returns one outcome per
/// target in the inventory's order. `failed` decides whether a successful result still counts
/// as a failure for `fail_fast` (a command's non-zero exit, say).
pub async fn fan_out<T, W, F>(
    targets: &[Target],
    opts: &FanOut,
    work: W,
    failed: impl Fn(&T) -> bool,
) -> Vec<Outcome<T>>
where
    W: Fn(Target) -> F,
    F: Future<Output = Result<T>>,
{
    in_order(fan_out_stream(targets, opts, work, failed)).await
}

/// The outcomes of a [`fan_out_stream`] in the inventory's order.
pub async fn in_order<T>(outcomes: impl Stream<Item = (usize, Outcome<T>)>) -> Vec<Outcome<T>> {
    let mut done: Vec<(usize, Outcome<T>)> = outcomes.collect().await;
    done.sort_by_key(|(index, _)| *index);
    done.into_iter().map(|(_, outcome)| outcome).collect()
}

/// [`fan_out`] as a stream of `(index in the inventory, outcome)` in the order the targets
/// finish, so a caller can show each target's result as soon as it is known.
pub fn fan_out_stream<'a, T, W, F>(
    targets: &'a [Target],
    opts: &'a FanOut,
    work: W,
    failed: impl Fn(&T) -> bool + 'a,
) -> impl Stream<Item = (usize, Outcome<T>)> + 'a
where
    T: 'a,
    W: Fn(Target) -> F + 'a,
    F: Future<Output = Result<T>> + 'a,
{
    let stop = Arc::new(AtomicBool::new(false));
    let (work, failed) = (Arc::new(work), Arc::new(failed));
    let runs = targets
        .iter()
        .cloned()
        .enumerate()
        .map(move |(index, target)| {
            let (stop, work, failed) = (stop.clone(), work.clone(), failed.clone());
            async move {
                let dest = target.dest.clone();
                let started = Instant::now();
                if stop.load(Ordering::SeqCst) {
                    let not_started = Error::new(
                        ErrorCode::Busy,
                        "fan-out",
                        &dest,
                        "not started: another target failed first (--fail-fast)",
                    );
                    let outcome = Outcome {
                        dest,
                        result: Err(not_started),
                        duration: Duration::ZERO,
                    };
                    return (index, outcome);
                }
                let result = match target.options.timeout.or(opts.timeout) {
                    Some(limit) => tokio::time::timeout(limit, work(target))
                        .await
                        .unwrap_or_else(|_| {
                            Err(Error::new(
                                ErrorCode::Timeout,
                                "fan-out",
                                &dest,
                                format!("did not finish within {} s", limit.as_secs_f64()),
                            ))
                        }),
                    None => work(target).await,
                };
                if opts.fail_fast && result.as_ref().map_or(true, |r| failed(r)) {
                    stop.store(true, Ordering::SeqCst);
                }
                let outcome = Outcome {
                    dest,
                    result,
                    duration: started.elapsed(),
                };
                (index, outcome)
            }
        });
    // Unordered, so a slow target holds only its own slot.
    futures::stream::iter(runs).buffer_unordered(opts.parallel.max(1))
}

/// A run's connections: each target's is opened the first time work needs it and kept for all
/// later work, so a run that does several things to each target connects to each once. A
/// target whose connection failed is tried again by the next piece of work.
pub struct Fleet<O> {
    targets: Vec<Target>,
    open: O,
    connections: HashMap<String, OnceCell<Arc<dyn Backend>>>,
}

impl<O> std::fmt::Debug for Fleet<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let open: Vec<&str> = self
            .connections
            .iter()
            .filter(|(_, c)| c.initialized())
            .map(|(dest, _)| dest.as_str())
            .collect();
        f.debug_struct("Fleet")
            .field("targets", &self.targets)
            .field("connected", &open)
            .finish_non_exhaustive()
    }
}

impl<O, F> Fleet<O>
where
    O: Fn(Target) -> F,
    F: Future<Output = Result<Box<dyn Backend>>>,
{
    /// A fleet over `targets` that connects with `open`; nothing is opened yet.
    pub fn new(targets: Vec<Target>, open: O) -> Fleet<O> {
        let connections = targets
            .iter()
            .map(|t| (t.dest.clone(), OnceCell::new()))
            .collect();
        Fleet {
            targets,
            open,
            connections,
        }
    }

    /// The targets, in the inventory's order.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// [`fan_out_stream`] over the fleet, handing `work` each target's connection. The time
    /// limit covers connecting.
    pub fn run<'a, T, W, WF>(
        &'a self,
        opts: &'a FanOut,
        work: W,
        failed: impl Fn(&T) -> bool + 'a,
    ) -> impl Stream<Item = (usize, Outcome<T>)> + 'a
    where
        T: 'a,
        W: Fn(Target, Arc<dyn Backend>) -> WF + 'a,
        WF: Future<Output = Result<T>> + 'a,
    {
        let work = Arc::new(work);
        let with_connection = move |target: Target| {
            let work = work.clone();
            async move {
                let backend = self.connection(&target).await?;
                work(target, backend).await
            }
        };
        fan_out_stream(&self.targets, opts, with_connection, failed)
    }

    async fn connection(&self, target: &Target) -> Result<Arc<dyn Backend>> {
        let cell = self.connections.get(&target.dest).ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidArgument,
                "fan-out",
                &target.dest,
                "not a target of this fleet",
            )
        })?;
        let open = || async { (self.open)(target.clone()).await.map(Arc::from) };
        cell.get_or_try_init(open).await.cloned()
    }

    /// Closes every connection the runs opened, at most `parallel` at once, and returns the
    /// targets whose close failed, with the error.
    pub async fn close(&self, parallel: usize) -> Vec<(String, Error)> {
        let open = self
            .connections
            .iter()
            .filter_map(|(dest, cell)| Some((dest.clone(), cell.get()?.clone())));
        futures::stream::iter(open)
            .map(|(dest, backend)| async move { (dest, backend.close().await) })
            .buffer_unordered(parallel.max(1))
            .filter_map(|(dest, closed)| async move { closed.err().map(|e| (dest, e)) })
            .collect()
            .await
    }
}

#[cfg(test)]
mod tests;
