//! Property tests against hostile configurations: arbitrary text, JSON nested past any sane
//! depth, huge strings, wrong types, unknown and missing keys, and rules that are empty, hold
//! NUL, whitespace or `..`. A configuration is accepted or refused with a message naming the
//! guest; nothing panics, and every accepted one decides any command line, variable and path.

use proptest::prelude::*;
use remote_guest_kit::fuzz::{self, ABSOLUTE, HUGE};
use serde_json::{Value, json};

use super::*;

fn refused_with_a_message(e: &str) -> bool {
    fuzz::refused_with_a_message("policy", e)
}

/// The configuration's own keys.
const KEYS: &[&str] = &[
    "commands",
    "allow",
    "deny",
    "deny_lines",
    "env",
    "strip",
    "keep",
    "paths",
    "read_only",
    "hidden",
    "upload_agent",
    "audit",
];

/// A rule as a hostile configuration writes it: names, globs, paths with `..`, empty, with
/// whitespace or NUL, any Unicode, huge.
fn hostile_rule() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z_*?]{1,10}",
        3 => ABSOLUTE,
        1 => "[a-z./]{0,16}",
        1 => Just(String::new()),
        1 => "[a-z]{0,3}[ \t\n\0][a-z]{0,3}",
        1 => any::<String>(),
        1 => Just("*".repeat(HUGE)),
        1 => Just(format!("/{}", "a".repeat(HUGE))),
    ]
}

/// Any JSON value, a few levels deep, with hostile strings.
fn any_json() -> BoxedStrategy<Value> {
    fuzz::any_json(hostile_rule().boxed(), KEYS)
}

/// `value` most of the time, any JSON (likely of the wrong type) otherwise.
fn mostly(value: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Value> {
    fuzz::mostly(value, any_json())
}

/// An extra key of the configuration's or not, with any value.
fn extra() -> BoxedStrategy<(String, Value)> {
    (fuzz::key(KEYS), any_json()).boxed()
}

/// An object with each of `keys` present or not, of the right shape (from `value`) or not.
fn object(keys: &'static [&'static str], value: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    fuzz::object(
        keys.iter().map(|k| (*k, mostly(value.clone()))).collect(),
        extra(),
    )
}

/// A configuration shaped like the real one, with hostile values.
fn config() -> BoxedStrategy<Value> {
    let list = prop::collection::vec(hostile_rule().prop_map(Value::String), 0..5)
        .prop_map(Value::Array)
        .boxed();
    let flag = || mostly(any::<bool>().prop_map(Value::Bool));
    fuzz::object(
        vec![
            (
                "commands",
                mostly(object(&["allow", "deny", "deny_lines"], list.clone())),
            ),
            (
                "env",
                mostly(object(&["deny", "strip", "keep"], list.clone())),
            ),
            ("paths", mostly(object(&["read_only", "hidden"], list))),
            ("upload_agent", flag()),
            ("audit", flag()),
        ],
        extra(),
    )
}

/// A command line built from the shell's own pieces: operators, quotes, expansions and
/// substitutions, nested a little.
fn command_line() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(
        &[
            "rm", "/bin/rm", "git", "true", " ", "\t", "\n", ";", "&", "&&", "|", "||", "(", ")",
            "$(", "`", "\\`", "'", "\"", "\\", "$x", "${x", "$((", "<(", ">", "2>", "&>", "#", "*",
            "X=1", "{", "}", "--force",
        ][..],
    );
    prop::collection::vec(piece, 0..40).prop_map(|p| p.concat())
}

/// Decides `path` made absolute, and checks every hidden prefix is refused and every read-only
/// one refuses changes.
fn decide_paths(p: &Policy, path: &str) -> Result<(), TestCaseError> {
    let abs = absolute("/", path);
    let _ = p.path(&[&abs], true);
    let _ = p.visible(&abs);
    for h in &p.hidden {
        prop_assert!(p.path(&[h], false).is_err(), "hidden {} is visible", h);
        prop_assert!(!p.visible(h), "hidden {} is listed", h);
    }
    for r in &p.read_only {
        prop_assert!(p.path(&[r], true).is_err(), "read-only {} can change", r);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// Any text is a configuration or a refusal that says why.
    #[test]
    fn any_text_is_accepted_or_explained(
        text in prop_oneof![any::<String>(), "[{}\\[\\]\":,a-z0-9 /.]{0,80}"],
    ) {
        if let Err(e) = Policy::parse(&text) {
            prop_assert!(refused_with_a_message(&e), "{}", e);
        }
    }

    /// Configurations of the right shape with hostile rules, wrong types and unknown keys are
    /// accepted or explained; accepted ones decide anything asked of them, and a hidden or
    /// read-only prefix refuses what it must.
    #[test]
    fn hostile_configurations_are_accepted_or_explained(
        c in config(),
        cmd in prop_oneof![command_line(), "[ -~\n]{0,80}"],
        name in prop_oneof![hostile_rule(), "[A-Z_]{1,12}"],
        path in hostile_rule(),
    ) {
        let p = match Policy::parse(&c.to_string()) {
            Ok(p) => p,
            Err(e) => {
                prop_assert!(refused_with_a_message(&e), "{}", e);
                return Ok(());
            }
        };
        let _ = p.command(&cmd);
        let _ = p.env(&name);
        let _ = p.upload();
        decide_paths(&p, &path)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// Valid configurations decide any command line, variable and path; a denied program is
    /// refused behind any operator, and a hidden or read-only prefix refuses what it must.
    #[test]
    fn valid_configurations_hold_their_rules(
        deny in prop::collection::vec(
            "[a-z]{1,8}".prop_filter("a keyword is no program", |d| programs(d).len() == 1),
            1..4,
        ),
        deny_lines in prop::collection::vec("[a-z*? -]{0,12}", 0..3),
        env in prop::collection::vec("[A-Z_*?]{0,8}", 0..4),
        hidden in prop::collection::vec(ABSOLUTE, 0..3),
        read_only in prop::collection::vec(ABSOLUTE, 0..3),
        cmd in command_line(),
        op in prop::sample::select(&[";", "&&", "||", "|", "&", "\n", "$(", "`", "<("][..]),
        path in hostile_rule(),
    ) {
        let c = json!({
            "commands": { "deny": deny, "deny_lines": deny_lines },
            "env": { "deny": env, "strip": env },
            "paths": { "hidden": hidden, "read_only": read_only },
        });
        let p = Policy::parse(&c.to_string()).map_err(TestCaseError::fail)?;
        let _ = p.command(&cmd);
        for d in &deny {
            let line = format!("true {op} {d} x");
            prop_assert!(p.command(&line).is_err(), "{line:?} passed");
        }
        for name in &env {
            let _ = p.env(name);
        }
        decide_paths(&p, &path)?;
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
        let text = if inside { format!(r#"{{"paths":{{"hidden":{nested}}}}}"#) } else { nested };
        let e = Policy::parse(&text).err();
        prop_assert!(e.as_deref().is_some_and(refused_with_a_message), "{:?}", e);
    }
}
