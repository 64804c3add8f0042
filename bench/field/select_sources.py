#!/usr/bin/env python3
"""Build bench/field/check-sources.txt: the upstream deployment configs the field benchmark of
`modelsec check` measures on, each as owner/repo@commit:path, split into dev and held-out by
project (seeded).

How files were chosen (written down so the list can be rebuilt, not cherry-picked by result):
  * per project, a fixed set of include patterns over the project's tree at the snapshot commit
    (deployment configs only: Kubernetes/KServe/KubeRay/LWS/Seldon manifests, Helm values and a
    few Helm templates, compose files, .env files, Dockerfiles, TorchServe config.properties,
    MLflow INI);
  * a pool bigger than its cap is sampled with random.Random(SEED + project) after sorting;
  * "pinned" files are always taken: they are the files issue 19 quotes (the flow sequence in
    vLLM's Kubernetes guide, KubeRay's custom head Service and DenyAll network policy, MLflow's
    compose and env file …), so the benchmark keeps measuring those patterns;
  * projects too big to snapshot here (vllm-project/vllm, open-webui/open-webui, mlflow/mlflow)
    were read file by file through the code index (origin "index"); their commit is the one the
    index stores for that file (commits differ per file);
  * Markdown guides contribute their YAML code blocks (```yaml fences, and `cat <<EOF` heredocs in
    bash fences), one file per block, written as path#blockN.

The split is by project: projects are shuffled with random.Random(SEED) and given to dev until
dev holds about 2/3 of the files; the rest is held out. It was made before any result was looked
at and is recorded in the output.

Usage: bench/field/select_sources.py > bench/field/check-sources.txt
(needs the snapshots under /work/.mirror and the index copies under .local/field/index)
"""
import fnmatch
import os
import random
import re
import subprocess
import sys

SEED = 19
MIRROR = os.environ.get("MIRROR", "/work/.mirror")
INDEX = os.path.join(os.path.dirname(__file__), "..", "..", ".local", "field", "index")

