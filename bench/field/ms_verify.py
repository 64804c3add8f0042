"""Verify through model_signing's API (1.x), with the hashing configuration the bundle was made
with: model_signing's CLI always verifies as files/sha256, so it cannot verify the shards/blake2/
blake3 bundles its own API writes; this is what an API user does instead.

  python ms_verify.py --model PATH --signature SIG --public-key PEM
      [--serialization files|shards] [--hash sha256|blake2|blake3] [--shard-size N] [--auto]

--auto leaves the hashing configuration to model_signing's own guess from the bundle.
Exit 0 on success, 1 with "Verification failed with error: ..." like the CLI.
"""

import argparse
import pathlib
import sys


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--signature", required=True)
    p.add_argument("--public-key", required=True)
    p.add_argument("--serialization", choices=["files", "shards"], default="files")
    p.add_argument("--hash", choices=["sha256", "blake2", "blake3"], default="sha256")
    p.add_argument("--shard-size", type=int, default=1_000_000_000)
    p.add_argument("--auto", action="store_true")
    a = p.parse_args()
    import model_signing

    try:
        vc = model_signing.verifying.Config().use_elliptic_key_verifier(
            public_key=pathlib.Path(a.public_key)
        )
        if not a.auto:
            hc = model_signing.hashing.Config()
            if a.serialization == "files":
                hc.use_file_serialization(hashing_algorithm=a.hash)
            else:
                hc.use_shard_serialization(hashing_algorithm=a.hash, shard_size=a.shard_size)
            vc.set_hashing_config(hc)
        vc.verify(pathlib.Path(a.model), pathlib.Path(a.signature))
    except Exception as e:
        print(f"Verification failed with error: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    print("Verification succeeded")


if __name__ == "__main__":
    main()
