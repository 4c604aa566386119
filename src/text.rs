//! Text helpers shared by sources, matching and output: accent/case
//! folding, HTML to plain text, and text made safe for a terminal. Pure
//! functions.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

/// Lowercase and strip combining marks, so "Interjét" and "INTERJET" both
/// fold to "interjet". `ñ` folds to `n`, which is what people typing without
/// accents write anyway.
pub fn fold(s: &str) -> String {
    s.nfd().filter(|c| !unicode_normalization::char::is_combining_mark(*c)).flat_map(char::to_lowercase).collect()
}

/// HTML (Mastodon's sanitized status HTML, feed titles and summaries,
/// Hacker News comments) as plain text: `<br>` is a newline, a paragraph
/// break a blank line, other block-level tags (`div`, `li`, `h1`, `tr`, …)
/// start a new line and table cells are separated by a space, so
/// `a</div><div>b` never reads `ab`. Inline tags are dropped but their text
/// kept (so `@<span>user</span>` reads `@user` and a shortened link keeps its
/// invisible parts, i.e. the full URL), character references are decoded
/// once (see [`decode_entities`]) and runs of spaces collapse to one.
pub fn html_to_text(html: &str) -> String {
    let mut out = Text::default();
    // Text runs between tags are decoded whole: a reference never spans a
    // tag, and decoded text is never scanned again (`&amp;lt;` reads `&lt;`).
    let mut text_start = 0;
    let mut from = 0;
    while let Some(offset) = html[from..].find('<') {
        let at = from + offset;
        // A lone `<` (not a tag) is text.
        let Some(end) = tag_end(&html[at..]) else {
            from = at + 1;
            continue;
        };
        out.push_str(&decode_entities(&html[text_start..at]));
        let (name, closing) = tag_name(&html[at + 1..at + end]);
        match (Break::of(&name), closing) {
            (Break::Newline, _) => out.newline(),
            (Break::Paragraph, true) => out.paragraph_end(),
            (Break::Paragraph, false) => out.paragraph_start(),
            (Break::Line, _) => out.line_break(),
            (Break::Space, _) => out.push(' '),
            (Break::None, _) => {}
        }
        from = at + end + 1;
        text_start = from;
    }
    out.push_str(&decode_entities(&html[text_start..]));
    out.finish()
}

/// Every character reference in `s` decoded once, as the WHATWG parser
/// does in text: all HTML5 named references (`&eacute;`, `&hellip;`), the
/// legacy ones also without `;` (`&copy 2024`), decimal and hex (`&#233;`,
/// `&#xE9;`). Unknown names (`&foo;`) and a bare `&` stay as written.
pub fn decode_entities(s: &str) -> Cow<'_, str> {
    htmlize::unescape(s)
}

/// How an element separates the text around it, roughly as a browser
/// renders it.
enum Break {
    /// Inline (`span`, `a`, `b`, unknown tags): the text joins.
    None,
    /// A table cell.
    Space,
    /// `br`: a newline of its own, so two of them leave a blank line.
    Newline,
    /// A block that starts on a new line (`div`, `li`, `tr`, …).
    Line,
    /// A block with margins around it (`p`, headings, lists, …).
    Paragraph,
}

impl Break {
    fn of(name: &str) -> Break {
        match name {
            "td" | "th" => Break::Space,
            "br" => Break::Newline,
            "div" | "li" | "tr" | "section" | "article" | "header" | "footer" | "hr" | "dt" | "dd" | "nav" | "aside" | "main" | "address" | "figure"
            | "figcaption" | "caption" | "details" | "summary" => Break::Line,
            "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "blockquote" | "pre" | "ul" | "ol" | "dl" | "table" => Break::Paragraph,
            _ => Break::None,
        }
    }
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
    fn push_str(&mut self, s: &str) {
        s.chars().for_each(|c| self.push(c));
    }
    fn newline(&mut self) {
        self.pending_newlines += 1;
    }
    /// At least one newline before the next text, however many block tags
    /// open or close here (`</li></ul></div>` is one break, not three).
    fn line_break(&mut self) {
        self.pending_newlines = self.pending_newlines.max(1);
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
        assert_eq!(html_to_text("<p>Tom &amp; Jerry&#39;s &lt;b&gt; &quot;x&quot; it&#x27;s &iquest;qu&eacute;?</p>"), "Tom & Jerry's <b> \"x\" it's ¿qué?");
    }