# project -> (include globs, cap for the sampled part, pinned paths)
MIRRORED = {
    "vllm-project/production-stack": (
        ["helm/values.yaml", "helm/values-example.yaml", "tutorials/assets/values-*.yaml",
         "examples/disaggregated_prefill_orchestrated/*.yaml", "examples/disaggregated_prefill/*.yaml",
         "operator/config/samples/production-stack_v1alpha1_*.yaml", "docker/Dockerfile*",
         "helm/templates/deployment-vllm-multi.yaml", "helm/templates/deployment-router.yaml",
         "helm/templates/ray-cluster.yaml"],
        26, ["helm/values.yaml", "tutorials/assets/values-11-secure-vllm.yaml",
             "tutorials/assets/values-13-tool-enabled.yaml", "docker/Dockerfile.sidecar"]),
    "kserve/kserve": (
        ["config/runtimes/kserve-*.yaml", "docs/samples/v1beta1/*/*.yaml", "docs/samples/v1beta1/*/*/*.yaml",
         "docs/samples/llmisvc/*/*.yaml", "docs/samples/storage/*/*.yaml", "docs/samples/logger/*/*.yaml"],
        30, ["config/runtimes/kserve-sklearnserver.yaml", "config/runtimes/kserve-torchserve.yaml",
             "config/runtimes/kserve-huggingfaceserver.yaml"]),
    "ray-project/kuberay": (
        ["ray-operator/config/samples/ray-cluster*.yaml", "ray-operator/config/samples/ray-service*.yaml",
         "ray-operator/config/samples/ray-job*.yaml"],
        20, ["ray-operator/config/samples/ray-cluster.custom-head-service.yaml",
             "ray-operator/config/samples/ray-cluster.network-policy-deny-all.yaml",
             "ray-operator/config/samples/ray-cluster.auth.yaml",
             "ray-operator/config/samples/ray-service.llm-serve.yaml"]),
    "triton-inference-server/server": (
        ["deploy/*/values.yaml", "deploy/*/templates/deployment.yaml", "deploy/*/templates/service.yaml",
         "deploy/gke-marketplace-app/server-deployer/chart/triton/values.yaml",
         "deploy/gke-marketplace-app/server-deployer/chart/triton/templates/deployment.yaml",
         "deploy/gke-marketplace-app/server-deployer/Dockerfile"],
        18, []),
    "pytorch/serve": (
        ["docker/Dockerfile", "docker/Dockerfile.vllm", "docker/config.properties", "kubernetes/*/config.properties",
         "kubernetes/tests/docker/config.properties", "kubernetes/Helm/values.yaml",
         "kubernetes/Helm/templates/torchserve.yaml", "kubernetes/kserve/reference_yaml/torchserve-deployment/*/*.yaml",
         "kubernetes/kserve/tests/configs/*.yaml", "kubernetes/examples/mnist/*.yaml", "kubernetes/GKE/templates/pod.yaml",
         "kubernetes/AKS/templates/model_store_pod.yaml", "kubernetes/kserve/Dockerfile",
         "kubernetes/kserve/examples/gpt_fast/llama2_v1_gpu.yaml"],
        22, ["docker/config.properties", "kubernetes/kserve/config.properties"]),
    "huggingface/text-generation-inference": (["Dockerfile*"], 8, []),
    "otwld/ollama-helm": (
        ["values.yaml", "ci/*.yaml", "templates/deployment.yaml", "templates/service.yaml",
         "templates/knative/service.yaml"], 8, []),
    "open-webui/helm-charts": (
        ["charts/*/values.yaml", "charts/open-webui/values-*.yaml", "charts/pipelines/templates/deployment.yaml",
         "charts/open-webui/templates/workload-manager.yaml"], 8, []),
    "jupyterhub/zero-to-jupyterhub-k8s": (
        ["jupyterhub/values.yaml", "dev-config*.yaml", "ci/test-hub-existing-secret.yaml", "images/*/Dockerfile",
         "jupyterhub/templates/hub/deployment.yaml", "jupyterhub/templates/proxy/deployment.yaml",
         "jupyterhub/templates/singleuser/netpol.yaml"], 14, []),
    "jupyter/docker-stacks": (
        ["images/*/Dockerfile", "images/*/*/Dockerfile", "examples/docker-compose/notebook/*.yml",
         "images/base-notebook/jupyter_server_config.py"], 12,
        ["images/base-notebook/jupyter_server_config.py", "images/base-notebook/Dockerfile"]),
    "SeldonIO/seldon-core": (
        ["samples/servers/*.yaml", "samples/auth/*.yaml", "samples/models/*.yaml", "samples/examples/k8s-pvc/*.yaml",
         "k8s/helm-charts/*/values.yaml", "scheduler/all-*.yaml", "scheduler/env.all", "scheduler/Dockerfile.*"],
        22, ["samples/auth/minio-secret.yaml", "scheduler/all-base.yaml", "scheduler/env.all"]),
    "mudler/LocalAI": (
        ["docker-compose*.yaml", ".env", "Dockerfile", "docs/docker-compose.yaml", "website/static/install/kubernetes.yaml",
         ".devcontainer/docker-compose-devcontainer.yml"], 8, []),
    "NVIDIA/nim-deploy": (
        ["kserve/nim-models/*.yaml", "kserve/runtimes/*.yaml", "kserve/scripts/*.yaml", "kserve/scripts/secrets.env",
         "cloud-service-providers/nvidia/nvcf/docker-compose.yml", "cloud-service-providers/nvidia/nvcf/.env",
         "cloud-service-providers/nvidia/nvcf/Dockerfile", "cloud-service-providers/aws/eks/storage/*.yaml",
         "cloud-service-providers/oracle/oke/values.yaml", "cloud-service-providers/azure/workshops/aks-pvc-nim/.env",
         "cloud-service-providers/aws/sagemaker/Dockerfile"], 18,
        ["kserve/scripts/nvidia-nim-secrets.yaml", "kserve/scripts/secrets.env"]),
    "kubernetes-sigs/lws": (
        ["docs/examples/*/lws.yaml", "docs/examples/*/*/lws.yaml", "config/samples/leaderworkerset_v1_leaderworkerset.yaml"],
        8, ["docs/examples/vllm/GPU/lws.yaml"]),
    "ollama/ollama": (["Dockerfile"], 1, []),
    "huggingface/text-embeddings-inference": (["Dockerfile", "Dockerfile-cuda", "Dockerfile-cuda-all", "Dockerfile-intel"], 4, []),
    "predibase/lorax": (["Dockerfile", "charts/lorax/values.yaml", "charts/lorax/templates/deployment.yaml",
                         "charts/lorax/templates/service.yaml"], 4, []),
}
# project -> [(commit, path)] read through the code index (files too big a repo to snapshot)
INDEXED = {
    "vllm-project/vllm": [
        ("07b3dbf3a5dc86a5caaf71b512fb1b3af07e5e37", "docs/deployment/k8s.md"),
        ("0faff0573f752e5c2349f3389c4e32ef494c46ba", "docs/deployment/frameworks/lws.md"),
        ("466716c2bb5f3d191eeaf25459ec6c3bb09f11d7", "examples/online_serving/chart-helm/values.yaml"),
        ("e5fd201ab77b993462f5b1cc3e55c74dc74bed95", "examples/online_serving/prometheus_grafana/docker-compose.yaml"),
        ("cf6f12c20b258469cb45d5d0f2fe3edb110aed43", "examples/online_serving/prometheus_grafana/k8s-monitoring/vllm-deployment.yaml"),
    ],
    "open-webui/open-webui": [
        ("f741adc6c952fc5db1ff62c6af770d77c82a0aba", "docker-compose.yaml"),
        ("6460aacb1e20c8870235ceaae3472d0cfb4ff232", "docker-compose.api.yaml"),
        ("3f4eb6caa2ce32d999716c7924aff840a6b651b9", "docker-compose.gpu.yaml"),
        ("83a051190763fc198b524ee19dfbcf5e1e41182b", ".env.example"),
        ("08d67bf0a8f7561f7a29abe85581f7ccba846a4f", "Dockerfile"),
        ("74b0e7996d979b2107ec1659597d947f1155a166", "kubernetes/manifest/base/ollama-service.yaml"),
        ("8c20508cf1e887400354926b5ce0a0263e190ae6", "kubernetes/manifest/base/ollama-statefulset.yaml"),
        ("8c20508cf1e887400354926b5ce0a0263e190ae6", "kubernetes/manifest/base/webui-deployment.yaml"),
        ("837feb4e799b021d2a5f2bf2bf697fca9c1c3df7", "kubernetes/manifest/base/webui-service.yaml"),
        ("8c20508cf1e887400354926b5ce0a0263e190ae6", "kubernetes/manifest/base/webui-ingress.yaml"),
        ("a9805df7efb85eae8444ecabc2ac810567f26b3f", "kubernetes/manifest/patches/ollama-statefulset-gpu.yaml"),
    ],
    "mlflow/mlflow": [
        ("d1d4b54002a99b6c14c52d5b26fe0aebbc136c91", "docker-compose/docker-compose.yml"),
        ("ec30d21f2269df01b6308f4f51defd5f2b1fc450", "docker-compose/.env.dev.example"),
        ("2be1563d18115f995e5d92ac2f4566f29673c6a3", "docker-compose/seaweedfs/docker-compose.simple.yml"),
        ("0b68fefb13507fef4a93040a1a032dde05671f83", "docker-compose/seaweedfs/.env.dev.example"),
        ("ec30d21f2269df01b6308f4f51defd5f2b1fc450", "mlflow/server/auth/basic_auth.ini"),
    ],
}


