//! Text helpers shared by sources, matching and output: accent/case
//! folding, HTML to plain text, and text made safe for a terminal. Pure
//! functions.

use unicode_normalization::UnicodeNormalization;

/// Lowercase and strip combining marks, so "Interjét" and "INTERJET" both
/// fold to "interjet". `ñ` folds to `n`, which is what people typing without
/// accents write anyway.
pub fn fold(s: &str) -> String {
    s.nfd().filter(|c| !unicode_normalization::char::is_combining_mark(*c)).flat_map(char::to_lowercase).collect()
}

/// Mastodon's sanitized status HTML (`<p>`, `<br>`, `<span>`, `<a>`) as
/// plain text: `<br>` is a newline, a paragraph break a blank line, every
/// other tag is dropped but its text kept (so `@<span>user</span>` reads
/// `@user` and a shortened link keeps its invisible parts, i.e. the full
/// URL), entities are decoded and runs of spaces collapse to one.
pub fn html_to_text(html: &str) -> String {
    let mut out = Text::default();
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => match tag_end(rest) {
                Some(end) => {
                    let tag = &rest[1..end];
                    let (name, closing) = tag_name(tag);
                    match (name.as_str(), closing) {
                        ("br", _) => out.newline(),
                        ("p", true) => out.paragraph_end(),
                        ("p", false) => out.paragraph_start(),
                        _ => {}
                    }
                    rest = &rest[end + 1..];
                }
                // A lone `<` (not a tag) is text.
                None => {
                    out.push('<');
                    rest = &rest[1..];
                }
            },
            '&' => match decode_entity(rest) {
                Some((decoded, len)) => {
                    out.push(decoded);
                    rest = &rest[len..];
                }
                None => {
                    out.push('&');
                    rest = &rest[1..];
                }
            },
            _ => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out.finish()
}

/// Builds the text, collapsing whitespace as a browser would.
#[derive(Default)]
struct Text {
    s: String,
    /// Newlines owed before the next visible character; emitted lazily so
    /// trailing breaks never end up in the result.
    pending_newlines: usize,
}

impl Text {
    fn push(&mut self, c: char) {
        // Source newlines and tabs are plain whitespace in HTML; a no-break
        // space is a space to anyone matching words.
        let c = if c.is_whitespace() { ' ' } else { c };
        if c == ' ' {
            if self.pending_newlines == 0 && !self.s.is_empty() && !self.s.ends_with([' ', '\n']) {
                self.s.push(' ');
            }
            return;
        }
        if self.pending_newlines > 0 {
            if !self.s.is_empty() {
                let trimmed = self.s.trim_end_matches(' ').len();
                self.s.truncate(trimmed);
                for _ in 0..self.pending_newlines {
                    self.s.push('\n');
                }
            }
            self.pending_newlines = 0;
        }
        self.s.push(c);
    }
    fn newline(&mut self) {
        self.pending_newlines += 1;
    }
    fn paragraph_start(&mut self) {
        if !self.s.is_empty() {
            self.pending_newlines = self.pending_newlines.max(2);
        }
    }
    fn paragraph_end(&mut self) {
        self.pending_newlines = self.pending_newlines.max(2);
    }
    fn finish(self) -> String {
        self.s.trim_end().to_string()
    }
}

/// Index of the `>` closing the tag that starts `s`, skipping quoted
/// attribute values; None when `s` does not start a tag.
fn tag_end(s: &str) -> Option<usize> {
    let next = s[1..].chars().next()?;
    if !(next.is_ascii_alphabetic() || next == '/' || next == '!') {
        return None;
    }
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices().skip(1) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

/// The lowercase element name of a tag's inside (`a href=…`, `/p`, `br /`)
/// and whether it is a closing tag.
fn tag_name(tag: &str) -> (String, bool) {
    let closing = tag.starts_with('/');
    let name = tag.trim_start_matches('/').split(|c: char| c.is_whitespace() || c == '/').next().unwrap_or("");
    (name.to_ascii_lowercase(), closing)
}

/// Decodes the entity starting `s` (`&amp;`, `&#39;`, `&#x27;`), returning
/// the character and how many bytes it took. Unknown entities stay as text.
fn decode_entity(s: &str) -> Option<(char, usize)> {
    let end = s.char_indices().take(12).find(|&(_, c)| c == ';').map(|(i, _)| i)?;
    let name = &s[1..end];
    let c = if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        char::from_u32(code)?
    } else {
        match name {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            "nbsp" => '\u{a0}',
            "hellip" => '…',
            "mdash" => '—',
            "ndash" => '–',
            "lsquo" => '‘',
            "rsquo" => '’',
            "ldquo" => '“',
            "rdquo" => '”',
            "laquo" => '«',
            "raquo" => '»',
            "iexcl" => '¡',
            "iquest" => '¿',
            "euro" => '€',
            "copy" => '©',
            "reg" => '®',
            "trade" => '™',
            _ => return None,
        }
    };
    Some((c, end + 1))
}

