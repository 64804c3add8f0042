//! The one `.npy` header reader (NEP 1), hardened for hostile input: every size is checked
//! arithmetic, the header is bounded, and nothing is allocated from a size the file claims
//! before the bytes are there. `scan` uses it to judge `.npy` files and members; [`crate::rows`]
//! uses it to read seed and baseline rows.

/// The largest header a reader accepts (numpy itself writes a few hundred bytes).
pub const MAX_HEADER: u64 = 1 << 20;

/// Why a `.npy` header is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NpyError {
    /// The magic string `\x93NUMPY` is missing.
    #[error("not a .npy file (bad magic)")]
    Magic,
    /// The file ends inside the header.
    #[error("truncated header")]
    Truncated,
    /// A format version numpy never wrote.
    #[error("unsupported npy format version {0}")]
    Version(u8),
    /// A header longer than [`MAX_HEADER`].
    #[error("header of {0} bytes")]
    HeaderTooLarge(u64),
    /// The header dictionary lacks a key or has a malformed value.
    #[error("{0}")]
    Header(String),
}

/// The element type of an array (`descr`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Descr {
    /// A plain type code such as `<f4` or `|u1`: byte order, kind letter, item size in bytes
    /// (`None` when the code has no size, or one too large to be real).
    Plain {
        /// `<`, `>`, `|` or `=`.
        order: char,
        /// `f`, `i`, `u`, `b`, `c`, `U`, `S`, `V`, `M`, `m`, `?` …
        kind: char,
        /// Bytes per item.
        itemsize: Option<u64>,
    },
    /// `O`: every element is a pickled Python object.
    Object,
    /// A structured dtype (a list of fields); `object` when any field is an object.
    Structured {
        /// Whether a field holds Python objects (then the array is a pickle).
        object: bool,
    },
}

/// A parsed `.npy` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Format major version (1, 2 or 3).
    pub major: u8,
    /// Element type.
    pub descr: Descr,
    /// Column-major data.
    pub fortran_order: bool,
    /// Dimensions.
    pub shape: Vec<u64>,
    /// Offset of the array data from the start of the file.
    pub data_start: u64,
}

impl Header {
    /// Whether the data is a pickle (object arrays, or structured arrays with an object field).
    pub fn is_object(&self) -> bool {
        matches!(
            self.descr,
            Descr::Object | Descr::Structured { object: true }
        )
    }

    /// Number of elements, if it fits in a u128.
    pub fn count(&self) -> Option<u128> {
        self.shape
            .iter()
            .try_fold(1u128, |acc, &d| acc.checked_mul(u128::from(d)))
    }

    /// Bytes of array data the header promises (plain dtypes), if computable.
    pub fn data_bytes(&self) -> Option<u128> {
        match self.descr {
            Descr::Plain {
                itemsize: Some(size),
                ..
            } => self.count()?.checked_mul(u128::from(size)),
            _ => None,
        }
    }
}

/// How many bytes the fixed prefix plus header take, from the first 12 bytes of the file: the
/// data start. Fails on bad magic, versions and oversized headers.
pub fn header_span(pre: &[u8]) -> Result<(u8, u64, u64), NpyError> {
    if pre.len() < 10 {
        return Err(if pre.starts_with(&MAGIC[..pre.len().min(6)]) {
            NpyError::Truncated
        } else {
            NpyError::Magic
        });
    }
    if &pre[..6] != MAGIC {
        return Err(NpyError::Magic);
    }
    let major = pre[6];
    let (hlen, start) = match major {
        1 => (u64::from(u16::from_le_bytes([pre[8], pre[9]])), 10u64),
        2 | 3 => {
            let b: [u8; 4] = pre
                .get(8..12)
                .ok_or(NpyError::Truncated)?
                .try_into()
                .map_err(|_| NpyError::Truncated)?;
            (u64::from(u32::from_le_bytes(b)), 12)
        }
        v => return Err(NpyError::Version(v)),
    };
    if hlen > MAX_HEADER {
        return Err(NpyError::HeaderTooLarge(hlen));
    }
    Ok((major, start, hlen))
}

const MAGIC: &[u8] = b"\x93NUMPY";

/// Parse a header whose bytes (magic included) start `bytes`; `bytes` may hold more.
pub fn parse(bytes: &[u8]) -> Result<Header, NpyError> {
    let (major, start, hlen) = header_span(&bytes[..bytes.len().min(12)])?;
    let end = start + hlen;
    let h = bytes
        .get(start as usize..end as usize)
        .ok_or(NpyError::Truncated)?;
    parse_dict(major, &String::from_utf8_lossy(h), end)
}

