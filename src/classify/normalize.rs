//! Turns a post's raw text into tokens the lexicon can match: folded case and
//! accents, apostrophes dropped, letter runs shortened, chat abbreviations
//! expanded, hashtags split, emoji and emoticons kept as tokens, URLs kept
//! only as a marker. Owns no judgement about what a token means.
//!
//! The text is read in one pass. Tokens borrow their text from the post
//! itself when a word is already in its folded form (most are), otherwise
//! from one buffer per call (the caller's, reused) or from static strings;
//! the token lists themselves are the caller's too (`TokenScratch`), so a
//! post costs no allocation once they have grown. What the rules ask of the
//! whole post (`Summary`, the question flags) is counted on the way.

use super::lang;
use super::lexicon::{lexicon, Lexicon, WordInfo};
use super::words::{Key, HEAD};
use crate::text::fold;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Word,
    /// `@name`; `text` is the folded name without `@`.
    Handle,
    /// A word that came from a hashtag (split at case changes).
    Hashtag,
    /// One emoji or an ASCII emoticon; `text` is the symbol itself.
    Symbol,
    Url,
    /// Sentence end (`.` `!` `?` newline) or clause break (`,` `;` `:`).
    Punct(char),
}

#[derive(Debug, Clone, Copy)]
pub struct Token<'a> {
    pub kind: Kind,
    /// Folded form, runs of 3+ equal letters cut to 2 ("goood" → "good").
    pub text: &'a str,
    /// Runs cut to 1 ("pesimooo" → "pesimo"), when that differs from `text`.
    pub alt: Option<&'a str>,
    /// Written in capitals (at least 3 letters), e.g. "NEVER".
    pub caps: bool,
    /// Had a letter repeated 3+ times, a sign of emphasis.
    pub elongated: bool,
    /// What the lexicon knows about `text` (not `alt`), for word-like
    /// tokens: looked up once here, asked by matching, language detection
    /// and the headline rule.
    pub info: Option<&'static WordInfo>,
    /// The same for `alt`.
    pub alt_info: Option<&'static WordInfo>,
}

impl Token<'_> {
    pub fn is_wordlike(&self) -> bool {
        matches!(self.kind, Kind::Word | Kind::Hashtag | Kind::Symbol)
    }
    pub fn is_sentence_end(&self) -> bool {
        matches!(self.kind, Kind::Punct('.' | '!' | '?' | '\n'))
    }
    pub fn is_break(&self) -> bool {
        matches!(self.kind, Kind::Punct(_))
    }
    /// The token as a lexicon word would be compared to it.
    pub fn matches(&self, word: &str) -> bool {
        self.text == word || self.alt == Some(word)
    }
    pub fn starts_with(&self, prefix: &str) -> bool {
        self.text.starts_with(prefix) || self.alt.is_some_and(|a| a.starts_with(prefix))
    }
}

/// ASCII emoticons, longest first so ":-((" is not read as ":-(" + "(".
const EMOTICONS: &[&str] = &[
    ">:-(", ">:(", ":'-(", ":'(", ":-((", ":((", ":-))", ":))", ":-)", ":-(", ":-D", ":-P", ":-p", ":-/", ":-|", ":-o", ":-O", ";-)", ":)", ":(", ":D", ":P",
    ":p", ":/", ":|", ":o", ":O", ";)", "<3", "</3", "-_-", "^^", "^_^", "xD", "XD", "D:",
];

/// Chat abbreviations and spellings without apostrophes, after folding.
fn expansion(word: &str) -> Option<&'static [&'static str]> {
    Some(match word {
        "q" | "k" | "ke" | "qe" => &["que"],
        "xq" | "pq" | "xk" | "pk" | "porq" | "pork" | "xke" | "xque" => &["porque"],
        "tb" | "tmb" | "tbn" | "tmbn" | "tambn" => &["tambien"],
        "pls" | "plz" | "plis" | "pleas" | "plss" => &["please"],
        "porfa" | "porfis" | "xfa" | "xfavor" | "pf" | "porfavor" => &["por", "favor"],
        "thx" | "thnx" | "thanx" | "tnx" | "tks" | "thks" | "thnks" | "tx" | "thankyou" => &["thanks"],
        "ty" | "tyvm" => &["thank", "you"],
        "grax" | "grcs" | "grs" | "grasias" | "gracas" => &["gracias"],
        "u" => &["you"],
        "ur" => &["your"],
        "r" => &["are"],
        "bc" | "cuz" | "coz" | "bcuz" | "bcoz" | "becuz" | "bcs" => &["because"],
        "dnt" => &["dont"],
        "b4" => &["before"],
        "2day" => &["today"],
        "2nite" | "tonite" => &["tonight"],
        "hrs" | "hr" => &["hours"],
        "mins" | "min" => &["minutes"],
        "hs" => &["horas"],
        "msg" => &["message"],
        "d" => &["de"],
        "bn" => &["bien"],
        "dsd" => &["desde"],
        "xa" => &["para"],
        "tmp" => &["tampoco"],
        "nd" => &["nada"],
        "cs" => &["customer", "service"],
        "srsly" => &["seriously"],
        "w" => &["with"],
        "wo" => &["without"],
        "n" => &["and"],
        "luv" => &["love"],
        "gr8" => &["great"],
        "thks4" => &["thanks", "for"],
        "im" => &["i", "am"],
        _ => return None,
    })
}

