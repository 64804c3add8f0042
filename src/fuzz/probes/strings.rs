//! String inputs: empty, very long, Unicode edge cases (combining marks, a right-to-left
//! override, an emoji ZWJ sequence, characters outside the BMP, a byte-order mark) and control
//! characters. Each must be answered sanely or refused cleanly; a crash or hang is the
//! supervisor's to see. (A string holding NUL cannot be sent: ONNX Runtime's C API takes
//! NUL-terminated strings.)

use super::{Plan, row_element, row_len};
use crate::fuzz::contract::Kind;
use crate::fuzz::ctx::{Ctx, describe_inputs, shapes_text};
use crate::fuzz::oracle;
use crate::onnx::Data;
use crate::report::Severity;

fn cases() -> Vec<(&'static str, String)> {
    vec![
        ("an empty string", String::new()),
        (
            "a 100,000-character string",
            "modelsec ".repeat(11_112)[..100_000].to_string(),
        ),
        (
            "combining marks",
            "e\u{301}\u{302}\u{303}\u{304}\u{305}".into(),
        ),
        ("a right-to-left override", "\u{202e}fdp.exe".into()),
        (
            "an emoji ZWJ sequence",
            "\u{1f469}\u{200d}\u{1f469}\u{200d}\u{1f467}\u{200d}\u{1f466}".into(),
        ),
        (
            "characters outside the BMP",
            "\u{1d518}\u{1d52b}\u{1d526}\u{1d520}".into(),
        ),
        ("a byte-order mark", "\u{feff}word".into()),
        (
            "control characters",
            "\u{1}\u{7}\u{1b}[2J\r\n\t\u{7f}".into(),
        ),
        ("whitespace only", " \t ".into()),
    ]
}

pub fn run(ctx: &mut Ctx<'_>, plan: &Plan<'_>) {
    let c = plan.contract;
    for i in 0..c.inputs.len() {
        if c.inputs[i].kind != Kind::Str {
            continue;
        }
        let name = c.inputs[i].spec.name.clone();
        let axis = plan.row_axis(i);
        let batched = c.batch_varies
            && c.batch
                .as_deref()
                .is_some_and(|b| c.inputs[i].axis_of(b) == axis && axis.is_some());
        let cases = cases();
        // With a free batch, one run holds every case (row r: case r); else one run per case.
        let groups: Vec<Vec<usize>> = if batched {
            vec![(0..cases.len()).collect()]
        } else {
            (0..cases.len()).map(|k| vec![k]).collect()
        };
        for (gi, group) in groups.iter().enumerate() {
            let id = format!("string-{name}-{gi}");
            let sizes = match (&c.batch, batched) {
                (Some(b), true) => plan.sizes_with(b, group.len() as i64),
                _ => plan.base.sizes.clone(),
            };
            let Some(mut data) = plan.inputs(ctx, &id, &sizes) else {
                return;
            };
            let dims = data[i].1.shape().to_vec();
            let width = row_len(&dims, if batched { axis } else { None });
            if let Data::Str(_, v) = &mut data[i].1 {
                for (r, &k) in group.iter().enumerate() {
                    for p in 0..width {
                        let at = row_element(&dims, if batched { axis } else { None }, r, p);
                        v[at] = cases[k].1.clone();
                    }
                }
            }
            let what: Vec<&str> = group.iter().map(|&k| cases[k].0).collect();
            let text = format!(
                "string input `{name}`: {} ({})",
                what.join(", "),
                shapes_text(&data)
            );
            if !ctx.probe(&id, &text, plan.cost(group.len()), None) {
                continue;
            }
            let Ok(out) = ctx.run(&data) else { continue };
            let rows = super::super::baseline::rows_of(c, &sizes, &data);
            let label = format!("string input `{name}` ({})", what.join(", "));
            for (f, row) in oracle::check_valid(plan.roles, &out, rows, &label, Severity::Medium) {
                let case = group.get(row).map_or("", |&k| cases[k].0);
                let repro = describe_inputs(
                    &data,
                    ctx.seed,
                    serde_json::json!({ "row": row, "case": case, "output": out.row_json(row) }),
                );
                ctx.push(f.with_reproducer(repro));
            }
        }
    }
}