/// Parse the header dictionary text (`{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }`).
pub fn parse_dict(major: u8, h: &str, data_start: u64) -> Result<Header, NpyError> {
    let descr_txt = h
        .split("'descr':")
        .nth(1)
        .ok_or_else(|| NpyError::Header("no 'descr' in header".into()))?
        .trim_start();
    let descr = if let Some(rest) = descr_txt.strip_prefix('\'') {
        let code = rest.split('\'').next().unwrap_or("");
        let order = code
            .chars()
            .next()
            .filter(|c| matches!(c, '<' | '>' | '|' | '='))
            .unwrap_or('=');
        let t = code.trim_start_matches(['<', '>', '|', '=']);
        if t.starts_with('O') {
            Descr::Object
        } else {
            let kind = t.chars().next().unwrap_or('?');
            let letters: usize = t
                .chars()
                .take_while(|c| c.is_ascii_alphabetic() || *c == '?')
                .map(char::len_utf8)
                .sum();
            let digits: String = t[letters..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            let n: Option<u64> = digits.parse().ok();
            let itemsize = match kind {
                // Unicode strings: 4 bytes per character.
                'U' => n.and_then(|n| n.checked_mul(4)),
                '?' => Some(1),
                _ => n,
            };
            Descr::Plain {
                order,
                kind,
                itemsize,
            }
        }
    } else {
        // Structured dtype: a list of fields. Any object field makes the whole array a pickle.
        let list = descr_txt
            .split("'fortran_order'")
            .next()
            .unwrap_or(descr_txt);
        Descr::Structured {
            object: list.contains("'O'") || list.contains("'|O'") || list.contains("O8'"),
        }
    };
    let fortran_order = h
        .split("'fortran_order':")
        .nth(1)
        .is_some_and(|s| s.trim_start().starts_with("True"));
    let shape_txt = h
        .split("'shape':")
        .nth(1)
        .and_then(|s| s.trim_start().strip_prefix('('))
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| NpyError::Header("no 'shape' in header".into()))?;
    let shape = shape_txt
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|d| {
            d.trim_end_matches('L')
                .parse::<u64>()
                .map_err(|_| NpyError::Header(format!("bad dimension `{d}` in 'shape'")))
        })
        .collect::<Result<Vec<u64>, NpyError>>()?;
    Ok(Header {
        major,
        descr,
        fortran_order,
        shape,
        data_start,
    })
}

/// Read a whole `.npy` file of little-endian float32 or float64 values as rows: a 2-D array is
/// its rows, a 1-D array one row. Sizes are checked against the bytes present before anything
/// is allocated.
pub fn read_f32_rows(bytes: &[u8]) -> Result<Vec<Vec<f32>>, NpyError> {
    let h = parse(bytes)?;
    if h.fortran_order {
        return Err(NpyError::Header(
            "Fortran-ordered arrays are not supported; save with np.ascontiguousarray".into(),
        ));
    }
    let width: usize = match h.descr {
        Descr::Plain {
            order: '<' | '=' | '|',
            kind: 'f',
            itemsize: Some(4),
        } => 4,
        Descr::Plain {
            order: '<' | '=' | '|',
            kind: 'f',
            itemsize: Some(8),
        } => 8,
        _ => {
            return Err(NpyError::Header(format!(
                "dtype must be little-endian float32 or float64, not {:?}",
                h.descr
            )));
        }
    };
    let (rows, cols) = match h.shape.as_slice() {
        [r, c] => (*r, *c),
        [c] => (1, *c),
        _ => {
            return Err(NpyError::Header(format!(
                "need a 1-D or 2-D array of rows, got shape {:?}",
                h.shape
            )));
        }
    };
    let data = &bytes[h.data_start as usize..];
    let need = u128::from(rows)
        .checked_mul(u128::from(cols))
        .and_then(|n| n.checked_mul(width as u128));
    match need {
        Some(n) if n <= data.len() as u128 => {}
        _ => {
            return Err(NpyError::Header(format!(
                "the data is shorter than the shape {:?} says ({} bytes present)",
                h.shape,
                data.len()
            )));
        }
    }
    // Both fit in usize now: rows * cols * width <= data.len().
    let (rows, cols) = (rows as usize, cols as usize);
    if cols == 0 || rows == 0 {
        return Err(NpyError::Header(format!(
            "the array of shape {:?} holds no values",
            h.shape
        )));
    }
    Ok(data
        .chunks_exact(cols * width)
        .take(rows)
        .map(|row| {
            row.chunks_exact(width)
                .map(|b| match b.len() {
                    4 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                    _ => {
                        f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
                    }
                })
                .collect()
        })
        .collect())
}

/// The values of a whole array, by kind: floats (f16/f32/f64) as f64, integers and bools as
/// i64 (u64 values above `i64::MAX` are refused), strings (`<U`: UTF-32, `|S`: bytes as UTF-8).
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    Float(Vec<f64>),
    Int(Vec<i64>),
    Bool(Vec<i64>),
    Str(Vec<String>),
}

