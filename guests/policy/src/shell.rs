//! What a POSIX shell command line runs: every program it starts, found the way `sh` parses it,
//! so that `true; rm -rf /`, `true && rm`, `true | rm`, `` true `rm` `` and `true $(rm)` all
//! show `rm`.
//!
//! This is a conservative reader, not a shell: it splits at every operator (`;`, `&`, `|`,
//! `&&`, `||`, newline, parentheses), reads quotes and backslashes, skips assignments, keywords
//! and redirections to find each command's program, and reads the inside of command and process
//! substitutions as command lines of their own. A program whose name the shell would only know
//! at run time (`$cmd`, `"${X}"`, a glob) is reported as dynamic so a policy can refuse what it
//! cannot check.

/// One program a command line starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// The name as the shell would see it after quote removal, e.g. `rm` or `/bin/rm`.
    pub name: String,
    /// The name holds an expansion or a glob: the real program is only known at run time.
    pub dynamic: bool,
}

/// Words that may start a command without being its program.
const KEYWORDS: [&str; 12] = [
    "!", "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "{", "}",
];

/// How deep substitutions may nest. Deeper, the rest of the line is one program nobody can
/// check (so every rule refuses it), and the reader's recursion stays bounded.
const MAX_NESTING: usize = 64;

/// Every program `cmd` starts, in order, substitutions included.
pub fn programs(cmd: &str) -> Vec<Program> {
    let mut out = Vec::new();
    read(cmd, 0, &mut out);
    out
}

fn read(cmd: &str, depth: usize, out: &mut Vec<Program>) {
    Reader {
        chars: cmd.chars().collect(),
        pos: 0,
        depth,
        out,
    }
    .run(None);
}

struct Reader<'a> {
    chars: Vec<char>,
    pos: usize,
    /// Substitutions around the text being read.
    depth: usize,
    out: &'a mut Vec<Program>,
}

/// A word being read: its text after quote removal and whether it expands at run time.
#[derive(Default)]
struct Word {
    text: String,
    dynamic: bool,
    started: bool,
}

impl Reader<'_> {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    /// Whether a substitution may open here; if not, the rest of the line is refused.
    fn may_nest(&mut self) -> bool {
        if self.depth < MAX_NESTING {
            return true;
        }
        self.out.push(Program {
            name: format!("(substitutions nested over {MAX_NESTING} deep)"),
            dynamic: true,
        });
        self.pos = self.chars.len();
        false
    }

    /// Reads a `$(…)` or `<(…)` substitution's command line.
    fn substitution(&mut self) {
        if self.may_nest() {
            self.depth += 1;
            self.run(Some(')'));
            self.depth -= 1;
        }
    }

    /// Reads commands until the end, or until `close` (the end of a substitution).
    fn run(&mut self, close: Option<char>) {
        let mut at_start = true;
        let mut after_redirect = false;
        let mut word = Word::default();
        while let Some(c) = self.peek(0) {
            if Some(c) == close && word.text.is_empty() && !word.started {
                self.pos += 1;
                return;
            }
            match c {
                ' ' | '\t' => {
                    self.pos += 1;
                    self.end_word(&mut word, &mut at_start, &mut after_redirect);
                }
                '\n' | ';' | '&' | '|' | '(' | ')' => {
                    if Some(c) == close {
                        self.end_word(&mut word, &mut at_start, &mut after_redirect);
                        self.pos += 1;
                        return;
                    }
                    self.pos += 1;
                    self.end_word(&mut word, &mut at_start, &mut after_redirect);
                    if c == '&' && self.peek(0) == Some('>') {
                        after_redirect = true;
                        self.pos += 1;
                        continue;
                    }
                    at_start = true;
                    after_redirect = false;
                }
                '<' | '>' => {
                    self.pos += 1;
                    if matches!(self.peek(0), Some('(')) {
                        // Process substitution: a command line of its own.
                        self.pos += 1;
                        self.substitution();
                        word.started = true;
                        word.dynamic = true;
                        continue;
                    }
                    // A descriptor number before the operator (`2>`) is not a word.
                    if word.text.chars().all(|d| d.is_ascii_digit()) && !word.dynamic {
                        word = Word::default();
                    } else {
                        self.end_word(&mut word, &mut at_start, &mut after_redirect);
                    }
                    while matches!(self.peek(0), Some('<' | '>' | '&' | '|' | '-')) {
                        self.pos += 1;
                    }
                    after_redirect = true;
                }
                '\\' => {
                    self.pos += 1;
                    if let Some(n) = self.peek(0) {
                        self.pos += 1;
                        if n != '\n' {
                            word.text.push(n);
                            word.started = true;
                        }
                    }
                }
                '\'' => {
                    self.pos += 1;
                    word.started = true;
                    while let Some(q) = self.peek(0) {
                        self.pos += 1;
                        if q == '\'' {
                            break;
                        }
                        word.text.push(q);
                    }
                }
                '"' => {
                    self.pos += 1;
                    word.started = true;
                    self.double_quoted(&mut word);
                }
                '$' | '`' => self.expansion(&mut word),
                '*' | '?' | '[' => {
                    self.pos += 1;
                    word.text.push(c);
                    word.started = true;
                    word.dynamic = true;
                }
                '#' if !word.started => {
                    while self.peek(0).is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                _ => {
                    self.pos += 1;
                    word.text.push(c);
                    word.started = true;
                }
            }
        }
        self.end_word(&mut word, &mut at_start, &mut after_redirect);
    }

    fn double_quoted(&mut self, word: &mut Word) {
        while let Some(c) = self.peek(0) {
            match c {
                '"' => {
                    self.pos += 1;
                    return;
                }
                '\\' => {
                    self.pos += 1;
                    if let Some(n) = self.peek(0) {
                        self.pos += 1;
                        word.text.push(n);
                    }
                }
                '$' | '`' => self.expansion(word),
                _ => {
                    self.pos += 1;
                    word.text.push(c);
                }
            }
        }
    }

    /// `$name`, `${…}`, `$((…))`, `$(…)` or `` `…` ``: the word becomes dynamic, and the inside of
    /// a command substitution is read as a command line.
    fn expansion(&mut self, word: &mut Word) {
        word.started = true;
        word.dynamic = true;
        let c = self.peek(0);
        self.pos += 1;
        if c == Some('`') {
            let start = self.pos;
            while self.peek(0).is_some_and(|c| c != '`') {
                if self.peek(0) == Some('\\') {
                    self.pos += 1;
                }
                self.pos += 1;
            }
            let inner: String = self.chars[start..self.pos.min(self.chars.len())]
                .iter()
                .collect();
            self.pos += 1;
            if self.may_nest() {
                read(&inner, self.depth + 1, self.out);
            }
            return;
        }
        match (self.peek(0), self.peek(1)) {
            (Some('('), Some('(')) => {
                self.pos += 2;
                self.skip_balanced('(', ')', 2);
            }
            (Some('('), _) => {
                self.pos += 1;
                self.substitution();
            }
            (Some('{'), _) => {
                self.pos += 1;
                self.skip_balanced('{', '}', 1);
            }
            _ => {
                while self
                    .peek(0)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    self.pos += 1;
                }
                if self.peek(0).is_some_and(|c| "@*#?$!-".contains(c)) {
                    self.pos += 1;
                }
            }
        }
    }

    fn skip_balanced(&mut self, open: char, close: char, mut depth: usize) {
        while let Some(c) = self.peek(0) {
            self.pos += 1;
            if c == open {
                depth += 1;
            } else if c == close {
                depth -= 1;
                if depth == 0 || (close == ')' && depth == 1 && self.peek(0) == Some(')')) {
                    if depth == 1 {
                        self.pos += 1;
                    }
                    return;
                }
            }
        }
    }

    fn end_word(&mut self, word: &mut Word, at_start: &mut bool, after_redirect: &mut bool) {
        let w = std::mem::take(word);
        if !w.started {
            return;
        }
        if *after_redirect {
            *after_redirect = false;
            return;
        }
        if !*at_start {
            return;
        }
        if !w.dynamic && (KEYWORDS.contains(&w.text.as_str()) || is_assignment(&w.text)) {
            return;
        }
        *at_start = false;
        self.out.push(Program {
            name: w.text,
            dynamic: w.dynamic,
        });
    }
}