/// Every key of `expansion` with what it stands for; `match` cannot
/// enumerate its patterns, so they are listed again (a test checks the two
/// agree). The lexicon's word table holds them.
pub(super) fn expansions() -> impl Iterator<Item = (&'static str, &'static [&'static str])> {
    const KEYS: &[&str] = &[
        "q", "k", "ke", "qe", "xq", "pq", "xk", "pk", "porq", "pork", "xke", "xque", "tb", "tmb", "tbn", "tmbn", "tambn", "pls", "plz", "plis", "pleas",
        "plss", "porfa", "porfis", "xfa", "xfavor", "pf", "porfavor", "thx", "thnx", "thanx", "tnx", "tks", "thks", "thnks", "tx", "thankyou", "ty", "tyvm",
        "grax", "grcs", "grs", "grasias", "gracas", "u", "ur", "r", "bc", "cuz", "coz", "bcuz", "bcoz", "becuz", "bcs", "dnt", "b4", "2day", "2nite", "tonite",
        "hrs", "hr", "mins", "min", "hs", "msg", "d", "bn", "dsd", "xa", "tmp", "nd", "cs", "srsly", "w", "wo", "n", "luv", "gr8", "thks4", "im",
    ];
    KEYS.iter().filter_map(|k| Some((*k, expansion(k)?)))
}

/// `expansion`, from the lexicon's word table.
#[cfg(test)]
fn expand(word: &str) -> Option<&'static [&'static str]> {
    lexicon().word(word).and_then(|w| w.expansion)
}

/// Where a token's text is while the buffer is still growing: a string
/// that outlives the buffer (static, or the caller's text), or a byte
/// range of the buffer, filled in once the buffer is done.
#[derive(Clone, Copy)]
enum Src<'a> {
    Str(&'a str),
    Buf(u32, u32),
}

/// The word table's entries for a token's text and `alt`: two words, kept
/// apart from `Style` so that they are passed in registers, not written
/// to memory field by field and read back whole.
#[derive(Clone, Copy, Default)]
struct Known {
    info: Option<&'static WordInfo>,
    alt_info: Option<&'static WordInfo>,
}

/// How a word was written.
#[derive(Clone, Copy, Default)]
struct Style {
    caps: bool,
    elongated: bool,
}

/// A token whose text (and `alt`) are still byte ranges of the buffer.
#[derive(Clone, Copy)]
struct Fixup {
    token: u32,
    text: Option<(u32, u32)>,
    alt: Option<(u32, u32)>,
}

/// The buffer being filled, the tokens (those with text in the buffer
/// noted in `fixups`), their summary, and a scratch word.
struct Builder<'b, 'a> {
    buf: &'b mut String,
    tokens: &'b mut Vec<Token<'a>>,
    fixups: &'b mut Vec<Fixup>,
    summary: &'b mut Summary,
    questions: &'b mut Vec<bool>,
    word: &'b mut String,
    lex: &'static Lexicon,
    /// The text scanned, when tokens may borrow from it (it is the
    /// caller's, not a decoded copy).
    source: Option<&'a str>,
}

/// What the rules ask of the whole post, counted while its tokens are
/// made instead of in a pass of their own each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Per language of `lang::STOPWORDS`, the words that are common words of it.
    pub stopwords: lang::Tally,
    /// Words of at least 3 bytes, and those of at least 4 in capitals.
    pub words: u32,
    pub caps: u32,
    /// A link, a `!`, and a word that puts a person in the post.
    pub url: bool,
    pub exclaims: bool,
    pub personal: bool,
}

impl Summary {
    /// A word token of `len` bytes, whose table entry is `info`.
    #[inline]
    fn count_word(&mut self, info: Option<&WordInfo>, len: usize, caps: bool) {
        if let Some(w) = info {
            self.stopwords.add(w.stopword);
            self.personal |= w.personal;
        }
        if len >= 3 {
            self.words += 1;
            self.caps += u32::from(caps && len >= 4);
        }
    }
}

/// Lists `tokenize_with` fills and a later call reuses (empty between
/// calls; only their capacity is kept), and the summary of the last post.
#[derive(Default)]
pub struct TokenScratch {
    fixups: Vec<Fixup>,
    word: String,
    tokens: Vec<Token<'static>>,
    pub summary: Summary,
    /// Per sentence of the last post, whether it is a question.
    pub questions: Vec<bool>,
}

impl TokenScratch {
    /// Takes back the list a `tokenize_with` returned, for its capacity.
    pub fn give_back(&mut self, mut tokens: Vec<Token<'_>>) {
        tokens.clear();
        // An empty list of borrowed tokens is an empty list of static ones;
        // collecting in place keeps the allocation.
        self.tokens = tokens.into_iter().map(|_| -> Token<'static> { unreachable!("the list is empty") }).collect();
    }
}

impl<'a> Builder<'_, 'a> {
    /// Empty, for a new scan.
    fn reset(&mut self) {
        self.buf.clear();
        self.tokens.clear();
        self.fixups.clear();
        *self.summary = Summary::default();
        self.questions.clear();
        // The first sentence, before any break.
        self.questions.push(false);
    }
    fn span(&self, from: usize) -> (u32, u32) {
        (from as u32, self.buf.len() as u32)
    }
    fn last_is(&self, pred: impl Fn(&Token) -> bool) -> bool {
        self.tokens.last().is_some_and(pred)
    }
    #[inline]
    fn push(&mut self, kind: Kind, text: Src<'a>, alt: Option<(u32, u32)>, word: Known, style: Style) {
        let (Known { info, alt_info }, Style { caps, elongated }) = (word, style);
        let (text, len, in_buf) = match text {
            Src::Str(s) => (s, s.len(), None),
            Src::Buf(x, y) => ("", (y - x) as usize, Some((x, y))),
        };
        if in_buf.is_some() || alt.is_some() {
            self.fixups.push(Fixup { token: self.tokens.len() as u32, text: in_buf, alt });
        }
        let sum = &mut *self.summary;
        match kind {
            Kind::Word => sum.count_word(info, len, caps),
            Kind::Url => sum.url = true,
            Kind::Punct(p) => {
                sum.exclaims |= p == '!';
                // "¿" opens a question, "?" ends one, and every sentence end starts a new sentence.
                if matches!(p, '¿' | '?') {
                    *self.questions.last_mut().expect("starts with one sentence") = true;
                }
                if matches!(p, '.' | '!' | '?' | '\n') {
                    self.questions.push(false);
                }
            }
            _ => {}
        }
        self.tokens.push(Token { kind, text, alt: None, caps, elongated, info, alt_info });
    }
    /// A word token whose text is already folded and not stretched, what
    /// `push` would make of it.
    #[inline]
    fn push_folded_word(&mut self, text: &'a str, info: Option<&'static WordInfo>) {
        self.summary.count_word(info, text.len(), false);
        self.tokens.push(Token { kind: Kind::Word, text, alt: None, caps: false, elongated: false, info, alt_info: None });
    }
    /// A token the lexicon knows nothing about.
    fn plain(&mut self, kind: Kind, text: Src<'a>) {
        self.push(kind, text, None, Known::default(), Style::default());
    }
    /// A symbol (emoji, emoticon), which the lexicon may know.
    fn symbol(&mut self, text: Src<'a>, s: &str) {
        let info = self.lex.word(s);
        self.push(Kind::Symbol, text, None, Known { info, alt_info: None }, Style::default());
    }
    /// A break; "!!!" and "..." are one break each.
    fn punct(&mut self, p: char) {
        if !self.last_is(|t| t.kind == Kind::Punct(p)) {
            self.plain(Kind::Punct(p), Src::Str(punct_text(p)));
        }
    }
    /// A line break ends a sentence that nothing else ended.
    fn newline(&mut self) {
        if !self.last_is(|t| is_sentence_end(t.kind)) {
            self.plain(Kind::Punct('\n'), Src::Str("\n"));
        }
    }
}

