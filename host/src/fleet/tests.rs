//! Inventories in each format and their errors; the fan-out's bound, order, time limit and
//! fail-fast, on work that only sleeps and counts.

use std::sync::atomic::AtomicUsize;

use super::*;

#[test]
fn inventories_in_every_format() {
    let plain = Inventory::parse(
        "  web-1  \n\n# all of it a comment\nssh://u@web-2:2222 # trailing\n",
        "hosts",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let dests: Vec<&str> = plain.targets.iter().map(|t| t.dest.as_str()).collect();
    assert_eq!(dests, ["web-1", "ssh://u@web-2:2222"]);
    assert!(plain.targets.iter().all(|t| t.group.is_none()));

    let list =
        Inventory::parse(r#"["a", "docker://b"]"#, "l.json").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(list.targets.len(), 2);

    let groups = Inventory::parse(r#"{"web": ["w1", "w2"], "db": ["docker://pg"]}"#, "g.json")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(groups.group("web").count(), 2);
    assert_eq!(
        groups
            .group("db")
            .map(|t| t.dest.as_str())
            .collect::<Vec<_>>(),
        ["docker://pg"]
    );
    assert_eq!(groups.group("none").count(), 0);
}

#[test]
fn bad_inventories_say_what_is_wrong() {
    for (text, want) in [
        ("", "no destination"),
        ("# only a comment\n", "no destination"),
        ("a\nb\na\n", "a is listed twice"),
        ("[\"a\", 3]", "must be a string"),
        ("{\"web\": \"a\"}", "group \"web\" must be a list"),
        ("[\"a\",", "not valid JSON"),
        ("[\" \"]", "an empty destination"),
    ] {
        let e = Inventory::parse(text, "inv")
            .err()
            .unwrap_or_else(|| panic!("{text:?} parsed"));
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{text:?}");
        assert!(
            e.to_string().contains(want) && e.to_string().contains("inv"),
            "{text:?}: {e}"
        );
    }
}

fn targets(n: usize) -> Vec<Target> {
    (0..n)
        .map(|i| Target {
            dest: format!("t{i}"),
            group: None,
        })
        .collect()
}

#[tokio::test]
async fn at_most_parallel_run_at_once_and_results_keep_the_order() {
    let (now, peak) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let opts = FanOut {
        parallel: 3,
        ..FanOut::default()
    };
    let out = fan_out(
        &targets(10),
        &opts,
        |t| {
            let (now, peak) = (&now, &peak);
            async move {
                let running = now.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(running, Ordering::SeqCst);
                // Later targets finish first: the order must come back anyway.
                let n: u64 = t.dest[1..].parse().unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(50 - 4 * n)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                Ok(t.dest)
            }
        },
        |_| false,
    )
    .await;
    assert_eq!(peak.load(Ordering::SeqCst), 3);
    let dests: Vec<String> = out.iter().map(|o| o.dest.clone()).collect();
    assert_eq!(
        dests,
        targets(10).into_iter().map(|t| t.dest).collect::<Vec<_>>()
    );
    assert!(
        out.iter()
            .all(|o| o.result.as_ref().is_ok_and(|d| *d == o.dest))
    );
}

#[tokio::test]
async fn a_stalled_target_times_out_alone_and_holds_only_its_slot() {
    let opts = FanOut {
        parallel: 2,
        timeout: Some(Duration::from_millis(300)),
        fail_fast: false,
    };
    let finished = AtomicUsize::new(0);
    let out = fan_out(
        &targets(6),
        &opts,
        |t| {
            let finished = &finished;
            async move {
                if t.dest == "t0" {
                    std::future::pending::<()>().await;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                finished.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        },
        |_| false,
    )
    .await;
    let codes: Vec<Option<ErrorCode>> = out
        .iter()
        .map(|o| o.result.as_ref().err().map(Error::code))
        .collect();
    assert_eq!(codes[0], Some(ErrorCode::Timeout));
    assert!(codes[1..].iter().all(Option::is_none), "{codes:?}");
    // The five others ran through the one free slot while t0 held the other.
    assert_eq!(finished.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn fail_fast_starts_nothing_after_a_failure() {
    let opts = FanOut {
        parallel: 1,
        timeout: None,
        fail_fast: true,
    };
    let out = fan_out(
        &targets(4),
        &opts,
        |t| async move { Ok(if t.dest == "t1" { 1 } else { 0 }) },
        |status| *status != 0,
    )
    .await;
    let got: Vec<std::result::Result<i32, ErrorCode>> = out
        .into_iter()
        .map(|o| o.result.map_err(|e| e.code()))
        .collect();
    assert_eq!(
        got,
        [Ok(0), Ok(1), Err(ErrorCode::Busy), Err(ErrorCode::Busy)]
    );
}
