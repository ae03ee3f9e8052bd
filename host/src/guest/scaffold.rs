//! New middleware guests to start from (`remote guest new NAME --lang rust|python|js`): a
//! pass-through layer in the language's standard toolchain (wit-bindgen, componentize-py, jco
//! componentize), a build script, and a copy of this package's WIT, all embedded in the binary so
//! the scaffold matches the host that made it.
//!
//! Each scaffold builds as it is and passes the conformance suite (tested in
//! `tests/tests/guests/scaffold.rs`); the templates are in `host/templates/guest/`.

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorCode, Result};

/// The language of a new guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// Rust with `wit-bindgen`, built by cargo for `wasm32-wasip2`.
    Rust,
    /// Python, built by `componentize-py`.
    Python,
    /// JavaScript, built by `jco componentize` (ComponentizeJS).
    Js,
}

impl std::str::FromStr for Lang {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Lang, String> {
        match s {
            "rust" => Ok(Lang::Rust),
            "python" => Ok(Lang::Python),
            "js" => Ok(Lang::Js),
            other => Err(format!("unknown language {other}: rust, python or js")),
        }
    }
}

/// One file of a scaffold: its path in the new directory and its text.
type File = (&'static str, &'static str);

/// Expands to the (path, text) of a file under `host/templates/guest/`.
macro_rules! template {
    ($path:literal, $file:literal) => {
        (
            $path,
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/templates/guest/",
                $file
            )),
        )
    };
}

/// Expands to the (path, text) of a file of the WIT package.
macro_rules! wit {
    ($file:literal) => {
        (
            concat!("wit/", $file),
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../wit/", $file)),
        )
    };
}

/// The WIT package, which every scaffold carries so it builds without this repository.
const WIT: &[File] = &[
    wit!("backend.wit"),
    wit!("compose.wit"),
    wit!("file-client.wit"),
    wit!("guest.wit"),
    wit!("log.wit"),
    wit!("session.wit"),
    wit!("types.wit"),
    wit!("worlds.wit"),
    wit!("deps/io.wit"),
];

const RUST: &[File] = &[
    template!("Cargo.toml", "rust/Cargo.toml"),
    template!("src/lib.rs", "rust/src/lib.rs"),
    template!("build.sh", "rust/build.sh"),
];

const PYTHON: &[File] = &[
    template!("app.py", "python/app.py"),
    template!("requirements.txt", "python/requirements.txt"),
    template!("build.sh", "python/build.sh"),
];

const JS: &[File] = &[
    template!("app.js", "js/app.js"),
    template!("package.json", "js/package.json"),
    template!("build.sh", "js/build.sh"),
];

/// Whether `name` can name a guest in every language: a Cargo package, a file, an npm package.
fn valid(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
}

/// Writes a new pass-through guest called `name` in `lang` into the new directory
/// `parent/name`, and returns that directory. Its `build.sh` builds `name.wasm` there.
///
/// Errors: `invalid-argument` for a name other than lowercase ASCII letters, digits and inner
/// `-` starting with a letter; `exists` when the directory exists (nothing is overwritten).
pub fn new(name: &str, lang: Lang, parent: &Path) -> Result<PathBuf> {
    let dir = parent.join(name);
    let what = dir.display().to_string();
    if !valid(name) {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "guest new",
            &what,
            "a guest's name is lowercase ASCII letters, digits and inner `-`, starting with a letter",
        ));
    }
    let io = |e: std::io::Error| Error::from_io("guest new", &what, e);
    std::fs::create_dir(&dir).map_err(io)?;
    let files = match lang {
        Lang::Rust => RUST,
        Lang::Python => PYTHON,
        Lang::Js => JS,
    };
    for (path, text) in files.iter().chain(WIT) {
        let file = dir.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let text = text
            .replace("{{name}}", name)
            .replace("{{crate}}", &name.replace('-', "_"));
        std::fs::write(&file, text).map_err(io)?;
        if path.ends_with(".sh") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).map_err(io)?;
        }
    }
    Ok(dir)
}
