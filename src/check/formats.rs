//! Recognise a config file by name and content, and read it into [`Node`] trees with positions.
//!
//! YAML (Kubernetes, compose, generic), JSON and TOML use real parsers; the line formats
//! (`.properties`, INI, `.env`, Dockerfile, systemd units, Jupyter's Python config,
//! `requirements.txt`) are read here following their documented syntax.

use super::doc::{Key, Kind, Node, Pos, SyntaxError, parse_toml, parse_yaml};

/// What a file was recognised as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    Yaml,
    Json,
    Toml,
    Properties,
    Ini,
    Dotenv,
    Dockerfile,
    Systemd,
    JupyterPy,
    Requirements,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
            Format::Toml => "toml",
            Format::Properties => "properties",
            Format::Ini => "ini",
            Format::Dotenv => "dotenv",
            Format::Dockerfile => "dockerfile",
            Format::Systemd => "systemd",
            Format::JupyterPy => "jupyter-py",
            Format::Requirements => "requirements",
        }
    }
}

/// Recognise a file by its name, then by its first meaningful line. `None`: not a config file
/// this tool reads.
pub fn detect(path: &str, text: &str) -> Option<Format> {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    if lower == "dockerfile"
        || lower == "containerfile"
        || lower.starts_with("dockerfile.")
        || ext == "dockerfile"
        || ext == "containerfile"
    {
        return Some(Format::Dockerfile);
    }
    if lower == ".env" || lower.starts_with(".env.") || ext == "env" {
        return Some(Format::Dotenv);
    }
    if lower.starts_with("requirements") && (ext == "txt" || ext == "in") {
        return Some(Format::Requirements);
    }
    if lower.starts_with("jupyter") && lower.ends_with("_config.py") {
        return Some(Format::JupyterPy);
    }
    match ext {
        "yaml" | "yml" => return Some(Format::Yaml),
        "json" => return Some(Format::Json),
        "toml" => return Some(Format::Toml),
        "properties" => return Some(Format::Properties),
        "ini" | "cfg" => return Some(Format::Ini),
        "service" => return Some(Format::Systemd),
        _ => {}
    }
    // By content: the first line that is not blank or a comment.
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))?;
    let upper = first.to_ascii_uppercase();
    if upper.starts_with("FROM ") || upper.starts_with("ARG ") {
        return Some(Format::Dockerfile);
    }
    if first == "[Unit]" || first == "[Service]" || first == "[Install]" {
        return Some(Format::Systemd);
    }
    if lower.ends_with(".conf") && first.starts_with('[') {
        return Some(Format::Ini);
    }
    if first.starts_with("apiVersion:") || first.starts_with("kind:") || first == "---" {
        return Some(Format::Yaml);
    }
    None
}

/// Parse `text` as `format` into documents (YAML streams hold several).
pub fn parse(format: Format, text: &str) -> Result<Vec<Node>, SyntaxError> {
    match format {
        Format::Yaml => parse_yaml(text),
        Format::Json => {
            // JSON is YAML 1.2 flow syntax; reading it with the YAML parser keeps positions.
            // serde_json decides validity, so YAML-only syntax is not accepted as JSON.
            if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
                return Err(SyntaxError {
                    message: e.to_string(),
                    pos: Pos::new(e.line(), e.column()),
                });
            }
            parse_yaml(text)
        }
        Format::Toml => parse_toml(text).map(|n| vec![n]),
        Format::Properties => Ok(vec![properties(text)]),
        Format::Ini => Ok(vec![ini(text)]),
        Format::Dotenv => Ok(vec![dotenv(text)]),
        Format::Dockerfile => super::dockerfile::parse(text).map(|n| vec![n]),
        Format::Systemd => Ok(vec![systemd(text)]),
        Format::JupyterPy => Ok(vec![jupyter_py(text)]),
        Format::Requirements => Ok(vec![requirements(text)]),
    }
}

/// A logical line: physical lines joined where one ends in a backslash, remembering where each
/// piece came from so positions stay exact.
pub(crate) struct Logical {
    pub(crate) text: String,
    /// (offset in `text`, physical line number, offset in that physical line, the physical line).
    segs: Vec<(usize, usize, usize, String)>,
}

