//! `wasi:io` streams over the native pipes and file handles: what the host gives a guest for a
//! command's stdio (`pipe`) and for a file handle's `*-via-stream` (`file`). The reverse
//! direction, native pipes over the streams a guest returns, is `wrapped::pipes`.
//!
//! The streams the host makes poll the native object directly: no task or channel sits in
//! between, so a stream handed up through several layers still costs one copy per hop.

mod file;
mod pipe;

pub use file::{FileInput, FileOutput};
pub use pipe::{PipeInput, PipeOutput};

#[cfg(test)]
mod tests;
