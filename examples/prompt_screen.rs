//! The tier-1 prompt-attack screen (`modelsec::monitor::llm::prompt_attack`) over a JSON Lines
//! file of `{"text": ...}`: one JSON array of tells per input line on stdout, then the
//! screen's speed on stderr (µs per input and per KB, best of 20 passes).
//!
//! Used by bench/prompt_screen.sh. Usage: prompt_screen FILE.jsonl

use std::io::Write;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: prompt_screen FILE.jsonl")?;
    let texts: Vec<String> = std::fs::read_to_string(&path)?
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .and_then(|v| v["text"].as_str().map(String::from))
                .unwrap_or_default()
        })
        .collect();
    let mut out = std::io::stdout().lock();
    for t in &texts {
        writeln!(
            out,
            "{}",
            serde_json::to_string(&modelsec::monitor::llm::prompt_attack(t))?
        )?;
    }
    let bytes: usize = texts.iter().map(String::len).sum();
    let mut best = f64::INFINITY;
    for _ in 0..20 {
        let t0 = Instant::now();
        let mut n = 0usize;
        for t in &texts {
            n += modelsec::monitor::llm::prompt_attack(std::hint::black_box(t)).len();
        }
        std::hint::black_box(n);
        best = best.min(t0.elapsed().as_secs_f64());
    }
    eprintln!(
        "modelsec screen: {} inputs, {:.1} KB: {:.2} us per input, {:.2} us per KB",
        texts.len(),
        bytes as f64 / 1024.0,
        best * 1e6 / texts.len() as f64,
        best * 1e6 / (bytes as f64 / 1024.0)
    );
    Ok(())
}
