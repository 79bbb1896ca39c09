"""sha256 of files and bytes: the one helper every record of provenance uses (dataset manifests, checkpoints'
dataset hash, exported artifacts' source hash and verify.json), so they all hash the same way."""

import hashlib

BLOCK = 1 << 20  # read files in 1 MiB blocks: constant memory for multi-GB ETL files


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path) -> str:
    """Hex sha256 of the file at `path`, read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(BLOCK), b""):
            h.update(block)
    return h.hexdigest()
