//! Single-row inference throughput on one model: bare `ort` `session.run` (as in
//! ../shared/ort-example) vs modelsec's attack query path. Used by bench/fuzz.sh.
//!
//! Usage: cargo run --release --example fuzz_throughput -- MODEL.onnx ROWS.npy [N]

use modelsec::fuzz;
use modelsec::onnx::runtime;
use ort::session::Session;
use ort::value::TensorRef;
use std::path::Path;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let model = Path::new(
        args.get(1)
            .ok_or("usage: fuzz_throughput MODEL.onnx ROWS.npy [N]")?,
    );
    let rows = modelsec::rows::read_rows(Path::new(args.get(2).ok_or("ROWS.npy")?))?;
    let n: usize = args
        .get(3)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let (env, _) = runtime::environment()?;
    let mut session = Session::builder(&env)?
        .with_intra_threads(1)?
        .with_inter_threads(1)?
        .commit_from_file(model)?;
    let name = session.inputs()[0].name().to_string();
    let features = rows[0].len();
    let mut x = ndarray::Array2::<f32>::zeros((1, features));
    let mut bare = |n: usize| -> ort::Result<f64> {
        let t0 = Instant::now();
        let mut sink = 0f32;
        for i in 0..n {
            x.row_mut(0)
                .assign(&ndarray::ArrayView1::from(&rows[i % rows.len()][..]));
            let out =
                session.run(ort::inputs![name.as_str() => TensorRef::from_array_view(&x)?])?;
            let (_, p) = out[1].try_extract_tensor::<f32>()?;
            sink += p[0];
        }
        std::hint::black_box(sink);
        Ok(n as f64 / t0.elapsed().as_secs_f64())
    };
    bare(2000)?;
    let mut best_bare = 0f64;
    let mut best_ms = 0f64;
    for _ in 0..3 {
        best_bare = best_bare.max(bare(n)?);
        best_ms = best_ms.max(fuzz::oracle_throughput(model, &rows, n)?);
    }
    println!("bare_ort_inf_per_s {best_bare:.0}");
    println!("modelsec_inf_per_s {best_ms:.0}");
    println!("ratio {:.3}", best_ms / best_bare);
    Ok(())
}
