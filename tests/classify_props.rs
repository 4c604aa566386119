//! The classifier is total: whatever text arrives (empty, 100 KB, right to
//! left, stacked combining marks, control characters, text that was invalid
//! UTF-8 and went through `from_utf8_lossy`, emoji sequences) it answers
//! without panicking, with a score in [0, 1], a language and valid reasons.
//! Random texts come from a seeded generator, so a failure repeats.

use escucha::classify::{classify, Classification, Context};
use escucha::model::Class;

/// xorshift64*: deterministic, no crate needed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// Pieces that exercise the tokenizer's and matcher's special cases.
const PIECES: &[&str] = &[
    "no",
    "not",
    "never",
    "pero",
    "but",
    "gracias",
    "thanks",
    "worst",
    "pésimo",
    "PÉSIMOOOO",
    "sooo",
    "goooood",
    "@brand",
    "@",
    "#",
    "#NeverAgain",
    "#",
    "##",
    "@@x",
    "https://x.y/z",
    "www.",
    "HTTP://A",
    ":(",
    ":-((",
    ">:(",
    "D:",
    "xD",
    "<3",
    "</3",
    "^_^",
    "...",
    "…",
    "!!!",
    "¿",
    "?",
    "¡",
    ",",
    ";",
    ":",
    ".",
    "\n",
    "\r\n",
    "\t",
    " ",
    "  ",
    "'",
    "’",
    "''",
    "don't",
    "&amp;",
    "&",
    "&lt;",
    "&quot;",
    "&gt;;",
    "q",
    "xq",
    "porfa",
    "thx",
    "u",
    "ty",
    "im",
    "hrs",
    "a pesar de",
    "despite",
    "unlike you",
    "how do i",
    "¿cómo puedo",
    "demandar",
    "sue",
    "lawyer",
    "cancel",
    "fire",
    "😡",
    "👍",
    "👍🏽",
    "👨‍👩‍👧‍👦",
    "🏳️‍🌈",
    "❤️",
    "🇪🇸",
    "☹",
    "😂😂😂",
    "\u{200b}",
    "\u{200d}",
    "\u{feff}",
    "\u{202e}",
    "\u{202d}",
    "مرحبا",
    "خدمة سيئة",
    "שלום",
    "日本語",
    "한국어",
    "ß",
    "ǅ",
    "İ",
    "ﬁ",
    "Ⅻ",
    "𝕳𝖊𝖑𝖑𝖔",
    "e\u{301}",
    "n\u{303}\u{303}\u{303}",
    "\u{301}",
    "\u{0}",
    "\u{7}",
    "\u{1b}[31m",
    "\u{7f}",
    "\u{85}",
    "\u{2028}",
    "\u{fffd}",
    "\u{10ffff}",
    "_",
    "__",
    "1",
    "10/10",
    "$",
    "desde $",
    "0x",
    "ñ",
    "Ñ",
];

fn random_text(rng: &mut Rng) -> String {
    let mut s = String::new();
    let n = rng.below(40);
    for _ in 0..n {
        match rng.below(4) {
            0 => s.push_str(rng.pick::<&str>(PIECES)),
            // Any scalar value, including unassigned and private-use ones.
            1 => s.push(char::from_u32(rng.next() as u32 % 0x11_0000).unwrap_or('\u{fffd}')),
            2 => s.push(char::from(rng.below(128) as u8)),
            _ => s.push(' '),
        }
    }
    s
}

fn check(text: &str, ctx: &Context) -> Classification {
    let c = classify(text, ctx);
    assert!((0.0..=1.0).contains(&c.score) && c.score.is_finite(), "score {} for {text:?}", c.score);
    assert!(!c.lang.is_empty(), "empty lang for {text:?}");
    assert!(matches!(c.class, Class::Praise | Class::Complaint | Class::Escalation | Class::Neutral));
    assert!(!c.reasons.is_empty(), "no reason for {text:?}");
    let prefix = |r: &std::borrow::Cow<str>| ["praise:", "complaint:", "escalation:", "neutral:"].iter().any(|p| r.starts_with(p));
    assert!(c.reasons.iter().all(prefix), "odd reasons {:?} for {text:?}", c.reasons);
    c
}

#[test]
fn random_unicode_never_panics_and_answers_within_range() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let contexts = [
        Context::default(),
        Context { lang: Some("es".into()), ..Default::default() },
        Context { lang: Some("en-US".into()), ..Default::default() },
        Context { lang: Some("".into()), ..Default::default() },
        Context { lang: Some("ñ-\u{0}".into()), executives: vec!["@".into(), "".into(), "ceo".into()], ..Default::default() },
    ];
    for i in 0..3000 {
        let text = random_text(&mut rng);
        check(&text, &contexts[i % contexts.len()]);
    }
}

#[test]
fn random_bytes_made_lossy_never_panic() {
    let mut rng = Rng(42);
    for _ in 0..2000 {
        let bytes: Vec<u8> = (0..rng.below(200)).map(|_| rng.next() as u8).collect();
        check(&String::from_utf8_lossy(&bytes), &Context::default());
    }
}

#[test]
fn edge_cases_are_answered() {
    let big_complaint = "worst service ever, nobody answers. ".repeat(100_000 / 36 + 1);
    let zalgo: String =
        "servicio pésimo".chars().flat_map(|c| std::iter::once(c).chain("\u{300}\u{301}\u{302}\u{303}\u{334}\u{335}".chars().cycle().take(30))).collect();
    let cases: Vec<String> = vec![
        String::new(),
        " ".into(),
        "\n\n\n".into(),
        "\u{0}\u{1}\u{2}\u{1f}".into(),
        "?".repeat(1000),
        "a".repeat(100_000),
        "ñ".repeat(50_000),
        big_complaint.clone(),
        "😡".repeat(25_000),
        "👨‍👩‍👧‍👦🏳️‍🌈🇪🇸".repeat(1000),
        "\u{202e}ecivres tsrow\u{202c} خدمة سيئة جدا".into(),
        zalgo.clone(),
        String::from_utf8_lossy(b"terrible \xff\xfe servicio \xc3\x28 \xed\xa0\x80").into_owned(),
        "@".repeat(1000),
        "#".repeat(1000),
        "#a_b_c_D_e_F#x@y".into(),
        "http://".into(),
        ":(:(:(:(:(".into(),
        "no no no no no no no no no no".into(),
        "pero pero pero but but".into(),
    ];
    for text in &cases {
        check(text, &Context::default());
        check(text, &Context { lang: Some("es".into()), ..Default::default() });
    }
    // The huge inputs are still read, not given up on.
    assert!(check(&big_complaint, &Context::default()).class.needs_answer());
    assert_eq!(check("", &Context::default()).class, Class::Neutral);
    // Marks on every letter split the words apart (a mark is not a word
    // character), so zalgo text reads as noise: answered, if not understood.
    assert_eq!(check(&zalgo, &Context { lang: Some("es".into()), ..Default::default() }).class, Class::Neutral);
}
