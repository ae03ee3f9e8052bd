//! An embedder's own store state holds the guest context: `add_to_linker` over [`GuestView`]
//! links every import for it, and a guest's call through them reaches the layer below.

use remote_host::guest::{GuestCtx, GuestCtxBuilder, GuestView, add_to_linker, engine};
use wasmtime::Store;
use wasmtime::component::{Component, Linker, Val};
use wasmtime_wasi::{WasiCtxView, WasiView};

use super::*;

/// What an embedder keeps in its store: its own fields beside the guest context.
struct Embedder {
    guest: GuestCtx,
    calls: u32,
}

impl WasiView for Embedder {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        self.guest.ctx()
    }
}

impl GuestView for Embedder {
    fn guest(&mut self) -> &mut GuestCtx {
        self.calls += 1;
        &mut self.guest
    }
}

/// Calls the export `name` of the exported interface `interface` with `args`; one result.
async fn call(
    store: &mut Store<Embedder>,
    instance: &wasmtime::component::Instance,
    interface: &str,
    name: &str,
    args: &[Val],
) -> Val {
    let iface = instance
        .get_export_index(&mut *store, None, interface)
        .unwrap_or_else(|| panic!("no export {interface}"));
    let func = instance
        .get_export_index(&mut *store, Some(&iface), name)
        .and_then(|i| instance.get_func(&mut *store, i))
        .unwrap_or_else(|| panic!("no function {name} in {interface}"));
    let mut results = [Val::Bool(false)];
    func.call_async(&mut *store, args, &mut results)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e:#}"));
    results[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedders_store_state_holds_the_guest_context() {
    let limits = Limits {
        time: None,
        fuel: None,
        ..Limits::default()
    };
    let engine = engine(&limits);
    let component = Component::from_file(&engine, remote_guest_artifacts::POLICY)
        .unwrap_or_else(|e| panic!("{e:#}"));
    let mut linker: Linker<Embedder> = Linker::new(&engine);
    add_to_linker(&mut linker).unwrap_or_else(|e| panic!("{e:#}"));
    let guest = GuestCtxBuilder::new()
        .below(Arc::from(local().await))
        .limits(limits)
        .name("embedded-policy")
        .build();
    let mut store = Store::new(&engine, Embedder { guest, calls: 0 });
    store.limiter(|e| e.guest.limiter());
    let instance = linker
        .instantiate_async(&mut store, &component)
        .await
        .unwrap_or_else(|e| panic!("instantiating with the embedder's linker: {e:#}"));

    let configured = call(
        &mut store,
        &instance,
        "remote:machine/guest@0.1.0",
        "configure",
        &[Val::String(r#"{"commands":{"allow":["true"]}}"#.into())],
    )
    .await;
    assert!(
        matches!(configured, Val::Result(Ok(None))),
        "configure: {configured:?}"
    );
    let before = store.data().calls;
    // The guest's `open` calls the imported `open`, which reaches the layer below through the
    // embedder's view.
    let opened = call(
        &mut store,
        &instance,
        "remote:machine/backend@0.1.0",
        "open",
        &[Val::String("local://".into())],
    )
    .await;
    let Val::Result(Ok(Some(backend))) = opened else {
        panic!("open: {opened:?}")
    };
    let kind = call(
        &mut store,
        &instance,
        "remote:machine/backend@0.1.0",
        "[method]backend.backend-type",
        &[*backend],
    )
    .await;
    assert_eq!(kind, Val::String("local".into()));
    assert!(
        store.data().calls > before,
        "the imports did not go through the embedder's view"
    );
}
