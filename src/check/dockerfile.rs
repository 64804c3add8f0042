//! Dockerfiles: the stage that runs, as a container. Stages are followed the way BuildKit does:
//! `FROM <stage>` inherits that stage's ENV, USER, ENTRYPOINT and CMD; `ARG` defaults fill
//! `$VAR`/`${VAR}`/`${VAR:-x}` in FROM and USER; the image is the external one the running
//! stage was built from (at the FROM line that names it), never a stage alias; `scratch` and a
//! `{{ … }}` template are no image to pin.
//!
//! The root: `image`, `env`, `command` (ENTRYPOINT), `args` (CMD), `user` (USER, when one is
//! set), `base_user` (the base image's user when it is known not to be root), `expose`,
//! `healthcheck`.

use super::doc::{Key, Node, Pos, SyntaxError};
use super::formats::{Logical, assignments, insert, logical_lines, unquote, words};
use std::collections::HashMap;

#[derive(Clone, Default)]
struct Stage {
    name: Option<String>,
    image: Option<Node>,
    env: Vec<(Key, Node)>,
    entrypoint: Option<Node>,
    cmd: Option<Node>,
    user: Option<(Key, Node)>,
    expose: Vec<Node>,
    healthcheck: Option<Node>,
    args: HashMap<String, String>,
}

/// Base images known to run as a non-root user (their own Dockerfile ends with USER).
pub const NON_ROOT_BASES: &[(&str, &str)] = &[
    ("pytorch/torchserve", "model-server"),
    ("jupyter/", "jovyan"),
    ("quay.io/jupyter/", "jovyan"),
    ("jupyterhub/k8s-singleuser", "jovyan"),
    ("gcr.io/distroless/", "nonroot (tags :nonroot)"),
    ("cgr.dev/chainguard/", "nonroot"),
];

