//! The agent's limits, in one leaf module: the packet loop enforces them, the handler sizes its
//! replies and handles by them, and `limits@openssh.com` advertises them.

/// The largest packet accepted, as OpenSSH's `SFTP_MAX_MSG_LENGTH`; advertised by `limits`.
pub const MAX_PACKET: u32 = 256 * 1024;

/// The most handles open at once; advertised by `limits`.
pub const MAX_HANDLES: usize = 512;

/// The most bytes one read returns (and one write should carry): the packet limit less room for
/// the headers, as OpenSSH's `sftp-server` does.
pub const MAX_IO: u32 = MAX_PACKET - 1024;