fn is_sentence_end(kind: Kind) -> bool {
    matches!(kind, Kind::Punct('.' | '!' | '?' | '\n'))
}

/// Pushes `word` with runs of one letter cut to `max`: 2 gives "goood" → "good", 1 gives "god".
fn push_squeezed(out: &mut String, word: &str, max: usize) {
    let mut last = None;
    let mut run = 0;
    for c in word.chars() {
        if Some(c) == last && c.is_alphabetic() {
            run += 1;
        } else {
            run = 1;
            last = Some(c);
        }
        if run <= max {
            out.push(c);
        }
    }
}

/// Whether `word` has a run of one letter longer than `max`.
fn has_run_over(word: &str, max: usize) -> bool {
    if word.is_ascii() {
        let mut run = 0;
        let mut last = 0u8;
        for b in word.bytes() {
            if b == last && b.is_ascii_alphabetic() {
                run += 1;
                if run > max {
                    return true;
                }
            } else {
                run = 1;
                last = b;
            }
        }
        return false;
    }
    let mut last = None;
    let mut run = 0;
    for c in word.chars() {
        if Some(c) == last && c.is_alphabetic() {
            run += 1;
            if run > max {
                return true;
            }
        } else {
            run = 1;
            last = Some(c);
        }
    }
    false
}

/// First code point of the Latin-1 Supplement and Latin Extended-A/B
/// letters that `latin_fold` knows.
const LATIN_FROM: u32 = 0xC0;
const LATIN_TO: u32 = 0x24F;

/// What the word scan needs of one accented Latin letter.
#[derive(Clone, Copy)]
struct Latin {
    /// Its `fold` ("É" → 'e', "ñ" → 'n'); '\0' when `fold` does not give
    /// one character for it on its own.
    fold: char,
    alphabetic: bool,
    uppercase: bool,
}

/// The Latin-1 Supplement and Latin Extended-A/B letters, from a table
/// built once with `fold` itself; None for characters outside it.
fn latin(c: char) -> Option<Latin> {
    latin_in(latin_table(), c)
}

fn latin_in(table: &[Latin], c: char) -> Option<Latin> {
    let u = c as u32;
    if !(LATIN_FROM..=LATIN_TO).contains(&u) {
        return None;
    }
    table.get((u - LATIN_FROM) as usize).copied()
}

fn latin_table() -> &'static [Latin] {
    static TABLE: OnceLock<Vec<Latin>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (LATIN_FROM..=LATIN_TO)
            .map(|u| {
                let Some(c) = char::from_u32(u) else { return Latin { fold: '\0', alphabetic: false, uppercase: false } };
                let mut utf8 = [0; 4];
                let one: &str = c.encode_utf8(&mut utf8);
                let f = fold(one);
                let mut chars = f.chars();
                // A character whose decomposition started with a combining
                // mark could reorder with its neighbours: leave it to `fold`.
                let starts_plain = unicode_normalization::UnicodeNormalization::nfd(one)
                    .next()
                    .is_some_and(|d| unicode_normalization::char::canonical_combining_class(d) == 0);
                let fold = match (chars.next(), chars.next()) {
                    (Some(one), None) if starts_plain => one,
                    _ => '\0',
                };
                Latin { fold, alphabetic: c.is_alphabetic(), uppercase: c.is_uppercase() }
            })
            .collect()
    })
}

/// `fold` of one accented Latin letter, when it is one character.
fn latin_fold(c: char) -> Option<char> {
    latin(c).map(|l| l.fold).filter(|f| *f != '\0')
}

/// Appends `crate::text::fold(raw)` to `out`, without apostrophes when
/// `strip_apostrophes`. ASCII, by far the common case, and words of
/// accented Latin letters need no Unicode decomposition: each of their
/// characters folds on its own (each starts with a base letter, so NFD
/// reorders nothing across them).
fn fold_into(out: &mut String, raw: &str, strip_apostrophes: bool) {
    if raw.is_ascii() {
        if strip_apostrophes && raw.contains('\'') {
            out.extend(raw.bytes().filter(|b| *b != b'\'').map(|b| char::from(b.to_ascii_lowercase())));
        } else {
            let from = out.len();
            out.push_str(raw);
            out[from..].make_ascii_lowercase();
        }
        return;
    }
    let plain = |c: char| c.is_ascii() || (strip_apostrophes && c == '’') || latin_fold(c).is_some();
    if raw.chars().all(plain) {
        for c in raw.chars() {
            if strip_apostrophes && (c == '\'' || c == '’') {
                continue;
            }
            out.push(if c.is_ascii() { c.to_ascii_lowercase() } else { latin_fold(c).unwrap_or(c) });
        }
    } else if strip_apostrophes {
        out.extend(fold(raw).chars().filter(|c| *c != '\'' && *c != '’'));
    } else {
        out.push_str(&fold(raw));
    }
}

