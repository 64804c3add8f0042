//! numpy `.npy`: object arrays are pickles (scanned); plain arrays must match their header.

use crate::scan::ctx::{Blob, Ctx, Member};
use crate::scan::rules;
use crate::util::npy;

fn parse_npy_header(blob: &Blob) -> Result<npy::Header, String> {
    let pre = blob.read_at(0, 12).map_err(|e| e.to_string())?;
    let (major, start, hlen) = npy::header_span(&pre).map_err(|e| e.to_string())?;
    let h = blob
        .read_at(start, hlen as usize)
        .map_err(|e| e.to_string())?;
    if (h.len() as u64) < hlen {
        return Err("truncated header".into());
    }
    npy::parse_dict(major, &String::from_utf8_lossy(&h), start + hlen).map_err(|e| e.to_string())
}

/// `.npy`: object arrays are pickles (scanned); plain arrays must match their header.
pub(crate) fn scan(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member) {
    let h = match parse_npy_header(blob) {
        Ok(h) => h,
        Err(e) => {
            ctx.add(
                &rules::UNREADABLE,
                member,
                Some(0),
                format!("invalid .npy header: {e}"),
            );
            return;
        }
    };
    let data = blob.slice(h.data_start, blob.len);
    if h.is_object() {
        ctx.pickle_stream(&mut data.reader(), Some(&data), member);
        return;
    }
    if let Some(want) = h.data_bytes() {
        let have = data.len as u128;
        if have < want {
            ctx.add(
                &rules::UNREADABLE,
                member,
                Some(h.data_start),
                format!(
                    "array data is truncated: the header needs {want} bytes, the file has {have}"
                ),
            );
        } else if have > want {
            ctx.add(
                &rules::TRAILING_BYTES,
                member,
                Some(h.data_start + want as u64),
                format!("{} byte(s) follow the array data", have - want),
            );
        }
    }
}
