//! The stream adapters against the local backend: files through `*-via-stream`, a command's
//! pipes through both directions of adapter, and the error a failed stream carries.

use std::sync::Arc;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Mutex;
use wasmtime_wasi_io::poll::Pollable;
use wasmtime_wasi_io::streams::{
    DynInputStream, DynOutputStream, InputStream, OutputStream, StreamError,
};

use super::{FileInput, FileOutput, PipeInput, PipeOutput, StreamReader, StreamWriter};
use crate::backend::Backend;
use crate::error::ErrorCode;
use crate::file_client::FileClient;
use crate::local::{LocalBackend, LocalFiles};
use crate::types::OpenFlags;

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

fn scratch(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("remote-streams-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir.join("f").display().to_string()
}

async fn read_all(s: &mut dyn InputStream) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..100_000 {
        match s.blocking_read(1 << 16).await {
            Ok(b) => out.extend_from_slice(&b),
            Err(StreamError::Closed) => return out,
            Err(e) => panic!("read: {e}"),
        }
    }
    panic!("the stream never ended")
}

#[tokio::test]
async fn files_flow_through_via_stream() {
    let path = scratch("files");
    let files = LocalFiles::new(crate::lifetime::Lifetime::new());
    let rw = OpenFlags {
        read: true,
        write: true,
        create: true,
        truncate: true,
        ..OpenFlags::default()
    };
    let w = Arc::new(Mutex::new(
        files
            .open_file(&path, rw, 0o644)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    ));
    let body = data(300_000);
    let mut out = FileOutput::at(w.clone(), 5);
    for chunk in body.chunks(50_000) {
        out.blocking_write_and_flush(Bytes::copy_from_slice(chunk))
            .await
            .unwrap_or_else(|e| panic!("write: {e}"));
    }
    let mut tail = FileOutput::appending(w.clone());
    tail.write(Bytes::from_static(b"END"))
        .unwrap_or_else(|e| panic!("{e}"));
    tail.cancel().await;
    let r = Arc::new(Mutex::new(
        files.open(&path).await.unwrap_or_else(|e| panic!("{e}")),
    ));
    let mut input = FileInput::new(r.clone(), 5);
    let got = read_all(&mut input).await;
    assert_eq!(got.len(), body.len() + 3);
    assert!(got[..body.len()] == body[..], "bytes differ");
    assert_eq!(&got[body.len()..], b"END");

    // A failed stream carries the native error, which stream-error-cause gives back.
    r.lock()
        .await
        .close()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut closed = FileInput::new(r, 0);
    closed.ready().await;
    match closed.read(10) {
        Err(StreamError::LastOperationFailed(e)) => {
            let cause = crate::guest::types::cause_of(&e).map(|c| c.code());
            assert_eq!(cause, Some(ErrorCode::BadDescriptor));
        }
        other => panic!("read of a closed handle: {other:?}"),
    }
    std::fs::remove_file(&path).unwrap_or_else(|e| panic!("{e}"));
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
