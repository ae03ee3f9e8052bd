//! Property tests of the loop against hostile input: byte soup, truncated packets, length fields
//! up to 4 GiB, unknown packet types, handles never opened, and paths with NUL, `..`, invalid
//! UTF-8 or 64 KiB names.
//!
//! Each session runs on a thread of its own, with a deadline, over in-memory input; every test
//! checks the same contract: the loop answers each whole packet with exactly one reply carrying
//! its request id, every reply fits in [`MAX_PACKET`], the session ends cleanly at end of input
//! (or with `UnexpectedEof` inside a packet), nothing panics, nothing hangs, and no single
//! allocation is sized from a length field.
//!
//! Requests that change the file system are only ever sent with paths the kernel refuses (NUL
//! inside, longer than `PATH_MAX`, or not UTF-8), so the tests cannot touch the machine they run
//! on; the others only read.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use proptest::prelude::*;

use super::*;

/// How long one session may take before it counts as hung; the slowest takes milliseconds.
const DEADLINE: Duration = Duration::from_secs(10);

/// The largest single allocation a session may make. Its buffers are sized from [`MAX_PACKET`]
/// (reader, writer, one body, one reply with its message), never from a length field read off
/// the wire, which can say 4 GiB.
const MAX_ALLOCATION: usize = 4 * MAX_PACKET as usize;

/// The longest name tried, as the issue asks: a quarter of a packet.
const LONG: usize = 64 * 1024;

thread_local! {
    /// The largest allocation this thread asked for since it last reset it.
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    // `try_with`: the allocator also runs while a thread's locals are torn down.
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

/// The system allocator, noting the largest allocation of each thread so a test can bound what
/// one session asked for.
struct Watermark;

#[expect(
    unsafe_code,
    reason = "a global allocator is an unsafe trait; every call goes to `System` unchanged"
)]
// SAFETY: each method forwards its arguments to `System`, which upholds the contract.
unsafe impl GlobalAlloc for Watermark {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: the caller's guarantees for `alloc` are passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: the caller's guarantees for `alloc_zeroed` are passed on.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: the caller's guarantees for `realloc` are passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's guarantees for `dealloc` are passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Watermark = Watermark;

/// An output that keeps each write as it came, so collecting replies never reallocates one
/// growing buffer inside the measured session.
#[derive(Default)]
struct Chunks(Vec<Vec<u8>>);

impl Write for Chunks {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.push(buf.to_vec());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What one session did.
struct Session {
    result: io::Result<()>,
    replies: Vec<Packet>,
}

/// Serves `input` on a thread of its own and checks what holds for every input: it ends within
/// [`DEADLINE`] without panicking, allocates at most [`MAX_ALLOCATION`] at once, and writes
/// only whole, decodable replies that fit in [`MAX_PACKET`].
fn session(input: Vec<u8>) -> Result<Session, TestCaseError> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        LARGEST.set(0);
        let mut out = Chunks::default();
        let result = serve(&input[..], &mut out);
        let largest = LARGEST.get();
        let _ = tx.send((result, out.0, largest));
    });
    let (result, chunks, largest) = match rx.recv_timeout(DEADLINE) {
        Ok(done) => done,
        Err(RecvTimeoutError::Timeout) => return Err(TestCaseError::fail("the session hung")),
        Err(RecvTimeoutError::Disconnected) => {
            return Err(TestCaseError::fail("the session panicked"));
        }
    };
    prop_assert!(
        largest <= MAX_ALLOCATION,
        "one allocation of {largest} bytes"
    );
    let mut out = Bytes::from(chunks.concat());
    let mut replies = Vec::new();
    while !out.is_empty() {
        prop_assert!(out.len() >= 4, "a reply cut inside its length");
        let len = u32::from_be_bytes([out[0], out[1], out[2], out[3]]);
        prop_assert!(len <= MAX_PACKET, "a reply of {len} bytes");
        let len = len as usize;
        prop_assert!(out.len() >= 4 + len, "a reply cut short");
        let mut body = out.slice(4..4 + len);
        out = out.slice(4 + len..);
        match Packet::try_from(&mut body) {
            Ok(p) => replies.push(p),
            Err(e) => return Err(TestCaseError::fail(format!("an unreadable reply: {e}"))),
        }
    }
    Ok(Session { result, replies })
}

/// The request id a reply answers; `None` for the version packet, which answers `init`.
fn reply_id(p: &Packet) -> Option<u32> {
    match p {
        Packet::Status(s) => Some(s.id),
        Packet::Handle(h) => Some(h.id),
        Packet::Data(d) => Some(d.id),
        Packet::Name(n) => Some(n.id),
        Packet::Attrs(a) => Some(a.id),
        Packet::ExtendedReply(r) => Some(r.id),
        _ => None,
    }
}

