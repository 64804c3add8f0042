//! One document tree for every config format, with the 1-based line and column of every key and
//! value, so a finding can point at the exact key whatever the file was written in.

/// 1-based line and column; `line == 0` means "no position" (a value the engine made up, such as
/// a product default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl Pos {
    pub fn new(line: usize, col: usize) -> Self {
        Pos {
            line: line as u32,
            col: col as u32,
        }
    }
    pub fn known(self) -> bool {
        self.line > 0
    }
}

/// A map key with where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub name: String,
    pub pos: Pos,
}

/// A value: scalars keep their text (YAML `true`, TOML `8080` and a properties value alike are
/// text), so operators decide how to read them.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Null,
    Scalar(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub kind: Kind,
}

impl Node {
    pub fn scalar(text: impl Into<String>, pos: Pos) -> Node {
        Node {
            pos,
            kind: Kind::Scalar(text.into()),
        }
    }
    pub fn map(entries: Vec<(Key, Node)>, pos: Pos) -> Node {
        Node {
            pos,
            kind: Kind::Map(entries),
        }
    }
    pub fn seq(items: Vec<Node>, pos: Pos) -> Node {
        Node {
            pos,
            kind: Kind::Seq(items),
        }
    }
    pub fn null(pos: Pos) -> Node {
        Node {
            pos,
            kind: Kind::Null,
        }
    }

    /// The value under `key` of a map.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The entry (key with its position, value) under `key` of a map.
    pub fn entry(&self, key: &str) -> Option<(&Key, &Node)> {
        match &self.kind {
            Kind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.name == key)
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// Follow a dotted path of plain keys.
    pub fn at(&self, dotted: &str) -> Option<&Node> {
        dotted.split('.').try_fold(self, |n, k| n.get(k))
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    pub fn items(&self) -> &[Node] {
        match &self.kind {
            Kind::Seq(items) => items,
            _ => &[],
        }
    }

    pub fn entries(&self) -> &[(Key, Node)] {
        match &self.kind {
            Kind::Map(entries) => entries,
            _ => &[],
        }
    }

    /// The text of a scalar, or a short rendering of a collection (for messages).
    pub fn display(&self) -> String {
        match &self.kind {
            Kind::Null => "null".into(),
            Kind::Scalar(s) => s.clone(),
            Kind::Seq(items) => {
                let parts: Vec<String> = items.iter().take(8).map(|n| n.display()).collect();
                format!("[{}]", parts.join(", "))
            }
            Kind::Map(entries) => {
                let parts: Vec<String> = entries
                    .iter()
                    .take(8)
                    .map(|(k, v)| format!("{}: {}", k.name, v.display()))
                    .collect();
                format!("{{{}}}", parts.join(", "))
            }
        }
    }
}

/// Maps byte offsets of a text to 1-based line/column (columns count characters).
pub struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        LineIndex { text, starts }
    }
    pub fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let col = self
            .text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(offset - start);
        Pos::new(line + 1, col + 1)
    }
}

/// A YAML syntax error with where it happened.
#[derive(Debug)]
pub struct SyntaxError {
    pub message: String,
    pub pos: Pos,
}

/// Parse every document of a YAML stream (see [`super::yaml`]).
pub fn parse_yaml(text: &str) -> Result<Vec<Node>, SyntaxError> {
    super::yaml::parse(text)
}

/// Parse a TOML document into a [`Node`] tree with positions.
pub fn parse_toml(text: &str) -> Result<Node, SyntaxError> {
    use toml::de::{DeTable, DeValue};
    let index = LineIndex::new(text);
    let parsed = DeTable::parse(text).map_err(|e| SyntaxError {
        message: e.message().to_string(),
        pos: e.span().map(|s| index.pos(s.start)).unwrap_or_default(),
    })?;
    fn value(v: &toml::Spanned<DeValue<'_>>, index: &LineIndex<'_>) -> Node {
        let pos = index.pos(v.span().start);
        match v.get_ref() {
            DeValue::String(s) => Node::scalar(s.to_string(), pos),
            DeValue::Integer(i) => Node::scalar(i.to_string(), pos),
            DeValue::Float(f) => Node::scalar(f.to_string(), pos),
            DeValue::Boolean(b) => Node::scalar(b.to_string(), pos),
            DeValue::Datetime(d) => Node::scalar(d.to_string(), pos),
            DeValue::Array(items) => {
                Node::seq(items.iter().map(|i| value(i, index)).collect(), pos)
            }
            DeValue::Table(t) => table(t, pos, index),
        }
    }
    fn table(t: &DeTable<'_>, pos: Pos, index: &LineIndex<'_>) -> Node {
        let entries = t
            .iter()
            .map(|(k, v)| {
                (
                    Key {
                        name: k.get_ref().to_string(),
                        pos: index.pos(k.span().start),
                    },
                    value(v, index),
                )
            })
            .collect();
        Node::map(entries, pos)
    }
    Ok(table(parsed.get_ref(), Pos::new(1, 1), &index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_positions() {
        let n = parse_toml("[a]\nb = \"x\"\nc = [1, 2]\n").unwrap();
        let (k, v) = n.get("a").unwrap().entry("b").unwrap();
        assert_eq!((k.pos.line, k.pos.col), (2, 1));
        assert_eq!(v.as_str(), Some("x"));
        assert_eq!(n.at("a.c").unwrap().items()[1].as_str(), Some("2"));
    }

    #[test]
    fn line_index_counts_chars() {
        let idx = LineIndex::new("ab\nçd\n");
        assert_eq!(idx.pos(0), Pos::new(1, 1));
        assert_eq!(idx.pos(3), Pos::new(2, 1));
        assert_eq!(idx.pos(5), Pos::new(2, 2));
    }
}
