//! The resolution of `compose://project/service[/N]` to one container: one pure function whose
//! inputs and outputs mirror `remote:machine/compose` (`wit/compose.wit`) record for record, so
//! it can move into the compose-resolver guest unchanged. The rules are documented there.

use crate::error::{Error, ErrorCode, Result};

/// A container as the Docker API lists it (WIT `container`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// The full container ID.
    pub id: String,
    /// Its names as the API gives them, with a leading `/`.
    pub names: Vec<String>,
    /// Its labels as (key, value) pairs.
    pub labels: Vec<(String, String)>,
    /// The state as the API spells it (`running`, `exited`, …).
    pub state: String,
}

/// What the host found locally to detect the project named `.` (WIT `project-context`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectContext {
    /// The base name of the working directory, not normalised.
    pub directory_name: String,
    /// `COMPOSE_PROJECT_NAME`; empty counts as unset.
    pub env_project_name: Option<String>,
    /// The top-level `name:` of the working directory's compose file; empty counts as none.
    pub file_project_name: Option<String>,
}

/// The container a destination resolved to (WIT `resolution`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The project name used (`.` resolved).
    pub project: String,
    /// The full ID of the chosen container.
    pub container_id: String,
    /// Its `com.docker.compose.container-number`; 0 when missing or not a number.
    pub container_number: u32,
}

const PROJECT: &str = "com.docker.compose.project";
const SERVICE: &str = "com.docker.compose.service";
const NUMBER: &str = "com.docker.compose.container-number";
const ONEOFF: &str = "com.docker.compose.oneoff";

/// A directory name as compose turns it into a project name: lowercased, every character
/// outside `[a-z0-9_-]` dropped, leading `_` and `-` trimmed.
pub fn normalize_project_name(name: &str) -> String {
    let kept: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'))
        .collect();
    kept.trim_start_matches(['_', '-']).to_string()
}

/// The project `project` names: itself, or for `.` the current project from `context`.
pub fn project_name(project: &str, context: &ProjectContext) -> String {
    if project != "." {
        return project.to_string();
    }
    let set = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    set(&context.env_project_name)
        .or_else(|| set(&context.file_project_name))
        .unwrap_or_else(|| normalize_project_name(&context.directory_name))
}

fn label<'a>(c: &'a Container, key: &str) -> Option<&'a str> {
    c.labels
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn number(c: &Container) -> u32 {
    label(c, NUMBER).and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// Picks the one running container of `service` in `project` (see `wit/compose.wit`).
pub fn resolve(
    project: &str,
    service: &str,
    sequence: u32,
    context: &ProjectContext,
    containers: &[Container],
) -> Result<Resolution> {
    let project = project_name(project, context);
    let target = if sequence > 0 {
        format!("compose://{project}/{service}/{sequence}")
    } else {
        format!("compose://{project}/{service}")
    };
    let err = |code, message: String| Err(Error::new(code, "resolve", &target, message));
    if project.is_empty() {
        return err(
            ErrorCode::InvalidArgument,
            "the project name is empty (for `.`: no COMPOSE_PROJECT_NAME, no `name:` in the compose file, and the directory name has no usable character)".into(),
        );
    }
    if service.is_empty() {
        return err(
            ErrorCode::InvalidArgument,
            "the service name is empty".into(),
        );
    }
    let mut candidates: Vec<&Container> = containers
        .iter()
        .filter(|c| {
            c.state == "running"
                && label(c, PROJECT) == Some(project.as_str())
                && label(c, SERVICE) == Some(service)
                && label(c, ONEOFF) != Some("True")
        })
        .filter(|c| sequence == 0 || number(c) == sequence)
        .collect();
    candidates.sort_by_key(|c| number(c));
    match candidates.as_slice() {
        [] if sequence > 0 => err(
            ErrorCode::NotFound,
            format!(
                "no running container number {sequence} of service {service:?} in project {project:?}"
            ),
        ),
        [] => err(
            ErrorCode::NotFound,
            format!("no running container of service {service:?} in project {project:?}"),
        ),
        [one] => Ok(Resolution {
            project: project.clone(),
            container_id: one.id.clone(),
            container_number: number(one),
        }),
        many => {
            let list = many
                .iter()
                .map(|c| {
                    let name = c
                        .names
                        .first()
                        .map_or(c.id.as_str(), |n| n.trim_start_matches('/'));
                    format!("{} ({name})", number(c))
                })
                .collect::<Vec<_>>()
                .join(", ");
            err(
                ErrorCode::InvalidArgument,
                format!(
                    "{} running containers match: {list}; pick one with compose://{project}/{service}/<N>",
                    many.len()
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests;
