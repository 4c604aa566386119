//! Turns mentions into the words of an alert: a subject, a plain-text body
//! and an HTML body carrying the same content, in the reader's language.
//! Pure: no I/O, no clock (the caller passes `now`). The bodies come from
//! templates (`alert::templates`); this module builds what they show.
//! Delivery lives in `alert::email`.
//!
//! Contract (DESIGN.md "Alert content"): the subject names the class in
//! English, the brand and the platform; the body has each mention's text,
//! link, author, followers, age, reasons and how to acknowledge it.

use super::templates::Templates;
use super::words::{self, Words};
use crate::config::Language;
use crate::model::{Class, Mention};
use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use std::collections::BTreeSet;

/// An alert ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// What rendering needs besides the mentions.
pub struct AlertContext<'a> {
    /// The brand's display name (`[[brand]] name`).
    pub brand_name: &'a str,
    pub now: DateTime<Utc>,
    /// How the recipient acknowledges one mention.
    pub ack: &'a dyn Fn(&Mention) -> AckHow,
    /// Other open complaints of this brand not in this message (a storm
    /// grouped into a few messages says how much is still waiting).
    pub pending: usize,
    /// The reader's language (`[[person]] language`, else `[daemon] language`).
    pub lang: Language,
    /// The reader's time zone, for the times the message shows.
    pub tz: Tz,
    pub templates: &'a Templates,
}

/// How to act on one mention from a message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AckHow {
    /// e.g. `escucha ack 42`.
    pub command: String,
    /// A signed ack URL, when the daemon has a public URL.
    pub link: Option<String>,
    /// A signed "not a complaint" URL beside it (same signing and expiry):
    /// the recipient relabels the mention, which stops its alerts and
    /// teaches the classifier.
    pub not_complaint: Option<String>,
    /// `{public_url}/mentions/{id}` when the web inbox is on.
    pub inbox: Option<String>,
}

/// Renders one alert for one recipient: one or more mentions of one brand.
/// Escalations come first, then the oldest mention first, so the most urgent
/// thing is what the reader sees without scrolling.
pub fn render_alert(mentions: &[Mention], ctx: &AlertContext) -> Rendered {
    let mut ordered: Vec<&Mention> = mentions.iter().collect();
    ordered.sort_by_key(|m| (class_rank(m.class), m.created_at, m.id));
    let view = alert_view(&ordered, ctx);
    let (text, e1) = ctx.templates.render("alert.txt", ctx.lang, &view);
    let (html, e2) = ctx.templates.render("alert.html", ctx.lang, &view);
    for e in [e1, e2].into_iter().flatten() {
        // The built-in template was used instead: the page still goes out.
        tracing::error!(error = %e, "alert template failed; sent with the built-in one (fix it and run `escucha check`)");
    }
    Rendered { subject: view.subject, text, html }
}

