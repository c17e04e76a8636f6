#!/usr/bin/env python3
"""Packs a cargo-fuzz corpus into one committed file, and unpacks it to seed a run.

    scripts/fuzz-seeds.py pack TARGET     fuzz/corpus/TARGET/*  ->  fuzz/seeds/TARGET.seeds
    scripts/fuzz-seeds.py unpack TARGET   fuzz/seeds/TARGET.seeds  ->  fuzz/corpus/TARGET/

A .seeds file is the magic b"SLSEEDS1" followed by entries, each a little-endian u32
length and that many bytes, in file-name order. tests/tests/hostile_input.rs replays every
entry through the target's checks under cargo test. Minimize first (cargo fuzz cmin).
"""
import pathlib
import struct
import sys

MAGIC = b"SLSEEDS1"
ROOT = pathlib.Path(__file__).resolve().parent.parent / "fuzz"


def pack(target: str) -> None:
    corpus = ROOT / "corpus" / target
    entries = [p.read_bytes() for p in sorted(corpus.iterdir()) if p.is_file()]
    out = ROOT / "seeds" / f"{target}.seeds"
    out.parent.mkdir(exist_ok=True)
    with out.open("wb") as f:
        f.write(MAGIC)
        for data in entries:
            f.write(struct.pack("<I", len(data)))
            f.write(data)
    print(f"packed {len(entries)} inputs into {out}")


def unpack(target: str) -> None:
    data = (ROOT / "seeds" / f"{target}.seeds").read_bytes()
    if not data.startswith(MAGIC):
        sys.exit(f"{target}.seeds: not a seeds file")
    corpus = ROOT / "corpus" / target
    corpus.mkdir(parents=True, exist_ok=True)
    at, n = len(MAGIC), 0
    while at < len(data):
        (length,) = struct.unpack_from("<I", data, at)
        at += 4
        (corpus / f"seed-{n:05}").write_bytes(data[at : at + length])
        at += length
        n += 1
    print(f"unpacked {n} inputs into {corpus}")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("pack", "unpack"):
        sys.exit(__doc__)
    {"pack": pack, "unpack": unpack}[sys.argv[1]](sys.argv[2])
