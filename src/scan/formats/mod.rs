//! Readers for everything that is not a container (zip, tar, compression) or a plain pickle:
//! one file per format family.

pub(crate) mod coreml;
pub(crate) mod gguf;
pub(crate) mod json;
pub(crate) mod keras;
pub(crate) mod npy;
pub(crate) mod onnx;
pub(crate) mod protobuf;
pub(crate) mod safetensors;
pub(crate) mod skops;
pub(crate) mod template;
pub(crate) mod tensorflow;
pub(crate) mod tflite;
pub(crate) mod torch_legacy;
pub(crate) mod torchscript;
pub(crate) mod vectors;

use crate::scan::ctx::{Blob, Ctx, Member};
use crate::scan::rules;
use protobuf::conforms;

/// Largest `.pb` read whole (protobuf messages are limited to 2 GiB).
const MAX_PB: u64 = 2 << 30;

/// ONNX ModelProto fields (ir_version, producer, graph, opset_import, …).
fn onnx_model_field(f: u32) -> Option<bool> {
    match f {
        1 | 5 => Some(false),
        2 | 3 | 4 | 6 | 7 | 8 | 14 | 20 | 25 | 26 => Some(true),
        _ => None,
    }
}

/// ONNX TensorProto fields (dims, data_type, raw_data, external_data, …).
fn onnx_tensor_field(f: u32) -> Option<bool> {
    match f {
        1 | 2 | 4 | 5 | 7 | 10 | 11 | 14 => Some(false),
        3 | 6 | 8 | 9 | 12 | 13 | 16 => Some(true),
        _ => None,
    }
}

/// ONNX SequenceProto, MapProto and OptionalProto (test data of sequence and map models).
fn onnx_container_field(f: u32) -> Option<bool> {
    match f {
        2 => Some(false),
        1 | 3 | 4 | 5 | 6 | 7 => Some(true),
        _ => None,
    }
}

/// A `.pb` file: a TensorFlow SavedModel or GraphDef, or ONNX (a model, or a tensor or sequence
/// as the ONNX test-data layout stores inputs and outputs), told apart by their structure.
pub(crate) fn protobuf_file(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member, name: &str) {
    let buf = match blob.read_all(MAX_PB) {
        Ok(Some(b)) => b,
        Ok(None) => {
            ctx.mark("protobuf");
            return ctx.add(
                &rules::RESOURCE_LIMIT,
                member,
                None,
                "protobuf file larger than 2 GiB; not read".into(),
            );
        }
        Err(e) => {
            return ctx.add(
                &rules::UNREADABLE,
                member,
                None,
                format!("could not read: {e}"),
            );
        }
    };
    if tensorflow::is_saved_model(&buf) {
        ctx.mark("tensorflow-savedmodel");
        tensorflow::scan(ctx, &buf, member, true);
    } else if tensorflow::is_graph_def(&buf) {
        ctx.mark("tensorflow-graphdef");
        tensorflow::scan(ctx, &buf, member, false);
    } else if conforms(&buf, onnx_model_field)
        && protobuf::fields(&buf).flatten().any(|(f, _)| f == 7)
    {
        ctx.mark("onnx");
        onnx::scan(ctx, blob, member);
    } else if conforms(&buf, onnx_tensor_field) {
        ctx.mark("onnx-tensor");
        onnx::check_tensor_locations(ctx, &buf, member);
    } else if conforms(&buf, onnx_container_field) {
        ctx.mark("onnx-tensor");
    } else {
        ctx.mark("unknown");
        ctx.add(
            &rules::UNSUPPORTED,
            member,
            Some(0),
            format!("`{name}` is a protobuf file but neither a TensorFlow graph nor ONNX; it cannot be called clean"),
        );
    }
}
