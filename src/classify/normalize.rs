//! Turns a post's raw text into tokens the lexicon can match: folded case and
//! accents, apostrophes dropped, letter runs shortened, chat abbreviations
//! expanded, hashtags split, emoji and emoticons kept as tokens, URLs kept
//! only as a marker. Owns no judgement about what a token means.
//!
//! Tokens borrow their text from one buffer per call (the caller's, reused)
//! or from static strings; the token lists themselves are the caller's too
//! (`TokenScratch`), so a post costs no allocation once they have grown.

use super::lexicon::{lexicon, WordInfo};
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
    ">:-(", ">:(", ":'-(", ":'(", ":-((", ":((", ":-))", ":))", ":-)", ":-(", ":-D", ":-P", ":-p", ":-/", ":-|", ":-o",
    ":-O", ";-)", ":)", ":(", ":D", ":P", ":p", ":/", ":|", ":o", ":O", ";)", "<3", "</3", "-_-", "^^", "^_^", "xD", "XD",
    "D:",
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
    const KEYS: &[&str] = &["q", "k", "ke", "qe", "xq", "pq", "xk", "pk", "porq", "pork", "xke", "xque", "tb", "tmb", "tbn", "tmbn", "tambn", "pls", "plz", "plis", "pleas", "plss", "porfa", "porfis", "xfa", "xfavor", "pf", "porfavor", "thx", "thnx", "thanx", "tnx", "tks", "thks", "thnks", "tx", "thankyou", "ty", "tyvm", "grax", "grcs", "grs", "grasias", "gracas", "u", "ur", "r", "bc", "cuz", "coz", "bcuz", "bcoz", "becuz", "bcs", "dnt", "b4", "2day", "2nite", "tonite", "hrs", "hr", "mins", "min", "hs", "msg", "d", "bn", "dsd", "xa", "tmp", "nd", "cs", "srsly", "w", "wo", "n", "luv", "gr8", "thks4", "im"];
    KEYS.iter().filter_map(|k| Some((*k, expansion(k)?)))
}

/// `expansion`, from the lexicon's word table.
#[cfg(test)]
fn expand(word: &str) -> Option<&'static [&'static str]> {
    lexicon().word(word).and_then(|w| w.expansion)
}

/// Where a token's text is while the buffer is still growing: a static
/// string or a byte range of the buffer.
#[derive(Clone, Copy)]
enum Src {
    Static(&'static str),
    Buf(u32, u32),
}

#[derive(Clone, Copy)]
struct Raw {
    kind: Kind,
    text: Src,
    alt: Option<(u32, u32)>,
    caps: bool,
    elongated: bool,
    info: Option<&'static WordInfo>,
    alt_info: Option<&'static WordInfo>,
}

impl Raw {
    fn new(kind: Kind, text: Src) -> Raw {
        Raw { kind, text, alt: None, caps: false, elongated: false, info: None, alt_info: None }
    }
    /// A symbol (emoji, emoticon), which the lexicon may know.
    fn symbol(text: Src, s: &str) -> Raw {
        Raw { info: lexicon().word(s), ..Raw::new(Kind::Symbol, text) }
    }
}

/// The buffer being filled, the tokens pointing into it, and a scratch word.
struct Builder<'b> {
    buf: &'b mut String,
    raw: &'b mut Vec<Raw>,
    word: &'b mut String,
}

