//! The static text representation the learned stage reads: a table of
//! SentencePiece pieces, each with its unigram score and a vector distilled
//! from multilingual-e5-small (MIT licence; see `models/README.md` for how
//! the table is made and regenerated). A text becomes pieces by the
//! tokenizer's own rule (the most probable segmentation, Viterbi over the
//! unigram scores), and its vector is the normalised sum of its pieces'
//! vectors, which carry their frequency weighting already.
//!
//! This module knows text and the table's file format; nothing about
//! classes or training.

use std::collections::HashMap;
use std::sync::OnceLock;

/// SentencePiece's word-boundary mark.
const META: char = '\u{2581}';
const MAGIC: &[u8; 4] = b"ESV1";

/// The table shipped in the binary (read-only data: pages nobody reads,
/// because the learned stage is off, cost no memory).
static SHIPPED: &[u8] = include_bytes!("../../models/e5-static-es-en.bin");

#[derive(Debug)]
pub struct Table {
    dim: usize,
    index: HashMap<Box<str>, u32>,
    scores: Vec<f32>,
    scales: Vec<f32>,
    vectors: &'static [i8],
    /// Score of a character no piece covers: below every piece, as in
    /// SentencePiece, so that unknown characters are a last resort.
    unk_score: f32,
    max_chars: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("the piece table is damaged: {0}")]
