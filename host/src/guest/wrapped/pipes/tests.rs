//! Both directions of pipe adapter against a real command, and a pipe whose session never
//! started.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wasmtime_wasi_io::streams::{DynInputStream, DynOutputStream};

use super::{StreamReader, StreamWriter};
use crate::backend::Backend;
use crate::guest::streams::{PipeInput, PipeOutput};
use crate::local::LocalBackend;

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

#[tokio::test]
async fn pipes_round_trip_through_both_adapters() {
    let backend = LocalBackend::new();
    backend.start().await.unwrap_or_else(|e| panic!("{e}"));
    let mut s = backend
        .new_session()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let stdin: DynOutputStream =
        Box::new(PipeOutput::new(s.stdin().unwrap_or_else(|e| panic!("{e}"))));
    let stdout: DynInputStream =
        Box::new(PipeInput::new(s.stdout().unwrap_or_else(|e| panic!("{e}"))));
    s.start("cat").await.unwrap_or_else(|e| panic!("{e}"));
    let (mut writer, to_writer) = StreamWriter::pending();
    let (mut reader, to_reader) = StreamReader::pending("stdout");
    assert!(to_writer.send(Ok(stdin)).is_ok() && to_reader.send(Ok(stdout)).is_ok());
    let body = data(3 << 20);
    let write = async {
        writer.write_all(&body).await?;
        writer.shutdown().await
    };
    let mut got = Vec::new();
    let (w, r) = tokio::join!(write, reader.read_to_end(&mut got));
    w.unwrap_or_else(|e| panic!("write: {e}"));
    r.unwrap_or_else(|e| panic!("read: {e}"));
    assert!(
        got == body,
        "cat returned other bytes ({} of {})",
        got.len(),
        body.len()
    );
    assert!(s.wait().await.unwrap_or_else(|e| panic!("{e}")).success());
}

#[tokio::test]
async fn a_pipe_never_connected_reports_why() {
    let (mut reader, to_reader) = StreamReader::pending("stdout");
    drop(to_reader);
    let mut buf = Vec::new();
    let e = reader
        .read_to_end(&mut buf)
        .await
        .err()
        .map(|e| e.to_string());
    assert!(e.is_some_and(|e| e.contains("never started")));
}
