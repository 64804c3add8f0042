//! The catalogue of `scan` rule ids. Ids are stable: never rename one, add a new one instead.

use crate::report::{Rule, Severity};

crate::rule_catalogue! {
    UNKNOWN_GLOBAL = ("scan/pickle-unknown-global", High,
        "A pickle imports a global that is not on the allow-list",
        "loading runs whatever this global does; if you trust it, add the exact (module, name) to an allow-list file and pass --allowlist, otherwise convert the model to safetensors");
    DANGEROUS_GLOBAL = ("scan/pickle-dangerous-global", Critical,
        "A pickle imports a global known to run commands, evaluate code, touch files or the network",
        "do not load this file; it is a code-execution payload or carries one");
    ATTRIBUTE_WALK = ("scan/pickle-attribute-walk", Critical,
        "A pickle imports a dotted or dunder name, which the loader resolves by walking attributes",
        "no legitimate model needs this; treat the file as hostile");
    COMPUTED_IMPORT = ("scan/pickle-computed-import", Critical,
        "STACK_GLOBAL takes its module or name from something other than a string literal",
        "the import is hidden from static reading; treat the file as hostile");
    COMPUTED_CALL = ("scan/pickle-computed-call", Critical,
        "A pickle calls something that is not an allowed global (a call result, or a value-only global)",
        "call chains are how allow-listed names are turned into gadgets; treat the file as hostile");
    MUTATES_GLOBAL = ("scan/pickle-mutates-global", Critical,
        "BUILD, SETITEM or APPEND targets a module, class or function object, or sets a dunder attribute",
        "this rewrites code the loader will later use (overwritten-module attacks); treat the file as hostile");
    EXTENSION_CODE = ("scan/pickle-extension-code", High,
        "A pickle uses an EXT1/EXT2/EXT4 extension code, which resolves through the loader's copyreg registry",
        "the import cannot be known statically; legitimate models do not use extension codes");
    TYPE_CONFUSION = ("scan/pickle-type-confusion", Medium,
        "SETITEM/APPEND/BUILD on a value of the wrong type (the CVE-2026-24747 class)",
        "real pickles never do this; loaders have had memory-safety bugs here");
    FRAME_DIVERGENCE = ("scan/pickle-frame-divergence", High,
        "A read crosses a FRAME boundary, so CPython's buffered reader and a linear reader see different opcodes",
        "the file is crafted to show scanners one program and the loader another; treat it as hostile");
    TRAILING_DATA = ("scan/pickle-trailing-data", Medium,
        "Bytes follow the pickle's STOP opcode (a second pickle or hidden data)",
        "a second pickle.load() on the same stream would run them; models written by real libraries end at STOP");
    MALFORMED = ("scan/pickle-malformed", High,
        "The pickle is truncated or invalid, so it could not be fully read",
        "a loader may still run everything before the broken part (nullifAI); scan fails closed: re-export the model");
    RESOURCE_LIMIT = ("scan/resource-limit", Medium,
        "A resource limit was hit (stack, memo, nesting, size), so the file was not fully analysed",
        "the file is unusual or built to exhaust scanners; inspect it, or re-export the model");
    ZIP_FLAGS = ("scan/zip-flags", Medium,
        "A zip entry sets general-purpose flag bits (encrypted/patched/strong-encryption) without being encrypted",
        "PyTorch loads such entries while Python's zipfile refuses them (CVE-2025-1945); re-pack the archive");
    ZIP_CRC = ("scan/zip-crc", Medium,
        "A zip entry's CRC-32 does not match its data",
        "PyTorch ignores the CRC while zipfile refuses the entry (CVE-2025-10156); re-pack the archive");
    ZIP_NAME_MISMATCH = ("scan/zip-name-mismatch", High,
        "A zip entry's local-header name differs from its central-directory name",
        "readers disagree on which file this is (CVE-2025-1944); treat the archive as hostile");
    ZIP_STRUCTURE = ("scan/zip-structure", High,
        "The zip has duplicate names, overlapping entries, or bytes outside its entries",
        "different readers would see different files; re-pack the archive");
    POLYGLOT = ("scan/polyglot", High,
        "The file is valid as two formats (for example a pickle followed by a zip)",
        "loaders that sniff differently run different content; both were scanned; re-export the model");
    ARCHIVE_PATH = ("scan/archive-path", High,
        "An archive member name is absolute or contains `..`",
        "extracting it writes outside the target directory; treat the archive as hostile");
    ARCHIVE_BOMB = ("scan/archive-bomb", Medium,
        "Decompressed size exceeds the ratio or size limit (decompression bomb)",
        "the rest was not scanned; inspect the file");
    ARCHIVE_DEPTH = ("scan/archive-depth", Medium,
        "Archives are nested deeper than the limit",
        "the innermost archives were not scanned; flatten the model");
    UNREADABLE = ("scan/unreadable", High,
        "A file or member could not be fully read (I/O error, encryption, unsupported compression or archive)",
        "scan fails closed: nothing unread is called clean; provide the model in a readable form");
    UNSUPPORTED = ("scan/unsupported-format", Medium,
        "A file looks like a model but its format cannot be analysed",
        "convert the model to a format modelsec reads (safetensors, ONNX, GGUF), or review it by hand");
    TORCH_STORAGE = ("scan/torch-storage-size", High,
        "A PyTorch storage's declared size does not match its data (the CVE-2026-24747 class)",
        "the checkpoint is corrupt or crafted to corrupt memory in the loader; re-export it");
    TORCH_LEGACY = ("scan/torch-legacy-format", Info,
        "A PyTorch checkpoint uses the legacy (pre-1.6 stacked, or tar) format",
        "every pickle in it was scanned; re-save with a current torch to get the zip format");
    TRAILING_BYTES = ("scan/trailing-data", Medium,
        "Bytes follow the end of the format's data (npy, safetensors, GGUF)",
        "loaders ignore them, so they can carry a second payload (polyglot); re-export the model");
    SAFETENSORS_HEADER = ("scan/safetensors-header", High,
        "The safetensors header is invalid (length, JSON, dtype, shape)",
        "the reference loader rejects this file; re-export the model");
    SAFETENSORS_OFFSETS = ("scan/safetensors-offsets", High,
        "safetensors data offsets overlap, leave gaps, disagree with shape×dtype or leave the buffer",
        "readers would read different bytes for a tensor; re-export the model");
    GGUF_HEADER = ("scan/gguf-header", High,
        "The GGUF header is invalid or its counts and offsets exceed the file",
        "loaders have had memory-safety bugs on such headers; re-export the model");
    GGUF_TEMPLATE = ("scan/gguf-template", Critical,
        "A GGUF chat template uses Jinja features that escape the sandbox (dunder attributes, imports, globals)",
        "servers that render chat templates unsandboxed run this code (CVE-2024-34359); remove the template");
    ONNX_EXTERNAL_PATH = ("scan/onnx-external-path", Critical,
        "An ONNX tensor's external data location is absolute, contains `..`, or leaves the model directory",
        "loading reads files outside the model (CVE-2022-25882, CVE-2024-27318); treat the model as hostile");
    ONNX_EXTERNAL_MISSING = ("scan/onnx-external-missing", High,
        "An ONNX tensor's external data file is missing or is a link",
        "ship the external data file next to the model as a regular file");
    ONNX_CUSTOM_DOMAIN = ("scan/onnx-custom-domain", Medium,
        "An ONNX node uses an operator domain outside the standard ONNX and ONNX Runtime domains",
        "custom operators need native libraries loaded at run time; review where they come from");
    ONNX_MALFORMED = ("scan/onnx-malformed", High,
        "The ONNX protobuf could not be parsed",
        "scan fails closed; re-export the model");
    KERAS_LAMBDA = ("scan/keras-lambda", Critical,
        "A Keras model contains a Lambda layer (marshalled Python bytecode or a function reference)",
        "loading with safe_mode off runs it (CVE-2024-3660); rebuild the model without Lambda layers");
    KERAS_MODULE = ("scan/keras-module", High,
        "A Keras config names a class or function from a module outside Keras",
        "Keras imports it while loading (CVE-2025-1550); register trusted custom objects explicitly");
    KERAS_TFSMLAYER = ("scan/keras-tfsmlayer", High,
        "A Keras model contains a TFSMLayer, which loads an external SavedModel",
        "TFSMLayer loads attacker-chosen graphs even in safe mode (CVE-2026-1462)");
    KERAS_MALFORMED = ("scan/keras-malformed", High,
        "A Keras config could not be parsed",
        "scan fails closed; re-export the model");
    PYTHON_CODE = ("scan/python-code", Info,
        "The model directory contains Python source, which runs with trust_remote_code",
        "review the code, or load the model without trust_remote_code");
    PICKLE_UNSAFE_STATE = ("scan/pickle-unsafe-state", Critical,
        "BUILD gives an allow-listed class a state its allow-list entry forbids (a path its finaliser deletes, say)",
        "the class is safe only with that attribute left None; treat the file as hostile");
    TORCHSCRIPT_CODE = ("scan/torchscript-code", High,
        "TorchScript code calls an operator that reads files or talks to other processes",
        "a model's TorchScript should be tensor computation; review what the operator does before loading");
    TORCHSCRIPT_CUSTOM_OP = ("scan/torchscript-custom-op", Medium,
        "TorchScript code calls an operator from a namespace libtorch does not provide",
        "custom operators are native code the application loads; make sure it is code you trust");
    TORCHSCRIPT_CUSTOM_CLASS = ("scan/torchscript-custom-class", Medium,
        "A TorchScript archive uses a TorchBind class from a library outside libtorch",
        "its methods (and __setstate__) are native code the application loads; make sure it is code you trust");
    SKOPS_UNKNOWN = ("scan/skops-unknown-type", High,
        "A skops schema names a type or function that is not on the allow-list",
        "skops imports it when loading; add the exact (module, name) to an allow-list if you trust it");
    SKOPS_DANGEROUS = ("scan/skops-dangerous-type", Critical,
        "A skops schema names a known-dangerous type or function, or calls a value-only one",
        "do not load this file; it runs code when loaded");
    CHAT_TEMPLATE = ("scan/chat-template", Critical,
        "A chat template (tokenizer_config.json, chat_template.jinja) reaches Python objects from Jinja (SSTI) or loads other files",
        "renderers without a sandbox run this code (CVE-2024-34359); remove or rewrite the template");
    REMOTE_CODE = ("scan/remote-code", Info,
        "A config maps model classes to Python code (`auto_map`) that trust_remote_code loaders import",
        "review the code it names, or load the model without trust_remote_code");
    TF_UNSAFE_OP = ("scan/tf-unsafe-op", High,
        "A TensorFlow graph uses an op that runs Python, makes RPC calls, or reads or writes files",
        "serving the graph gives that op to whoever sends inputs; remove it from the exported graph");
    TFLITE_CUSTOM_OP = ("scan/tflite-custom-op", Info,
        "A TFLite model uses custom operators, implemented by the application",
        "the model runs only where those ops are registered; review where their native code comes from");
    COREML_CUSTOM = ("scan/coreml-custom", Medium,
        "A CoreML model uses custom layers or models (application code) or links another model file",
        "custom layers run the application's native code; linked models load other files; review them");
    FORMAT_MALFORMED = ("scan/format-malformed", High,
        "The file has the signature or name of a format but its structure is invalid",
        "scan fails closed: the file could not be checked; re-export it");
    NO_MODEL_FILES = ("scan/no-model-files", Medium,
        "Nothing scanned is a model file, so the scan proves nothing",
        "point the scan at the model folder, or pass --allow-empty if an empty scan is expected");
}
