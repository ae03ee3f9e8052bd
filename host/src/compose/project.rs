//! Gathers the [`ProjectContext`] for the project named `.` as docker compose would: the working
//! directory's base name, `COMPOSE_PROJECT_NAME`, and the top-level `name:` of the first compose
//! file in the directory (`compose.yaml`, `compose.yml`, `docker-compose.yaml`,
//! `docker-compose.yml`). Parent directories, `COMPOSE_FILE` and `.env` are not consulted.

use std::path::Path;

use crate::guest::ProjectContext;

/// The compose file names, in the order compose looks for them.
const FILES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// The context of `dir` with `env_project_name` (the caller reads the environment).
pub fn context(dir: &Path, env_project_name: Option<String>) -> ProjectContext {
    ProjectContext {
        directory_name: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        env_project_name: env_project_name.filter(|s| !s.is_empty()),
        file_project_name: FILES
            .iter()
            .filter_map(|f| std::fs::read_to_string(dir.join(f)).ok())
            .find_map(|text| top_level_name(&text)),
    }
}

/// The context of the process's working directory and environment.
pub fn current() -> std::io::Result<ProjectContext> {
    Ok(context(
        &std::env::current_dir()?,
        std::env::var("COMPOSE_PROJECT_NAME").ok(),
    ))
}

/// The value of a top-level `name:` key: a line at column 0, plain or quoted, with an optional
/// trailing comment. Only this key matters, so no YAML library: the lines of the top-level
/// mapping are read, nested keys (indented) and other documents' content are skipped.
fn top_level_name(text: &str) -> Option<String> {
    for line in text.lines() {
        if line.starts_with("---") && line.len() > 3 {
            continue;
        }
        let Some(rest) = line.strip_prefix("name:") else {
            continue;
        };
        let value = rest.trim();
        let value = if let Some(q) = value.strip_prefix('"') {
            q.split_once('"').map(|(v, _)| v)?
        } else if let Some(q) = value.strip_prefix('\'') {
            q.split_once('\'').map(|(v, _)| v)?
        } else {
            value.split(" #").next().unwrap_or("").trim()
        };
        return Some(value.to_string()).filter(|v| !v.is_empty());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_name_only() {
        let cases = [
            ("name: shop\nservices: {}\n", Some("shop")),
            ("services:\n  web:\n    name: nested\n", None),
            ("name: \"quoted # x\"\n", Some("quoted # x")),
            ("name: 'single'\n", Some("single")),
            ("name: plain # comment\n", Some("plain")),
            ("name:\nservices: {}\n", None),
            ("# name: commented\n", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(top_level_name(text).as_deref(), want, "{text:?}");
        }
    }

    #[test]
    fn context_reads_the_first_compose_file_with_a_name() {
        let dir = std::env::temp_dir().join(format!("remote-compose-ctx-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("compose.yaml"), "services: {}\n").expect("write");
        std::fs::write(dir.join("docker-compose.yml"), "name: from-file\n").expect("write");
        let c = context(&dir, Some(String::new()));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(c.env_project_name, None);
        assert_eq!(c.file_project_name.as_deref(), Some("from-file"));
        assert!(c.directory_name.starts_with("remote-compose-ctx-"));
    }
}
