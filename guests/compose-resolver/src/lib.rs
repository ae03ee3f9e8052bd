//! The compose-resolver guest: `compose.resolve` as a pure function (see `resolve`), so the rules
//! that pick a container for `compose://project/service[/N]` can be tested as data and changed
//! without touching the host. It has no configuration (`configure` accepts `{}` only).
//!
//! # Layout
//! - [`resolve`]: the rules, on plain Rust types, tested natively.
//! - this file: the WIT glue.
#![deny(missing_docs)]

pub mod resolve;

/// The generated bindings of the `compose-resolver` world.
#[allow(missing_docs, unsafe_code, reason = "generated code")]
pub mod bindings {
    wit_bindgen::generate!({
        world: "compose-resolver",
        path: "../../wit",
        generate_all,
    });
}

use bindings::exports::remote::machine::compose::{
    Container, Guest as Compose, ProjectContext, Resolution,
};
use bindings::exports::remote::machine::guest::Guest as Configure;
use bindings::remote::machine::types::{Error, ErrorCode};

/// The component.
#[derive(Debug)]
pub struct Resolver;

impl Configure for Resolver {
    fn configure(config: String) -> Result<(), String> {
        match config.trim() {
            "" | "{}" => Ok(()),
            other => Err(format!(
                "compose-resolver: takes no configuration, got {other:?} (use {{}})"
            )),
        }
    }
}

impl Compose for Resolver {
    fn resolve(
        project: String,
        service: String,
        sequence: u32,
        context: ProjectContext,
        containers: Vec<Container>,
    ) -> Result<Resolution, Error> {
        let context = resolve::Context {
            directory_name: context.directory_name,
            env_project_name: context.env_project_name,
            file_project_name: context.file_project_name,
        };
        let containers: Vec<resolve::Container> = containers
            .into_iter()
            .map(|c| resolve::Container {
                id: c.id,
                names: c.names,
                labels: c.labels,
                state: c.state,
            })
            .collect();
        resolve::resolve(&project, &service, sequence, &context, &containers)
            .map(|r| Resolution {
                project: r.project,
                container_id: r.container_id,
                container_number: r.container_number,
            })
            .map_err(|f| Error {
                code: if f.not_found {
                    ErrorCode::NotFound
                } else {
                    ErrorCode::InvalidArgument
                },
                op: "resolve".into(),
                target: f.target,
                message: f.message,
            })
    }
}

/// The component's exports. Only in the wasm build (see the middleware guests for why).
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code, reason = "generated export glue")]
mod export {
    use super::Resolver;
    super::bindings::export!(Resolver with_types_in super::bindings);
}
