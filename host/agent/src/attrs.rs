//! File attributes and `ls -l` long names from `stat` results.
//!
//! The permissions field carries the whole `st_mode`, type bits included, so a client tells
//! FIFOs, sockets and devices from regular files (russh-sftp's `From<&Metadata>` would mark them
//! all regular). SFTP v3 times are unsigned 32-bit seconds: earlier or later times are clamped.

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::time::{SystemTime, UNIX_EPOCH};

use russh_sftp::protocol::{File, FileAttributes};

/// The attributes of a `stat` result.
pub fn from_metadata(m: &Metadata) -> FileAttributes {
    FileAttributes {
        size: Some(m.size()),
        uid: Some(m.uid()),
        user: None,
        gid: Some(m.gid()),
        group: None,
        permissions: Some(m.mode()),
        atime: Some(clamp_time(m.atime())),
        mtime: Some(clamp_time(m.mtime())),
    }
}

fn clamp_time(seconds: i64) -> u32 {
    u32::try_from(seconds.max(0)).unwrap_or(u32::MAX)
}

/// A directory entry with its long name, as OpenSSH's `sftp` shows for `ls -l`.
pub fn entry(name: String, m: &Metadata, now: i64) -> File {
    let longname = long_name(&name, m, now);
    File {
        filename: name,
        longname,
        attrs: from_metadata(m),
    }
}

/// `drwxr-xr-x    2 0        0            4096 Jan  2 15:04 name`, numeric owners (a container
/// often has no user database), the date as `ls` shows it: time of day within six months,
/// else the year.
fn long_name(name: &str, m: &Metadata, now: i64) -> String {
    let mode = m.mode();
    let kind = match mode & 0o170000 {
        0o040000 => 'd',
        0o120000 => 'l',
        0o020000 => 'c',
        0o060000 => 'b',
        0o010000 => 'p',
        0o140000 => 's',
        _ => '-',
    };
    let bit = |mask: u32, c: char| if mode & mask != 0 { c } else { '-' };
    let special =
        |mask: u32, exec: u32, set: char, unset: char| match (mode & mask != 0, mode & exec != 0) {
            (true, true) => set,
            (true, false) => unset,
            (false, true) => 'x',
            (false, false) => '-',
        };
    let perms: String = [
        bit(0o400, 'r'),
        bit(0o200, 'w'),
        special(0o4000, 0o100, 's', 'S'),
        bit(0o040, 'r'),
        bit(0o020, 'w'),
        special(0o2000, 0o010, 's', 'S'),
        bit(0o004, 'r'),
        bit(0o002, 'w'),
        special(0o1000, 0o001, 't', 'T'),
    ]
    .iter()
    .collect();
    format!(
        "{kind}{perms} {:>4} {:<8} {:<8} {:>8} {} {name}",
        m.nlink(),
        m.uid(),
        m.gid(),
        m.size(),
        ls_date(m.mtime(), now)
    )
}

/// The current time in seconds since the epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `Jan  2 15:04` for times within six months of `now`, else `Jan  2  2006` (UTC).
fn ls_date(t: i64, now: i64) -> String {
    const SIX_MONTHS: i64 = 182 * 86_400;
    let (year, month, day) = civil_from_days(t.div_euclid(86_400));
    let secs = t.rem_euclid(86_400);
    let month = MONTHS[(month - 1) as usize];
    if (now - t).abs() < SIX_MONTHS {
        format!(
            "{month} {day:>2} {:02}:{:02}",
            secs / 3600,
            secs % 3600 / 60
        )
    } else {
        format!("{month} {day:>2} {year:>5}")
    }
}

/// Days since 1970-01-01 to (year, month 1–12, day 1–31), after Howard Hinnant's algorithm.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_as_ls_prints_them() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        let t = 1_136_214_245; // 2006-01-02 15:04:05 UTC
        assert_eq!(ls_date(t, t + 10), "Jan  2 15:04");
        assert_eq!(ls_date(t, t + 400 * 86_400), "Jan  2  2006");
    }

    #[test]
    fn kinds_and_special_bits_in_long_names() {
        let dir = std::env::temp_dir();
        let m = std::fs::symlink_metadata(&dir).expect("temp dir metadata");
        let line = long_name("tmp", &m, now());
        assert!(line.starts_with('d'), "{line}");
        assert!(line.ends_with(" tmp"), "{line}");
        let a = from_metadata(&m);
        assert_eq!(a.permissions.map(|p| p & 0o170000), Some(0o040000));
    }
}
