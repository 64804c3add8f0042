//! Selectors: the paths rules use to reach into a subject.
//!
//! ```text
//! spec.template.spec.containers[*].image        dotted keys, every item of a list
//! metadata.labels."networking.kserve.io/visibility"   a quoted key with dots in it
//! containers[?name == "server"].args            items whose field equals a string
//! env[?@key =~ "(?i)_TOKEN$"]                   map entries whose key matches a regex
//! argv."--model-control-mode"                   the argv view (see model.rs)
//! **.trust_remote_code                          the key at any depth
//! selected[0].spec                              one list item
//! ```

use super::doc::{Kind, Node, Pos};
use regex::Regex;

#[derive(Clone, Debug)]
pub enum Filter {
    Eq(FieldRef, String),
    Ne(FieldRef, String),
    Matches(FieldRef, Regex),
    NotMatches(FieldRef, Regex),
    /// `a && b`: every condition holds.
    And(Vec<Filter>),
}

#[derive(Clone, Debug)]
pub enum FieldRef {
    /// `@key`: the map entry's key.
    Key,
    /// A dotted path inside the item.
    Path(Vec<String>),
}

#[derive(Clone, Debug)]
pub enum Segment {
    Key(String),
    /// `*` / `[*]`: every list item or map value.
    All,
    /// `**`: this node and every node below it.
    Descend,
    Index(usize),
    Filter(Filter),
}

/// A parsed selector.
#[derive(Clone, Debug)]
pub struct Selector {
    pub text: String,
    pub segments: Vec<Segment>,
}

/// Something a selector reached: the node, the position to report (the key, when reached
/// through one) and the concrete path taken.
#[derive(Clone, Debug)]
pub struct Hit<'a> {
    pub node: &'a Node,
    pub at: Pos,
    pub path: String,
}

fn quoted(chars: &[char], i: &mut usize) -> Result<String, String> {
    // chars[*i] == '"'
    *i += 1;
    let mut s = String::new();
    while *i < chars.len() {
        match chars[*i] {
            '"' => {
                *i += 1;
                return Ok(s);
            }
            '\\' if *i + 1 < chars.len() => {
                s.push(chars[*i + 1]);
                *i += 2;
            }
            c => {
                s.push(c);
                *i += 1;
            }
        }
    }
    Err("unterminated quoted key: add the closing `\"`".into())
}

fn parse_filter(body: &str) -> Result<Filter, String> {
    if body.contains("&&") {
        return body
            .split("&&")
            .map(|part| parse_filter(part.trim()))
            .collect::<Result<Vec<_>, _>>()
            .map(Filter::And);
    }
    let (lhs, op, rhs) = ["=~", "!~", "==", "!="]
        .iter()
        .find_map(|op| body.split_once(op).map(|(l, r)| (l.trim(), *op, r.trim())))
        .ok_or_else(|| {
            format!("filter `[?{body}]` needs `==`, `!=`, `=~` or `!~`, e.g. [?name == \"server\"]")
        })?;
    let field = if lhs == "@key" {
        FieldRef::Key
    } else if lhs.is_empty() {
        return Err(format!("filter `[?{body}]` has nothing before `{op}`"));
    } else {
        FieldRef::Path(lhs.split('.').map(str::to_string).collect())
    };
    let chars: Vec<char> = rhs.chars().collect();
    if chars.first() != Some(&'"') {
        return Err(format!(
            "filter `[?{body}]`: the value must be a double-quoted string"
        ));
    }
    let mut i = 0;
    let value = quoted(&chars, &mut i)?;
    if i != chars.len() {
        return Err(format!(
            "filter `[?{body}]`: unexpected text after the value"
        ));
    }
    Ok(match op {
        "==" => Filter::Eq(field, value),
        "!=" => Filter::Ne(field, value),
        "!~" => Filter::NotMatches(
            field,
            Regex::new(&value).map_err(|e| format!("filter regex is invalid: {e}"))?,
        ),
        _ => Filter::Matches(
            field,
            Regex::new(&value).map_err(|e| format!("filter regex is invalid: {e}"))?,
        ),
    })
}

