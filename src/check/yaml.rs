//! The YAML reader: libyaml's grammar (through `libyaml-safer`, a safe port of libyaml, so what
//! `kubectl`, PyYAML and go-yaml accept is accepted here), built into [`Node`] trees that keep the
//! 1-based line and column of every key and value.
//!
//! Anchors, aliases and `<<` merge keys are resolved. Alias expansion is bounded: a "billion
//! laughs" file (aliases of aliases) would otherwise grow without limit, so the nodes added by
//! aliases may not exceed [`alias_budget`] of the input; past it the file is a syntax error
//! (reported as `check/parse-error`, never an abort).

use super::doc::{Key, Kind, Node, Pos, SyntaxError};
use libyaml_safer::{EventData, Mark, Parser, ScalarStyle};
use std::collections::HashMap;

/// Deepest nesting accepted (a deeper file is an error, not a stack overflow).
pub const MAX_DEPTH: usize = 256;

/// How many nodes aliases may add for an input of `len` bytes: 100,000, or half a node per
/// input byte for larger files (a few hundred MB at the 16 MiB file limit, never more).
pub fn alias_budget(len: usize) -> usize {
    (len / 2).max(100_000)
}

fn pos(m: Mark) -> Pos {
    Pos::new(m.line as usize + 1, m.column as usize + 1)
}

fn size(n: &Node) -> usize {
    1 + match &n.kind {
        Kind::Seq(items) => items.iter().map(size).sum(),
        Kind::Map(entries) => entries.iter().map(|(_, v)| 1 + size(v)).sum(),
        _ => 0,
    }
}

enum Frame {
    Seq(Node, Option<String>),
    Map(Node, Option<Key>, Option<String>, Pos),
}

struct Builder {
    docs: Vec<Node>,
    stack: Vec<Frame>,
    /// anchor name → (node, its size in nodes)
    anchors: HashMap<String, (Node, usize)>,
    expanded: usize,
    budget: usize,
}

impl Builder {
    fn push_value(&mut self, node: Node, anchor: Option<String>) {
        if let Some(a) = anchor {
            let n = size(&node);
            self.anchors.insert(a, (node.clone(), n));
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq(seq, _)) => {
                if let Kind::Seq(items) = &mut seq.kind {
                    items.push(node);
                }
            }
            Some(Frame::Map(map, pending, _, _)) => match pending.take() {
                None => {
                    let name = match &node.kind {
                        Kind::Scalar(s) => s.clone(),
                        Kind::Null => String::new(),
                        _ => node.display(),
                    };
                    *pending = Some(Key {
                        name,
                        pos: node.pos,
                    });
                }
                Some(key) => {
                    if let Kind::Map(entries) = &mut map.kind {
                        merge_entry(entries, key, node);
                    }
                }
            },
        }
    }
}

/// Insert one entry; `<<` merges the entries of a map (or of each map in a list) that are not
/// already present; a duplicate key keeps the last value, as libyaml-based loaders do.
fn merge_entry(entries: &mut Vec<(Key, Node)>, key: Key, node: Node) {
    if key.name == "<<" && matches!(node.kind, Kind::Map(_) | Kind::Seq(_)) {
        let sources: Vec<Node> = match node.kind {
            Kind::Map(_) => vec![node],
            Kind::Seq(items) => items,
            _ => vec![],
        };
        for src in sources {
            if let Kind::Map(src_entries) = src.kind {
                for (k, v) in src_entries {
                    if !entries.iter().any(|(e, _)| e.name == k.name) {
                        entries.push((k, v));
                    }
                }
            }
        }
    } else if let Some(slot) = entries.iter_mut().find(|(e, _)| e.name == key.name) {
        *slot = (key, node);
    } else {
        entries.push((key, node));
    }
}

fn error(message: impl Into<String>, at: Pos) -> SyntaxError {
    SyntaxError {
        message: message.into(),
        pos: at,
    }
}

