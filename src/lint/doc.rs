//! A small document tree that remembers where each value and key came from,
//! shared by the JSON and YAML readers so the rules see one shape.

use std::fmt;

/// 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_pos: Pos,
    pub value: Node,
}

impl Node {
    /// The value under `key`; the last one wins, as in Jackson. `null` counts as absent.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .rev()
                .find(|e| e.key == key && !matches!(e.value.value, Value::Null)),
            _ => None,
        }
    }

    pub fn entries(&self) -> &[Entry] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// What kind of value this is, in words for messages.
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a fractional number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "an object",
        }
    }
}

/// keycloak-config-cli replaces `$(env:VAR)`-style expressions before Keycloak
/// sees the value, so such a string stands for a value we cannot know.
pub fn is_substitution(s: &str) -> bool {
    s.contains("$(")
}

/// An integer as Jackson would read it into an `Integer` field.
pub enum IntVal {
    Int(i64),
    Opaque,
    Wrong,
}

pub fn int_of(node: &Node) -> IntVal {
    match &node.value {
        Value::Int(i) => IntVal::Int(*i),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => IntVal::Int(*f as i64),
        Value::Str(s) if is_substitution(s) => IntVal::Opaque,
        Value::Str(s) => s.trim().parse::<i64>().map_or(IntVal::Wrong, IntVal::Int),
        _ => IntVal::Wrong,
    }
}

/// A boolean as Jackson would read it into a `Boolean` field.
pub enum BoolVal {
    Bool(bool),
    Opaque,
    Wrong,
}

pub fn bool_of(node: &Node) -> BoolVal {
    match &node.value {
        Value::Bool(b) => BoolVal::Bool(*b),
        Value::Str(s) if is_substitution(s) => BoolVal::Opaque,
        Value::Str(s) if s == "true" => BoolVal::Bool(true),
        Value::Str(s) if s == "false" => BoolVal::Bool(false),
        _ => BoolVal::Wrong,
    }
}

/// A scalar as the string Keycloak stores in a `Map<String, String>` (authenticator config).
pub fn scalar_text(node: &Node) -> Option<String> {
    match &node.value {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// RFC 6901 pointer, built one reference token at a time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pointer(String);

impl Pointer {
    pub fn root() -> Self {
        Pointer(String::new())
    }

    pub fn key(&self, token: &str) -> Self {
        let escaped = token.replace('~', "~0").replace('/', "~1");
        Pointer(format!("{}/{}", self.0, escaped))
    }

    pub fn index(&self, i: usize) -> Self {
        Pointer(format!("{}/{}", self.0, i))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("/")
        } else {
            f.write_str(&self.0)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub pos: Option<Pos>,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(p) => write!(f, "line {} column {}: {}", p.line, p.column, self.message),
            None => f.write_str(&self.message),
        }
    }
}

const MAX_DEPTH: usize = 256;

/// Parses strict JSON (RFC 8259) into a positioned tree.
///
/// serde_json checks the text first so syntax errors carry its well-known
/// wording; our own pass then only has to record where things are.
pub fn parse_json(text: &str) -> Result<Node, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        let pos = (e.line() > 0).then(|| Pos {
            line: e.line(),
            column: e.column().max(1),
        });
        let full = e.to_string();
        let message = match full.rfind(" at line ") {
            Some(i) => full[..i].to_string(),
            None => full,
        };
        return Err(ParseError { pos, message });
    }
    let mut p = JsonParser {
        bytes: text.as_bytes(),
        text,
        at: 0,
        line: 1,
        column: 1,
    };
    p.skip_ws();
    let node = p.value(0)?;
    p.skip_ws();
    if p.at < p.bytes.len() {
        return Err(p.error("trailing characters"));
    }
    Ok(node)
}

struct JsonParser<'a> {
    bytes: &'a [u8],
    text: &'a str,
    at: usize,
    line: usize,
    column: usize,
}

