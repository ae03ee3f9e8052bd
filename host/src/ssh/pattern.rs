//! OpenSSH's host patterns: `*` and `?` wildcards and `!` negation in pattern lists, as
//! `ssh_config`'s `Host`/`Match host` and known_hosts' host fields use them. A leaf module, so
//! both can share it without depending on each other.

/// OpenSSH's pattern lists: a match of any negated pattern (`!p`) rejects; otherwise any
/// positive match accepts. Host names compare case-insensitively.
pub fn pattern_list_matches(patterns: &[String], subject: &str) -> bool {
    let mut positive = false;
    for p in patterns {
        if let Some(neg) = p.strip_prefix('!') {
            if wildcard_match(neg, subject, true) {
                return false;
            }
        } else if wildcard_match(p, subject, true) {
            positive = true;
        }
    }
    positive
}

/// `*` (any run) and `?` (any one character) matching, iterative with one backtrack point.
pub fn wildcard_match(pattern: &str, text: &str, fold_case: bool) -> bool {
    let norm = |s: &str| -> Vec<char> {
        if fold_case {
            s.to_lowercase().chars().collect()
        } else {
            s.chars().collect()
        }
    };
    let (p, t) = (norm(pattern), norm(text));
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*", "", false));
        assert!(wildcard_match("a*b?d", "axxbcd", false));
        assert!(!wildcard_match("a*b?d", "axxbd", false));
        assert!(wildcard_match("*.EXAMPLE.com", "www.example.COM", true));
        assert!(!wildcard_match("*.example.com", "example.com", true));
        assert!(wildcard_match("**a", "ba", false));
    }
}