/// Parse every document of a YAML stream (JSON is YAML too).
pub fn parse(text: &str) -> Result<Vec<Node>, SyntaxError> {
    let mut input = text.as_bytes();
    let mut parser = Parser::new();
    parser.set_input_string(&mut input);
    let mut b = Builder {
        docs: Vec::new(),
        stack: Vec::new(),
        anchors: HashMap::new(),
        expanded: 0,
        budget: alias_budget(text.len()),
    };
    loop {
        let ev = parser.parse().map_err(|e| {
            let at = e.problem_mark().map(pos).unwrap_or_default();
            let mut msg = e.problem().to_string();
            if let Some(c) = e.context() {
                msg = format!("{msg} ({c}");
                if let Some(cm) = e.context_mark() {
                    msg.push_str(&format!(" at line {}", cm.line + 1));
                }
                msg.push(')');
            }
            error(msg, at)
        })?;
        let at = pos(ev.start_mark);
        match ev.data {
            EventData::StreamEnd => break,
            EventData::DocumentStart { .. } => b.anchors.clear(),
            EventData::Scalar {
                anchor,
                value,
                style,
                tag,
                ..
            } => {
                let null = style == ScalarStyle::Plain
                    && tag.is_none()
                    && matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL");
                let node = if null {
                    Node::null(at)
                } else {
                    Node::scalar(value, at)
                };
                b.push_value(node, anchor);
            }
            EventData::SequenceStart { anchor, .. } => {
                if b.stack.len() >= MAX_DEPTH {
                    return Err(error(format!("nesting deeper than {MAX_DEPTH} levels"), at));
                }
                b.stack.push(Frame::Seq(Node::seq(vec![], at), anchor));
            }
            EventData::MappingStart { anchor, .. } => {
                if b.stack.len() >= MAX_DEPTH {
                    return Err(error(format!("nesting deeper than {MAX_DEPTH} levels"), at));
                }
                b.stack
                    .push(Frame::Map(Node::map(vec![], at), None, anchor, at));
            }
            EventData::SequenceEnd => {
                if let Some(Frame::Seq(mut node, anchor)) = b.stack.pop() {
                    if let Kind::Seq(items) = &mut node.kind {
                        items.shrink_to_fit();
                    }
                    b.push_value(node, anchor);
                }
            }
            EventData::MappingEnd => {
                if let Some(Frame::Map(mut node, _, anchor, start)) = b.stack.pop() {
                    if let Kind::Map(entries) = &mut node.kind {
                        entries.shrink_to_fit();
                    }
                    // A mapping's position is its first key (for a flow mapping, the `{`).
                    node.pos = node.entries().first().map(|(k, _)| k.pos).unwrap_or(start);
                    b.push_value(node, anchor);
                }
            }
            EventData::Alias { anchor } => {
                let Some((node, n)) = b.anchors.get(&anchor) else {
                    return Err(error(format!("alias *{anchor} names no anchor"), at));
                };
                b.expanded = b.expanded.saturating_add(*n);
                if b.expanded > b.budget {
                    return Err(error(
                        format!(
                            "aliases expand to more than {} nodes for a {}-byte file (a \"billion laughs\" alias bomb?); not expanded",
                            b.budget,
                            text.len()
                        ),
                        at,
                    ));
                }
                let mut node = node.clone();
                node.pos = at;
                b.push_value(node, None);
            }
            EventData::StreamStart { .. } | EventData::DocumentEnd { .. } => {}
        }
    }
    Ok(b.docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        let docs = parse(text).unwrap_or_else(|e| panic!("{text:?}: {} at {:?}", e.message, e.pos));
        assert_eq!(docs.len(), 1, "{text:?}");
        docs.into_iter().next().unwrap()
    }

    #[test]
    fn positions_are_one_based() {
        let docs = parse("a: 1\n---\nkind: Pod\nspec:\n  containers:\n    - name: x\n      args: [\"--foo\", bar]\n").unwrap();
        assert_eq!(docs.len(), 2);
        let (k, v) = docs[1].entry("kind").unwrap();
        assert_eq!((k.pos.line, k.pos.col), (3, 1));
        assert_eq!((v.pos.line, v.pos.col), (3, 7));
        let c = &docs[1].at("spec.containers").unwrap().items()[0];
        let args = c.get("args").unwrap().items();
        assert_eq!(args[1].as_str(), Some("bar"));
        assert_eq!((args[1].pos.line, args[1].pos.col), (7, 23));
    }

    #[test]
    fn columns_count_characters() {
        let d = one("é: ü\nb: x\n");
        assert_eq!(d.entry("é").unwrap().1.pos, Pos::new(1, 4));
    }

    /// YAML spec edge cases that libyaml (kubectl, PyYAML, go-yaml) accepts.
    #[test]
    fn spec_edge_cases_are_accepted() {
        // A flow sequence spread over lines, closed at the key's indentation (vLLM's k8s guide).
        let d = one(
            "spec:\n  containers:\n  - name: llm\n    args: [\n      \"vllm serve m --trust-remote-code\"\n    ]\n",
        );
        let a = &d.at("spec.containers").unwrap().items()[0]
            .get("args")
            .unwrap()
            .items()[0];
        assert_eq!(a.as_str(), Some("vllm serve m --trust-remote-code"));
        assert_eq!(a.pos, Pos::new(5, 7));
        one("args: [\n  \"a\"\n]\n");
        one("a:\n  b: {\n    c: 1,\n    d: 2\n  }\n");
        // Tab after the colon, BOM, tags, directives.
        assert_eq!(one("a:\t1\n").get("a").unwrap().as_str(), Some("1"));
        assert_eq!(
            one("\u{feff}a: 1\n").entry("a").unwrap().0.pos,
            Pos::new(1, 1)
        );
        let d = one("a: !!str 1\nb: !custom x\nc: !!null\n");
        assert_eq!(d.get("b").unwrap().as_str(), Some("x"));
        one("%YAML 1.2\n---\na: 1\n");
        // Block scalars keep their text.
        let d = one("a: |\n  x\n  y\nb: >-\n  z\n  w\n");
        assert_eq!(d.get("a").unwrap().as_str(), Some("x\ny\n"));
        assert_eq!(d.get("b").unwrap().as_str(), Some("z w"));
        // Multi-line plain and quoted scalars, complex keys, indentless sequences.
        assert_eq!(
            one("a: one\n  two\n").get("a").unwrap().as_str(),
            Some("one two")
        );
        assert_eq!(
            one("a: \"x\n  y\"\n").get("a").unwrap().as_str(),
            Some("x y")
        );
        one("? a\n: b\n");
        assert_eq!(one("a:\n- 1\n- 2\n").get("a").unwrap().items().len(), 2);
        // Multi-document with an explicit end and an empty document.
        let docs = parse("a: 1\n---\nb: 2\n...\n---\nc: 3\n---\n").unwrap();
        assert_eq!(docs.len(), 4);
        assert_eq!(docs[3].kind, Kind::Null);
        // CRLF line ends.
        assert_eq!(
            one("a: 1\r\nb: 2\r\n").entry("b").unwrap().0.pos,
            Pos::new(2, 1)
        );
        // Null forms.
        let d = one("a:\nb: ~\nc: null\nd: ''\n");
        assert_eq!(d.get("a").unwrap().kind, Kind::Null);
        assert_eq!(d.get("d").unwrap().as_str(), Some(""));
    }

    #[test]
    fn invalid_yaml_is_an_error_with_a_position() {
        for (bad, line) in [
            ("a: [\n", 2),
            ("a: b: c\n", 1),
            ("a:\n  - x\n b: y\n", 3),
            ("x: *nope\n", 1),
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.pos.line as usize, line, "{bad:?}: {}", e.message);
        }
    }

    #[test]
    fn merge_keys_and_aliases() {
        let d =
            one("base: &b {image: x, user: root}\nsvc:\n  <<: *b\n  user: app\nlist: [*b, *b]\n");
        let svc = d.get("svc").unwrap();
        assert_eq!(svc.get("image").unwrap().as_str(), Some("x"));
        assert_eq!(svc.get("user").unwrap().as_str(), Some("app"));
        assert_eq!(d.get("list").unwrap().items().len(), 2);
        let d = one("a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: [*a, *b]\n");
        assert_eq!(d.at("c.y").unwrap().as_str(), Some("2"));
    }

    #[test]
    fn alias_bombs_are_bounded() {
        let mut bomb = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        let names = ["b", "c", "d", "e", "f", "g", "h", "i"];
        let mut prev = "a";
        for n in names {
            bomb.push_str(&format!("{n}: &{n} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
            prev = n;
        }
        assert!(bomb.len() < 1000);
        let e = parse(&bomb).unwrap_err();
        assert!(e.message.contains("alias bomb"), "{}", e.message);
        // Ordinary reuse stays well inside the budget.
        let mut ok =
            String::from("x-common: &c {image: app:1, environment: {A: '1', B: '2'}}\nservices:\n");
        for i in 0..200 {
            ok.push_str(&format!("  s{i}:\n    <<: *c\n"));
        }
        assert_eq!(one(&ok).get("services").unwrap().entries().len(), 200);
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let deep = "[".repeat(MAX_DEPTH + 10);
        assert!(parse(&deep).unwrap_err().message.contains("nesting"));
    }
}
