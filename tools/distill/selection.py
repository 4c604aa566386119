"""Which pieces the Spanish and English table keeps: every piece the
tokenizer uses to spell the words of two public-domain word lists
(Debian's wspanish and wamerican, /usr/share/dict), then the most probable
remaining pieces, up to the size asked. The word lists only choose pieces;
nothing of them is shipped but the model's own pieces."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import vocab  # noqa: E402

WORDLISTS = ["/usr/share/dict/spanish", "/usr/share/dict/american-english"]


def segment(word, index, maxlen):
    """The most probable segmentation of one word (with its leading mark)."""
    n = len(word)
    best = [float("-inf")] * (n + 1)
    back = [None] * (n + 1)
    best[0] = 0.0
    for i in range(n):
        if best[i] == float("-inf"):
            continue
        for e in range(i + 1, min(n, i + maxlen) + 1):
            s = index.get(word[i:e])
            if s is not None and best[i] + s[1] > best[e]:
                best[e] = best[i] + s[1]
                back[e] = (i, s[0])
        if best[i] - 1e3 > best[i + 1]:
            best[i + 1] = best[i] - 1e3
            back[i + 1] = (i, None)
    out, at = [], n
    while at > 0:
        i, pid = back[at]
        if pid is not None:
            out.append(pid)
        at = i
    return out


def select(size):
    pieces, scores = vocab.read_vocab()
    wanted = [i for i in range(len(pieces)) if vocab.wanted(pieces[i])]
    index = {pieces[i]: (i, float(scores[i])) for i in wanted}
    maxlen = max(len(pieces[i]) for i in wanted)
    used = set()
    for path in WORDLISTS:
        for line in open(path, encoding="utf-8", errors="replace"):
            w = line.strip().lower()
            if w:
                used.update(segment(vocab.META + w, index, maxlen))
    chosen = sorted(used, key=lambda i: -scores[i])[:size]
    rest = sorted((i for i in wanted if i not in used), key=lambda i: -scores[i])
    chosen += rest[: max(0, size - len(chosen))]
    return chosen, len(used)


if __name__ == "__main__":
    ids, n = select(int(sys.argv[1]) if len(sys.argv) > 1 else 50000)
    p, _ = vocab.read_vocab()
    print(n, "pieces spell the word lists;", len(ids), "kept")
    print([p[i] for i in ids[:30]])
