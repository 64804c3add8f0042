//! Small builders for scan fixtures: zip archives (stored, deflate, bzip2), pickles and
//! protobuf messages, so each test writes exactly the minimal file that reproduces its case.
#![allow(dead_code)]

use std::io::Write;

/// How a zip member is stored.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Stored,
    Deflate,
    Bzip2,
}

/// A zip archive of `(name, data, method)` members.
pub fn zip(members: &[(&str, &[u8], Method)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut cd = Vec::new();
    for (name, data, method) in members {
        let (code, body) = match method {
            Method::Stored => (0u16, data.to_vec()),
            Method::Deflate => {
                let mut e =
                    flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
                e.write_all(data).unwrap();
                (8, e.finish().unwrap())
            }
            Method::Bzip2 => {
                let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
                e.write_all(data).unwrap();
                (12, e.finish().unwrap())
            }
        };
        let crc = crc32fast::hash(data);
        let off = out.len() as u32;
        let mut lh = b"PK\x03\x04\x14\x00\x00\x00".to_vec();
        lh.extend_from_slice(&code.to_le_bytes());
        lh.extend_from_slice(&[0; 4]);
        lh.extend_from_slice(&crc.to_le_bytes());
        lh.extend_from_slice(&(body.len() as u32).to_le_bytes());
        lh.extend_from_slice(&(data.len() as u32).to_le_bytes());
        lh.extend_from_slice(&(name.len() as u16).to_le_bytes());
        lh.extend_from_slice(&0u16.to_le_bytes());
        lh.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&lh);
        out.extend_from_slice(&body);
        let mut c = b"PK\x01\x02\x14\x00\x14\x00\x00\x00".to_vec();
        c.extend_from_slice(&code.to_le_bytes());
        c.extend_from_slice(&[0; 4]);
        c.extend_from_slice(&crc.to_le_bytes());
        c.extend_from_slice(&(body.len() as u32).to_le_bytes());
        c.extend_from_slice(&(data.len() as u32).to_le_bytes());
        c.extend_from_slice(&(name.len() as u16).to_le_bytes());
        c.extend_from_slice(&[0; 12]);
        c.extend_from_slice(&off.to_le_bytes());
        c.extend_from_slice(name.as_bytes());
        cd.extend_from_slice(&c);
    }
    let cd_off = out.len() as u32;
    out.extend_from_slice(&cd);
    let n = members.len() as u16;
    out.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00");
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&(cd.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_off.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// `posix.system('id')`, protocol 2.
pub const EVIL: &[u8] = b"\x80\x02cposix\nsystem\nX\x02\x00\x00\x00id\x85R.";
/// `{'a': 1}`, protocol 2.
pub const PLAIN: &[u8] = b"\x80\x02}q\x00X\x01\x00\x00\x00aK\x01s.";

/// A protobuf length-delimited field.
pub fn ld(field: u32, body: &[u8]) -> Vec<u8> {
    let mut v = varint((field << 3 | 2) as u64);
    v.extend(varint(body.len() as u64));
    v.extend_from_slice(body);
    v
}

/// A protobuf varint field.
pub fn vi(field: u32, value: u64) -> Vec<u8> {
    let mut v = varint((field << 3) as u64);
    v.extend(varint(value));
    v
}

fn varint(mut n: u64) -> Vec<u8> {
    let mut v = Vec::new();
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            v.push(b);
            return v;
        }
        v.push(b | 0x80);
    }
}

/// A TensorFlow NodeDef; `value` makes it a string Const.
pub fn tf_node(name: &str, op: &str, inputs: &[&str], value: Option<&str>) -> Vec<u8> {
    let mut n = ld(1, name.as_bytes());
    n.extend(ld(2, op.as_bytes()));
    for i in inputs {
        n.extend(ld(3, i.as_bytes()));
    }
    if let Some(v) = value {
        let tensor = ld(8, v.as_bytes());
        let attr = ld(8, &tensor);
        let mut entry = ld(1, b"value");
        entry.extend(ld(2, &attr));
        n.extend(ld(5, &entry));
    }
    n
}

/// A GraphDef of `nodes`.
pub fn tf_graph(nodes: &[Vec<u8>]) -> Vec<u8> {
    nodes.iter().flat_map(|n| ld(1, n)).collect()
}