impl Selector {
    pub fn parse(text: &str) -> Result<Selector, String> {
        let chars: Vec<char> = text.chars().collect();
        let mut segments = Vec::new();
        let mut i = 0;
        let mut expect_segment = true;
        if chars.is_empty() {
            return Err("empty path".into());
        }
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    if expect_segment {
                        return Err(format!(
                            "empty key at character {} (two dots, or a leading dot)",
                            i + 1
                        ));
                    }
                    expect_segment = true;
                    i += 1;
                }
                '[' => {
                    let close = chars[i..]
                        .iter()
                        .position(|&c| c == ']')
                        .map(|p| p + i)
                        .ok_or_else(|| format!("`[` at character {} is never closed", i + 1))?;
                    let body: String = chars[i + 1..close].iter().collect();
                    let body = body.trim();
                    segments.push(if body == "*" {
                        Segment::All
                    } else if let Some(f) = body.strip_prefix('?') {
                        Segment::Filter(parse_filter(f.trim())?)
                    } else {
                        Segment::Index(body.parse().map_err(|_| {
                            format!("`[{body}]` is not `[*]`, a list index or a `[?…]` filter")
                        })?)
                    });
                    expect_segment = false;
                    i = close + 1;
                }
                '"' => {
                    if !expect_segment {
                        return Err(format!(
                            "a quoted key at character {} must follow a dot",
                            i + 1
                        ));
                    }
                    segments.push(Segment::Key(quoted(&chars, &mut i)?));
                    expect_segment = false;
                }
                _ => {
                    if !expect_segment {
                        return Err(format!("unexpected `{}` at character {}", chars[i], i + 1));
                    }
                    let start = i;
                    while i < chars.len() && !matches!(chars[i], '.' | '[' | ']' | '"') {
                        i += 1;
                    }
                    let key: String = chars[start..i].iter().collect();
                    if key.contains(char::is_whitespace) {
                        return Err(format!("key `{key}` has spaces: quote it as \"{key}\""));
                    }
                    segments.push(match key.as_str() {
                        "*" => Segment::All,
                        "**" => Segment::Descend,
                        _ => Segment::Key(key),
                    });
                    expect_segment = false;
                }
            }
        }
        if expect_segment {
            return Err("path ends with a dot".into());
        }
        Ok(Selector {
            text: text.to_string(),
            segments,
        })
    }

    /// Everything this selector reaches from `root`.
    pub fn resolve<'a>(&self, root: &'a Node) -> Vec<Hit<'a>> {
        let mut current = vec![Hit {
            node: root,
            at: root.pos,
            path: String::new(),
        }];
        for seg in &self.segments {
            let mut next = Vec::new();
            for hit in current {
                step(seg, hit, &mut next);
            }
            if next.is_empty() {
                return next;
            }
            current = next;
        }
        current
    }
}

fn join(path: &str, key: &str) -> String {
    let simple = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '/' | '@' | '$'));
    let k = if simple {
        key.to_string()
    } else {
        format!("\"{}\"", key.replace('"', "\\\""))
    };
    if path.is_empty() {
        k
    } else {
        format!("{path}.{k}")
    }
}

fn field<'a>(item: &'a Node, f: &FieldRef, key: Option<&'a str>) -> Option<&'a str> {
    match f {
        FieldRef::Key => key,
        FieldRef::Path(p) => p
            .iter()
            .try_fold(item, |n, k| n.get(k))
            .and_then(Node::as_str),
    }
}

fn keep(filter: &Filter, item: &Node, key: Option<&str>) -> bool {
    match filter {
        Filter::Eq(f, v) => field(item, f, key) == Some(v.as_str()),
        Filter::Ne(f, v) => field(item, f, key) != Some(v.as_str()),
        Filter::Matches(f, re) => field(item, f, key).is_some_and(|s| re.is_match(s)),
        Filter::NotMatches(f, re) => field(item, f, key).is_some_and(|s| !re.is_match(s)),
        Filter::And(all) => all.iter().all(|f| keep(f, item, key)),
    }
}