/// Lists `tokenize_with` fills and a later call reuses (empty between
/// calls; only their capacity is kept).
#[derive(Default)]
pub struct TokenScratch {
    raw: Vec<Raw>,
    word: String,
    tokens: Vec<Token<'static>>,
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

impl Builder<'_> {
    fn span(&self, from: usize) -> (u32, u32) {
        (from as u32, self.buf.len() as u32)
    }
    fn last_is(&self, pred: impl Fn(&Raw) -> bool) -> bool {
        self.raw.last().is_some_and(pred)
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

/// `fold` of one accented Latin letter ("É" → 'e', "ñ" → 'n'), from a table
/// built once with `fold` itself; None for characters outside the table or
/// whose fold is not one character.
fn latin_fold(c: char) -> Option<char> {
    static TABLE: OnceLock<Vec<char>> = OnceLock::new();
    let u = c as u32;
    if !(LATIN_FROM..=LATIN_TO).contains(&u) {
        return None;
    }
    let table = TABLE.get_or_init(|| {
        (LATIN_FROM..=LATIN_TO)
            .map(|u| {
                let Some(c) = char::from_u32(u) else { return '\0' };
                let mut utf8 = [0; 4];
                let one: &str = c.encode_utf8(&mut utf8);
                let f = fold(one);
                let mut chars = f.chars();
                // A character whose decomposition started with a combining
                // mark could reorder with its neighbours: leave it to `fold`.
                let starts_plain = unicode_normalization::UnicodeNormalization::nfd(one)
                    .next()
                    .is_some_and(|d| unicode_normalization::char::canonical_combining_class(d) == 0);
                match (chars.next(), chars.next()) {
                    (Some(one), None) if starts_plain => one,
                    _ => '\0',
                }
            })
            .collect()
    });
    Some(table[(u - LATIN_FROM) as usize]).filter(|f| *f != '\0')
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
    matches!(u, 0x1F300..=0x1FAFF | 0x2600..=0x27BF | 0x2B50 | 0x2B55 | 0x203C | 0x2049)
        && !matches!(u, 0x1F3FB..=0x1F3FF)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '\'' || c == '’'
}

fn push_word(b: &mut Builder, raw: &str, kind: Kind) {
    let (mut letters, mut upper) = (0usize, 0usize);
    let from = b.buf.len();
    let elongated;
    if raw.is_ascii() {
        // One pass counts letters and capitals, finds apostrophes and
        // whether the folded word (lowercase, apostrophes gone) has a run
        // of three equal letters, as `has_run_over(folded, 2)` would.
        let (mut apostrophes, mut run, mut last, mut stretched) = (0usize, 0usize, 0u8, false);
        for c in raw.bytes() {
            letters += usize::from(c.is_ascii_alphabetic());
            upper += usize::from(c.is_ascii_uppercase());
            if c == b'\'' {
                apostrophes += 1;
                continue;
            }
            let lower = c.to_ascii_lowercase();
            if lower == last && lower.is_ascii_alphabetic() {
                run += 1;
                stretched |= run > 2;
            } else {
                run = 1;
                last = lower;
            }
        }
        if apostrophes > 0 {
            b.buf.extend(raw.bytes().filter(|c| *c != b'\'').map(|c| char::from(c.to_ascii_lowercase())));
        } else {
            b.buf.push_str(raw);
            b.buf[from..].make_ascii_lowercase();
        }
        // Three-letter words are acronyms ("BBB", "AAA"), not emphasis.
        elongated = raw.len() - apostrophes > 3 && stretched;
    } else {
        for c in raw.chars().filter(|c| c.is_alphabetic()) {
            letters += 1;
            upper += usize::from(c.is_uppercase());
        }
        fold_into(b.buf, raw, true);
        let folded = &b.buf[from..];
        let long_enough = if folded.is_ascii() { folded.len() > 3 } else { folded.chars().nth(3).is_some() };
        elongated = long_enough && has_run_over(folded, 2);
    }
    let caps = letters >= 3 && upper == letters;
    if b.buf.len() > from {
        push_folded(b, from, kind, caps, elongated);
    }
}

/// Makes a token of the folded word at `b.buf[from..]`; `elongated`: it has
/// a run of three equal letters and more than three characters.
fn push_folded(b: &mut Builder, from: usize, kind: Kind, caps: bool, elongated: bool) {
    let (text, alt) = if elongated {
        let word = &mut *b.word;
        word.clear();
        word.push_str(&b.buf[from..]);
        b.buf.truncate(from);
        push_squeezed(b.buf, word, 2);
        let mid = b.buf.len();
        push_squeezed(b.buf, word, 1);
        ((from as u32, mid as u32), Some((mid as u32, b.buf.len() as u32)))
    } else {
        (b.span(from), None)
    };
    let lex = lexicon();
    let (info, alt_info) = {
        let s = |(x, y): (u32, u32)| &b.buf[x as usize..y as usize];
        (lex.word(s(text)), alt.and_then(|a| lex.word(s(a))))
    };
    if let Some(words) = info.and_then(|w| w.expansion).or_else(|| alt_info?.expansion) {
        b.buf.truncate(from);
        for w in words {
            b.raw.push(Raw { kind, text: Src::Static(w), alt: None, caps, elongated, info: lex.word(w), alt_info: None });
        }
        return;
    }
    b.raw.push(Raw { kind, text: Src::Buf(text.0, text.1), alt, caps, elongated, info, alt_info });
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
pub fn tokenize<'a>(text: &str, buf: &'a mut String) -> Vec<Token<'a>> {
    tokenize_with(text, buf, &mut TokenScratch::default())
}

/// Bytes that continue an ASCII word: letters, digits, `_` and `'`.
const ASCII_WORD: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 128 {
        t[b] = (b as u8).is_ascii_alphanumeric() || b == b'_' as usize || b == b'\'' as usize;
        b += 1;
    }
    t
};

/// Whether each ASCII byte is a character `char::is_whitespace` accepts.
const ASCII_SPACE: [bool; 128] = {
    let mut t = [false; 128];
    t[b'\t' as usize] = true;
    t[b'\n' as usize] = true;
    t[0x0B] = true;
    t[0x0C] = true;
    t[b'\r' as usize] = true;
    t[b' ' as usize] = true;
    t
};