/// `s` made safe to print on one line of a terminal: line breaks and tabs
/// become spaces, and every other control character (C0 including NUL and
/// ESC, DEL, C1) and every bidirectional override or isolate becomes U+FFFD,
/// so a mention can neither move the cursor, recolour the screen, nor
/// visually reorder the columns after it (RTL override, "Trojan Source").
pub fn for_terminal(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() => '\u{fffd}',
            '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => '\u{fffd}',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_text_has_no_control_or_bidi_characters() {
        assert_eq!(for_terminal("a\r\nb\tc\x1b[31md\0e\u{7f}\u{9b}f\u{202e}g\u{2066}h"), "a  b c\u{fffd}[31md\u{fffd}e\u{fffd}\u{fffd}f\u{fffd}g\u{fffd}h");
        assert_eq!(for_terminal("Señor ÁVILA z̷̢a̶l̵g̸o"), "Señor ÁVILA z̷̢a̶l̵g̸o");
    }

    #[test]
    fn a_mention_keeps_its_link_text() {
        let html = r#"<p><span class="h-card" translate="no"><a href="http://localhost:3000/@mastodonpy_test" class="u-url mention">@<span>mastodonpy_test</span></a></span> hello!</p>"#;
        assert_eq!(html_to_text(html), "@mastodonpy_test hello!");
    }

    #[test]
    fn a_hashtag_keeps_its_link_text() {
        let html = r#"<p><a href="http://localhost:3000/tags/hoot" class="mention hashtag" rel="tag">#<span>hoot</span></a> (hashtag toot)</p>"#;
        assert_eq!(html_to_text(html), "#hoot (hashtag toot)");
    }

    #[test]
    fn entities_are_decoded_named_and_numeric() {
        assert_eq!(html_to_text("<p>Tom &amp; Jerry&#39;s &lt;b&gt; &quot;x&quot; it&#x27;s &iquest;qu&eacute;?</p>"), "Tom & Jerry's <b> \"x\" it's ¿qu&eacute;?");
    }

    #[test]
    fn line_breaks_and_paragraphs_become_newlines() {
        assert_eq!(html_to_text("<p>uno<br>dos<br />tres</p><p>cuatro</p>"), "uno\ndos\ntres\n\ncuatro");
    }

    #[test]
    fn runs_of_spaces_collapse_and_edges_are_trimmed() {
        assert_eq!(html_to_text("<p>  muy   mal \n servicio  </p>"), "muy mal servicio");
        assert_eq!(html_to_text("<p>a &nbsp; b</p>"), "a b");
    }

    #[test]
    fn a_shortened_link_reads_as_the_whole_url() {
        let html = r#"<p>mira <a href="https://example.com/a/very/long/path" rel="nofollow noopener" target="_blank"><span class="invisible">https://</span><span class="ellipsis">example.com/a/very</span><span class="invisible">/long/path</span></a></p>"#;
        assert_eq!(html_to_text(html), "mira https://example.com/a/very/long/path");
    }

    #[test]
    fn text_that_only_looks_like_markup_is_kept() {
        assert_eq!(html_to_text("1 < 2 & 3 > 2"), "1 < 2 & 3 > 2");
        assert_eq!(html_to_text("<a title=\"x > y\">link</a>"), "link");
    }
    #[test]
    fn folding_ignores_case_and_accents() {
        assert_eq!(fold("Interjét"), "interjet");
        assert_eq!(fold("INTERJET"), "interjet");
        assert_eq!(fold("Señor ÁVILA"), "senor avila");
    }
}
