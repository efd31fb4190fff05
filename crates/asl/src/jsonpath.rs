//! A small JSONPath evaluator covering the subset Step Functions accepts in `InputPath`, `OutputPath`,
//! `ItemsPath`, `.$` fields, Choice variables and intrinsic arguments.
//!
//! Written by hand on purpose: the crates around implement full Goessner/Jayway dialects whose corner
//! cases differ from AWS, and ASL needs a *reference path* mode (for `ResultPath`) that they lack.

use crate::value::{Map, Str, Value};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("invalid JSONPath '{path}': {reason}")]
    Syntax { path: String, reason: String },
    #[error("Invalid path '{path}' : No results for path: {normalized}")]
    NotFound { path: String, normalized: String },
    #[error("Invalid path '{path}': {reason}")]
    Apply { path: String, reason: String },
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Child(Str),
    Index(i64),
    Wildcard,
    Slice {
        start: Option<i64>,
        end: Option<i64>,
        step: Option<i64>,
    },
    Union(Vec<UnionItem>),
    Descendant(Box<Segment>),
    Filter(Box<Filter>),
}

/// `[?(...)]` filter expressions (Jayway dialect subset): `@`-relative and `$`-absolute paths,
/// literals, `== != < <= > >=`, `&& || !` and parentheses; a bare path tests for existence.
#[derive(Debug, Clone, PartialEq)]
enum Filter {
    Or(Box<Filter>, Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Exists(Operand),
    Compare(Operand, CmpOp, Operand),
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Current(JsonPath),
    Root(JsonPath),
    Literal(Value),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum UnionItem {
    Name(String),
    Index(i64),
}

/// A parsed path. `$$.x` (context paths) parse too; the caller decides what document they apply to.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    text: String,
    context: bool,
    /// `$name...`: a path into the workflow variable `name`.
    variable: Option<String>,
    segments: Vec<Segment>,
    /// Names and indexes only: see [`JsonPath::is_definite`].
    definite: bool,
}

/// Key under which an evaluation environment document carries the context object. A plain context
/// object (without it) is accepted too. The NUL character keeps it apart from any real key.
pub(crate) const ENV_CONTEXT: &str = "\u{0}context";
/// Key under which an evaluation environment document carries the visible workflow variables.
pub(crate) const ENV_VARIABLES: &str = "\u{0}variables";

impl JsonPath {
    /// The length of the path as written.
    pub(crate) fn text_len(&self) -> usize {
        self.text.len()
    }

