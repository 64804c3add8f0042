//! Per-feature statistics of sample rows: the schema check's ranges and z-scores.

/// Per-feature statistics of sample rows.
#[derive(Clone, Debug)]
pub struct Baseline {
    pub min: Vec<f32>,
    pub max: Vec<f32>,
    pub mean: Vec<f32>,
    /// Standard deviations, floored so constant features do not make every deviation infinite.
    pub std: Vec<f32>,
    pub rows: usize,
}

impl Baseline {
    pub fn from_rows(rows: &[Vec<f32>]) -> Option<Baseline> {
        let d = rows.first()?.len();
        if d == 0 || rows.iter().any(|r| r.len() != d) {
            return None;
        }
        let n = rows.len() as f64;
        let mut min = vec![f32::INFINITY; d];
        let mut max = vec![f32::NEG_INFINITY; d];
        let mut sum = vec![0f64; d];
        let mut sq = vec![0f64; d];
        for r in rows {
            for (j, &v) in r.iter().enumerate() {
                min[j] = min[j].min(v);
                max[j] = max[j].max(v);
                sum[j] += v as f64;
                sq[j] += (v as f64) * (v as f64);
            }
        }
        let mean: Vec<f32> = sum.iter().map(|s| (s / n) as f32).collect();
        let span = (0..d).map(|j| max[j] - min[j]).fold(0f32, f32::max);
        let floor = (0.05 * span).max(1e-6);
        let std = (0..d)
            .map(|j| {
                let m = sum[j] / n;
                ((sq[j] / n - m * m).max(0.0).sqrt() as f32).max(floor)
            })
            .collect();
        Some(Baseline {
            min,
            max,
            mean,
            std,
            rows: rows.len(),
        })
    }

    /// A feature outside the baseline's range widened by its span, or by the widest feature's
    /// span for a feature that was (nearly) constant in the sample (a schema violation).
    pub fn out_of_range(&self, row: &[f32]) -> Option<(usize, f32, f32, f32)> {
        let widest = (0..self.min.len())
            .map(|j| self.max[j] - self.min[j])
            .fold(0f32, f32::max);
        row.iter().enumerate().find_map(|(j, &v)| {
            let span = (self.max[j] - self.min[j]).max(widest).max(1e-6);
            let (lo, hi) = (self.min[j] - span, self.max[j] + span);
            (!(lo..=hi).contains(&v)).then_some((j, v, lo, hi))
        })
    }

    /// The share of features whose |z| exceeds `z`, and the largest |z|.
    pub fn ood(&self, row: &[f32], z: f32) -> (f32, f32) {
        let mut over = 0;
        let mut worst = 0f32;
        for (j, &v) in row.iter().enumerate() {
            let zj = ((v - self.mean[j]) / self.std[j]).abs();
            worst = worst.max(zj);
            if zj > z {
                over += 1;
            }
        }
        (over as f32 / row.len().max(1) as f32, worst)
    }
}
