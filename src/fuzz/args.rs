//! The input contract as a user states it on the command line: `--range`, `--dim` and
//! `--shape` values, parsed with messages that say what is expected.

use std::fmt;

/// Where values are drawn from when there are no seeds, and the box the attacks stay in:
/// `LO..HI` for every input, `NAME=LO..HI` for one input, `NAME[F]=LO..HI` for one feature
/// (index into the input's last dimension). A single value (`sr=16000`, or `16000..16000`)
/// pins the input to it. Integer inputs take `LO..HI` inclusive of both bounds.
#[derive(Clone, Debug, PartialEq)]
pub struct ValueRange {
    pub input: Option<String>,
    pub feature: Option<usize>,
    pub lo: f64,
    pub hi: f64,
}

const RANGE_USAGE: &str = "expected LO..HI, NAME=LO..HI, NAME[F]=LO..HI or NAME=VALUE (e.g. -1..1, X=0..1, X[3]=-1..1, sr=16000)";

impl std::str::FromStr for ValueRange {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (target, span) = match text.rsplit_once('=') {
            Some((t, r)) => (Some(t.trim()), r.trim()),
            None => (None, text.trim()),
        };
        let num = |v: &str| {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| {
                    format!(
                        "`{text}`: `{}` is not a finite number; {RANGE_USAGE}",
                        v.trim()
                    )
                })
        };
        let (lo, hi) = match span.split_once("..") {
            Some((lo, hi)) => (num(lo)?, num(hi)?),
            None => {
                let v = num(span)?;
                (v, v)
            }
        };
        if lo > hi {
            return Err(format!(
                "`{text}`: the low bound must not be above the high bound"
            ));
        }
        let (input, feature) = match target {
            None => (None, None),
            Some(t) => match t.strip_suffix(']').and_then(|t| t.rsplit_once('[')) {
                Some((name, f)) => {
                    let f = f.trim().parse::<usize>().map_err(|_| {
                        format!("`{text}`: `[{f}]` is not a feature index; {RANGE_USAGE}")
                    })?;
                    (Some(name.trim().to_string()), Some(f))
                }
                None if t.ends_with(']') || (t.contains('[') && !t.contains(']')) => {
                    return Err(format!("`{text}`: unbalanced `[`/`]`; {RANGE_USAGE}"));
                }
                None => (Some(t.to_string()), None),
            },
        };
        if input.as_deref() == Some("") {
            return Err(format!("`{text}`: empty input name; {RANGE_USAGE}"));
        }
        Ok(ValueRange {
            input,
            feature,
            lo,
            hi,
        })
    }
}

impl fmt::Display for ValueRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.input, self.feature) {
            (Some(n), Some(i)) => write!(f, "{n}[{i}]=")?,
            (Some(n), None) => write!(f, "{n}=")?,
            _ => {}
        }
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}..{}", self.lo, self.hi)
        }
    }
}

/// The range for `input`'s feature `feature`: the most specific `--range` that matches.
pub fn range_for(ranges: &[ValueRange], input: &str, feature: usize) -> Option<(f64, f64)> {
    let matches = |r: &&ValueRange| {
        r.input.as_deref().is_none_or(|n| n == input) && r.feature.is_none_or(|f| f == feature)
    };
    ranges
        .iter()
        .filter(matches)
        .max_by_key(|r| (r.input.is_some() as u8) + 2 * (r.feature.is_some() as u8))
        .map(|r| (r.lo, r.hi))
}

/// `--dim SYMBOL=N`: a symbolic dimension's size, everywhere the symbol appears.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DimBinding {
    pub symbol: String,
    pub size: i64,
}

impl std::str::FromStr for DimBinding {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let usage = "expected SYMBOL=N (e.g. batch=1, height=320)";
        let (symbol, size) = text
            .rsplit_once('=')
            .ok_or_else(|| format!("`{text}`: no `=`; {usage}"))?;
        let size = size
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|&n| n >= 0)
            .ok_or_else(|| {
                format!(
                    "`{text}`: `{}` is not a size (0 or more); {usage}",
                    size.trim()
                )
            })?;
        let symbol = symbol.trim();
        if symbol.is_empty() {
            return Err(format!("`{text}`: empty symbol; {usage}"));
        }
        Ok(DimBinding {
            symbol: symbol.to_string(),
            size,
        })
    }
}

/// `--shape INPUT=AxBxC`: every dimension of one input (`INPUT=` for a scalar).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeSpec {
    pub input: String,
    pub dims: Vec<i64>,
}

impl std::str::FromStr for ShapeSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let usage = "expected INPUT=AxBxC (e.g. x=1x3x224x224; INPUT= for a scalar)";
        let (input, dims) = text
            .rsplit_once('=')
            .ok_or_else(|| format!("`{text}`: no `=`; {usage}"))?;
        let input = input.trim();
        if input.is_empty() {
            return Err(format!("`{text}`: empty input name; {usage}"));
        }
        let dims = dims.trim();
        let dims = if dims.is_empty() {
            vec![]
        } else {
            dims.split(['x', 'X', ','])
                .map(|d| {
                    d.trim()
                        .parse::<i64>()
                        .ok()
                        .filter(|&n| n >= 0)
                        .ok_or_else(|| format!("`{text}`: `{}` is not a size; {usage}", d.trim()))
                })
                .collect::<Result<Vec<i64>, String>>()?
        };
        Ok(ShapeSpec {
            input: input.to_string(),
            dims,
        })
    }
}

impl fmt::Display for ShapeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dims: Vec<String> = self.dims.iter().map(i64::to_string).collect();
        write!(f, "{}={}", self.input, dims.join("x"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_negative_bounds_single_values_and_features() {
        let r: ValueRange = "-1..1".parse().unwrap();
        assert_eq!((r.input, r.lo, r.hi), (None, -1.0, 1.0));
        let r: ValueRange = "sr=16000".parse().unwrap();
        assert_eq!(
            (r.input.as_deref(), r.lo, r.hi),
            (Some("sr"), 16000.0, 16000.0)
        );
        let r: ValueRange = "onnx::Flatten_0=-50..-1e-3".parse().unwrap();
        assert_eq!(r.input.as_deref(), Some("onnx::Flatten_0"));
        assert_eq!((r.lo, r.hi), (-50.0, -1e-3));
        let r: ValueRange = "X[3]=2..4.5".parse().unwrap();
        assert_eq!(
            (r.feature, r.to_string().as_str()),
            (Some(3), "X[3]=2..4.5")
        );
        for (bad, says) in [
            ("2..1", "must not be above"),
            ("X[1=0..1", "unbalanced"),
            ("0..inf", "not a finite number"),
            ("=0..1", "empty input name"),
            ("X=a..b", "not a finite number"),
        ] {
            let e = bad.parse::<ValueRange>().unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn dims_and_shapes_parse() {
        let d: DimBinding = "p2o.DynamicDimension.1=320".parse().unwrap();
        assert_eq!((d.symbol.as_str(), d.size), ("p2o.DynamicDimension.1", 320));
        assert!("height=-1".parse::<DimBinding>().is_err());
        assert!("height".parse::<DimBinding>().is_err());
        let s: ShapeSpec = "x=1x3x48x320".parse().unwrap();
        assert_eq!(s.dims, [1, 3, 48, 320]);
        assert_eq!(s.to_string(), "x=1x3x48x320");
        let s: ShapeSpec = "sr=".parse().unwrap();
        assert!(s.dims.is_empty());
        assert!("x=1xx3".parse::<ShapeSpec>().is_err());
    }
}