/// Runs `bodies` as one session of whole packets after an `init`, checks each got one reply with
/// its id, and returns the replies to the bodies.
fn answered(bodies: &[Vec<u8>]) -> Result<Vec<Packet>, TestCaseError> {
    let mut input = frame(&init_body());
    for b in bodies {
        input.extend(frame(b));
    }
    let s = session(input)?;
    prop_assert!(s.result.is_ok(), "{:?}", s.result);
    prop_assert_eq!(s.replies.len(), bodies.len() + 1, "{:?}", s.replies);
    let mut replies = s.replies.into_iter();
    prop_assert!(matches!(replies.next(), Some(Packet::Version(_))));
    let replies: Vec<Packet> = replies.collect();
    for (body, reply) in bodies.iter().zip(&replies) {
        match reply_id(reply) {
            Some(id) => prop_assert_eq!(id, request_id(body), "{:?}", reply),
            None => prop_assert_eq!(body.first(), Some(&1), "a version for a non-init"),
        }
    }
    Ok(replies)
}

/// The status a reply is, failing the case for any other reply.
fn refusal(p: &Packet) -> Result<(StatusCode, &str), TestCaseError> {
    match p {
        Packet::Status(s) if s.status_code != StatusCode::Ok => {
            Ok((s.status_code, s.error_message.as_str()))
        }
        other => Err(TestCaseError::fail(format!(
            "want a refusal, got {other:?}"
        ))),
    }
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut p = (body.len() as u32).to_be_bytes().to_vec();
    p.extend_from_slice(body);
    p
}

fn string(s: &[u8]) -> Vec<u8> {
    let mut v = (s.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(s);
    v
}

/// A packet body: the type, the id, then the fields as they are.
fn body(kind: u8, id: u32, fields: &[&[u8]]) -> Vec<u8> {
    let mut b = vec![kind];
    b.extend(id.to_be_bytes());
    b.extend(fields.concat());
    b
}

fn init_body() -> Vec<u8> {
    let mut b = vec![1];
    b.extend(3u32.to_be_bytes());
    b
}

/// Attributes setting a size (0) and permissions (0o777): what a harmful `setstat` would send.
fn harmful_attrs() -> Vec<u8> {
    let mut a = 0x5u32.to_be_bytes().to_vec();
    a.extend(0u64.to_be_bytes());
    a.extend(0o777u32.to_be_bytes());
    a
}

const NO_ATTRS: &[u8] = &[0, 0, 0, 0];

/// The short paths of [`hostile_path`].
const SHORT_PATHS: &[&[u8]] = &[b"", b".", b"..", b"/..", b"/../../..", b"../.", b"./../x"];

/// Paths a peer might send to get out or to break the server: empty, `.`, runs of `..`, NUL
/// inside, invalid UTF-8, 64 KiB names, arbitrary bytes.
fn hostile_path() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(SHORT_PATHS).prop_map(<[u8]>::to_vec),
        (1usize..40).prop_map(|n| "../".repeat(n).into_bytes()),
        "[a-z./]{0,20}\0[a-z./]{0,20}".prop_map(String::into_bytes),
        prop::collection::vec(128u8.., 1..16),
        prop::collection::vec(any::<u8>(), 0..64),
        prop::sample::select(&[b'a', b'/', b'.', 0xff][..]).prop_map(|c| vec![c; LONG]),
        Just("../".repeat(LONG / 3).into_bytes()),
    ]
}

/// Paths the kernel refuses before looking anything up: with NUL inside (no C string holds
/// it), longer than `PATH_MAX`, or not UTF-8 (refused by the loop). Only these go to requests
/// that change the file system.
fn refused_path() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        hostile_path().prop_map(|mut p| {
            p.extend(b"\0x");
            p
        }),
        (4097usize..=LONG).prop_map(|n| {
            let mut p = "../".repeat(n / 3).into_bytes();
            p.truncate(n);
            p
        }),
        (0usize..20).prop_map(|n| {
            let mut p = b"/tmp/".to_vec();
            p.extend(std::iter::repeat_n(b'x', n));
            p.push(0xff);
            p
        }),
    ]
}

/// Requests that only read, each with a hostile path.
fn reading_request(id: u32) -> impl Strategy<Value = Vec<u8>> {
    (0u8..7, hostile_path()).prop_map(move |(which, path)| {
        let p = string(&path);
        match which {
            0 => body(17, id, &[&p]),                                   // stat
            1 => body(7, id, &[&p]),                                    // lstat
            2 => body(16, id, &[&p]),                                   // realpath
            3 => body(19, id, &[&p]),                                   // readlink
            4 => body(11, id, &[&p]),                                   // opendir
            5 => body(3, id, &[&p, &1u32.to_be_bytes(), NO_ATTRS]),     // open, READ only
            _ => body(200, id, &[&string(b"statvfs@openssh.com"), &p]), // statvfs
        }
    })
}