fn is_emoji(c: char) -> bool {
    let u = c as u32;
    matches!(u, 0x1F300..=0x1FAFF | 0x2600..=0x27BF | 0x2B50 | 0x2B55 | 0x203C | 0x2049) && !matches!(u, 0x1F3FB..=0x1F3FF)
}

fn is_word_char(c: char) -> bool {
    // Accented Latin letters, the common case after ASCII, from the table.
    match latin(c) {
        Some(l) => l.alphabetic,
        None => c.is_alphanumeric() || c == '_' || c == '\'' || c == '’',
    }
}

/// What the scan of a word found, besides its folded text.
struct Shape {
    /// Letters among the original characters.
    letters: u32,
    /// Some letter was not a capital.
    lowercase: bool,
    /// Characters of the folded word.
    chars: usize,
    /// A run of three equal letters in the folded word.
    stretched: bool,
}

impl Shape {
    const EMPTY: Shape = Shape { letters: 0, lowercase: false, chars: 0, stretched: false };
    fn caps(&self) -> bool {
        self.letters >= 3 && !self.lowercase
    }
    fn elongated(&self) -> bool {
        elongated(self.chars, self.stretched)
    }
}

/// A word of `chars` characters with three equal letters in a row is
/// stretched for emphasis; three-letter words are acronyms ("BBB", "AAA").
#[inline]
fn elongated(chars: usize, stretched: bool) -> bool {
    chars > 3 && stretched
}

/// An ASCII word as one pass over its bytes found it: where it ends, its
/// first bytes lowercased without apostrophes (the word table's key), and
/// what `Shape` needs.
struct AsciiWord {
    end: usize,
    /// The first `HEAD` folded bytes, little-endian, zero after the word.
    head: [u64; 2],
    /// The class bits of all its bytes, or-ed.
    seen: u8,
    letters: u32,
    chars: usize,
    stretched: bool,
}

impl AsciiWord {
    /// Written as its folded form: no capitals, apostrophes or stretched letters.
    #[inline]
    fn already_folded(&self) -> bool {
        self.seen & (UPPER | APOSTROPHE) == 0 && !elongated(self.chars, self.stretched)
    }
}

/// Reads the ASCII word starting at `start`: up to the first byte that
/// cannot continue a word (a non-ASCII byte among them). Finding the end
/// and measuring the word in the same loop reads each byte once.
#[inline]
fn read_ascii_word(bytes: &[u8], start: usize) -> AsciiWord {
    // Locals, not the struct's fields, so that they stay in registers.
    let (mut seen, mut letters, mut chars, mut stretched) = (0u8, 0u32, 0usize, false);
    let (mut run, mut last) = (0u32, 0u8);
    let (mut h0, mut h1) = (0u64, 0u64);
    let mut end = start;
    while let Some(&c) = bytes.get(end) {
        let k = CLASS[usize::from(c)];
        if k & WORD == 0 {
            break;
        }
        end += 1;
        seen |= k;
        letters += u32::from(k & ALPHA);
        if k & APOSTROPHE != 0 {
            continue;
        }
        let lower = c | (k & UPPER);
        // Equal bytes are all letters or all not.
        run = if lower == last { run + 1 } else { 1 };
        stretched |= run > 2 && k & ALPHA != 0;
        last = lower;
        if chars < 8 {
            h0 |= u64::from(lower) << (8 * chars);
        } else if chars < HEAD {
            h1 |= u64::from(lower) << (8 * (chars - 8));
        }
        chars += 1;
    }
    AsciiWord { end, head: [h0, h1], seen, letters, chars, stretched }
}

/// Pushes the ASCII word `raw` that `read_ascii_word` read as `w`,
/// lowercased and without apostrophes. A word that is already lowercase is
/// not copied at all when `at` (its offset in the text, if tokens may
/// borrow from the text) is given.
fn push_ascii_word<'a>(b: &mut Builder<'_, 'a>, raw: &[u8], w: &AsciiWord, at: Option<usize>, kind: Kind) {
    if w.chars == 0 {
        return;
    }
    let shape = Shape { letters: w.letters, lowercase: w.seen & LOWER != 0, chars: w.chars, stretched: w.stretched };
    let key = Key::from_head(w.head, shape.chars);
    match at.and_then(|at| b.source?.get(at..at + raw.len())) {
        Some(text) if w.already_folded() => {
            let info = b.lex.word_keyed(&key, raw);
            push_token(b, kind, &shape, Src::Str(text), None, info, None);
        }
        _ => {
            let from = b.buf.len();
            let head = (u128::from(w.head[1]) << 64 | u128::from(w.head[0])).to_le_bytes();
            match head.get(..shape.chars) {
                Some(folded) => folded.iter().for_each(|&c| b.buf.push(char::from(c))),
                None => {
                    let folded = raw.iter().filter(|c| **c != b'\'').map(|c| char::from(c.to_ascii_lowercase()));
                    b.buf.extend(folded);
                }
            }
            push_folded(b, from, kind, &shape, Some(key));
        }
    }
}

/// Pushes a word folded like `crate::text::fold`, without apostrophes.
fn push_word(b: &mut Builder, raw: &str, kind: Kind) {
    if raw.is_ascii() {
        // `raw` is all word characters (see the callers), so the read ends with it.
        let w = read_ascii_word(raw.as_bytes(), 0);
        debug_assert_eq!(w.end, raw.len());
        return push_ascii_word(b, raw.as_bytes(), &w, None, kind);
    }
    let from = b.buf.len();
    // Words of ASCII and accented Latin letters fold a character at a
    // time (each starts with a base letter, so NFD reorders nothing
    // across them); anything else takes the whole of `fold`.
    let mut shape = Shape::EMPTY;
    let (mut run, mut last) = (0u32, '\0');
    let table = latin_table();
    for c in raw.chars() {
        let (folded, alphabetic, uppercase) = if c.is_ascii() {
            if c == '\'' {
                continue;
            }
            (c.to_ascii_lowercase(), c.is_ascii_alphabetic(), c.is_ascii_uppercase())
        } else if c == '’' {
            continue;
        } else {
            match latin_in(table, c) {
                Some(l) if l.fold != '\0' => (l.fold, l.alphabetic, l.uppercase),
                _ => return push_unicode_word(b, from, raw, kind),
            }
        };
        shape.letters += u32::from(alphabetic);
        shape.lowercase |= alphabetic && !uppercase;
        if folded == last && folded.is_alphabetic() {
            run += 1;
            shape.stretched |= run > 2;
        } else {
            run = 1;
            last = folded;
        }
        shape.chars += 1;
        b.buf.push(folded);
    }
    if shape.chars > 0 {
        push_folded(b, from, kind, &shape, None);
    }
}

