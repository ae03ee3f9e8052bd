//! The guest components of `remote`, built for `wasm32-wasip2` by this crate's build script (a
//! nested `cargo build` of the workspace in `guests/`), as paths to the `.wasm` files.
//!
//! ```
//! let wasm = std::fs::read(remote_guest_artifacts::POLICY).unwrap();
//! assert_eq!(&wasm[..4], b"\0asm");
//! ```
#![deny(missing_docs)]

include!(concat!(env!("OUT_DIR"), "/guests.rs"));