/// Requests that would change the file system, each with paths the kernel refuses.
fn changing_request(id: u32) -> impl Strategy<Value = Vec<u8>> {
    (0u8..10, refused_path(), refused_path()).prop_map(move |(which, a, b)| {
        let (a, b) = (string(&a), string(&b));
        let ext = |name: &[u8], rest: &[&[u8]]| {
            let mut fields = vec![string(name)];
            fields.extend(rest.iter().map(|f| f.to_vec()));
            let fields: Vec<&[u8]> = fields.iter().map(Vec::as_slice).collect();
            body(200, id, &fields)
        };
        // OPEN with WRITE | CREATE | TRUNCATE.
        let create = 0x1au32.to_be_bytes();
        match which {
            0 => body(9, id, &[&a, &harmful_attrs()]),  // setstat
            1 => body(13, id, &[&a]),                   // remove
            2 => body(14, id, &[&a, NO_ATTRS]),         // mkdir
            3 => body(15, id, &[&a]),                   // rmdir
            4 => body(18, id, &[&a, &b]),               // rename
            5 => body(20, id, &[&a, &b]),               // symlink
            6 => body(3, id, &[&a, &create, NO_ATTRS]), // open
            7 => ext(b"posix-rename@openssh.com", &[&a, &b]),
            8 => ext(b"hardlink@openssh.com", &[&a, &b]),
            _ => ext(b"lsetstat@openssh.com", &[&a, &harmful_attrs()]),
        }
    })
}

/// The short handles of [`hostile_handle`].
const SHORT_HANDLES: &[&[u8]] = &[
    b"",
    b"0",
    b"00",
    b"+0",
    b" 0",
    b"0\0",
    b"0x0",
    b"-1",
    b"511",
    b"4294967295",
    b"4294967296",
    b"99999999999999999999",
];

/// Handles a peer might invent: numbers never handed out, out of range, signed, padded, with
/// NUL, not UTF-8, 64 KiB long. No session here opens anything, so none is valid.
fn hostile_handle() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(SHORT_HANDLES).prop_map(<[u8]>::to_vec),
        prop::collection::vec(any::<u8>(), 0..16),
        prop::sample::select(&[b'7', 0, 0xff][..]).prop_map(|c| vec![c; LONG]),
    ]
}

