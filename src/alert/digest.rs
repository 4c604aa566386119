//! The digest (`[digest]`): a periodic email per recipient summarising, per
//! brand, the period since the previous digest: mentions by class and
//! platform, complaints answered and unanswered, first-answer times, open
//! escalations, the oldest unanswered complaints, repeat complainers and
//! active silences, each number beside the previous period's; small bar
//! charts drawn with table cells (mail clients show no SVG and should
//! fetch no images).
//!
//! Rendering and the fire schedule are pure; `fire` reads the store and
//! enqueues the rendered digest as notices together with the fire time, so a
//! digest is never sent twice (also across a restart), and fire times missed
//! while the daemon was down are skipped, not sent late.

use super::render::{format_age, one_line, Rendered};
use super::silence;
use super::templates::Templates;
use super::words::{self, Words};
use crate::config::{Config, Digest, Language};
use crate::model::{Class, Mention, Status};
use crate::store::{percentile, MentionFilter, Silence, Store};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use std::collections::BTreeMap;

/// The `digest_state` key of the one `[digest]` section.
pub const KEY: &str = "digest";

/// The first fire time strictly after `after`.
pub fn next_fire(d: &Digest, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    // Never `upcoming()`: it reads the system clock.
    d.when.after(&after.with_timezone(&d.timezone)).next().map(|t| t.with_timezone(&Utc))
}

/// What the digest says about one brand.
pub struct BrandPeriod<'a> {
    pub id: &'a str,
    pub name: &'a str,
    /// Mentions created in the period.
    pub mentions: Vec<Mention>,
    /// Mentions created in the period of the same length before it.
    pub previous: Vec<Mention>,
    /// Escalations still open now, whenever they were posted.
    pub open_escalations: Vec<Mention>,
    /// Complaints still open now, oldest first.
    pub oldest_unanswered: Vec<Mention>,
    /// Complaints answered or acknowledged in the period.
    pub resolved: Vec<Mention>,
    pub silences: Vec<Silence>,
}

/// Numbers for one brand, computed from its period.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Summary {
    /// (platform, class) → count.
    pub by_platform: BTreeMap<(String, String), u64>,
    pub complaints: u64,
    pub answered: u64,
    pub acked: u64,
    pub unanswered: u64,
    pub median_answer_secs: Option<i64>,
    pub p90_answer_secs: Option<i64>,
    /// Authors with two or more complaints in the period, most first.
    pub repeat: Vec<(String, u64)>,
}

pub fn summarise(mentions: &[Mention]) -> Summary {
    let mut s = Summary::default();
    let mut times = Vec::new();
    let mut authors: BTreeMap<String, u64> = BTreeMap::new();
    for m in mentions {
        *s.by_platform.entry((m.platform.as_str().to_string(), m.class.as_str().to_string())).or_default() += 1;
        if !m.class.needs_answer() {
            continue;
        }
        s.complaints += 1;
        *authors.entry(m.author.trim_start_matches('@').to_string()).or_default() += 1;
        match m.status {
            Status::Answered => {
                s.answered += 1;
                if let Some(a) = m.answered_at {
                    times.push((a - m.created_at).num_seconds().max(0));
                }
            }
            Status::Acked => s.acked += 1,
            Status::Open => s.unanswered += 1,
        }
    }
    times.sort_unstable();
    s.median_answer_secs = percentile(&times, 0.5);
    s.p90_answer_secs = percentile(&times, 0.9);
    s.repeat = authors.into_iter().filter(|(_, n)| *n >= 2).collect();
    s.repeat.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    s
}

fn secs(s: Option<i64>) -> String {
    s.map_or("-".to_string(), |s| format_age(chrono::Duration::seconds(s)))
}

const CLASSES: [Class; 4] = [Class::Complaint, Class::Escalation, Class::Praise, Class::Neutral];

/// How many open items of each list a digest shows per brand.
pub const LIST_LIMIT: usize = 5;