pub struct TableError(&'static str);

/// The shipped table, parsed once.
pub fn shipped() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| Table::parse(SHIPPED).expect("the piece table built into escucha is readable (tests check it)"))
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], TableError> {
        if self.bytes.len() < n {
            return Err(TableError("truncated"));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn u32(&mut self) -> Result<u32, TableError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn f32s(&mut self, n: usize) -> Result<Vec<f32>, TableError> {
        Ok(self.take(n * 4)?.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect())
    }
}

impl Table {
    /// Layout (little-endian): `ESV1`, pieces n (u32), dim (u32), n scores
    /// (f32), n scales (f32), n*dim vector components (i8, times the row's
    /// scale / 127), then n pieces, each a length byte and UTF-8.
    pub fn parse(bytes: &'static [u8]) -> Result<Table, TableError> {
        let mut r = Reader { bytes };
        if r.take(4)? != MAGIC {
            return Err(TableError("not an escucha piece table"));
        }
        let n = r.u32()? as usize;
        let dim = r.u32()? as usize;
        if n == 0 || dim == 0 {
            return Err(TableError("empty"));
        }
        let scores = r.f32s(n)?;
        let scales = r.f32s(n)?;
        let raw = r.take(n * dim)?;
        // SAFETY: i8 and u8 have the same size, alignment and validity (every
        // bit pattern is a value), and `raw` lives for 'static. Viewing the
        // bytes in place keeps the 5 MB table out of the heap.
        let vectors: &'static [i8] = unsafe { std::slice::from_raw_parts(raw.as_ptr().cast::<i8>(), raw.len()) };
        let mut index = HashMap::with_capacity(n);
        let mut max_chars = 1;
        for id in 0..n {
            let len = r.take(1)?[0] as usize;
            let piece = std::str::from_utf8(r.take(len)?).map_err(|_| TableError("a piece is not UTF-8"))?;
            max_chars = max_chars.max(piece.chars().count());
            index.insert(piece.into(), id as u32);
        }
        if !r.bytes.is_empty() {
            return Err(TableError("trailing bytes"));
        }
        let unk_score = scores.iter().copied().fold(f32::INFINITY, f32::min) - 10.0;
        Ok(Table { dim, index, scores, scales, vectors, unk_score, max_chars })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn len(&self) -> usize {
        self.scores.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// The piece ids of `text`, in order; characters no piece covers are
    /// skipped (they carry no vector).
    pub fn pieces(&self, text: &str, out: &mut Vec<u32>) {
        out.clear();
        // Pieces never span a word boundary: each word is segmented alone.
        for word in prepare(text) {
            self.segment(&word, out);
        }
    }

    /// Viterbi over the word's characters: the segmentation whose pieces'
    /// scores (log probabilities) sum highest.
    fn segment(&self, word: &str, out: &mut Vec<u32>) {
        let bounds: Vec<usize> = word.char_indices().map(|(i, _)| i).chain(std::iter::once(word.len())).collect();
        let n = bounds.len() - 1;
        let mut best = vec![f32::NEG_INFINITY; n + 1];
        // (from, piece id or u32::MAX for an uncovered character)
        let mut back = vec![(0usize, u32::MAX); n + 1];
        best[0] = 0.0;
        for i in 0..n {
            if best[i] == f32::NEG_INFINITY {
                continue;
            }
            for e in (i + 1)..=(i + self.max_chars).min(n) {
                if let Some(&id) = self.index.get(&word[bounds[i]..bounds[e]]) {
                    let s = best[i] + self.scores[id as usize];
                    if s > best[e] {
                        best[e] = s;
                        back[e] = (i, id);
                    }
                }
            }
            let s = best[i] + self.unk_score;
            if s > best[i + 1] {
                best[i + 1] = s;
                back[i + 1] = (i, u32::MAX);
            }
        }
        let start = out.len();
        let mut at = n;
        while at > 0 {
            let (from, id) = back[at];
            if id != u32::MAX {
                out.push(id);
            }
            at = from;
        }
        out[start..].reverse();
    }

    /// Adds piece `id`'s vector to `acc`.
    fn add(&self, id: u32, acc: &mut [f32]) {
        let row = id as usize * self.dim;
        let scale = self.scales[id as usize] / 127.0;
        for (a, q) in acc.iter_mut().zip(&self.vectors[row..row + self.dim]) {
            *a += f32::from(*q) * scale;
        }
    }

    /// The text's vector: its pieces' vectors summed and scaled to unit
    /// length (all zero for a text without known pieces).
    pub fn embed(&self, text: &str, scratch: &mut Vec<u32>) -> Vec<f32> {
        self.pieces(text, scratch);
        let mut v = vec![0.0f32; self.dim];
        for &id in scratch.iter() {
            self.add(id, &mut v);
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
        v
    }

    /// A piece's text (tests only: a linear search).
    #[cfg(test)]
    fn piece(&self, id: u32) -> Option<&str> {
        self.index.iter().find(|(_, &v)| v == id).map(|(k, _)| &**k)
    }
}

/// Text as the table's pieces are written: compatibility-normalised,
/// lower-case (the table keeps lower-case pieces only), links dropped
/// (they carry no sentiment and would split into noise), each word led by
/// the boundary mark. Returns the words.
fn prepare(text: &str) -> Vec<String> {
    use unicode_normalization::UnicodeNormalization;
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        if word.starts_with("http://") || word.starts_with("https://") || word.starts_with("www.") {
            continue;
        }
        let mut w = String::with_capacity(word.len() + 3);
        w.push(META);
        w.extend(word.nfkc().flat_map(char::to_lowercase).filter(|c| !c.is_whitespace() && !c.is_control()));
        if w.len() > META.len_utf8() {
            out.push(w);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(t: &Table, text: &str) -> Vec<String> {
        let mut ids = Vec::new();
        t.pieces(text, &mut ids);
        ids.iter().map(|&id| t.piece(id).unwrap().to_string()).collect()
    }

    #[test]
    fn the_shipped_table_reads_and_knows_common_spanish_and_english_words() {
        let t = shipped();
        assert!(t.len() > 10_000, "{} pieces", t.len());
        for w in ["▁vuelo", "▁gracias", "▁flight", "▁thanks"] {
            assert!(t.index.contains_key(w), "{w} missing");
        }
    }

    #[test]
    fn text_is_lowercased_and_links_dropped_before_segmentation() {
        let t = shipped();
        assert_eq!(words(t, "GRACIAS https://t.co/x"), words(t, "gracias"));
        assert_eq!(words(t, "Thanks   a lot"), vec!["▁thanks", "▁a", "▁lot"]);
    }

    #[test]
    fn a_word_without_its_own_piece_is_split_into_known_pieces() {
        let t = shipped();
        let w = words(t, "desesperantemente");
        assert!(w.len() >= 2, "{w:?}");
        assert!(w[0].starts_with('▁'), "{w:?}");
        assert_eq!(w.concat(), "▁desesperantemente");
    }

    #[test]
    fn similar_meanings_lie_closer_than_opposite_ones() {
        let t = shipped();
        let mut s = Vec::new();
        let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        let good = t.embed("excellent service, thank you", &mut s);
        let bueno = t.embed("excelente servicio, gracias", &mut s);
        let bad = t.embed("my bag was lost and nobody answers", &mut s);
        assert!(cos(&good, &bueno) > cos(&good, &bad), "{} vs {}", cos(&good, &bueno), cos(&good, &bad));
    }

    #[test]
    fn damaged_tables_are_refused() {
        assert!(Table::parse(b"nope").is_err());
        assert!(Table::parse(b"ESV1\x01\x00\x00\x00\x01\x00\x00\x00").is_err());
    }
}
