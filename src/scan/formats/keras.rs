//! Keras: `config.json` of `.keras` archives and the `model_config` of `.h5` files.

use crate::scan::allowlist::Verdict;
use crate::scan::ctx::{Blob, Ctx, Member};
use crate::scan::rules;
use serde_json::Value;
use std::io::{BufRead, BufReader};

fn keras_walk(
    ctx: &mut Ctx<'_>,
    v: &Value,
    member: &Member,
    found: &mut std::collections::HashSet<String>,
) {
    match v {
        Value::Object(m) => {
            let class = m.get("class_name").and_then(Value::as_str).unwrap_or("");
            let module = m.get("module").and_then(Value::as_str);
            let mut add = |ctx: &mut Ctx<'_>,
                           rule: &'static crate::report::Rule,
                           sev: Option<crate::report::Severity>,
                           msg: String| {
                if found.insert(msg.clone()) {
                    ctx.add_sev(rule, sev, member, None, msg);
                }
            };
            if class == "Lambda" {
                add(ctx, &rules::KERAS_LAMBDA, None, "Lambda layer: its function is serialized Python (bytecode or a function reference)".into());
            }
            if class == "TFSMLayer" {
                let path = m
                    .get("config")
                    .and_then(|c| c.get("filepath"))
                    .and_then(Value::as_str)
                    .unwrap_or("?");
                add(
                    ctx,
                    &rules::KERAS_TFSMLAYER,
                    None,
                    format!("TFSMLayer loads the SavedModel at `{path}`"),
                );
            }
            if let Some(module) = module
                && module != "keras"
                && !module.starts_with("keras.")
            {
                let name = m.get("config").and_then(Value::as_str).unwrap_or(class);
                let (sev, extra) = match ctx.policy.judge(module, name) {
                    Verdict::Dangerous(why) => {
                        (Some(crate::report::Severity::Critical), format!(": {why}"))
                    }
                    _ => (None, String::new()),
                };
                add(
                    ctx,
                    &rules::KERAS_MODULE,
                    sev,
                    format!("config imports `{name}` from module `{module}`{extra}"),
                );
            }
            if let Some(r) = m.get("registered_name").and_then(Value::as_str)
                && r.contains('>')
            {
                add(
                    ctx,
                    &rules::KERAS_MODULE,
                    Some(crate::report::Severity::Medium),
                    format!("config uses the custom registered object `{r}`"),
                );
            }
            for x in m.values() {
                keras_walk(ctx, x, member, found);
            }
        }
        Value::Array(a) => {
            for x in a {
                keras_walk(ctx, x, member, found);
            }
        }
        _ => {}
    }
}

/// A Keras model config (`config.json` of a `.keras` archive, a TF.js `model.json`), already
/// known to be valid JSON.
pub(crate) fn scan_json(ctx: &mut Ctx<'_>, data: &[u8], member: &Member) {
    match serde_json::from_slice::<Value>(data) {
        Ok(v) => keras_walk(ctx, &v, member, &mut Default::default()),
        Err(e) => ctx.add(
            &rules::KERAS_MALFORMED,
            member,
            None,
            format!("the Keras config is not valid JSON: {e}"),
        ),
    }
}

/// HDF5 (`.h5` Keras): the `model_config` attribute is JSON stored contiguously in the file.
pub(crate) fn scan_h5(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member) {
    let needle = b"{\"class_name\"";
    let mut r = BufReader::with_capacity(1 << 20, blob.reader());
    let mut pos = 0u64;
    let mut carry: Vec<u8> = Vec::new();
    let mut hits = Vec::new();
    loop {
        let chunk = match r.fill_buf() {
            Ok([]) => break,
            Ok(c) => c.to_vec(),
            Err(e) => {
                return ctx.add(
                    &rules::UNREADABLE,
                    member,
                    Some(pos),
                    format!("could not read: {e}"),
                );
            }
        };
        r.consume(chunk.len());
        let base = pos - carry.len() as u64;
        let mut window = std::mem::take(&mut carry);
        window.extend_from_slice(&chunk);
        for i in memchr::memmem::find_iter(&window, needle) {
            hits.push(base + i as u64);
        }
        pos += chunk.len() as u64;
        let keep = needle.len() - 1;
        carry = window[window.len().saturating_sub(keep)..].to_vec();
        if hits.len() > 64 {
            break;
        }
    }
    let mut parsed_to = 0u64;
    let mut found = Default::default();
    for at in hits {
        if at < parsed_to {
            continue;
        }
        let rest = blob.slice(at, blob.len);
        let mut de = serde_json::Deserializer::from_reader(BufReader::new(rest.reader()))
            .into_iter::<Value>();
        match de.next() {
            Some(Ok(v)) => {
                parsed_to = at + de.byte_offset() as u64;
                keras_walk(ctx, &v, member, &mut found);
            }
            _ => ctx.add(&rules::KERAS_MALFORMED, member, Some(at), "a Keras config in the HDF5 file is not valid JSON (compressed or cut); it could not be checked".into()),
        }
    }
}
