#!/usr/bin/env python3
"""Helpers of bench/field/check.sh (the field benchmark of `modelsec check`).

  field.py materialise SPLIT   put the split's upstream files into .local/field/check/SPLIT/
                               (owner/repo/path layout) and write manifest.tsv there
  field.py yaml-valid SPLIT    which materialised YAML files a standard loader (PyYAML) accepts
  field.py report SPLIT MODELSEC_JSON CHECKOV_JSON MODELSEC_SECONDS CHECKOV_SECONDS
                               the tables: findings, parse errors (and on valid YAML), time,
                               precision against bench/field/check-labels.tsv, recall over
                               bench/field/check-expected.tsv
  field.py unlabelled SPLIT MODELSEC_JSON
                               failing modelsec findings without a label (to judge next)
  field.py findings SPLIT MODELSEC_JSON [CHECKOV_JSON]
                               every finding as TSV (tool, source, line, rule, severity, message),
                               the list a labeller works from

Sources come, in this order, from: a blobless clone under .local/field/clones/ (made when
GitHub answers; FIELD_OFFLINE=1 skips the probe), the snapshot under $MIRROR (/work/.mirror,
read with `git show commit:path`), or the copy under .local/field/index/ of a file read through
the code index. A file found nowhere is reported and left out of the run.
"""
import collections
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LOCAL = os.path.join(ROOT, ".local", "field")
CACHE = os.path.join(LOCAL, "check")
CLONES = os.path.join(LOCAL, "clones")
INDEX = os.path.join(LOCAL, "index")
MIRROR = os.environ.get("MIRROR", "/work/.mirror")
SOURCES = os.path.join(HERE, "check-sources.txt")
LABELS = os.path.join(HERE, "check-labels.tsv")
EXPECTED = os.path.join(HERE, "check-expected.tsv")

sys.path.insert(0, HERE)
from select_sources import md_yaml_blocks  # noqa: E402


def splits_of(split):
    return ["dev", "heldout"] if split == "all" else [split]


def read_sources(split):
    rows = []
    for line in open(SOURCES):
        if line.startswith("#") or not line.strip():
            continue
        s, origin, src = line.rstrip("\n").split("\t")
        if s in splits_of(split):
            rows.append((s, origin, src))
    return rows


def parse_src(src):
    repo, rest = src.split("@", 1)
    commit, path = rest.split(":", 1)
    block = None
    if "#block" in path:
        path, b = path.split("#block")
        block = int(b)
    return repo, commit, path, block


def git(*args, **kw):
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0")
    return subprocess.run(["git", *args], capture_output=True, env=env, **kw)


def online():
    if os.environ.get("FIELD_OFFLINE") == "1":
        return False
    try:
        r = subprocess.run(["git", "ls-remote", "https://github.com/kubernetes-sigs/lws", "HEAD"],
                           capture_output=True, timeout=15)
        return r.returncode == 0
    except (subprocess.TimeoutExpired, OSError):
        return False


def from_clone(repo, commit, path):
    d = os.path.join(CLONES, repo.replace("/", "+") + ".git")
    if not os.path.isdir(d):
        r = git("clone", "--quiet", "--bare", "--filter=blob:none", f"https://github.com/{repo}", d)
        if r.returncode:
            return None
    if git("--git-dir", d, "cat-file", "-e", f"{commit}^{{commit}}").returncode:
        git("--git-dir", d, "fetch", "--quiet", "--filter=blob:none", "origin", commit)
    r = git("--git-dir", d, "show", f"{commit}:{path}")
    return r.stdout if r.returncode == 0 else None


def from_mirror(repo, commit, path):
    d = os.path.join(MIRROR, repo.replace("/", "+"), "repo")
    if os.path.isdir(os.path.join(d, ".git")):
        d = os.path.join(d, ".git")
    if not os.path.isdir(d):
        return None
    r = git("--git-dir", d, "show", f"{commit}:{path}")
    return r.stdout if r.returncode == 0 else None


def from_index(repo, commit, path):
    f = os.path.join(INDEX, repo.replace("/", "+"), commit, path)
    return open(f, "rb").read() if os.path.isfile(f) else None


