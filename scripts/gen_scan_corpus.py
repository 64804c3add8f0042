#!/usr/bin/env python3
"""Generate the modelsec scan corpus: one sample per technique from the research note
(section 2), each malicious sample with a benign twin, plus malformed files.

Usage: gen_scan_corpus.py OUT_DIR

Writes OUT_DIR/<group>/<name> and OUT_DIR/manifest.json, a list of
  {"file", "group", "technique", "ref", "expect": "flag"|"clean", "rule"}
where "rule" (optional) is a rule id the scanner must report.

The stdlib part is byte-reproducible and hand-assembles pickles from opcodes: nothing is
ever unpickled or executed. When numpy / joblib / scikit-learn are importable, real files
written by those libraries are added to the benign group ("real/..."); they are written with
the libraries' own dump functions and never loaded.
"""
import bz2
import gzip
import io
import json
import lzma
import os
import pickle
import struct
import sys
import tarfile
import zipfile
import zlib

OUT = sys.argv[1] if len(sys.argv) > 1 else "scan-corpus"
MANIFEST = []
FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def put(group, name, data, expect, technique, ref="", rule=None):
    path = os.path.join(OUT, group, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    MANIFEST.append({"file": f"{group}/{name}", "group": group.split("/")[0], "technique": technique,
                     "ref": ref, "expect": expect, "rule": rule})


# ----------------------------------------------------------------------------- pickle assembly

def u8(n): return struct.pack("<B", n)
def u32(n): return struct.pack("<I", n)
def u64(n): return struct.pack("<Q", n)


def sbu(s):  # SHORT_BINUNICODE
    b = s.encode()
    return b"\x8c" + u8(len(b)) + b


def bu(s):  # BINUNICODE
    b = s.encode()
    return b"X" + u32(len(b)) + b


def glob0(m, n):  # GLOBAL
    return b"c" + m.encode() + b"\n" + n.encode() + b"\n"


def sglob(m, n):  # STACK_GLOBAL with literal operands
    return sbu(m) + sbu(n) + b"\x93"


def call0(m, n, *args):  # protocol 0: GLOBAL, MARK, args, TUPLE, REDUCE
    a = b"".join(b"S'" + x.encode() + b"'\n" for x in args)
    return glob0(m, n) + b"(" + a + b"tR"


def call2(m, n, *args):  # protocol 2
    a = b"".join(bu(x) for x in args)
    return glob0(m, n) + b"(" + a + b"tR"


def call4(m, n, *args):  # protocol 4
    a = b"".join(sbu(x) for x in args)
    return sglob(m, n) + b"(" + a + b"tR"


def p0(body): return body + b"."
def p2(body): return b"\x80\x02" + body + b"."
def p4(body): return b"\x80\x04" + body + b"."


def p5(body): return b"\x80\x05" + body + b"."


# benign pickles made by CPython's own pickler from plain data
PLAIN = {"weights": [1.5, 2.5, 3.5], "name": "layer1", "shape": (3,), "ok": True, "n": None}

# ----------------------------------------------------------------------------- benign (stdlib)

def benign():
    for proto in range(6):
        put("benign", f"plain_dict_v{proto}.pkl", pickle.dumps(PLAIN, protocol=proto), "clean", "plain data, CPython pickler")
    put("benign", "bytearray8_v5.pkl", pickle.dumps(bytearray(b"x" * 300), protocol=5), "clean", "bytearray (allow-listed)")
    import collections
    put("benign", "ordered_dict_v2.pkl", pickle.dumps(collections.OrderedDict(a=1, b=[1, 2]), protocol=2), "clean", "OrderedDict")
    put("benign", "set_frozenset_v4.pkl", pickle.dumps({"s": {1, 2}, "f": frozenset([3])}, protocol=4), "clean", "sets")
    put("benign", "complex_v2.pkl", pickle.dumps([complex(1, 2)] * 3, protocol=2), "clean", "complex")
    put("benign", "long_strings_v4.pkl", pickle.dumps(["a" * 10000, "b" * 70000], protocol=4), "clean", "long strings, frames")
    put("benign", "big_frames_v4.pkl", pickle.dumps(list(range(50000)), protocol=4), "clean", "many frames")
    put("benign", "torch_state_dict.pt", torch_zip(torch_state_dict_pkl()), "clean", "PyTorch zip state dict (synthetic torch.save layout)")
    put("benign", "torch_state_dict_custom_prefix.pt", torch_zip(torch_state_dict_pkl(), prefix="my_model"), "clean", "PyTorch zip, other archive folder name")
    put("benign", "torch_legacy.pt", legacy_torch(torch_state_dict_pkl(proto=2, legacy=True)), "clean", "legacy stacked torch checkpoint")
    put("benign", "numpy_reconstruct_v2.pkl", numpy_reconstruct_pkl(), "clean", "numpy array pickled (protocol 2, _codecs.encode)")
    put("benign", "joblib_array.joblib", joblib_pickle(b""), "clean", "joblib NumpyArrayWrapper with inline array")
    put("benign", "joblib_array.joblib.z", zlib_joblib(joblib_pickle(b"")), "clean", "joblib zlib-compressed")
    put("benign", "joblib_array_lzma.joblib", lzma.compress(joblib_pickle(b""), format=lzma.FORMAT_ALONE), "clean", "joblib lzma-compressed")
    put("benign", "plain.pkl.gz", gzip_fixed(pickle.dumps(PLAIN, protocol=4)), "clean", "gzip-wrapped pickle")
    put("benign", "plain.pkl.bz2", bz2.compress(pickle.dumps(PLAIN, protocol=4)), "clean", "bz2-wrapped pickle")
    put("benign", "plain.pkl.xz", lzma.compress(pickle.dumps(PLAIN, protocol=4)), "clean", "xz-wrapped pickle")
    put("benign", "model.safetensors", safetensors({"w": ("F32", [2, 2], b"\0" * 16), "b": ("F16", [2], b"\0" * 4)}, {"format": "pt"}), "clean", "safetensors")
    put("benign", "model.gguf", gguf("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"), "clean", "GGUF with an ordinary chat template")
    put("benign", "model.onnx", onnx_model(), "clean", "ONNX, standard ops, inline weights")
    put("benign", "onnx_external/model.onnx", onnx_model(external="weights.bin"), "clean", "ONNX with external data beside it")
    put("benign", "onnx_external/weights.bin", b"\0" * 16, "clean", "ONNX external data file")
    put("benign", "model.keras", keras_zip(keras_config([dense_layer()])), "clean", "Keras v3 archive, Dense layers")
    put("benign", "model_config.h5", fake_h5(keras_config([dense_layer()], v3=False)), "clean", "Keras .h5 with model_config")
    put("benign", "array.npy", npy("<f8", (2, 2), b"\0" * 32), "clean", "numpy .npy")
    put("benign", "arrays.npz", zip_bytes({"a.npy": npy("<i4", (3,), b"\0" * 12), "b.npy": npy("<f4", (1,), b"\0" * 4)}), "clean", "numpy .npz")
    put("benign", "README.md", b"# a model\n", "clean", "not a model file")
    put("benign", "config.json", b'{"architectures": ["BertModel"], "hidden_size": 768}', "clean", "HF config.json (not Keras)")


# ----------------------------------------------------------------------------- containers

def zip_bytes(members, method=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in members.items():
            zi = zipfile.ZipInfo(name, FIXED_TIME)
            zi.compress_type = method
            z.writestr(zi, data)
    return buf.getvalue()


def gzip_fixed(data):
    return gzip.compress(data, mtime=0)


def torch_state_dict_pkl(proto=2, legacy=False, extra=b""):
    """What torch.save writes for {'w': FloatTensor(4)} (data.pkl)."""
    if legacy:
        pid = b"(" + bu("storage") + glob0("torch", "FloatStorage") + bu("0") + bu("cpu") + b"K\x04" + b"Ntq\x01Q"
    else:
        pid = b"(" + bu("storage") + glob0("torch", "FloatStorage") + bu("0") + bu("cpu") + b"K\x04" + b"tq\x01Q"
    tensor = (glob0("torch._utils", "_rebuild_tensor_v2") + b"(" + pid + b"K\x00" + b"K\x04\x85" + b"K\x01\x85"
              + b"\x89" + glob0("collections", "OrderedDict") + b")Rq\x02" + b"tq\x03Rq\x04")
    body = glob0("collections", "OrderedDict") + b")Rq\x00" + bu("w") + tensor + b"s" + extra
    return b"\x80" + bytes([proto]) + body + b"."


def torch_zip(data_pkl, prefix="archive", extra=None, storage=b"\0" * 16):
    members = {f"{prefix}/data.pkl": data_pkl, f"{prefix}/byteorder": b"little",
               f"{prefix}/data/0": storage, f"{prefix}/version": b"3\n",
               f"{prefix}/.data/serialization_id": b"1234567890"}
    if extra:
        members.update(extra)
    return zip_bytes(members)


MAGIC = 0x1950a86a20f9469cfc6c


def legacy_torch(main_pkl, magic_pkl=None):
    magic = magic_pkl or pickle.dumps(MAGIC, protocol=2)
    out = magic + pickle.dumps(1001, protocol=2) + pickle.dumps({"protocol_version": 1001, "little_endian": True,
                                                                 "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2)
    out += main_pkl + pickle.dumps(["0"], protocol=2)
    out += struct.pack("<q", 4) + b"\0" * 16
    return out


def numpy_reconstruct_pkl():
    # numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b'b') + BUILD state, as numpy 1.x pickles it
    dtype = glob0("numpy", "dtype") + b"(" + bu("f8") + b"\x89\x88tR" + b"(K\x03" + bu("<") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    state = b"(K\x01K\x02\x85" + dtype + b"\x89" + glob0("_codecs", "encode") + b"(" + bu("\x00" * 16) + bu("latin1") + b"tR" + b"tb"
    body = glob0("numpy.core.multiarray", "_reconstruct") + b"(" + glob0("numpy", "ndarray") + b"K\x00\x85" + glob0("_codecs", "encode") + b"(" + bu("b") + bu("latin1") + b"tRtR" + state
    return b"\x80\x02" + body + b"."


def joblib_pickle(payload, array=b"\0" * 24, obj_array_pickle=None):
    """A joblib file: NumpyArrayWrapper + BUILD, then the array bytes inline, then `payload`."""
    dtype_code = "O8" if obj_array_pickle is not None else "f8"
    dtype = glob0("numpy", "dtype") + b"(" + bu(dtype_code) + b"\x89\x88tR" + b"(K\x03" + bu("|" if obj_array_pickle is not None else "<") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    state = (b"}(" + bu("subclass") + glob0("numpy", "ndarray") + bu("shape") + b"K\x03\x85" + bu("order") + bu("C")
             + bu("dtype") + dtype + bu("allow_mmap") + b"\x88" + bu("numpy_array_alignment_bytes") + b"K\x10" + b"u")
    wrapper = glob0("joblib.numpy_pickle", "NumpyArrayWrapper") + b")\x81" + state + b"b"
    if obj_array_pickle is not None:
        inline = obj_array_pickle
    else:
        inline = b"\x08" + b"\xff" * 8 + array  # padding length byte, padding, data
    # a list [wrapper] then payload then STOP
    return b"\x80\x04]" + wrapper + inline + b"a" + payload + b"."


def zlib_joblib(data):
    return zlib.compress(data)


def npy(descr, shape, data, major=1):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, repr(tuple(shape)))
    header = header.encode()
    pad = 64 - ((10 + len(header) + 1) % 64)
    header += b" " * pad + b"\n"
    return b"\x93NUMPY" + bytes([major, 0]) + struct.pack("<H", len(header)) + header + data


def safetensors(tensors, metadata=None, raw_header=None, extra=b""):
    header, data, off = {}, b"", 0
    for name, (dt, shape, blob) in tensors.items():
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(blob)]}
        data += blob
        off += len(blob)
    if metadata:
        header["__metadata__"] = metadata
    h = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + data + extra


def gguf(template, kv_count=None):
    def s(x):
        b = x.encode()
        return u64(len(b)) + b
    kvs = [(b"general.architecture", 8, s("llama")), (b"tokenizer.chat_template", 8, s(template))]
    body = b"".join(u64(len(k)) + k + u32(t) + v for k, t, v in kvs)
    tensors = s("t0") + u32(1) + u64(4) + u32(0) + u64(0)
    head = b"GGUF" + u32(3) + u64(1) + u64(kv_count if kv_count is not None else len(kvs))
    out = head + body + tensors
    out += b"\0" * ((32 - len(out) % 32) % 32)
    return out + b"\0" * 16


# --- minimal protobuf writer for ONNX

def pb_varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def pb_field(num, wire, payload):
    key = pb_varint((num << 3) | wire)
    if wire == 0:
        return key + pb_varint(payload)
    return key + pb_varint(len(payload)) + payload


def pb_str(num, s):
    return pb_field(num, 2, s.encode() if isinstance(s, str) else s)


def onnx_model(external=None, domain="", op="Relu", func_domain=None):
    node = pb_str(1, "x") + pb_str(2, "y") + pb_str(4, op)
    if domain:
        node += pb_str(7, domain)
    tensor = pb_field(1, 0, 4) + pb_field(2, 0, 1) + pb_str(8, "w")
    if external:
        tensor += pb_str(13, pb_str(1, "location") + pb_str(2, external)) + pb_field(14, 0, 1)
    else:
        tensor += pb_str(9, b"\0" * 16)
    graph = pb_str(1, node) + pb_str(2, "g") + pb_str(5, tensor)
    model = pb_field(1, 0, 8) + pb_str(2, "modelsec-corpus") + pb_str(7, graph) + pb_str(8, pb_str(1, "") + pb_field(2, 0, 17))
    if func_domain:
        model += pb_str(25, pb_str(1, op) + pb_str(10, func_domain))
    return model


def dense_layer():
    return {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 4, "activation": "relu"}, "registered_name": None}