/// Every request that takes a handle.
fn handle_request(id: u32) -> impl Strategy<Value = Vec<u8>> {
    (
        0u8..8,
        hostile_handle(),
        any::<u64>(),
        any::<u32>(),
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(move |(which, handle, offset, len, data)| {
            let h = string(&handle);
            let (offset, len) = (offset.to_be_bytes(), len.to_be_bytes());
            match which {
                0 => body(4, id, &[&h]),                          // close
                1 => body(5, id, &[&h, &offset, &len]),           // read
                2 => body(6, id, &[&h, &offset, &string(&data)]), // write
                3 => body(8, id, &[&h]),                          // fstat
                4 => body(10, id, &[&h, &harmful_attrs()]),       // fsetstat
                5 => body(12, id, &[&h]),                         // readdir
                6 => body(200, id, &[&string(b"fsync@openssh.com"), &h]),
                _ => body(200, id, &[&string(b"fstatvfs@openssh.com"), &h]),
            }
        })
}

/// Types that are no request: unassigned ones, and the replies (version, status, handle, data,
/// name, attrs, extended reply).
fn not_a_request() -> impl Strategy<Value = u8> {
    prop_oneof![
        Just(0u8),
        Just(2),
        21u8..=100,
        101u8..=105,
        106u8..=199,
        201u8..
    ]
}

/// The request types that change the file system (`open` too: it can create and truncate).
const CHANGING: &[u8] = &[3, 9, 13, 14, 15, 18, 20, 200];

/// Any byte but a type in [`CHANGING`], for random input where any byte may end up read as a
/// packet's type.
fn harmless_byte() -> impl Strategy<Value = u8> {
    any::<u8>().prop_map(|b| if CHANGING.contains(&b) { 0 } else { b })
}

/// A session of `n` requests from `each`, with ids 1..=n.
fn requests<S: Strategy<Value = Vec<u8>>>(
    n: std::ops::Range<usize>,
    each: fn(u32) -> S,
) -> impl Strategy<Value = Vec<Vec<u8>>> {
    n.prop_flat_map(move |n| (1..=n as u32).map(each).collect::<Vec<_>>())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Reading requests with hostile paths are answered, one reply each, with their own id.
    #[test]
    fn hostile_paths_get_one_answer_each(bodies in requests(1..12, reading_request)) {
        answered(&bodies)?;
    }

    /// Changing requests with paths the kernel refuses are refused, never carried out.
    #[test]
    fn changes_to_impossible_paths_are_refused(bodies in requests(1..12, changing_request)) {
        for reply in answered(&bodies)? {
            refusal(&reply)?;
        }
    }

    /// Every request on a handle never opened is refused with `EBADF`.
    #[test]
    fn invented_handles_are_refused(bodies in requests(1..12, handle_request)) {
        for reply in answered(&bodies)? {
            let (code, msg) = refusal(&reply)?;
            prop_assert_eq!(code, StatusCode::Failure);
            prop_assert!(msg.starts_with("EBADF: "), "{}", msg);
        }
    }

    /// A packet of a type that is no request gets `bad message` with its id, whatever follows.
    #[test]
    fn unknown_types_are_bad_messages(
        packets in prop::collection::vec(
            (not_a_request(), any::<u32>(), prop::collection::vec(any::<u8>(), 0..64)),
            1..12,
        ),
    ) {
        let bodies: Vec<Vec<u8>> =
            packets.iter().map(|(kind, id, rest)| body(*kind, *id, &[rest])).collect();
        for reply in answered(&bodies)? {
            let (code, msg) = refusal(&reply)?;
            prop_assert_eq!(code, StatusCode::BadMessage);
            prop_assert!(msg.starts_with("EBADMSG: "), "{}", msg);
        }
    }

    /// Whole packets of random bytes after any type but those that change files (random bytes
    /// could name a real one) get one answer each.
    #[test]
    fn byte_soup_gets_one_answer_per_packet(
        packets in prop::collection::vec(
            (
                harmless_byte(),
                prop::collection::vec(any::<u8>(), 0..300),
            ),
            0..16,
        ),
    ) {
        let bodies: Vec<Vec<u8>> = packets
            .into_iter()
            .map(|(kind, rest)| [vec![kind], rest].concat())
            .collect();
        answered(&bodies)?;
    }

    /// A session cut anywhere answers every whole packet before the cut and then ends: cleanly
    /// at a packet boundary, with `UnexpectedEof` inside a packet.
    #[test]
    fn truncated_sessions_answer_what_came_whole(
        bodies in requests(1..8, reading_request),
        cut in any::<prop::sample::Index>(),
    ) {
        let frames: Vec<Vec<u8>> = std::iter::once(init_body()).chain(bodies).map(|b| frame(&b)).collect();
        let input = frames.concat();
        let cut = cut.index(input.len());
        let mut whole = 0;
        let mut boundary = 0;
        for f in &frames {
            if boundary + f.len() > cut {
                break;
            }
            boundary += f.len();
            whole += 1;
        }
        let s = session(input[..cut].to_vec())?;
        prop_assert_eq!(s.replies.len(), whole);
        if cut == boundary {
            prop_assert!(s.result.is_ok(), "{:?}", s.result);
        } else {
            let kind = s.result.as_ref().err().map(io::Error::kind);
            prop_assert_eq!(kind, Some(io::ErrorKind::UnexpectedEof));
        }
    }

    /// Any length field, up to 4 GiB, followed by whatever bytes remain: the loop skips or reads
    /// what is there and ends, without allocating what the field claims ([`session`] checks).
    #[test]
    fn length_fields_are_never_trusted_for_memory(
        len in prop_oneof![
            Just(u32::MAX),
            Just(MAX_PACKET),
            Just(MAX_PACKET + 1),
            0..=MAX_PACKET,
            MAX_PACKET + 1..,
        ],
        rest in prop::collection::vec(harmless_byte(), 0..64),
    ) {
        let mut input = frame(&init_body());
        input.extend(len.to_be_bytes());
        input.extend(&rest);
        let s = session(input)?;
        prop_assert!(!s.replies.is_empty(), "init was not answered");
        if let Err(e) = &s.result {
            prop_assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{}", e);
        }
    }
}

/// A refusal quoting a 64 KiB name that is not UTF-8 (five bytes of message for each byte of the
/// name) is cut short, so the reply still fits in a packet.
#[test]
fn a_refusal_quoting_a_long_name_still_fits_in_a_packet() {
    let stat = body(17, 7, &[&string(&[0xff; LONG])]);
    let replies = answered(&[stat]).unwrap_or_else(|e| panic!("{e}"));
    match replies.first().map(refusal) {
        Some(Ok((StatusCode::Failure, msg))) => {
            assert!(msg.starts_with("EILSEQ: ") && msg.ends_with('…'), "{msg}");
        }
        other => panic!("{other:?}"),
    }
}
