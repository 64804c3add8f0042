//! Rows of features from a file: fuzz seeds and the monitor's baseline. `.npy` goes through the
//! one hardened reader ([`crate::util::npy`]); every file is read through the capped, regular-file
//! only reader ([`crate::util::fs`]).

use crate::util::{fs, npy};
use std::path::Path;

/// Why a rows file cannot be used (exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RowsError {
    /// The file could not be read.
    #[error(transparent)]
    Read(#[from] fs::ReadError),
    /// The file's content is not rows of numbers.
    #[error("rows file `{path}`: {message}")]
    Invalid {
        /// The path.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// Read seed rows by extension: `.npy` (float32/float64, 1-D or 2-D), `.csv` (comma-separated
/// numbers; a non-numeric first line is a header), `.jsonl` (one JSON array of numbers per line,
/// or an object with one array value).
pub fn read_rows(path: &Path) -> Result<Vec<Vec<f32>>, RowsError> {
    let err = |m: String| RowsError::Invalid {
        path: path.display().to_string(),
        message: m,
    };
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ext == "npy" {
        let bytes = fs::read_bytes(path, fs::MAX_ROWS_BYTES)?;
        return npy::read_f32_rows(&bytes).map_err(|e| err(e.to_string()));
    }
    if !matches!(ext.as_str(), "csv" | "jsonl" | "ndjson") {
        return Err(err(
            "rows must be .npy, .csv or .jsonl (chosen by extension)".into(),
        ));
    }
    let text = fs::read_text(path, fs::MAX_ROWS_BYTES)?;
    let mut rows: Vec<Vec<f32>> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let row: Vec<f32> = match ext.as_str() {
            "csv" => match line
                .split(',')
                .map(|c| c.trim().parse::<f32>())
                .collect::<Result<Vec<f32>, _>>()
            {
                Ok(r) => r,
                Err(_) if i == 0 => continue, // header
                Err(e) => return Err(err(format!("line {}: {e}", i + 1))),
            },
            "jsonl" | "ndjson" => {
                let v: serde_json::Value =
                    serde_json::from_str(line).map_err(|e| err(format!("line {}: {e}", i + 1)))?;
                let arr = match &v {
                    serde_json::Value::Array(a) => a.clone(),
                    serde_json::Value::Object(o) if o.len() == 1 => o
                        .values()
                        .next()
                        .and_then(|x| x.as_array().cloned())
                        .unwrap_or_default(),
                    _ => vec![],
                };
                let row: Option<Vec<f32>> =
                    arr.iter().map(|x| x.as_f64().map(|f| f as f32)).collect();
                row.filter(|r| !r.is_empty())
                    .ok_or_else(|| err(format!("line {}: expected an array of numbers", i + 1)))?
            }
            _ => {
                return Err(err(
                    "rows must be .npy, .csv or .jsonl (chosen by extension)".into(),
                ));
            }
        };
        if rows.first().is_some_and(|r| r.len() != row.len()) {
            return Err(err(format!(
                "line {} has {} values, the first row {}",
                i + 1,
                row.len(),
                rows[0].len()
            )));
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(err("no rows".into()));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_jsonl() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("r.csv");
        std::fs::write(&p, "a,b\n1,2\n3,4\n").unwrap();
        assert_eq!(read_rows(&p).unwrap(), vec![vec![1., 2.], vec![3., 4.]]);
        let p = d.path().join("r.jsonl");
        std::fs::write(&p, "[1, 2]\n{\"x\": [3, 4]}\n").unwrap();
        assert_eq!(read_rows(&p).unwrap(), vec![vec![1., 2.], vec![3., 4.]]);
        let p = d.path().join("r.txt");
        std::fs::write(&p, "1,2").unwrap();
        assert!(
            read_rows(&p)
                .unwrap_err()
                .to_string()
                .contains(".npy, .csv or .jsonl")
        );
    }

    #[test]
    fn overflowing_npy_shape_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("r.npy");
        let h = "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }";
        let mut h = h.to_string();
        while !(10 + h.len() + 1).is_multiple_of(64) {
            h.push(' ');
        }
        h.push('\n');
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(h.len() as u16).to_le_bytes());
        b.extend_from_slice(h.as_bytes());
        b.extend_from_slice(&[0; 64]);
        std::fs::write(&p, b).unwrap();
        let e = read_rows(&p).unwrap_err();
        assert!(e.to_string().contains("shorter than the shape"), "{e}");
    }

    #[test]
    fn devices_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("z.csv");
        std::os::unix::fs::symlink("/dev/zero", &p).unwrap();
        let e = read_rows(&p).unwrap_err();
        assert!(matches!(e, RowsError::Read(_)), "{e}");
    }
}