/// What the alert templates see (documented in README.md "Templates").
#[derive(Debug, Serialize)]
pub struct AlertView {
    pub t: &'static Words,
    pub subject: String,
    pub brand: BrandView,
    pub mentions: Vec<MentionView>,
    /// "7 more open complaints ... are waiting", or none.
    pub pending: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct BrandView {
    pub id: String,
    pub name: String,
}

/// One mention as a message shows it; every string is plain text (HTML
/// templates escape it).
#[derive(Debug, Serialize)]
pub struct MentionView {
    pub id: i64,
    /// `complaint`, `escalation`, ... (English, stable).
    pub class: &'static str,
    /// In the reader's language: `Complaint`, `Queja`.
    pub class_label: &'static str,
    pub class_bg: &'static str,
    pub class_fg: &'static str,
    pub platform: &'static str,
    pub url: String,
    /// Only http(s) URLs become links: a `javascript:` URL from a hostile
    /// platform response stays inert text.
    pub url_is_web: bool,
    /// `@handle`, on one line.
    pub author: String,
    /// `1234 followers`, `followers unknown`.
    pub followers: String,
    /// A review's stars (1-5) and as text: `★★☆☆☆ 2/5`.
    pub rating: Option<u8>,
    pub stars: Option<String>,
    /// The post as quoted (cut at [`MAX_QUOTED_CHARS`]).
    pub text: String,
    /// In the reader's time zone: `2025-03-01 12:25 CET`.
    pub posted_at: String,
    /// RFC 3339 UTC.
    pub posted_at_utc: String,
    /// How long it has waited: `35m`.
    pub age: String,
    pub posted_ago: String,
    /// The time it was given (deadline minus posting): `30m`.
    pub threshold: Option<String>,
    /// `5m overdue` / `12m left`.
    pub deadline_state: Option<String>,
    pub overdue: bool,
    /// Waited over threshold, in percent, 0-100 (for the bar).
    pub progress: u32,
    pub reasons: Vec<ReasonView>,
    pub ack_command: String,
    pub ack_link: Option<String>,
    pub not_complaint_link: Option<String>,
    pub inbox_link: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ReasonView {
    /// In the reader's words.
    pub words: String,
    /// As the classifier wrote it (`complaint:phrase:sin respuesta`).
    pub code: String,
}

fn alert_view(ordered: &[&Mention], ctx: &AlertContext) -> AlertView {
    let lang = ctx.lang;
    let brand_id = ordered.first().map(|m| m.brand.clone()).unwrap_or_default();
    let pending = (ctx.pending > 0).then(|| words::pending(lang, ctx.pending, ctx.brand_name, &brand_id));
    AlertView {
        t: words::words(lang),
        subject: one_line(&subject(ordered, ctx)),
        brand: BrandView { id: brand_id, name: ctx.brand_name.to_string() },
        mentions: ordered.iter().map(|m| mention_view(m, ctx.now, lang, ctx.tz, &(ctx.ack)(m))).collect(),
        pending,
    }
}

/// One mention as messages show it (email templates and chat cards).
pub fn mention_view(m: &Mention, now: DateTime<Utc>, lang: Language, tz: Tz, ack: &AckHow) -> MentionView {
    let age = format_age(now - m.created_at);
    let (bg, fg) = words::class_colors(m.class);
    let threshold = m.deadline.map(|d| d - m.created_at).filter(|d| *d > chrono::Duration::zero());
    let (deadline_state, overdue) = match m.deadline {
        Some(d) if now >= d => (Some(words::deadline_state(lang, true, &format_age(now - d))), true),
        Some(d) => (Some(words::deadline_state(lang, false, &format_age(d - now))), false),
        None => (None, false),
    };
    let progress = match threshold {
        _ if overdue => 100,
        Some(t) => ((now - m.created_at).num_seconds().max(0) * 100 / t.num_seconds().max(1)).clamp(0, 100) as u32,
        None => 0,
    };
    MentionView {
        id: m.id,
        class: m.class.as_str(),
        class_label: words::class_label(lang, m.class),
        class_bg: bg,
        class_fg: fg,
        platform: m.platform.as_str(),
        url: m.url.clone(),
        url_is_web: is_web_link(&m.url),
        author: author(m),
        followers: words::followers(lang, m.author_followers),
        rating: m.rating.map(|r| r.clamp(1, 5)),
        stars: rating(m),
        text: quoted_text(m).into_owned(),
        posted_at: m.created_at.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string(),
        posted_at_utc: m.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        posted_ago: words::posted_ago(lang, &age),
        age,
        threshold: threshold.map(format_age),
        deadline_state,
        overdue,
        progress,
        reasons: m.reasons.iter().map(|r| ReasonView { words: words::describe_reason(lang, r), code: r.clone() }).collect(),
        ack_command: ack.command.clone(),
        ack_link: ack.link.clone(),
        not_complaint_link: ack.not_complaint.clone(),
        inbox_link: ack.inbox.clone(),
    }
}

/// A sample alert (an overdue complaint with every field set) for checking
/// a team's templates at load time and for the docs' rendered examples.
pub fn sample_context(lang: Language) -> AlertView {
    let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 3, 2, 10, 0, 0).unwrap();
    let ms = sample_mentions(now);
    let ack = sample_ack;
    let t = Templates::builtin();
    let ctx = AlertContext { brand_name: "Interjet", now, ack: &ack, pending: 3, lang, tz: chrono_tz::Europe::Madrid, templates: &t };
    let refs: Vec<&Mention> = ms.iter().collect();
    alert_view(&refs, &ctx)
}

/// The mentions of [`sample_context`].
pub fn sample_mentions(now: DateTime<Utc>) -> Vec<Mention> {
    let created = now - chrono::Duration::minutes(47);
    vec![Mention {
        brand: "interjet".into(),
        platform: crate::model::Platform::X,
        platform_id: "1897000000000000042".into(),
        url: "https://x.com/maria_gz/status/1897000000000000042".into(),
        author: "maria_gz".into(),
        author_id: "77".into(),
        author_followers: Some(5321),
        text: "@Interjet_mx llevo 3 horas en el mostrador y nadie me dice nada de mi maleta. Pésimo servicio.".into(),
        lang: Some("es".into()),
        class: Class::Complaint,
        score: 0.86,
        reasons: vec!["complaint:phrase:pesimo".into(), "complaint:phrase:nadie me dice".into()],
        deadline: Some(created + chrono::Duration::minutes(30)),
        ..Mention::sample(42, created)
    }]
}

/// Links as a daemon with `public_url` makes them (placeholders).
pub fn sample_ack(m: &Mention) -> AckHow {
    AckHow {
        command: format!("escucha ack {}", m.id),
        link: Some(format!("https://escucha.example.com/ack/{}", "0".repeat(16))),
        not_complaint: Some(format!("https://escucha.example.com/not-a-complaint/{}", "0".repeat(16))),
        inbox: Some(format!("https://escucha.example.com/mentions/{}", m.id)),
    }
}

/// A short human age: `45s`, `12m`, `3h 5m`, `2d 4h`. Negative durations
/// (a platform clock ahead of ours) read as `0s`.
pub fn format_age(d: chrono::Duration) -> String {
    let secs = d.num_seconds().max(0);
    let (days, hours, mins) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    if secs < 60 {
        format!("{secs}s")
    } else if secs < 3_600 {
        format!("{mins}m")
    } else if secs < 86_400 {
        if mins == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h {mins}m")
        }
    } else if hours == 0 {
        format!("{days}d")
    } else {
        format!("{days}d {hours}h")
    }
}