/// `push_word` for a word with characters the Latin table does not fold
/// on their own: the whole of `fold`. `b.buf[from..]` holds what was
/// pushed before finding that out.
fn push_unicode_word(b: &mut Builder, from: usize, raw: &str, kind: Kind) {
    b.buf.truncate(from);
    let mut shape = Shape::EMPTY;
    for c in raw.chars().filter(|c| c.is_alphabetic()) {
        shape.letters += 1;
        shape.lowercase |= !c.is_uppercase();
    }
    fold_into(b.buf, raw, true);
    let folded = &b.buf[from..];
    shape.chars = folded.chars().count();
    shape.stretched = has_run_over(folded, 2);
    if shape.chars > 0 {
        push_folded(b, from, kind, &shape, None);
    }
}

/// Makes a token of the folded word at `b.buf[from..]`; `key`: its word
/// table key, when the caller built it.
fn push_folded(b: &mut Builder, from: usize, kind: Kind, shape: &Shape, key: Option<Key>) {
    let lex = b.lex;
    if shape.elongated() {
        let word = &mut *b.word;
        word.clear();
        word.push_str(&b.buf[from..]);
        b.buf.truncate(from);
        push_squeezed(b.buf, word, 2);
        let mid = b.buf.len();
        push_squeezed(b.buf, word, 1);
        let (info, alt_info) = (lex.word(&b.buf[from..mid]), lex.word(&b.buf[mid..]));
        let (from, mid, to) = (from as u32, mid as u32, b.buf.len() as u32);
        push_token(b, kind, shape, Src::Buf(from, mid), Some((mid, to)), info, alt_info);
    } else {
        let word = &b.buf[from..];
        let info = match key {
            Some(key) => lex.word_keyed(&key, word.as_bytes()),
            None => lex.word(word),
        };
        let (x, y) = b.span(from);
        push_token(b, kind, shape, Src::Buf(x, y), None, info, None);
    }
}

/// Pushes the token, or the words it stands for when it is a chat
/// abbreviation (dropping its text from the buffer, which ends with it).
fn push_token<'a>(
    b: &mut Builder<'_, 'a>,
    kind: Kind,
    shape: &Shape,
    text: Src<'a>,
    alt: Option<(u32, u32)>,
    info: Option<&'static WordInfo>,
    alt_info: Option<&'static WordInfo>,
) {
    let (caps, elongated) = (shape.caps(), shape.elongated());
    if let Some(words) = info.and_then(|w| w.expansion).or_else(|| alt_info?.expansion) {
        if let Src::Buf(from, _) = text {
            b.buf.truncate(from as usize);
        }
        for w in words {
            let info = b.lex.word(w);
            b.push(kind, Src::Str(w), None, Known { info, alt_info: None }, Style { caps, elongated });
        }
        return;
    }
    b.push(kind, text, alt, Known { info, alt_info }, Style { caps, elongated });
}

/// Splits a hashtag body at lower→upper changes ("NeverAgain" → never again);
/// an all-lower or all-upper tag stays one word.
fn push_hashtag(b: &mut Builder, body: &str) {
    // Every `_` starts a part of its own, so it can only lead one.
    fn push_part(b: &mut Builder, part: &str) {
        let part = part.strip_prefix('_').unwrap_or(part);
        if !part.is_empty() {
            push_word(b, part, Kind::Hashtag);
        }
    }
    let mut chars = body.char_indices();
    let Some((_, mut prev)) = chars.next() else { return };
    let mut start = 0;
    for (i, c) in chars {
        let split = (c.is_uppercase() && prev.is_lowercase()) || (c.is_alphabetic() != prev.is_alphabetic()) || c == '_';
        if split {
            push_part(b, &body[start..i]);
            start = i;
        }
        prev = c;
    }
    push_part(b, &body[start..]);
}

/// The tokens of `text`; their words are written into `buf` (cleared
/// first), which the caller may reuse from one text to the next.
pub fn tokenize<'a>(text: &'a str, buf: &'a mut String) -> Vec<Token<'a>> {
    tokenize_with(text, buf, &mut TokenScratch::default())
}

/// What an ASCII byte can be, as bits of `CLASS`.
const ALPHA: u8 = 0x01;
const APOSTROPHE: u8 = 0x02;
const LOWER: u8 = 0x04;
/// Continues a word: letters, digits, `_` and `'`.
const WORD: u8 = START | APOSTROPHE;
/// Starts a word: letters, digits and `_`.
const START: u8 = 0x08;
/// A character `char::is_whitespace` accepts.
const SPACE: u8 = 0x10;
/// A capital; also the bit that makes it lowercase.
const UPPER: u8 = 0x20;
/// May start an emoticon; most positions are none of these.
const EMOTICON: u8 = 0x40;
const ALNUM: u8 = 0x80;

/// The class bits of every byte (none for non-ASCII bytes).
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 128 {
        let b = i as u8;
        let mut k = 0;
        if b.is_ascii_alphabetic() {
            k |= ALPHA;
        }
        if b.is_ascii_uppercase() {
            k |= UPPER;
        }
        if b.is_ascii_lowercase() {
            k |= LOWER;
        }
        if b.is_ascii_alphanumeric() {
            k |= ALNUM | START;
        }
        if b == b'_' {
            k |= START;
        }
        if b == b'\'' {
            k |= APOSTROPHE;
        }
        if matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ') {
            k |= SPACE;
        }
        if matches!(b, b'>' | b':' | b';' | b'<' | b'-' | b'^' | b'x' | b'X' | b'D') {
            k |= EMOTICON;
        }
        t[i] = k;
        i += 1;
    }
    t
};

