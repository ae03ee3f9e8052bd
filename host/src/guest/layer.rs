//! Loading a middleware guest ([`Layer`]), wrapping a backend in it, and stacking the guests the
//! CLI names ([`GuestSpec`], [`stack`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::Linker;

use super::bindings::middleware::MiddlewarePre;
use super::cache::{self, Source};
use super::ctx::{GuestCtx, GuestCtxBuilder, add_to_linker};
use super::instance::{Blueprint, Shared, State, instantiate};
use super::limits::{Limits, engine};
use super::log::{LogSink, tracing_sink};
use super::wrapped::GuestBackend;
use crate::backend::Backend;
use crate::error::{Error, ErrorCode, Result};

/// How a load went, for measurements.
#[derive(Debug, Clone, Copy)]
pub struct LoadReport {
    /// Where the compiled code came from.
    pub source: Source,
    /// Reading, compiling or deserializing, and linking.
    pub prepare: Duration,
    /// One instantiation and `configure`, which checks the configuration.
    pub configure: Duration,
}

/// A loaded, configured middleware guest, ready to wrap backends.
pub struct Layer {
    bp: Arc<Blueprint>,
    report: LoadReport,
}

impl std::fmt::Debug for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layer")
            .field("name", &self.bp.name)
            .field("limits", &self.bp.limits)
            .finish_non_exhaustive()
    }
}

fn load_error(path: &Path, e: std::io::Error) -> Error {
    Error::from_io("load guest", path.display().to_string(), e)
}

impl Layer {
    /// Loads the component at `path` with the JSON `config`, using the default compilation cache
    /// and logging through `tracing`. A component that is not a middleware guest, or refuses its
    /// configuration, is an `invalid-argument` error naming why.
    pub async fn load(path: &Path, config: &str, limits: Limits) -> Result<Layer> {
        Layer::load_with(
            path,
            config,
            limits,
            cache::default_dir().as_deref(),
            tracing_sink(),
        )
        .await
    }

    /// [`Layer::load`] with an explicit cache directory (`None`: no disk cache) and log sink.
    pub async fn load_with(
        path: &Path,
        config: &str,
        limits: Limits,
        cache_dir: Option<&Path>,
        log: LogSink,
    ) -> Result<Layer> {
        let started = Instant::now();
        let name = path.file_stem().map_or_else(
            || path.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        let wasm = std::fs::read(path).map_err(|e| load_error(path, e))?;
        let engine = engine(&limits);
        let what = path.display().to_string();
        let (component, source) = cache::load(&engine, &wasm, cache_dir, &what)?;
        let mut linker: Linker<GuestCtx> = Linker::new(&engine);
        add_to_linker(&mut linker).map_err(|e| {
            Error::new(
                ErrorCode::Io,
                "load guest",
                &what,
                format!("linking: {e:#}"),
            )
        })?;
        let invalid = |e: wasmtime::Error| {
            Error::new(
                ErrorCode::InvalidArgument,
                "load guest",
                &what,
                format!("not a middleware guest of remote:machine: {e:#}"),
            )
        };
        let pre = linker
            .instantiate_pre(&component)
            .and_then(MiddlewarePre::new)
            .map_err(invalid)?;
        let prepared = started.elapsed();
        let bp = Blueprint {
            name,
            pre,
            config: config.to_string(),
            limits,
            log,
        };
        // Configure one throwaway instance now, so a bad configuration fails the load rather
        // than the first call.
        let mut store = wasmtime::Store::new(
            bp.pre.engine(),
            GuestCtxBuilder::new()
                .name(bp.name.clone())
                .limits(bp.limits.clone())
                .log_sink(bp.log.clone())
                .build(),
        );
        store.limiter(|c| &mut c.limits);
        if let Some(fuel) = bp.limits.fuel {
            store.set_fuel(fuel).map_err(invalid)?;
        }
        if let Some(ticks) = bp.limits.ticks() {
            store.set_epoch_deadline(ticks);
        }
        instantiate(&bp, &mut store).await?;
        Ok(Layer {
            bp: Arc::new(bp),
            report: LoadReport {
                source,
                prepare: prepared,
                configure: started.elapsed() - prepared,
            },
        })
    }

    /// The guest's name (its file name without `.wasm`).
    pub fn name(&self) -> &str {
        &self.bp.name
    }

    /// How the load went.
    pub fn report(&self) -> LoadReport {
        self.report
    }

    /// Wraps `below` (normally started, as [`connect`](crate::connect) returns it) in a new
    /// instance of this guest, opened for `dest`. Call `start` on the result before using it.
    pub async fn wrap(&self, below: Box<dyn Backend>, dest: &str) -> Result<GuestBackend> {
        let shared = Arc::new(Shared {
            bp: self.bp.clone(),
            below: Arc::from(below),
            dest: dest.to_string(),
            state: tokio::sync::Mutex::new(State {
                live: None,
                generation: 0,
                started: false,
            }),
            drops: std::sync::Mutex::new(Vec::new()),
        });
        GuestBackend::new(shared).await
    }
}

/// A guest named on the command line: `PATH` or `PATH=CONFIG_FILE` (the configuration is the
/// file's JSON; without one it is `{}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestSpec {
    /// The component.
    pub path: PathBuf,
    /// The file holding its configuration.
    pub config: Option<PathBuf>,
}

impl std::str::FromStr for GuestSpec {
    type Err = String;

    /// Splits at the first `=`: a component path holding `=` cannot be named this way.
    fn from_str(s: &str) -> std::result::Result<GuestSpec, String> {
        let (path, config) = match s.split_once('=') {
            Some((p, "")) => {
                return Err(format!("{p}=: the configuration file name is empty"));
            }
            Some((p, c)) => (p, Some(PathBuf::from(c))),
            None => (s, None),
        };
        if path.is_empty() {
            return Err("the guest's component path is empty".into());
        }
        Ok(GuestSpec {
            path: PathBuf::from(path),
            config,
        })
    }
}

impl GuestSpec {
    /// The configuration text: the file's contents, or `{}`.
    pub fn config_text(&self) -> Result<String> {
        match &self.config {
            Some(f) => std::fs::read_to_string(f).map_err(|e| load_error(f, e)),
            None => Ok("{}".into()),
        }
    }
}

/// Wraps `below` in each guest in turn (the last named is the outermost) and starts the stack.
pub async fn stack(
    specs: &[GuestSpec],
    below: Box<dyn Backend>,
    dest: &str,
    limits: &Limits,
) -> Result<Box<dyn Backend>> {
    let mut backend = below;
    for spec in specs {
        let layer = Layer::load(&spec.path, &spec.config_text()?, limits.clone()).await?;
        let wrapped = layer.wrap(backend, dest).await?;
        wrapped.start().await?;
        backend = Box::new(wrapped);
    }
    Ok(backend)
}