/// From `from`, the end of the text before the next whitespace character,
/// where the text after it starts, and whether it was a newline: the
/// pieces `split_inclusive(char::is_whitespace)` gives, found a byte at a
/// time for ASCII.
fn next_chunk(text: &str, from: usize) -> (usize, usize, bool) {
    let bytes = text.as_bytes();
    let mut i = from;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            if ASCII_SPACE[usize::from(b)] {
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
pub fn tokenize_with<'a>(text: &str, buf: &'a mut String, scratch: &mut TokenScratch) -> Vec<Token<'a>> {
    buf.clear();
    scratch.raw.clear();
    let mut b = Builder { buf: &mut *buf, raw: &mut scratch.raw, word: &mut scratch.word };
    // HTML entities as X delivers them.
    let decoded;
    let text = if text.contains('&') {
        decoded = text.replace("&amp;", "&").replace("&gt;", ">").replace("&lt;", "<").replace("&quot;", "\"");
        decoded.as_str()
    } else {
        text
    };
    let mut from = 0;
    while from < text.len() {
        let (end, next, has_newline) = next_chunk(text, from);
        let chunk = &text[from..end];
        from = next;
        if matches!(chunk.as_bytes().first(), Some(b'h' | b'H' | b'w' | b'W'))
            && (starts_with_ignore_ascii_case(chunk, "http://")
                || starts_with_ignore_ascii_case(chunk, "https://")
                || starts_with_ignore_ascii_case(chunk, "www."))
        {
            b.raw.push(Raw::new(Kind::Url, Src::Static("url")));
        } else {
            scan_chunk(&mut b, chunk);
        }
        if has_newline && !b.last_is(|t| is_sentence_end(t.kind)) {
            b.raw.push(Raw::new(Kind::Punct('\n'), Src::Static("\n")));
        }
    }
    let buf: &'a str = buf;
    let at = |(x, y): (u32, u32)| &buf[x as usize..y as usize];
    let mut tokens: Vec<Token<'a>> = std::mem::take(&mut scratch.tokens);
    tokens.extend(scratch.raw.iter().map(|r| Token {
        kind: r.kind,
        text: match r.text {
            Src::Static(s) => s,
            Src::Buf(x, y) => at((x, y)),
        },
        alt: r.alt.map(at),
        caps: r.caps,
        elongated: r.elongated,
        info: r.info,
        alt_info: r.alt_info,
    }));
    tokens
}

fn starts_with_ignore_ascii_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Characters an emoticon can start with; most positions are none of them.
fn may_start_emoticon(c: char) -> bool {
    matches!(c, '>' | ':' | ';' | '<' | '-' | '^' | 'x' | 'X' | 'D')
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
        _ => ":",
    }
}

fn scan_chunk(b: &mut Builder, chunk: &str) {
    let mut pos = 0;
    while let Some(c) = chunk[pos..].chars().next() {
        let rest = &chunk[pos..];
        // Emoticons only where they cannot be part of a word ("D:" in "AND:").
        if may_start_emoticon(c) && !chunk[..pos].chars().next_back().is_some_and(char::is_alphanumeric) {
            let first = rest.as_bytes()[0];
            if let Some(e) = EMOTICONS.iter().find(|e| e.as_bytes()[0] == first && rest.starts_with(**e)) {
                let end = pos + e.len();
                let next_is_word = chunk[end..].chars().next().is_some_and(|n| n.is_alphanumeric());
                if !next_is_word || e.starts_with(':') || e.starts_with(';') {
                    b.raw.push(Raw::symbol(Src::Static(e), e));
                    pos = end;
                    continue;
                }
            }
        }
        let after = pos + c.len_utf8();
        if (c == '@' || c == '#') && chunk[after..].chars().next().is_some_and(is_word_char) {
            let end = word_end(chunk, after, |c| c.is_alphanumeric() || c == '_');
            let body = &chunk[after..end];
            if c == '@' {
                let from = b.buf.len();
                fold_into(b.buf, body, false);
                let (x, y) = b.span(from);
                b.raw.push(Raw::new(Kind::Handle, Src::Buf(x, y)));
            } else {
                push_hashtag(b, body);
            }
            pos = end;
            continue;
        }
        if is_word_char(c) && c != '\'' && c != '’' {
            // ASCII letters and digits end at an ASCII byte that is not
            // part of a word; only a non-ASCII byte needs the char scan.
            let bytes = chunk.as_bytes();
            let mut end = pos;
            while end < bytes.len() && ASCII_WORD[usize::from(bytes[end])] {
                end += 1;
            }
            if end < bytes.len() && !bytes[end].is_ascii() {
                end = word_end(chunk, pos, is_word_char);
            }
            push_word(b, &chunk[pos..end], Kind::Word);
            pos = end;
            continue;
        }
        if is_emoji(c) {
            let from = b.buf.len();
            b.buf.push(c);
            let (x, y) = b.span(from);
            b.raw.push(Raw::symbol(Src::Buf(x, y), &b.buf[from..]));
        } else if matches!(c, '.' | '!' | '?' | '¿' | '¡' | ',' | ';' | ':' | '…') {
            let p = match c {
                '…' => '.',
                '¡' => '!',
                other => other,
            };
            // "!!!" and "..." are one break each.
            if !b.last_is(|t| t.kind == Kind::Punct(p)) {
                b.raw.push(Raw::new(Kind::Punct(p), Src::Static(punct_text(p))));
            }
        }
        pos = after;
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
    fn emoji_are_tokens_of_their_own() {
        assert_eq!(texts("gracias😍😍"), ["gracias", "😍", "😍"]);
    }
}
