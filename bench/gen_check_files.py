#!/usr/bin/env python3
"""Generate N model-serving Kubernetes manifests (Deployment + Service per file) for the check
benchmark, seeded and deterministic: ~40% hardened, ~60% with assorted insecure settings, the
AI-specific ones included (remote code without a pinned revision, OLLAMA_HOST=0.0.0.0, public
Services to model ports, literal hub tokens). Writes OUT/manifest.json with the ground truth.

Usage: bench/gen_check_files.py OUT N
"""
import json
import os
import random
import sys

out, n = sys.argv[1], int(sys.argv[2])
os.makedirs(out, exist_ok=True)
rng = random.Random(20261123)
SERVERS = [
    ("vllm", "vllm/vllm-openai:v0.9.1", 8000, ["--model", "Qwen/Qwen2.5-7B-Instruct"]),
    ("tgi", "ghcr.io/huggingface/text-generation-inference:3.3.4", 80, ["--model-id", "HuggingFaceH4/zephyr-7b-beta"]),
    ("torchserve", "pytorch/torchserve:0.12.0-cpu", 8080, ["torchserve", "--start", "--model-store", "/models"]),
    ("triton", "nvcr.io/nvidia/tritonserver:25.01-py3", 8000, ["tritonserver", "--model-repository=/models"]),
    ("ollama", "ollama/ollama:0.6.2", 11434, ["serve"]),
]
DIGEST = "@sha256:" + "ab" * 32
truth = {"files": n, "hardened": 0, "remote_code_unpinned": 0, "ollama_host_all": 0,
         "exposed_services": 0, "plaintext_tokens": 0, "root_pods": 0}


def q(s):
    return json.dumps(s)


for i in range(n):
    name, image, port, args = rng.choice(SERVERS)
    hardened = rng.random() < 0.4
    env = []
    args = list(args)
    svc_type = "ClusterIP"
    if hardened:
        truth["hardened"] += 1
        image += DIGEST
        key = {"vllm": "VLLM_API_KEY", "tgi": "API_KEY"}.get(name)
        if key:
            env.append(f"        - name: {key}\n          valueFrom: {{secretKeyRef: {{name: {name}-key, key: key}}}}")
        sec = ("      securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: RuntimeDefault}}\n"
               "      automountServiceAccountToken: false\n")
        csec = ("          securityContext:\n            allowPrivilegeEscalation: false\n"
                "            readOnlyRootFilesystem: true\n            capabilities: {drop: [ALL]}\n"
                "          resources: {limits: {cpu: \"4\", memory: 16Gi}}\n")
    else:
        truth["root_pods"] += 1
        sec = ""
        csec = "          resources: {requests: {cpu: \"2\"}}\n" if rng.random() < 0.5 else ""
        if name in ("vllm", "tgi") and rng.random() < 0.6:
            args.append("--trust-remote-code")
            env.append("        - {name: TRUST_REMOTE_CODE, value: \"true\"}")
            truth["remote_code_unpinned"] += 1
        if name == "ollama":
            env.append("        - {name: OLLAMA_HOST, value: \"0.0.0.0\"}")
            truth["ollama_host_all"] += 1
        if rng.random() < 0.4:
            svc_type = rng.choice(["LoadBalancer", "NodePort"])
            truth["exposed_services"] += 1
        if rng.random() < 0.3:
            token = "hf_" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGH0123456789") for _ in range(34))
            env.append(f"        - {{name: HF_TOKEN, value: {token}}}")
            truth["plaintext_tokens"] += 1
    env_block = ("          env:\n" + "\n".join("  " + line for e in env for line in e.split("\n")) + "\n") if env else ""
    doc = f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}-{i}
  namespace: ml
  labels: {{app: {name}-{i}}}
spec:
  replicas: 1
  selector:
    matchLabels: {{app: {name}-{i}}}
  template:
    metadata:
      labels: {{app: {name}-{i}}}
    spec:
{sec}      containers:
        - name: {name}
          image: {image}
          args: {q(args)}
          ports:
            - containerPort: {port}
{env_block}{csec}---
apiVersion: v1
kind: Service
metadata:
  name: {name}-{i}
  namespace: ml
spec:
  type: {svc_type}
  selector: {{app: {name}-{i}}}
  ports:
    - port: 80
      targetPort: {port}
"""
    with open(os.path.join(out, f"serving-{i:05d}.yaml"), "w") as f:
        f.write(doc)
with open(os.path.join(out, "manifest.json"), "w") as f:
    json.dump(truth, f, indent=1)
print(json.dumps(truth))