/// The period a digest covers and how to show it.
pub struct Period<'a> {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub tz: Tz,
    pub now: DateTime<Utc>,
    pub send_resolved: bool,
    pub lang: Language,
    pub templates: &'a Templates,
    /// `public_url` when the web inbox is on: items link to `/mentions/{id}`.
    pub inbox: Option<&'a str>,
}

/// What the digest templates see (documented in README.md "Templates").
#[derive(Debug, Serialize)]
pub struct DigestView {
    pub t: &'static Words,
    pub subject: String,
    pub period_from: String,
    pub period_to: String,
    pub send_resolved: bool,
    pub brands: Vec<BrandView>,
}

#[derive(Debug, Serialize)]
pub struct BrandView {
    pub id: String,
    pub name: String,
    pub mentions: usize,
    pub mentions_prev: usize,
    pub complaints: u64,
    pub answered: u64,
    pub acked: u64,
    pub unanswered: u64,
    /// `Complaints: 2 (1 answered, 0 acknowledged, 1 unanswered)`.
    pub complaints_line: String,
    /// Answered over complaints: `75%`, or `-` without complaints.
    pub answer_rate: String,
    pub answer_rate_prev: String,
    pub p50: String,
    pub p90: String,
    pub p50_prev: String,
    pub p90_prev: String,
    /// One bar per class: counts now and before, width relative to the largest.
    pub classes: Vec<ClassBar>,
    /// The class labels, in the order of `platforms[].counts`.
    pub class_labels: Vec<&'static str>,
    pub platforms: Vec<PlatformRow>,
    pub open_escalations: Vec<Item>,
    pub oldest_unanswered: Vec<Item>,
    /// How many open complaints there are in all (the list shows the oldest).
    pub unanswered_total: usize,
    pub repeat: Vec<Repeat>,
    pub silences: Vec<String>,
    pub resolved: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ClassBar {
    pub class: &'static str,
    pub label: &'static str,
    pub color: &'static str,
    pub count: u64,
    pub prev: u64,
    /// 0-100, relative to the largest count of this brand (now or before).
    pub pct: u32,
    pub prev_pct: u32,
}

#[derive(Debug, Serialize)]
pub struct PlatformRow {
    pub name: String,
    pub total: u64,
    pub counts: Vec<u64>,
    /// The stacked bar: one segment per class with a count, widths in percent of the largest platform.
    pub segments: Vec<Segment>,
    /// What is left of the bar's track, in percent.
    pub rest: u32,
}

#[derive(Debug, Serialize)]
pub struct Segment {
    pub color: &'static str,
    pub pct: u32,
}

/// An open mention in a digest list.
#[derive(Debug, Serialize)]
pub struct Item {
    pub id: i64,
    pub platform: &'static str,
    pub author: String,
    pub age: String,
    pub text: String,
    pub url: String,
    pub url_is_web: bool,
    pub inbox_link: Option<String>,
    /// The whole item on one line, as the text part shows it.
    pub line: String,
}

#[derive(Debug, Serialize)]
pub struct Repeat {
    pub author: String,
    pub count: u64,
}

fn pct(part: u64, whole: u64) -> u32 {
    (part * 100 + whole / 2).checked_div(whole).map_or(0, |p| p.min(100) as u32)
}

fn rate(s: &Summary) -> String {
    if s.complaints == 0 {
        "-".into()
    } else {
        format!("{}%", pct(s.answered, s.complaints))
    }
}

fn item(m: &Mention, p: &Period) -> Item {
    let author = format!("@{}", m.author.trim_start_matches('@')).chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>();
    let age = format_age(p.now - m.created_at);
    let text = short(&m.text);
    let line = match p.lang {
        Language::En => format!("#{} on {} by {author}, open for {age}: {text} {}", m.id, m.platform, m.url),
        Language::Es => format!("#{} en {} de {author}, abierta desde hace {age}: {text} {}", m.id, m.platform, m.url),
    };
    Item {
        id: m.id,
        platform: m.platform.as_str(),
        author,
        age,
        text,
        url: m.url.clone(),
        url_is_web: m.url.starts_with("https://") || m.url.starts_with("http://"),
        inbox_link: p.inbox.map(|base| format!("{}/mentions/{}", base.trim_end_matches('/'), m.id)),
        line,
    }
}

fn brand_view(b: &BrandPeriod, s: &Summary, p: &Period) -> BrandView {
    let lang = p.lang;
    let prev = summarise(&b.previous);
    let count = |s: &Summary, c: Class| s.by_platform.iter().filter(|((_, k), _)| k == c.as_str()).map(|(_, n)| n).sum::<u64>();
    let max = CLASSES.iter().flat_map(|c| [count(s, *c), count(&prev, *c)]).max().unwrap_or(0);
    let classes = CLASSES
        .iter()
        .map(|c| {
            let (n, before) = (count(s, *c), count(&prev, *c));
            ClassBar {
                class: c.as_str(),
                label: words::class_label(lang, *c),
                color: words::class_colors(*c).0,
                count: n,
                prev: before,
                pct: pct(n, max),
                prev_pct: pct(before, max),
            }
        })
        .collect();
    let mut platform_names: Vec<&str> = s.by_platform.keys().map(|(p, _)| p.as_str()).collect();
    platform_names.dedup();
    let rows: Vec<(String, Vec<u64>)> = platform_names
        .iter()
        .map(|name| (name.to_string(), CLASSES.iter().map(|c| s.by_platform.get(&(name.to_string(), c.as_str().to_string())).copied().unwrap_or(0)).collect()))
        .collect();
    let widest = rows.iter().map(|(_, c)| c.iter().sum::<u64>()).max().unwrap_or(0);
    let platforms = rows
        .into_iter()
        .map(|(name, counts)| {
            let total: u64 = counts.iter().sum();
            let segments: Vec<Segment> = CLASSES
                .iter()
                .zip(&counts)
                .filter(|(_, n)| **n > 0)
                .map(|(c, n)| Segment { color: words::class_colors(*c).0, pct: pct(*n, widest).max(1) })
                .collect();
            let used: u32 = segments.iter().map(|s| s.pct).sum();
            PlatformRow { name, total, counts, segments, rest: 100u32.saturating_sub(used) }
        })
        .collect();
    let complaints_line = match lang {
        Language::En => format!("Complaints: {} ({} answered, {} acknowledged, {} unanswered)", s.complaints, s.answered, s.acked, s.unanswered),
        Language::Es => format!("Quejas: {} ({} respondidas, {} atendidas, {} sin respuesta)", s.complaints, s.answered, s.acked, s.unanswered),
    };
    let silences = b
        .silences
        .iter()
        .map(|x| {
            let until = x.until.with_timezone(&p.tz).format("%Y-%m-%d %H:%M %Z");
            match lang {
                Language::En => format!("#{} {} until {until} by {}: {}", x.id, silence::scope(x), x.created_by, x.reason),
                Language::Es => format!("#{} {} hasta {until} por {}: {}", x.id, silence::scope(x), x.created_by, x.reason),
            }
        })
        .collect();
    let resolved = if p.send_resolved {
        b.resolved
            .iter()
            .map(|m| {
                let how = match (lang, &m.status, &m.acked_by) {
                    (Language::En, Status::Acked, Some(by)) => format!("acknowledged by {by}"),
                    (Language::En, Status::Acked, None) => "acknowledged".to_string(),
                    (Language::En, _, _) => "answered".to_string(),
                    (Language::Es, Status::Acked, Some(by)) => format!("atendida por {by}"),
                    (Language::Es, Status::Acked, None) => "atendida".to_string(),
                    (Language::Es, _, _) => "respondida".to_string(),
                };
                let w = words::words(lang);
                format!("#{} {} {} {} @{}: {how}", m.id, w.on, m.platform, w.by, m.author.trim_start_matches('@'))
            })
            .collect()
    } else {
        vec![]
    };
    BrandView {
        id: b.id.to_string(),
        name: b.name.to_string(),
        mentions: b.mentions.len(),
        mentions_prev: b.previous.len(),
        complaints: s.complaints,
        answered: s.answered,
        acked: s.acked,
        unanswered: s.unanswered,
        complaints_line,
        answer_rate: rate(s),
        answer_rate_prev: rate(&prev),
        p50: secs(s.median_answer_secs),
        p90: secs(s.p90_answer_secs),
        p50_prev: secs(prev.median_answer_secs),
        p90_prev: secs(prev.p90_answer_secs),
        classes,
        class_labels: CLASSES.iter().map(|c| words::class_label(lang, *c)).collect(),
        platforms,
        open_escalations: b.open_escalations.iter().map(|m| item(m, p)).collect(),
        oldest_unanswered: b.oldest_unanswered.iter().take(LIST_LIMIT).map(|m| item(m, p)).collect(),
        unanswered_total: b.oldest_unanswered.len(),
        repeat: s.repeat.iter().map(|(a, n)| Repeat { author: format!("@{a}"), count: *n }).collect(),
        silences,
        resolved,
    }
}

fn digest_view(brands: &[BrandPeriod], p: &Period) -> DigestView {
    let fmt = |t: DateTime<Utc>| t.with_timezone(&p.tz).format("%Y-%m-%d %H:%M %Z").to_string();
    let summaries: Vec<Summary> = brands.iter().map(|b| summarise(&b.mentions)).collect();
    let total: usize = brands.iter().map(|b| b.mentions.len()).sum();
    let open: u64 = summaries.iter().map(|s| s.unanswered).sum();
    let when = p.to.with_timezone(&p.tz).format("%Y-%m-%d %H:%M");
    let subject = match p.lang {
        Language::En => format!(
            "[escucha] digest {when}: {total} mention{}, {open} complaint{} unanswered",
            if total == 1 { "" } else { "s" },
            if open == 1 { "" } else { "s" }
        ),
        Language::Es => format!(
            "[escucha] resumen {when}: {total} menci{}, {open} queja{} sin respuesta",
            if total == 1 { "ón" } else { "ones" },
            if open == 1 { "" } else { "s" }
        ),
    };
    DigestView {
        t: words::words(p.lang),
        subject,
        period_from: fmt(p.from),
        period_to: fmt(p.to),
        send_resolved: p.send_resolved,
        brands: brands.iter().zip(&summaries).map(|(b, s)| brand_view(b, s, p)).collect(),
    }
}

/// Renders the digest for the period `[p.from, p.to)`.
pub fn render(brands: &[BrandPeriod], p: &Period) -> Rendered {
    let view = digest_view(brands, p);
    let (text, e1) = p.templates.render("digest.txt", p.lang, &view);
    let (html, e2) = p.templates.render("digest.html", p.lang, &view);
    for e in [e1, e2].into_iter().flatten() {
        tracing::error!(error = %e, "digest template failed; sent with the built-in one (fix it and run `escucha check`)");
    }
    Rendered { subject: one_line(&view.subject), text, html }
}

/// A sample digest (two brands' worth of numbers) for checking a team's
/// templates at load time and for the docs' rendered examples.
pub fn sample_context(lang: Language) -> DigestView {
    let t = Templates::builtin();
    let (brands, p) = sample(lang, &t);
    digest_view(&brands, &p)
}

/// The brands and period of [`sample_context`].
pub fn sample(lang: Language, templates: &Templates) -> (Vec<BrandPeriod<'static>>, Period<'_>) {
    use crate::model::Platform;
    let to = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 3, 2, 7, 0, 0).unwrap();
    let from = to - chrono::Duration::days(1);
    let m = |id: i64, class: Class, platform: Platform, author: &str, hours_ago: i64, status: Status, answer_min: Option<i64>, text: &str| {
        let created = to - chrono::Duration::hours(hours_ago);
        Mention {
            brand: "interjet".into(),
            platform,
            url: format!("https://x.com/{author}/status/{id}"),
            author: author.into(),
            author_id: author.into(),
            text: text.into(),
            class,
            status,
            answered_at: answer_min.map(|a| created + chrono::Duration::minutes(a)),
            ..crate::model::Mention::sample(id, created)
        }
    };
    let mut mentions = vec![
        m(101, Class::Complaint, Platform::X, "maria_gz", 20, Status::Answered, Some(12), "perdieron mi maleta"),
        m(102, Class::Complaint, Platform::X, "maria_gz", 9, Status::Open, None, "sigo sin maleta y nadie responde"),
        m(103, Class::Escalation, Platform::Mastodon, "jlopez", 5, Status::Open, None, "voy a poner una queja en Profeco"),
        m(104, Class::Complaint, Platform::Bluesky, "ana", 14, Status::Answered, Some(47), "el vuelo salió con 3 horas de retraso"),
        m(105, Class::Complaint, Platform::X, "bo", 3, Status::Acked, None, "no puedo hacer check-in en la app"),
        m(106, Class::Praise, Platform::X, "cy", 8, Status::Open, None, "gracias por el cambio de asiento"),
        m(107, Class::Neutral, Platform::Reddit, "dd", 6, Status::Open, None, "¿alguien sabe el límite de equipaje?"),
    ];
    for (i, h) in [2, 4, 7, 11, 15].iter().enumerate() {
        mentions.push(m(110 + i as i64, Class::Praise, Platform::Instagram, "fan", *h, Status::Open, None, "¡qué buen servicio!"));
    }
    let mut previous = vec![
        m(1, Class::Complaint, Platform::X, "zed", 30, Status::Answered, Some(25), "retraso"),
        m(2, Class::Complaint, Platform::X, "yan", 40, Status::Answered, Some(90), "sin respuesta"),
        m(3, Class::Complaint, Platform::X, "xia", 44, Status::Open, None, "pésimo"),
    ];
    previous.push(m(4, Class::Praise, Platform::X, "wu", 35, Status::Open, None, "gracias"));
    let open_escalations = vec![mentions[2].clone()];
    let oldest_unanswered = vec![mentions[1].clone()];
    let brand = BrandPeriod { id: "interjet", name: "Interjet", mentions, previous, open_escalations, oldest_unanswered, resolved: vec![], silences: vec![] };
    let p = Period { from, to, tz: chrono_tz::Europe::Madrid, now: to, send_resolved: false, lang, templates, inbox: Some("https://escucha.example.com") };
    (vec![brand], p)
}

