//! Turns mentions into the words of an alert: a subject, a plain-text body
//! and an HTML body carrying the same content. Pure: no I/O, no clock (the
//! caller passes `now`). Delivery lives in `alert::email`.
//!
//! Contract (DESIGN.md "Alert content"): the subject names the class in
//! English, the brand and the platform; the body has each mention's text,
//! link, author, followers, age, reasons and how to acknowledge it.

use crate::model::{Class, Mention};
use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::BTreeSet;
use std::fmt::Write as _;

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
}

/// How to acknowledge one mention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckHow {
    /// e.g. `escucha ack 42`.
    pub command: String,
    /// A signed ack URL, when the daemon has a public URL.
    pub link: Option<String>,
    /// A signed "not a complaint" URL beside it (same signing and expiry):
    /// the recipient relabels the mention, which stops its alerts and
    /// teaches the classifier.
    pub not_complaint: Option<String>,
}

/// Renders one alert for one recipient: one or more mentions of one brand.
/// Escalations come first, then the oldest mention first, so the most urgent
/// thing is what the reader sees without scrolling.
pub fn render_alert(mentions: &[Mention], ctx: &AlertContext) -> Rendered {
    let mut ordered: Vec<&Mention> = mentions.iter().collect();
    ordered.sort_by_key(|m| (class_rank(m.class), m.created_at, m.id));

    let subject = one_line(&subject(&ordered, ctx));
    let mut text = String::new();
    let mut html = String::new();
    html.push_str("<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>");
    html.push_str(&escape_html(&subject));
    html.push_str("</title></head>\n<body style=\"font-family:sans-serif\">\n");
    let _ = writeln!(text, "{subject}\n");
    let _ = writeln!(html, "<h2>{}</h2>", escape_html(&subject));

    for (i, m) in ordered.iter().enumerate() {
        if i > 0 {
            text.push_str("\n----------------------------------------\n\n");
            html.push_str("<hr>\n");
        }
        render_text(&mut text, m, ctx);
        render_html(&mut html, m, ctx);
    }

    if ctx.pending > 0 {
        let more = format!(
            "{} more open complaint{} about {} {} waiting (escucha mentions --open --brand {}).",
            ctx.pending,
            if ctx.pending == 1 { "" } else { "s" },
            ctx.brand_name,
            if ctx.pending == 1 { "is" } else { "are" },
            mentions.first().map(|m| m.brand.as_str()).unwrap_or_default()
        );
        let _ = writeln!(text, "\n{more}");
        let _ = writeln!(html, "<p><b>{}</b></p>", escape_html(&more));
    }
    text.push_str("\n-- \nescucha: you receive this because you are on call for this brand.\n");
    html.push_str("<p style=\"color:#666;font-size:small\">escucha: you receive this because you are on call for this brand.</p>\n</body>\n</html>\n");
    Rendered { subject, text, html }
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

/// A reason such as `complaint:phrase:sin respuesta` in words. The raw
/// string is kept beside it by the callers so that it can be searched for.
pub fn describe_reason(reason: &str) -> String {
    let mut parts = reason.splitn(3, ':');
    let (class, kind, detail) = (parts.next().unwrap_or(""), parts.next(), parts.next());
    let Some(kind) = kind else { return reason.to_string() };
    let detail = detail.unwrap_or("");
    let what = match kind {
        "phrase" => format!("says \"{detail}\""),
        "executive" => format!("mentions executive {detail}"),
        "reach" => format!("author's reach ({detail})"),
        "viral" | "reposts" => format!("spreading ({detail})"),
        "repeat" => format!("repeat complaint ({detail})"),
        "corrected-by" => format!("corrected by {detail}"),
        "legal" => format!("legal threat ({detail})"),
        "churn" => format!("threatens to leave ({detail})"),
        "safety" => format!("safety ({detail})"),
        "campaign" => format!("public campaign ({detail})"),
        "rating" => format!("{detail}-star review"),
        _ if detail.is_empty() => kind.to_string(),
        _ => format!("{kind}: {detail}"),
    };
    format!("{class}: {what}")
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

fn subject(ordered: &[&Mention], ctx: &AlertContext) -> String {
    let brand = ctx.brand_name;
    match ordered {
        [] => format!("[escucha] nothing unanswered about {brand}"),
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
            let what = match counts.as_slice() {
                [(class, n)] => format!("{n} unanswered {}", plural(*class, *n)),
                _ => {
                    let parts: Vec<String> = counts.iter().map(|(c, n)| format!("{n} {}", plural(*c, *n))).collect();
                    format!("{} unanswered", join_and(&parts))
                }
            };
            format!("[escucha] {what} about {brand} ({})", platforms.join(", "))
        }
    }
}

fn join_and(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Header values must stay on one line whatever a brand name contains.
fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// One line whatever the platform sent: a line break in a handle would
/// make the next line of the body look like something escucha wrote.
fn author(m: &Mention) -> String {
    one_line(&format!("@{}", m.author.trim_start_matches('@')))
}

fn followers(m: &Mention) -> String {
    match m.author_followers {
        Some(1) => "1 follower".to_string(),
        Some(n) => format!("{n} followers"),
        None => "followers unknown".to_string(),
    }
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

fn render_text(out: &mut String, m: &Mention, ctx: &AlertContext) {
    let ack = (ctx.ack)(m);
    let age = format_age(ctx.now - m.created_at);
    let _ = writeln!(out, "{} on {} (mention #{})", m.class.as_str().to_uppercase(), m.platform, m.id);
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", quoted_text(m));
    let _ = writeln!(out);
    let _ = writeln!(out, "Author:  {} ({})", author(m), followers(m));
    if let Some(r) = rating(m) {
        let _ = writeln!(out, "Rating:  {r}");
    }
    let _ = writeln!(out, "Link:    {}", m.url);
    let _ = writeln!(out, "Posted:  {} (posted {age} ago)", m.created_at.to_rfc3339_opts(SecondsFormat::Secs, true));
    if m.reasons.is_empty() {
        let _ = writeln!(out, "Reasons: none given");
    } else {
        let _ = writeln!(out, "Reasons:");
        for r in &m.reasons {
            let _ = writeln!(out, "  - {} [{r}]", describe_reason(r));
        }
    }
    let _ = writeln!(out, "Acknowledge: run `{}`", ack.command);
    if let Some(link) = &ack.link {
        let _ = writeln!(out, "             or open {link}");
    }
    if let Some(link) = &ack.not_complaint {
        let _ = writeln!(out, "Not a complaint? Open {link}");
    }
}

fn render_html(out: &mut String, m: &Mention, ctx: &AlertContext) {
    let ack = (ctx.ack)(m);
    let age = format_age(ctx.now - m.created_at);
    let _ = writeln!(out, "<h3>{} on {} (mention #{})</h3>", escape_html(&m.class.as_str().to_uppercase()), escape_html(m.platform.as_str()), m.id);
    let _ = writeln!(
        out,
        "<blockquote style=\"white-space:pre-wrap;border-left:3px solid #ccc;margin:0;padding-left:1em\">{}</blockquote>",
        escape_html(&quoted_text(m))
    );
    out.push_str("<table>\n");
    let _ = writeln!(out, "<tr><th align=\"left\">Author</th><td>{} ({})</td></tr>", escape_html(&author(m)), escape_html(&followers(m)));
    if let Some(r) = rating(m) {
        let _ = writeln!(out, "<tr><th align=\"left\">Rating</th><td>{}</td></tr>", escape_html(&r));
    }
    let _ = writeln!(out, "<tr><th align=\"left\">Link</th><td>{}</td></tr>", link_html(&m.url));
    let _ = writeln!(
        out,
        "<tr><th align=\"left\">Posted</th><td>{} (posted {} ago)</td></tr>",
        escape_html(&m.created_at.to_rfc3339_opts(SecondsFormat::Secs, true)),
        escape_html(&age)
    );
    out.push_str("<tr><th align=\"left\" valign=\"top\">Reasons</th><td>");
    if m.reasons.is_empty() {
        out.push_str("none given");
    } else {
        out.push_str("<ul>");
        for r in &m.reasons {
            let _ = write!(out, "<li>{} <code>[{}]</code></li>", escape_html(&describe_reason(r)), escape_html(r));
        }
        out.push_str("</ul>");
    }
    out.push_str("</td></tr>\n");
    let _ = write!(out, "<tr><th align=\"left\">Acknowledge</th><td>run <code>{}</code>", escape_html(&ack.command));
    if let Some(link) = &ack.link {
        let _ = write!(out, " or open {}", link_html(link));
    }
    out.push_str("</td></tr>\n");
    if let Some(link) = &ack.not_complaint {
        let _ = writeln!(out, "<tr><th align=\"left\">Not a complaint?</th><td>open {}</td></tr>", link_html(link));
    }
    out.push_str("</table>\n");
}

/// Only http(s) addresses become anchors: a `javascript:` URL from a hostile
/// platform response must stay inert text.
fn link_html(url: &str) -> String {
    let e = escape_html(url);
    if is_web_link(url) {
        format!("<a href=\"{e}\">{e}</a>")
    } else {
        e
    }
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
        }
    }

    fn render(ms: &[Mention]) -> Rendered {
        render_alert(ms, &AlertContext { brand_name: "Interjet", now: now(), ack: &ack, pending: 0 })
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
            assert!(body.contains("2025-03-01T11:25:00Z"), "{body}");
            assert!(body.contains("posted 35m ago"), "{body}");
            assert!(body.contains("complaint:phrase:sin respuesta"), "{body}");
            assert!(body.contains("escalation:reach:followers&gt;=10000") || body.contains("escalation:reach:followers>=10000"), "{body}");
            assert!(body.contains("escucha ack 42"), "{body}");
        }
        assert!(r.text.contains("https://escucha.example/ack?t=a&id=42"));
        assert!(r.html.contains("<a href=\"https://escucha.example/ack?t=a&amp;id=42\">"));
        assert!(r.html.contains("<a href=\"https://x.com/ana_g/status/1742\">"));
    }

    #[test]
    fn both_bodies_offer_the_not_a_complaint_link_beside_the_ack() {
        let r = render(&[mention(42, Class::Complaint, Platform::X, 35, "sin respuesta")]);
        let link = "https://escucha.example/not-a-complaint/nc42";
        assert!(r.text.contains(&format!("Not a complaint? Open {link}")), "{}", r.text);
        assert!(r.text.find("escucha ack 42").unwrap() < r.text.find(link).unwrap());
        assert!(r.html.contains(&format!("<a href=\"{link}\">{link}</a>")), "{}", r.html);
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
        let no_link = |m: &Mention| AckHow { command: format!("escucha ack {}", m.id), link: None, not_complaint: None };
        let r =
            render_alert(&[mention(9, Class::Complaint, Platform::X, 1, "t")], &AlertContext { brand_name: "Interjet", now: now(), ack: &no_link, pending: 0 });
        assert!(r.text.contains("escucha ack 9"));
        assert!(!r.text.contains("or open"));
    }

    #[test]
    fn unknown_follower_count_is_said_so() {
        let mut m = mention(7, Class::Complaint, Platform::X, 1, "t");
        m.author_followers = None;
        assert!(render(&[m]).text.contains("followers unknown"));
    }

    #[test]
    fn subject_never_spans_lines() {
        let r = render_alert(
            &[mention(7, Class::Complaint, Platform::X, 1, "t")],
            &AlertContext { brand_name: "Inter\r\nBcc: x@y", now: now(), ack: &ack, pending: 0 },
        );
        assert!(!r.subject.contains('\n') && !r.subject.contains('\r'));
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
        let ack = |m: &Mention| AckHow { command: format!("escucha ack {}", m.id), link: None, not_complaint: None };
        let ms = [mention(1, Class::Complaint, Platform::X, 60, "nadie responde")];
        let r = render_alert(&ms, &AlertContext { brand_name: "Interjet", now: now(), ack: &ack, pending: 7 });
        assert!(r.text.contains("7 more open complaints about Interjet are waiting"), "{}", r.text);
        assert!(r.html.contains("7 more open complaints"));
        let r = render_alert(&ms, &AlertContext { brand_name: "Interjet", now: now(), ack: &ack, pending: 0 });
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
}