/// From `from`, the end of the text before the next whitespace character,
/// where the text after it starts, and whether it was a newline.
fn next_chunk(text: &str, from: usize) -> (usize, usize, bool) {
    let bytes = text.as_bytes();
    let mut i = from;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            if CLASS[usize::from(b)] & SPACE != 0 {
                return (i, i + 1, b == b'\n');
            }
            i += 1;
        } else {
            let c = text[i..].chars().next().unwrap_or(' ');
            if c.is_whitespace() {
                return (i, i + c.len_utf8(), false);
            }
            i += c.len_utf8();
        }
    }
    (bytes.len(), bytes.len(), false)
}

/// `tokenize` with the token lists taken from `scratch`; hand the result
/// back with `TokenScratch::give_back` to reuse them.
pub fn tokenize_with<'a>(text: &'a str, buf: &'a mut String, scratch: &mut TokenScratch) -> Vec<Token<'a>> {
    let mut tokens: Vec<Token<'a>> = std::mem::take(&mut scratch.tokens);
    let mut b = Builder {
        buf: &mut *buf,
        tokens: &mut tokens,
        fixups: &mut scratch.fixups,
        summary: &mut scratch.summary,
        questions: &mut scratch.questions,
        word: &mut scratch.word,
        lex: lexicon(),
        source: Some(text),
    };
    b.reset();
    if !scan(&mut b, text) {
        // HTML entities as X delivers them; rare, so the text is decoded
        // only when the scan meets an `&`, and scanned again.
        let decoded = text.replace("&amp;", "&").replace("&gt;", ">").replace("&lt;", "<").replace("&quot;", "\"");
        b.reset();
        b.source = None;
        scan(&mut b, &decoded);
    }
    let buf: &'a str = buf;
    let at = |(x, y): (u32, u32)| &buf[x as usize..y as usize];
    for f in &scratch.fixups {
        let t = &mut tokens[f.token as usize];
        if let Some(text) = f.text {
            t.text = at(text);
        }
        t.alt = f.alt.map(at);
    }
    tokens
}

/// One pass over the text. Whitespace cuts it into chunks; a chunk that
/// starts like a link is one URL token, any other is read a character at a
/// time (ASCII through `CLASS`): emoticons, handles, hashtags, words,
/// emoji and breaks. False when it stopped at an `&` outside a link, which
/// may start an HTML entity, when `b.source` is set (the text is the
/// caller's). (Decoding changes no whitespace and no link, so an `&`
/// inside a link changes no token.)
fn scan(b: &mut Builder, text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut chunk_start = true;
    while i < bytes.len() {
        let c = bytes[i];
        if chunk_start {
            chunk_start = false;
            if matches!(c, b'h' | b'H' | b'w' | b'W') && is_link(&text[i..]) {
                let (_, next, newline) = next_chunk(text, i);
                b.plain(Kind::Url, Src::Str("url"));
                if newline {
                    b.newline();
                }
                i = next;
                chunk_start = true;
                continue;
            }
        }
        if c < 0x80 {
            let k = CLASS[usize::from(c)];
            if k & SPACE != 0 {
                if c == b'\n' {
                    b.newline();
                }
                chunk_start = true;
                i += 1;
                continue;
            }
            // Emoticons only where they cannot be part of a word ("D:" in "AND:").
            if k & EMOTICON != 0 && !alphanumeric_before(text, i) {
                if let Some(end) = emoticon(b, text, i) {
                    i = end;
                    continue;
                }
            }
            if k & START != 0 {
                i = ascii_word(b, text, i);
                continue;
            }
            if c == b'@' || c == b'#' {
                if let Some(end) = tag(b, text, i) {
                    i = end;
                    continue;
                }
            }
            if matches!(c, b'.' | b'!' | b'?' | b',' | b';' | b':') {
                b.punct(char::from(c));
            } else if c == b'&' && b.source.is_some() {
                return false;
            }
            i += 1;
        } else {
            let ch = text[i..].chars().next().unwrap_or(' ');
            let after = i + ch.len_utf8();
            if ch.is_whitespace() {
                chunk_start = true;
            } else if ch.is_alphanumeric() {
                let end = word_end(text, i, is_word_char);
                push_word(b, &text[i..end], Kind::Word);
                i = end;
                continue;
            } else if is_emoji(ch) {
                let from = b.buf.len();
                b.buf.push(ch);
                let (x, y) = b.span(from);
                let info = b.lex.word(&b.buf[from..]);
                b.push(Kind::Symbol, Src::Buf(x, y), None, Known { info, alt_info: None }, Style::default());
            } else if matches!(ch, '¿' | '¡' | '…') {
                b.punct(match ch {
                    '…' => '.',
                    '¡' => '!',
                    other => other,
                });
            }
            i = after;
        }
    }
    true
}

fn is_link(chunk: &str) -> bool {
    starts_with_ignore_ascii_case(chunk, "http://") || starts_with_ignore_ascii_case(chunk, "https://") || starts_with_ignore_ascii_case(chunk, "www.")
}