impl Values {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Values::Float(v) => v.len(),
            Values::Int(v) | Values::Bool(v) => v.len(),
            Values::Str(v) => v.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The kind, for messages (`float`, `integer`, `bool`, `string`).
    pub fn kind(&self) -> &'static str {
        match self {
            Values::Float(_) => "float",
            Values::Int(_) => "integer",
            Values::Bool(_) => "bool",
            Values::Str(_) => "string",
        }
    }
}

/// A whole array: its shape (C order) and values.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub shape: Vec<u64>,
    pub values: Values,
}

/// Read a whole `.npy` file of a numeric, bool or string dtype (either byte order). Object and
/// structured arrays (pickles) and Fortran order are refused; sizes are checked against the bytes
/// present before anything is allocated.
pub fn read_array(bytes: &[u8]) -> Result<Array, NpyError> {
    let h = parse(bytes)?;
    if h.fortran_order {
        return Err(NpyError::Header(
            "Fortran-ordered arrays are not supported; save with np.ascontiguousarray".into(),
        ));
    }
    let Descr::Plain {
        order,
        kind,
        itemsize: Some(size),
    } = h.descr
    else {
        return Err(NpyError::Header(format!(
            "dtype {:?} is not a plain number, bool or string type (object arrays are pickles)",
            h.descr
        )));
    };
    let count = h
        .count()
        .ok_or_else(|| NpyError::Header("shape overflows".into()))?;
    let data = bytes.get(h.data_start as usize..).unwrap_or(&[]);
    let need = count.checked_mul(u128::from(size));
    if need.is_none_or(|n| n > data.len() as u128) || size == 0 && count > 0 {
        return Err(NpyError::Header(format!(
            "the data is shorter than the shape {:?} says ({} bytes present)",
            h.shape,
            data.len()
        )));
    }
    // Both fit in usize now: count * size <= data.len().
    let (count, size) = (count as usize, size as usize);
    let data = &data[..count * size];
    let big = order == '>';
    let word = |b: &[u8]| -> u64 {
        let mut v = 0u64;
        for (i, &x) in b.iter().enumerate() {
            let shift = if big { 8 * (b.len() - 1 - i) } else { 8 * i };
            v |= u64::from(x) << shift;
        }
        v
    };
    let items = data.chunks_exact(size.max(1));
    let values = match (kind, size) {
        ('f', 2) => Values::Float(items.map(|b| f16_to_f64(word(b) as u16)).collect()),
        ('f', 4) => Values::Float(
            items
                .map(|b| f32::from_bits(word(b) as u32) as f64)
                .collect(),
        ),
        ('f', 8) => Values::Float(items.map(|b| f64::from_bits(word(b))).collect()),
        ('i', 1 | 2 | 4 | 8) => Values::Int(
            items
                .map(|b| {
                    let bits = 64 - 8 * size as u32;
                    ((word(b) << bits) as i64) >> bits
                })
                .collect(),
        ),
        ('u', 1 | 2 | 4 | 8) => Values::Int(
            items
                .map(|b| {
                    i64::try_from(word(b))
                        .map_err(|_| NpyError::Header("a uint64 value is above i64::MAX".into()))
                })
                .collect::<Result<_, _>>()?,
        ),
        ('b', 1) => Values::Bool(items.map(|b| i64::from(b[0] != 0)).collect()),
        ('U', _) if size % 4 == 0 => Values::Str(
            items
                .map(|b| {
                    b.chunks_exact(4)
                        .map(|c| word(c) as u32)
                        .take_while(|&c| c != 0)
                        .map(|c| char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER))
                        .collect()
                })
                .collect(),
        ),
        ('S', _) => Values::Str(
            items
                .map(|b| {
                    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                    String::from_utf8_lossy(&b[..end]).into_owned()
                })
                .collect(),
        ),
        _ => {
            return Err(NpyError::Header(format!(
                "dtype `{order}{kind}{size}` is not supported (floats, integers, bools, strings)"
            )));
        }
    };
    Ok(Array {
        shape: h.shape,
        values,
    })
}