impl std::ops::Deref for Logical {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl Logical {
    /// Line and column of a byte offset into the logical text.
    pub(crate) fn pos(&self, i: usize) -> Pos {
        let i = i.min(self.text.len());
        let seg = self
            .segs
            .iter()
            .rev()
            .find(|s| s.0 <= i)
            .unwrap_or(&self.segs[0]);
        let in_phys = (seg.2 + (i - seg.0)).min(seg.3.len());
        let col = seg
            .3
            .get(..in_phys)
            .map(|p| p.chars().count())
            .unwrap_or(in_phys);
        Pos::new(seg.1, col + 1)
    }
}

pub(crate) fn logical_lines(text: &str, continuation: bool) -> Vec<Logical> {
    let mut out = Vec::new();
    let mut current: Option<Logical> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        match current.as_mut() {
            Some(l) => {
                let trimmed = line.trim_start();
                let skip = line.len() - trimmed.len();
                l.segs.push((l.text.len(), i + 1, skip, line.to_string()));
                l.text.push_str(trimmed);
            }
            None => {
                current = Some(Logical {
                    text: line.to_string(),
                    segs: vec![(0, i + 1, 0, line.to_string())],
                })
            }
        }
        let cont = continuation
            && current.as_ref().is_some_and(|l| {
                let trailing = l.text.len() - l.text.trim_end_matches('\\').len();
                trailing % 2 == 1
            });
        if cont {
            if let Some(l) = current.as_mut() {
                l.text.pop();
            }
        } else if let Some(c) = current.take() {
            out.push(c);
        }
    }
    out.extend(current);
    out
}

pub(crate) fn insert(entries: &mut Vec<(Key, Node)>, key: Key, value: Node) {
    if let Some(slot) = entries.iter_mut().find(|(k, _)| k.name == key.name) {
        *slot = (key, value);
    } else {
        entries.push((key, value));
    }
}

/// Java `.properties`: `key=value`, `key: value` or `key value`; `#`/`!` comments.
fn properties(text: &str) -> Node {
    let mut entries = Vec::new();
    for line in logical_lines(text, true) {
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') || t.starts_with('!') {
            continue;
        }
        let start = line.len() - t.len();
        let sep = t.find(['=', ':', ' ', '\t']).unwrap_or(t.len());
        let key = t[..sep].trim_end();
        let rest = &t[sep..];
        let rest_trim = rest.trim_start_matches([' ', '\t']);
        let rest_trim = rest_trim
            .strip_prefix(['=', ':'])
            .unwrap_or(rest_trim)
            .trim_start();
        let vstart = start + sep + (rest.len() - rest_trim.len());
        entries.push((
            Key {
                name: key.to_string(),
                pos: line.pos(start),
            },
            Node::scalar(rest_trim.trim_end(), line.pos(vstart)),
        ));
    }
    Node::map(entries, Pos::new(1, 1))
}

/// INI: `[section]` tables of `key = value` (or `key: value`); `#`/`;` comments. Keys before
/// the first section sit at the top level.
fn ini(text: &str) -> Node {
    let mut top: Vec<(Key, Node)> = Vec::new();
    let mut section: Option<(Key, Vec<(Key, Node)>)> = None;
    for line in logical_lines(text, false) {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        let start = line.len() - line.trim_start().len();
        if t.starts_with('[') && t.ends_with(']') {
            if let Some((k, e)) = section.take() {
                let pos = k.pos;
                insert(&mut top, k, Node::map(e, pos));
            }
            section = Some((
                Key {
                    name: t[1..t.len() - 1].trim().to_string(),
                    pos: line.pos(start),
                },
                Vec::new(),
            ));
            continue;
        }
        let Some(sep) = t.find(['=', ':']) else {
            continue;
        };
        let key = t[..sep].trim();
        let value = t[sep + 1..].trim();
        let vstart = start + sep + 1 + (t[sep + 1..].len() - t[sep + 1..].trim_start().len());
        let entry = (
            Key {
                name: key.to_string(),
                pos: line.pos(start),
            },
            Node::scalar(value, line.pos(vstart)),
        );
        match section.as_mut() {
            Some((_, e)) => insert(e, entry.0, entry.1),
            None => insert(&mut top, entry.0, entry.1),
        }
    }
    if let Some((k, e)) = section.take() {
        let pos = k.pos;
        insert(&mut top, k, Node::map(e, pos));
    }
    Node::map(top, Pos::new(1, 1))
}

pub(crate) fn unquote(v: &str) -> &str {
    let v = v.trim();
    if v.len() >= 2
        && ((v.starts_with('"') && v.ends_with('"')) || (v.starts_with('\'') && v.ends_with('\'')))
    {
        &v[1..v.len() - 1]
    } else {
        v
    }
}

