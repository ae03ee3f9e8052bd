//! The loop against raw bytes: good requests, and every kind of bad input a peer can send.

use super::*;

fn packet(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut p = ((body.len() + 1) as u32).to_be_bytes().to_vec();
    p.push(kind);
    p.extend_from_slice(body);
    p
}

fn string(s: &[u8]) -> Vec<u8> {
    let mut v = (s.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(s);
    v
}

fn init() -> Vec<u8> {
    packet(1, &3u32.to_be_bytes())
}

/// Runs the loop over `input` and splits what it wrote into reply packets.
fn run(input: &[u8]) -> (io::Result<()>, Vec<Packet>) {
    let mut out = Vec::new();
    let r = serve(input, &mut out);
    let mut bytes = Bytes::from(out);
    let mut replies = Vec::new();
    while bytes.len() >= 4 {
        let len = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        let mut body = bytes.slice(4..4 + len);
        bytes = bytes.slice(4 + len..);
        replies.push(Packet::try_from(&mut body).expect("the agent wrote a packet it cannot read"));
    }
    (r, replies)
}

fn status(p: &Packet) -> (u32, StatusCode, String) {
    match p {
        Packet::Status(s) => (s.id, s.status_code, s.error_message.clone()),
        other => panic!("want a status, got {other:?}"),
    }
}

#[test]
fn version_lists_the_extensions_with_their_versions() {
    let (r, replies) = run(&init());
    assert!(r.is_ok());
    match &replies[..] {
        [Packet::Version(v)] => {
            assert_eq!(v.version, 3);
            for (name, version) in [
                ("posix-rename@openssh.com", "1"),
                ("statvfs@openssh.com", "2"),
                ("fsync@openssh.com", "1"),
                ("hardlink@openssh.com", "1"),
                ("limits@openssh.com", "1"),
            ] {
                assert_eq!(v.extensions.get(name).map(String::as_str), Some(version));
            }
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn errors_carry_their_request_id_and_errno_symbol() {
    let mut input = init();
    let mut body = 7u32.to_be_bytes().to_vec();
    body.extend(string(b"/nonexistent-remote-agent-test/x"));
    input.extend(packet(17, &body)); // stat
    let mut body = 8u32.to_be_bytes().to_vec();
    body.extend(string(b"/"));
    body.extend(0u32.to_be_bytes()); // no attributes
    input.extend(packet(14, &body)); // mkdir / → EEXIST
    let (r, replies) = run(&input);
    assert!(r.is_ok());
    let (id, code, msg) = status(&replies[1]);
    assert_eq!((id, code), (7, StatusCode::NoSuchFile));
    assert!(msg.starts_with("ENOENT: "), "{msg}");
    let (id, code, msg) = status(&replies[2]);
    assert_eq!((id, code), (8, StatusCode::Failure));
    assert!(msg.starts_with("EEXIST: "), "{msg}");
}

#[test]
fn malformed_packets_get_bad_message_with_their_id_and_the_loop_goes_on() {
    let mut input = init();
    input.extend(packet(17, &9u32.to_be_bytes())); // stat without a path
    input.extend(packet(17, &[0, 0])); // too short for an id
    input.extend(packet(250, &10u32.to_be_bytes())); // unknown type
    input.extend(packet(101, &11u32.to_be_bytes())); // a reply type, truncated
    let mut body = 12u32.to_be_bytes().to_vec();
    body.extend(string(b"/"));
    input.extend(packet(17, &body)); // a good stat still works
    let (r, replies) = run(&input);
    assert!(r.is_ok());
    assert_eq!(replies.len(), 6, "{replies:?}");
    for (reply, id) in replies[1..5].iter().zip([9, 0, 10, 11]) {
        let (got, code, msg) = status(reply);
        assert_eq!((got, code), (id, StatusCode::BadMessage), "{msg}");
        assert!(msg.starts_with("EBADMSG: "), "{msg}");
    }
    assert!(matches!(replies[5], Packet::Attrs(_)), "{:?}", replies[5]);
}

#[test]
fn an_oversized_packet_is_skipped_and_refused() {
    let mut input = init();
    let big = MAX_PACKET as usize + 10;
    let mut p = (big as u32).to_be_bytes().to_vec();
    p.push(17);
    p.extend(13u32.to_be_bytes());
    p.resize(4 + big, b'x');
    input.extend(p);
    let mut body = 14u32.to_be_bytes().to_vec();
    body.extend(string(b"/"));
    input.extend(packet(17, &body));
    let (r, replies) = run(&input);
    assert!(r.is_ok());
    let (id, code, msg) = status(&replies[1]);
    assert_eq!((id, code), (13, StatusCode::BadMessage));
    assert!(msg.starts_with("EMSGSIZE: "), "{msg}");
    assert!(matches!(replies[2], Packet::Attrs(_)), "{:?}", replies[2]);
}

#[test]
fn truncated_input_ends_the_loop_with_an_error_after_answering_what_came_before() {
    for cut in [1, 3, 6] {
        let mut input = init();
        let mut body = 15u32.to_be_bytes().to_vec();
        body.extend(string(b"/"));
        let p = packet(17, &body);
        input.extend(&p[..cut]);
        let (r, replies) = run(&input);
        let e = r.expect_err("a cut packet is an error");
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e}");
        assert_eq!(replies.len(), 1, "the init was still answered");
    }
    let (r, replies) = run(&[]);
    assert!(
        r.is_ok() && replies.is_empty(),
        "empty input is a clean end"
    );
    let huge_truncated = [0xff, 0xff, 0xff, 0xff, 17, 0, 0, 0, 1, b'x'];
    assert!(run(&huge_truncated).0.is_err());
}

#[test]
fn a_closed_output_ends_the_loop() {
    struct Closed;
    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
    }
    let input = [init(), init(), init()].concat();
    let e = serve(&input[..], Closed).expect_err("a closed output is an error");
    assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
}

#[test]
fn bad_handles_and_unknown_extensions_are_refused() {
    let mut input = init();
    let mut body = 16u32.to_be_bytes().to_vec();
    body.extend(string(b"999"));
    body.extend(0u64.to_be_bytes());
    body.extend(10u32.to_be_bytes());
    input.extend(packet(5, &body)); // read on a handle never opened
    let mut body = 17u32.to_be_bytes().to_vec();
    body.extend(string(b"nonsense@example.com"));
    input.extend(packet(200, &body));
    let mut body = 18u32.to_be_bytes().to_vec();
    body.extend(string(b"posix-rename@openssh.com"));
    body.extend(string(b"only-one-path"));
    input.extend(packet(200, &body));
    let (r, replies) = run(&input);
    assert!(r.is_ok());
    let (id, code, msg) = status(&replies[1]);
    assert_eq!((id, code), (16, StatusCode::Failure));
    assert!(msg.starts_with("EBADF: "), "{msg}");
    let (id, code, msg) = status(&replies[2]);
    assert_eq!((id, code), (17, StatusCode::OpUnsupported));
    assert!(msg.starts_with("EOPNOTSUPP: "), "{msg}");
    let (id, code, _) = status(&replies[3]);
    assert_eq!((id, code), (18, StatusCode::BadMessage));
}

#[test]
fn a_path_that_is_not_utf8_is_refused_rather_than_mangled() {
    let mut input = init();
    let mut body = 21u32.to_be_bytes().to_vec();
    body.extend(string(b"/tmp/bad-\xff-name"));
    input.extend(packet(17, &body)); // stat
    let mut body = 22u32.to_be_bytes().to_vec();
    body.extend(string(b"posix-rename@openssh.com"));
    body.extend(string(b"/tmp/ok"));
    body.extend(string(b"/tmp/\xc3("));
    input.extend(packet(200, &body));
    let mut body = 23u32.to_be_bytes().to_vec();
    body.extend(string("/tmp/caf\u{e9}-nonexistent-x7q".as_bytes()));
    input.extend(packet(17, &body)); // valid UTF-8 goes through
    let (r, replies) = run(&input);
    assert!(r.is_ok());
    for (reply, id) in replies[1..3].iter().zip([21, 22]) {
        let (got, code, msg) = status(reply);
        assert_eq!((got, code), (id, StatusCode::Failure), "{msg}");
        assert!(msg.starts_with("EILSEQ: "), "{msg}");
    }
    let (id, code, _) = status(&replies[3]);
    assert_eq!((id, code), (23, StatusCode::NoSuchFile));
}
