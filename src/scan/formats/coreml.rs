//! CoreML `.mlmodel` (a protobuf `CoreML.Specification.Model`): the model tree is walked
//! (pipelines, neural networks and their branch/loop sub-networks). What runs outside Core ML's
//! own kernels is reported: custom layers and custom models (classes the application
//! implements) and linked models (another model file loaded by path).

use super::protobuf::{Val, fields};
use crate::report::Severity;
use crate::scan::ctx::{Blob, Ctx, Member};
use crate::scan::rules;

/// Largest `.mlmodel` read whole (protobuf messages are limited to 2 GiB).
const MAX_MLMODEL: u64 = 2 << 30;
/// Nesting of pipelines and sub-networks followed.
const MAX_NEST: u32 = 32;

fn string_field(msg: &[u8], field: u32) -> Option<String> {
    fields(msg)
        .flatten()
        .find(|(f, _)| *f == field)
        .and_then(|(_, v)| v.text())
}

fn network(ctx: &mut Ctx<'_>, nn: &[u8], member: &Member, depth: u32) -> Result<(), String> {
    if depth > MAX_NEST {
        return Err("neural networks nested too deep".into());
    }
    for f in fields(nn) {
        if let (1, Val::Bytes(layer)) = f? {
            let name = string_field(layer, 1).unwrap_or_default();
            for l in fields(layer) {
                match l? {
                    (500, Val::Bytes(custom)) => {
                        let class = string_field(custom, 10).unwrap_or_default();
                        ctx.add(
                            &rules::COREML_CUSTOM,
                            member,
                            None,
                            format!("layer `{name}` is a custom layer implemented by the application's class `{class}` (native code outside Core ML)"),
                        );
                    }
                    (605, Val::Bytes(branch)) => {
                        for b in fields(branch) {
                            if let (1 | 2, Val::Bytes(sub)) = b? {
                                network(ctx, sub, member, depth + 1)?;
                            }
                        }
                    }
                    (615, Val::Bytes(looped)) => {
                        for b in fields(looped) {
                            if let (3 | 4, Val::Bytes(sub)) = b? {
                                network(ctx, sub, member, depth + 1)?;
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

fn model(ctx: &mut Ctx<'_>, m: &[u8], member: &Member, depth: u32) -> Result<(), String> {
    if depth > MAX_NEST {
        return Err("pipelines nested too deep".into());
    }
    let mut version = false;
    for f in fields(m) {
        match f? {
            (1, Val::Varint(_)) => version = true,
            (200 | 201, Val::Bytes(pc)) => {
                for p in fields(pc) {
                    if let (1, Val::Bytes(pipe)) = p? {
                        pipeline(ctx, pipe, member, depth)?;
                    }
                }
            }
            (202, Val::Bytes(pipe)) => pipeline(ctx, pipe, member, depth)?,
            (303 | 403 | 500, Val::Bytes(nn)) => network(ctx, nn, member, depth)?,
            (555, Val::Bytes(custom)) => {
                let class = string_field(custom, 10).unwrap_or_default();
                ctx.add(
                    &rules::COREML_CUSTOM,
                    member,
                    None,
                    format!("the model is a custom model implemented by the application's class `{class}` (native code outside Core ML)"),
                );
            }
            (556, Val::Bytes(linked)) => {
                let file = fields(linked)
                    .flatten()
                    .find(|(f, _)| *f == 1)
                    .and_then(|(_, v)| v.bytes())
                    .map(|lf| {
                        let get = |n| {
                            fields(lf)
                                .flatten()
                                .find(|(f, _)| *f == n)
                                .and_then(|(_, v)| v.bytes())
                                .and_then(|p| string_field(p, 1))
                                .unwrap_or_default()
                        };
                        (get(1), get(2))
                    })
                    .unwrap_or_default();
                let risky = [&file.0, &file.1]
                    .iter()
                    .any(|p| p.starts_with('/') || p.split(['/', '\\']).any(|c| c == ".."));
                ctx.add_sev(
                    &rules::COREML_CUSTOM,
                    Some(if risky { Severity::High } else { Severity::Medium }),
                    member,
                    None,
                    format!(
                        "the model links another model file `{}` (search path `{}`), loaded when this one is",
                        file.0, file.1
                    ),
                );
            }
            (3000, Val::Bytes(ser)) => {
                let id = string_field(ser, 1).unwrap_or_default();
                ctx.add(
                    &rules::COREML_CUSTOM,
                    member,
                    None,
                    format!("the model is an opaque serialized model (`{id}`) that Core ML hands to another framework"),
                );
            }
            _ => {}
        }
    }
    if !version && depth == 0 {
        return Err("no specificationVersion".into());
    }
    Ok(())
}

fn pipeline(ctx: &mut Ctx<'_>, p: &[u8], member: &Member, depth: u32) -> Result<(), String> {
    for f in fields(p) {
        if let (1, Val::Bytes(m)) = f? {
            model(ctx, m, member, depth + 1)?;
        }
    }
    Ok(())
}

pub(crate) fn scan(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member) {
    let buf = match blob.read_all(MAX_MLMODEL) {
        Ok(Some(b)) => b,
        Ok(None) => {
            return ctx.add(
                &rules::RESOURCE_LIMIT,
                member,
                None,
                "CoreML model larger than 2 GiB; not read".into(),
            );
        }
        Err(e) => {
            return ctx.add(
                &rules::UNREADABLE,
                member,
                None,
                format!("could not read: {e}"),
            );
        }
    };
    if let Err(e) = model(ctx, &buf, member, 0) {
        ctx.add(
            &rules::FORMAT_MALFORMED,
            member,
            None,
            format!("not a valid CoreML model: {e}"),
        );
    }
}
