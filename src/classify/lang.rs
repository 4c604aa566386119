//! Language of a post: the platform's tag when it gave one (`es-MX` → `es`),
//! otherwise a vote of very common words. Spanish and English are what the
//! lexicon knows; a few other languages are recognised so they are not
//! mislabelled, anything else is `und`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Words frequent in one language and rare in the others (folded, so
/// accents are gone). Words shared by es/pt/en ("a", "me", "no") are left out.
const STOPWORDS: &[(&str, &[&str])] = &[
    (
        "es",
        &[
            "el", "la", "los", "las", "del", "que", "y", "en", "por", "para", "con", "una", "un", "es", "muy", "pero", "mas", "porque", "esta", "estoy",
            "este", "hay", "ya", "sin", "su", "sus", "mi", "mis", "lo", "le", "les", "nos", "al", "como", "cuando", "donde", "gracias", "hola", "vuelo",
            "nada", "nunca", "todo", "todos", "tambien", "siempre", "ustedes", "vuestro", "vuestra", "os", "sois", "son", "fue", "ser", "tengo", "hace",
            "solo", "bien", "mal", "desde", "hasta", "otra", "vez", "aun", "todavia", "ni", "si", "mucho", "dia", "horas", "servicio", "pues", "eso", "esto",
            "ahora", "quiero", "puedo", "pueden", "favor",
        ],
    ),
    (
        "en",
        &[
            "the", "and", "to", "of", "is", "it", "you", "that", "for", "on", "my", "with", "this", "was", "have", "be", "are", "not", "your", "at", "but",
            "i", "so", "just", "can", "what", "flight", "thanks", "thank", "please", "get", "why", "do", "dont", "been", "from", "will", "an", "we", "they",
            "all", "about", "would", "when", "how", "hours", "again", "never", "customer", "service", "still", "did", "has", "had", "there", "am", "its",
            "cant", "out", "now", "time", "our", "us", "by", "if", "or", "no",
        ],
    ),
    (
        "pt",
        &[
            "voce", "voces", "nao", "obrigado", "obrigada", "muito", "uma", "isso", "esse", "essa", "meu", "minha", "estou", "tem", "ate", "nos", "pra",
            "mais", "ja", "foi", "ser", "com", "sem", "ainda", "agora", "voo",
        ],
    ),
    (
        "fr",
        &[
            "le", "les", "des", "est", "et", "je", "vous", "pas", "merci", "avec", "pour", "mon", "une", "sur", "dans", "mais", "tres", "vol", "ce", "cette",
            "qui", "nous", "ne", "au", "aux", "du", "suis", "bonjour",
        ],
    ),
    (
        "de",
        &[
            "der", "die", "das", "und", "ist", "nicht", "ich", "sie", "mit", "ein", "eine", "danke", "fur", "auf", "den", "dem", "zu", "von", "wir", "sehr",
            "flug", "auch", "noch", "bitte",
        ],
    ),
    (
        "it",
        &[
            "il", "che", "non", "per", "sono", "della", "grazie", "molto", "gli", "una", "questo", "volo", "anche", "ancora", "mio", "mia", "sempre", "ho",
            "hanno", "perche",
        ],
    ),
];

/// `es-MX` → `es`, `EN_us` → `en`; empty or odd tags give None. The
/// languages this module knows come back borrowed, without an allocation.
pub fn normalize_tag(tag: &str) -> Option<Cow<'static, str>> {
    // Platforms mostly send the bare code; no need to split or search.
    match tag {
        "es" => return Some(Cow::Borrowed("es")),
        "en" => return Some(Cow::Borrowed("en")),
        _ => {}
    }
    let primary = tag.trim().split(['-', '_']).next()?;
    if !(primary.len() >= 2 && primary.len() <= 3 && primary.bytes().all(|b| b.is_ascii_alphabetic())) {
        return None;
    }
    Some(match STOPWORDS.iter().find(|(code, _)| code.eq_ignore_ascii_case(primary)) {
        Some((code, _)) => Cow::Borrowed(*code),
        None => Cow::Owned(primary.to_ascii_lowercase()),
    })
}

