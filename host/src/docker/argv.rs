//! Command lines for containers without `/bin/sh`: split by POSIX word rules and run directly,
//! or refused with the reason when they need a shell.
//!
//! Quoting (`'…'`, `"…"`, backslash) is word syntax and is honoured. Anything a shell would
//! expand or interpret — operators (`| & ; < > ( )`), `$`, backquotes, globs (`* ? [`), a leading
//! `~`, comments, `VAR=value` prefixes, and builtins or reserved words as the program — needs a
//! shell, and running the line without one would silently do something else.

/// Why a command line cannot run without a shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedsShell(pub String);

/// Shell builtins and reserved words: running them without a shell is impossible or wrong.
const SHELL_WORDS: &[&str] = &[
    "!", ".", ":", "[[", "alias", "bg", "break", "case", "cd", "command", "continue", "do", "done",
    "elif", "else", "esac", "eval", "exec", "exit", "export", "fc", "fg", "fi", "for", "function",
    "getopts", "hash", "if", "jobs", "local", "read", "readonly", "return", "select", "set",
    "shift", "source", "then", "times", "trap", "type", "typeset", "ulimit", "umask", "unalias",
    "unset", "until", "wait", "while", "{", "}",
];

/// Splits `line` into words, or says which shell syntax it uses.
pub fn split(line: &str) -> Result<Vec<String>, NeedsShell> {
    let needs = |what: String| Err(NeedsShell(what));
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\n' => return needs("a newline (several commands)".into()),
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return needs("an unterminated ' quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('$' | '`' | '"' | '\\')) => word.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return needs("an unterminated \" quote".into()),
                        },
                        Some(c @ ('$' | '`')) => {
                            return needs(format!("{c:?} inside double quotes (an expansion)"));
                        }
                        Some(c) => word.push(c),
                        None => return needs("an unterminated \" quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') => {}
                    Some(c) => word.push(c),
                    None => return needs("a trailing backslash".into()),
                }
            }
            '|' | '&' | ';' | '<' | '>' | '(' | ')' => {
                return needs(format!("the operator {c:?}"));
            }
            '$' | '`' => return needs(format!("{c:?} (an expansion)")),
            '*' | '?' | '[' => return needs(format!("the pattern character {c:?}")),
            '~' if !in_word => return needs("a leading '~' (home expansion)".into()),
            '#' if !in_word => return needs("a '#' comment".into()),
            '=' if words.is_empty() && in_word && is_name(&word) => {
                return needs(format!("the assignment {word}=… before the command"));
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    match words.first() {
        None => needs("no command at all".into()),
        Some(w) if SHELL_WORDS.contains(&w.as_str()) => {
            needs(format!("the shell builtin or keyword {w:?}"))
        }
        Some(_) => Ok(words),
    }
}

fn is_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_and_quotes_split_as_posix_says() {
        let cases: &[(&str, &[&str])] = &[
            ("cat", &["cat"]),
            ("  ls   -l  /tmp ", &["ls", "-l", "/tmp"]),
            ("echo 'a b' \"c d\" e\\ f", &["echo", "a b", "c d", "e f"]),
            ("printf '%s' ''", &["printf", "%s", ""]),
            ("echo \"x\\\"y\\\\z\\n\"", &["echo", "x\"y\\z\\n"]),
            ("echo a=b", &["echo", "a=b"]),
            ("echo x~ y#z", &["echo", "x~", "y#z"]),
            ("/remote-agent -d %d", &["/remote-agent", "-d", "%d"]),
            ("'it'\\''s ok'", &["it's ok"]),
        ];
        for (line, want) in cases {
            let want: Vec<String> = want.iter().map(|w| w.to_string()).collect();
            assert_eq!(split(line), Ok(want), "{line}");
        }
    }

    #[test]
    fn shell_syntax_is_refused_with_what_it_was() {
        let cases = [
            ("echo a; echo b", "operator ';'"),
            ("a | b", "operator '|'"),
            ("a && b", "operator '&'"),
            ("cat > f", "operator '>'"),
            ("echo $HOME", "expansion"),
            ("echo \"$HOME\"", "expansion"),
            ("echo `id`", "expansion"),
            ("ls *.txt", "pattern"),
            ("cd ~", "home"),
            ("true # c", "comment"),
            ("A=1 env", "assignment A=…"),
            ("exit 3", "builtin or keyword \"exit\""),
            ("if true", "keyword \"if\""),
            ("echo 'open", "unterminated"),
            ("", "no command"),
            ("a\nb", "newline"),
        ];
        for (line, want) in cases {
            match split(line) {
                Err(NeedsShell(why)) => assert!(why.contains(want), "{line}: {why}"),
                Ok(words) => panic!("{line}: split into {words:?}, want a refusal"),
            }
        }
    }
}
