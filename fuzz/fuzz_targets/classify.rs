//! The classifier on arbitrary text, as the daemon runs it on every post
//! (the rules, the learned stage over the piece table, a brand's phrases):
//! it must always return a class with a score in [0, 1] and a reason.
//!
//! Input: the text, or `lang NUL text NUL context` where `lang` is the
//! platform's language tag (empty: none) and the context bytes set the
//! author's followers, the reposts and the author's recent complaints.

#![no_main]

use escucha::classify::{phrases::Phrases, Classifier, Context};
use escucha::model::Class;
use std::sync::{Arc, OnceLock};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == 0);
    let first = parts.next().unwrap_or_default();
    let (lang, text, extra) = match parts.next() {
        Some(text) => (Some(first), text, parts.next().unwrap_or_default()),
        None => (None, first, &[][..]),
    };
    let number = |i: usize| -> Option<u64> {
        let chunk = extra.get(i * 8..i * 8 + 8)?;
        Some(u64::from_le_bytes(chunk.try_into().ok()?))
    };
    let ctx = Context {
        lang: lang.filter(|l| !l.is_empty()).map(|l| String::from_utf8_lossy(l).into_owned()),
        author_followers: number(0),
        reposts: number(1),
        recent_complaints: number(2).map_or(0, |n| n as u32),
        executives: vec!["ceo_acme".to_string(), "directora".to_string()],
        phrases: Some(phrases()),
        ..Context::default()
    };
    static CLASSIFIER: OnceLock<Classifier> = OnceLock::new();
    let text = String::from_utf8_lossy(text);
    let c = CLASSIFIER.get_or_init(Classifier::shipped).classify(&text, &ctx);
    assert!(!c.reasons.is_empty(), "no reason for {text:?}");
    assert!((0.0..=1.0).contains(&c.score), "score {} outside [0, 1] for {text:?}", c.score);
    assert!(!c.lang.is_empty(), "no language for {text:?}");
});

fn phrases() -> Arc<Phrases> {
    static P: OnceLock<Arc<Phrases>> = OnceLock::new();
    P.get_or_init(|| {
        let complaint = vec!["me dejaron en tierra".to_string()];
        let neutral = vec!["convocatoria de empleo".to_string()];
        Arc::new(Phrases::new(&[(Class::Complaint, complaint.as_slice()), (Class::Neutral, neutral.as_slice())]))
    })
    .clone()
}
