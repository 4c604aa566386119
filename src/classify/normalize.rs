//! Turns a post's raw text into tokens the lexicon can match: folded case and
//! accents, apostrophes dropped, letter runs shortened, chat abbreviations
//! expanded, hashtags split, emoji and emoticons kept as tokens, URLs kept
//! only as a marker. Owns no judgement about what a token means.

use super::lexicon::FastMap;
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

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: Kind,
    /// Folded form, runs of 3+ equal letters cut to 2 ("goood" → "good").
    pub text: String,
    /// Runs cut to 1 ("pesimooo" → "pesimo"), when that differs from `text`.
    pub alt: Option<String>,
    /// Written in capitals (at least 3 letters), e.g. "NEVER".
    pub caps: bool,
    /// Had a letter repeated 3+ times, a sign of emphasis.
    pub elongated: bool,
}

impl Token {
    fn new(kind: Kind, text: String) -> Token {
        Token { kind, text, alt: None, caps: false, elongated: false }
    }
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
        self.text == word || self.alt.as_deref() == Some(word)
    }
    pub fn starts_with(&self, prefix: &str) -> bool {
        self.text.starts_with(prefix) || self.alt.as_deref().is_some_and(|a| a.starts_with(prefix))
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

/// `expansion` as a table built once: a `match` on strings compares the
/// word with the patterns one by one, and this runs for every word.
fn expand(word: &str) -> Option<&'static [&'static str]> {
    static MAP: OnceLock<FastMap<&'static str, &'static [&'static str]>> = OnceLock::new();
    // Every key of `expansion`, which `match` cannot enumerate; a test checks the two agree.
    const KEYS: &[&str] = &["q", "k", "ke", "qe", "xq", "pq", "xk", "pk", "porq", "pork", "xke", "xque", "tb", "tmb", "tbn", "tmbn", "tambn", "pls", "plz", "plis", "pleas", "plss", "porfa", "porfis", "xfa", "xfavor", "pf", "porfavor", "thx", "thnx", "thanx", "tnx", "tks", "thks", "thnks", "tx", "thankyou", "ty", "tyvm", "grax", "grcs", "grs", "grasias", "gracas", "u", "ur", "r", "bc", "cuz", "coz", "bcuz", "bcoz", "becuz", "bcs", "dnt", "b4", "2day", "2nite", "tonite", "hrs", "hr", "mins", "min", "hs", "msg", "d", "bn", "dsd", "xa", "tmp", "nd", "cs", "srsly", "w", "wo", "n", "luv", "gr8", "thks4", "im"];
    if word.len() > 8 {
        return None;
    }
    MAP.get_or_init(|| KEYS.iter().filter_map(|k| Some((*k, expansion(k)?))).collect()).get(word).copied()
}

/// Cuts runs of one letter: `max` 2 gives "goood" → "good", 1 gives "god".
fn squeeze(word: &str, max: usize) -> (String, bool) {
    let mut out = String::with_capacity(word.len());
    let mut last = None;
    let mut run = 0;
    let mut squeezed = false;
    for c in word.chars() {
        if Some(c) == last && c.is_alphabetic() {
            run += 1;
        } else {
            run = 1;
            last = Some(c);
        }
        if run <= max {
            out.push(c);
        } else {
            squeezed = true;
        }
    }
    (out, squeezed)
}

/// Whether `squeeze(word, max)` would cut anything, without building it.
fn has_run_over(word: &str, max: usize) -> bool {
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

/// `crate::text::fold` without apostrophes; ASCII, by far the common case,
/// needs no Unicode decomposition.
fn fold_word(raw: &str) -> String {
    if raw.is_ascii() {
        let mut s = raw.to_ascii_lowercase();
        if s.contains('\'') {
            s.retain(|c| c != '\'');
        }
        s
    } else {
        fold(raw).chars().filter(|c| *c != '\'' && *c != '’').collect()
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

fn push_word(out: &mut Vec<Token>, raw: &str, kind: Kind) {
    let (mut letters, mut upper) = (0usize, 0usize);
    if raw.is_ascii() {
        for b in raw.bytes().filter(u8::is_ascii_alphabetic) {
            letters += 1;
            upper += usize::from(b.is_ascii_uppercase());
        }
    } else {
        for c in raw.chars().filter(|c| c.is_alphabetic()) {
            letters += 1;
            upper += usize::from(c.is_uppercase());
        }
    }
    let caps = letters >= 3 && upper == letters;
    let folded = fold_word(raw);
    if folded.is_empty() {
        return;
    }
    // Three-letter words are acronyms ("BBB", "AAA"), not emphasis.
    let elongated = folded.chars().nth(3).is_some() && has_run_over(&folded, 2);
    let (two, one) = if elongated { (squeeze(&folded, 2).0, Some(squeeze(&folded, 1).0)) } else { (folded, None) };
    if let Some(words) = expand(&two).or_else(|| one.as_deref().and_then(expand)) {
        for w in words {
            out.push(Token { kind, text: (*w).to_string(), alt: None, caps, elongated });
        }
        return;
    }
    out.push(Token { kind, text: two, alt: one, caps, elongated });
}

/// Splits a hashtag body at lower→upper changes ("NeverAgain" → never again);
/// an all-lower or all-upper tag stays one word.
fn push_hashtag(out: &mut Vec<Token>, body: &str) {
    let chars: Vec<char> = body.chars().collect();
    let mut start = 0;
    for i in 1..chars.len() {
        let split = (chars[i].is_uppercase() && chars[i - 1].is_lowercase())
            || (chars[i].is_alphabetic() != chars[i - 1].is_alphabetic())
            || chars[i] == '_';
        if split {
            let part: String = chars[start..i].iter().filter(|c| **c != '_').collect();
            if !part.is_empty() {
                push_word(out, &part, Kind::Hashtag);
            }
            start = i;
        }
    }
    let part: String = chars[start..].iter().filter(|c| **c != '_').collect();
    if !part.is_empty() {
        push_word(out, &part, Kind::Hashtag);
    }
}

pub fn tokenize(text: &str) -> Vec<Token> {
    let mut out = Vec::with_capacity(text.len() / 4 + 4);
    // HTML entities as X delivers them.
    let decoded;
    let text = if text.contains('&') {
        decoded = text.replace("&amp;", "&").replace("&gt;", ">").replace("&lt;", "<").replace("&quot;", "\"");
        decoded.as_str()
    } else {
        text
    };
    for chunk in text.split_inclusive(char::is_whitespace) {
        let has_newline = chunk.ends_with('\n');
        let chunk = chunk.trim_end();
        if starts_with_ignore_ascii_case(chunk, "http://")
            || starts_with_ignore_ascii_case(chunk, "https://")
            || starts_with_ignore_ascii_case(chunk, "www.")
        {
            out.push(Token::new(Kind::Url, "url".into()));
        } else {
            scan_chunk(&mut out, chunk);
        }
        if has_newline && !matches!(out.last(), Some(t) if t.is_sentence_end()) {
            out.push(Token::new(Kind::Punct('\n'), "\n".into()));
        }
    }
    out
}

fn starts_with_ignore_ascii_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Characters an emoticon can start with; most positions are none of them.
fn may_start_emoticon(c: char) -> bool {
    matches!(c, '>' | ':' | ';' | '<' | '-' | '^' | 'x' | 'X' | 'D')
}

fn scan_chunk(out: &mut Vec<Token>, chunk: &str) {
    let mut pos = 0;
    while let Some(c) = chunk[pos..].chars().next() {
        let rest = &chunk[pos..];
        // Emoticons only where they cannot be part of a word ("D:" in "AND:").
        let prev_is_word = chunk[..pos].chars().next_back().is_some_and(char::is_alphanumeric);
        if !prev_is_word && may_start_emoticon(c) {
            if let Some(e) = EMOTICONS.iter().find(|e| rest.starts_with(**e)) {
                let end = pos + e.len();
                let next_is_word = chunk[end..].chars().next().is_some_and(|n| n.is_alphanumeric());
                if !next_is_word || e.starts_with(':') || e.starts_with(';') {
                    out.push(Token::new(Kind::Symbol, (*e).to_string()));
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
                out.push(Token::new(Kind::Handle, fold(body)));
            } else {
                push_hashtag(out, body);
            }
            pos = end;
            continue;
        }
        if is_word_char(c) && c != '\'' && c != '’' {
            let end = word_end(chunk, pos, is_word_char);
            push_word(out, &chunk[pos..end], Kind::Word);
            pos = end;
            continue;
        }
        if is_emoji(c) {
            out.push(Token::new(Kind::Symbol, c.to_string()));
        } else if matches!(c, '.' | '!' | '?' | '¿' | '¡' | ',' | ';' | ':' | '…') {
            let p = match c {
                '…' => '.',
                '¡' => '!',
                other => other,
            };
            // "!!!" and "..." are one break each.
            if !matches!(out.last(), Some(Token { kind: Kind::Punct(q), .. }) if *q == p) {
                out.push(Token::new(Kind::Punct(p), p.to_string()));
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
        tokenize(s).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn accents_case_and_apostrophes_fold_away() {
        assert_eq!(texts("PÉSIMO servicio, don't"), ["pesimo", "servicio", ",", "dont"]);
    }

    #[test]
    fn repeated_letters_keep_a_one_letter_alternative() {
        let t = tokenize("pésimooo");
        assert_eq!(t[0].text, "pesimoo");
        assert_eq!(t[0].alt.as_deref(), Some("pesimo"));
        assert!(t[0].elongated);
        assert!(t[0].matches("pesimo"));
    }

    #[test]
    fn chat_abbreviations_expand() {
        assert_eq!(texts("xq no me contestan? thx"), ["porque", "no", "me", "contestan", "?", "thanks"]);
    }

    #[test]
    fn hashtags_split_at_case_changes_and_handles_stay_whole() {
        let t = tokenize("@Interjet_mx #NeverAgain http://t.co/x :(");
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
    fn emoji_are_tokens_of_their_own() {
        assert_eq!(texts("gracias😍😍"), ["gracias", "😍", "😍"]);
    }
}