    #[test]
    fn spanish_named_references_are_decoded() {
        assert_eq!(html_to_text("&iexcl;Qu&eacute; mal! Se&ntilde;or, espera&hellip; no es f&aacute;cil"), "¡Qué mal! Señor, espera… no es fácil");
        assert_eq!(html_to_text("it&rsquo;s &laquo;caro&raquo; &mdash; 5&euro;"), "it’s «caro» — 5€");
    }

    #[test]
    fn any_html5_named_reference_is_decoded_not_only_a_short_list() {
        assert_eq!(html_to_text("&Uuml;ber &rarr; &frac12; &ccedil;a &NotEqualTilde; &dollar;"), "Über → ½ ça ≂̸ $");
    }

    #[test]
    fn decimal_and_hex_references_are_decoded() {
        assert_eq!(html_to_text("qu&#233; qu&#xE9; qu&#XE9; &#128512;"), "qué qué qué 😀");
    }

    #[test]
    fn legacy_references_are_decoded_without_their_semicolon() {
        assert_eq!(html_to_text("&copy 2024 qu&eacute &lt;3"), "© 2024 qué <3");
    }

    #[test]
    fn a_reference_is_decoded_once_not_twice() {
        assert_eq!(html_to_text("&amp;eacute; &amp;amp; &amp;lt;p&amp;gt;"), "&eacute; &amp; &lt;p&gt;");
        assert_eq!(decode_entities("&amp;eacute;"), "&eacute;");
    }

    #[test]
    fn an_unknown_reference_is_kept_as_written() {
        assert_eq!(html_to_text("&foo; AT&T R&D a & b &;"), "&foo; AT&T R&D a & b &;");
        assert_eq!(decode_entities("&foo;"), "&foo;");
    }

    #[test]
    fn a_reference_split_by_a_tag_is_not_decoded() {
        assert_eq!(html_to_text("&eac<b>ute;</b>"), "&eacute;");
    }

    #[test]
    fn adjacent_divs_are_two_words_not_one() {
        assert_eq!(html_to_text("<div>a</div><div>b</div>"), "a\nb");
        assert_eq!(html_to_text("a</div><div>b"), "a\nb");
        assert_eq!(html_to_text("<section>uno</section><article>dos</article><footer>tres</footer>"), "uno\ndos\ntres");
    }

    #[test]
    fn list_items_are_on_their_own_lines() {
        assert_eq!(html_to_text("Problemas:<ul><li>lento</li><li>caro</li></ul>Fin"), "Problemas:\n\nlento\ncaro\n\nFin");
        assert_eq!(html_to_text("<ol><li>uno<li>dos</ol>"), "uno\ndos");
    }

    #[test]
    fn nested_blocks_make_one_break_not_many() {
        assert_eq!(html_to_text("<div><div><div>a</div></div></div><div>b</div>"), "a\nb");
    }

    #[test]
    fn headings_quotes_and_rules_separate_text() {
        assert_eq!(html_to_text("<h1>Título</h1>cuerpo<blockquote>cita</blockquote>fin<hr>pie"), "Título\n\ncuerpo\n\ncita\n\nfin\npie");
        assert_eq!(html_to_text("<h3>a</h3><h4>b</h4><pre>c</pre>"), "a\n\nb\n\nc");
    }

    #[test]
    fn table_rows_are_lines_and_cells_are_separated_by_a_space() {
        assert_eq!(html_to_text("<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></table>"), "a b\n1 2");
    }

    #[test]
    fn inline_tags_join_without_a_space() {
        assert_eq!(html_to_text("@<span>user</span> <b>muy</b><i>mal</i> <a href=\"x\">ser</a>vicio"), "@user muymal servicio");
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