/// `.env`: `KEY=value`, optional `export `, quotes stripped, `#` comments.
fn dotenv(text: &str) -> Node {
    let mut env = Vec::new();
    for line in logical_lines(text, false) {
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let mut start = line.len() - t.len();
        let t = match t.strip_prefix("export ") {
            Some(rest) => {
                start += 7 + (rest.len() - rest.trim_start().len());
                rest.trim_start()
            }
            None => t,
        };
        let Some(eq) = t.find('=') else { continue };
        let raw = t[eq + 1..].trim();
        let value = if raw.starts_with('"') || raw.starts_with('\'') {
            unquote(raw)
        } else {
            raw.split(" #").next().unwrap_or(raw).trim_end()
        };
        insert(
            &mut env,
            Key {
                name: t[..eq].trim().to_string(),
                pos: line.pos(start),
            },
            Node::scalar(value, line.pos(start + eq + 1)),
        );
    }
    Node::map(
        vec![(
            Key {
                name: "env".into(),
                pos: Pos::new(1, 1),
            },
            Node::map(env, Pos::new(1, 1)),
        )],
        Pos::new(1, 1),
    )
}

/// Split a shell-form command into words, each with the column where it starts (searched in
/// the line, so positions are exact for plain words).
pub(crate) fn words(line: &Logical, from: usize) -> Vec<Node> {
    let text = &line[from.min(line.len())..];
    let parts = shlex::split(text).unwrap_or_else(|| {
        text.split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    });
    let mut cursor = from;
    parts
        .into_iter()
        .map(|w| {
            let at = line[cursor.min(line.len())..]
                .find(w.as_str())
                .map(|i| cursor + i);
            let pos = match at {
                Some(i) => {
                    cursor = i + w.len();
                    line.pos(i)
                }
                None => line.pos(cursor),
            };
            Node::scalar(w, pos)
        })
        .collect()
}

/// `KEY=value` words (Dockerfile `ENV`, systemd `Environment=`) into an env map, with the
/// value's own position.
pub(crate) fn assignments(words: Vec<Node>, env: &mut Vec<(Key, Node)>) {
    for w in words {
        let Some((k, v)) = w.as_str().and_then(|s| s.split_once('=')) else {
            continue;
        };
        let vpos = Pos {
            line: w.pos.line,
            col: w.pos.col + k.chars().count() as u32 + 1,
        };
        insert(
            env,
            Key {
                name: k.to_string(),
                pos: w.pos,
            },
            Node::scalar(v, vpos),
        );
    }
}

/// A systemd unit: its sections as a map, and the `[Service]` part as a container (`env` from
/// every `Environment=` assignment, `command` from `ExecStart=`, `user` from `User=`).
fn systemd(text: &str) -> Node {
    let mut sections = ini(text);
    let mut env: Vec<(Key, Node)> = Vec::new();
    let mut command: Option<Node> = None;
    let mut user: Option<Node> = None;
    let mut in_service = false;
    for line in logical_lines(text, true) {
        let t = line.trim();
        if t.starts_with('[') {
            in_service = t == "[Service]";
            continue;
        }
        if !in_service || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        let Some((k, _)) = t.split_once('=') else {
            continue;
        };
        let key = k.trim();
        let eq = line.find('=').unwrap_or(0);
        match key {
            "Environment" => {
                assignments(words(&line, eq + 1), &mut env);
            }
            "ExecStart" => {
                let mut ws = words(&line, eq + 1);
                if let Some(Kind::Scalar(first)) = ws.first_mut().map(|w| &mut w.kind) {
                    *first = first
                        .trim_start_matches(['-', '@', ':', '+', '!'])
                        .to_string();
                }
                command = Some(Node::seq(ws, line.pos(eq + 1)));
            }
            "User" => {
                user = Some(Node::scalar(
                    t.split_once('=').map(|x| x.1.trim()).unwrap_or(""),
                    line.pos(eq + 1),
                ))
            }
            _ => {}
        }
    }
    if let Kind::Map(entries) = &mut sections.kind {
        let k = |name: &str| Key {
            name: name.into(),
            pos: Pos::new(1, 1),
        };
        entries.push((k("env"), Node::map(env, Pos::new(1, 1))));
        if let Some(c) = command {
            entries.push((k("command"), c));
        }
        if let Some(u) = user {
            entries.push((k("user"), u));
        }
    }
    sections
}