/// A reason such as `complaint:phrase:sin respuesta` in English words. The
/// raw string is kept beside it by the callers so that it can be searched for.
pub fn describe_reason(reason: &str) -> String {
    words::describe_reason(Language::En, reason)
}

/// How much of one mention's text an alert quotes, in characters. The
/// store keeps the whole text (a feed comment has no platform limit); a page
/// is read on a phone, and a megabyte quote would bury the link and the ack.
pub const MAX_QUOTED_CHARS: usize = 20_000;

/// The mention's text as an alert quotes it: whole, or cut at
/// [`MAX_QUOTED_CHARS`] with a line saying how much was left out and where
/// to read it.
pub fn quoted_text(m: &Mention) -> std::borrow::Cow<'_, str> {
    let Some((cut, _)) = m.text.char_indices().nth(MAX_QUOTED_CHARS) else { return m.text.as_str().into() };
    let rest = m.text[cut..].chars().count();
    format!("{}\n[… {rest} more characters not shown: escucha mentions --json --brand {}]", &m.text[..cut], m.brand).into()
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn class_rank(c: Class) -> u8 {
    match c {
        Class::Escalation => 0,
        Class::Complaint => 1,
        Class::Neutral => 2,
        Class::Praise => 3,
    }
}

fn plural(class: Class, n: usize) -> String {
    if n == 1 {
        class.as_str().to_string()
    } else {
        format!("{}s", class.as_str())
    }
}

