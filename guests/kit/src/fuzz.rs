//! Strategies for the guests' configuration property tests (feature `fuzz`, enabled by their
//! dev-dependencies only): hostile JSON shaped like a guest's configuration, so each guest's
//! tests say only what is particular to it.

use proptest::prelude::*;
use serde_json::{Map, Value};

/// The longest string tried, far beyond any real rule or path.
pub const HUGE: usize = 64 * 1024;

/// Absolute paths with `.`, `..` and doubled slashes.
pub const ABSOLUTE: &str = "(/[a-z]{1,3}|/\\.\\.|/\\.|/){1,8}";

/// Whether `e` refuses a configuration the way every guest must: naming the guest, then why.
pub fn refused_with_a_message(guest: &str, e: &str) -> bool {
    e.strip_prefix(guest)
        .and_then(|rest| rest.strip_prefix(": "))
        .is_some_and(|why| !why.is_empty())
}

/// A key: one of `known` (the guest's own), or any.
pub fn key(known: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::sample::select(known).prop_map(String::from),
        1 => "[a-z_]{0,12}",
    ]
    .boxed()
}

/// Any JSON value a few levels deep, with strings from `strings` and keys from `known`.
pub fn any_json(
    strings: BoxedStrategy<String>,
    known: &'static [&'static str],
) -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e300f64..1e300).prop_map(Value::from),
        strings.prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(known), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
    .boxed()
}

/// `value` most of the time, `other` (likely of the wrong type) otherwise.
pub fn mostly(
    value: impl Strategy<Value = Value> + 'static,
    other: BoxedStrategy<Value>,
) -> BoxedStrategy<Value> {
    prop_oneof![4 => value.boxed(), 1 => other].boxed()
}

/// An object holding each of `fields` or not (its value from the field's strategy), plus at
/// times one extra key from `extra`.
pub fn object(
    fields: Vec<(&'static str, BoxedStrategy<Value>)>,
    extra: BoxedStrategy<(String, Value)>,
) -> BoxedStrategy<Value> {
    let (names, values): (Vec<_>, Vec<_>) = fields
        .into_iter()
        .map(|(k, v)| (k, proptest::option::of(v)))
        .unzip();
    (values, proptest::option::of(extra))
        .prop_map(move |(values, extra)| {
            let mut o = Map::new();
            for (k, v) in names.iter().zip(values) {
                if let Some(v) = v {
                    o.insert(k.to_string(), v);
                }
            }
            if let Some((k, v)) = extra {
                o.insert(k, v);
            }
            Value::Object(o)
        })
        .boxed()
}

/// Arrays or objects nested `depth` deep around a `1`, for the recursion-limit tests.
pub fn nested(depth: usize, object: bool) -> String {
    let (open, close) = if object {
        (r#"{"a":"#, "}")
    } else {
        ("[", "]")
    };
    format!("{}1{}", open.repeat(depth), close.repeat(depth))
}