    pub fn parse(text: &str) -> Result<JsonPath, PathError> {
        let syntax = |reason: &str| PathError::Syntax {
            path: text.to_owned(),
            reason: reason.to_owned(),
        };
        let (context, rest) = if let Some(rest) = text.strip_prefix("$$") {
            (true, rest)
        } else if let Some(rest) = text.strip_prefix('$') {
            (false, rest)
        } else {
            return Err(syntax("a path must start with '$'"));
        };
        let chars: Vec<char> = rest.chars().collect();
        let mut i = 0;
        let mut variable = None;
        if !context && chars.first().is_some_and(|c| c.is_alphabetic() || *c == '_') {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            variable = Some(chars[..i].iter().collect::<String>());
        }
        let mut segments = Vec::new();
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    let descendant = chars.get(i + 1) == Some(&'.');
                    i += if descendant { 2 } else { 1 };
                    let seg = if chars.get(i) == Some(&'[') {
                        if !descendant {
                            return Err(syntax("'.' must be followed by a name"));
                        }
                        let (seg, next) = parse_bracket(&chars, i).map_err(|r| syntax(&r))?;
                        i = next;
                        seg
                    } else if chars.get(i) == Some(&'*') {
                        i += 1;
                        Segment::Wildcard
                    } else {
                        let start = i;
                        while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                            i += 1;
                        }
                        if start == i {
                            return Err(syntax("empty name after '.'"));
                        }
                        let name: String = chars[start..i].iter().collect();
                        if name.contains(|c: char| c.is_whitespace() || c == ']' || c == '(' || c == ')') {
                            return Err(syntax(&format!("invalid character in name '{name}'")));
                        }
                        Segment::Child(name.into())
                    };
                    segments.push(if descendant {
                        Segment::Descendant(Box::new(seg))
                    } else {
                        seg
                    });
                }
                '[' => {
                    let (seg, next) = parse_bracket(&chars, i).map_err(|r| syntax(&r))?;
                    i = next;
                    segments.push(seg);
                }
                c => return Err(syntax(&format!("unexpected character '{c}'"))),
            }
        }
        let definite = segments
            .iter()
            .all(|s| matches!(s, Segment::Child(_) | Segment::Index(_)));
        Ok(JsonPath {
            text: text.to_owned(),
            context,
            variable,
            segments,
            definite,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the path reads the environment (the context object or a variable) rather than the input:
    /// callers then pass the environment document as `doc`.
    pub fn is_context(&self) -> bool {
        self.context || self.variable.is_some()
    }

    /// The variable a `$name...` path reads.
    pub fn variable(&self) -> Option<&str> {
        self.variable.as_deref()
    }

    /// Where evaluation starts: the input, the context object, or a variable's value.
    fn start<'a>(&self, doc: &'a Value) -> Result<&'a Value, PathError> {
        if let Some(name) = &self.variable {
            return doc
                .get(ENV_VARIABLES)
                .and_then(|vars| vars.get(name))
                .ok_or_else(|| PathError::NotFound {
                    path: self.text.clone(),
                    normalized: format!("${name}"),
                });
        }
        if self.context {
            return Ok(doc.get(ENV_CONTEXT).unwrap_or(doc));
        }
        Ok(doc)
    }

    /// A definite path names at most one node; an indefinite one (wildcards, slices, unions,
    /// descendants) always yields an array of matches.
    pub fn is_definite(&self) -> bool {
        self.definite
    }

    /// A reference path (ASL term) can be used to *write* a value: only names and indexes.
    pub fn is_reference(&self) -> bool {
        self.is_definite()
    }

    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// `$.name`: writing there into an object cannot fail.
    pub(crate) fn is_one_name(&self) -> bool {
        !self.is_context() && matches!(self.segments.as_slice(), [Segment::Child(_)])
    }

    /// Evaluates the path: a definite path returns the node or `NotFound`; an indefinite path returns the
    /// array of all matches (possibly empty).
    pub fn select(&self, doc: &Value) -> Result<Value, PathError> {
        let doc = self.start(doc)?;
        if self.is_definite() {
            let mut cur = doc;
            for seg in &self.segments {
                let next = match seg {
                    Segment::Child(name) => cur.as_object().and_then(|m| m.get(name)),
                    Segment::Index(i) => cur.as_array().and_then(|a| index(a.len(), *i).map(|i| &a[i])),
                    _ => None,
                };
                cur = next.ok_or_else(|| self.not_found())?;
            }
            return Ok(cur.clone());
        }
        let mut current: Vec<&Value> = vec![doc];
        for seg in &self.segments {
            let mut next = Vec::new();
            for node in current {
                apply_segment(seg, node, doc, &mut next);
            }
            current = next;
        }
        Ok(Value::Array(current.into_iter().cloned().collect()))
    }

    /// True when the path resolves to something (used by `IsPresent`).
    pub fn exists(&self, doc: &Value) -> bool {
        match self.select(doc) {
            Ok(Value::Array(a)) if !self.is_definite() => !a.is_empty(),
            Ok(_) => true,
            Err(_) => false,
        }
    }

    /// Writes `value` at this reference path inside `target`, creating missing objects on the way,
    /// as `ResultPath` does.
    pub fn set(&self, target: &mut Value, value: Value) -> Result<(), PathError> {
        if !self.is_reference() {
            return Err(PathError::Apply {
                path: self.text.clone(),
                reason: "ResultPath must be a reference path (names and indexes only)".into(),
            });
        }
        let fail = |reason: String| PathError::Apply {
            path: self.text.clone(),
            reason,
        };
        let mut cur = target;
        for (n, seg) in self.segments.iter().enumerate() {
            let last = n + 1 == self.segments.len();
            match seg {
                Segment::Child(name) => {
                    if cur.is_null() {
                        *cur = Value::Object(Map::new());
                    }
                    let Some(obj) = cur.as_object_mut() else {
                        return Err(fail(format!("cannot set field '{name}' on a non-object value")));
                    };
                    if last {
                        obj.insert(name.clone(), value);
                        return Ok(());
                    }
                    cur = obj.get_or_insert_with(name.clone(), || Value::Object(Map::new()));
                }
                Segment::Index(i) => {
                    let Some(arr) = cur.as_array_mut() else {
                        return Err(fail(format!("cannot set index [{i}] on a non-array value")));
                    };
                    let Some(idx) = index(arr.len(), *i) else {
                        return Err(fail(format!("index [{i}] is out of bounds")));
                    };
                    if last {
                        arr[idx] = value;
                        return Ok(());
                    }
                    cur = &mut arr[idx];
                }
                _ => unreachable!("is_reference() admits names and indexes only"),
            }
        }
        *cur = value;
        Ok(())
    }

    fn not_found(&self) -> PathError {
        let mut normalized = match (&self.variable, self.context) {
            (Some(v), _) => format!("${v}"),
            (None, true) => "$$".to_owned(),
            (None, false) => "$".to_owned(),
        };
        for seg in &self.segments {
            match seg {
                Segment::Child(n) => normalized.push_str(&format!("['{n}']")),
                Segment::Index(i) => normalized.push_str(&format!("[{i}]")),
                _ => {}
            }
        }
        PathError::NotFound {
            path: self.text.clone(),
            normalized,
        }
    }
}

