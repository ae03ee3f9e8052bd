//! The resolution rules as data: one row per layout, with the expected container or error.

use super::*;

fn ctr(id: &str, project: &str, service: &str, number: &str, state: &str) -> Container {
    let mut labels = vec![
        (PROJECT.to_string(), project.to_string()),
        (SERVICE.to_string(), service.to_string()),
        (ONEOFF.to_string(), "False".to_string()),
    ];
    if !number.is_empty() {
        labels.push((NUMBER.to_string(), number.to_string()));
    }
    Container {
        id: id.into(),
        names: vec![format!("/{project}_{service}_{number}")],
        labels,
        state: state.into(),
    }
}

fn oneoff(mut c: Container) -> Container {
    for (k, v) in &mut c.labels {
        if k == ONEOFF {
            *v = "True".into();
        }
    }
    c
}

fn ctx(dir: &str, env: Option<&str>, file: Option<&str>) -> ProjectContext {
    ProjectContext {
        directory_name: dir.into(),
        env_project_name: env.map(Into::into),
        file_project_name: file.map(Into::into),
    }
}

#[test]
fn layouts_resolve_to_the_expected_container_or_error() {
    let shop = vec![
        ctr("a1", "shop", "web", "1", "running"),
        ctr("a2", "shop", "web", "2", "running"),
        ctr("a3", "shop", "web", "3", "exited"),
        ctr("b1", "shop", "db", "1", "running"),
        ctr("c1", "other", "web", "1", "running"),
        oneoff(ctr("r1", "shop", "db", "2", "running")),
    ];
    let none = ctx("", None, None);
    type Want = std::result::Result<(&'static str, &'static str, u32), (ErrorCode, &'static str)>;
    let rows: Vec<(&str, &str, u32, ProjectContext, Want)> = vec![
        ("shop", "db", 0, none.clone(), Ok(("shop", "b1", 1))),
        ("shop", "web", 2, none.clone(), Ok(("shop", "a2", 2))),
        (
            "shop",
            "web",
            0,
            none.clone(),
            Err((
                ErrorCode::InvalidArgument,
                "2 running containers match: 1 (shop_web_1), 2 (shop_web_2); pick one with compose://shop/web/<N>",
            )),
        ),
        (
            "shop",
            "web",
            3,
            none.clone(),
            Err((ErrorCode::NotFound, "no running container number 3")),
        ),
        (
            "shop",
            "cache",
            0,
            none.clone(),
            Err((ErrorCode::NotFound, "service \"cache\" in project \"shop\"")),
        ),
        (
            "nope",
            "web",
            0,
            none.clone(),
            Err((ErrorCode::NotFound, "project \"nope\"")),
        ),
        (".", "db", 0, ctx("Shop", None, None), Ok(("shop", "b1", 1))),
        (
            ".",
            "db",
            0,
            ctx("-_S.h o p!", None, None),
            Ok(("shop", "b1", 1)),
        ),
        (
            ".",
            "web",
            1,
            ctx("x", Some("other"), Some("shop")),
            Ok(("other", "c1", 1)),
        ),
        (
            ".",
            "web",
            1,
            ctx("x", Some(""), Some("other")),
            Ok(("other", "c1", 1)),
        ),
        (
            ".",
            "db",
            0,
            ctx("other", None, Some("")),
            Err((ErrorCode::NotFound, "project \"other\"")),
        ),
        (
            ".",
            "db",
            0,
            ctx("..!!", None, None),
            Err((ErrorCode::InvalidArgument, "project name is empty")),
        ),
        (
            "shop",
            "",
            0,
            none.clone(),
            Err((ErrorCode::InvalidArgument, "service name is empty")),
        ),
    ];
    for (project, service, seq, context, want) in rows {
        let got = resolve(project, service, seq, &context, &shop);
        match (got, want) {
            (Ok(r), Ok((p, id, n))) => assert_eq!(
                (
                    r.project.as_str(),
                    r.container_id.as_str(),
                    r.container_number
                ),
                (p, id, n),
                "{project}/{service}/{seq} {context:?}"
            ),
            (Err(e), Err((code, text))) => {
                assert_eq!(e.code(), code, "{e}");
                assert!(e.message().contains(text), "{e}");
                assert_eq!(e.op(), "resolve");
                assert!(e.target().starts_with("compose://"), "{e}");
            }
            (got, want) => panic!("{project}/{service}/{seq}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn a_container_without_a_number_label_resolves_with_number_zero() {
    let c = ctr("z", "p", "s", "", "running");
    let r = resolve("p", "s", 0, &ProjectContext::default(), &[c]).expect("one candidate");
    assert_eq!(r.container_number, 0);
}

#[test]
fn normalisation_matches_compose() {
    for (dir, want) in [
        ("My_Shop", "my_shop"),
        ("my-app.v2", "my-appv2"),
        ("__x", "x"),
        ("-_-a-", "a-"),
        ("Ünïcode", "ncode"),
        ("", ""),
    ] {
        assert_eq!(normalize_project_name(dir), want, "{dir}");
    }
}
