//! The catalogue of `fuzz` rule ids. Ids are stable: never rename one, add a new one instead.

use crate::report::{Rule, Severity};

crate::rule_catalogue! {
    MODEL_UNSAFE = ("fuzz/model-file-unsafe", Critical,
        "The model file failed the static scan (external data outside the model, unknown operator domains, malformed protobuf), so it was not run",
        "fix what `modelsec scan` reports before running the model");
    RUNTIME_CRASH = ("fuzz/runtime-crash", Critical,
        "ONNX Runtime crashed (the process running the model died) on an input that fits the declared contract",
        "an input crashes the runtime: a denial-of-service (or memory-safety) bug; reproduce with the probe named, update ONNX Runtime, validate inputs");
    RUNTIME_HANG = ("fuzz/runtime-hang", High,
        "Inference did not finish in time: 30× the measured time of a valid run (at least 10 s), or --timeout before one was measured",
        "an input (or the model itself) makes inference run unbounded: bound the model's loops and the inputs that drive them, and set a server-side timeout");
    BASELINE_FAILS = ("fuzz/baseline-fails", Critical,
        "Retired: a model that rejects every input modelsec builds is no longer reported as a defect; `fuzz` stops with exit 2 and names the flags that describe a valid input",
        "describe the input contract with --dim, --shape, --range or --seeds (an .npz with one valid array per input)");
    EMPTY_BATCH_FAILS = ("fuzz/empty-batch-fails", Medium,
        "An empty batch (the batch dimension 0 in every input that has it) makes inference fail",
        "handle N=0 (return empty outputs) or reject it before inference; a serving loop that batches requests will hit it");
    LARGE_BATCH_FAILS = ("fuzz/large-batch-fails", Medium,
        "A batch of several rows (up to 4,096, as the budget allows) makes inference fail although one row runs; allocation failures under fuzz's own --memory-limit are not counted",
        "cap batch sizes at the server, or fix the operator that fails");
    CONTRACT_NOT_ENFORCED = ("fuzz/contract-not-enforced", High,
        "An input of the wrong type, rank or name was accepted instead of rejected",
        "inputs outside the declared contract must fail cleanly; validate before inference");
    NONFINITE_OUTPUT = ("fuzz/nonfinite-output", High,
        "The model returns NaN or infinity (or a regression beyond ±1e30) for an input that is not itself NaN, infinite or extreme",
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
        "The robustness attack did not run: no classifier output identified, no float input to perturb, no --seeds images for an image model, or no time left in --budget-seconds",
        "square and simba need probabilities or class scores, hopskipjump only a label; image models are attacked from --seeds images; --attack-input names the input of a multi-input model");
    NOT_PROBED = ("fuzz/input-not-probed", Info,
        "Retired: an input of a type modelsec cannot build (float16, bfloat16, sequences, maps) now stops `fuzz` with exit 2, since the model cannot be run without it",
        "supported: float32, float64, every integer and bool tensor, and strings");
    PROBE_SKIPPED = ("fuzz/probe-skipped", Info,
        "A probe was not run, or its outcome not counted, for a reason of fuzz's own (its memory cap, its budget, an input it could not build): not a defect of the model",
        "raise --memory-limit or --budget-seconds, or describe the input contract with --dim, --shape, --range or --seeds");
    OUT_OF_VOCABULARY = ("fuzz/out-of-vocabulary-accepted", Low,
        "An integer id outside the vocabulary the graph indexes (a Gather table, a one-hot) is answered without error instead of refused",
        "check ids against the vocabulary before inference (Gather wraps negative ids; a one-hot turns an unknown id into an all-zero row), or map them to an explicit unknown token");
}