/// Jupyter's Python config: `c.ServerApp.ip = '0.0.0.0'` lines become `ServerApp.ip`.
fn jupyter_py(text: &str) -> Node {
    let mut root = Node::map(Vec::new(), Pos::new(1, 1));
    for line in logical_lines(text, false) {
        let t = line.trim_start();
        let Some(rest) = t.strip_prefix("c.") else {
            continue;
        };
        let Some((lhs, rhs)) = rest.split_once('=') else {
            continue;
        };
        let start = line.len() - t.len();
        let Some((class, attr)) = lhs.trim().split_once('.') else {
            continue;
        };
        let rhs_trim = rhs.split(" #").next().unwrap_or(rhs).trim();
        let value = match rhs_trim {
            "True" => "true",
            "False" => "false",
            "None" => "",
            v => unquote(v),
        };
        let vcol = start + 2 + lhs.len() + 1 + (rhs.len() - rhs.trim_start().len());
        let Kind::Map(top) = &mut root.kind else {
            continue;
        };
        let class_key = Key {
            name: class.to_string(),
            pos: line.pos(start + 2),
        };
        if !top.iter().any(|(k, _)| k.name == class) {
            top.push((class_key.clone(), Node::map(Vec::new(), class_key.pos)));
        }
        if let Some((
            _,
            Node {
                kind: Kind::Map(entries),
                ..
            },
        )) = top.iter_mut().find(|(k, _)| k.name == class)
        {
            insert(
                entries,
                Key {
                    name: attr.trim().to_string(),
                    pos: line.pos(start),
                },
                Node::scalar(value, line.pos(vcol)),
            );
        }
    }
    root
}

/// Split a PEP 508 requirement into a normalised name and its version specifier.
pub fn requirement(spec: &str) -> Option<(String, String)> {
    let spec = spec.split(';').next()?.trim();
    if spec.is_empty() || spec.starts_with('-') || spec.contains("://") {
        return None;
    }
    let end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        .unwrap_or(spec.len());
    let name = spec[..end].to_ascii_lowercase().replace('_', "-");
    if name.is_empty() {
        return None;
    }
    let mut rest = spec[end..].trim();
    if rest.starts_with('[') {
        rest = rest.split_once(']').map(|x| x.1).unwrap_or("").trim();
    }
    Some((
        name,
        rest.trim_start_matches('(')
            .trim_end_matches(')')
            .trim()
            .to_string(),
    ))
}

/// `requirements.txt`: package name → version specifier (`""` when unpinned).
fn requirements(text: &str) -> Node {
    let mut entries = Vec::new();
    for line in logical_lines(text, true) {
        let t = line.split(" #").next().unwrap_or(&line);
        let trimmed = t.trim_start();
        if trimmed.starts_with('#') {
            continue;
        }
        let start = t.len() - trimmed.len();
        if let Some((name, spec)) = requirement(trimmed) {
            let pos = line.pos(start);
            insert(&mut entries, Key { name, pos }, Node::scalar(spec, pos));
        }
    }
    Node::map(entries, Pos::new(1, 1))
}

/// Requirements declared in a `pyproject.toml` (`project.dependencies`, optional dependencies
/// and Poetry's table) as a requirements map.
pub fn pyproject_requirements(doc: &Node) -> Option<Node> {
    let mut entries = Vec::new();
    let mut lists: Vec<&Node> = Vec::new();
    if let Some(d) = doc.at("project.dependencies") {
        lists.push(d);
    }
    if let Some(opt) = doc.at("project.optional-dependencies") {
        lists.extend(opt.entries().iter().map(|(_, v)| v));
    }
    for list in lists {
        for item in list.items() {
            if let Some((name, spec)) = item.as_str().and_then(requirement) {
                insert(
                    &mut entries,
                    Key {
                        name,
                        pos: item.pos,
                    },
                    Node::scalar(spec, item.pos),
                );
            }
        }
    }
    if let Some(poetry) = doc.at("tool.poetry.dependencies") {
        for (k, v) in poetry.entries() {
            let spec = v
                .as_str()
                .or_else(|| v.get("version").and_then(Node::as_str))
                .unwrap_or("")
                .to_string();
            insert(
                &mut entries,
                Key {
                    name: k.name.to_ascii_lowercase().replace('_', "-"),
                    pos: k.pos,
                },
                Node::scalar(spec, v.pos),
            );
        }
    }
    if entries.is_empty() {
        None
    } else {
        Some(Node::map(entries, Pos::new(1, 1)))
    }
}

