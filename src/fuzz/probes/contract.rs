//! The declared contract must be enforced: the first input with the wrong element type, with
//! rank 1, or under an undeclared name must be refused.

use super::Plan;
use crate::fuzz::ctx::{Ctx, Feed, describe_inputs};
use crate::fuzz::rules;
use crate::onnx::{Data, Elem};
use crate::report::Finding;

pub fn run(ctx: &mut Ctx<'_>, plan: &Plan<'_>) {
    let Some((name, first)) = plan.base.data.first().cloned() else {
        return;
    };
    let swapped = match &first {
        Data::F32(s, v) => Data::F64(s.clone(), v.iter().map(|&x| f64::from(x)).collect()),
        Data::F64(s, v) => Data::F32(s.clone(), v.iter().map(|&x| x as f32).collect()),
        Data::Int(Elem::I64, s, v) => Data::Int(Elem::I32, s.clone(), v.clone()),
        Data::Int(_, s, v) => Data::Int(Elem::I64, s.clone(), v.clone()),
        Data::Str(s, v) => Data::F32(s.clone(), vec![0.0; v.len()]),
    };
    let declared_rank = first.shape().len();
    let mut cases: Vec<(&str, String, Feed)> = Vec::new();
    let mut wrong = plan.base.data.clone();
    wrong[0].1 = swapped;
    cases.push((
        "contract-dtype",
        format!(
            "input `{name}` accepted a tensor of the wrong element type ({} for {})",
            wrong[0].1.dtype(),
            first.dtype()
        ),
        wrong,
    ));
    if declared_rank > 1 {
        let mut flat = plan.base.data.clone();
        flat[0].1 = first.part(vec![first.len() as i64], 0..first.len());
        cases.push((
            "contract-rank",
            format!("input `{name}` accepted a tensor of rank 1 (declared rank {declared_rank})"),
            flat,
        ));
    }
    let mut renamed = plan.base.data.clone();
    renamed[0].0 = "__modelsec_no_such_input__".into();
    cases.push((
        "contract-name",
        "an input with an undeclared name was accepted".into(),
        renamed,
    ));
    for (id, message, data) in cases {
        if !ctx.probe(id, "wrong element type, rank and input name", 1.0, None) {
            continue;
        }
        if ctx.run(&data).is_ok() {
            let f = Finding::new(&rules::CONTRACT_NOT_ENFORCED, message)
                .with_reproducer(describe_inputs(&data, ctx.seed, serde_json::json!({})));
            ctx.push(f);
        }
    }
}
