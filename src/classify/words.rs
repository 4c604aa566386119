//! The lexicon's word table: a map from a folded word to what the
//! classifier knows about it, built once, looked up once per token.
//!
//! A general-purpose hash map hashes the word, then compares the key with a
//! `memcmp` call. Most words are short, so here a word is keyed by its
//! first 16 bytes (zero-padded, two `u64`s) and its length: the tokenizer
//! fills that key while it lowercases the word, hashing it is two
//! multiplications, and comparing it is two integer comparisons. Only
//! words longer than 16 bytes compare the rest of their bytes.

/// A word as the table compares it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Key {
    head: [u64; 2],
    len: u32,
}

/// The bytes of a key's head, filled by whoever builds the word.
pub const HEAD: usize = 16;

impl Key {
    /// `head`: the word's first bytes (at most `HEAD`) as two
    /// little-endian words, zero after them.
    #[inline]
    pub fn from_head(head: [u64; 2], len: usize) -> Key {
        // Longer than 4 GiB would not be a word; saturating keeps it unequal to short ones.
        Key { head, len: u32::try_from(len).unwrap_or(u32::MAX) }
    }

    pub fn of(word: &[u8]) -> Key {
        // Built in registers: copying the bytes into an array and reading
        // it back as integers cost a `memcpy` call and a stalled load.
        let little_endian = |part: &[u8]| part.iter().rev().fold(0u64, |h, &b| h << 8 | u64::from(b));
        let (first, rest) = word.split_at(word.len().min(8));
        let second = &rest[..rest.len().min(8)];
        Key::from_head([little_endian(first), little_endian(second)], word.len())
    }

    /// Slot index for a table of `1 << bits` slots: the top bits of a
    /// multiplication, which depend on every bit of the key.
    #[inline]
    fn slot(&self, bits: u32) -> usize {
        let x = self.head[0] ^ self.head[1].rotate_left(29).wrapping_mul(0xff51_afd7_ed55_8ccd) ^ ((self.len as u64) << 57);
        (x.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - bits)) as usize
    }
}

#[derive(Clone, Copy)]
struct Slot {
    key: Key,
    /// 1 + index into `values`; 0 for an empty slot.
    at: u32,
}

const EMPTY: Slot = Slot { key: Key { head: [0; 2], len: 0 }, at: 0 };

pub struct WordTable<T> {
    slots: Vec<Slot>,
    bits: u32,
    values: Vec<(&'static str, T)>,
}

impl<T> WordTable<T> {
    /// The table of `entries`, whose words must be distinct.
    pub fn build(entries: Vec<(&'static str, T)>) -> WordTable<T> {
        // At most half full, so a miss (most words of a post) ends after a
        // probe or two.
        let bits = (entries.len().max(1) * 2).next_power_of_two().trailing_zeros().max(4);
        let mut slots = vec![EMPTY; 1 << bits];
        let mask = slots.len() - 1;
        for (k, (word, _)) in entries.iter().enumerate() {
            let key = Key::of(word.as_bytes());
            let mut s = key.slot(bits);
            while slots[s].at != 0 {
                s = (s + 1) & mask;
            }
            slots[s] = Slot { key, at: k as u32 + 1 };
        }
        WordTable { slots, bits, values: entries }
    }

    /// The value of `word`, whose key is `key`.
    #[inline(always)]
    pub fn get_keyed(&self, key: &Key, word: &[u8]) -> Option<&T> {
        let mask = self.slots.len() - 1;
        let mut s = key.slot(self.bits);
        loop {
            let slot = &self.slots[s];
            if slot.at == 0 {
                return None;
            }
            if slot.key == *key {
                let (stored, value) = &self.values[slot.at as usize - 1];
                if key.len as usize <= HEAD || stored.as_bytes() == word {
                    return Some(value);
                }
            }
            s = (s + 1) & mask;
        }
    }

    pub fn get(&self, word: &str) -> Option<&T> {
        self.get_keyed(&Key::of(word.as_bytes()), word.as_bytes())
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.values.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_word_and_nothing_else() {
        let words: Vec<&'static str> =
            vec!["a", "ab", "abc", "abcdefgh", "abcdefghi", "abcdefghijklmnop", "abcdefghijklmnopq", "abcdefghijklmnopr", "ñ", "😍", ":("];
        let table = WordTable::build(words.iter().enumerate().map(|(i, w)| (*w, i)).collect());
        for (i, w) in words.iter().enumerate() {
            assert_eq!(table.get(w), Some(&i), "{w}");
        }
        // Same first 16 bytes and length, different tail.
        for miss in ["", "b", "abcd", "abcdefghijklmnos", "abcdefghijklmnopz", "abcdefghijklmnopqr", "a\0"] {
            assert_eq!(table.get(miss), None, "{miss:?}");
        }
        assert_eq!(table.len(), words.len());
    }
}
