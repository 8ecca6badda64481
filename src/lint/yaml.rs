//! YAML (keycloak-config-cli files) into the positioned tree, one node per document.
//!
//! Plain scalars resolve with the YAML 1.2 core schema; anchors, aliases and
//! `<<` merge keys are followed, as config-cli's parser does.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::doc::{Entry, Node, ParseError, Pos, Value};

/// Realm files nest a few levels; a bound keeps hostile input from exhausting the stack.
/// Aliases count with the depth of what they repeat.
const MAX_DEPTH: usize = 256;
/// Nodes that aliases may repeat in one file, all aliases together: far above
/// what a config-cli file reuses, far below what exhausts memory or time
/// (a "billion laughs" of nested aliases).
const MAX_ALIASED_NODES: usize = 250_000;

/// Height (levels, a scalar is 1) and size (nodes) of a finished node.
#[derive(Clone, Copy)]
struct Extent {
    height: usize,
    size: usize,
}

impl Extent {
    const LEAF: Extent = Extent { height: 1, size: 1 };

    /// Grows a collection's extent by one child.
    fn add(&mut self, child: Extent) {
        self.height = self.height.max(child.height + 1);
        self.size = self.size.saturating_add(child.size);
    }
}

fn pos_of(span: &Span) -> Pos {
    Pos {
        line: span.start.line(),
        column: span.start.col() + 1,
    }
}

enum Frame {
    Seq {
        pos: Pos,
        anchor: usize,
        items: Vec<Node>,
        extent: Extent,
    },
    Map {
        pos: Pos,
        anchor: usize,
        entries: Vec<Entry>,
        key: Option<(String, Pos)>,
        extent: Extent,
    },
}

/// Resolves a plain scalar the way the YAML 1.2 core schema does.
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = text.parse::<i64>() {
            return Value::Int(i);
        }
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if let Ok(i) = i64::from_str_radix(hex, 16) {
            return Value::Int(i);
        }
    }
    if let Some(oct) = text.strip_prefix("0o") {
        if let Ok(i) = i64::from_str_radix(oct, 8) {
            return Value::Int(i);
        }
    }
    let looks_float = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && text.bytes().any(|b| b.is_ascii_digit());
    if looks_float {
        if let Ok(f) = text.parse::<f64>() {
            return Value::Float(f);
        }
    }
    Value::Str(text.to_string())
}

fn scalar_value(text: &str, style: ScalarStyle, tag: Option<&saphyr_parser::Tag>) -> Value {
    if let Some(tag) = tag {
        if tag.is_yaml_core_schema() {
            return match tag.suffix.as_str() {
                "str" => Value::Str(text.to_string()),
                "int" => text
                    .parse::<i64>()
                    .map_or_else(|_| Value::Str(text.to_string()), Value::Int),
                "bool" => resolve_plain(text),
                "null" => Value::Null,
                "float" => text
                    .parse::<f64>()
                    .map_or_else(|_| Value::Str(text.to_string()), Value::Float),
                _ => Value::Str(text.to_string()),
            };
        }
    }
    match style {
        ScalarStyle::Plain => resolve_plain(text),
        _ => Value::Str(text.to_string()),
    }
}

/// Inserts `<<` merge sources: keys already present win.
fn merge_into(entries: &mut Vec<Entry>, source: &Node) -> Result<(), ParseError> {
    let sources: Vec<&Node> = match &source.value {
        Value::Map(_) => vec![source],
        Value::Seq(items) => items.iter().collect(),
        _ => {
            return Err(ParseError {
                pos: Some(source.pos),
                message: "a `<<` merge key needs a mapping or a list of mappings".into(),
            })
        }
    };
    for s in sources {
        for e in s.entries() {
            if !entries.iter().any(|x| x.key == e.key) {
                entries.push(e.clone());
            }
        }
    }
    Ok(())
}