/// Expand `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}` from ARG defaults; unknown
/// variables are left as written.
pub fn expand(text: &str, args: &HashMap<String, String>) -> String {
    let mut out = String::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' && i + 1 < b.len() {
            let (name, default, end) = if b[i + 1] == b'{' {
                match text[i + 2..].find('}') {
                    Some(close) => {
                        let inner = &text[i + 2..i + 2 + close];
                        let (n, d) = match inner.find([':', '-']) {
                            Some(p) => (
                                &inner[..p],
                                Some(inner[p..].trim_start_matches(':').trim_start_matches('-')),
                            ),
                            None => (inner, None),
                        };
                        (n, d, i + 3 + close)
                    }
                    None => {
                        out.push_str(&text[i..]);
                        break;
                    }
                }
            } else {
                let n = text[i + 1..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map(|e| &text[i + 1..i + 1 + e])
                    .unwrap_or(&text[i + 1..]);
                (n, None, i + 1 + n.len())
            };
            match args
                .get(name)
                .filter(|v| !v.is_empty())
                .map(String::as_str)
                .or(default)
            {
                Some(v) if !name.is_empty() => out.push_str(v),
                _ => out.push_str(&text[i..end]),
            }
            i = end;
        } else {
            let c = text[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn arg_line(rest: &str, args: &mut HashMap<String, String>) {
    for w in rest.split_whitespace() {
        let (k, v) = w.split_once('=').unwrap_or((w, ""));
        let v = unquote(v).to_string();
        let expanded = expand(&v, args);
        // A later ARG without a default keeps the global default (BuildKit re-declaration).
        if !expanded.is_empty() || !args.contains_key(k) {
            args.insert(k.to_string(), expanded);
        }
    }
}

/// Read a Dockerfile into the container its last stage runs.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut global: HashMap<String, String> = HashMap::new();
    let mut stages: Vec<Stage> = Vec::new();
    let mut st: Option<Stage> = None;
    for line in logical_lines(text, true) {
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let start = line.len() - t.len();
        let (instr, rest) = t.split_once([' ', '\t']).unwrap_or((t, ""));
        let args_from = start + instr.len() + (rest.len() - rest.trim_start().len()) + 1;
        let rest = rest.trim();
        let instr_pos = line.pos(start);
        let args_pos = line.pos(args_from.min(line.len()));
        let upper = instr.to_ascii_uppercase();
        if upper == "FROM" {
            if let Some(done) = st.take() {
                stages.push(done);
            }
            st = Some(from(rest, args_pos, &global, &stages));
            continue;
        }
        if upper == "ARG" {
            match st.as_mut() {
                Some(s) => arg_line(rest, &mut s.args),
                None => arg_line(rest, &mut global),
            }
            continue;
        }
        let Some(st) = st.as_mut() else { continue };
        instruction(
            st, &upper, instr, rest, &line, args_from, args_pos, instr_pos,
        )?;
    }
    let st = st.unwrap_or_default();
    Ok(root(st))
}

fn from(rest: &str, args_pos: Pos, global: &HashMap<String, String>, stages: &[Stage]) -> Stage {
    let words: Vec<&str> = rest
        .split_whitespace()
        .filter(|w| !w.starts_with("--"))
        .collect();
    let as_at = words.iter().position(|w| w.eq_ignore_ascii_case("as"));
    let name = as_at.and_then(|i| words.get(i + 1)).map(|s| s.to_string());
    let raw = words[..as_at.unwrap_or(words.len())].join(" ");
    let image = expand(&raw, global);
    let mut stage = match stages.iter().rev().find(|s| {
        s.name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(&image))
    }) {
        // FROM <stage>: everything it set carries over, including where its image was named.
        Some(parent) => parent.clone(),
        None => Stage {
            image: Some(Node::scalar(image, args_pos)),
            ..Stage::default()
        },
    };
    stage.name = name;
    // Global ARG defaults are visible again only when re-declared (arg_line keeps them).
    stage.args = global.clone();
    stage
}

#[allow(clippy::too_many_arguments)]
fn instruction(
    st: &mut Stage,
    upper: &str,
    instr: &str,
    rest: &str,
    line: &Logical,
    args_from: usize,
    args_pos: Pos,
    instr_pos: Pos,
) -> Result<(), SyntaxError> {
    match upper {
        "ENV" => {
            if !rest.contains('=')
                || rest
                    .split_whitespace()
                    .next()
                    .is_some_and(|w| !w.contains('='))
            {
                // Legacy form: ENV KEY value with spaces
                if let Some((k, v)) = rest.split_once([' ', '\t']) {
                    let vcol = line.find(v.trim()).unwrap_or(args_from);
                    insert(
                        &mut st.env,
                        Key {
                            name: k.to_string(),
                            pos: args_pos,
                        },
                        Node::scalar(unquote(v), line.pos(vcol)),
                    );
                }
            } else {
                assignments(words(line, args_from.saturating_sub(1)), &mut st.env);
            }
        }
        "ENTRYPOINT" | "CMD" => {
            let node = if rest.starts_with('[') {
                match serde_json::from_str::<Vec<String>>(rest) {
                    Ok(items) => {
                        let mut cursor = args_from.saturating_sub(1);
                        Node::seq(
                            items
                                .into_iter()
                                .map(|w| {
                                    let i = line[cursor.min(line.len())..]
                                        .find(&w)
                                        .map(|i| cursor + i)
                                        .unwrap_or(cursor);
                                    cursor = i + w.len();
                                    Node::scalar(w, line.pos(i))
                                })
                                .collect(),
                            args_pos,
                        )
                    }
                    Err(e) => {
                        return Err(SyntaxError {
                            message: format!(
                                "{instr} looks like exec form but is not a JSON array of strings: {e}"
                            ),
                            pos: args_pos,
                        });
                    }
                }
            } else {
                Node::seq(words(line, args_from.saturating_sub(1)), args_pos)
            };
            if instr.eq_ignore_ascii_case("CMD") {
                st.cmd = Some(node);
            } else {
                st.entrypoint = Some(node);
                st.cmd = None; // ENTRYPOINT resets an inherited CMD
            }
        }
        "USER" => {
            let user = expand(rest, &st.args);
            st.user = Some((
                Key {
                    name: "user".into(),
                    pos: instr_pos,
                },
                Node::scalar(user, args_pos),
            ))
        }
        "EXPOSE" => st.expose.extend(words(line, args_from.saturating_sub(1))),
        "HEALTHCHECK" => st.healthcheck = Some(Node::scalar(rest, args_pos)),
        _ => {}
    }
    Ok(())
}

fn root(st: Stage) -> Node {
    let k = |name: &str, pos: Pos| Key {
        name: name.into(),
        pos,
    };
    let mut entries = Vec::new();
    if let Some(img) = st.image {
        let lower = img.as_str().unwrap_or("").to_ascii_lowercase();
        if let Some((_, user)) = NON_ROOT_BASES.iter().find(|(p, _)| lower.contains(p)) {
            entries.push((k("base_user", img.pos), Node::scalar(*user, img.pos)));
        }
        entries.push((k("image", img.pos), img));
    }
    entries.push((k("env", Pos::new(1, 1)), Node::map(st.env, Pos::new(1, 1))));
    if let Some(e) = st.entrypoint {
        entries.push((k("command", e.pos), e));
    }
    if let Some(c) = st.cmd {
        entries.push((k("args", c.pos), c));
    }
    if let Some((key, v)) = st.user {
        entries.push((key, v));
    }
    entries.push((
        k("expose", Pos::new(1, 1)),
        Node::seq(st.expose, Pos::new(1, 1)),
    ));
    if let Some(h) = st.healthcheck {
        entries.push((k("healthcheck", h.pos), h));
    }
    Node::map(entries, Pos::new(1, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerfile_env_and_cmd() {
        let n = parse("FROM python AS build\nENV X=1\nFROM ollama/ollama:0.5\nENV OLLAMA_HOST 0.0.0.0\nENV A=1 B=\"two words\"\nCMD [\"serve\", \"--port\", \"1\"]\nUSER 1000\n").unwrap();
        assert_eq!(n.get("image").unwrap().as_str(), Some("ollama/ollama:0.5"));
        let env = n.get("env").unwrap();
        assert!(env.get("X").is_none(), "earlier stage env does not leak");
        let (k, v) = env.entry("OLLAMA_HOST").unwrap();
        assert_eq!(v.as_str(), Some("0.0.0.0"));
        assert_eq!((k.pos.line, k.pos.col, v.pos.col), (4, 5, 17));
        assert_eq!(env.get("B").unwrap().as_str(), Some("two words"));
        let args = n.get("args").unwrap().items();
        assert_eq!(args[1].as_str(), Some("--port"));
        assert_eq!(args[1].pos.col, 16);
    }

    #[test]
    fn stages_aliases_args_and_templates() {
        let n = parse("ARG ROOT=pinned\nFROM ubuntu:24.04@sha256:00 AS pinned\nFROM debian:bookworm-slim AS base\nUSER app\nENTRYPOINT [\"srv\"]\nFROM $ROOT AS tools\nFROM base\nCOPY --from=tools /a /a\n").unwrap();
        let img = n.get("image").unwrap();
        assert_eq!(img.as_str(), Some("debian:bookworm-slim"));
        assert_eq!(img.pos.line, 3, "the FROM that names the external image");
        assert_eq!(
            n.get("user").unwrap().as_str(),
            Some("app"),
            "USER is inherited"
        );
        assert_eq!(n.get("command").unwrap().items()[0].as_str(), Some("srv"));
        let n = parse(
            "ARG ROOT_IMAGE=default\nFROM ubuntu:24.04@sha256:11 AS default\nFROM $ROOT_IMAGE\n",
        )
        .unwrap();
        assert_eq!(
            n.get("image").unwrap().as_str(),
            Some("ubuntu:24.04@sha256:11")
        );
        let n = parse("FROM {{ SRC_IMAGE }}\n").unwrap();
        assert_eq!(n.get("image").unwrap().as_str(), Some("{{ SRC_IMAGE }}"));
        let n = parse("ARG UID=0\nFROM python:3.11\nARG UID\nUSER $UID:${GID:-0}\n").unwrap();
        assert_eq!(n.get("user").unwrap().as_str(), Some("0:0"));
        let n = parse("FROM pytorch/torchserve:0.12.0-cpu\n").unwrap();
        assert_eq!(n.get("base_user").unwrap().as_str(), Some("model-server"));
    }
}
