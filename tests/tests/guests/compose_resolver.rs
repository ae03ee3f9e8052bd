//! The compose resolver guest, called through the host on hand-made container lists.

use remote_host::guest::{ComposeResolver, Container, ProjectContext};

use super::*;

fn c(id: &str, service: &str, n: u32, state: &str) -> Container {
    Container {
        id: id.into(),
        names: vec![format!("/shop-{service}-{n}")],
        labels: vec![
            ("com.docker.compose.project".into(), "shop".into()),
            ("com.docker.compose.service".into(), service.into()),
            ("com.docker.compose.container-number".into(), n.to_string()),
        ],
        state: state.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolves_through_the_host() {
    let r = ComposeResolver::load(Path::new(remote_guest_artifacts::COMPOSE_RESOLVER))
        .unwrap_or_else(|e| panic!("{e}"));
    let containers = [
        c("w1", "web", 1, "running"),
        c("w2", "web", 2, "running"),
        c("d1", "db", 1, "running"),
        c("d2", "db", 2, "exited"),
    ];
    let ctx = ProjectContext {
        directory_name: "Shop".into(),
        ..ProjectContext::default()
    };
    let got = r
        .resolve(".", "db", 0, &ctx, &containers)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (
            got.project.as_str(),
            got.container_id.as_str(),
            got.container_number
        ),
        ("shop", "d1", 1)
    );
    let many = r
        .resolve("shop", "web", 0, &ctx, &containers)
        .await
        .err()
        .unwrap_or_else(|| panic!("two replicas resolved"));
    assert_eq!(many.code(), ErrorCode::InvalidArgument);
    assert_eq!(many.op(), "resolve");
    assert_eq!(many.target(), "compose://shop/web");
    assert!(
        many.message().contains("1 (shop-web-1), 2 (shop-web-2)"),
        "{many}"
    );
    assert!(many.message().contains("compose://shop/web/<N>"), "{many}");
    let none = r
        .resolve("shop", "db", 2, &ctx, &containers)
        .await
        .err()
        .map(|e| (e.code(), e.target().to_string()));
    assert_eq!(
        none,
        Some((ErrorCode::NotFound, "compose://shop/db/2".into()))
    );
}
