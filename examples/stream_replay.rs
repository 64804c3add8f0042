//! Replay a monitor evaluation's dumped streams through the detector engine, one session after
//! another (each session one client), and print every rule's first firing per session:
//! `session \t request \t rows before it and in it \t rule \t message`. The input is the
//! `replay.bin` / `replay.json` pair `bench/field/stream_replay.py` writes next to the run's
//! `monitor.toml` and `baseline.npy`; that script is the way to run this.
//!
//! Usage: stream_replay RUN_DIR
use modelsec::monitor::config::Config;
use modelsec::monitor::detect::{Answers, Baseline, Engine};
use std::process::ExitCode;

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end =
            end.ok_or_else(|| format!("replay.bin ends inside a record at byte {}", self.at))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    /// `n` little-endian 4-byte words.
    fn words(&mut self, n: usize) -> Result<impl Iterator<Item = [u8; 4]> + '_, String> {
        Ok(self
            .take(4 * n)?
            .chunks_exact(4)
            .map(|c| [c[0], c[1], c[2], c[3]]))
    }
    fn u32s(&mut self, n: usize) -> Result<Vec<u32>, String> {
        Ok(self.words(n)?.map(u32::from_le_bytes).collect())
    }
    fn f32s(&mut self, n: usize) -> Result<Vec<f32>, String> {
        Ok(self.words(n)?.map(f32::from_le_bytes).collect())
    }
}

fn run(dir: &std::path::Path) -> Result<(), String> {
    let cfg = Config::load(&dir.join("monitor.toml")).map_err(|e| e.to_string())?;
    let base = modelsec::rows::read_rows(&dir.join("baseline.npy")).map_err(|e| e.to_string())?;
    let d = base.first().map_or(0, Vec::len);
    let baseline = Baseline::from_rows(&base).ok_or("baseline.npy: rows of different lengths")?;
    let mut key = [0u8; 32];
    if let Some(h) = &cfg.detect.key {
        hex::decode_to_slice(h, &mut key).map_err(|e| format!("monitor.toml detect.key: {e}"))?;
    }
    let names: Vec<String> = serde_json::from_str(
        &std::fs::read_to_string(dir.join("replay.json"))
            .map_err(|e| format!("replay.json: {e}"))?,
    )
    .map_err(|e| format!("replay.json: {e}"))?;
    let bytes = std::fs::read(dir.join("replay.bin")).map_err(|e| format!("replay.bin: {e}"))?;
    let engine = Engine::new(d, Some(baseline), &cfg.detect, key);
    let mut clients: Vec<Option<(_, Vec<&str>, u64, u64)>> = names.iter().map(|_| None).collect();
    let mut r = Reader {
        bytes: &bytes,
        at: 0,
    };
    while r.at < bytes.len() {
        let head = r.u32s(4)?;
        let (s, n, w, scored) = (
            head[0] as usize,
            head[1] as usize,
            head[2] as usize,
            head[3],
        );
        if s >= names.len() || w != d {
            return Err(format!(
                "replay.bin: a request of session {s} with {w} features (baseline {d}, {} sessions)",
                names.len()
            ));
        }
        let values = r.f32s(n * w)?;
        let rows: Vec<Vec<f32>> = values.chunks_exact(w.max(1)).map(<[f32]>::to_vec).collect();
        let labels: Vec<usize> = r.u32s(n)?.into_iter().map(|l| l as usize).collect();
        let margins = r.f32s(n)?;
        let c = clients[s].get_or_insert_with(|| (engine.client(), Vec::new(), 0, 0));
        let answers = Answers {
            labels: &labels,
            margins: &margins,
        };
        let sent = if scored != 0 { n as u64 } else { 0 };
        for g in engine.observe(&mut c.0, &names[s], &rows, Some(answers), sent) {
            if !c.1.contains(&g.rule.id) {
                c.1.push(g.rule.id);
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    names[s],
                    c.2,
                    c.3 + n as u64,
                    g.rule.id,
                    g.message
                );
            }
        }
        c.2 += 1;
        c.3 += n as u64;
    }
    Ok(())
}

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: stream_replay RUN_DIR (see bench/field/stream_replay.py)");
        return ExitCode::from(2);
    };
    match run(std::path::Path::new(&dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stream_replay: {e}");
            ExitCode::from(2)
        }
    }
}
