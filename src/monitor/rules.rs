//! Rule catalogues of the monitor: the misuse signals `serve`/`proxy` raise, and what
//! `log verify` reports. Ids are stable: never rename one, add a new one instead.

/// Misuse signals. Each has a MITRE ATLAS technique ([`atlas`]) and a default action the
/// config can change (`log`, `throttle`, `block`).
pub mod signals {
    use crate::report::{Rule, Severity};

    crate::rule_catalogue! {
        AUTH_FAILED = ("monitor/auth-failed", Medium,
            "A request without a valid API key (401)",
            "clients must send `Authorization: Bearer <key>` with a key whose SHA-256 is in the config; repeated failures are key guessing");
        RATE = ("monitor/rate-exceeded", Medium,
            "A client sends faster than its rate limits (token buckets: requests, rows — every row of a batch — and LLM tokens)",
            "excessive queries precede extraction and denial of service; the limit answers 429 while the client exceeds it");
        VOLUME = ("monitor/volume-budget", Medium,
            "A client passed its query budget for the window (rows of tabular requests, every row of a batch counted; else requests)",
            "extraction needs volume: a per-client budget is both a detector and a mitigation (ATLAS AML.M0004)");
        SCHEMA = ("monitor/schema-violation", Medium,
            "A request does not match the model's inputs: unknown input, wrong dtype or shape, non-finite or out-of-range values (400)",
            "malformed tensors probe the runtime; the request is refused before inference");
        OVERSIZE = ("monitor/oversize-payload", Medium,
            "A request body is larger than the configured limit (413)",
            "oversized bodies are resource-intensive queries; the body is not read past the limit");
        OOD = ("monitor/out-of-distribution", Low,
            "A client varies inputs far from every baseline row: `detect.ood_rows` (3) of its last 128 rows each farther from its nearest baseline row than `detect.ood_distance` (2) times the largest such distance between baseline rows, and each a near duplicate of one of its earlier queries, in requests at least half made of such rows and showing a search's structure (L∞ steps, variants selected by their answers, finite differences, applied ablations: a search walking from an odd start spends its requests on it and walks; one odd input, one-off crops and tiles, a few look-alike odd inputs among a page of data, or frames of odd inputs varied without a search — a camera or a population the baseline does not hold — are not a pattern)",
            "inputs unlike anything normal (noise, garbage) are how many attacks start; look at the client's other signals");
        EXTRACTION = ("monitor/extraction", High,
            "A client's queries look like a synthetic extraction set: many inputs each queried in several near-duplicate variants (Jacobian-based augmentation, JbDA), or PRADA: the distances between its queries stop being normally distributed",
            "throttle or block the client, reduce output fidelity (top-1 label only), and review its volume");
        EXTRACTION_COVERAGE = ("monitor/extraction-coverage", Medium,
            "A client was answered for more different inputs in the window than `detect.extraction_distinct` (500): enough, on many models, to train a copy (an extraction warning after Kesarwani et al.: how much of the input space one client has covered, as a greedy covering of its queries by near-duplicate balls — a row within half a feature's spread of an earlier new input in all but 10 % of the features is not a new input, so re-sends, re-scans and re-renderings of one input count once, and on square one-channel images a row whose far features all lie in one window of at most half the side each way is an edit of one of the client's latest 16 new inputs (an occlusion or prediction-difference window, a patch), not a new one; noise copies of one image — fresh noise each time, as randomized smoothing sends — left out per run of up to 128 while the run's mean is a natural input: a data-free generator's rows differ by white noise too, around grey mush)",
            "a natural-data extraction looks like a busy client that keeps sending new inputs; give clients known to need more their own budget (`[clients.\"NAME\"] extraction_distinct`), and throttle the rest");
        PROBING = ("monitor/probing", High,
            "A query-based search: one client sent a row that is an L∞ step from one of its recent rows (one step up and down on many features, as Square, SimBA and sign-gradient attacks move; a step whose moves spread — by more than a sixteenth of the step where neither row is at its range's ends, or, on a number format's grid, by another number of levels than 0, half the step or the step — as two renderings of one thing differ, counts only with a second among the client's last 128 rows, as a learning-rate search keeps stepping; not inside a batch of masked copies of one input — every feature one of two values whose gaps are of many sizes, as an explainer switching parts of the input to a background sends — nor in the client's next 4 requests when every value is one of that batch's two for its feature: the explainer's last, smaller batches), or builds its new variants on the ones the model answered closer to the decision boundary (a search keeping what lowered the answer; `detect.selection_z`), or builds its batches mostly on the previous batch's candidate answered closest to the boundary (generations of a genetic or evolutionary search), or sends batches of white noise around a centre (each sample moving more than an eighth of the features: one input with one feature masked in each row is a backward selection's step, not a distribution's samples) that moves from batch to batch while the batches' answers fall, in level and step by step (a distribution search such as NATTACK or an evolution strategy), or sent finite-difference batches in 3 of its last 16 requests (12 or more rows that differ from another of the request's rows in one or two features by the request's one step h — h or 2h apart, as ZOO's x ± h·e_i are; an explainer masking features against a background changes each by whatever the feature and its replacement differ by — or pair with one around a third by white noise of the request's one size, as NES does (12 pairs: a pair counts at its second row) (a quasi-Monte Carlo design over masks puts its pairs at every distance from its centre) — or, 8 or more, are another of the request's rows plus white noise on at least half the features, of the request's one size and within a fiftieth of the baseline's median nearest-neighbour distance: forward differences x + μu, as ZO-AdaMM, ZO-signSGD and P-RGF take; a codec's, a sensor's or smoothing's noise on one image is far larger), or sent two batches of sparse forward differences among its last 16 requests whose points differ in at most a quarter of the features (8 or more rows each differing from one point of its request in 3 scattered features to an eighth of them, every other value the point's, within 0.06 of the baseline's median nearest-neighbour distance: x + μu over random sparse directions, as SZOHT takes; between the two the search moved its point — estimates around unrelated inputs do not move, and a masking explainer changes one connected region by whatever the mask differs by), or combines its one-feature probes by their answers (after a batch of rows each one feature off one input, inputs with 2 to 8 of the probes' changes at once made only of the lowest-answered quarter of them, far more often than chance would — nested sets, a deletion curve's, left out — as CornerSearch samples its best pixels; or a new probe batch centred exactly on such a combination of the lower half, as LocSearchAdv's greedy rounds are, or on the previous batch's lowest-answered probe, as EvoBA's generations are), or sends, in 3 of its last 8 requests (`detect.sparse_steps`), a row built alone in its request that differs in a few scattered features — at most an eighth of them, every other value the same — from its lowest-answered row of its last 16 requests, with that row's label, one such row built on another (a sparse search keeping the candidates that lowered the answer, as Sparse-RS, Pixle and BruSLeAttack replace a few pixels at a time; a drawing app's strokes are one connected run, an explainer's coalitions come with siblings in their request), or sends again exactly, on its own or among at most a quarter of the batch, within its next 16 requests, the variant the model answered closest to the boundary of a batch of one input's variants, for 2 batches, far more often than chance would (8 or more rows, half of them near duplicates of that variant; re-sending k of a batch's n rows without the answers includes it with chance k/n; one-sided z ≥ 4: differential evolution checking its best individual, as ART's PixelAttack and ThresholdAttack do, basin hopping re-evaluating its accepted point, as Adv-watermark does; a retry re-sends the whole batch, a backward selection such as sufficient input subsets most of it), or — with any of those, or batches of one input's variants straddling the boundary in two requests (12 or more variants in a request, every two of them near duplicates — 7 in 8 of the pairs: a search's samples around its current point, not many writers' renderings of one glyph, which chain, nor renderings of a few glyphs, a quarter of whose variants each repeat an earlier one of the batch, nearer to it than half their mean distance to the others — answered with exactly two labels: a search samples around a point between its class and one other, one font's different digits printed alike fall on three or more) — many distinct near-duplicate variants of one input or variants answered ever closer to the boundary (near duplicates are within half a feature's spread in all but 10 % of the features, so jitter does not hide them); across clients, many variants of an input few clients send, answered lower in the order sent",
            "block the clients involved; allow-list known benign optimisers (explainers, red teams) per client");
        BOUNDARY_WALK = ("monitor/boundary-walk", High,
            "A client walks the decision boundary: a confident answer flipped (a near duplicate of an earlier query that the model answered with a top-1 margin of at least `detect.flip_margin` (0.5) got another label — the moment an adversarial example is handed out; from the client's own queries, or another client's for inputs few clients send), or the client bisects between inputs answered differently (a chain of `detect.bisect_midpoints` (2) nested midpoints, each the midpoint of two of its last 32 rows with different labels and one of them an earlier midpoint, as HopSkipJump's binary search halves its gap, or DB3KD's 9 at once)",
            "an evasion attack is succeeding; `throttle` or `block` withholds this answer");
        HARVEST = ("monitor/output-harvesting", Low,
            "A client requests full score vectors at high volume",
            "score vectors make extraction and inversion cheap; return the label only where scores are not needed (ATLAS AML.M0002)");
        OVERLOAD = ("monitor/overload", Medium,
            "The server shed a request because it was at capacity (503)",
            "raise capacity or lower client limits; a flood may be a denial-of-service attempt");
        PROMPT_ATTACK = ("monitor/prompt-attack", High,
            "A prompt carries prompt-injection or jailbreak tells: instruction-override phrasing, jailbreak personas, requests for the hidden prompt, chat-template tokens, or obfuscation (Unicode tag or zero-width characters, homoglyphs, base64 payloads)",
            "a tier-1 screen (word patterns, microseconds): log by default, block where prompts are never expected to carry these; allow-list red teams");
        PROMPT_LEAK = ("monitor/prompt-leak", High,
            "An answer contains a canary string from the config: the system prompt (or another secret) is leaking",
            "the answer is withheld (block) or the stream is cut at the canary; review the client's prompts");
        COST = ("monitor/llm-cost-abuse", Medium,
            "An LLM request asks for more than the limits allow: max_tokens or n over the cap, a prompt past the context limit, or a client over its token budget for the window",
            "unbounded generation is cost harvesting and denial of service; the request is refused with 429");
        LOG_DROPPED = ("monitor/log-dropped", High,
            "Events were dropped because the event log could not keep up or could not write",
            "check the log's disk; in `always` durability no request is answered without its event");
        STATE_UNAVAILABLE = ("monitor/state-unavailable", High,
            "The shared client state (Redis) did not answer within `state.timeout_ms` or failed: under `fail-open` requests were answered under each replica's local limits only, under `fail-closed` refused (503)",
            "bring Redis back (replicas reconnect by themselves); until then global rate limits, budgets and blocks made elsewhere do not hold");
        INFERENCE_TIMEOUT = ("monitor/inference-timeout", Medium,
            "A run went past `server.inference_timeout` and was stopped (504)",
            "a runaway model (a Loop with a huge trip count, input-sized work) or an input crafted to make it one; the run is stopped and the server keeps answering");
        RESOURCE_LIMIT = ("monitor/resource-limit", Medium,
            "A request needed more than the server allows: output values or answer bytes over `server.max_response_bytes` (422), or model memory over `server.max_memory` (503)",
            "an output bomb (output size following the input) or a memory-hungry input; the request is refused before its answer is built");
        INFERENCE_ERROR = ("monitor/inference-error", Low,
            "The model failed on a request (500); the runtime's message is in the finding's evidence and never sent to the client",
            "inputs that make a model fail probe its runtime; look at the client's other requests");
        UPSTREAM_FAILURE = ("monitor/upstream-failure", Medium,
            "The upstream did not answer in time, could not be reached, or answered more than `server.max_response_bytes` (504 or 502; a stream is cut)",
            "check the upstream's health; an answer that grows without end or never comes ties up the proxy, which now stops waiting");
        CONNECTION_LIMIT = ("monitor/connection-limit", Medium,
            "A connection was refused or an idle one closed to make room: the server's connection cap (`server.max_connections`) or one address's (`server.max_connections_per_ip`) was reached",
            "a connection flood (slowloris with many sockets); caps sit below the file-descriptor limit so real requests keep being answered");
        SLOW_CLIENT = ("monitor/slow-client", Medium,
            "A client sent its request's headers or body too slowly (`server.header_timeout`, `server.body_timeout`): the connection is closed, or the request answered 408",
            "slowloris and slow-POST hold connections open with a trickle of bytes; each is cut at its deadline");
    }

