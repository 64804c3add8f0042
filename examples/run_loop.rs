//! fuzz's run path (`Model::run`: input tensors made, ONNX Runtime, every output decoded) in a
//! loop on one `.npz` input, for profiling it against bare ONNX Runtime on the same model:
//! prints inferences per second for 3 loops of N runs (after 1,000 warm-up runs). Under
//! `valgrind --tool=callgrind`, the instructions per run are the difference between two run
//! counts over the difference in runs (each count runs 1,000 + 3 × N).
//!
//! Usage: cargo run --release --example run_loop -- MODEL.onnx INPUT.npz [N]

use modelsec::onnx;
use std::path::Path;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: run_loop MODEL.onnx INPUT.npz [N]";
    let (mut model, _) = onnx::open(Path::new(args.get(1).ok_or(usage)?))?;
    let seeds = modelsec::fuzz::seeds::read(Path::new(args.get(2).ok_or(usage)?), &model.inputs)?;
    let n: usize = args
        .get(3)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let data = model
        .inputs
        .iter()
        .map(|s| {
            seeds
                .get(&s.name)
                .map(|d| (s.name.clone(), d.clone()))
                .ok_or_else(|| format!("the .npz has no array for input `{}`", s.name))
        })
        .collect::<Result<Vec<_>, _>>()?;
    for _ in 0..1000 {
        model.run(&data)?;
    }
    for _ in 0..3 {
        let t = Instant::now();
        for _ in 0..n {
            std::hint::black_box(model.run(&data)?);
        }
        println!("{:.0} inf/s", n as f64 / t.elapsed().as_secs_f64());
    }
    Ok(())
}
