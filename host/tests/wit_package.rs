//! Checks the WIT package in `wit/`, the public contract between the host and its guests.
//!
//! `wasm-tools component wit wit/` validates the syntax; this test pins what the host code relies
//! on: the package name, the interfaces and worlds `bindgen!` is pointed at, the middleware
//! world importing *and* exporting the three resource interfaces (so the exported backend hands
//! out the guest's own sessions and clients), the `error-code` cases in the order of the Rust
//! `ErrorCode`, and a doc comment on every item.

use wit_parser::{Docs, InterfaceId, PackageId, Resolve, TypeDefKind, WorldId, WorldItem};

/// The package every file in `wit/` declares.
const PACKAGE: &str = "remote:machine@0.1.0";

/// `ErrorCode::as_str` of every variant, in declaration order (`host/src/error.rs`). Written out
/// by hand so a code added on one side only fails here.
const ERROR_CODES: [&str; 20] = [
    "not-found",
    "exists",
    "access-denied",
    "not-directory",
    "is-directory",
    "not-empty",
    "invalid-argument",
    "unsupported",
    "connection-lost",
    "timeout",
    "cross-device",
    "no-space",
    "read-only",
    "loop",
    "name-too-long",
    "illegal-byte-sequence",
    "busy",
    "bad-descriptor",
    "not-executable",
    "io",
];

/// The interfaces of the package.
const INTERFACES: [&str; 7] = [
    "types",
    "backend",
    "session",
    "file-client",
    "compose",
    "log",
    "guest",
];

/// The interfaces a middleware guest both imports and exports.
const WRAPPED: [&str; 3] = ["backend", "session", "file-client"];

/// Parses `wit/` (with its `deps/`) and returns the resolve and the package's id.
fn load() -> (Resolve, PackageId) {
    let mut resolve = Resolve::new();
    let (pkg, _sources) = resolve
        .push_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../wit"))
        .expect("wit/ parses and resolves");
    (resolve, pkg)
}

fn interface(resolve: &Resolve, pkg: PackageId, name: &str) -> InterfaceId {
    *resolve.packages[pkg]
        .interfaces
        .get(name)
        .unwrap_or_else(|| panic!("interface `{name}` is missing"))
}

fn world(resolve: &Resolve, pkg: PackageId, name: &str) -> WorldId {
    *resolve.packages[pkg]
        .worlds
        .get(name)
        .unwrap_or_else(|| panic!("world `{name}` is missing"))
}

/// The interfaces of this package among a world's imports or exports, by name.
fn interfaces_of<'a>(
    resolve: &Resolve,
    pkg: PackageId,
    items: impl Iterator<Item = &'a WorldItem>,
) -> Vec<String> {
    items
        .filter_map(|item| match item {
            WorldItem::Interface { id, .. } => Some(&resolve.interfaces[*id]),
            _ => None,
        })
        .filter(|iface| iface.package == Some(pkg))
        .filter_map(|iface| iface.name.clone())
        .collect()
}

fn documented(docs: &Docs) -> bool {
    docs.contents
        .as_deref()
        .is_some_and(|d| !d.trim().is_empty())
}

#[test]
fn package_resolves_under_its_name() {
    let (resolve, pkg) = load();
    assert_eq!(resolve.packages[pkg].name.to_string(), PACKAGE);
}

#[test]
fn every_interface_and_world_exists() {
    let (resolve, pkg) = load();
    for name in INTERFACES {
        interface(&resolve, pkg, name);
    }
    for name in ["middleware", "compose-resolver"] {
        world(&resolve, pkg, name);
    }
}

#[test]
fn middleware_imports_and_exports_the_wrapped_interfaces() {
    let (resolve, pkg) = load();
    let w = &resolve.worlds[world(&resolve, pkg, "middleware")];
    let imports = interfaces_of(&resolve, pkg, w.imports.values());
    let exports = interfaces_of(&resolve, pkg, w.exports.values());
    for name in WRAPPED {
        assert!(
            imports.iter().any(|i| i == name),
            "middleware must import {name}: {imports:?}"
        );
        assert!(
            exports.iter().any(|e| e == name),
            "middleware must export {name}: {exports:?}"
        );
    }
    assert!(
        imports.iter().any(|i| i == "log"),
        "middleware must import log: {imports:?}"
    );
    assert!(
        exports.iter().any(|e| e == "guest"),
        "middleware must export guest: {exports:?}"
    );

    let resolver = &resolve.worlds[world(&resolve, pkg, "compose-resolver")];
    let exports = interfaces_of(&resolve, pkg, resolver.exports.values());
    for name in ["compose", "guest"] {
        assert!(
            exports.iter().any(|e| e == name),
            "compose-resolver must export {name}"
        );
    }
}

#[test]
fn error_code_cases_match_the_rust_enum_in_order() {
    let (resolve, pkg) = load();
    let types = &resolve.interfaces[interface(&resolve, pkg, "types")];
    let id = *types
        .types
        .get("error-code")
        .expect("types.error-code exists");
    let TypeDefKind::Enum(e) = &resolve.types[id].kind else {
        panic!("types.error-code must be an enum");
    };
    let cases: Vec<&str> = e.cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(cases, ERROR_CODES);
}

/// The WIT files are the public contract, so every item in them says what it means.
#[test]
fn every_item_has_docs() {
    let (resolve, pkg) = load();
    let mut missing = Vec::new();
    for (iface_name, &iid) in &resolve.packages[pkg].interfaces {
        let iface = &resolve.interfaces[iid];
        if !documented(&iface.docs) {
            missing.push(format!("interface {iface_name}"));
        }
        for (name, &tid) in &iface.types {
            let ty = &resolve.types[tid];
            // A `use` brings in an alias that carries no docs of its own.
            if matches!(ty.kind, TypeDefKind::Type(_)) {
                continue;
            }
            if !documented(&ty.docs) {
                missing.push(format!("{iface_name}.{name}"));
            }
            let members: Vec<(&str, &Docs)> = match &ty.kind {
                TypeDefKind::Record(r) => r
                    .fields
                    .iter()
                    .map(|f| (f.name.as_str(), &f.docs))
                    .collect(),
                TypeDefKind::Flags(f) => {
                    f.flags.iter().map(|f| (f.name.as_str(), &f.docs)).collect()
                }
                TypeDefKind::Variant(v) => {
                    v.cases.iter().map(|c| (c.name.as_str(), &c.docs)).collect()
                }
                TypeDefKind::Enum(e) => {
                    e.cases.iter().map(|c| (c.name.as_str(), &c.docs)).collect()
                }
                _ => Vec::new(),
            };
            for (member, docs) in members {
                if !documented(docs) {
                    missing.push(format!("{iface_name}.{name}.{member}"));
                }
            }
        }
        for (name, func) in &iface.functions {
            if !documented(&func.docs) {
                missing.push(format!("{iface_name}.{name}"));
            }
        }
    }
    for (name, &wid) in &resolve.packages[pkg].worlds {
        if !documented(&resolve.worlds[wid].docs) {
            missing.push(format!("world {name}"));
        }
    }
    assert!(missing.is_empty(), "items without `///` docs: {missing:?}");
}