def md_yaml_blocks(text):
    """YAML blocks of a Markdown guide: ```yaml fences, and `<<EOF` heredocs inside other fences.
    Returns the dedented block texts, in order. Shared with check.sh (imported there)."""
    out = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)```\s*([A-Za-z0-9_-]*)", lines[i])
        if not m:
            i += 1
            continue
        indent, lang = len(m.group(1)), m.group(2).lower()
        j = i + 1
        while j < len(lines) and not re.match(r"^\s*```\s*$", lines[j]):
            j += 1
        body = [l[indent:] if l[:indent].strip() == "" else l for l in lines[i + 1:j]]
        if lang in ("yaml", "yml"):
            out.append("\n".join(body) + "\n")
        else:
            k = 0
            while k < len(body):
                h = re.search(r"<<\s*'?(\w+)'?", body[k])
                if h:
                    end = h.group(1)
                    e = k + 1
                    while e < len(body) and body[e].strip() != end:
                        e += 1
                    out.append("\n".join(body[k + 1:e]) + "\n")
                    k = e
                k += 1
        i = j + 1
    return out


def git_dir(repo):
    d = os.path.join(MIRROR, repo.replace("/", "+"), "repo")
    return os.path.join(d, ".git") if os.path.isdir(os.path.join(d, ".git")) else d