/// Each stopword with a bit per `STOPWORDS` language it belongs to, built
/// once: one lookup per token instead of a scan of every list.
pub(super) fn stopword_langs() -> &'static HashMap<&'static str, u8> {
    static MAP: OnceLock<HashMap<&'static str, u8>> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut map: HashMap<&'static str, u8> = HashMap::new();
        for (k, (_, words)) in STOPWORDS.iter().enumerate() {
            for w in words.iter() {
                *map.entry(w).or_default() |= 1 << k;
            }
        }
        map
    })
}

/// Languages `STOPWORDS` lists.
pub const LANGUAGES: usize = STOPWORDS.len();

/// Bits per language in `Tally`'s packed counts.
const FIELD: u32 = 10;
/// Words a packed count takes before it is emptied, so no field overflows.
const BATCH: u32 = (1 << FIELD) - 1;

/// Each set of `stopword_langs` bits spread to one `FIELD`-bit counter per
/// language.
const SPREAD: [u64; 1 << LANGUAGES] = {
    let mut t = [0u64; 1 << LANGUAGES];
    let mut bits = 0;
    while bits < t.len() {
        let mut k = 0;
        while k < LANGUAGES {
            if bits & (1 << k) != 0 {
                t[bits] |= 1 << (k as u32 * FIELD);
            }
            k += 1;
        }
        bits += 1;
    }
    t
};

/// Common words per language, counted a word at a time: one addition
/// counts a word for every language it belongs to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    packed: u64,
    pending: u32,
    counts: [u32; LANGUAGES],
}

impl Tally {
    /// A word with these `stopword_langs` bits.
    #[inline]
    pub fn add(&mut self, bits: u8) {
        self.packed += SPREAD[usize::from(bits) % SPREAD.len()];
        self.pending += 1;
        if self.pending == BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        for (k, n) in self.counts.iter_mut().enumerate() {
            *n += ((self.packed >> (k as u32 * FIELD)) & u64::from(BATCH)) as u32;
        }
        (self.packed, self.pending) = (0, 0);
    }

    pub fn counts(&self) -> [u32; LANGUAGES] {
        let mut all = *self;
        all.flush();
        all.counts
    }
}

/// The language whose common words are the most numerous (as the
/// tokenizer's `Summary::stopwords` counts them); `und` when none are there
/// or two languages tie.
pub fn by_counts(counts: &[u32; LANGUAGES]) -> &'static str {
    let mut best = ("und", 0u32);
    let mut second = 0u32;
    for ((lang, _), &n) in STOPWORDS.iter().zip(counts) {
        if n > best.1 {
            second = best.1;
            best = (lang, n);
        } else if n > second {
            second = n;
        }
    }
    // A tie means we cannot tell.
    if best.1 == 0 || best.1 == second {
        return "und";
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::super::normalize::{tokenize_with, TokenScratch};
    use super::*;

    /// The language the tokenizer's counts give `text`, as `classify` asks.
    fn detect(text: &str) -> &'static str {
        let (mut buf, mut scratch) = (String::new(), TokenScratch::default());
        let tokens = tokenize_with(text, &mut buf, &mut scratch);
        scratch.give_back(tokens);
        by_counts(&scratch.summary.stopwords.counts())
    }

    #[test]
    fn counts_survive_more_words_than_a_packed_field_holds() {
        // 3,000 common words of one language and 2,000 of another: both
        // pass the 1,023 a packed field holds.
        let text = |a: &str, b: &str| format!("{}{}", a.repeat(3000), b.repeat(2000));
        assert_eq!(detect(&text("el ", "the ")), "es");
        assert_eq!(detect(&text("the ", "el ")), "en");
        let mut tally = Tally::default();
        (0..5000).for_each(|_| tally.add(0b11));
        assert_eq!(tally.counts()[..2], [5000, 5000]);
    }

    #[test]
    fn region_tags_reduce_to_the_language() {
        assert_eq!(normalize_tag("es-MX").as_deref(), Some("es"));
        assert_eq!(normalize_tag("en_US").as_deref(), Some("en"));
        assert_eq!(normalize_tag("").as_deref(), None);
    }

    #[test]
    fn spanish_and_english_are_told_apart_without_accents() {
        assert_eq!(detect("no me han devuelto el dinero y nadie contesta"), "es");
        assert_eq!(detect("my bag never showed up and nobody answers the phone"), "en");
        assert_eq!(detect("vielen Dank für den Flug, sehr gut"), "de");
        assert_eq!(detect("👍"), "und");
    }
}