    /// The MITRE ATLAS (v5.6.0) technique of each signal: (signal id, technique id, name).
    pub const ATLAS: &[(&str, &str, &str)] = &[
        (
            "monitor/auth-failed",
            "AML.T0040",
            "AI Model Inference API Access",
        ),
        (
            "monitor/rate-exceeded",
            "AML.T0034.000",
            "Excessive Queries",
        ),
        (
            "monitor/volume-budget",
            "AML.T0034.000",
            "Excessive Queries",
        ),
        (
            "monitor/schema-violation",
            "AML.T0034.001",
            "Resource-Intensive Queries",
        ),
        (
            "monitor/oversize-payload",
            "AML.T0034.001",
            "Resource-Intensive Queries",
        ),
        ("monitor/out-of-distribution", "AML.T0015", "Evade AI Model"),
        ("monitor/extraction", "AML.T0024.002", "Extract AI Model"),
        (
            "monitor/extraction-coverage",
            "AML.T0024.002",
            "Extract AI Model",
        ),
        ("monitor/probing", "AML.T0043.001", "Black-Box Optimization"),
        (
            "monitor/boundary-walk",
            "AML.T0043.001",
            "Black-Box Optimization",
        ),
        (
            "monitor/output-harvesting",
            "AML.T0063",
            "Discover AI Model Outputs",
        ),
        ("monitor/overload", "AML.T0029", "Denial of AI Service"),
        (
            "monitor/prompt-attack",
            "AML.T0051.000",
            "LLM Prompt Injection: Direct",
        ),
        (
            "monitor/prompt-leak",
            "AML.T0056",
            "Extract LLM System Prompt",
        ),
        (
            "monitor/llm-cost-abuse",
            "AML.T0034.001",
            "Resource-Intensive Queries",
        ),
        ("monitor/log-dropped", "AML.T0029", "Denial of AI Service"),
        (
            "monitor/state-unavailable",
            "AML.T0029",
            "Denial of AI Service",
        ),
        (
            "monitor/inference-timeout",
            "AML.T0029",
            "Denial of AI Service",
        ),
        (
            "monitor/resource-limit",
            "AML.T0034.001",
            "Resource-Intensive Queries",
        ),
        (
            "monitor/inference-error",
            "AML.T0034.001",
            "Resource-Intensive Queries",
        ),
        (
            "monitor/upstream-failure",
            "AML.T0029",
            "Denial of AI Service",
        ),
        (
            "monitor/connection-limit",
            "AML.T0029",
            "Denial of AI Service",
        ),
        ("monitor/slow-client", "AML.T0029", "Denial of AI Service"),
    ];

