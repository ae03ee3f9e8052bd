//! Property tests against hostile configurations: arbitrary text, JSON nested past any sane
//! depth, huge strings, wrong types, unknown and missing keys, and mappings with `..`, NUL and
//! relative paths. A configuration is accepted or refused with a message naming the guest;
//! nothing panics. Every accepted one keeps every path, however many `..` it holds, inside the
//! real roots.

use proptest::prelude::*;
use remote_guest_kit::fuzz::{self, ABSOLUTE, HUGE};
use serde_json::{Value, json};

use super::*;

fn refused_with_a_message(e: &str) -> bool {
    fuzz::refused_with_a_message("path-rewrite", e)
}

/// The configuration's own keys.
const KEYS: &[&str] = &[
    "mappings",
    "virtual",
    "real",
    "workdir",
    "check_symlinks",
    "rewrite_commands",
];

/// Paths as a hostile configuration or caller writes them.
fn hostile_path() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => ABSOLUTE,
        2 => "[a-z./]{0,16}",
        1 => "(\\.\\./){1,20}[a-z]{0,3}",
        1 => "/[a-z]{0,3}\0[a-z/]{0,3}",
        1 => any::<String>(),
        1 => Just(format!("/{}", "a".repeat(HUGE))),
    ]
}

/// Any JSON value, a few levels deep, with hostile strings.
fn any_json() -> BoxedStrategy<Value> {
    fuzz::any_json(hostile_path().boxed(), KEYS)
}

/// `value` most of the time, any JSON (likely of the wrong type) otherwise.
fn mostly(value: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Value> {
    fuzz::mostly(value, any_json())
}

/// A configuration shaped like the real one: each key present or not, its value of the right
/// type or not, plus an extra key at times.
fn config() -> BoxedStrategy<Value> {
    let path = || mostly(hostile_path().prop_map(Value::String));
    let mapping = mostly((path(), path()).prop_map(|(v, r)| json!({ "virtual": v, "real": r })));
    let flag = || mostly(any::<bool>().prop_map(Value::Bool));
    fuzz::object(
        vec![
            (
                "mappings",
                mostly(prop::collection::vec(mapping, 0..5).prop_map(Value::Array)),
            ),
            ("workdir", path()),
            ("check_symlinks", flag()),
            ("rewrite_commands", flag()),
        ],
        (fuzz::key(KEYS), any_json()).boxed(),
    )
}

/// What holds for every accepted configuration: any path, `..` and all, maps inside a real root
/// and back, and commands and `~` are rewritten without panicking.
fn stays_inside(m: &Mappings, paths: &[String], cmd: &str) -> Result<(), TestCaseError> {
    for p in paths {
        let real = m.to_real(p);
        prop_assert_eq!(real.is_some(), m.split_real(p).is_some(), "{}", p);
        if let Some(real) = real {
            prop_assert!(m.inside_real(&real), "{p} maps to {real}, outside");
            prop_assert!(!real.split('/').any(|c| c == ".."), "{p} maps to {real}");
            prop_assert!(m.to_virtual(&real).is_some(), "{real} has no way back");
        }
        let _ = m.expand_home(p);
    }
    let _ = m.command(cmd);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// Any text is a configuration or a refusal that says why.
    #[test]
    fn any_text_is_accepted_or_explained(
        text in prop_oneof![any::<String>(), "[{}\\[\\]\":,a-z0-9 /.]{0,80}"],
    ) {
        if let Err(e) = Mappings::parse(&text) {
            prop_assert!(refused_with_a_message(&e), "{}", e);
        }
    }

    /// Configurations of the right shape with hostile values, wrong types and unknown keys are
    /// accepted or explained; accepted ones never let a path out.
    #[test]
    fn hostile_configurations_are_accepted_or_explained(
        c in config(),
        paths in prop::collection::vec(hostile_path(), 0..8),
        cmd in "[ -~\n]{0,80}",
    ) {
        match Mappings::parse(&c.to_string()) {
            Ok(m) => stays_inside(&m, &paths, &cmd)?,
            Err(e) => prop_assert!(refused_with_a_message(&e), "{}", e),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// Valid configurations whose roots are written with `.`, `..` and doubled slashes keep
    /// every path inside the real roots.
    #[test]
    fn no_path_leaves_the_real_roots(
        roots in prop::collection::vec((ABSOLUTE, ABSOLUTE), 1..4),
        paths in prop::collection::vec(hostile_path(), 1..8),
        cmd in "[ -~\n]{0,80}",
    ) {
        let mappings: Vec<Value> =
            roots.iter().map(|(v, r)| json!({ "virtual": v, "real": r })).collect();
        match Mappings::parse(&json!({ "mappings": mappings }).to_string()) {
            Ok(m) => stays_inside(&m, &paths, &cmd)?,
            Err(e) => prop_assert!(e.contains("mapped twice"), "{}", e),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Arrays and objects nested up to 5000 deep, as a whole configuration or as a value inside
    /// one, are refused (the JSON reader stops at its recursion limit) without overflowing the
    /// stack.
    #[test]
    fn deep_nesting_is_refused(depth in 1usize..5000, object in any::<bool>(), inside in any::<bool>()) {
        let nested = fuzz::nested(depth, object);
        let text = if inside { format!(r#"{{"mappings":{nested}}}"#) } else { nested };
        let e = Mappings::parse(&text).err();
        prop_assert!(e.as_deref().is_some_and(refused_with_a_message), "{:?}", e);
    }
}
