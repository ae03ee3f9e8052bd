//! Many targets at once: an inventory of destinations, and a fan-out that runs one piece of work
//! on each with bounded concurrency, a per-target time limit and an optional stop at the first
//! failure. A target that is dead or slow costs only its own slot: the others go on.
//!
//! ```
//! use remote_host::fleet::Inventory;
//!
//! let inv = Inventory::parse("web-1\n# comment\nssh://deploy@web-2:2222\n", "hosts")?;
//! assert_eq!(inv.targets.len(), 2);
//! let grouped = Inventory::parse(r#"{"web": ["web-1", "web-2"], "db": ["docker://pg"]}"#, "inv.json")?;
//! assert_eq!(grouped.group("db").count(), 1);
//! # Ok::<(), remote_host::Error>(())
//! ```

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt as _;

use crate::error::{Error, ErrorCode, Result};

/// One target of an inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The destination, as `remote` takes it (`ssh://…`, `docker://…`, a bare host…).
    pub dest: String,
    /// The group it was listed under in a JSON inventory; `None` in a plain list.
    pub group: Option<String>,
}

/// The targets of a run, in the order they were listed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Every target, each listed once.
    pub targets: Vec<Target>,
}

impl Inventory {
    /// Parses an inventory: a JSON list of destinations, a JSON object of groups (each a list
    /// of destinations), or plain text with one destination a line (`#` starts a comment).
    /// `name` names the inventory in errors. A destination listed twice is an error: it would
    /// run the work twice on one machine.
    pub fn parse(text: &str, name: &str) -> Result<Inventory> {
        let bad = |msg: String| Error::new(ErrorCode::InvalidArgument, "inventory", name, msg);
        let trimmed = text.trim_start();
        let targets: Vec<Target> = if trimmed.starts_with('[') || trimmed.starts_with('{') {
            let value: serde_json::Value =
                serde_json::from_str(text).map_err(|e| bad(format!("not valid JSON: {e}")))?;
            let list = |v: &serde_json::Value, group: Option<&str>| -> Result<Vec<Target>> {
                let items = v.as_array().ok_or_else(|| {
                    bad(format!(
                        "{} must be a list of destinations",
                        group.map_or("the inventory".into(), |g| format!("group {g:?}"))
                    ))
                })?;
                items
                    .iter()
                    .map(|item| {
                        let dest = item.as_str().ok_or_else(|| {
                            bad(format!("a destination must be a string, got {item}"))
                        })?;
                        Ok(Target {
                            dest: dest.to_string(),
                            group: group.map(String::from),
                        })
                    })
                    .collect()
            };
            match &value {
                serde_json::Value::Object(groups) => {
                    let mut all = Vec::new();
                    for (group, members) in groups {
                        all.extend(list(members, Some(group))?);
                    }
                    all
                }
                other => list(other, None)?,
            }
        } else {
            text.lines()
                .map(|line| line.split('#').next().unwrap_or_default().trim())
                .filter(|line| !line.is_empty())
                .map(|dest| Target {
                    dest: dest.to_string(),
                    group: None,
                })
                .collect()
        };
        let mut seen = std::collections::BTreeSet::new();
        for t in &targets {
            if t.dest.trim().is_empty() {
                return Err(bad("an empty destination".into()));
            }
            if !seen.insert(t.dest.as_str()) {
                return Err(bad(format!("{} is listed twice", t.dest)));
            }
        }
        if targets.is_empty() {
            return Err(bad("no destination in it".into()));
        }
        Ok(Inventory { targets })
    }

    /// The targets of `group`.
    pub fn group<'a>(&'a self, group: &'a str) -> impl Iterator<Item = &'a Target> + 'a {
        self.targets
            .iter()
            .filter(move |t| t.group.as_deref() == Some(group))
    }
}

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
    let stop = Arc::new(AtomicBool::new(false));
    let runs = targets.iter().cloned().enumerate().map(|(index, target)| {
        let stop = stop.clone();
        let work = &work;
        let failed = &failed;
        async move {
            let dest = target.dest.clone();
            let started = Instant::now();
            if stop.load(Ordering::SeqCst) {
                return (
                    index,
                    Outcome {
                        dest: dest.clone(),
                        result: Err(Error::new(
                            ErrorCode::Busy,
                            "fan-out",
                            dest,
                            "not started: another target failed first (--fail-fast)",
                        )),
                        duration: Duration::ZERO,
                    },
                );
            }
            let result = match opts.timeout {
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
            if opts.fail_fast && result.as_ref().map_or(true, failed) {
                stop.store(true, Ordering::SeqCst);
            }
            (
                index,
                Outcome {
                    dest,
                    result,
                    duration: started.elapsed(),
                },
            )
        }
    });
    // Unordered, so a slow target holds only its own slot; the order is restored after.
    let mut done: Vec<(usize, Outcome<T>)> = futures::stream::iter(runs)
        .buffer_unordered(opts.parallel.max(1))
        .collect()
        .await;
    done.sort_by_key(|(index, _)| *index);
    done.into_iter().map(|(_, outcome)| outcome).collect()
}

#[cfg(test)]
mod tests;