/// Inline suppression comments (`# modelsec:ignore RULE expires=… reason="…"`) with their line.
pub fn comment_directives(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(at) = line.find("modelsec:ignore") {
            let before = line[..at].trim_end();
            if before.ends_with('#') || before.ends_with(';') || before.ends_with("//") {
                out.push((
                    i + 1,
                    line[at + "modelsec:ignore".len()..].trim().to_string(),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_name_and_content() {
        assert_eq!(detect("deploy/Dockerfile", ""), Some(Format::Dockerfile));
        assert_eq!(detect("x/.env", ""), Some(Format::Dotenv));
        assert_eq!(detect("config.properties", ""), Some(Format::Properties));
        assert_eq!(detect("ollama.service", ""), Some(Format::Systemd));
        assert_eq!(
            detect("requirements-gpu.txt", ""),
            Some(Format::Requirements)
        );
        assert_eq!(
            detect("jupyter_server_config.py", ""),
            Some(Format::JupyterPy)
        );
        assert_eq!(
            detect("override.conf", "[Service]\nEnvironment=A=1\n"),
            Some(Format::Systemd)
        );
        assert_eq!(
            detect("manifest", "# x\napiVersion: v1\n"),
            Some(Format::Yaml)
        );
        assert_eq!(detect("README.md", "# hello\n"), None);
    }

    #[test]
    fn properties_positions() {
        let n = properties(
            "# c\nmanagement_address=http://0.0.0.0:8081\n  allowed_urls : https://x/.*\n",
        );
        let (k, v) = n.entry("management_address").unwrap();
        assert_eq!((k.pos.line, k.pos.col), (2, 1));
        assert_eq!((v.pos.line, v.pos.col), (2, 20));
        assert_eq!(v.as_str(), Some("http://0.0.0.0:8081"));
        let (k, v) = n.entry("allowed_urls").unwrap();
        assert_eq!((k.pos.line, k.pos.col), (3, 3));
        assert_eq!(v.as_str(), Some("https://x/.*"));
    }

    #[test]
    fn continuation_lines_keep_exact_positions() {
        let n =
            super::super::dockerfile::parse("FROM x\nENV A=1 \\\n    GRADIO_SHARE=True\n").unwrap();
        let (k, v) = n.get("env").unwrap().entry("GRADIO_SHARE").unwrap();
        assert_eq!((k.pos.line, k.pos.col), (3, 5));
        assert_eq!((v.pos.line, v.pos.col), (3, 18));
        let p = properties("a = one \\\n  two\nb=2\n");
        assert_eq!(p.get("a").unwrap().as_str(), Some("one two"));
        assert_eq!(p.entry("b").unwrap().0.pos.line, 3);
    }

    #[test]
    fn systemd_environment() {
        let n = systemd(
            "[Service]\nEnvironment=\"OLLAMA_HOST=0.0.0.0:11434\" OLLAMA_ORIGINS=*\nExecStart=-/usr/bin/ollama serve\nUser=ollama\n",
        );
        let env = n.get("env").unwrap();
        assert_eq!(
            env.get("OLLAMA_HOST").unwrap().as_str(),
            Some("0.0.0.0:11434")
        );
        assert_eq!(env.get("OLLAMA_ORIGINS").unwrap().as_str(), Some("*"));
        assert_eq!(
            n.get("command").unwrap().items()[0].as_str(),
            Some("/usr/bin/ollama")
        );
    }

    #[test]
    fn requirements_and_jupyter() {
        let r = requirements(
            "# deps\ntorch>=2.0,<2.6  # old\nNumPy==2.0 ; python_version>'3'\n-r other.txt\n",
        );
        assert_eq!(r.get("torch").unwrap().as_str(), Some(">=2.0,<2.6"));
        assert_eq!(r.get("numpy").unwrap().as_str(), Some("==2.0"));
        let j = jupyter_py(
            "c = get_config()\nc.ServerApp.ip = '0.0.0.0'\nc.ServerApp.token = ''\nc.ServerApp.disable_check_xsrf = True\n",
        );
        assert_eq!(j.at("ServerApp.ip").unwrap().as_str(), Some("0.0.0.0"));
        assert_eq!(j.at("ServerApp.token").unwrap().as_str(), Some(""));
        assert_eq!(
            j.at("ServerApp.disable_check_xsrf").unwrap().as_str(),
            Some("true")
        );
    }

    #[test]
    fn ini_sections() {
        let n = ini("[mlflow]\ndefault_permission = READ\nadmin_password = password1234\n");
        let (_, v) = n.get("mlflow").unwrap().entry("admin_password").unwrap();
        assert_eq!(v.as_str(), Some("password1234"));
        assert_eq!((v.pos.line, v.pos.col), (3, 18));
    }
}