impl std::fmt::Display for JsonPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

fn index(len: usize, i: i64) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let i = if i < 0 { len + i } else { i };
    (0..len).contains(&i).then(|| usize::try_from(i).ok()).flatten()
}

fn apply_segment<'a>(seg: &Segment, node: &'a Value, root: &Value, out: &mut Vec<&'a Value>) {
    match seg {
        Segment::Child(name) => {
            if let Some(v) = node.as_object().and_then(|m| m.get(name)) {
                out.push(v);
            }
        }
        Segment::Index(i) => {
            if let Some(a) = node.as_array()
                && let Some(i) = index(a.len(), *i)
            {
                out.push(&a[i]);
            }
        }
        Segment::Wildcard => match node {
            Value::Array(a) => out.extend(a.iter()),
            Value::Object(m) => out.extend(m.values()),
            _ => {}
        },
        Segment::Slice { start, end, step } => {
            if let Some(a) = node.as_array() {
                for i in slice_indexes(a.len(), *start, *end, *step) {
                    out.push(&a[i]);
                }
            }
        }
        Segment::Union(items) => {
            for item in items {
                match item {
                    UnionItem::Name(n) => apply_segment(&Segment::Child(n.as_str().into()), node, root, out),
                    UnionItem::Index(i) => apply_segment(&Segment::Index(*i), node, root, out),
                }
            }
        }
        Segment::Filter(f) => {
            let items: Box<dyn Iterator<Item = &'a Value>> = match node {
                Value::Array(a) => Box::new(a.iter()),
                Value::Object(m) => Box::new(m.values()),
                _ => Box::new(std::iter::empty()),
            };
            for item in items {
                if f.matches(item, root) {
                    out.push(item);
                }
            }
        }
        Segment::Descendant(inner) => {
            apply_segment(inner, node, root, out);
            match node {
                Value::Array(a) => a.iter().for_each(|c| apply_segment(seg, c, root, out)),
                Value::Object(m) => m.values().for_each(|c| apply_segment(seg, c, root, out)),
                _ => {}
            }
        }
    }
}

impl Filter {
    fn matches(&self, item: &Value, root: &Value) -> bool {
        match self {
            Filter::Or(a, b) => a.matches(item, root) || b.matches(item, root),
            Filter::And(a, b) => a.matches(item, root) && b.matches(item, root),
            Filter::Not(f) => !f.matches(item, root),
            Filter::Exists(op) => match op {
                Operand::Current(p) => p.exists(item),
                Operand::Root(p) => p.exists(root),
                Operand::Literal(v) => !matches!(v, Value::Null | Value::Bool(false)),
            },
            Filter::Compare(l, op, r) => {
                let (Some(l), Some(r)) = (l.value(item, root), r.value(item, root)) else {
                    return false;
                };
                let ord = match (&l, &r) {
                    (Value::Number(a), Value::Number(b)) => a
                        .as_f64()
                        .and_then(|a| b.as_f64().and_then(|b| a.partial_cmp(&b))),
                    (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
                    _ => None,
                };
                match op {
                    CmpOp::Eq => ord.map_or(l == r, |o| o.is_eq()),
                    CmpOp::Ne => ord.map_or(l != r, |o| o.is_ne()),
                    CmpOp::Lt => ord.is_some_and(|o| o.is_lt()),
                    CmpOp::Le => ord.is_some_and(|o| o.is_le()),
                    CmpOp::Gt => ord.is_some_and(|o| o.is_gt()),
                    CmpOp::Ge => ord.is_some_and(|o| o.is_ge()),
                }
            }
        }
    }
}

impl Operand {
    fn value(&self, item: &Value, root: &Value) -> Option<Value> {
        match self {
            Operand::Current(p) => p.select(item).ok(),
            Operand::Root(p) => p.select(root).ok(),
            Operand::Literal(v) => Some(v.clone()),
        }
    }
}

struct FilterParser<'c> {
    chars: &'c [char],
    pos: usize,
}

