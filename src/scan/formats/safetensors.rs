//! safetensors: the header is validated as strictly as the reference Rust parser does.

use crate::scan::ctx::{Blob, Ctx, Member};
use crate::scan::rules;
use serde_json::Value;

fn st_bits(dtype: &str) -> Option<u64> {
    Some(match dtype {
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" | "F8_E8M0" => 8,
        "I16" | "U16" | "F16" | "BF16" => 16,
        "I32" | "U32" | "F32" => 32,
        "I64" | "U64" | "F64" | "C64" => 64,
        "F4" => 4,
        "F6_E2M3" | "F6_E3M2" => 6,
        _ => return None,
    })
}

/// safetensors: the header is validated as strictly as the reference Rust parser does.
pub(crate) fn scan(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member) {
    let bad =
        |ctx: &mut Ctx<'_>, msg: String| ctx.add(&rules::SAFETENSORS_HEADER, member, Some(0), msg);
    let n = match blob.read_at(0, 8) {
        Ok(b) if b.len() == 8 => u64::from_le_bytes(b.try_into().unwrap_or_default()),
        _ => return bad(ctx, "file shorter than the 8-byte header length".into()),
    };
    if n > 100_000_000 {
        return bad(ctx, format!("header length {n} exceeds the 100 MB limit"));
    }
    if n > blob.len - 8 {
        return bad(
            ctx,
            format!("header length {n} runs past the end of the file"),
        );
    }
    let header = match blob.read_at(8, n as usize) {
        Ok(h) => h,
        Err(e) => {
            return ctx.add(
                &rules::UNREADABLE,
                member,
                Some(8),
                format!("could not read the header: {e}"),
            );
        }
    };
    let map: serde_json::Map<String, Value> = match serde_json::from_slice(&header) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return bad(ctx, "header is not a JSON object".into()),
        Err(e) => return bad(ctx, format!("header is not valid JSON: {e}")),
    };
    let data_len = blob.len - 8 - n;
    let mut ranges = Vec::new();
    for (name, v) in &map {
        if name == "__metadata__" {
            let ok = v
                .as_object()
                .is_some_and(|m| m.values().all(Value::is_string));
            if !ok {
                bad(ctx, "`__metadata__` must map strings to strings".into());
            }
            continue;
        }
        let Some(t) = v.as_object() else {
            bad(ctx, format!("tensor `{name}` is not an object"));
            continue;
        };
        if let Some(k) = t
            .keys()
            .find(|k| !matches!(k.as_str(), "dtype" | "shape" | "data_offsets"))
        {
            bad(ctx, format!("tensor `{name}` has unknown field `{k}`"));
        }
        let dtype = t.get("dtype").and_then(Value::as_str).unwrap_or("");
        let Some(bits) = st_bits(dtype) else {
            bad(ctx, format!("tensor `{name}` has unknown dtype `{dtype}`"));
            continue;
        };
        let shape: Option<Vec<u64>> = t
            .get("shape")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().map(Value::as_u64).collect());
        let offs: Option<Vec<u64>> = t
            .get("data_offsets")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().map(Value::as_u64).collect());
        let (Some(shape), Some(offs)) = (shape, offs) else {
            bad(
                ctx,
                format!(
                    "tensor `{name}` needs a `shape` of non-negative integers and two `data_offsets`"
                ),
            );
            continue;
        };
        if offs.len() != 2 || offs[0] > offs[1] {
            ctx.add(
                &rules::SAFETENSORS_OFFSETS,
                member,
                Some(8),
                format!("tensor `{name}` has invalid data_offsets {offs:?}"),
            );
            continue;
        }
        let numel = shape
            .iter()
            .try_fold(1u128, |a, &d| a.checked_mul(d as u128));
        let want = numel
            .and_then(|n| n.checked_mul(bits as u128))
            .filter(|b| b % 8 == 0)
            .map(|b| b / 8);
        if want != Some((offs[1] - offs[0]) as u128) {
            ctx.add(&rules::SAFETENSORS_OFFSETS, member, Some(8), format!(
                "tensor `{name}`: shape {shape:?} × {dtype} needs {} bytes but data_offsets cover {}",
                want.map_or("an impossible number of".to_string(), |w| w.to_string()),
                offs[1] - offs[0]
            ));
        }
        ranges.push((offs[0], offs[1], name.clone()));
    }
    ranges.sort();
    let mut expect = 0u64;
    for (b, e, name) in &ranges {
        if *b != expect {
            let what = if *b < expect {
                "overlaps the previous tensor"
            } else {
                "leaves a gap before it"
            };
            ctx.add(
                &rules::SAFETENSORS_OFFSETS,
                member,
                Some((8 + n).saturating_add(*b)),
                format!("tensor `{name}` starts at {b}, which {what} (expected {expect})"),
            );
        }
        expect = expect.max(*e);
    }
    if expect > data_len {
        ctx.add(
            &rules::SAFETENSORS_OFFSETS,
            member,
            Some(8 + n),
            format!("tensors end at {expect} but the buffer has {data_len} bytes"),
        );
    } else if expect < data_len {
        ctx.add(
            &rules::TRAILING_BYTES,
            member,
            Some((8 + n).saturating_add(expect)),
            format!(
                "{} byte(s) follow the last tensor; the reference loader rejects the file",
                data_len - expect
            ),
        );
    }
}
