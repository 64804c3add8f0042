//! The `secrets` view of a Kubernetes `Secret`: every `data` value base64-decoded and every
//! `stringData` value, with JSON objects inside a value opened up (`config.secret_access_key`),
//! each at the line it was written on.

use super::key;
use crate::check::doc::{Kind, Node, Pos};
use base64::Engine;

fn json_entries(
    prefix: &str,
    v: &serde_json::Value,
    text: &str,
    base: Pos,
    block: bool,
    out: &mut Vec<(String, String, Pos)>,
) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let name = format!("{prefix}.{k}");
                match v {
                    serde_json::Value::String(s) => {
                        // The line of `"key"` inside the text, offset from the value's start.
                        let needle = format!("\"{k}\"");
                        let pos = text
                            .find(&needle)
                            .map(|i| {
                                let line = text[..i].matches('\n').count() as u32;
                                if line == 0 && !block {
                                    base
                                } else {
                                    let col = i - text[..i].rfind('\n').map(|n| n + 1).unwrap_or(0);
                                    Pos {
                                        line: base.line + line + u32::from(block),
                                        col: base.col + 1 + col as u32,
                                    }
                                }
                            })
                            .unwrap_or(base);
                        out.push((name, s.clone(), pos));
                    }
                    other => json_entries(&name, other, text, base, block, out),
                }
            }
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                json_entries(&format!("{prefix}[{i}]"), item, text, base, block, out);
            }
        }
        _ => {}
    }
}

/// The view, or `None` when the Secret holds nothing.
pub fn view(doc: &Node) -> Option<Node> {
    let mut out: Vec<(String, String, Pos)> = Vec::new();
    let mut add = |k: &str, text: String, pos: Pos| {
        let t = text.trim_start();
        if t.starts_with('{')
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
        {
            json_entries(k, &v, &text, pos, text.contains('\n'), &mut out);
        } else {
            out.push((k.to_string(), text, pos));
        }
    };
    for (k, v) in doc.get("data").map(Node::entries).unwrap_or(&[]) {
        let Some(b64) = v.as_str() else { continue };
        let clean: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
        if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(clean.as_bytes())
            && let Ok(text) = String::from_utf8(bytes)
        {
            add(&k.name, text, k.pos);
        }
    }
    for (k, v) in doc.get("stringData").map(Node::entries).unwrap_or(&[]) {
        if let Some(text) = v.as_str() {
            add(
                &k.name,
                text.to_string(),
                if text.contains('\n') { k.pos } else { v.pos },
            );
        }
    }
    if out.is_empty() {
        return None;
    }
    let entries = out
        .into_iter()
        .map(|(k, v, pos)| (key(&k, pos), Node::scalar(v, pos)))
        .collect();
    Some(Node::map(entries, Pos::default()))
}

/// Whether a document anywhere holds a `containers` list (a workload of some kind).
pub fn holds_containers(n: &Node) -> bool {
    match &n.kind {
        Kind::Map(entries) => entries.iter().any(|(k, v)| {
            (k.name == "containers" && matches!(v.kind, Kind::Seq(_))) || holds_containers(v)
        }),
        Kind::Seq(items) => items.iter().any(holds_containers),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::doc::parse_yaml;

    #[test]
    fn data_is_decoded_and_json_opened() {
        let d = &parse_yaml("apiVersion: v1\nkind: Secret\ndata:\n  AWS_SECRET_ACCESS_KEY: bWluaW8xMjM=\nstringData:\n  cfg: |\n    {\n      \"type\": \"s3\",\n      \"secret_access_key\": \"minio123\"\n    }\n").unwrap()[0];
        let v = view(d).unwrap();
        assert_eq!(
            v.get("AWS_SECRET_ACCESS_KEY").unwrap().as_str(),
            Some("minio123")
        );
        assert_eq!(v.entry("AWS_SECRET_ACCESS_KEY").unwrap().0.pos.line, 4);
        let (k, n) = v.entry("cfg.secret_access_key").unwrap();
        assert_eq!(n.as_str(), Some("minio123"));
        assert_eq!(k.pos.line, 9);
    }
}
