//! Command lines and environments as rules see them: the `argv`, `env`, `program` and `cmdline`
//! views of a container, whatever surface wrote it.

use super::{key, set};
use crate::check::doc::{Key, Kind, Node, Pos};

/// Split a command line the way a shell would, keeping the string's position for every word.
pub(super) fn split_words(n: &Node) -> Vec<Node> {
    match n.as_str() {
        Some(s) => shlex::split(s)
            .unwrap_or_else(|| s.split_whitespace().map(str::to_string).collect())
            .into_iter()
            .map(|w| Node::scalar(w, n.pos))
            .collect(),
        None => vec![],
    }
}

/// The words a container runs: `command` then `args` (lists or strings), with `sh -c "…"`
/// opened up.
pub fn command_words(command: Option<&Node>, args: Option<&Node>) -> Vec<Node> {
    let mut words: Vec<Node> = Vec::new();
    for part in [command, args].into_iter().flatten() {
        match &part.kind {
            Kind::Seq(items) => {
                words.extend(items.iter().filter(|i| i.as_str().is_some()).cloned())
            }
            Kind::Scalar(_) => words.extend(split_words(part)),
            _ => {}
        }
    }
    // sh -c "vllm serve … --host 0.0.0.0": the script's words are the real command line.
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i].as_str().unwrap_or("");
        let base = w.rsplit('/').next().unwrap_or(w);
        let is_shell = matches!(base, "sh" | "bash" | "dash" | "ash" | "zsh");
        let next = words.get(i + 1).and_then(Node::as_str).unwrap_or("");
        if is_shell && next.starts_with('-') && next.ends_with('c') && i + 2 < words.len() {
            out.extend(split_words(&words[i + 2]));
            i += 3;
            continue;
        }
        out.push(words[i].clone());
        i += 1;
    }
    out
}

/// The `argv` view: `--flag value`, `--flag=value` and bare `--flag` (value `true`), keyed by
/// the flag as written; a snake_case long flag is also filed under its kebab-case spelling,
/// since argparse-based servers (vLLM) accept both.
pub fn argv_view(words: &[Node]) -> Node {
    let mut entries: Vec<(Key, Node)> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i].as_str().unwrap_or("");
        let pos = words[i].pos;
        let is_flag =
            w.len() > 1 && w.starts_with('-') && !w[1..].starts_with(|c: char| c.is_ascii_digit());
        if !is_flag || w == "--" {
            i += 1;
            continue;
        }
        let (name, value) = match w.split_once('=') {
            Some((n, v)) => (n.to_string(), Node::scalar(v, pos)),
            None => {
                let next = words.get(i + 1).and_then(Node::as_str);
                match next {
                    Some(v)
                        if !(matches!(v, "&&" | "||" | ";" | "|")
                            || v.starts_with('-') && v.len() > 1) =>
                    {
                        i += 1;
                        (w.to_string(), words[i].clone())
                    }
                    _ => (w.to_string(), Node::scalar("true", pos)),
                }
            }
        };
        let alias = (name.starts_with("--") && name.contains('_') && !name.contains('.'))
            .then(|| name.replace('_', "-"));
        for n in std::iter::once(name).chain(alias) {
            if let Some(slot) = entries.iter_mut().find(|(k, _)| k.name == n) {
                *slot = (key(&n, pos), value.clone());
            } else {
                entries.push((key(&n, pos), value.clone()));
            }
        }
        i += 1;
    }
    Node::map(entries, words.first().map(|w| w.pos).unwrap_or_default())
}

/// The Kubernetes `env` list as a map: `name` → `value` (or the `valueFrom` table, which is
/// not a literal).
pub(super) fn k8s_env(env: Option<&Node>) -> Node {
    let mut entries: Vec<(Key, Node)> = Vec::new();
    for item in env.map(Node::items).unwrap_or(&[]) {
        let Some(name) = item.get("name") else {
            continue;
        };
        let value = item
            .get("value")
            .or_else(|| item.get("valueFrom"))
            .cloned()
            .unwrap_or_else(|| Node::scalar("", name.pos));
        entries.push((key(name.as_str().unwrap_or(""), name.pos), value));
    }
    Node::map(entries, env.map(|e| e.pos).unwrap_or_default())
}

/// Compose `environment`: a map, or a list of `KEY=value` strings.
pub(super) fn compose_env(env: Option<&Node>) -> Node {
    let Some(env) = env else {
        return Node::map(vec![], Pos::default());
    };
    match &env.kind {
        Kind::Map(_) => env.clone(),
        Kind::Seq(items) => {
            let entries = items
                .iter()
                .filter_map(|i| {
                    let s = i.as_str()?;
                    let (k, v) = s.split_once('=').unwrap_or((s, ""));
                    let vpos = Pos {
                        line: i.pos.line,
                        col: i.pos.col + k.chars().count() as u32 + 1,
                    };
                    Some((key(k, i.pos), Node::scalar(v, vpos)))
                })
                .collect();
            Node::map(entries, env.pos)
        }
        _ => Node::map(vec![], env.pos),
    }
}

pub(super) fn add_views(root: &mut Node, env: Node, words: &[Node]) {
    let program = words
        .first()
        .and_then(Node::as_str)
        .map(|p| p.rsplit('/').next().unwrap_or(p).to_string());
    let cmdline = words
        .iter()
        .filter_map(Node::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    let first_pos = words.first().map(|w| w.pos).unwrap_or_default();
    set(root, "env", env);
    set(root, "argv", argv_view(words));
    if let Some(p) = program {
        set(root, "program", Node::scalar(p, first_pos));
    }
    set(root, "cmdline", Node::scalar(cmdline, first_pos));
}