/// An IEEE half as f64.
fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = (h >> 10) & 0x1f;
    let frac = f64::from(h & 0x3ff);
    sign * match exp {
        0 => frac * 2f64.powi(-24),
        31 if frac == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + frac / 1024.0) * 2f64.powi(i32::from(e) - 15),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(header: &str, data: &[u8]) -> Vec<u8> {
        let mut h = header.to_string();
        while !(10 + h.len() + 1).is_multiple_of(64) {
            h.push(' ');
        }
        h.push('\n');
        let mut v = b"\x93NUMPY\x01\x00".to_vec();
        v.extend_from_slice(&(h.len() as u16).to_le_bytes());
        v.extend_from_slice(h.as_bytes());
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn reads_rows() {
        let data: Vec<u8> = [1f32, 2., 3., 4., 5., 6.]
            .iter()
            .flat_map(|f| f.to_le_bytes())
            .collect();
        let b = npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
            &data,
        );
        assert_eq!(
            read_f32_rows(&b).unwrap(),
            vec![vec![1., 2., 3.], vec![4., 5., 6.]]
        );
    }

    #[test]
    fn huge_shapes_are_errors_not_overflows() {
        // (2^62, 4) * 4 bytes overflows u64: it must be an error, not a panic or an abort.
        let b = npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }",
            &[0; 16],
        );
        let e = read_f32_rows(&b).unwrap_err();
        assert!(e.to_string().contains("shorter than the shape"), "{e}");
        let b = npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (18446744073709551615, 18446744073709551615), }",
            &[],
        );
        assert!(read_f32_rows(&b).is_err());
        // A '<U…' itemsize whose 4-byte characters overflow u64.
        let b = npy(
            "{'descr': '<U9223372036854775807', 'fortran_order': False, 'shape': (1,), }",
            &[],
        );
        let h = parse(&b).unwrap();
        assert!(matches!(h.descr, Descr::Plain { itemsize: None, .. }));
        assert_eq!(h.data_bytes(), None);
    }

    #[test]
    fn object_and_structured_arrays_are_pickles() {
        let b = npy(
            "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }",
            &[],
        );
        assert!(parse(&b).unwrap().is_object());
        let b = npy(
            "{'descr': [('a', '<f4'), ('b', '|O')], 'fortran_order': False, 'shape': (2,), }",
            &[],
        );
        assert!(parse(&b).unwrap().is_object());
    }

    #[test]
    fn bad_prefixes() {
        assert_eq!(parse(b"PK\x03\x04").unwrap_err(), NpyError::Magic);
        assert_eq!(parse(b"\x93NUMPY\x01").unwrap_err(), NpyError::Truncated);
        assert_eq!(
            parse(b"\x93NUMPY\x09\x00\x10\x00").unwrap_err(),
            NpyError::Version(9)
        );
        assert_eq!(
            parse(b"\x93NUMPY\x02\x00\xff\xff\xff\x7f").unwrap_err(),
            NpyError::HeaderTooLarge(0x7fff_ffff)
        );
    }

    #[test]
    fn whole_arrays_of_every_plain_kind() {
        let a = read_array(&npy(
            "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }",
            &[1, 0, 0, 0, 255, 255, 255, 255, 0, 1, 0, 0, 0, 0, 0, 128],
        ))
        .unwrap();
        assert_eq!(a.shape, [2, 2]);
        assert_eq!(a.values, Values::Int(vec![1, -1, 256, i32::MIN as i64]));
        let a = read_array(&npy(
            "{'descr': '>u2', 'fortran_order': False, 'shape': (1,), }",
            &[1, 2],
        ))
        .unwrap();
        assert_eq!(a.values, Values::Int(vec![258]));
        let a = read_array(&npy(
            "{'descr': '<f2', 'fortran_order': False, 'shape': (3,), }",
            &[0, 0x3c, 0, 0xc0, 0, 0x7c],
        ))
        .unwrap();
        assert_eq!(a.values, Values::Float(vec![1.0, -2.0, f64::INFINITY]));
        let mut u = Vec::new();
        for c in "ab\u{e9}\0".chars().chain("z\0\0\0".chars()) {
            u.extend((c as u32).to_le_bytes());
        }
        let a = read_array(&npy(
            "{'descr': '<U4', 'fortran_order': False, 'shape': (2,), }",
            &u,
        ))
        .unwrap();
        assert_eq!(a.values, Values::Str(vec!["ab\u{e9}".into(), "z".into()]));
        let a = read_array(&npy(
            "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }",
            &[1, 0],
        ))
        .unwrap();
        assert_eq!(a.values, Values::Bool(vec![1, 0]));
        let a = read_array(&npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
            &2.5f64.to_le_bytes(),
        ))
        .unwrap();
        assert_eq!((a.shape.len(), a.values), (0, Values::Float(vec![2.5])));
    }

    #[test]
    fn whole_arrays_refuse_what_they_cannot_hold() {
        for (h, data, says) in [
            (
                "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
                &[0u8; 8][..],
                "object",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }",
                &[0u8; 8][..],
                "shorter",
            ),
            (
                "{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }",
                &[255u8; 8][..],
                "i64::MAX",
            ),
            (
                "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
                &[0u8; 8][..],
                "not supported",
            ),
        ] {
            let e = read_array(&npy(h, data)).unwrap_err().to_string();
            assert!(e.contains(says), "{h}: {e}");
        }
    }
}
