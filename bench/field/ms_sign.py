"""Sign a model with whatever model_signing release is installed in this venv, through its API.

Run with a venv's python (bench/field/corpus.py does): the CLI cannot choose shards or
blake2/blake3, and model_signing 0.2.0 has no CLI at all (its sign.py lived in the repository,
not in the package), so those bundles are made here the way that release's code makes them.

  python ms_sign.py --mode key|certificate --model PATH --signature OUT --private-key PEM
      [--signing-certificate PEM --certificate-chain PEM ...]
      [--serialization files|shards] [--hash sha256|blake2|blake3] [--shard-size N]
"""

import argparse
import importlib.metadata
import pathlib
import sys


def _v020(args):
    # model_signing 0.2.0: the repository's src/sign.py, which the package did not ship:
    # in-toto "Digests/v0.1" payload (one subject per file), DSSE with the buggy PAE,
    # ECDSA with SHA-256 whatever the curve, publicKey{rawBytes: PEM, keyDetails: P256}.
    from model_signing import model
    from model_signing.hashing import file
    from model_signing.hashing import memory
    from model_signing.serialization import serialize_by_file
    from model_signing.serialization import serialize_by_file_shard
    from model_signing.signature import key
    from model_signing.signature import pki
    from model_signing.signing import in_toto
    from model_signing.signing import in_toto_signature

    if args.mode == "key":
        payload_signer = key.ECKeySigner.from_path(private_key_path=args.private_key)
    else:
        payload_signer = pki.PKISigner.from_path(
            args.private_key, args.signing_certificate, args.certificate_chain
        )
    signer = in_toto_signature.IntotoSigner(payload_signer)
    engine = {"sha256": memory.SHA256, "blake2": memory.BLAKE2}[args.hash]
    if args.serialization == "files":
        serializer = serialize_by_file.ManifestSerializer(
            file_hasher_factory=lambda p: file.SimpleFileHasher(file=p, content_hasher=engine())
        )
        payload = in_toto.DigestsIntotoPayload.from_manifest
    else:
        def factory(p, start, end):
            return file.ShardedFileHasher(
                p, engine(), start=start, end=end, shard_size=args.shard_size
            )
        serializer = serialize_by_file_shard.ManifestSerializer(factory)
        payload = in_toto.ShardDigestsIntotoPayload.from_manifest
    sig = model.sign(
        model_path=pathlib.Path(args.model),
        signer=signer,
        payload_generator=payload,
        serializer=serializer,
        ignore_paths=[pathlib.Path(args.signature)],
    )
    sig.write(pathlib.Path(args.signature))


def _v03plus(args):
    import model_signing

    # 0.3.1-1.0.1 construct a Sigstore signer (TUF refresh: network) in signing.Config();
    # the key/certificate signer configured below replaces it, so make that a no-op offline
    model_signing.signing.Config.use_sigstore_signer = lambda self, *a, **k: self
    hc = model_signing.hashing.Config()
    if args.serialization == "files":
        hc.use_file_serialization(hashing_algorithm=args.hash)
    else:
        hc.use_shard_serialization(hashing_algorithm=args.hash, shard_size=args.shard_size)
    sc = model_signing.signing.Config()
    if args.mode == "key":
        sc.use_elliptic_key_signer(private_key=pathlib.Path(args.private_key))
    else:
        sc.use_certificate_signer(
            private_key=pathlib.Path(args.private_key),
            signing_certificate=pathlib.Path(args.signing_certificate),
            certificate_chain=[pathlib.Path(p) for p in args.certificate_chain],
        )
    sc.set_hashing_config(hc).sign(pathlib.Path(args.model), pathlib.Path(args.signature))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=["key", "certificate"], required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--signature", required=True)
    p.add_argument("--private-key", required=True)
    p.add_argument("--signing-certificate")
    p.add_argument("--certificate-chain", action="append", default=[])
    p.add_argument("--serialization", choices=["files", "shards"], default="files")
    p.add_argument("--hash", choices=["sha256", "blake2", "blake3"], default="sha256")
    p.add_argument("--shard-size", type=int, default=1_000_000_000)
    args = p.parse_args()
    version = importlib.metadata.version("model-signing")
    try:
        if version.startswith(("0.1.", "0.2.")):
            _v020(args)
        else:
            _v03plus(args)
    except Exception as e:  # report like the CLI does, one line
        print(f"Signing failed with error: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