fn starts_with_ignore_ascii_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Whether the character before `i` is a letter or digit (whitespace,
/// and so a chunk's start, is not).
fn alphanumeric_before(text: &str, i: usize) -> bool {
    match text.as_bytes()[..i].last() {
        None => false,
        Some(&p) if p < 0x80 => CLASS[usize::from(p)] & ALNUM != 0,
        Some(_) => text[..i].chars().next_back().is_some_and(char::is_alphanumeric),
    }
}

/// The emoticon at `i`, pushed; its end, or None when there is none (or
/// it runs into a word: "xD" in "xDD" is, ":D" in ":Dhola" still is).
fn emoticon(b: &mut Builder, text: &str, i: usize) -> Option<usize> {
    let rest = &text[i..];
    let first = rest.as_bytes()[0];
    let e = EMOTICONS.iter().find(|e| e.as_bytes()[0] == first && rest.starts_with(**e))?;
    let end = i + e.len();
    let next_is_word = text[end..].chars().next().is_some_and(|n| n.is_alphanumeric());
    if next_is_word && !e.starts_with(':') && !e.starts_with(';') {
        return None;
    }
    b.symbol(Src::Str(e), e);
    Some(end)
}

/// The word starting with the ASCII letter, digit or `_` at `i`, pushed; its end.
fn ascii_word(b: &mut Builder, text: &str, i: usize) -> usize {
    let bytes = text.as_bytes();
    let w = read_ascii_word(bytes, i);
    let end = w.end;
    // Only a non-ASCII byte can continue it ("está").
    if end < bytes.len() && !bytes[end].is_ascii() {
        let full = word_end(text, end, is_word_char);
        if full > end {
            push_word(b, &text[i..full], Kind::Word);
            return full;
        }
    }
    // Most words are already folded (no capitals, apostrophes or
    // stretched letters) and no abbreviation: such a word becomes a token
    // borrowing its text here, without the general path's choices.
    if w.already_folded() {
        if let Some(word) = b.source.and_then(|source| source.get(i..end)) {
            let info = b.lex.word_keyed(&Key::from_head(w.head, w.chars), word.as_bytes());
            if info.is_none_or(|x| x.expansion.is_none()) {
                b.push_folded_word(word, info);
                return end;
            }
        }
    }
    push_ascii_word(b, &bytes[i..end], &w, Some(i), Kind::Word);
    end
}

/// A handle or hashtag at `i` (`@` or `#` followed by a word), pushed; its end.
fn tag(b: &mut Builder, text: &str, i: usize) -> Option<usize> {
    let after = i + 1;
    if !text[after..].chars().next().is_some_and(is_word_char) {
        return None;
    }
    let end = word_end(text, after, |c| c.is_alphanumeric() || c == '_');
    let body = &text[after..end];
    if text.as_bytes()[i] == b'@' {
        let from = b.buf.len();
        fold_into(b.buf, body, false);
        let (x, y) = b.span(from);
        b.plain(Kind::Handle, Src::Buf(x, y));
    } else {
        push_hashtag(b, body);
    }
    Some(end)
}

/// The text of a break token.
fn punct_text(p: char) -> &'static str {
    match p {
        '.' => ".",
        '!' => "!",
        '?' => "?",
        '¿' => "¿",
        ',' => ",",
        ';' => ";",
        '\n' => "\n",
        _ => ":",
    }
}

