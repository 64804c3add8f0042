//! Compose as `docker compose` runs it: `${VAR}`, `${VAR:-default}`, `${VAR-default}` and
//! `$VAR` interpolated from the `.env` file beside the compose file (the shell's environment is
//! not read: a check must not depend on who runs it), and `env_file:` entries added to the
//! container's environment. A variable that stays unknown is left as written: rules judge it
//! as its unsafe case at lower severity (see the engine), never as a pass.

use crate::check::doc::{Kind, Node};
use crate::check::dockerfile::expand;
use std::collections::HashMap;
use std::path::Path;

/// `KEY=value` lines of an env file (`export`, quotes and `#` comments as compose reads them).
pub fn env_file(path: &Path) -> Option<Vec<(String, String)>> {
    let text = crate::util::fs::read_text(path, crate::util::fs::MAX_CONFIG_BYTES).ok()?;
    let doc = crate::check::formats::parse(crate::check::formats::Format::Dotenv, &text).ok()?;
    Some(
        doc.first()?
            .get("env")?
            .entries()
            .iter()
            .map(|(k, v)| (k.name.clone(), v.as_str().unwrap_or("").to_string()))
            .collect(),
    )
}

/// Variables for interpolation: the `.env` beside the compose file.
pub fn variables(compose_path: &str) -> HashMap<String, String> {
    let dir = Path::new(compose_path).parent().unwrap_or(Path::new("."));
    env_file(&dir.join(".env"))
        .unwrap_or_default()
        .into_iter()
        .collect()
}

/// Interpolate every scalar value (not keys) of a service.
pub fn interpolate(n: &Node, vars: &HashMap<String, String>) -> Node {
    let kind = match &n.kind {
        Kind::Scalar(s) if s.contains('$') => {
            // `$$` is a literal dollar: keep it out of expansion.
            let t = s.replace("$$", "\u{0}");
            Kind::Scalar(expand(&t, vars).replace('\u{0}', "$"))
        }
        Kind::Seq(items) => Kind::Seq(items.iter().map(|i| interpolate(i, vars)).collect()),
        Kind::Map(entries) => Kind::Map(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), interpolate(v, vars)))
                .collect(),
        ),
        other => other.clone(),
    };
    Node { pos: n.pos, kind }
}

/// The `env_file:` entries of a service (string or list; long form `{path: …}`), read from
/// the compose file's directory; entries already in `environment` win.
pub fn add_env_files(env: &mut Node, service: &Node, compose_path: &str) {
    let dir = Path::new(compose_path).parent().unwrap_or(Path::new("."));
    let files: Vec<&str> = match service.get("env_file") {
        Some(n) if n.as_str().is_some() => vec![n.as_str().unwrap_or("")],
        Some(n) => n
            .items()
            .iter()
            .filter_map(|i| i.as_str().or_else(|| i.get("path").and_then(Node::as_str)))
            .collect(),
        None => vec![],
    };
    let pos = service.get("env_file").map(|n| n.pos).unwrap_or_default();
    for f in files {
        for (k, v) in env_file(&dir.join(f)).unwrap_or_default() {
            if let Kind::Map(entries) = &mut env.kind
                && !entries.iter().any(|(e, _)| e.name == k)
            {
                entries.push((super::key(&k, pos), Node::scalar(v, pos)));
            }
        }
    }
}

/// The service as `docker compose -f base -f override` sees it when `files[fi]` is an override
/// (`docker-compose.<x>.yaml`, `compose.override.yaml`) of a base compose file in the same
/// directory: the base service's keys the override does not set are added. `None` when there is
/// no base, or this file is the base.
pub fn with_base(files: &[super::File], fi: usize, service: &str, body: &Node) -> Option<Node> {
    let path = Path::new(&files[fi].path);
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    const BASES: &[&str] = &[
        "compose.yaml",
        "compose.yml",
        "docker-compose.yaml",
        "docker-compose.yml",
    ];
    if BASES.contains(&name.as_str()) {
        return None;
    }
    let dir = path.parent();
    let base = files.iter().find(|f| {
        let p = Path::new(&f.path);
        p.parent() == dir
            && p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| BASES.contains(&n.to_ascii_lowercase().as_str()))
    })?;
    let base_body = base.docs.first()?.get("services")?.get(service)?;
    let mut out = body.clone();
    if let Kind::Map(entries) = &mut out.kind {
        for (k, v) in base_body.entries() {
            if !entries.iter().any(|(e, _)| e.name == k.name) {
                entries.push((k.clone(), v.clone()));
            }
        }
    } else {
        return Some(base_body.clone());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::doc::Pos;

    #[test]
    fn variables_are_interpolated() {
        let vars: HashMap<String, String> = [("HOST".to_string(), "0.0.0.0".to_string())].into();
        let n = Node::seq(
            vec![
                Node::scalar("${API_PORT-11434}:11434", Pos::new(1, 1)),
                Node::scalar("--host ${HOST}", Pos::new(2, 1)),
                Node::scalar("${MISSING}", Pos::new(3, 1)),
                Node::scalar("${EMPTY:-x} $$HOME", Pos::new(4, 1)),
            ],
            Pos::new(1, 1),
        );
        let out = interpolate(&n, &vars);
        let t: Vec<&str> = out.items().iter().filter_map(Node::as_str).collect();
        assert_eq!(
            t,
            ["11434:11434", "--host 0.0.0.0", "${MISSING}", "x $HOME"]
        );
    }
}
