"""Step 2 of the distillation: from the piece embeddings of embed.py, the
static table escucha ships (models/e5-static-es-en.bin, read by
src/classify/pieces.rs).

    python3 tools/distill/table.py PIECES.npz models/e5-static-es-en.bin [--dim 128] [--size 40000]

Model2vec's recipe: centre the piece vectors and keep their first `dim`
principal components; weight each piece by a/(a + p), p its unigram
probability (rare pieces say more than "the"); quantize each row to int8
with its own scale.
"""
import argparse
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import selection  # noqa: E402
import vocab  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pieces")
    ap.add_argument("out")
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--size", type=int, default=40000)
    ap.add_argument("--sif", type=float, default=1e-4)
    a = ap.parse_args()
    pieces, scores = vocab.read_vocab()
    z = np.load(a.pieces)
    keep, _ = selection.select(a.size)
    row = {int(i): k for k, i in enumerate(z["ids"])}
    missing = [i for i in keep if i not in row]
    if missing:
        raise SystemExit("%d selected pieces have no embedding yet: run embed.py with the same --size" % len(missing))
    # Most probable first, so a reader can see the common pieces at the top.
    ids = np.array(sorted(keep, key=lambda i: -scores[i]), dtype=np.int64)
    emb = z["emb"][[row[int(i)] for i in ids]].astype(np.float64)
    emb -= emb.mean(0)
    _, _, vt = np.linalg.svd(emb, full_matrices=False)
    proj = emb @ vt[: a.dim].T
    p = np.exp(scores[ids].astype(np.float64))
    proj *= (a.sif / (a.sif + p))[:, None]
    scale = np.abs(proj).max(1)
    scale[scale == 0] = 1.0
    q = np.clip(np.round(proj / scale[:, None] * 127), -127, 127).astype(np.int8)
    names = [pieces[i].encode("utf-8") for i in ids]
    assert all(len(n) < 256 for n in names)
    with open(a.out, "wb") as f:
        f.write(b"ESV1")
        f.write(struct.pack("<II", len(ids), a.dim))
        f.write(scores[ids].astype("<f4").tobytes())
        f.write(scale.astype("<f4").tobytes())
        f.write(q.tobytes())
        for n in names:
            f.write(bytes([len(n)]) + n)
    print("%s: %d pieces, %d dimensions, %d bytes" % (a.out, len(ids), a.dim, os.path.getsize(a.out)))


if __name__ == "__main__":
    main()