def materialise(split):
    net = online()
    print(f"sources: {'git clone (GitHub reachable)' if net else 'offline: local mirror / index copies'}", file=sys.stderr)
    for s in splits_of(split):
        base = os.path.join(CACHE, s)
        subprocess.run(["rm", "-rf", base])
        os.makedirs(base)
        man = []
        missing = 0
        for _, origin, src in read_sources(s):
            repo, commit, path, block = parse_src(src)
            data, used = None, None
            for name, fn in (("clone", from_clone if net else None), ("mirror", from_mirror), ("index", from_index)):
                if fn is None:
                    continue
                data = fn(repo, commit, path)
                if data is not None:
                    used = name
                    break
            if data is None:
                print(f"  missing: {src}", file=sys.stderr)
                missing += 1
                continue
            rel = os.path.join(repo, path)
            if block is not None:
                blocks = md_yaml_blocks(data.decode())
                data = blocks[block - 1].encode()
                rel = f"{rel}.block{block}.yaml"
            out = os.path.join(base, rel)
            os.makedirs(os.path.dirname(out), exist_ok=True)
            open(out, "wb").write(data)
            man.append((out, src, used))
        with open(os.path.join(base, "manifest.tsv"), "w") as f:
            for row in man:
                f.write("\t".join(row) + "\n")
        c = collections.Counter(u for _, _, u in man)
        print(f"  {s}: {len(man)} files ({', '.join(f'{v} from {k}' for k, v in sorted(c.items()))})"
              + (f", {missing} missing" if missing else ""), file=sys.stderr)


def manifest(split):
    m = {}
    for s in splits_of(split):
        for line in open(os.path.join(CACHE, s, "manifest.tsv")):
            path, src, used = line.rstrip("\n").split("\t")
            m[path] = src
    return m


def is_yaml(path):
    return path.endswith((".yaml", ".yml"))


def yaml_valid(split):
    """path -> (True, '') | (False, reason) for every YAML file; PyYAML's safe loader, all documents."""
    import yaml
    out = {}
    for path in manifest(split):
        if not is_yaml(path):
            continue
        try:
            list(yaml.safe_load_all(open(path, encoding="utf-8-sig")))
            out[path] = (True, "")
        except Exception as e:  # noqa: BLE001 - any loader error means "not valid YAML"
            out[path] = (False, str(e).split("\n")[0])
    return out


def modelsec_findings(path_json, man):
    v = json.load(open(path_json))
    rows = []
    for f in v["findings"]:
        loc = f.get("location") or {}
        p = loc.get("path", "")
        src = man.get(p) or man.get(os.path.abspath(p)) or p
        rows.append({"tool": "modelsec", "source": src, "line": int(loc.get("line") or 0), "rule": f["rule_id"],
                     "severity": f.get("severity", ""), "suppressed": bool(f.get("suppressed")),
                     "message": f.get("message", "")})
    return rows, v.get("facts", {})


def checkov_findings(path_json, man):
    if not path_json or not os.path.isfile(path_json) or os.path.getsize(path_json) == 0:
        return [], {"parsing_errors": [], "files": set()}
    v = json.load(open(path_json))
    v = v if isinstance(v, list) else [v]
    rows, perr, files = [], [], set()
    for rep in v:
        res = rep.get("results", {})
        for kind in ("failed_checks", "passed_checks", "skipped_checks"):
            for f in res.get(kind, []):
                p = f.get("file_abs_path") or f.get("file_path")
                src = man.get(p, p)
                files.add(src)
                if kind != "failed_checks":
                    continue
                lr = f.get("file_line_range") or [0, 0]
                rows.append({"tool": "checkov", "source": src, "line": int(lr[0]), "line_end": int(lr[1]),
                             "rule": f["check_id"], "severity": f.get("severity") or "",
                             "suppressed": False, "message": f.get("check_name", ""),
                             "check_type": rep.get("check_type")})
        for p in res.get("parsing_errors", []):
            perr.append(man.get(p, p))
    return rows, {"parsing_errors": perr, "files": files}


def read_tsv(path):
    if not os.path.isfile(path):
        return []
    lines = [l.rstrip("\n") for l in open(path) if l.strip() and not l.startswith("#")]
    head = lines[0].split("\t")
    return [dict(zip(head, l.split("\t"))) for l in lines[1:]]


def pct(a, b):
    return f"{100 * a / b:.0f} %" if b else "—"