impl FilterParser<'_> {
    fn ws(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, s: &str) -> bool {
        self.ws();
        let n = s.chars().count();
        let matches = self.chars.len() >= self.pos + n
            && self.chars[self.pos..self.pos + n].iter().copied().eq(s.chars());
        if matches {
            self.pos += n;
        }
        matches
    }

    fn or(&mut self) -> Result<Filter, String> {
        let mut left = self.and()?;
        while self.eat("||") {
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, String> {
        let mut left = self.unary()?;
        while self.eat("&&") {
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, String> {
        self.ws();
        if self.chars.get(self.pos) == Some(&'!') && self.chars.get(self.pos + 1) != Some(&'=') {
            self.pos += 1;
            return Ok(Filter::Not(Box::new(self.unary()?)));
        }
        if self.eat("(") {
            let inner = self.or()?;
            if !self.eat(")") {
                return Err("expected ')' in filter".into());
            }
            return Ok(inner);
        }
        let left = self.operand()?;
        let op = [
            ("==", CmpOp::Eq),
            ("!=", CmpOp::Ne),
            ("<=", CmpOp::Le),
            (">=", CmpOp::Ge),
            ("<", CmpOp::Lt),
            (">", CmpOp::Gt),
        ]
        .into_iter()
        .find(|(t, _)| self.eat(t));
        match op {
            Some((_, op)) => Ok(Filter::Compare(left, op, self.operand()?)),
            None => Ok(Filter::Exists(left)),
        }
    }

    fn operand(&mut self) -> Result<Operand, String> {
        self.ws();
        let start = self.pos;
        match self.chars.get(self.pos).copied() {
            Some(c @ ('@' | '$')) => {
                self.pos += 1;
                loop {
                    match self.chars.get(self.pos) {
                        Some('.') => {
                            self.pos += 1;
                            while self
                                .chars
                                .get(self.pos)
                                .is_some_and(|c| c.is_alphanumeric() || "_-$*".contains(*c))
                            {
                                self.pos += 1;
                            }
                        }
                        Some('[') => {
                            let mut quote: Option<char> = None;
                            while let Some(&c) = self.chars.get(self.pos) {
                                self.pos += 1;
                                match (quote, c) {
                                    (Some(q), c) if c == q => quote = None,
                                    (Some(_), _) => {}
                                    (None, '\'' | '"') => quote = Some(c),
                                    (None, ']') => break,
                                    _ => {}
                                }
                            }
                        }
                        _ => break,
                    }
                }
                let text: String = self.chars[start + 1..self.pos].iter().collect();
                let path = JsonPath::parse(&format!("${text}")).map_err(|e| e.to_string())?;
                Ok(if c == '@' {
                    Operand::Current(path)
                } else {
                    Operand::Root(path)
                })
            }
            Some(q @ ('\'' | '"')) => {
                self.pos += 1;
                let mut out = String::new();
                loop {
                    match self.chars.get(self.pos).copied() {
                        None => return Err("unterminated string in filter".into()),
                        Some('\\') => {
                            if let Some(&n) = self.chars.get(self.pos + 1) {
                                out.push(n);
                            }
                            self.pos += 2;
                        }
                        Some(c) if c == q => {
                            self.pos += 1;
                            return Ok(Operand::Literal(Value::from(out)));
                        }
                        Some(c) => {
                            out.push(c);
                            self.pos += 1;
                        }
                    }
                }
            }
            Some(c) if c == '-' || c.is_ascii_digit() => {
                while self
                    .chars
                    .get(self.pos)
                    .is_some_and(|c| c.is_ascii_digit() || "-+.eE".contains(*c))
                {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                serde_json::from_str::<serde_json::Number>(&text)
                    .map(|n| Operand::Literal(Value::Number(n)))
                    .map_err(|_| format!("'{text}' is not a number"))
            }
            _ => {
                for (word, v) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if self.eat(word) {
                        return Ok(Operand::Literal(v));
                    }
                }
                Err("expected a path, string, number, true, false or null in filter".into())
            }
        }
    }
}

fn slice_indexes(len: usize, start: Option<i64>, end: Option<i64>, step: Option<i64>) -> Vec<usize> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let step = step.unwrap_or(1);
    let norm = |v: i64| if v < 0 { (len + v).max(0) } else { v.min(len) };
    let mut out = Vec::new();
    if step > 0 {
        let mut i = norm(start.unwrap_or(0));
        let end = norm(end.unwrap_or(len));
        while i < end {
            out.push(i);
            i += step;
        }
    } else if step < 0 {
        let mut i = start.map(|s| norm(s).min(len - 1)).unwrap_or(len - 1);
        let end = end.map(norm).unwrap_or(-1);
        while i > end && i >= 0 {
            out.push(i);
            i += step;
        }
    }
    out.into_iter().filter_map(|i| usize::try_from(i).ok()).collect()
}

fn parse_bracket(chars: &[char], open: usize) -> Result<(Segment, usize), String> {
    let mut i = open + 1;
    let close = |i: usize| -> Result<usize, String> {
        if chars.get(i) == Some(&']') {
            Ok(i + 1)
        } else {
            Err("expected ']'".into())
        }
    };
    match chars.get(i) {
        Some('*') => Ok((Segment::Wildcard, close(i + 1)?)),
        Some('?') => {
            if chars.get(i + 1) != Some(&'(') {
                return Err("expected '(' after '?'".into());
            }
            let mut fp = FilterParser { chars, pos: i + 2 };
            let filter = fp.or()?;
            fp.ws();
            if chars.get(fp.pos) != Some(&')') {
                return Err("expected ')' to close the filter".into());
            }
            Ok((Segment::Filter(Box::new(filter)), close(fp.pos + 1)?))
        }
        Some('\'') | Some('"') => {
            let mut names = Vec::new();
            loop {
                let quote = chars[i];
                i += 1;
                let mut name = String::new();
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated quoted name".into()),
                        Some('\\') => {
                            if let Some(c) = chars.get(i + 1) {
                                name.push(*c);
                            }
                            i += 2;
                        }
                        Some(c) if *c == quote => {
                            i += 1;
                            break;
                        }
                        Some(c) => {
                            name.push(*c);
                            i += 1;
                        }
                    }
                }
                names.push(name);
                while chars.get(i) == Some(&' ') {
                    i += 1;
                }
                if chars.get(i) == Some(&',') {
                    i += 1;
                    while chars.get(i) == Some(&' ') {
                        i += 1;
                    }
                    if !matches!(chars.get(i), Some('\'') | Some('"')) {
                        return Err("expected a quoted name after ','".into());
                    }
                    continue;
                }
                let next = close(i)?;
                let seg = if names.len() == 1 {
                    Segment::Child(names.remove(0).into())
                } else {
                    Segment::Union(names.into_iter().map(UnionItem::Name).collect())
                };
                return Ok((seg, next));
            }
        }
        _ => {
            let start = i;
            while i < chars.len() && chars[i] != ']' {
                i += 1;
            }
            let body: String = chars[start..i].iter().collect::<String>().replace(' ', "");
            let next = close(i)?;
            if body.is_empty() {
                return Err("empty brackets".into());
            }
            let int = |s: &str| -> Result<Option<i64>, String> {
                if s.is_empty() {
                    Ok(None)
                } else {
                    s.parse::<i64>()
                        .map(Some)
                        .map_err(|_| format!("'{s}' is not an integer"))
                }
            };
            if body.contains(':') {
                let parts: Vec<&str> = body.split(':').collect();
                if parts.len() > 3 {
                    return Err("a slice has at most three parts".into());
                }
                let step = match parts.get(2) {
                    Some(s) => int(s)?,
                    None => None,
                };
                if step == Some(0) {
                    return Err("slice step must not be 0".into());
                }
                return Ok((
                    Segment::Slice {
                        start: int(parts[0])?,
                        end: int(parts[1])?,
                        step,
                    },
                    next,
                ));
            }
            if body.contains(',') {
                let items = body
                    .split(',')
                    .map(|s| {
                        int(s)?
                            .map(UnionItem::Index)
                            .ok_or_else(|| "empty union member".to_string())
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                return Ok((Segment::Union(items), next));
            }
            let idx = int(&body)?.ok_or_else(|| "empty index".to_string())?;
            Ok((Segment::Index(idx), next))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    fn sel(p: &str, v: &Value) -> Result<Value, PathError> {
        JsonPath::parse(p).expect("valid path").select(v)
    }

    #[test]
    fn definite_paths() {
        let doc = json!({"a": {"b": [1, 2, {"c": "x"}]}, "we ird": 5});
        assert_eq!(sel("$", &doc).expect("root"), doc);
        assert_eq!(sel("$.a.b[0]", &doc).expect("idx"), json!(1));
        assert_eq!(sel("$.a.b[2].c", &doc).expect("nested"), json!("x"));
        assert_eq!(sel("$['a']['b'][1]", &doc).expect("brackets"), json!(2));
        assert_eq!(sel("$['we ird']", &doc).expect("quoted"), json!(5));
        assert_eq!(sel("$.a.b[-1].c", &doc).expect("negative"), json!("x"));
        let err = sel("$.a.nope", &doc).expect_err("missing");
        assert_eq!(
            err.to_string(),
            "Invalid path '$.a.nope' : No results for path: $['a']['nope']"
        );
    }

    #[test]
    fn indefinite_paths() {
        let doc = json!({"items": [{"id": 1}, {"id": 2}, {"id": 3}], "o": {"x": {"id": 9}}});
        assert_eq!(sel("$.items[*].id", &doc).expect("wild"), json!([1, 2, 3]));
        assert_eq!(sel("$.items[-1:].id", &doc).expect("slice"), json!([3]));
        assert_eq!(sel("$.items[0:2].id", &doc).expect("slice"), json!([1, 2]));
        assert_eq!(sel("$.items[::2].id", &doc).expect("step"), json!([1, 3]));
        assert_eq!(sel("$.items[0,2].id", &doc).expect("union"), json!([1, 3]));
        assert_eq!(sel("$..id", &doc).expect("descendant"), json!([1, 2, 3, 9]));
        assert_eq!(sel("$.nothing[*]", &doc).expect("empty"), json!([]));
    }

    #[test]
    fn filters() {
        let doc = json!({"limit": 10, "items": [
            {"sku": "a", "price": 5, "type": "physical"},
            {"sku": "b", "price": 15, "type": "digital"},
            {"sku": "c", "price": 25, "type": "physical", "gift": true}
        ]});
        assert_eq!(
            sel("$.items[?(@.type == 'physical')].sku", &doc).expect("eq"),
            json!(["a", "c"])
        );
        assert_eq!(
            sel("$.items[?(@.price > $.limit)].sku", &doc).expect("root"),
            json!(["b", "c"])
        );
        assert_eq!(sel("$.items[?(@.gift)].sku", &doc).expect("exists"), json!(["c"]));
        assert_eq!(
            sel("$.items[?(@.price < 20 && !(@.type == \"digital\"))].sku", &doc).expect("and/not"),
            json!(["a"])
        );
        assert_eq!(
            sel("$.items[?(@.price >= 25 || @.sku != 'a')].sku", &doc).expect("or"),
            json!(["b", "c"])
        );
        assert_eq!(sel("$.items[?(@.missing == 1)]", &doc).expect("none"), json!([]));
    }

    #[test]
    fn syntax_errors() {
        for bad in ["a.b", "$.", "$[", "$.a[?(@.x", "$.a[?@.x]", "$[1:2:0]", "$.a b"] {
            assert!(JsonPath::parse(bad).is_err(), "{bad} should be rejected");
        }
        assert!(JsonPath::parse("$$.Execution.Id").expect("ctx").is_context());
    }

    #[test]
    fn set_reference_paths() {
        let mut doc = json!({"a": 1});
        JsonPath::parse("$.r.deep")
            .expect("p")
            .set(&mut doc, json!(2))
            .expect("set");
        assert_eq!(doc, json!({"a": 1, "r": {"deep": 2}}));
        let mut doc = json!({"a": 1});
        JsonPath::parse("$")
            .expect("p")
            .set(&mut doc, json!("x"))
            .expect("root");
        assert_eq!(doc, json!("x"));
        let mut doc = json!({"a": "str"});
        assert!(
            JsonPath::parse("$.a.b")
                .expect("p")
                .set(&mut doc, json!(1))
                .is_err()
        );
        let mut doc = json!({"l": [0, 0]});
        JsonPath::parse("$.l[1]")
            .expect("p")
            .set(&mut doc, json!(5))
            .expect("index");
        assert_eq!(doc, json!({"l": [0, 5]}));
        assert!(
            JsonPath::parse("$.l[*]")
                .expect("p")
                .set(&mut doc, json!(1))
                .is_err()
        );
    }
}
