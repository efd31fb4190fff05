//! Where a JSON pointer lands in a definition's source text, so validation problems can name a line and
//! column, not only `/States/ReserveStock/Next`.

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// The position of the value `pointer` (RFC 6901) names in `text`. When that value does not exist (a
/// problem about a missing field), the position of the deepest existing parent. `None` only when `text`
/// is not JSON at all.
pub fn locate(text: &str, pointer: &str) -> Option<Position> {
    let target: Vec<String> = if pointer.is_empty() {
        Vec::new()
    } else {
        pointer.trim_start_matches('/').split('/').map(unescape).collect()
    };
    let mut scanner = Scanner {
        chars: text.char_indices().peekable(),
        line: 1,
        column: 1,
    };
    let mut best = None;
    scanner.value(&target, 0, &mut best)?;
    best.map(|(_, position)| position)
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

struct Scanner<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    line: usize,
    column: usize,
}

impl Scanner<'_> {
    fn position(&self) -> Position {
        Position {
            line: self.line,
            column: self.column,
        }
    }

    fn bump(&mut self) -> Option<char> {
        let (_, c) = self.chars.next()?;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn peek(&mut self) -> Option<char> {
        self.chars.peek().map(|(_, c)| *c)
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    /// Scans one value whose path matches `target[..depth]`, recording the deepest match in `best`.
    fn value(&mut self, target: &[String], depth: usize, best: &mut Option<(usize, Position)>) -> Option<()> {
        self.skip_whitespace();
        if best.as_ref().is_none_or(|(d, _)| depth > *d) {
            *best = Some((depth, self.position()));
        }
        let wanted = target.get(depth);
        match self.peek()? {
            '{' => {
                self.bump();
                loop {
                    self.skip_whitespace();
                    if self.peek()? == '}' {
                        self.bump();
                        return Some(());
                    }
                    let key = self.string()?;
                    self.skip_whitespace();
                    (self.bump()? == ':').then_some(())?;
                    self.child(target, depth, best, wanted.is_some_and(|w| *w == key))?;
                    self.skip_whitespace();
                    match self.bump()? {
                        ',' => {}
                        '}' => return Some(()),
                        _ => return None,
                    }
                }
            }
            '[' => {
                self.bump();
                let mut index = 0usize;
                loop {
                    self.skip_whitespace();
                    if self.peek()? == ']' {
                        self.bump();
                        return Some(());
                    }
                    self.child(
                        target,
                        depth,
                        best,
                        wanted.is_some_and(|w| *w == index.to_string()),
                    )?;
                    index += 1;
                    self.skip_whitespace();
                    match self.bump()? {
                        ',' => {}
                        ']' => return Some(()),
                        _ => return None,
                    }
                }
            }
            '"' => self.string().map(|_| ()),
            _ => {
                while self
                    .peek()
                    .is_some_and(|c| !matches!(c, ',' | '}' | ']') && !c.is_whitespace())
                {
                    self.bump();
                }
                Some(())
            }
        }
    }

    fn child(
        &mut self,
        target: &[String],
        depth: usize,
        best: &mut Option<(usize, Position)>,
        on_path: bool,
    ) -> Option<()> {
        if on_path {
            self.value(target, depth + 1, best)
        } else {
            // Off the path: scan it without recording positions.
            self.value(&[], usize::MAX - 1, &mut None)
        }
    }

    fn string(&mut self) -> Option<String> {
        (self.bump()? == '"').then_some(())?;
        let mut out = String::new();
        loop {
            match self.bump()? {
                '"' => return Some(out),
                '\\' => {
                    let escaped = self.bump()?;
                    match escaped {
                        'u' => {
                            let hex: String = (0..4).filter_map(|_| self.bump()).collect();
                            let code = u32::from_str_radix(&hex, 16).ok()?;
                            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                        }
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        other => out.push(other),
                    }
                }
                c => out.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"{
  "StartAt": "A",
  "States": {
    "A": {"Type": "Pass", "Next": "Nowhere"},
    "B/c": {
      "Type": "Choice",
      "Choices": [
        {"Variable": "$.x", "Next": "A"},
        {"Variable": "$.y", "Next": "Gone"}
      ]
    }
  }
}"#;

    fn at(line: usize, column: usize) -> Option<Position> {
        Some(Position { line, column })
    }

    #[test]
    fn finds_object_members_and_array_elements() {
        assert_eq!(locate(TEXT, ""), at(1, 1));
        assert_eq!(locate(TEXT, "/StartAt"), at(2, 14));
        assert_eq!(locate(TEXT, "/States/A/Next"), at(4, 35));
        assert_eq!(locate(TEXT, "/States/B~1c/Choices/1/Next"), at(9, 37));
    }

    #[test]
    fn a_missing_member_points_at_its_deepest_parent() {
        assert_eq!(locate(TEXT, "/States/A/Default"), at(4, 10));
        assert_eq!(locate(TEXT, "/States/Nope/Next"), at(3, 13));
    }

    #[test]
    fn not_json_has_no_position() {
        assert_eq!(locate("{\"a\": ", "/a"), None);
    }

    #[test]
    fn escaped_keys_and_unicode_columns_count_characters() {
        let text = "{\"k\\\"ey\": {\"é\": 1, \"x\": [true, null]}}";
        assert_eq!(locate(text, "/k\"ey/x/1"), at(1, 32));
    }
}