def report(split, mjson, cjson, msec, csec):
    man = manifest(split)
    inv = {v: k for k, v in man.items()}
    valid = yaml_valid(split)
    mrows, facts = modelsec_findings(mjson, man)
    crows, cinfo = checkov_findings(cjson, man)
    n_files = len(man)
    n_yaml = len(valid)
    n_valid = sum(1 for ok, _ in valid.values() if ok)

    m_fail = [r for r in mrows if r["severity"] != "info" and not r["suppressed"] and r["rule"] != "check/parse-error"]
    m_info = [r for r in mrows if r["severity"] == "info"]
    m_supp = [r for r in mrows if r["suppressed"]]
    m_perr = [r for r in mrows if r["rule"] == "check/parse-error"]
    m_perr_files = sorted({r["source"] for r in m_perr})
    m_perr_valid = [s for s in m_perr_files if valid.get(inv.get(s), (False,))[0]]
    c_perr = sorted(set(cinfo["parsing_errors"]))
    c_perr_valid = [s for s in c_perr if valid.get(inv.get(s), (False,))[0]]
    invalid_yaml = sorted(man[p] for p, (ok, _) in valid.items() if not ok)
    c_silent = [s for s in invalid_yaml if s not in cinfo["files"] and s not in c_perr]

    labels = read_tsv(LABELS)
    expected = read_tsv(EXPECTED)

    def precision(tool, rows):
        lab = {(l["source"], int(l["line"]), l["rule"]): l["verdict"] for l in labels if l["tool"] == tool}
        present = collections.Counter()
        per_rule = collections.defaultdict(collections.Counter)
        seen = set()
        for r in rows:
            k = (r["source"], r["line"], r["rule"])
            if k in lab and k not in seen:
                seen.add(k)
                present[lab[k]] += 1
                per_rule[r["rule"]][lab[k]] += 1
        n = sum(present.values())
        right, wline = present["right"], present["wrong-line"]
        # estimate over all findings: each rule's labelled precision weighted by its count
        count = collections.Counter(r["rule"] for r in rows)
        covered = sum(count[r] for r in per_rule)
        est = sum(count[r] * per_rule[r]["right"] / sum(per_rule[r].values()) for r in per_rule)
        gone = len([k for k in lab if k not in seen and k[0] in man.values()])
        return n, right, wline, est, covered, gone, per_rule

    NEAR = 3  # "near": the expected rule within NEAR lines of the expected line, same file

    m_wrong = {(l["source"], int(l["line"]), l["rule"]) for l in labels if l["tool"] == "modelsec" and l["verdict"] == "wrong"}

    def m_hits(e):
        """modelsec findings of the expected rule in the file, leaving out any labelled wrong
        (a finding judged false does not find the risk next to it)"""
        rules = set(e["rule"].split(","))
        return [r for r in mrows if r["source"] == e["source"] and r["rule"] in rules and not r["suppressed"]
                and (r["source"], r["line"], r["rule"]) not in m_wrong]

    def recall_modelsec():
        hit_line = hit_near = 0
        for e in expected:
            same = m_hits(e)
            hit_line += any(r["line"] == int(e["line"]) for r in same)
            hit_near += any(abs(r["line"] - int(e["line"])) <= NEAR for r in same)
        return hit_line, hit_near

    def recall_checkov():
        hit_line = 0
        for e in expected:
            ids = set(x for x in e.get("checkov", "-").split(",") if x and x != "-")
            same = [r for r in crows if r["source"] == e["source"]
                    and any(r["rule"] == i or (i.endswith("*") and r["rule"].startswith(i[:-1])) for i in ids)]
            if any(r["line"] <= int(e["line"]) <= r["line_end"] for r in same):
                hit_line += 1
        return hit_line, hit_line

    exp_in = [e for e in expected if e["source"] in man.values()]
    expected[:] = exp_in
    mp = precision("modelsec", m_fail)
    cp = precision("checkov", crows)
    mr, cr = recall_modelsec(), recall_checkov()
    m_files = facts.get("files_checked", "?")

    print(f"## `check` field benchmark — split: {split} ({n_files} files, "
          f"{len({s.split('@')[0] for s in man.values()})} projects; {n_yaml} YAML files, {n_valid} valid YAML per PyYAML)")
    print()
    print("| | modelsec | Checkov 3.3.30 |")
    print("|---|---|---|")
    print(f"| files processed | {m_files} checked ({facts.get('files_unrecognised', 0)} unrecognised) | "
          f"{len(cinfo['files'])} with a result |")
    print(f"| findings (failing; info and suppressed apart) | {len(m_fail)} (+{len(m_info)} info, {len(m_supp)} suppressed) | {len(crows)} |")
    print(f"| AI-serving findings | {sum(1 for r in m_fail if not r['rule'].startswith(('k8s/', 'supply-chain/', 'compose/', 'secrets/', 'check/')))} | 0 (no such checks) |")
    print(f"| parse errors (files) | {len(m_perr_files)}, **{len(m_perr_valid)} on valid YAML** | {len(c_perr)}, {len(c_perr_valid)} on valid YAML; "
          f"{len(c_silent)} invalid-YAML files skipped silently |")
    print(f"| time for all files | {msec * 1000:.0f} ms | {csec:.1f} s |")
    print(f"| precision, labelled sample, parse errors apart (right rule, right line) | {pct(mp[1], mp[0])} of {mp[0]} | {pct(cp[1], cp[0])} of {cp[0]} |")
    print(f"| precision, labelled sample (right rule, any line) | {pct(mp[1] + mp[2], mp[0])} | {pct(cp[1] + cp[2], cp[0])} |")
    print(f"| estimated precision over all findings (per-rule precision × count; rules with labels cover) | "
          f"{pct(mp[3], mp[4])} ({mp[4]} of {len(m_fail)}) | {pct(cp[3], cp[4])} ({cp[4]} of {len(crows)}) |")
    print(f"| recall over expected risks (right rule at the line / within 3 lines; Checkov: its resource range holds the line) | {mr[0]}/{len(expected)} = {pct(mr[0], len(expected))} / "
          f"{mr[1]}/{len(expected)} = {pct(mr[1], len(expected))} | {cr[0]}/{len(expected)} = {pct(cr[0], len(expected))} |")
    nl = len(unlabelled(split, mjson))
    if nl:
        print(f"\n**{nl} modelsec findings are not labelled yet** (precision above counts labelled ones only): "
              f"bench/field/field.py unlabelled {split} {mjson}")
    if mp[5] or cp[5]:
        print(f"\nlabelled findings no longer reported: modelsec {mp[5]}, Checkov {cp[5]}")
    print()
    print("modelsec findings by rule (failing): " + ", ".join(f"{k} {v}" for k, v in collections.Counter(r['rule'] for r in m_fail).most_common()))
    print()
    print("Checkov findings by check (top 12): " + ", ".join(f"{k} {v}" for k, v in collections.Counter(r['rule'] for r in crows).most_common(12)))
    print()
    print("modelsec precision by rule (labelled: right / wrong line / wrong):")
    for rule, c in sorted(mp[6].items()):
        print(f"  {rule}: {c['right']} / {c['wrong-line']} / {c['wrong']}")
    print()
    print("modelsec parse errors:")
    for s in m_perr_files:
        ok, why = valid.get(inv.get(s), (None, "not YAML"))
        msg = next(r["message"] for r in m_perr if r["source"] == s)
        print(f"  {'VALID YAML' if ok else 'invalid YAML' if ok is False else 'not YAML'}: {s}\n      modelsec: {msg[:160]}"
              + (f"\n      PyYAML: {why[:120]}" if ok is False else ""))
    if c_perr:
        print("Checkov parse errors:")
        for s in c_perr:
            print(f"  {'VALID YAML' if valid.get(inv.get(s), (False,))[0] else 'invalid/not YAML'}: {s}")
    if c_silent:
        print("invalid YAML Checkov skipped without a word:")
        for s in c_silent:
            print(f"  {s}")
    missed = []
    for e in expected:
        if not any(abs(r["line"] - int(e["line"])) <= NEAR for r in m_hits(e)):
            missed.append(e)
    print(f"\nexpected risks modelsec misses ({len(missed)} of {len(expected)}):")
    for e in missed:
        print(f"  {e['source'].split('@')[0]} {e['source'].split(':', 1)[1]}:{e['line']}  {e['rule']} — {e['description']}")