def keras_config(layers, v3=True):
    if v3:
        return json.dumps({"module": "keras", "class_name": "Sequential", "config": {"name": "seq", "layers": layers}, "registered_name": None}).encode()
    legacy = [{k: v for k, v in l.items() if k != "module" and k != "registered_name"} for l in layers]
    return json.dumps({"class_name": "Sequential", "config": {"name": "seq", "layers": legacy}}).encode()


def keras_zip(config):
    return zip_bytes({"metadata.json": b'{"keras_version": "3.9.0"}', "config.json": config, "model.weights.h5": b"\x89HDF\r\n\x1a\n" + b"\0" * 64})


def fake_h5(config):
    # An HDF5 signature followed by an attribute-like blob holding the JSON (what h5py stores).
    return b"\x89HDF\r\n\x1a\n" + b"\0" * 120 + b"model_config\0" + config + b"\0" * 64


# ----------------------------------------------------------------------------- malicious

GADGETS = [
    ("os", "system", "command execution", ""),
    ("posix", "system", "command execution", ""),
    ("subprocess", "Popen", "command execution", ""),
    ("subprocess", "check_output", "command execution", ""),
    ("builtins", "eval", "eval", ""),
    ("builtins", "exec", "exec", ""),
    ("builtins", "__import__", "import", ""),
    ("builtins", "getattr", "attribute walk", ""),
    ("builtins", "open", "file read", ""),
    ("runpy", "_run_code", "code execution", ""),
    ("pip", "main", "package install", "CVE-2025-1716"),
    ("pkgutil", "resolve_name", "universal resolver", "GHSA-vvpj-8cmc-gx39"),
    ("importlib", "import_module", "import", "modelscan #331"),
    ("marshal", "loads", "code object", "picklescan PR #74"),
    ("types", "CodeType", "code object", "GHSA-9m3x-qqw2-h32h"),
    ("uuid", "_get_command_stdout", "stdlib shell-out", "GHSA-g38g-8gr9-h9xp"),
    ("_osx_support", "_read_output", "stdlib shell-out", "GHSA-g38g-8gr9-h9xp"),
    ("_aix_support", "_read_cmd_output", "stdlib shell-out", "GHSA-g38g-8gr9-h9xp"),
    ("imaplib", "IMAP4_stream", "stdlib shell-out", "GHSA-g38g-8gr9-h9xp"),
    ("_pyrepl.pager", "pipe_pager", "stdlib shell-out", "GHSA-g38g-8gr9-h9xp"),
    ("test.support.script_helper", "assert_python_ok", "stdlib shell-out", "GHSA-g38g-8gr9-h9xp"),
    ("logging", "FileHandler", "file creation", "GHSA-m7j5-r2p5-c39r"),
    ("_io", "FileIO", "file read", "GHSA-9726-w42j-3qjr"),
    ("io", "FileIO", "file read", "GHSA-9726-w42j-3qjr"),
    ("urllib.request", "urlopen", "SSRF", "GHSA-9726-w42j-3qjr"),
    ("torch.utils.collect_env", "run", "torch gadget", "modelscan #338"),
    ("torch._inductor.codecache", "compile_file", "torch gadget", "picklescan GHSAs"),
    ("torch.utils._config_module.ConfigModule", "load_config", "torch gadget", "picklescan GHSAs"),
    ("torch.jit.unsupported_tensor_ops", "execWrapper", "torch gadget", "picklescan GHSAs"),
    ("multiprocessing.util", "spawnv_passfds", "process spawn", "modelscan #338"),
    ("numpy.testing._private.utils", "runstring", "numpy gadget", "picklescan GHSAs"),
    ("numpy.f2py.crackfortran", "getlincoef", "numpy gadget", "picklescan GHSAs"),
    ("code", "InteractiveInterpreter", "code execution", "fickling GHSAs"),
    ("timeit", "timeit", "code execution", "picklescan GHSAs"),
    ("cProfile", "run", "code execution", "fickling GHSA-p523-jq9w-64x9"),
    ("profile", "run", "code execution", "picklescan GHSAs"),
    ("trace", "Trace", "code execution", "picklescan GHSAs"),
    ("pydoc", "pipepager", "stdlib shell-out", "picklescan GHSAs"),
    ("pty", "spawn", "process spawn", "fickling GHSA-r7v6-mfhq-g3m2"),
    ("ctypes", "CDLL", "native code", "fickling GHSAs"),
    ("asyncio.unix_events", "_UnixSubprocessTransport._start", "deny-list submodule", "CVE-2025-10157"),
    ("doctest", "debug_script", "code execution", "picklescan GHSAs"),
    ("ensurepip", "_run_pip", "package install", "picklescan GHSAs"),
    ("venv", "create", "process spawn", "picklescan GHSAs"),
    ("idlelib.pyshell", "ModifiedInterpreter", "code execution", "picklescan GHSAs"),
    ("lib2to3.pgen2.pgen", "ParserGenerator", "file read", "picklescan GHSAs"),
    ("distutils.file_util", "write_file", "file write", "picklescan GHSAs"),
    ("shutil", "rmtree", "file deletion", ""),
    ("webbrowser", "open", "network", ""),
    ("socket", "create_connection", "network", ""),
    ("operator", "attrgetter", "attribute walk", "modelscan settings"),
    ("_operator", "methodcaller", "method call", "picklescan GHSAs"),
    ("functools", "reduce", "call chain", ""),
    ("_interpreters", "create", "subinterpreter", "fickling GHSA-6ggj-6f2q-f7mx"),
    ("mlflow.projects.backend.local", "_run_entry_point", "process spawn", "modelscan #338"),
    ("pandas.io.parsers.readers", "read_csv", "exfiltration", "modelscan #338"),
    ("fickling.hook", "deactivate_safe_ml_environment", "scanner tampering", "fickling ScannerDeactivation"),
]