fn short(s: &str) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 80 {
        format!("\"{}…\"", one.chars().take(80).collect::<String>())
    } else {
        format!("\"{one}\"")
    }
}

/// Sends the digest for fire time `fire` if it was not sent yet: renders it
/// from the store, once per language its recipients read, and enqueues one
/// notice per recipient. Returns false when a digest for this fire time (or
/// a later one) was already recorded.
pub fn fire(store: &Store, cfg: &Config, fire: DateTime<Utc>, now: DateTime<Utc>) -> crate::store::Result<bool> {
    let Some(d) = &cfg.digest else { return Ok(false) };
    let from = store.digest_last_fire(KEY, now)?;
    if from >= fire {
        return Ok(false);
    }
    // The period before, of the same length, to compare with.
    let before = from - (fire - from);
    let silences = store.active_silences(now)?;
    let mut brands = Vec::new();
    for b in &cfg.brands {
        let open = |class| store.mentions(&MentionFilter { brand: Some(b.id.clone()), class: Some(class), open_only: true, limit: None });
        let mut oldest_unanswered: Vec<Mention> = open(Class::Complaint)?.into_iter().filter(|m| !m.history).collect();
        // Oldest first (the store's order); the view shows the first few and the count.
        oldest_unanswered.sort_by_key(|m| (m.created_at, m.id));
        brands.push(BrandPeriod {
            id: &b.id,
            name: &b.name,
            mentions: store.mentions_between(&b.id, from, fire)?,
            previous: store.mentions_between(&b.id, before, from)?,
            open_escalations: open(Class::Escalation)?.into_iter().filter(|m| !m.history).collect(),
            oldest_unanswered,
            resolved: store.resolved_between(&b.id, from, fire)?,
            silences: silences.iter().filter(|s| s.brand == b.id).cloned().collect(),
        });
    }
    let inbox = super::inbox_base(cfg);
    let mut by_lang: Vec<(Language, Rendered)> = Vec::new();
    let mut notices = Vec::new();
    for to in &d.to {
        let lang = super::reader(cfg, to).0;
        if !by_lang.iter().any(|(l, _)| *l == lang) {
            let p = Period { from, to: fire, tz: d.timezone, now, send_resolved: d.send_resolved, lang, templates: &cfg.daemon.templates, inbox };
            by_lang.push((lang, render(&brands, &p)));
        }
        let r = &by_lang.iter().find(|(l, _)| *l == lang).expect("rendered above").1;
        notices.push((to.clone(), r.subject.clone(), r.text.clone(), r.html.clone()));
    }
    store.enqueue_digest(KEY, fire, &notices, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Platform;
    use crate::store::NewMention;
    use chrono::{Duration, TimeZone};
    use std::str::FromStr;

    fn t(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 0, 0, 0).unwrap() + Duration::hours(h)
    }

    fn m(id: i64, class: Class, platform: Platform, author: &str, status: Status, answer_min: Option<i64>) -> Mention {
        Mention {
            platform,
            url: format!("https://x.com/{author}/status/{id}"),
            author: author.into(),
            author_id: author.into(),
            text: format!("text {id}"),
            class,
            deadline: None,
            status,
            answered_at: answer_min.map(|a| t(1) + Duration::minutes(a)),
            ..Mention::example(id, t(1))
        }
    }

    fn digest(when: &str) -> Digest {
        Digest {
            when: cron::Schedule::from_str(when).unwrap(),
            when_text: when.into(),
            timezone: chrono_tz::Europe::Madrid,
            to: vec!["equipo@example.com".into()],
            send_resolved: false,
        }
    }

    #[test]
    fn the_digest_section_is_loaded_into_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.toml");
        let base = "[daemon]\ntimezone = \"America/Mexico_City\"\n[[brand]]\nid = \"a\"\nterms = [\"a\"]\n";
        std::fs::write(&path, format!("{base}[digest]\nwhen = \"0 0 8 * * *\"\nto = [\"equipo@example.com\"]\nsend_resolved = true\n")).unwrap();
        let cfg = crate::config::load(&path).unwrap();
        let d = cfg.digest.expect("digest kept");
        assert_eq!(
            (d.when_text.as_str(), d.timezone, d.to.clone(), d.send_resolved),
            ("0 0 8 * * *", chrono_tz::America::Mexico_City, vec!["equipo@example.com".to_string()], true)
        );
        std::fs::write(&path, base).unwrap();
        assert!(crate::config::load(&path).unwrap().digest.is_none());
    }

    #[test]
    fn the_next_fire_time_is_computed_in_the_digest_timezone() {
        // 08:00 Madrid is 07:00 UTC in November.
        let d = digest("0 0 8 * * *");
        assert_eq!(next_fire(&d, t(6)), Some(t(7)));
        assert_eq!(next_fire(&d, t(7)), Some(t(24 + 7)), "strictly after");
    }

    #[test]
    fn the_summary_counts_classes_answers_times_and_repeat_authors() {
        let ms = vec![
            m(1, Class::Complaint, Platform::X, "ana", Status::Answered, Some(10)),
            m(2, Class::Complaint, Platform::X, "ana", Status::Answered, Some(30)),
            m(3, Class::Escalation, Platform::Mastodon, "ana", Status::Open, None),
            m(4, Class::Complaint, Platform::X, "bo", Status::Acked, None),
            m(5, Class::Praise, Platform::X, "cy", Status::Open, None),
        ];
        let s = summarise(&ms);
        assert_eq!(s.by_platform[&("x".to_string(), "complaint".to_string())], 3);
        assert_eq!(s.by_platform[&("mastodon".to_string(), "escalation".to_string())], 1);
        assert_eq!((s.complaints, s.answered, s.acked, s.unanswered), (4, 2, 1, 1));
        assert_eq!((s.median_answer_secs, s.p90_answer_secs), (Some(600), Some(1800)));
        assert_eq!(s.repeat, vec![("ana".to_string(), 3)]);
    }

    fn period(lang: Language, templates: &Templates) -> Period<'_> {
        Period { from: t(0), to: t(7), tz: chrono_tz::UTC, now: t(8), send_resolved: false, lang, templates, inbox: Some("https://escucha.example.com/") }
    }

    fn brand_period(silence_reason: &str) -> BrandPeriod<'static> {
        let esc = m(3, Class::Escalation, Platform::Mastodon, "ana", Status::Open, None);
        let open = m(4, Class::Complaint, Platform::X, "ana", Status::Open, None);
        BrandPeriod {
            id: "interjet",
            name: "Interjet",
            mentions: vec![m(1, Class::Complaint, Platform::X, "ana", Status::Answered, Some(10)), esc.clone()],
            previous: vec![
                m(90, Class::Complaint, Platform::X, "zed", Status::Answered, Some(30)),
                m(91, Class::Complaint, Platform::X, "yan", Status::Open, None),
                m(92, Class::Praise, Platform::X, "wu", Status::Open, None),
            ],
            open_escalations: vec![esc],
            oldest_unanswered: vec![open],
            resolved: vec![],
            silences: vec![Silence {
                id: 9,
                brand: "interjet".into(),
                platform: None,
                author: None,
                starts_at: t(0),
                until: t(30),
                reason: silence_reason.into(),
                created_by: "ana".into(),
            }],
        }
    }

    #[test]
    fn the_rendered_digest_has_every_section_in_text_and_html() {
        let templates = Templates::builtin();
        let r = render(&[brand_period("<outage>")], &period(Language::En, &templates));
        assert_eq!(r.subject, "[escucha] digest 2026-11-24 07:00: 2 mentions, 1 complaint unanswered");
        for needle in [
            "Interjet",
            "Complaints: 2 (1 answered, 0 acknowledged, 1 unanswered)",
            "Answer rate",
            "50%",
            "10m",
            "30m",
            "open for 7h",
            "Oldest unanswered complaints",
            "@ana (2)",
            "#9 brand interjet",
            "https://escucha.example.com/mentions/3",
            "https://escucha.example.com/mentions/4",
            "https://x.com/ana/status/3",
        ] {
            assert!(r.text.contains(needle), "{needle} not in\n{}", r.text);
            assert!(r.html.contains(needle), "{needle} not in\n{}", r.html);
        }
        assert!(r.text.contains("Mentions: 2 (previous period: 3)"), "{}", r.text);
        assert!(r.text.contains("Answer rate: 50% (previous period: 50%)"), "{}", r.text);
        assert!(r.text.contains("First response: median 10m, p90 10m (previous period: median 30m, p90 30m)"), "{}", r.text);
        assert!(r.html.contains("&lt;outage&gt;") && !r.html.contains("<outage>"));
    }

    #[test]
    fn the_bar_chart_is_table_cells_sized_by_count_and_loads_nothing() {
        let templates = Templates::builtin();
        let r = render(&[brand_period("x")], &period(Language::En, &templates));
        // Complaint: 1 now, 2 before (the largest): 50% wide; escalation 1: 50%; praise 0 now.
        assert!(r.html.contains("<td width=\"50%\" style=\"background:#BF360C;"), "{}", r.html);
        assert!(r.html.contains("<td width=\"50%\" style=\"background:#B71C1C;"), "{}", r.html);
        for needle in ["<img", "<script", "<link", "src=", "@import", "url(", "<svg"] {
            assert!(!r.html.contains(needle), "{needle} in {}", r.html);
        }
        assert!(r.html.contains("<meta name=\"color-scheme\" content=\"light dark\">"));
    }

    #[test]
    fn a_spanish_digest_reads_spanish() {
        let templates = Templates::builtin();
        let r = render(&[brand_period("corte")], &period(Language::Es, &templates));
        assert_eq!(r.subject, "[escucha] resumen 2026-11-24 07:00: 2 menciones, 1 queja sin respuesta");
        for needle in [
            "Quejas: 2 (1 respondidas, 0 atendidas, 1 sin respuesta)",
            "Tasa de respuesta",
            "Escalamientos abiertos",
            "abierta desde hace 7h",
            "periodo anterior",
        ] {
            assert!(r.text.contains(needle), "{needle} not in\n{}", r.text);
            assert!(r.html.contains(needle), "{needle} not in\n{}", r.html);
        }
        assert!(!r.html.contains("Answer rate"));
    }

    #[test]
    fn the_sample_digest_renders_in_both_languages() {
        let templates = Templates::builtin();
        for lang in [Language::En, Language::Es] {
            let (brands, p) = sample(lang, &templates);
            let r = render(&brands, &p);
            assert!(r.html.contains("Interjet") && r.text.contains("maria_gz"), "{}", r.text);
        }
    }

    fn new_mention(id: &str, class: Class, created: DateTime<Utc>) -> NewMention {
        NewMention { class, ..NewMention::example(id, created) }
    }

    #[test]
    fn a_digest_is_enqueued_once_per_fire_time_and_covers_the_time_since_the_last() {
        let store = Store::open_in_memory().unwrap();
        let mut cfg = crate::alert::plan::tests_support::config();
        cfg.digest = Some(digest("0 0 8 * * *"));
        // The daemon first starts at 00:00; a complaint at 01:00.
        assert_eq!(store.digest_last_fire(KEY, t(0)).unwrap(), t(0));
        store.commit_page("q", t(0), &[new_mention("1", Class::Complaint, t(1))], &[], "c", t(1)).unwrap();
        assert!(fire(&store, &cfg, t(7), t(7)).unwrap());
        assert!(!fire(&store, &cfg, t(7), t(7)).unwrap(), "never twice for one fire time");
        let n = store.pending_notices(t(7)).unwrap();
        assert_eq!(n.len(), 1);
        assert!(n[0].text.contains("Mentions: 1"), "{}", n[0].text);
        // The next day covers only what came after the first digest.
        store.commit_page("q", t(0), &[new_mention("2", Class::Praise, t(10))], &[], "c", t(10)).unwrap();
        assert!(fire(&store, &cfg, t(31), t(31)).unwrap());
        let n = store.pending_notices(t(31)).unwrap();
        assert!(n[1].text.contains("Mentions: 1") && n[1].text.contains("1 praise"), "{}", n[1].text);
        assert_eq!(store.digest_last_fire(KEY, t(40)).unwrap(), t(31));
    }

    #[test]
    fn each_digest_recipient_reads_it_in_their_language() {
        let store = Store::open_in_memory().unwrap();
        let mut cfg = crate::alert::plan::tests_support::config();
        let mut d = digest("0 0 8 * * *");
        d.to = vec!["equipo@example.com".into(), "jefa@example.com".into()];
        cfg.digest = Some(d);
        cfg.people.push(crate::config::Person { address: "Jefa@example.com".into(), timezone: None, quiet: None, language: Some(Language::Es) });
        store.digest_last_fire(KEY, t(0)).unwrap();
        store.commit_page("q", t(0), &[new_mention("1", Class::Complaint, t(1))], &[], "c", t(1)).unwrap();
        assert!(fire(&store, &cfg, t(7), t(7)).unwrap());
        let n = store.pending_notices(t(7)).unwrap();
        let to = |who: &str| n.iter().find(|x| x.recipient == who).unwrap_or_else(|| panic!("a digest to {who}"));
        assert!(to("equipo@example.com").subject.starts_with("[escucha] digest "), "{}", to("equipo@example.com").subject);
        assert!(to("jefa@example.com").subject.starts_with("[escucha] resumen "), "{}", to("jefa@example.com").subject);
        assert!(to("jefa@example.com").text.contains("Quejas sin respuesta más antiguas: 1"), "{}", to("jefa@example.com").text);
    }
}
