//! Silences: an operator says "no pages for this brand (platform, author)
//! for 2h, because...". Matching is pure; the store keeps the silences and
//! which mentions each one holds back. A held mention is recorded, not sent,
//! and becomes due again when the silence ends, so it goes out with the
//! next message rather than in a burst.

use crate::model::Mention;
use crate::store::{Due, Silence};
use chrono::{DateTime, Utc};

/// A mention held back: (mention id, silence id, until).
pub type Held = (i64, i64, DateTime<Utc>);

/// True when `s` covers mention `m` at `now`.
pub fn matches(s: &Silence, m: &Mention, now: DateTime<Utc>) -> bool {
    s.starts_at <= now
        && now < s.until
        && s.brand == m.brand
        && s.platform.as_deref().is_none_or(|p| p.eq_ignore_ascii_case(m.platform.as_str()))
        && s.author.as_deref().is_none_or(|a| same_author(a, &m.author))
}

fn same_author(a: &str, b: &str) -> bool {
    a.trim_start_matches('@').eq_ignore_ascii_case(b.trim_start_matches('@'))
}

/// Splits due mentions into those to page now and those held back:
/// (mention id, silence id, until). With several silences matching, the one
/// lasting longest holds the mention.
pub fn partition(due: Vec<Due>, silences: &[Silence], now: DateTime<Utc>) -> (Vec<Due>, Vec<Held>) {
    let mut page = Vec::new();
    let mut held = Vec::new();
    for d in due {
        match silences.iter().filter(|s| matches(s, &d.mention, now)).max_by_key(|s| s.until) {
            Some(s) => held.push((d.mention.id, s.id, s.until)),
            None => page.push(d),
        }
    }
    (page, held)
}

/// What a silence covers, in words: `brand interjet, platform x, author @ana`.
pub fn scope(s: &Silence) -> String {
    let mut out = format!("brand {}", s.brand);
    if let Some(p) = &s.platform {
        out.push_str(&format!(", platform {p}"));
    }
    if let Some(a) = &s.author {
        out.push_str(&format!(", author @{}", a.trim_start_matches('@')));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Platform;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap()
    }

    fn silence(id: i64, platform: Option<&str>, author: Option<&str>, hours: i64) -> Silence {
        Silence {
            id,
            brand: "interjet".into(),
            platform: platform.map(Into::into),
            author: author.map(Into::into),
            starts_at: now() - Duration::minutes(5),
            until: now() + Duration::hours(hours),
            reason: "outage, we know".into(),
            created_by: "ana".into(),
        }
    }

    fn due(id: i64, platform: Platform, author: &str) -> Due {
        let t = now() - Duration::hours(1);
        Due { mention: Mention { platform, author: author.into(), ..Mention::example(id, t) }, page_step: 0 }
    }

    #[test]
    fn a_brand_silence_holds_every_mention_of_the_brand_until_it_ends() {
        let s = silence(7, None, None, 2);
        let (page, held) = partition(vec![due(1, Platform::X, "ana"), due(2, Platform::Mastodon, "bo")], std::slice::from_ref(&s), now());
        assert!(page.is_empty());
        assert_eq!(held, vec![(1, 7, s.until), (2, 7, s.until)]);
    }

    #[test]
    fn platform_and_author_narrow_a_silence() {
        let by_platform = silence(1, Some("x"), None, 1);
        let by_author = silence(2, None, Some("@Troll"), 3);
        let (page, held) = partition(
            vec![due(1, Platform::X, "ana"), due(2, Platform::Mastodon, "troll"), due(3, Platform::Mastodon, "bo")],
            &[by_platform, by_author],
            now(),
        );
        assert_eq!(page.iter().map(|d| d.mention.id).collect::<Vec<_>>(), vec![3]);
        assert_eq!(held.iter().map(|h| (h.0, h.1)).collect::<Vec<_>>(), vec![(1, 1), (2, 2)]);
    }

    #[test]
    fn an_ended_silence_or_another_brand_holds_nothing() {
        let mut s = silence(1, None, None, 1);
        assert!(!matches(&s, &due(1, Platform::X, "a").mention, now() + Duration::hours(1)));
        s.brand = "other".into();
        assert!(!matches(&s, &due(1, Platform::X, "a").mention, now()));
    }

    #[test]
    fn the_longest_matching_silence_holds_the_mention() {
        let (_, held) = partition(vec![due(1, Platform::X, "ana")], &[silence(1, None, None, 1), silence(2, Some("x"), None, 4)], now());
        assert_eq!(held[0].1, 2);
    }

    #[test]
    fn scope_reads_as_words() {
        assert_eq!(scope(&silence(1, Some("x"), Some("@ana"), 1)), "brand interjet, platform x, author @ana");
    }
}
