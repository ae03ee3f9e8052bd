//! `bindgen!` over `wit/`, once per world the host runs: `middleware` (the layers) and
//! `compose-resolver`. Imported resources map to the host types that hold the layer below;
//! exported ones stay [`ResourceAny`](wasmtime::component::ResourceAny) and are adapted back to
//! the native traits in `wrapped`.

/// The `middleware` world: imports and exports `backend`, `session` and `file-client`.
pub mod middleware {
    wasmtime::component::bindgen!({
        world: "middleware",
        path: "../wit",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "wasi:io/poll": wasmtime_wasi_io::bindings::wasi::io::poll,
            "wasi:io/streams": wasmtime_wasi_io::bindings::wasi::io::streams,
            "wasi:io/error": wasmtime_wasi_io::bindings::wasi::io::error,
            "remote:machine/backend.backend": crate::guest::below::BelowBackend,
            "remote:machine/session.session": crate::guest::below::BelowSession,
            "remote:machine/file-client.client": crate::guest::below::BelowClient,
            "remote:machine/file-client.read-handle": crate::guest::below::BelowRead,
            "remote:machine/file-client.write-handle": crate::guest::below::BelowWrite,
        },
        trappable_error_type: {
            "remote:machine/types.error" => crate::guest::error::HostError,
        },
    });
}

/// The `compose-resolver` world: exports `compose`; `types` is shared with `middleware`.
pub mod compose {
    wasmtime::component::bindgen!({
        world: "compose-resolver",
        path: "../wit",
        imports: { default: async | trappable },
        exports: { default: async },
        // The records are the native API's too (`remote_host::guest::{Container, …}`).
        additional_derives: [Default, PartialEq, Eq],
        with: {
            "wasi:io/error": wasmtime_wasi_io::bindings::wasi::io::error,
            "remote:machine/types": super::middleware::remote::machine::types,
        },
    });
}
