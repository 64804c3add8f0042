//! skops (`.skops`, a zip with `schema.json`): every node of the schema names a type or
//! function by `__module__` and `__class__`, which `skops.io.load` imports (and, for object,
//! reduce and operator nodes, calls). Each name goes through the same allow-list as pickle
//! globals; the arrays the schema points to are `.npy` members, scanned as such.

use crate::report::Finding;
use crate::scan::allowlist::{Verdict, is_dunder_path};
use crate::scan::ctx::{Ctx, Member};
use crate::scan::rules;
use serde_json::Value;
use std::collections::HashSet;

/// Node loaders whose type skops only references or fills in (everything else is
/// instantiated or called).
const VALUE_LOADERS: &[&str] = &["FunctionNode", "TypeNode", "MethodNode", "CachedNode"];

fn walk(v: &Value, out: &mut Vec<(String, String, bool)>, depth: u32) {
    if depth > 256 {
        return;
    }
    match v {
        Value::Object(m) => {
            if let (Some(module), Some(class)) = (
                m.get("__module__").and_then(Value::as_str),
                m.get("__class__").and_then(Value::as_str),
            ) {
                let loader = m
                    .get("__loader__")
                    .and_then(Value::as_str)
                    .unwrap_or("TypeNode");
                let name = match (loader, m.get("content").and_then(|c| c.get("func"))) {
                    ("MethodNode", Some(Value::String(f))) => format!("{class}.{f}"),
                    _ => class.to_string(),
                };
                let called = !VALUE_LOADERS.contains(&loader);
                out.push((module.to_string(), name, called));
            }
            for x in m.values() {
                walk(x, out, depth + 1);
            }
        }
        Value::Array(a) => {
            for x in a {
                walk(x, out, depth + 1);
            }
        }
        _ => {}
    }
}

/// Judge every type and function `schema.json` (the bytes `data`) names.
pub(crate) fn scan_schema(ctx: &mut Ctx<'_>, data: &[u8], member: &Member) {
    let v: Value = match serde_json::from_slice(data) {
        Ok(v) => v,
        Err(e) => {
            return ctx.add(
                &rules::FORMAT_MALFORMED,
                member,
                None,
                format!("skops schema.json is not valid JSON ({e}); skops refuses the file, and modelsec could not check it"),
            );
        }
    };
    let mut names = Vec::new();
    walk(&v, &mut names, 0);
    if names.is_empty() {
        return ctx.add(
            &rules::FORMAT_MALFORMED,
            member,
            None,
            "skops schema.json names no type; it is not a skops file modelsec can check".into(),
        );
    }
    let mut seen = HashSet::new();
    for (module, name, called) in names {
        if !seen.insert((module.clone(), name.clone(), called)) {
            continue;
        }
        let subject = serde_json::json!({ "module": module, "name": name, "called": called });
        let full = format!("{module}.{name}");
        let finding = match ctx.policy.judge(&module, &name) {
            Verdict::Allowed { call: true } => continue,
            Verdict::Allowed { call: false } if !called => continue,
            Verdict::Allowed { call: false } => Finding::new(
                &rules::SKOPS_DANGEROUS,
                format!(
                    "the skops schema instantiates `{full}`, which the allow-list permits only as a value"
                ),
            ),
            _ if is_dunder_path(&name) => Finding::new(
                &rules::SKOPS_DANGEROUS,
                format!("the skops schema reaches `{full}` through a dunder attribute"),
            ),
            Verdict::Dangerous(why) => Finding::new(
                &rules::SKOPS_DANGEROUS,
                format!("the skops schema names `{full}`: {why}"),
            ),
            Verdict::Unknown => Finding::new(
                &rules::SKOPS_UNKNOWN,
                format!(
                    "the skops schema {} `{full}`, which is not on the allow-list",
                    if called { "instantiates" } else { "references" }
                ),
            ),
        };
        ctx.push(finding.with_subject(subject), None, member, None);
    }
}