/// `NAME=value` before a command sets a variable for it.
fn is_assignment(word: &str) -> bool {
    match word.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(cmd: &str) -> Vec<String> {
        programs(cmd)
            .into_iter()
            .map(|p| {
                if p.dynamic {
                    format!("?{}", p.name)
                } else {
                    p.name
                }
            })
            .collect()
    }

    #[test]
    fn every_program_of_a_line_is_found() {
        let cases: &[(&str, &[&str])] = &[
            ("true", &["true"]),
            ("true; rm -rf /", &["true", "rm"]),
            ("true && rm x || reboot", &["true", "rm", "reboot"]),
            ("true | rm", &["true", "rm"]),
            ("true & rm", &["true", "rm"]),
            ("true\nrm", &["true", "rm"]),
            ("true $(rm -rf /)", &["true", "rm"]),
            ("true `rm -rf /`", &["true", "rm"]),
            ("true \"$(rm)\"", &["true", "rm"]),
            ("(rm)", &["rm"]),
            ("{ rm; }", &["rm"]),
            ("if true; then rm; fi", &["true", "rm"]),
            ("! rm", &["rm"]),
            ("A=1 B=\"x y\" rm", &["rm"]),
            ("> out rm", &["rm"]),
            ("echo a > rm", &["echo"]),
            ("echo a 2>&1 | tee x", &["echo", "tee"]),
            ("cat <(rm) >(reboot)", &["cat", "rm", "reboot"]),
            ("echo 'a; rm' \"b && rm\" c\\;rm", &["echo"]),
            ("$CMD x", &["?"]),
            ("\"${X}\" y", &["?"]),
            ("r? x", &["?r?"]),
            ("echo $((1+2)); rm", &["echo", "rm"]),
            ("echo ${A:-x}; rm", &["echo", "rm"]),
            ("/bin/rm x", &["/bin/rm"]),
            ("r\\m x", &["rm"]),
            ("'r'\"m\" x", &["rm"]),
            ("echo # ; rm", &["echo"]),
            ("exit 7", &["exit"]),
        ];
        for (cmd, want) in cases {
            assert_eq!(names(cmd), *want, "{cmd:?}");
        }
    }

    #[test]
    fn nesting_past_the_limit_is_one_unknown_program_not_a_stack_overflow() {
        for open in ["$(", "<(", "$(<("] {
            let cmd = format!("true {}", open.repeat(5000));
            let found = programs(&cmd);
            assert!(
                found
                    .iter()
                    .any(|p| p.dynamic && p.name.contains("nested over")),
                "{open}: {found:?}"
            );
        }
        let fine = format!("{}rm{}", "$(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        assert!(programs(&fine).iter().any(|p| p.name == "rm"));
    }
}