/// Every document of the stream; empty documents are left out.
pub fn parse_yaml(text: &str) -> Result<Vec<Node>, ParseError> {
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, (Node, Extent)> = HashMap::new();
    let mut aliased_nodes: usize = 0;
    let mut root: Option<Node> = None;

    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| ParseError {
            pos: Some(Pos {
                line: e.marker().line(),
                column: e.marker().col() + 1,
            }),
            message: e.info().to_string(),
        })?;
        let pos = pos_of(&span);
        let complete: Option<(Node, usize, Extent)> = match event {
            Event::StreamStart | Event::Nothing | Event::DocumentStart(_) => None,
            Event::StreamEnd => break,
            Event::DocumentEnd => {
                if let Some(node) = root.take() {
                    if node.value != Value::Null {
                        docs.push(node);
                    }
                }
                anchors.clear();
                None
            }
            Event::Alias(id) => {
                let (node, extent) = anchors.get(&id).ok_or_else(|| ParseError {
                    pos: Some(pos),
                    message: "alias to an unknown anchor".into(),
                })?;
                // Checked before the copy: a chain of aliases nests (and a
                // tree of them grows) without bound in a small file.
                if stack.len() + extent.height > MAX_DEPTH + 1 {
                    return Err(ParseError {
                        pos: Some(pos),
                        message: format!(
                            "this alias nests its anchor deeper than {MAX_DEPTH} levels"
                        ),
                    });
                }
                aliased_nodes = aliased_nodes.saturating_add(extent.size);
                if aliased_nodes > MAX_ALIASED_NODES {
                    return Err(ParseError {
                        pos: Some(pos),
                        message: format!(
                            "aliases repeat more than {MAX_ALIASED_NODES} nodes in this file"
                        ),
                    });
                }
                let extent = *extent;
                Some((
                    Node {
                        pos,
                        ..node.clone()
                    },
                    0,
                    extent,
                ))
            }
            Event::Scalar(text, style, anchor, tag) => {
                if let Some(Frame::Map { key, .. }) = stack.last_mut() {
                    if key.is_none() {
                        *key = Some((text.to_string(), pos));
                        if anchor > 0 {
                            anchors.insert(
                                anchor,
                                (
                                    Node {
                                        value: Value::Str(text.to_string()),
                                        pos,
                                    },
                                    Extent::LEAF,
                                ),
                            );
                        }
                        continue;
                    }
                }
                let value = scalar_value(&text, style, tag.as_deref());
                Some((Node { value, pos }, anchor, Extent::LEAF))
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if let Some(Frame::Map { key: None, .. }) = stack.last() {
                    return Err(ParseError {
                        pos: Some(pos),
                        message: "complex (non-scalar) mapping keys are not supported".into(),
                    });
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(ParseError {
                        pos: Some(pos),
                        message: format!("nested deeper than {MAX_DEPTH} levels"),
                    });
                }
                if matches!(event, Event::SequenceStart(..)) {
                    stack.push(Frame::Seq {
                        pos,
                        anchor,
                        items: Vec::new(),
                        extent: Extent::LEAF,
                    });
                } else {
                    stack.push(Frame::Map {
                        pos,
                        anchor,
                        entries: Vec::new(),
                        key: None,
                        extent: Extent::LEAF,
                    });
                }
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq {
                    pos,
                    anchor,
                    items,
                    extent,
                }) => Some((
                    Node {
                        value: Value::Seq(items),
                        pos,
                    },
                    anchor,
                    extent,
                )),
                Some(Frame::Map {
                    pos,
                    anchor,
                    entries,
                    extent,
                    ..
                }) => Some((
                    Node {
                        value: Value::Map(entries),
                        pos,
                    },
                    anchor,
                    extent,
                )),
                None => {
                    return Err(ParseError {
                        pos: Some(pos),
                        message: "unbalanced collection end".into(),
                    })
                }
            },
        };
        let Some((node, anchor, node_extent)) = complete else {
            continue;
        };
        if anchor > 0 {
            anchors.insert(anchor, (node.clone(), node_extent));
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { items, extent, .. }) => {
                extent.add(node_extent);
                items.push(node);
            }
            Some(Frame::Map {
                entries,
                key,
                extent,
                ..
            }) => {
                extent.add(node_extent);
                if let Some((k, key_pos)) = key.take() {
                    if k == "<<" {
                        merge_into(entries, &node)?;
                    } else {
                        entries.push(Entry {
                            key: k,
                            key_pos,
                            value: node,
                        });
                    }
                }
            }
        }
    }
    if let Some(node) = root.take() {
        if node.value != Value::Null {
            docs.push(node);
        }
    }
    Ok(docs)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn documents_positions_and_types() {
        let docs = parse_yaml(
            "realm: a\notpPolicyDigits: 8\nflag: true\nq: '8'\nenv: $(env:DIGITS)\n---\nrealm: b\nlist:\n  - x\n  - 0x10\n",
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        let a = &docs[0];
        assert_eq!(a.get("otpPolicyDigits").unwrap().value, Value::Int(8));
        assert_eq!(
            a.entry("otpPolicyDigits").unwrap().key_pos,
            Pos { line: 2, column: 1 }
        );
        assert_eq!(
            a.get("otpPolicyDigits").unwrap().pos,
            Pos {
                line: 2,
                column: 18
            }
        );
        assert_eq!(a.get("flag").unwrap().value, Value::Bool(true));
        assert_eq!(a.get("q").unwrap().value, Value::Str("8".into()));
        assert_eq!(
            a.get("env").unwrap().value,
            Value::Str("$(env:DIGITS)".into())
        );
        let b = &docs[1];
        assert_eq!(b.get("realm").unwrap().pos.line, 7);
        assert_eq!(b.get("list").unwrap().items()[1].value, Value::Int(16));
        assert_eq!(
            b.get("list").unwrap().items()[1].pos,
            Pos {
                line: 10,
                column: 5
            }
        );
    }

    #[test]
    fn anchors_and_merge_keys() {
        let docs =
            parse_yaml("base: &b\n  ttl: 300\n  len: 6\nuse:\n  <<: *b\n  len: 8\nsame: *b\n")
                .unwrap();
        let d = &docs[0];
        let used = d.get("use").unwrap();
        assert_eq!(used.get("len").unwrap().value, Value::Int(8));
        assert_eq!(used.get("ttl").unwrap().value, Value::Int(300));
        assert_eq!(
            d.get("same").unwrap().get("len").unwrap().value,
            Value::Int(6)
        );
    }

    #[test]
    fn syntax_error_has_location() {
        let err = parse_yaml("realm: a\n  bad: [1, 2\n").unwrap_err();
        assert!(err.pos.is_some(), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = format!("{}x{}", "[".repeat(200), "]".repeat(200));
        assert!(parse_yaml(&deep).is_ok());
        let mut block = String::new();
        for i in 0..300 {
            block.push_str(&" ".repeat(i));
            block.push_str("k:\n");
        }
        let err = parse_yaml(&block).unwrap_err();
        assert!(err.message.contains("nested deeper"), "{err}");
    }

    /// Found by fuzzing: each alias repeated its anchor one level deeper, so a
    /// 125 KB file of chained aliases overflowed the stack (an abort, not an error).
    #[test]
    fn chained_aliases_cannot_nest_past_the_bound() {
        let level = |i: usize, inner: &str| {
            format!(
                "a{i}: &a{i} {}{inner}{}\n",
                "[".repeat(100),
                "]".repeat(100)
            )
        };
        let mut chain = level(0, "");
        chain.push_str(&level(1, "*a0"));
        assert!(parse_yaml(&chain).is_ok(), "two links of 100 levels fit");
        for i in 2..300 {
            chain.push_str(&level(i, &format!("*a{}", i - 1)));
        }
        let err = parse_yaml(&chain).unwrap_err();
        assert_eq!(err.pos.map(|p| p.line), Some(3), "{err}");
        assert!(err.message.contains("deeper than 256 levels"), "{err}");
    }

    #[test]
    fn a_billion_laughs_is_refused() {
        let mut laughs =
            String::from("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..10 {
            let refs = vec![format!("*l{}", i - 1); 10].join(", ");
            laughs.push_str(&format!("l{i}: &l{i} [{refs}]\n"));
        }
        let err = parse_yaml(&laughs).unwrap_err();
        assert!(
            err.message
                .contains("aliases repeat more than 250000 nodes"),
            "{err}"
        );
        // Ordinary reuse stays well inside the budget.
        let reuse = "base: &b {ttl: 300, len: 6}\n".to_string()
            + &(0..1000).map(|i| format!("k{i}: *b\n")).collect::<String>();
        assert_eq!(parse_yaml(&reuse).unwrap().len(), 1);
    }

    #[test]
    fn empty_documents_are_skipped() {
        assert!(parse_yaml("").unwrap().is_empty());
        assert_eq!(parse_yaml("---\nrealm: a\n---\n").unwrap().len(), 1);
    }
}