    /// The ATLAS technique (id, name) of a signal.
    pub fn atlas(id: &str) -> Option<(&'static str, &'static str)> {
        ATLAS.iter().find(|a| a.0 == id).map(|a| (a.1, a.2))
    }
}

/// What `modelsec log verify` reports.
pub mod log {
    use crate::report::{Rule, Severity};

    crate::rule_catalogue! {
        LOG_EDITED = ("log/line-edited", Critical,
            "A line's hash does not match its content: the event was edited after it was written",
            "treat the log after this point as untrusted; restore it from a copy shipped elsewhere");
        LOG_CHAIN_BROKEN = ("log/chain-broken", Critical,
            "The hash chain breaks here: lines were deleted, inserted, reordered or replaced (or rotated files are missing or out of order)",
            "give every file in order (`<log>.* <log>`); otherwise the log was tampered with");
        LOG_MALFORMED = ("log/malformed-line", High,
            "A line is not a modelsec event (no trailing hash, not JSON, wrong schema)",
            "the file was edited or is not an event log");
        LOG_UNREADABLE = ("log/unreadable", High,
            "A log file could not be read",
            "check the path and permissions; an unreadable log is not a verified one");
        LOG_STARTS_MID_CHAIN = ("log/starts-mid-chain", High,
            "The chain does not start at its genesis record (seq 0): its oldest events are missing — lines or rotated files deleted, or not given",
            "give every rotated file (`<log>.* <log>`); if retention deleted old files, this is expected and says exactly how many events are gone");
        LOG_NO_GENESIS = ("log/no-genesis", Medium,
            "The chain starts at seq 0 but its first event is not a genesis record: written by an older modelsec, or rewritten from its start",
            "logs written since modelsec recorded a genesis begin with one; compare with a copy shipped elsewhere");
        LOG_EMPTY = ("log/empty", High,
            "A log (or every log given) has no events, although every writer begins its log with a genesis record",
            "an emptied log verifies nothing; restore it from a copy shipped elsewhere (the SIEM export)");
        LOG_CHECKPOINT_INVALID = ("log/checkpoint-invalid", Critical,
            "A checkpoint does not vouch for the chain: its signature does not verify with the given key (edited, forged, or signed with another key), or it signs a head that is not the line before it",
            "the log was rewritten; trust it only up to the last valid checkpoint, and compare with the SIEM's copy");
        LOG_UNSIGNED = ("log/unsigned", High,
            "`--key` was given but the chain has no checkpoint: nothing tells the log from a re-hashed forgery",
            "set `[log] checkpoint_key` on the writer (a key from `modelsec keygen`) so that it signs the chain head");
        LOG_TAIL_UNSIGNED = ("log/tail-unsigned", High,
            "More events follow the last checkpoint than the writer leaves unsigned: later checkpoints were removed and the tail rewritten",
            "the events after the last checkpoint are not vouched for; compare them with the SIEM's copy");
        LOG_TAIL_CUT = ("log/tail-cut", Medium,
            "The log ends without its writer's closing checkpoint, and no checkpoint came within two intervals: the tail was cut, or the writer was killed or crashed",
            "if the writer did not crash at that time, events after the last checkpoint were deleted; the SIEM's copy has them");
        LOG_TAIL_OPEN = ("log/tail-open", Info,
            "The log is open: events after its last checkpoint (within the checkpoint interval) are not signed yet",
            "verify again after the next checkpoint, or after the writer stops (it signs a closing checkpoint)");
        LOG_FINDINGS_CAPPED = ("log/findings-capped", Info,
            "More findings than are listed: the rest were counted, not listed",
            "fix or remove the first broken file and verify again");
        LOG_PARTIAL_TAIL = ("log/partial-tail", Info,
            "The file ends in part of a line: a write cut short by a crash",
            "expected after a crash; the complete lines before it verify, and the writer continues the chain in a new file");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_signal_has_an_atlas_technique() {
        for r in super::signals::ALL {
            assert!(super::signals::atlas(r.id).is_some(), "{}", r.id);
        }
    }
}