/// The subject. English names the class in English (DESIGN.md); Spanish
/// gives the Spanish word with the English one beside it, so that mail
/// filters on `complaint` / `escalation` keep working for every reader.
fn subject(ordered: &[&Mention], ctx: &AlertContext) -> String {
    let brand = ctx.brand_name;
    let es = ctx.lang == Language::Es;
    match ordered {
        [] if es => format!("[escucha] nada sin respuesta sobre {brand}"),
        [] => format!("[escucha] nothing unanswered about {brand}"),
        [m] if es => format!(
            "[escucha] {} ({}) sobre {brand} en {}, sin respuesta desde hace {}",
            words::class_label(Language::Es, m.class).to_lowercase(),
            m.class,
            m.platform,
            format_age(ctx.now - m.created_at)
        ),
        [m] => format!("[escucha] {} about {brand} on {}, unanswered for {}", m.class, m.platform, format_age(ctx.now - m.created_at)),
        many => {
            let platforms: BTreeSet<_> = many.iter().map(|m| m.platform).collect();
            let platforms: Vec<&str> = platforms.iter().map(|p| p.as_str()).collect();
            // Counts per class in urgency order (`ordered` is sorted by rank).
            let mut counts: Vec<(Class, usize)> = Vec::new();
            for m in many {
                match counts.last_mut() {
                    Some((c, n)) if *c == m.class => *n += 1,
                    _ => counts.push((m.class, 1)),
                }
            }
            if es {
                let parts: Vec<String> = counts.iter().map(|(c, n)| format!("{} ({})", words::class_count(Language::Es, *c, *n), plural(*c, *n))).collect();
                return format!("[escucha] {} sin respuesta sobre {brand} ({})", join_with(&parts, "y"), platforms.join(", "));
            }
            let what = match counts.as_slice() {
                [(class, n)] => format!("{n} unanswered {}", plural(*class, *n)),
                _ => {
                    let parts: Vec<String> = counts.iter().map(|(c, n)| format!("{n} {}", plural(*c, *n))).collect();
                    format!("{} unanswered", join_with(&parts, "and"))
                }
            };
            format!("[escucha] {what} about {brand} ({})", platforms.join(", "))
        }
    }
}

fn join_with(parts: &[String], and: &str) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {and} {last}", init.join(", ")),
    }
}

/// Header values must stay on one line whatever a brand name contains.
pub fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// One line whatever the platform sent: a line break in a handle would
/// make the next line of the body look like something escucha wrote.
fn author(m: &Mention) -> String {
    one_line(&format!("@{}", m.author.trim_start_matches('@')))
}

/// A review's stars: `★☆☆☆☆ 1/5`.
fn rating(m: &Mention) -> Option<String> {
    let r = usize::from(m.rating?.clamp(1, 5));
    Some(format!("{}{} {r}/5", "★".repeat(r), "☆".repeat(5 - r)))
}