fn descend<'a>(hit: Hit<'a>, out: &mut Vec<Hit<'a>>) {
    out.push(hit.clone());
    match &hit.node.kind {
        Kind::Map(entries) => {
            for (k, v) in entries {
                descend(
                    Hit {
                        node: v,
                        at: k.pos,
                        path: join(&hit.path, &k.name),
                    },
                    out,
                );
            }
        }
        Kind::Seq(items) => {
            for (i, v) in items.iter().enumerate() {
                descend(
                    Hit {
                        node: v,
                        at: v.pos,
                        path: format!("{}[{i}]", hit.path),
                    },
                    out,
                );
            }
        }
        _ => {}
    }
}

fn step<'a>(seg: &Segment, hit: Hit<'a>, out: &mut Vec<Hit<'a>>) {
    match (seg, &hit.node.kind) {
        (Segment::Key(k), Kind::Map(entries)) => {
            if let Some((key, v)) = entries.iter().find(|(key, _)| key.name == *k) {
                out.push(Hit {
                    node: v,
                    at: key.pos,
                    path: join(&hit.path, k),
                });
            }
        }
        (Segment::Descend, _) => descend(hit, out),
        (Segment::All | Segment::Filter(_), Kind::Seq(items)) => {
            for (i, v) in items.iter().enumerate() {
                if let Segment::Filter(f) = seg
                    && !keep(f, v, None)
                {
                    continue;
                }
                out.push(Hit {
                    node: v,
                    at: v.pos,
                    path: format!("{}[{i}]", hit.path),
                });
            }
        }
        (Segment::All | Segment::Filter(_), Kind::Map(entries)) => {
            for (k, v) in entries {
                if let Segment::Filter(f) = seg
                    && !keep(f, v, Some(&k.name))
                {
                    continue;
                }
                out.push(Hit {
                    node: v,
                    at: k.pos,
                    path: join(&hit.path, &k.name),
                });
            }
        }
        (Segment::Index(i), Kind::Seq(items)) => {
            if let Some(v) = items.get(*i) {
                out.push(Hit {
                    node: v,
                    at: v.pos,
                    path: format!("{}[{i}]", hit.path),
                });
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::doc::parse_yaml;

    fn sel(s: &str) -> Selector {
        Selector::parse(s).unwrap()
    }

    #[test]
    fn selectors_reach_what_they_say() {
        let doc = &parse_yaml("metadata:\n  labels:\n    networking.kserve.io/visibility: exposed\ncontainers:\n  - name: a\n    image: x\n  - name: server\n    image: y\nenv: {HF_TOKEN: abc, PORT: '1'}\n").unwrap()[0];
        let h = sel("metadata.labels.\"networking.kserve.io/visibility\"").resolve(doc);
        assert_eq!(h[0].node.as_str(), Some("exposed"));
        assert_eq!(h[0].at, Pos::new(3, 5));
        let h = sel("containers[*].image").resolve(doc);
        assert_eq!(h.len(), 2);
        assert_eq!(h[1].path, "containers[1].image");
        let h = sel("containers[?name == \"server\"].image").resolve(doc);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].node.as_str(), Some("y"));
        let h = sel("env[?@key =~ \"_TOKEN$\"]").resolve(doc);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].path, "env.HF_TOKEN");
        let h = sel("env[?@key =~ \"^P\" && @key !~ \"TOKEN\"]").resolve(doc);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].path, "env.PORT");
        assert_eq!(sel("**.image").resolve(doc).len(), 2);
        assert_eq!(
            sel("containers[1].name").resolve(doc)[0].node.as_str(),
            Some("server")
        );
        assert!(sel("nope.x").resolve(doc).is_empty());
    }

    #[test]
    fn bad_selectors_say_why() {
        for bad in [
            "",
            "a..b",
            ".a",
            "a.",
            "a[",
            "a[x]",
            "a[?name = \"x\"]",
            "a[?name == x]",
            "a b",
            "\"open",
        ] {
            assert!(Selector::parse(bad).is_err(), "{bad} should be rejected");
        }
    }
}
