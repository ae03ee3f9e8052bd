//! The resolution rules of `wit/compose.wit` as a pure function over plain Rust types, so they
//! are tested natively; `lib.rs` only converts the WIT records.

/// A container as the Docker API lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Container {
    /// Full ID.
    pub id: String,
    /// Names with their leading `/`.
    pub names: Vec<String>,
    /// Labels in the API's order.
    pub labels: Vec<(String, String)>,
    /// `running`, `exited`, …
    pub state: String,
}

/// What the host found locally to detect the project named `.`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// Base name of the working directory, not normalised.
    pub directory_name: String,
    /// `COMPOSE_PROJECT_NAME`, if set.
    pub env_project_name: Option<String>,
    /// The compose file's top-level `name:`, if any.
    pub file_project_name: Option<String>,
}

/// The chosen container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The project used (`.` resolved).
    pub project: String,
    /// Full ID of the container.
    pub container_id: String,
    /// Its replica number, 0 when unknown.
    pub container_number: u32,
}

/// Why no single container was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `true` for `not-found`, `false` for `invalid-argument`.
    pub not_found: bool,
    /// `compose://<project>/<service>[/<N>]`.
    pub target: String,
    /// The cause in words.
    pub message: String,
}

const PROJECT: &str = "com.docker.compose.project";
const SERVICE: &str = "com.docker.compose.service";
const ONEOFF: &str = "com.docker.compose.oneoff";
const NUMBER: &str = "com.docker.compose.container-number";

/// A project name as docker compose normalises a directory name: lowercased, every character
/// outside `[a-z0-9_-]` dropped, leading `_` and `-` trimmed.
pub fn normalize_project(name: &str) -> String {
    name.to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect::<String>()
        .trim_start_matches(['_', '-'])
        .to_string()
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

fn target(project: &str, service: &str, sequence: u32) -> String {
    if sequence > 0 {
        format!("compose://{project}/{service}/{sequence}")
    } else {
        format!("compose://{project}/{service}")
    }
}

/// Picks the one running container of `service` in `project` (see `wit/compose.wit`).
pub fn resolve(
    project: &str,
    service: &str,
    sequence: u32,
    context: &Context,
    containers: &[Container],
) -> Result<Resolution, Failure> {
    let set = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let project = if project == "." {
        set(&context.env_project_name)
            .or_else(|| set(&context.file_project_name))
            .unwrap_or_else(|| normalize_project(&context.directory_name))
    } else {
        project.to_string()
    };
    let invalid = |message: String| Failure {
        not_found: false,
        target: target(&project, service, sequence),
        message,
    };
    if project.is_empty() {
        return Err(invalid("the project name is empty".into()));
    }
    if service.is_empty() {
        return Err(invalid("the service name is empty".into()));
    }
    let mut candidates: Vec<&Container> = containers
        .iter()
        .filter(|c| {
            c.state == "running"
                && label(c, PROJECT) == Some(project.as_str())
                && label(c, SERVICE) == Some(service)
                && label(c, ONEOFF) != Some("True")
                && (sequence == 0 || number(c) == sequence)
        })
        .collect();
    candidates.sort_by_key(|c| (number(c), c.id.clone()));
    match candidates.as_slice() {
        [one] => Ok(Resolution {
            project,
            container_id: one.id.clone(),
            container_number: number(one),
        }),
        [] => Err(Failure {
            not_found: true,
            target: target(&project, service, sequence),
            message: if sequence > 0 {
                format!(
                    "no running container for {project}/{service} with container number {sequence}"
                )
            } else {
                format!("no running container for {project}/{service}")
            },
        }),
        many => {
            let list = many
                .iter()
                .map(|c| {
                    let name = c.names.first().map_or("", |n| n.trim_start_matches('/'));
                    format!("{} ({name})", number(c))
                })
                .collect::<Vec<_>>()
                .join(", ");
            Err(invalid(format!(
                "{} running containers match {project}/{service}: {list}; pick one with \
                 compose://{project}/{service}/<N>",
                many.len()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: &str, project: &str, service: &str, n: &str, state: &str) -> Container {
        Container {
            id: id.into(),
            names: vec![format!("/{project}-{service}-{n}")],
            labels: vec![
                (PROJECT.into(), project.into()),
                (SERVICE.into(), service.into()),
                (NUMBER.into(), n.into()),
            ],
            state: state.into(),
        }
    }

    fn ctx(dir: &str, env: Option<&str>, file: Option<&str>) -> Context {
        Context {
            directory_name: dir.into(),
            env_project_name: env.map(Into::into),
            file_project_name: file.map(Into::into),
        }
    }

    #[test]
    fn normalises_like_docker_compose() {
        for (dir, want) in [
            ("My_Shop", "my_shop"),
            ("-_Shop.v2!", "shopv2"),
            ("__", ""),
            ("café-1", "caf-1"),
        ] {
            assert_eq!(normalize_project(dir), want, "{dir}");
        }
    }

    #[test]
    fn table() {
        let mut oneoff = c("r1", "shop", "web", "1", "running");
        oneoff.labels.push((ONEOFF.into(), "True".into()));
        let all = vec![
            c("w1", "shop", "web", "1", "running"),
            c("w2", "shop", "web", "2", "running"),
            c("w3", "shop", "web", "3", "exited"),
            c("d1", "shop", "db", "1", "running"),
            c("o1", "other", "web", "1", "running"),
            oneoff,
        ];
        let plain = ctx("My_Shop", None, None);
        type Want = Result<(&'static str, &'static str, u32), (bool, &'static str)>;
        let cases: Vec<(&str, &str, u32, Context, Want)> = vec![
            ("shop", "db", 0, plain.clone(), Ok(("shop", "d1", 1))),
            ("shop", "web", 2, plain.clone(), Ok(("shop", "w2", 2))),
            (
                "shop",
                "web",
                0,
                plain.clone(),
                Err((
                    false,
                    "2 running containers match shop/web: 1 (shop-web-1), 2 (shop-web-2); pick one with compose://shop/web/<N>",
                )),
            ),
            (
                "shop",
                "web",
                3,
                plain.clone(),
                Err((
                    true,
                    "no running container for shop/web with container number 3",
                )),
            ),
            (
                "shop",
                "cache",
                0,
                plain.clone(),
                Err((true, "no running container for shop/cache")),
            ),
            (".", "db", 0, ctx("Shop", None, None), Ok(("shop", "d1", 1))),
            (
                ".",
                "web",
                0,
                ctx("x", Some("other"), Some("shop")),
                Ok(("other", "o1", 1)),
            ),
            (
                ".",
                "db",
                0,
                ctx("x", Some(""), Some("shop")),
                Ok(("shop", "d1", 1)),
            ),
            (
                ".",
                "db",
                0,
                ctx("__", None, None),
                Err((false, "the project name is empty")),
            ),
            (
                "shop",
                "",
                0,
                plain.clone(),
                Err((false, "the service name is empty")),
            ),
        ];
        for (project, service, seq, context, want) in cases {
            let got = resolve(project, service, seq, &context, &all)
                .map(|r| (r.project, r.container_id, r.container_number))
                .map_err(|f| (f.not_found, f.message));
            let want = want
                .map(|(p, id, n)| (p.to_string(), id.to_string(), n))
                .map_err(|(nf, m)| (nf, m.to_string()));
            assert_eq!(got, want, "{project}/{service}/{seq}");
        }
        let e = resolve(".", "web", 3, &ctx("Shop", None, None), &all).err();
        assert_eq!(e.map(|f| f.target).as_deref(), Some("compose://shop/web/3"));
    }
}