fn is_web_link(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Platform;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap()
    }

    fn mention(id: i64, class: Class, platform: Platform, age_min: i64, text: &str) -> Mention {
        let created = now() - Duration::minutes(age_min);
        Mention {
            platform,
            platform_id: format!("17{id}"),
            url: format!("https://x.com/ana_g/status/17{id}"),
            author: "ana_g".into(),
            author_id: "99".into(),
            author_followers: Some(1234),
            text: text.into(),
            lang: Some("es".into()),
            class,
            score: 0.8,
            reasons: vec!["complaint:phrase:sin respuesta".into(), "escalation:reach:followers>=10000".into()],
            deadline: Some(created + Duration::minutes(30)),
            ..Mention::example(id, created)
        }
    }

    fn ack(m: &Mention) -> AckHow {
        AckHow {
            command: format!("escucha ack {}", m.id),
            link: Some(format!("https://escucha.example/ack?t=a&id={}", m.id)),
            not_complaint: Some(format!("https://escucha.example/not-a-complaint/nc{}", m.id)),
            inbox: None,
        }
    }

    fn ctx<'a>(brand_name: &'a str, ack: &'a dyn Fn(&Mention) -> AckHow, templates: &'a Templates) -> AlertContext<'a> {
        AlertContext { brand_name, now: now(), ack, pending: 0, lang: Language::En, tz: chrono_tz::UTC, templates }
    }

    fn render(ms: &[Mention]) -> Rendered {
        render_alert(ms, &ctx("Interjet", &ack, &Templates::builtin()))
    }

    fn render_es(ms: &[Mention]) -> Rendered {
        render_alert(ms, &AlertContext { lang: Language::Es, tz: chrono_tz::America::Mexico_City, ..ctx("Interjet", &ack, &Templates::builtin()) })
    }

    #[test]
    fn single_complaint_subject_names_class_brand_platform_and_age() {
        let r = render(&[mention(42, Class::Complaint, Platform::X, 35, "sin respuesta")]);
        assert_eq!(r.subject, "[escucha] complaint about Interjet on x, unanswered for 35m");
    }

    #[test]
    fn single_escalation_subject_says_escalation() {
        let r = render(&[mention(1, Class::Escalation, Platform::Mastodon, 90, "demanda")]);
        assert_eq!(r.subject, "[escucha] escalation about Interjet on mastodon, unanswered for 1h 30m");
    }

    #[test]
    fn several_complaints_are_counted_with_their_platforms() {
        let r = render(&[
            mention(1, Class::Complaint, Platform::Mastodon, 10, "a"),
            mention(2, Class::Complaint, Platform::X, 20, "b"),
            mention(3, Class::Complaint, Platform::X, 30, "c"),
        ]);
        assert_eq!(r.subject, "[escucha] 3 unanswered complaints about Interjet (x, mastodon)");
    }

    #[test]
    fn escalations_come_first_in_subject_and_body() {
        let r = render(&[
            mention(1, Class::Complaint, Platform::X, 50, "first complaint"),
            mention(2, Class::Escalation, Platform::X, 5, "the escalation"),
            mention(3, Class::Complaint, Platform::X, 30, "second complaint"),
        ]);
        assert_eq!(r.subject, "[escucha] 1 escalation and 2 complaints unanswered about Interjet (x)");
        let esc = r.text.find("the escalation").unwrap();
        let first = r.text.find("first complaint").unwrap();
        let second = r.text.find("second complaint").unwrap();
        assert!(esc < first && first < second, "{}", r.text);
        assert!(r.html.find("the escalation").unwrap() < r.html.find("first complaint").unwrap());
    }

    #[test]
    fn both_bodies_carry_text_author_followers_link_age_reasons_and_ack() {
        let m = mention(42, Class::Complaint, Platform::X, 35, "Llevo 3 meses sin respuesta");
        let r = render(std::slice::from_ref(&m));
        for body in [&r.text, &r.html] {
            assert!(body.contains("Llevo 3 meses sin respuesta"), "{body}");
            assert!(body.contains("@ana_g"), "{body}");
            assert!(body.contains("1234 followers"), "{body}");
            assert!(body.contains("https://x.com/ana_g/status/1742"), "{body}");
            assert!(body.contains("2025-03-01 11:25 UTC"), "{body}");
            assert!(body.contains("posted 35m ago"), "{body}");
            assert!(body.contains("30m"), "the threshold: {body}");
            assert!(body.contains("5m overdue"), "{body}");
            assert!(body.contains("complaint:phrase:sin respuesta"), "{body}");
            assert!(body.contains("escalation:reach:followers&gt;=10000") || body.contains("escalation:reach:followers>=10000"), "{body}");
            assert!(body.contains("escucha ack 42"), "{body}");
        }
        assert!(r.text.contains("2025-03-01T11:25:00Z"), "the exact time in the text part");
        assert!(r.text.contains("https://escucha.example/ack?t=a&id=42"));
        assert!(r.html.contains("href=\"https://escucha.example/ack?t=a&amp;id=42\""));
        assert!(r.html.contains("href=\"https://x.com/ana_g/status/1742\""));
    }

    #[test]
    fn both_bodies_offer_the_not_a_complaint_link_beside_the_ack() {
        let r = render(&[mention(42, Class::Complaint, Platform::X, 35, "sin respuesta")]);
        let link = "https://escucha.example/not-a-complaint/nc42";
        assert!(r.text.contains(&format!("Not a complaint? Open {link}")), "{}", r.text);
        assert!(r.text.find("escucha ack 42").unwrap() < r.text.find(link).unwrap());
        assert!(r.html.contains(&format!("href=\"{link}\"")), "{}", r.html);
        assert_eq!(describe_reason("praise:corrected-by:ana"), "praise: corrected by ana");
    }

    #[test]
    fn text_body_keeps_the_mention_text_verbatim() {
        let text = "línea 1\n<b>no</b> & \"quotes\" 'single'";
        let r = render(&[mention(7, Class::Complaint, Platform::X, 1, text)]);
        assert!(r.text.contains(text));
    }

    #[test]
    fn html_body_escapes_user_text() {
        let mut m = mention(7, Class::Complaint, Platform::X, 1, "<script>alert('x')</script> & \"hi\"");
        m.author = "evil<img>".into();
        m.reasons = vec!["complaint:phrase:<b>".into()];
        let r = render(&[m]);
        assert!(!r.html.contains("<script>"), "{}", r.html);
        assert!(!r.html.contains("<img>"));
        assert!(!r.html.contains("<b>"));
        assert!(r.html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;hi&quot;"));
        assert!(r.html.contains("@evil&lt;img&gt;"));
    }

    #[test]
    fn a_huge_mention_is_quoted_up_to_the_cap_with_a_marker() {
        let text = format!("{}{}", "é".repeat(MAX_QUOTED_CHARS), "z".repeat(5));
        let r = render(&[mention(7, Class::Complaint, Platform::X, 1, &text)]);
        assert!(r.text.contains(&format!("{}\n[… 5 more characters not shown", "é".repeat(MAX_QUOTED_CHARS))), "{}", &r.text[..200]);
        assert!(!r.text.contains("zzzzz"));
        let exact = "é".repeat(MAX_QUOTED_CHARS);
        assert!(!render(&[mention(8, Class::Complaint, Platform::X, 1, &exact)]).text.contains("more characters not shown"));
    }

    #[test]
    fn only_http_links_become_anchors() {
        let mut m = mention(7, Class::Complaint, Platform::X, 1, "t");
        m.url = "javascript:alert(1)".into();
        let r = render(&[m]);
        assert!(!r.html.contains("href=\"javascript"), "{}", r.html);
        assert!(r.html.contains("javascript:alert(1)"));
    }

    #[test]
    fn a_quote_in_a_link_cannot_break_out_of_the_attribute() {
        let mut m = mention(7, Class::Complaint, Platform::X, 1, "t");
        m.url = "https://x.com/a\"onmouseover=\"alert(1)".into();
        let r = render(&[m]);
        assert!(r.html.contains("href=\"https://x.com/a&quot;onmouseover=&quot;alert(1)\""));
    }

    #[test]
    fn html_loads_nothing_external() {
        let r = render(&[mention(7, Class::Complaint, Platform::X, 1, "t")]);
        for needle in ["<img", "<script", "<link", "src=", "@import", "url("] {
            assert!(!r.html.contains(needle), "{needle} in {}", r.html);
        }
    }

    #[test]
    fn no_ack_link_means_only_the_command() {
        let no_link = |m: &Mention| AckHow { command: format!("escucha ack {}", m.id), ..Default::default() };
        let t = Templates::builtin();
        let r = render_alert(&[mention(9, Class::Complaint, Platform::X, 1, "t")], &ctx("Interjet", &no_link, &t));
        assert!(r.text.contains("Acknowledge: run `escucha ack 9`"), "{}", r.text);
        assert!(!r.text.contains("or open"));
        assert!(!r.html.contains("class=\"btn\" href=\"https://escucha"), "no buttons without links: {}", r.html);
    }

    #[test]
    fn unknown_follower_count_is_said_so() {
        let mut m = mention(7, Class::Complaint, Platform::X, 1, "t");
        m.author_followers = None;
        assert!(render(&[m]).text.contains("followers unknown"));
    }

    #[test]
    fn subject_never_spans_lines() {
        let t = Templates::builtin();
        for lang in [Language::En, Language::Es] {
            let r = render_alert(&[mention(7, Class::Complaint, Platform::X, 1, "t")], &AlertContext { lang, ..ctx("Inter\r\nBcc: x@y", &ack, &t) });
            assert!(!r.subject.contains('\n') && !r.subject.contains('\r'), "{:?}", r.subject);
        }
    }

    #[test]
    fn reasons_read_as_words() {
        assert_eq!(describe_reason("complaint:phrase:sin respuesta"), "complaint: says \"sin respuesta\"");
        assert_eq!(describe_reason("escalation:executive:@miguelalemanm"), "escalation: mentions executive @miguelalemanm");
        assert_eq!(describe_reason("escalation:reach:followers>=10000"), "escalation: author's reach (followers>=10000)");
        assert_eq!(describe_reason("complaint:novel:thing"), "complaint: novel: thing");
        assert_eq!(describe_reason("plain"), "plain");
    }

    #[test]
    fn ages_read_like_a_person_would_say_them() {
        let table = [
            (0, "0s"),
            (45, "45s"),
            (59, "59s"),
            (60, "1m"),
            (12 * 60 + 59, "12m"),
            (3_600, "1h"),
            (3 * 3_600 + 5 * 60, "3h 5m"),
            (23 * 3_600 + 59 * 60 + 59, "23h 59m"),
            (86_400, "1d"),
            (2 * 86_400 + 4 * 3_600 + 30 * 60, "2d 4h"),
            (-30, "0s"),
        ];
        for (secs, want) in table {
            assert_eq!(format_age(Duration::seconds(secs)), want, "{secs}s");
        }
    }

    #[test]
    fn a_grouped_message_says_how_many_more_are_waiting() {
        let ack = |m: &Mention| AckHow { command: format!("escucha ack {}", m.id), ..Default::default() };
        let t = Templates::builtin();
        let ms = [mention(1, Class::Complaint, Platform::X, 60, "nadie responde")];
        let r = render_alert(&ms, &AlertContext { pending: 7, ..ctx("Interjet", &ack, &t) });
        assert!(r.text.contains("7 more open complaints about Interjet are waiting"), "{}", r.text);
        assert!(r.html.contains("7 more open complaints"));
        let r = render_alert(&ms, &AlertContext { pending: 7, lang: Language::Es, ..ctx("Interjet", &ack, &t) });
        assert!(r.text.contains("7 quejas más sobre Interjet esperan respuesta"), "{}", r.text);
        let r = render_alert(&ms, &ctx("Interjet", &ack, &t));
        assert!(!r.text.contains("more open complaint"));
    }

    #[test]
    fn a_review_shows_its_stars() {
        let mut m = mention(1, Class::Complaint, Platform::AppStore, 5, "se cierra sola");
        m.rating = Some(2);
        let r = render(&[m]);
        assert!(r.text.contains("Rating:  ★★☆☆☆ 2/5"), "{}", r.text);
        assert!(r.html.contains("★★☆☆☆ 2/5"), "{}", r.html);
        let plain = render(&[mention(2, Class::Complaint, Platform::X, 5, "mal")]);
        assert!(!plain.text.contains("Rating"));
    }

    /// Every field a platform (or a stranger) controls, hostile at once.
    fn hostile() -> Mention {
        let mut m = mention(66, Class::Complaint, Platform::X, 40, "<script>alert(\"x\")</script> 'quoted' & <img src=x onerror=alert(1)>");
        m.author = "eve\"><script>".into();
        m.url = "https://x.com/eve/status/1?a=1&b=\"><script>".into();
        m.reasons = vec!["complaint:phrase:<i>&\"'".into()];
        m.brand = "inter<jet>".into();
        m.rating = Some(1);
        m
    }

    #[test]
    fn every_mention_field_is_escaped_in_the_html_of_both_languages() {
        let hostile_ack = |m: &Mention| AckHow {
            command: format!("escucha ack {}<b>", m.id),
            link: Some("https://e.example/ack/a\"b<c>&d".into()),
            not_complaint: Some("https://e.example/not-a-complaint/'x'".into()),
            inbox: Some("https://e.example/mentions/66?<y>".into()),
        };
        let t = Templates::builtin();
        for lang in [Language::En, Language::Es] {
            let r = render_alert(&[hostile()], &AlertContext { lang, pending: 2, ..ctx("Brand <b>&\"co\"", &hostile_ack, &t) });
            for raw in ["<script", "<img", "<i>", "<b>", "<c>", "<y>", "<jet>", "'x'", "\"co\""] {
                assert!(!r.html.contains(raw), "{raw} unescaped in {lang:?}:\n{}", r.html);
            }
            assert!(
                r.html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &#39;quoted&#39; &amp; &lt;img src=x onerror=alert(1)&gt;"),
                "{}",
                r.html
            );
            assert!(r.html.contains("@eve&quot;&gt;&lt;script&gt;"));
            assert!(r.html.contains("href=\"https://x.com/eve/status/1?a=1&amp;b=&quot;&gt;&lt;script&gt;\""));
            assert!(r.html.contains("href=\"https://e.example/ack/a&quot;b&lt;c&gt;&amp;d\""));
            assert!(r.html.contains("Brand &lt;b&gt;&amp;&quot;co&quot;"));
            // The text part is for people and keeps the words as written.
            assert!(r.text.contains("<script>alert(\"x\")</script> 'quoted' &"), "{}", r.text);
        }
    }

    #[test]
    fn the_html_is_a_mail_client_friendly_dark_mode_safe_page_with_real_buttons() {
        let mut m = mention(42, Class::Complaint, Platform::X, 35, "sin respuesta");
        m.rating = Some(2);
        let with_inbox = |m: &Mention| AckHow { inbox: Some(format!("https://escucha.example/mentions/{}", m.id)), ..ack(m) };
        let t = Templates::builtin();
        let r = render_alert(&[m], &ctx("Interjet", &with_inbox, &t));
        for needle in [
            "<meta name=\"color-scheme\" content=\"light dark\">",
            "prefers-color-scheme: dark",
            "name=\"viewport\"",
            "role=\"presentation\"",
            ">Acknowledge</a>",
            ">Open post</a>",
            ">Not a complaint</a>",
            ">Open in escucha</a>",
            "href=\"https://escucha.example/mentions/42\"",
            "★★☆☆☆ 2/5",
            ">Complaint</span>",
            "#BF360C",
        ] {
            assert!(r.html.contains(needle), "{needle} not in\n{}", r.html);
        }
        // Acknowledge is the first button: what the reader should do first.
        let pos = |s: &str| r.html.find(s).unwrap();
        assert!(pos(">Acknowledge</a>") < pos(">Open post</a>") && pos(">Open post</a>") < pos(">Not a complaint</a>"));
        assert!(r.text.contains("Open in escucha: https://escucha.example/mentions/42"), "{}", r.text);
    }

    #[test]
    fn spanish_readers_get_spanish_with_the_english_class_in_the_subject() {
        let r = render_es(&[mention(42, Class::Complaint, Platform::X, 35, "sin respuesta")]);
        assert_eq!(r.subject, "[escucha] queja (complaint) sobre Interjet en x, sin respuesta desde hace 35m");
        for needle in
            [">Lo atiendo</a>", ">Abrir publicación</a>", ">No es una queja</a>", "Por qué avisa escucha", "1234 seguidores", "vencida hace 5m", "lang=\"es\""]
        {
            assert!(r.html.contains(needle), "{needle} not in\n{}", r.html);
        }
        assert!(r.text.contains("queja: dice \"sin respuesta\" [complaint:phrase:sin respuesta]"), "{}", r.text);
        assert!(r.text.contains("2025-03-01 05:25 CST"), "times in the reader's zone: {}", r.text);
        assert!(!r.html.contains("Acknowledge") && !r.html.contains("1234 followers"), "{}", r.html);
        let many = render_es(&[
            mention(1, Class::Escalation, Platform::X, 5, "a"),
            mention(2, Class::Complaint, Platform::Mastodon, 9, "b"),
            mention(3, Class::Complaint, Platform::X, 9, "c"),
        ]);
        assert_eq!(many.subject, "[escucha] 1 escalamiento (escalation) y 2 quejas (complaints) sin respuesta sobre Interjet (x, mastodon)");
        let en = render(&[mention(42, Class::Complaint, Platform::X, 35, "sin respuesta")]);
        assert!(en.html.contains("lang=\"en\"") && en.html.contains(">Acknowledge</a>"));
    }

    #[test]
    fn a_mention_within_its_deadline_says_how_long_is_left() {
        let r = render(&[mention(5, Class::Complaint, Platform::X, 12, "t")]);
        assert!(r.text.contains("Waiting: 12m / Answer within 30m (18m left)"), "{}", r.text);
        assert!(r.html.contains("18m left") && r.html.contains("width=\"40%\""), "{}", r.html);
    }

    #[test]
    fn the_sample_renders_in_both_languages() {
        for lang in [Language::En, Language::Es] {
            let t = Templates::builtin();
            let v = sample_context(lang);
            assert!(t.render("alert.html", lang, &v).0.contains("Interjet"));
            assert!(t.render("alert.txt", lang, &v).0.contains("maria_gz"));
        }
    }
}
