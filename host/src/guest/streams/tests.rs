//! The file streams against the local backend: a file through `*-via-stream` both ways, and the
//! error a failed stream carries. The pipe streams are tested with their reverse in
//! `wrapped::pipes`.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::Mutex;
use wasmtime_wasi_io::poll::Pollable;
use wasmtime_wasi_io::streams::{InputStream, OutputStream, StreamError};

use super::{FileInput, FileOutput};
use crate::error::ErrorCode;
use crate::file_client::FileClient;
use crate::local::LocalFiles;
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
            let cause = crate::guest::error::cause_of(&e).map(|c| c.code());
            assert_eq!(cause, Some(ErrorCode::BadDescriptor));
        }
        other => panic!("read of a closed handle: {other:?}"),
    }
    std::fs::remove_file(&path).unwrap_or_else(|e| panic!("{e}"));
}