def main():
    entries = {}  # project -> list of (origin, "repo@commit:path")
    for repo, (globs, cap, pinned) in MIRRORED.items():
        g = git_dir(repo)
        commit = subprocess.check_output(["git", "--git-dir", g, "rev-parse", "HEAD"], text=True).strip()
        tree = subprocess.check_output(["git", "--git-dir", g, "ls-tree", "-r", "--name-only", commit], text=True).split("\n")
        pool = sorted({p for p in tree if any(fnmatch.fnmatchcase(p, gl) and p.count("/") == gl.count("/") for gl in globs)})
        missing = [p for p in pinned if p not in pool]
        if missing:
            sys.exit(f"{repo}: pinned not in pool: {missing}")
        rest = [p for p in pool if p not in pinned]
        random.Random(f"{SEED}:{repo}").shuffle(rest)
        chosen = sorted(pinned + rest[: max(0, cap - len(pinned))])
        entries[repo] = [("mirror", f"{repo}@{commit}:{p}") for p in chosen]
    for repo, files in INDEXED.items():
        rows = []
        for commit, path in files:
            if path.endswith(".md"):
                f = os.path.join(INDEX, repo.replace("/", "+"), commit, path)
                n = len(md_yaml_blocks(open(f).read()))
                rows += [("index", f"{repo}@{commit}:{path}#block{k}") for k in range(1, n + 1)]
            else:
                rows.append(("index", f"{repo}@{commit}:{path}"))
        entries[repo] = rows

    total = sum(len(v) for v in entries.values())
    projects = sorted(entries)
    random.Random(SEED).shuffle(projects)
    split, dev_n = {}, 0
    for p in projects:
        if dev_n < total * 2 / 3:
            split[p] = "dev"
            dev_n += len(entries[p])
        else:
            split[p] = "heldout"
    print("# Field benchmark of `modelsec check`: upstream deployment configs (never committed here).")
    print("# Built by bench/field/select_sources.py (how files were chosen is written there).")
    print(f"# Split by project, seed {SEED}: projects shuffled with random.Random({SEED}), given to dev")
    print("# until dev holds ~2/3 of the files; the rest is held out. Made before any result was seen.")
    print("# origin: mirror = snapshot fetched to /work/.mirror (git show commit:path);")
    print("#         index  = read file by file through the code index (repo too big to snapshot);")
    print("#                  commit is the one the index stores for that file.")
    print("# path#blockN = the N-th YAML block of a Markdown guide (```yaml fence or `<<EOF` heredoc).")
    print(f"# files: {total}; dev {dev_n} in {sum(1 for p in split if split[p] == 'dev')} projects, "
          f"heldout {total - dev_n} in {sum(1 for p in split if split[p] == 'heldout')} projects")
    for p in sorted(split, key=lambda p: (split[p], p)):
        print(f"# {split[p]:8} {p} ({len(entries[p])})")
    print("#")
    print("# split\torigin\tsource")
    for p in sorted(entries, key=lambda p: (split[p], p)):
        for origin, src in entries[p]:
            print(f"{split[p]}\t{origin}\t{src}")


if __name__ == "__main__":
    main()