def malicious():
    # raw pickle opcode techniques
    put("malicious/pickle", "reduce_os_system_v0.pkl", p0(call0("os", "system", "id")), "flag", "GLOBAL+REDUCE, protocol 0", "Sour Pickles", "scan/pickle-dangerous-global")
    put("malicious/pickle", "reduce_posix_system_v2.pkl", p2(call2("posix", "system", "id")), "flag", "GLOBAL+REDUCE, protocol 2", "", "scan/pickle-dangerous-global")
    put("malicious/pickle", "stack_global_eval_v4.pkl", p4(call4("builtins", "eval", "1+1")), "flag", "STACK_GLOBAL+REDUCE", "", "scan/pickle-dangerous-global")
    put("malicious/pickle", "inst_subprocess_v0.pkl", p0(b"(S'id'\nisubprocess\ncheck_output\n"), "flag", "INST opcode", "", "scan/pickle-dangerous-global")
    put("malicious/pickle", "obj_os_system_v1.pkl", b"(cos\nsystem\nS'id'\no.", "flag", "OBJ opcode", "", "scan/pickle-dangerous-global")
    put("malicious/pickle", "obj_then_pop_smtplib_v4.pkl", p4(b"(" + sglob("smtplib", "SMTP") + sbu("127.0.0.1") + b"o0" + b"N"), "flag", "OBJ result discarded by POP", "fickling GHSA-mxhj-88fx-4pcv", "scan/pickle-dangerous-global")
    put("malicious/pickle", "newobj_popen_v2.pkl", p2(glob0("subprocess", "Popen") + b"(" + bu("id") + b"\x85" + b"\x81"), "flag", "NEWOBJ", "", "scan/pickle-dangerous-global")
    put("malicious/pickle", "newobj_ex_popen_v4.pkl", p4(sglob("subprocess", "Popen") + b"(" + sbu("id") + b"\x85}\x92"), "flag", "NEWOBJ_EX", "", "scan/pickle-dangerous-global")
    put("malicious/pickle", "ext_code_v2.pkl", p2(b"\x82\x01(" + bu("id") + b"tR"), "flag", "EXT1 extension code", "CPython copyreg", "scan/pickle-extension-code")
    put("malicious/pickle", "call_of_call_result_v2.pkl", p2(glob0("collections", "OrderedDict") + b")R(" + bu("id") + b"tR"), "flag", "call of a call result (gadget chain)", "", "scan/pickle-computed-call")
    put("malicious/pickle", "value_only_called_v2.pkl", p2(glob0("numpy", "mean") + b"(]tR"), "flag", "value-only global called", "", "scan/pickle-computed-call")
    put("malicious/pickle", "setitem_on_list_v2.pkl", p2(b"]" + bu("k") + bu("v") + b"s"), "flag", "SETITEM on a non-dict", "CVE-2026-24747", "scan/pickle-type-confusion")
    put("malicious/pickle", "build_on_module_attr_v4.pkl", p4(sglob("collections", "OrderedDict") + b"}" + sbu("__reduce__") + sglob("builtins", "eval") + b"sb"), "flag", "BUILD on a class (overwritten-module attack)", "ShadowPickle arXiv 2607.17503", "scan/pickle-mutates-global")
    put("malicious/pickle", "numpy_size_builtins_gadget_v4.pkl", p4(sglob("numpy", "size") + b"}" + sbu("shape") + sglob("numpy", "__builtins__") + b"sb"), "flag", "BUILD on numpy.size", "modelscan #330", "scan/pickle-mutates-global")
    put("malicious/pickle", "dunder_state_v4.pkl", p4(sglob("collections", "OrderedDict") + b")R}" + sbu("__class__") + b"Nsb"), "flag", "BUILD sets a dunder attribute", "", "scan/pickle-mutates-global")

    # names
    put("malicious/names", "stack_global_memo_shuffle_v4.pkl",
        p4(sbu("collections") + b"\x94" + sbu("OrderedDict") + b"\x94" + sbu("os") + b"\x94" + sbu("system") + b"\x94" + b"0000" + b"h\x02h\x03\x93(" + sbu("id") + b"tR"),
        "flag", "memo PUT/GET shuffling before STACK_GLOBAL", "picklescan issue #22", "scan/pickle-dangerous-global")
    put("malicious/names", "stack_global_string_opcodes_v2.pkl", b"\x80\x02U\x02osU\x06system\x93(U\x02idtR.", "flag", "STACK_GLOBAL fed by SHORT_BINSTRING", "GHSA-9gvj-pp9x-gcfr", "scan/pickle-dangerous-global")
    put("malicious/names", "stack_global_proto0_string_v4.pkl", b"\x80\x04S'os'\nS'system'\n\x93(S'id'\ntR.", "flag", "STACK_GLOBAL fed by protocol-0 STRING", "GHSA-9gvj-pp9x-gcfr", "scan/pickle-dangerous-global")
    put("malicious/names", "stack_global_computed_v4.pkl", p4(sglob("builtins", "str") + b"(" + sbu("os") + b"tR" + sbu("system") + b"\x93(" + sbu("id") + b"tR"), "flag", "STACK_GLOBAL operand computed by a call", "modelscan #331", "scan/pickle-computed-import")
    put("malicious/names", "stack_global_missing_memo_v4.pkl", p4(b"h\x07" + sbu("system") + b"\x93"), "flag", "GET of a missing memo key before STACK_GLOBAL", "picklescan PR #52", "scan/pickle-malformed")
    put("malicious/names", "stack_global_type_confusion_v4.pkl", p4(b"K\x01\x94" + b"h\x00" + sbu("system") + b"\x93(" + sbu("id") + b"tR"), "flag", "non-string memo value as STACK_GLOBAL operand", "picklescan PR #52", "scan/pickle-computed-import")
    put("malicious/names", "dotted_pathlib_os_system_v4.pkl", p4(call4("pathlib", "os.system", "id")), "flag", "dotted name walks attributes", "fickling GHSA-5j3x-jp52-966f", "scan/pickle-attribute-walk")
    put("malicious/names", "dotted_torch_serialization_os_v4.pkl", p4(call4("torch.serialization", "os.system", "id")), "flag", "dotted name via an allow-listed-looking module", "fickling GHSA-5j3x-jp52-966f")
    put("malicious/names", "builtins_dunder_introspection_v4.pkl", p4(sglob("builtins", "print.__class__.__base__.__subclasses__") + b")R"), "flag", "dunder attribute chain", "modelscan #338", "scan/pickle-attribute-walk")
    put("malicious/names", "asyncio_submodule_v4.pkl", p4(call4("asyncio.unix_events", "_UnixSubprocessTransport._start", "id")), "flag", "submodule of a deny-listed package", "CVE-2025-10157")

    # python 2 aliases (protocol < 3: the loader maps them)
    put("malicious/alias", "cPickle_loads_nested_v2.pkl", p2(call2("cPickle", "loads", "cos\nsystem\n(S'id'\ntR.")), "flag", "py2 alias cPickle → pickle", "_compat_pickle", "scan/pickle-dangerous-global")
    put("malicious/alias", "urllib2_urlopen_v2.pkl", p2(call2("urllib2", "urlopen", "http://127.0.0.1/")), "flag", "py2 alias urllib2 → urllib.request", "_compat_pickle", "scan/pickle-dangerous-global")
    put("malicious/alias", "SocketServer_TCPServer_v2.pkl", p2(call2("SocketServer", "TCPServer", "x")), "flag", "py2 alias SocketServer → socketserver", "_compat_pickle", "scan/pickle-dangerous-global")
    put("malicious/alias", "builtin_eval_v0.pkl", p0(call0("__builtin__", "eval", "1")), "flag", "py2 __builtin__.eval", "_compat_pickle", "scan/pickle-dangerous-global")
    put("malicious/alias", "commands_getoutput_v0.pkl", p0(call0("commands", "getoutput", "id")), "flag", "py2 commands → subprocess", "_compat_pickle", "scan/pickle-dangerous-global")

    # gadgets: every one as protocol 4
    for mod, name, what, ref in GADGETS:
        put("malicious/gadgets", f"{mod}.{name}_v4.pkl", p4(call4(mod, name, "id")), "flag", f"gadget: {what}", ref)

    # stream tricks
    put("malicious/stream", "broken_after_payload_v2.pkl", b"\x80\x02" + call2("os", "system", "id") + b"\xff", "flag", "payload, then a broken stream (nullifAI)", "nullifAI", "scan/pickle-dangerous-global")
    put("malicious/stream", "truncated_after_payload_v2.pkl", b"\x80\x02" + call2("os", "system", "id"), "flag", "payload, no STOP", "nullifAI", "scan/pickle-malformed")
    frame = b"B" + bytes([1 + len(call0("os", "system", "id"))])
    put("malicious/stream", "frame_boundary_divergence_v5.pkl", b"\x80\x05\x95" + u64(len(frame)) + frame + b"\0\0\0\0" + call0("os", "system", "id") + b".", "flag", "FRAME boundary divergence (C reader ≠ linear reader)", "fickling PR #317", "scan/pickle-frame-divergence")
    put("malicious/stream", "second_pickle_after_stop_v2.pkl", pickle.dumps(PLAIN, protocol=2) + p2(call2("os", "system", "id")), "flag", "malicious pickle after a benign one", "", "scan/pickle-dangerous-global")
    put("malicious/stream", "proto_switch_v4.pkl", b"\x80\x04\x80\x02" + call2("cPickle", "loads", "x") + b".", "flag", "PROTO changes mid-stream (changes name mapping)", "", "scan/pickle-dangerous-global")

    # containers
    evil2 = p2(call2("os", "system", "id"))
    put("malicious/containers", "torch_zip_payload.pt", torch_zip(torch_state_dict_pkl(extra=glob0("os", "system") + b"(" + bu("id") + b"tR0")), "flag", "PyTorch zip, payload in data.pkl", "", "scan/pickle-dangerous-global")
    put("malicious/containers", "zip_member_wrong_ext.zip", zip_bytes({"archive/data.pkl": pickle.dumps(PLAIN, protocol=2), "archive/extra.bin": evil2}), "flag", "pickle member with a non-pickle name", "CVE-2025-1889", "scan/pickle-dangerous-global")
    put("malicious/containers", "zip_name_mismatch.pt", zip_name_mismatch(torch_zip(torch_state_dict_pkl(extra=glob0("os", "system") + b"(" + bu("id") + b"tR0"))), "flag", "local-header name ≠ central name", "CVE-2025-1944", "scan/zip-name-mismatch")
    for flag in (0x1, 0x20, 0x40):
        put("malicious/containers", f"zip_flag_0x{flag:x}.pt", zip_set_flag(torch_zip(p2(call2("os", "system", "id"))), flag), "flag", f"general-purpose flag 0x{flag:x} without encryption", "CVE-2025-1945", "scan/zip-flags")
    put("malicious/containers", "zip_bad_crc.pt", zip_bad_crc(torch_zip(p2(call2("os", "system", "id")))), "flag", "CRC mismatch", "CVE-2025-10156", "scan/zip-crc")
    put("malicious/containers", "raw_pickle_named_pt.pt", evil2, "flag", "plain pickle named .pt", "CVE-2025-10155", "scan/pickle-dangerous-global")
    put("malicious/containers", "raw_pickle_named_bin.bin", evil2, "flag", "plain pickle named .bin", "CVE-2025-10155", "scan/pickle-dangerous-global")
    put("malicious/containers", "legacy_torch_stacked.pt", legacy_torch(torch_state_dict_pkl(proto=2, legacy=True, extra=glob0("os", "system") + b"(" + bu("id") + b"tR0")), "flag", "legacy stacked torch, payload in the object pickle", "modelscan 0.8.8 bypass", "scan/pickle-dangerous-global")
    put("malicious/containers", "legacy_torch_magic_via_eval.pt", legacy_torch(torch_state_dict_pkl(proto=2, legacy=True), magic_pkl=p2(call2("builtins", "eval", str(MAGIC)))), "flag", "legacy torch magic computed by eval", "GHSA-97f8-7cmv-76j2", "scan/pickle-dangerous-global")
    put("malicious/containers", "legacy_torch_tar.pt", legacy_tar(p2(call2("os", "system", "id"))), "flag", "torch 0.1.x tar checkpoint", "picklescan TODO", "scan/pickle-dangerous-global")
    put("malicious/containers", "polyglot_pickle_then_zip.pkl", evil2 + zip_bytes({"a.txt": b"hello"}), "flag", "pickle followed by a zip", "research §2.2", "scan/polyglot")
    put("malicious/containers", "zip_nested_zip.zip", zip_bytes({"inner.zip": zip_bytes({"model.pkl": evil2})}), "flag", "zip inside a zip", "research §2.2", "scan/pickle-dangerous-global")
    put("malicious/containers", "zip_nested_deflated.zip", zip_bytes({"inner.zip": zip_bytes({"model.pkl": evil2}, zipfile.ZIP_DEFLATED)}, zipfile.ZIP_DEFLATED), "flag", "deflated zip inside a deflated zip", "", "scan/pickle-dangerous-global")
    put("malicious/containers", "pickle.pkl.gz", gzip_fixed(evil2), "flag", "gzip-wrapped pickle", "research §2.2", "scan/pickle-dangerous-global")
    put("malicious/containers", "pickle.pkl.bz2", bz2.compress(evil2), "flag", "bz2-wrapped pickle", "research §2.2", "scan/pickle-dangerous-global")
    put("malicious/containers", "pickle.pkl.xz", lzma.compress(evil2), "flag", "xz-wrapped pickle", "research §2.2", "scan/pickle-dangerous-global")
    put("malicious/containers", "seven_zip_payload.7z", b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\0" * 32, "flag", "7z archive (cannot be opened: fail closed)", "nullifAI", "scan/unreadable")
    put("malicious/containers", "zip_slip.zip", zip_bytes({"../../evil.pkl": evil2}), "flag", "member name climbs out", "zip-slip", "scan/archive-path")
    nested = evil2
    for i in range(6):
        nested = zip_bytes({f"level{i}.zip" if i else "model.pkl": nested})
    put("malicious/containers", "zip_depth_6.zip", nested, "flag", "archives nested 6 deep", "", "scan/archive-depth")
    put("malicious/containers", "torch_storage_size.pt", torch_zip(torch_state_dict_pkl(), storage=b"\0" * 8), "flag", "storage numel × elsize ≠ data size", "CVE-2026-24747", "scan/torch-storage-size")
    put("malicious/containers", "npy_object_payload.npy", npy("|O", (1,), evil2), "flag", "numpy object array carrying a pickle", "", "scan/pickle-dangerous-global")
    put("malicious/containers", "npz_object_payload.npz", zip_bytes({"arr_0.npy": npy("|O", (1,), evil2)}), "flag", "npz member with an object-array pickle", "", "scan/pickle-dangerous-global")

    # joblib
    payload = glob0("os", "system") + b"(" + bu("id") + b"tR0"
    put("malicious/joblib", "array_then_payload.joblib", joblib_pickle(payload), "flag", "joblib: payload after the inline array", "", "scan/pickle-dangerous-global")
    put("malicious/joblib", "array_then_payload_zlib.joblib", zlib_joblib(joblib_pickle(payload)), "flag", "zlib-compressed joblib", "research §2.2", "scan/pickle-dangerous-global")
    put("malicious/joblib", "array_then_payload_lzma.joblib", lzma.compress(joblib_pickle(payload), format=lzma.FORMAT_ALONE), "flag", "lzma-compressed joblib", "research §2.2", "scan/pickle-dangerous-global")
    put("malicious/joblib", "object_array_payload.joblib", joblib_pickle(b"", obj_array_pickle=p2(call2("os", "system", "id"))), "flag", "joblib object array = nested pickle", "", "scan/pickle-dangerous-global")

    # keras
    lam = {"module": "keras.layers", "class_name": "Lambda", "config": {"name": "l", "function": {"module": "builtins", "class_name": "function", "config": "4wEAAAAAAAAA", "registered_name": "function"}}, "registered_name": None}
    put("malicious/keras", "lambda_layer.keras", keras_zip(keras_config([dense_layer(), lam])), "flag", "Lambda layer", "CVE-2024-3660", "scan/keras-lambda")
    inj = {"module": "os", "class_name": "function", "config": "system", "registered_name": "function"}
    put("malicious/keras", "module_injection.keras", keras_zip(keras_config([dict(dense_layer(), config={"name": "d", "units": 1, "activation": inj})])), "flag", "config names os.system", "CVE-2025-1550", "scan/keras-module")
    tfsm = {"module": "keras.layers", "class_name": "TFSMLayer", "config": {"name": "t", "filepath": "/tmp/attacker_savedmodel"}, "registered_name": None}
    put("malicious/keras", "tfsmlayer_external.keras", keras_zip(keras_config([tfsm])), "flag", "TFSMLayer loads an external SavedModel", "CVE-2026-1462", "scan/keras-tfsmlayer")
    lam2 = {"class_name": "Lambda", "config": {"name": "l", "function": ["4wEAAAAAAAAA", None, None], "function_type": "lambda"}}
    put("malicious/keras", "lambda_layer.h5", fake_h5(json.dumps({"class_name": "Sequential", "config": {"name": "s", "layers": [lam2]}}).encode()), "flag", "Lambda layer in .h5 model_config", "CVE-2024-3660", "scan/keras-lambda")

    # onnx
    put("malicious/onnx", "external_data_absolute.onnx", onnx_model(external="/etc/passwd"), "flag", "external data absolute path", "CVE-2022-25882", "scan/onnx-external-path")
    put("malicious/onnx", "external_data_traversal.onnx", onnx_model(external="../../../../etc/passwd"), "flag", "external data `..` traversal", "CVE-2024-27318", "scan/onnx-external-path")
    put("malicious/onnx", "external_data_inner_dotdot.onnx", onnx_model(external="weights/../../secret"), "flag", "inner `..`", "CVE-2026-27489", "scan/onnx-external-path")
    put("malicious/onnx", "custom_domain.onnx", onnx_model(domain="com.attacker.ops", op="Evil"), "flag", "custom operator domain (native library)", "", "scan/onnx-custom-domain")

    # gguf
    put("malicious/gguf", "chat_template_ssti.gguf", gguf("{{ ''.__class__.__mro__[1].__subclasses__() }}{% for m in messages %}{{ m['content'] }}{% endfor %}"), "flag", "Jinja SSTI in the chat template", "CVE-2024-34359", "scan/gguf-template")
    put("malicious/gguf", "chat_template_attr_filter.gguf", gguf("{{ cycler|attr('\\x5f\\x5finit\\x5f\\x5f') }}"), "flag", "attr filter with escaped dunders", "CVE-2026-5760", "scan/gguf-template")

    # safetensors with a trailing pickle
    put("malicious/safetensors", "trailing_pickle.safetensors", safetensors({"w": ("F32", [1], b"\0" * 4)}, extra=evil2), "flag", "pickle appended after the tensors", "research §3.3", "scan/trailing-data")


def zip_name_mismatch(data):
    # rename the first local header's name (same length) without touching the central directory
    i = data.index(b"PK\x03\x04")
    n = struct.unpack_from("<H", data, i + 26)[0]
    name = data[i + 30:i + 30 + n]
    return data[:i + 30] + name[:-1] + (b"X" if name[-1:] != b"X" else b"Y") + data[i + 30 + n:]


def zip_set_flag(data, flag):
    out = bytearray(data)
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = out.find(sig)
        v = struct.unpack_from("<H", out, i + off)[0] | flag
        struct.pack_into("<H", out, i + off, v)
    return bytes(out)


def zip_bad_crc(data):
    out = bytearray(data)
    for sig, off in ((b"PK\x03\x04", 14), (b"PK\x01\x02", 16)):
        i = out.find(sig)
        struct.pack_into("<I", out, i + off, 0xDEADBEEF)
    return bytes(out)


def legacy_tar(main_pkl):
    buf = io.BytesIO()
    storages = pickle.dumps(1, protocol=2) + p2(b"(" + bu("0") + bu("cpu") + glob0("torch", "FloatStorage") + b"t") + struct.pack("<q", 4) + b"\0" * 16 + pickle.dumps([], protocol=2)
    tensors = pickle.dumps(0, protocol=2)
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in (("sys_info", pickle.dumps({"protocol_version": 1000}, protocol=2)), ("pickle", main_pkl), ("storages", storages), ("tensors", tensors)):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 0
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


# ----------------------------------------------------------------------------- invalid + policy

def invalid():
    put("invalid", "truncated_plain_v4.pkl", pickle.dumps(PLAIN, protocol=4)[:-7], "flag", "truncated pickle", "", "scan/pickle-malformed")
    put("invalid", "not_a_pickle.bin", bytes(range(256)) * 4, "flag", "random bytes with a model name", "picklescan not_a_pickle.bin", "scan/unsupported-format")
    put("invalid", "bad_opcode_v2.pkl", b"\x80\x02\xfe.", "flag", "invalid opcode", "", "scan/pickle-malformed")
    put("invalid", "gguf_huge_kv_count.gguf", b"GGUF" + u32(3) + u64(0) + u64(1 << 60), "flag", "GGUF header counts exceed the file", "research §2.3", "scan/gguf-header")
    put("invalid", "safetensors_header_too_long.safetensors", struct.pack("<Q", 1 << 40) + b"{}", "flag", "header length past the file", "", "scan/safetensors-header")
    put("invalid", "safetensors_overlap.safetensors", safetensors({}, raw_header=json.dumps({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}).encode(), extra=b"\0" * 12), "flag", "overlapping tensors", "", "scan/safetensors-offsets")
    put("invalid", "safetensors_gap.safetensors", safetensors({}, raw_header=json.dumps({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}).encode(), extra=b"\0" * 8), "flag", "gap before a tensor", "", "scan/safetensors-offsets")
    put("invalid", "safetensors_shape_mismatch.safetensors", safetensors({}, raw_header=json.dumps({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}).encode(), extra=b"\0" * 8), "flag", "shape × dtype ≠ byte range", "", "scan/safetensors-offsets")
    put("invalid", "safetensors_bad_dtype.safetensors", safetensors({}, raw_header=json.dumps({"a": {"dtype": "X99", "shape": [1], "data_offsets": [0, 4]}}).encode(), extra=b"\0" * 4), "flag", "unknown dtype", "", "scan/safetensors-header")
    put("invalid", "safetensors_metadata_not_str.safetensors", safetensors({"a": ("F32", [1], b"\0" * 4)}, metadata={"k": 1}), "flag", "non-string __metadata__", "", "scan/safetensors-header")
    put("invalid", "onnx_garbage.onnx", b"\x0a\xff\xff\xff\xff\x0f" + b"\0" * 10, "flag", "ONNX protobuf that overruns", "", "scan/onnx-malformed")
    put("invalid", "npy_truncated.npy", npy("<f8", (100,), b"\0" * 8), "flag", "npy data shorter than its header says", "", "scan/unreadable")


def policy():
    body = glob0("mypkg.layers", "MyLayer") + b")\x81}" + bu("units") + b"K\x04sb"
    put("policy", "custom_layer_v2.pkl", p2(body), "flag", "unknown (not dangerous) global: flagged until allow-listed", "", "scan/pickle-unknown-global")


# ----------------------------------------------------------------------------- real files

def real():
    """Benign files written by real libraries, when they are installed."""
    try:
        import numpy as np
    except ImportError:
        print("numpy not installed: skipping real numpy/joblib/sklearn files", file=sys.stderr)
        return
    rng = np.random.default_rng(0)
    try:
        import h5py

        def h5(group, name, config, expect, technique, ref="", rule=None):
            path = os.path.join(OUT, group, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with h5py.File(path, "w") as f:
                f.attrs["model_config"] = config.decode()
                f.create_dataset("dense/kernel", data=np.zeros((4, 4), dtype="f4"))
            MANIFEST.append({"file": f"{group}/{name}", "group": group.split("/")[0], "technique": technique, "ref": ref, "expect": expect, "rule": rule})

        h5("real", "h5py/dense_model.h5", keras_config([dense_layer()], v3=False), "clean", "Keras-style .h5 written by h5py")
        lam = {"class_name": "Lambda", "config": {"name": "l", "function": ["4wEAAAAAAAAA", None, None], "function_type": "lambda"}}
        h5("malicious/keras", "h5py_lambda.h5", json.dumps({"class_name": "Sequential", "config": {"name": "s", "layers": [lam]}}).encode(), "flag", "Lambda layer in a real HDF5 model_config attribute", "CVE-2024-3660", "scan/keras-lambda")
    except ImportError:
        print("h5py not installed: skipping real HDF5 files", file=sys.stderr)

    def save_np(name, fn):
        path = os.path.join(OUT, "real", name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fn(path)
        MANIFEST.append({"file": f"real/{name}", "group": "real", "technique": "written by " + name.split("/")[0], "ref": "", "expect": "clean", "rule": None})

    save_np("numpy/array.npy", lambda p: np.save(p, rng.standard_normal((4, 4))))
    save_np("numpy/object_strings.npy", lambda p: np.save(p, np.array(["a", "bc", None], dtype=object), allow_pickle=True))
    save_np("numpy/arrays.npz", lambda p: np.savez(p, a=np.arange(10), b=rng.standard_normal(3)))
    save_np("numpy/arrays_compressed.npz", lambda p: np.savez_compressed(p, a=np.arange(1000), s=np.array(["x", "y"])))
    for proto in (2, 3, 4, 5):
        save_np(f"numpy/pickled_v{proto}.pkl", lambda p, proto=proto: open(p, "wb").write(pickle.dumps({"a": np.arange(5), "f": np.float64(1.5), "rs": np.random.RandomState(0), "g": np.random.default_rng(1), "dt": np.dtype("f4")}, protocol=proto)))
    try:
        import joblib
        from sklearn.datasets import make_classification
        from sklearn.ensemble import RandomForestClassifier, GradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.tree import DecisionTreeClassifier
        from sklearn.svm import SVC
        from sklearn.cluster import KMeans
        from sklearn.neighbors import KNeighborsClassifier
    except ImportError:
        print("joblib/scikit-learn not installed: skipping real sklearn files", file=sys.stderr)
        return
    X, y = make_classification(n_samples=80, n_features=6, random_state=0)
    models = {
        "pipeline_logreg": make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y),
        "random_forest": RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y),
        "gradient_boosting": GradientBoostingClassifier(n_estimators=3, random_state=0).fit(X, y),
        "decision_tree": DecisionTreeClassifier(random_state=0).fit(X, y),
        "svc": SVC().fit(X, y),
        "kmeans": KMeans(n_clusters=2, n_init=1, random_state=0).fit(X),
        "knn": KNeighborsClassifier().fit(X, y),
    }
    for name, m in models.items():
        save_np(f"sklearn/{name}.joblib", lambda p, m=m: joblib.dump(m, p))
        save_np(f"sklearn/{name}_v5.pkl", lambda p, m=m: open(p, "wb").write(pickle.dumps(m, protocol=5)))
    m = models["pipeline_logreg"]
    for comp in ("zlib", "gzip", "bz2", "lzma", "xz"):
        save_np(f"joblib/pipeline.joblib.{comp}", lambda p, comp=comp: joblib.dump(m, p, compress=(comp, 3)))
    save_np("joblib/object_array.joblib", lambda p: joblib.dump({"o": np.array(["a", 1, None], dtype=object), "x": np.arange(3)}, p))
    save_np("joblib/protocol2.joblib", lambda p: joblib.dump({"x": np.arange(3)}, p, protocol=2))


def main():
    os.makedirs(OUT, exist_ok=True)
    benign()
    malicious()
    invalid()
    policy()
    real()
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(MANIFEST, f, indent=1)
    print(f"wrote {len(MANIFEST)} files to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