/// Byte index of the first character from `start` on that is not `part` of the word.
fn word_end(chunk: &str, start: usize, part: impl Fn(char) -> bool) -> usize {
    chunk[start..].char_indices().find(|(_, c)| !part(*c)).map_or(chunk.len(), |(i, _)| start + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        tokenize(s, &mut String::new()).into_iter().map(|t| t.text.to_string()).collect()
    }

    #[test]
    fn accents_case_and_apostrophes_fold_away() {
        assert_eq!(texts("PÉSIMO servicio, don't"), ["pesimo", "servicio", ",", "dont"]);
    }

    #[test]
    fn repeated_letters_keep_a_one_letter_alternative() {
        let mut buf = String::new();
        let t = tokenize("pésimooo", &mut buf);
        assert_eq!(t[0].text, "pesimoo");
        assert_eq!(t[0].alt, Some("pesimo"));
        assert!(t[0].elongated);
        assert!(t[0].matches("pesimo"));
    }

    #[test]
    fn chat_abbreviations_expand() {
        assert_eq!(texts("xq no me contestan? thx"), ["porque", "no", "me", "contestan", "?", "thanks"]);
    }

    #[test]
    fn hashtags_split_at_case_changes_and_handles_stay_whole() {
        let mut buf = String::new();
        let t = tokenize("@Interjet_mx #NeverAgain http://t.co/x :(", &mut buf);
        assert_eq!(t[0].kind, Kind::Handle);
        assert_eq!(t[0].text, "interjet_mx");
        assert_eq!(texts("#NeverAgain")[..], ["never", "again"]);
        assert_eq!(t.last().unwrap().text, ":(");
        assert!(t.iter().any(|x| x.kind == Kind::Url));
    }

    #[test]
    fn the_abbreviation_table_knows_every_abbreviation() {
        // `expand` looks words up in KEYS; a key added to `expansion` only
        // would silently never expand.
        for w in ["q", "xq", "tb", "pls", "porfa", "thx", "ty", "grax", "u", "bc", "im", "thks4", "hs", "cs", "xyz", "porfavor"] {
            assert_eq!(expand(w), expansion(w), "{w}");
        }
        let src = include_str!("normalize.rs");
        let body = &src[src.find("Some(match word {").unwrap()..src.find("_ => return None").unwrap()];
        for line in body.lines().filter(|l| l.contains("=>")) {
            for key in line.split("=>").next().unwrap().split('"').skip(1).step_by(2) {
                assert!(expand(key).is_some(), "{key} is in `expansion` but not in KEYS");
            }
        }
    }

    #[test]
    fn the_fast_fold_agrees_with_text_fold() {
        // `fold_into` skips Unicode decomposition for ASCII and accented
        // Latin letters; it must give exactly what `fold` gives.
        let mut words: Vec<String> = (LATIN_FROM..=LATIN_TO).filter_map(char::from_u32).map(|c| format!("a{c}B{c}")).collect();
        words.extend(["PÉSIMO", "don’t", "Can't", "ÑANDÚ", "İstanbul", "e\u{301}xito", "ǅemo", "straße", "x\u{323}\u{301}"].map(String::from));
        for w in &words {
            for strip in [true, false] {
                let mut got = String::new();
                fold_into(&mut got, w, strip);
                let want: String = fold(w).chars().filter(|c| !strip || (*c != '\'' && *c != '’')).collect();
                assert_eq!(got, want, "{w:?}");
            }
        }
    }

    #[test]
    fn words_of_accented_letters_fold_as_text_fold_does() {
        // `push_word` folds Latin letters a character at a time from the
        // table; the token must be what `fold` makes of the whole word.
        for c in (LATIN_FROM..=LATIN_TO).filter_map(char::from_u32).filter(|c| c.is_alphabetic()) {
            // Digits between, so no fold makes a run of three equal letters.
            let word = format!("1{c}2{c}3");
            assert_eq!(texts(&word), [fold(&word)], "{word:?}");
        }
    }

    #[test]
    fn accented_letters_are_word_characters_as_unicode_says() {
        // `is_word_char` answers from the Latin table in its range.
        for c in (LATIN_FROM..=LATIN_TO).filter_map(char::from_u32) {
            assert_eq!(is_word_char(c), c.is_alphanumeric(), "{c:?}");
        }
    }

    #[test]
    fn html_entities_read_as_the_characters_they_stand_for() {
        // The scan meets the `&` and reads the decoded text instead; an
        // entity inside a link leaves the link one token; a bare `&` stays.
        for (raw, decoded) in [
            ("AT&amp;T me tiene &gt;:( otra vez", "AT&T me tiene >:( otra vez"),
            ("&quot;gracias&quot; por nada &lt;3", "\"gracias\" por nada <3"),
            ("see http://x.co/?a=1&amp;b=2 :(", "see http://x.co/?a=1&b=2 :("),
            ("me & you, 50&60", "me & you, 50&60"),
        ] {
            assert_eq!(texts(raw), texts(decoded), "{raw:?}");
        }
        assert!(texts("AT&amp;T me tiene &gt;:(").contains(&">:(".to_string()));
        assert_eq!(texts("see http://x.co/?a=1&amp;b=2 :("), ["see", "url", ":("]);
    }

    /// What `read_ascii_word` must find, a byte at a time from the
    /// definition: word bytes are ASCII letters, digits, `_` and `'`;
    /// apostrophes are dropped from the key; letters lowercased.
    fn read_ascii_word_bytewise(bytes: &[u8], start: usize) -> AsciiWord {
        let is_word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'\'';
        let end = start + bytes[start..].iter().take_while(|c| is_word(**c)).count();
        let word = &bytes[start..end];
        let folded: Vec<u8> = word.iter().filter(|c| **c != b'\'').map(|c| c.to_ascii_lowercase()).collect();
        let mut head = [0u8; HEAD];
        for (h, c) in head.iter_mut().zip(&folded) {
            *h = *c;
        }
        let stretched = folded.windows(3).any(|w| w[0].is_ascii_alphabetic() && w[0] == w[1] && w[1] == w[2]);
        let mut seen = 0;
        if word.iter().any(u8::is_ascii_lowercase) {
            seen |= LOWER;
        }
        if word.iter().any(u8::is_ascii_uppercase) {
            seen |= UPPER;
        }
        if word.contains(&b'\'') {
            seen |= APOSTROPHE;
        }
        let head = [u64::from_le_bytes(head[..8].try_into().unwrap()), u64::from_le_bytes(head[8..].try_into().unwrap())];
        let letters = word.iter().filter(|c| c.is_ascii_alphabetic()).count() as u32;
        AsciiWord { end, head, seen, letters, chars: folded.len(), stretched }
    }

    #[test]
    fn words_are_measured_as_the_definition_says() {
        // `read_ascii_word` finds, in one loop, the end, folded key,
        // letters (up to 3, all that is asked), capitals, lowercase and
        // stretched letters that reading the definition byte by byte finds.
        let pieces = ["a", "B", "z", "Z", "0", "9", "_", "'", "aaa", "AAA", "aaA", "111", "@", "`", "[", "{", "/", ":"];
        let ends: [&[u8]; 7] = [b"", b" ", b".", b"!x", "é".as_bytes(), b"\0", b"\x7f"];
        let mut checked = 0;
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    for end in ends {
                        let mut text = format!("{a}{b}{c}").into_bytes();
                        text.extend_from_slice(end);
                        for start in 0..text.len() {
                            let (got, want) = (read_ascii_word(&text, start), read_ascii_word_bytewise(&text, start));
                            let what = String::from_utf8_lossy(&text[start..]).into_owned();
                            assert_eq!(
                                (got.end, got.head, got.chars, got.stretched, got.seen & (LOWER | UPPER)),
                                (want.end, want.head, want.chars, want.stretched, want.seen & (LOWER | UPPER)),
                                "{what:?}"
                            );
                            assert_eq!(got.letters.min(3), want.letters.min(3), "{what:?}");
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
    }

    #[test]
    fn the_short_way_for_folded_words_makes_the_tokens_the_general_path_makes() {
        // An `&` makes the tokenizer decode entities and scan the text again
        // without borrowing from it, which takes the general path for every
        // word; a bare `&` adds no token.
        let summary = |s: &str| {
            let mut scratch = TokenScratch::default();
            let mut buf = String::new();
            let tokens: Vec<String> = tokenize_with(s, &mut buf, &mut scratch)
                .iter()
                .map(|t| format!("{:?} {} {:?} {} {} {:?} {:?}", t.kind, t.text, t.alt, t.caps, t.elongated, t.info.map(|w| w.id), t.alt_info.map(|w| w.id)))
                .collect();
            (tokens, scratch.summary, scratch.questions)
        };
        for text in [
            "no me contestan, llevo tres dias sin internet",
            "the app is down again and nobody answers my calls",
            "thx u guys r the best, pls fix it b4 friday",
            "goood service but sooo slow, q onda xq no llega",
            "I am SO done with you people!!! never again",
            "x y z 12 1000 a_b __ aaa AAA ab1 zz9 it's don't",
        ] {
            assert_eq!(summary(text), summary(&format!("{text} &")), "{text}");
        }
    }

    #[test]
    fn emoji_are_tokens_of_their_own() {
        assert_eq!(texts("gracias😍😍"), ["gracias", "😍", "😍"]);
    }
}
