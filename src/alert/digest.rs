//! The digest (`[digest]`): a periodic email per recipient summarising, per
//! brand, the period since the previous digest: mentions by class and
//! platform, complaints answered and unanswered, first-answer times, open
//! escalations, repeat complainers and active silences.
//!
//! Rendering and the fire schedule are pure; `fire` reads the store and
//! enqueues the rendered digest as notices together with the fire time, so a
//! digest is never sent twice (also across a restart), and fire times missed
//! while the daemon was down are skipped, not sent late.

use super::render::{escape_html, format_age, Rendered};
use super::silence;
use crate::config::{Config, Digest};
use crate::model::{Class, Mention, Status};
use crate::store::{percentile, MentionFilter, Silence, Store};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::collections::BTreeMap;
use std::fmt::Write as _;

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
    /// Escalations still open now, whenever they were posted.
    pub open_escalations: Vec<Mention>,
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

/// Renders the digest for the period `[from, to)`.
pub fn render(brands: &[BrandPeriod], from: DateTime<Utc>, to: DateTime<Utc>, tz: Tz, send_resolved: bool, now: DateTime<Utc>) -> Rendered {
    let fmt = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string();
    let summaries: Vec<Summary> = brands.iter().map(|b| summarise(&b.mentions)).collect();
    let total: usize = brands.iter().map(|b| b.mentions.len()).sum();
    let open: u64 = summaries.iter().map(|s| s.unanswered).sum();
    let subject = format!(
        "[escucha] digest {}: {total} mention{}, {open} complaint{} unanswered",
        to.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
        if total == 1 { "" } else { "s" },
        if open == 1 { "" } else { "s" }
    );
    let mut text = format!("{subject}\n\nPeriod: {} to {}\n", fmt(from), fmt(to));
    let mut html = format!(
        "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>{}</title></head>\n<body style=\"font-family:sans-serif\">\n<h2>{}</h2>\n<p>Period: {} to {}</p>\n",
        escape_html(&subject),
        escape_html(&subject),
        escape_html(&fmt(from)),
        escape_html(&fmt(to))
    );
    for (b, s) in brands.iter().zip(&summaries) {
        let _ = writeln!(text, "\n== {} ({}) ==\n", b.name, b.id);
        let _ = writeln!(html, "<h3>{} ({})</h3>", escape_html(b.name), escape_html(b.id));

        // Mentions by class and platform.
        let platforms: Vec<&str> = {
            let mut p: Vec<&str> = s.by_platform.keys().map(|(p, _)| p.as_str()).collect();
            p.dedup();
            p
        };
        let _ = writeln!(text, "Mentions: {}", b.mentions.len());
        html.push_str("<table border=\"1\" cellpadding=\"4\" style=\"border-collapse:collapse\">\n<tr><th>platform</th>");
        for c in CLASSES {
            let _ = write!(html, "<th>{}</th>", c.as_str());
        }
        html.push_str("</tr>\n");
        for p in &platforms {
            let counts: Vec<u64> = CLASSES.iter().map(|c| s.by_platform.get(&(p.to_string(), c.as_str().to_string())).copied().unwrap_or(0)).collect();
            let parts: Vec<String> = CLASSES.iter().zip(&counts).map(|(c, n)| format!("{n} {}", c.as_str())).collect();
            let _ = writeln!(text, "  {p:<11} {}", parts.join(", "));
            let _ = write!(html, "<tr><td>{}</td>", escape_html(p));
            for n in counts {
                let _ = write!(html, "<td align=\"right\">{n}</td>");
            }
            html.push_str("</tr>\n");
        }
        html.push_str("</table>\n");

        let line = format!("Complaints: {} ({} answered, {} acknowledged, {} unanswered)", s.complaints, s.answered, s.acked, s.unanswered);
        let times = format!("First answer: median {}, p90 {}", secs(s.median_answer_secs), secs(s.p90_answer_secs));
        let _ = writeln!(text, "{line}\n{times}");
        let _ = writeln!(html, "<p>{}<br>{}</p>", escape_html(&line), escape_html(&times));

        let _ = writeln!(text, "Open escalations: {}", b.open_escalations.len());
        if !b.open_escalations.is_empty() {
            html.push_str("<p>Open escalations:</p>\n<ul>\n");
        } else {
            html.push_str("<p>Open escalations: none</p>\n");
        }
        for m in &b.open_escalations {
            let item = format!(
                "#{} on {} by @{}, open for {}: {} {}",
                m.id,
                m.platform,
                m.author.trim_start_matches('@'),
                format_age(now - m.created_at),
                short(&m.text),
                m.url
            );
            let _ = writeln!(text, "  - {item}");
            let _ = writeln!(html, "<li>{}</li>", escape_html(&item));
        }
        if !b.open_escalations.is_empty() {
            html.push_str("</ul>\n");
        }

        let repeat = if s.repeat.is_empty() { "none".to_string() } else { s.repeat.iter().map(|(a, n)| format!("@{a} ({n})")).collect::<Vec<_>>().join(", ") };
        let _ = writeln!(text, "Repeat complainers: {repeat}");
        let _ = writeln!(html, "<p>Repeat complainers: {}</p>", escape_html(&repeat));

        let silences = if b.silences.is_empty() {
            "none".to_string()
        } else {
            b.silences
                .iter()
                .map(|x| format!("#{} {} until {} by {}: {}", x.id, silence::scope(x), fmt(x.until), x.created_by, x.reason))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let _ = writeln!(text, "Active silences: {silences}");
        let _ = writeln!(html, "<p>Active silences: {}</p>", escape_html(&silences));

        if send_resolved {
            let _ = writeln!(text, "Resolved in the period: {}", b.resolved.len());
            let _ = writeln!(html, "<p>Resolved in the period: {}</p>", b.resolved.len());
            for m in &b.resolved {
                let how = match (&m.status, &m.acked_by) {
                    (Status::Acked, Some(by)) => format!("acknowledged by {by}"),
                    (Status::Acked, None) => "acknowledged".to_string(),
                    _ => "answered".to_string(),
                };
                let item = format!("#{} on {} by @{}: {how}", m.id, m.platform, m.author.trim_start_matches('@'));
                let _ = writeln!(text, "  - {item}");
                let _ = writeln!(html, "<div>{}</div>", escape_html(&item));
            }
        }
    }
    html.push_str("</body>\n</html>\n");
    Rendered { subject, text, html }
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
/// from the store and enqueues one notice per recipient. Returns false when
/// a digest for this fire time (or a later one) was already recorded.
pub fn fire(store: &Store, cfg: &Config, fire: DateTime<Utc>, now: DateTime<Utc>) -> crate::store::Result<bool> {
    let Some(d) = &cfg.digest else { return Ok(false) };
    let from = store.digest_last_fire(KEY, now)?;
    if from >= fire {
        return Ok(false);
    }
    let silences = store.active_silences(now)?;
    let mut brands = Vec::new();
    for b in &cfg.brands {
        let open_escalations = store.mentions(&MentionFilter { brand: Some(b.id.clone()), class: Some(Class::Escalation), open_only: true, limit: None })?;
        brands.push(BrandPeriod {
            id: &b.id,
            name: &b.name,
            mentions: store.mentions_between(&b.id, from, fire)?,
            open_escalations: open_escalations.into_iter().filter(|m| !m.history).collect(),
            resolved: store.resolved_between(&b.id, from, fire)?,
            silences: silences.iter().filter(|s| s.brand == b.id).cloned().collect(),
        });
    }
    let r = render(&brands, from, fire, d.timezone, d.send_resolved, now);
    let notices: Vec<_> = d.to.iter().map(|to| (to.clone(), r.subject.clone(), r.text.clone(), r.html.clone())).collect();
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

    #[test]
    fn the_rendered_digest_has_every_section_in_text_and_html() {
        let esc = m(3, Class::Escalation, Platform::Mastodon, "ana", Status::Open, None);
        let b = BrandPeriod {
            id: "interjet",
            name: "Interjet",
            mentions: vec![m(1, Class::Complaint, Platform::X, "ana", Status::Answered, Some(10)), esc.clone()],
            open_escalations: vec![esc],
            resolved: vec![],
            silences: vec![Silence {
                id: 9,
                brand: "interjet".into(),
                platform: None,
                author: None,
                starts_at: t(0),
                until: t(30),
                reason: "<outage>".into(),
                created_by: "ana".into(),
            }],
        };
        let r = render(&[b], t(0), t(7), chrono_tz::UTC, false, t(8));
        assert_eq!(r.subject, "[escucha] digest 2026-11-24 07:00: 2 mentions, 1 complaint unanswered");
        for needle in ["Interjet", "Complaints: 2 (1 answered, 0 acknowledged, 1 unanswered)", "median 10m", "open for 7h", "@ana (2)", "#9 brand interjet"] {
            assert!(r.text.contains(needle), "{needle} not in\n{}", r.text);
            assert!(r.html.contains(needle), "{needle} not in\n{}", r.html);
        }
        assert!(r.html.contains("&lt;outage&gt;") && !r.html.contains("<outage>"));
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
}
