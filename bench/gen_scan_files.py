#!/usr/bin/env python3
"""Benchmark inputs for bench/scan.sh (all benign, written without unpickling anything):
  dense_256m.pkl   256 MiB dense-opcode pickle: one list of ~51 M BININT items, protocol 4
                   (APPENDS batches of 1000 inside 64 KiB FRAMEs, as CPython's pickler writes them)
  torch_1g.pt      1 GiB PyTorch-layout zip: archive/data.pkl + 16 stored 64 MiB tensors
Usage: gen_scan_files.py OUT_DIR [PICKLE_MB] [ZIP_MB]
"""
import os
import struct
import sys
import zipfile

out = sys.argv[1]
pickle_mb = int(sys.argv[2]) if len(sys.argv) > 2 else 256
zip_mb = int(sys.argv[3]) if len(sys.argv) > 3 else 1024
os.makedirs(out, exist_ok=True)

# --- dense pickle
path = os.path.join(out, f"dense_{pickle_mb}m.pkl")
if not os.path.exists(path):
    target = pickle_mb << 20
    batch = b"(" + b"".join(b"J" + struct.pack("<i", i) for i in range(1000)) + b"e"
    frame_body = batch * 13  # ~65 KB per frame
    frame = b"\x95" + struct.pack("<Q", len(frame_body)) + frame_body
    with open(path, "wb") as f:
        head = b"]\x94"
        f.write(b"\x80\x04\x95" + struct.pack("<Q", len(head)) + head)
        n = 0
        while n + len(frame) + 16 < target:
            f.write(frame)
            n += len(frame)
        f.write(b"\x95" + struct.pack("<Q", 1) + b".")

# --- torch-style zip
path = os.path.join(out, f"torch_{zip_mb}m.pt")
if not os.path.exists(path):
    n = 16
    size = (zip_mb << 20) // n
    pid = lambda k: (b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX" + struct.pack("<I", len(k)) + k.encode()
                     + b"X\x03\x00\x00\x00cpu" + b"J" + struct.pack("<i", size // 4) + b"tQ")
    body = b"\x80\x02ccollections\nOrderedDict\n)R"
    for i in range(n):
        body += (b"X" + struct.pack("<I", len(f"w{i}")) + f"w{i}".encode() + b"ctorch._utils\n_rebuild_tensor_v2\n(" + pid(str(i))
                 + b"K\x00J" + struct.pack("<i", size // 4) + b"\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtRs")
    body += b"."
    chunk = b"\0" * (1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        z.writestr("archive/data.pkl", body)
        z.writestr("archive/byteorder", b"little")
        for i in range(n):
            with z.open(zipfile.ZipInfo(f"archive/data/{i}", (2020, 1, 1, 0, 0, 0)), "w", force_zip64=True) as w:
                for _ in range(size >> 20):
                    w.write(chunk)
        z.writestr("archive/version", b"3\n")
print(out)
