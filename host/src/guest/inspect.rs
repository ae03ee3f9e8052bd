//! What a component imports and exports, and which world of `remote:machine` it fits: what
//! `remote guest inspect` prints.

use std::fmt;
use std::path::Path;

use wasmtime::component::types::{ComponentExtern, ComponentItem};

use super::cache;
use super::limits::{Limits, engine};
use crate::error::{Error, Result};

/// A component's interface, as `remote guest inspect` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Inspection {
    /// The `remote:machine` world it fits (`middleware`, `compose-resolver`), if any.
    pub world: Option<&'static str>,
    /// Imported instances (interfaces) with the functions and resources each holds.
    pub imports: Vec<(String, Vec<String>)>,
    /// Exported instances with their functions and resources.
    pub exports: Vec<(String, Vec<String>)>,
}

fn items<'a>(
    engine: &wasmtime::Engine,
    list: impl Iterator<Item = (&'a str, ComponentExtern<'a>)>,
) -> Vec<(String, Vec<String>)> {
    list.map(|(name, item)| {
        let inner = match item.ty {
            ComponentItem::ComponentInstance(i) => i
                .exports(engine)
                .filter_map(|(n, it)| match it.ty {
                    ComponentItem::ComponentFunc(_) => Some(format!("func {n}")),
                    ComponentItem::Resource(_) => Some(format!("resource {n}")),
                    _ => None,
                })
                .collect(),
            ComponentItem::ComponentFunc(_) => vec!["(a function)".into()],
            _ => Vec::new(),
        };
        (name.to_string(), inner)
    })
    .collect()
}

/// Describes the component at `path`.
pub fn inspect(path: &Path) -> Result<Inspection> {
    let what = path.display().to_string();
    let wasm = std::fs::read(path).map_err(|e| Error::from_io("inspect", &what, e))?;
    let engine = engine(&Limits::default());
    let (component, _) = cache::load(&engine, &wasm, cache::default_dir().as_deref(), &what)?;
    let ty = component.component_type();
    let imports = items(&engine, ty.imports(&engine));
    let exports = items(&engine, ty.exports(&engine));
    let exported = |iface: &str| {
        exports
            .iter()
            .any(|(n, _)| n.starts_with(&format!("remote:machine/{iface}@")))
    };
    let world = if ["backend", "session", "file-client", "guest"]
        .iter()
        .all(|i| exported(i))
    {
        Some("middleware")
    } else if exported("compose") && exported("guest") {
        Some("compose-resolver")
    } else {
        None
    };
    Ok(Inspection {
        world,
        imports,
        exports,
    })
}

impl fmt::Display for Inspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.world {
            Some(w) => writeln!(f, "world: remote:machine/{w}")?,
            None => writeln!(f, "world: none of remote:machine's guest worlds")?,
        }
        for (title, list) in [("imports", &self.imports), ("exports", &self.exports)] {
            writeln!(f, "{title}:")?;
            for (name, inner) in list {
                writeln!(f, "  {name}")?;
                for i in inner {
                    writeln!(f, "    {i}")?;
                }
            }
        }
        Ok(())
    }
}
