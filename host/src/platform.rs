//! Mapping of `uname`-style OS and machine names to Go's GOOS/GOARCH/variant vocabulary.
//!
//! Backends learn a platform in different ways (`uname -s -m`, Docker image metadata, the local
//! kernel); they all end here so the same machine gets the same answer whatever the path.

use crate::types::PlatformInfo;

/// Maps an OS name (`uname -s`, Docker's `Os`) to GOOS; `""` when unknown.
pub fn normalize_os(os: &str) -> &'static str {
    match os.trim().to_ascii_lowercase().as_str() {
        "linux" => "linux",
        "darwin" | "macos" | "osx" => "darwin",
        "windows" | "windows_nt" => "windows",
        "freebsd" => "freebsd",
        "openbsd" => "openbsd",
        "netbsd" => "netbsd",
        "dragonfly" => "dragonfly",
        "sunos" | "solaris" => "solaris",
        "illumos" => "illumos",
        s if s.starts_with("mingw") || s.starts_with("msys") || s.starts_with("cygwin") => {
            "windows"
        }
        _ => "",
    }
}

/// Maps a machine name (`uname -m`, Docker's `Architecture`) to GOARCH and a variant; empty
/// strings when unknown.
///
/// `armv8l` is a 32-bit ARM userland on a 64-bit core, so it maps to `arm`/`v7` (the original
/// tool said arm64, which picks a binary that cannot run there).
pub fn normalize_arch(machine: &str) -> (&'static str, &'static str) {
    match machine.trim().to_ascii_lowercase().as_str() {
        "x86_64" | "amd64" | "x64" => ("amd64", ""),
        "aarch64" | "arm64" | "aarch64_be" => ("arm64", ""),
        "armv8l" | "armv7l" | "armv7" | "armhf" | "arm/v7" => ("arm", "v7"),
        "armv6l" | "armv6" | "arm/v6" => ("arm", "v6"),
        "armv5l" | "armv5" | "armv5tel" | "armel" | "arm/v5" => ("arm", "v5"),
        "arm" => ("arm", ""),
        "i386" | "i486" | "i586" | "i686" | "x86" | "386" => ("386", ""),
        "ppc64" => ("ppc64", ""),
        "ppc64le" => ("ppc64le", ""),
        "s390x" => ("s390x", ""),
        "riscv64" => ("riscv64", ""),
        "mips" => ("mips", ""),
        "mipsle" | "mipsel" => ("mipsle", ""),
        "mips64" => ("mips64", ""),
        "mips64le" | "mips64el" => ("mips64le", ""),
        "loongarch64" | "loong64" => ("loong64", ""),
        _ => ("", ""),
    }
}

/// Builds a [`PlatformInfo`] from an OS name, a machine name and an explicit variant (Docker's
/// `Variant`, which wins over the one derived from the machine name when non-empty).
pub fn platform_from(os: &str, machine: &str, variant: &str) -> PlatformInfo {
    let (arch, derived) = normalize_arch(machine);
    let variant = if variant.trim().is_empty() {
        derived
    } else {
        variant.trim()
    };
    PlatformInfo {
        os: normalize_os(os).to_string(),
        arch: arch.to_string(),
        variant: if arch.is_empty() {
            String::new()
        } else {
            variant.to_string()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The original tool's TestPlatformFromInfo cases, with armv8l corrected.
    #[test]
    fn platform_table() {
        let cases = [
            ("Linux", "x86_64", "", "linux", "amd64", ""),
            ("linux", "aarch64", "", "linux", "arm64", ""),
            ("linux", "armv7l", "", "linux", "arm", "v7"),
            ("linux", "armv6l", "", "linux", "arm", "v6"),
            ("linux", "i686", "", "linux", "386", ""),
            ("linux", "riscv64", "", "linux", "riscv64", ""),
            ("linux", "ppc64le", "", "linux", "ppc64le", ""),
            ("linux", "s390x", "", "linux", "s390x", ""),
            ("linux", "loongarch64", "", "linux", "loong64", ""),
            ("linux", "armv8l", "", "linux", "arm", "v7"),
            ("linux", "arm", "v6", "linux", "arm", "v6"),
            ("Darwin", "arm64", "", "darwin", "arm64", ""),
            ("Windows_NT", "AMD64", "", "windows", "amd64", ""),
            ("MINGW64_NT-10.0", "x86_64", "", "windows", "amd64", ""),
            ("FreeBSD", "amd64", "", "freebsd", "amd64", ""),
            ("linux", "vax", "", "linux", "", ""),
            ("plan9", "amd64", "", "", "amd64", ""),
            ("", "", "", "", "", ""),
        ];
        for (os, machine, variant, want_os, want_arch, want_variant) in cases {
            let p = platform_from(os, machine, variant);
            assert_eq!(
                (p.os.as_str(), p.arch.as_str(), p.variant.as_str()),
                (want_os, want_arch, want_variant),
                "{os} {machine} {variant}"
            );
        }
    }
}