impl JsonParser<'_> {
    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.column,
        }
    }

    fn error(&self, message: &str) -> ParseError {
        ParseError {
            pos: Some(self.pos()),
            message: message.to_string(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        if b == b'\n' {
            self.line += 1;
            self.column = 1;
        } else if b & 0xC0 != 0x80 {
            // Count characters, not the continuation bytes of UTF-8 sequences.
            self.column += 1;
        }
        Some(b)
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.bump();
        }
    }

    fn expect(&mut self, b: u8) -> Result<(), ParseError> {
        if self.peek() == Some(b) {
            self.bump();
            Ok(())
        } else {
            Err(self.error(&format!("expected `{}`", b as char)))
        }
    }

    fn literal(&mut self, word: &str) -> Result<(), ParseError> {
        if self.bytes[self.at..].starts_with(word.as_bytes()) {
            for _ in 0..word.len() {
                self.bump();
            }
            Ok(())
        } else {
            Err(self.error("expected a value"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        let pos = self.pos();
        let value = match self.peek() {
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => Value::Str(self.string()?),
            Some(b't') => {
                self.literal("true")?;
                Value::Bool(true)
            }
            Some(b'f') => {
                self.literal("false")?;
                Value::Bool(false)
            }
            Some(b'n') => {
                self.literal("null")?;
                Value::Null
            }
            Some(b'-' | b'0'..=b'9') => self.number()?,
            _ => return Err(self.error("expected a value")),
        };
        Ok(Node { value, pos })
    }

    fn object(&mut self, depth: usize) -> Result<Value, ParseError> {
        self.expect(b'{')?;
        let mut entries = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.bump();
            return Ok(Value::Map(entries));
        }
        loop {
            self.skip_ws();
            let key_pos = self.pos();
            let key = self.string()?;
            self.skip_ws();
            self.expect(b':')?;
            self.skip_ws();
            let value = self.value(depth + 1)?;
            entries.push(Entry {
                key,
                key_pos,
                value,
            });
            self.skip_ws();
            match self.bump() {
                Some(b',') => continue,
                Some(b'}') => return Ok(Value::Map(entries)),
                _ => return Err(self.error("expected `,` or `}`")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, ParseError> {
        self.expect(b'[')?;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.bump();
            return Ok(Value::Seq(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.bump() {
                Some(b',') => continue,
                Some(b']') => return Ok(Value::Seq(items)),
                _ => return Err(self.error("expected `,` or `]`")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = self
                .bump()
                .and_then(|b| (b as char).to_digit(16))
                .ok_or_else(|| self.error("invalid \\u escape"))?;
            v = v * 16 + d;
        }
        Ok(v)
    }

    fn string(&mut self) -> Result<String, ParseError> {
        self.expect(b'"')?;
        let mut out = String::new();
        loop {
            let start = self.at;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.bump();
            }
            out.push_str(self.text.get(start..self.at).unwrap_or_default());
            match self.bump() {
                Some(b'"') => return Ok(out),
                Some(b'\\') => {
                    let c = match self.bump() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                self.expect(b'\\')?;
                                self.expect(b'u')?;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.error("invalid surrogate pair"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            char::from_u32(code).ok_or_else(|| self.error("invalid \\u escape"))?
                        }
                        _ => return Err(self.error("invalid escape")),
                    };
                    out.push(c);
                }
                _ => return Err(self.error("unterminated string")),
            }
        }
    }

    fn number(&mut self) -> Result<Value, ParseError> {
        let start = self.at;
        let mut integral = true;
        while let Some(b) = self.peek() {
            match b {
                b'0'..=b'9' | b'-' | b'+' => {}
                b'.' | b'e' | b'E' => integral = false,
                _ => break,
            }
            self.bump();
        }
        let raw = self.text.get(start..self.at).unwrap_or_default();
        if integral {
            if let Ok(i) = raw.parse::<i64>() {
                return Ok(Value::Int(i));
            }
        }
        raw.parse::<f64>()
            .map(Value::Float)
            .map_err(|_| self.error("invalid number"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn json_positions_and_values() {
        let doc = parse_json(
            "{\n  \"a\": [1, 2.5, \"x\\u00e9\"],\n  \"é\": {\"b\": null, \"c\": true}\n}",
        )
        .unwrap();
        let a = doc.entry("a").unwrap();
        assert_eq!(a.key_pos, Pos { line: 2, column: 3 });
        assert_eq!(a.value.pos, Pos { line: 2, column: 8 });
        let items = a.value.items();
        assert_eq!(items[0].value, Value::Int(1));
        assert_eq!(items[1].value, Value::Float(2.5));
        assert_eq!(items[2].value, Value::Str("xé".into()));
        assert_eq!(
            items[2].pos,
            Pos {
                line: 2,
                column: 17
            }
        );
        let e = doc.entry("é").unwrap();
        // Columns count characters: the value after `"é": ` starts at column 8.
        assert_eq!(e.value.pos, Pos { line: 3, column: 8 });
        assert!(e.value.get("b").is_none(), "null counts as absent");
        assert_eq!(e.value.get("c").unwrap().value, Value::Bool(true));
    }

    #[test]
    fn json_syntax_error_has_location() {
        let err = parse_json("{\n  \"a\": 1,\n}").unwrap_err();
        assert_eq!(err.pos.map(|p| p.line), Some(3));
        assert!(!err.message.contains(" at line "), "{}", err.message);
        assert!(err.to_string().starts_with("line 3 column 1: "), "{err}");
    }

    #[test]
    fn pointer_escapes() {
        let p = Pointer::root().key("a/b").key("c~d").index(3);
        assert_eq!(p.as_str(), "/a~1b/c~0d/3");
        assert_eq!(Pointer::root().to_string(), "/");
    }

    #[test]
    fn surrogate_pairs_and_big_numbers() {
        let doc = parse_json("[\"\\ud83d\\ude00\", 12345678901234567890, -0]").unwrap();
        assert_eq!(doc.items()[0].value, Value::Str("😀".into()));
        assert!(matches!(doc.items()[1].value, Value::Float(_)));
        assert_eq!(doc.items()[2].value, Value::Int(0));
    }
}