def unlabelled(split, mjson):
    """failing modelsec findings with no label yet: what a labeller has to judge next"""
    man = manifest(split)
    rows, _ = modelsec_findings(mjson, man)
    lab = {(l["source"], int(l["line"]), l["rule"]) for l in read_tsv(LABELS) if l["tool"] == "modelsec"}
    out = []
    for r in rows:
        if r["severity"] == "info" or r["suppressed"] or r["rule"] == "check/parse-error":
            continue
        if (r["source"], r["line"], r["rule"]) not in lab:
            out.append(r)
    return out


def findings(split, mjson, cjson=None):
    man = manifest(split)
    rows, _ = modelsec_findings(mjson, man)
    crows, _ = checkov_findings(cjson, man) if cjson else ([], None)
    print("tool\tsource\tline\trule\tseverity\tmessage")
    for r in rows + crows:
        print(f"{r['tool']}\t{r['source']}\t{r['line']}\t{r['rule']}\t{r['severity']}\t{r['message'][:200]}")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "materialise":
        materialise(sys.argv[2])
    elif cmd == "yaml-valid":
        for p, (ok, why) in sorted(yaml_valid(sys.argv[2]).items()):
            print(f"{'valid' if ok else 'INVALID'}\t{p}\t{why}")
    elif cmd == "files":
        for p in manifest(sys.argv[2]):
            print(p)
    elif cmd == "report":
        report(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]), float(sys.argv[6]))
    elif cmd == "unlabelled":
        for r in unlabelled(sys.argv[2], sys.argv[3]):
            print(f"{r['source']}\t{r['line']}\t{r['rule']}\t{r['severity']}\t{r['message'][:220]}")
    elif cmd == "findings":
        findings(*sys.argv[2:])
    else:
        sys.exit(__doc__)
