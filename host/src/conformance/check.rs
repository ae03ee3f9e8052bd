//! Assertion helpers: a mismatch becomes [`Failure::Fail`] with what was expected and seen.

use std::fmt::Debug;

use super::runner::{CaseResult, Failure};
use crate::error::{ErrorCode, Result};

/// Fails the case with a formatted message unless the condition holds.
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err($crate::conformance::Failure::Fail(format!($($fmt)+)));
        }
    };
}

/// Fails the case unless the two values are equal, showing both.
macro_rules! ensure_eq {
    ($got:expr, $want:expr, $($fmt:tt)+) => {{
        let (got, want) = (&$got, &$want);
        if got != want {
            return Err($crate::conformance::Failure::Fail(format!(
                "{}: got {:?}, want {:?}",
                format!($($fmt)+),
                got,
                want
            )));
        }
    }};
}

pub(crate) use {ensure, ensure_eq};

/// Checks that `r` failed with `code`. An `unsupported` answer where another code was expected
/// is a failure, not an unsupported case: the operation ran and gave the wrong answer.
pub fn expect_code<T: Debug>(r: Result<T>, code: ErrorCode, what: &str) -> CaseResult {
    match r {
        Err(e) if e.code() == code => Ok(()),
        Err(e) => Err(Failure::Fail(format!(
            "{what}: got error code {}, want {code} (error: {e})",
            e.code()
        ))),
        Ok(v) => Err(Failure::Fail(format!(
            "{what}: succeeded with {v:?}, want error {code}"
        ))),
    }
}

/// Deterministic pseudo-random bytes (xorshift64*), so large-file cases need no RNG dependency
/// and a failing offset can be reproduced.
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = Xorshift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&x.next_u64().to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A xorshift64* generator: deterministic, so a test driven by it can be replayed from its seed
/// (which must not be 0).
#[derive(Debug, Clone)]
pub struct Xorshift(pub u64);

impl Xorshift {
    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}
