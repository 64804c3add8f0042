//! The catalogue of `fuzz` rule ids. Ids are stable: never rename one, add a new one instead.

use crate::report::{Rule, Severity};

crate::rule_catalogue! {
    MODEL_UNSAFE = ("fuzz/model-file-unsafe", Critical,
        "The model file failed the static scan (external data outside the model, unknown operator domains, malformed protobuf), so it was not run",
        "fix what `modelsec scan` reports before running the model");
    RUNTIME_CRASH = ("fuzz/runtime-crash", Critical,
        "ONNX Runtime crashed (the fuzzing process died on a signal) while running the model",
        "an input crashes the runtime: a denial-of-service (or memory-safety) bug; reproduce with the probe named, update ONNX Runtime, validate inputs");
    RUNTIME_HANG = ("fuzz/runtime-hang", High,
        "Inference did not finish within --timeout",
        "an input (or the model itself) makes inference run unbounded: bound the model's loops and the inputs that drive them, and set a server-side timeout");
    BASELINE_FAILS = ("fuzz/baseline-fails", Critical,
        "The model fails on a well-formed input of its declared types and shapes",
        "the model cannot serve its own contract; check the export (opsets, input names, dtypes)");
    EMPTY_BATCH_FAILS = ("fuzz/empty-batch-fails", Medium,
        "An empty batch (a dynamic dimension of 0) makes inference fail",
        "handle N=0 (return empty outputs) or reject it before inference; a serving loop that batches requests will hit it");
    LARGE_BATCH_FAILS = ("fuzz/large-batch-fails", Medium,
        "A large batch (4,096 rows) makes inference fail",
        "cap batch sizes at the server, or fix the operator that fails");
    CONTRACT_NOT_ENFORCED = ("fuzz/contract-not-enforced", High,
        "An input of the wrong type, rank or name was accepted instead of rejected",
        "inputs outside the declared contract must fail cleanly; validate before inference");
    NONFINITE_OUTPUT = ("fuzz/nonfinite-output", High,
        "The model returns NaN or infinity",
        "reject non-finite and extreme inputs before inference, or make the model saturate instead of overflowing");
    LABEL_SCORE_DISAGREE = ("fuzz/label-score-disagree", High,
        "The predicted label is not the arg-max of the returned probabilities (e.g. a confident label from NaN scores)",
        "callers trust the label; reject inputs that make the scores undefined, and check label == argmax in the export");
    INVALID_PROBABILITIES = ("fuzz/invalid-probabilities", High,
        "Returned probabilities are outside [0, 1] or do not sum to 1",
        "check the export's post-processing (softmax, ZipMap options)");
    ACCEPTS_NONFINITE = ("fuzz/accepts-nonfinite-input", Medium,
        "A NaN or infinite input yields an ordinary-looking prediction, with no sign that the input was invalid",
        "validate inputs: a silently accepted NaN becomes a wrong decision downstream");
    NONDETERMINISTIC = ("fuzz/nondeterministic", Medium,
        "The same input gives different outputs on two runs",
        "pin threads and execution options, or document the tolerance callers must allow");
    BATCH_VARIANCE = ("fuzz/batch-variance", Medium,
        "A row's output changes depending on the other rows in its batch",
        "results must not depend on batching; look for batch-level normalisation or padding effects");
    INPUT_DRIVEN_ALLOCATION = ("fuzz/input-driven-allocation", High,
        "An integer input controls how much memory inference allocates (a few bytes in, megabytes out)",
        "bound the integer inputs at the server; a client can exhaust memory with one request");
    ROBUST_ACCURACY_LOW = ("fuzz/robust-accuracy-below-threshold", High,
        "Robust accuracy under the attack is below --min-robust-accuracy",
        "harden the model (adversarial training, input smoothing, monotonic constraints) or monitor for such inputs in production");
    ADVERSARIAL_EXAMPLE = ("fuzz/adversarial-example", Info,
        "A small change within ε flips the model's label (a minimised reproducer)",
        "expected for most models at some ε; hold the model to a robust-accuracy threshold with --min-robust-accuracy");
    NOT_ATTACKED = ("fuzz/not-attacked", Info,
        "The robustness attack did not run: not a single float [N, F] input, or no output the attack needs",
        "square and simba need a probabilities output (export classifiers with zipmap off); hopskipjump needs only a label");
    NOT_PROBED = ("fuzz/input-not-probed", Info,
        "An input's type is not one modelsec generates values for yet, so the probes skipped it",
        "supported: float32, float64 and every integer and bool tensor; not yet float16, bfloat16, strings, sequences and maps");
}
