//! The inbox's HTML, rendered on the server from plain values: pure
//! functions (no store, no clock), so every escape is unit-tested. Plain
//! forms everywhere: it works without JavaScript (`live.js` only refreshes
//! the open list). Styles are inline in the page, no external resources.
//! Words come from `i18n.rs` in the reader's language.

use super::i18n::{fill, Texts};
use crate::alert::render::escape_html as esc;
use crate::model::{Class, Mention, Platform, Status};
use crate::store::{DailySeries, InboxFilter, Note, PageSent, Silence};
use chrono::{DateTime, Duration, Utc};

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}\
header{background:#243447;color:#fff;padding:.6em 1em;display:flex;gap:1em;align-items:center;flex-wrap:wrap}\
header a{color:#fff}header form{margin-left:auto}main{padding:1em;max-width:80em}\
table{border-collapse:collapse;width:100%;background:#fff}td,th{border-bottom:1px solid #ddd;padding:.4em;text-align:left;vertical-align:top}\
.overdue{color:#b00020;font-weight:bold}.left{color:#1a7f37}.class-escalation{color:#b00020;font-weight:bold}.class-complaint{color:#9a6700}\
.filters{display:flex;flex-wrap:wrap;gap:.5em;align-items:end;margin-bottom:1em}.filters label{display:flex;flex-direction:column;font-size:.85em}\
blockquote{background:#fff;border-left:4px solid #243447;margin:1em 0;padding:.5em 1em;white-space:pre-wrap;overflow-wrap:anywhere}\
.actions form{display:inline-block;margin:0 .5em .5em 0}button{padding:.35em .8em;cursor:pointer}.error{color:#b00020}\
.live{min-height:1.2em;color:#555;font-size:.9em}tr.fresh{background:#fff8c5}\
.series{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start;margin-bottom:1.5em}.series table{width:auto;font-size:.85em}\
svg{max-width:100%;height:auto}td.text{overflow-wrap:anywhere}.scroll{overflow-x:auto}\
@media (max-width:40em){.list,.list tbody,.list tr{display:block}.list thead{display:none}.list tr{border-bottom:1px solid #ddd;padding:.4em 0}\
.list td{border:0;padding:.1em .4em;display:inline-block}.list td.text{display:block}.hide-narrow{display:none}}";

/// A whole page in `t`'s language. `user`: who is logged in (with their
/// CSRF token), for the header's logout button; `body` is already-escaped
/// HTML.
pub fn layout(t: &Texts, title: &str, user: Option<(&str, &str)>, body: &str) -> String {
    let header = match user {
        Some((name, csrf)) => format!(
            "<header><b>escucha</b><a href=\"/\">{}</a><a href=\"/numbers\">{}</a><span>{}</span>\
             <form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\">{}</button></form></header>",
            esc(t.nav_inbox),
            esc(t.nav_numbers),
            esc(name),
            esc(csrf),
            esc(t.log_out),
        ),
        None => "<header><b>escucha</b></header>".to_string(),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} · escucha</title><style>{STYLE}</style></head>\n<body>\n{header}\n<main>\n<h1>{t}</h1>\n{body}\n</main>\n</body>\n</html>\n",
        lang = t.lang,
        t = esc(title)
    )
}

/// The login form (fields `username`, `password`), with an error if any.
pub fn login(t: &Texts, error: Option<&str>, username: &str) -> String {
    let error = error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e))).unwrap_or_default();
    let body = format!(
        "{error}<form method=\"post\" action=\"/login\">\
         <p><label>{}<br><input name=\"username\" autocomplete=\"username\" required value=\"{}\"></label></p>\
         <p><label>{}<br><input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label></p>\
         <p><button type=\"submit\">{}</button></p></form>",
        esc(t.name_or_email),
        esc(username),
        esc(t.password),
        esc(t.log_in),
    );
    layout(t, t.log_in, None, &body)
}

/// A duration as people read it: "12 min", "1 h 5 min", "2 d 3 h" (the
/// same abbreviations in English and Spanish).
pub fn human(d: Duration) -> String {
    let m = d.num_minutes().abs();
    match m {
        0 => "<1 min".to_string(),
        1..=59 => format!("{m} min"),
        60..=1439 if m % 60 == 0 => format!("{} h", m / 60),
        60..=1439 => format!("{} h {} min", m / 60, m % 60),
        _ if m / 60 % 24 == 0 => format!("{} d", m / 1440),
        _ => format!("{} d {} h", m / 1440, m / 60 % 24),
    }
}

/// The SLA clock: where the mention stands against its deadline at `now`,
/// and a CSS class for it.
pub fn deadline_state(t: &Texts, m: &Mention, now: DateTime<Utc>) -> (String, &'static str) {
    match m.status {
        Status::Answered => (t.status_answered.into(), ""),
        Status::Acked => (fill(t.acked_by, &[("who", m.acked_by.as_deref().unwrap_or(t.someone))]), ""),
        Status::Open => match m.deadline {
            None => (t.no_deadline.into(), ""),
            Some(d) if d > now => (fill(t.left, &[("d", &human(d - now))]), "left"),
            Some(d) => (fill(t.overdue, &[("d", &human(now - d))]), "overdue"),
        },
    }
}

fn class_cell(t: &Texts, c: Class) -> String {
    format!("<span class=\"class-{}\">{}</span>", c.as_str(), esc(t.class(c)))
}

fn author(t: &Texts, m: &Mention) -> String {
    let followers = m.author_followers.map(|f| format!(" <small>({})</small>", esc(&fill(t.followers, &[("n", &f.to_string())])))).unwrap_or_default();
    format!("@{}{followers}", esc(m.author.trim_start_matches('@')))
}

fn hidden_csrf(csrf: &str) -> String {
    format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", esc(csrf))
}

/// `<option>`s for `values` (value, label), `selected` chosen.
fn options(values: &[(String, String)], selected: &str) -> String {
    values.iter().map(|(v, l)| format!("<option value=\"{}\"{}>{}</option>", esc(v), if v == selected { " selected" } else { "" }, esc(l))).collect()
}

/// What the inbox list needs besides its rows.
pub struct ListView<'a> {
    pub user: &'a str,
    pub csrf: &'a str,
    pub filter: &'a InboxFilter,
    /// The filter as a query string (no page), for links and the export.
    pub query: &'a str,
    /// Brands as (id, name).
    pub brands: Vec<(String, String)>,
    pub users: Vec<String>,
    /// The date range as given (YYYY-MM-DD, or empty).
    pub from: String,
    pub to: String,
    pub total: u64,
    /// What `/live` answers while this list is unchanged.
    pub signature: String,
    pub now: DateTime<Utc>,
}

/// The filter's status as the form and query string say it.
pub fn status_param(s: Option<Status>) -> &'static str {
    match s {
        Some(Status::Open) => "open",
        Some(Status::Acked) => "acknowledged",
        Some(Status::Answered) => "answered",
        None => "all",
    }
}

/// The inbox: filters, the list (nearest deadline first), bulk acknowledge,
/// paging. The list sits in `#list`, which `live.js` swaps for a fresh copy
/// when `/live` says it changed.
pub fn inbox(t: &Texts, v: &ListView, rows: &[Mention], brand_name: impl Fn(&str) -> String) -> String {
    let f = v.filter;
    let mut brands = vec![(String::new(), t.all_brands.to_string())];
    brands.extend(v.brands.iter().cloned());
    let mut platforms = vec![(String::new(), t.all_platforms.to_string())];
    platforms.extend(
        [
            Platform::X,
            Platform::Mastodon,
            Platform::Bluesky,
            Platform::Reddit,
            Platform::HackerNews,
            Platform::Feed,
            Platform::Facebook,
            Platform::Instagram,
            Platform::YouTube,
        ]
        .iter()
        .map(|p| (p.as_str().to_string(), p.as_str().to_string())),
    );
    let mut classes = vec![(String::new(), t.complaints_and_escalations.to_string())];
    classes.extend([Class::Complaint, Class::Escalation, Class::Praise, Class::Neutral].iter().map(|c| (c.as_str().to_string(), t.class(*c).to_string())));
    let statuses: Vec<(String, String)> = [("open", t.status_open), ("acknowledged", t.status_acked), ("answered", t.status_answered), ("all", t.status_all)]
        .iter()
        .map(|(v, l)| (v.to_string(), l.to_string()))
        .collect();
    let mut assigned = vec![(String::new(), t.anyone.to_string()), ("me".to_string(), t.me.to_string()), ("nobody".to_string(), t.nobody.to_string())];
    assigned.extend(v.users.iter().filter(|u| u.as_str() != v.user).map(|u| (u.clone(), u.clone())));
    let assigned_sel = match &f.assigned {
        None => String::new(),
        Some(None) => "nobody".into(),
        Some(Some(u)) if u == v.user => "me".into(),
        Some(Some(u)) => u.clone(),
    };
    let filters = format!(
        "<form class=\"filters\" method=\"get\" action=\"/\">\
         <label>{}<select name=\"brand\">{}</select></label>\
         <label>{}<select name=\"platform\">{}</select></label>\
         <label>{}<select name=\"class\">{}</select></label>\
         <label>{}<select name=\"status\">{}</select></label>\
         <label>{}<select name=\"assigned\">{}</select></label>\
         <label>{}<input type=\"search\" name=\"q\" value=\"{}\"></label>\
         <label>{}<input type=\"date\" name=\"from\" value=\"{}\"></label><label>{}<input type=\"date\" name=\"to\" value=\"{}\"></label>\
         <button type=\"submit\">{}</button> <a href=\"/export.csv?{}\">{}</a></form>",
        esc(t.brand),
        options(&brands, f.brand.as_deref().unwrap_or("")),
        esc(t.platform),
        options(&platforms, f.platform.map_or("", |p| p.as_str())),
        esc(t.class),
        options(&classes, f.class.map_or("", |c| c.as_str())),
        esc(t.status),
        options(&statuses, status_param(f.status)),
        esc(t.assigned_to),
        options(&assigned, &assigned_sel),
        esc(t.search),
        esc(f.search.as_deref().unwrap_or("")),
        esc(t.from),
        esc(&v.from),
        esc(t.to),
        esc(&v.to),
        esc(t.filter),
        esc(v.query),
        esc(t.export_csv),
    );
    let mut table = String::new();
    for m in rows {
        let (state, css) = deadline_state(t, m, v.now);
        table.push_str(&format!(
            "<tr><td><input type=\"checkbox\" name=\"id\" value=\"{id}\" form=\"bulk\" aria-label=\"{select}\"></td>\
             <td class=\"deadline {css}\">{state}</td><td>{class}</td><td class=\"hide-narrow\">{brand}</td><td class=\"hide-narrow\">{platform}</td>\
             <td>{author}</td><td class=\"text\"><a href=\"/mentions/{id}\">{text}</a></td><td>{assignee}</td></tr>\n",
            id = m.id,
            select = esc(&fill(t.select_mention, &[("id", &m.id.to_string())])),
            state = esc(&state),
            class = class_cell(t, m.class),
            brand = esc(&brand_name(&m.brand)),
            platform = esc(m.platform.as_str()),
            author = author(t, m),
            text = esc(&m.text),
            assignee = m.assigned_to.as_deref().map(esc).unwrap_or_else(|| format!("<small>{}</small>", esc(t.nobody))),
        ));
    }
    let list = if rows.is_empty() {
        format!("<p>{}</p>", esc(t.nothing_here))
    } else {
        format!(
            "<form id=\"bulk\" method=\"post\" action=\"/ack\">{}<button type=\"submit\">{}</button></form>\
             <table class=\"list\"><thead><tr><th></th><th>{}</th><th>{}</th><th class=\"hide-narrow\">{}</th><th class=\"hide-narrow\">{}</th>\
             <th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>\n{table}</tbody></table>",
            hidden_csrf(v.csrf),
            esc(t.ack_selected),
            esc(t.deadline),
            esc(t.class),
            esc(t.brand),
            esc(t.platform),
            esc(t.author),
            esc(t.text),
            esc(t.assigned_to),
        )
    };
    let from = if v.total == 0 { 0 } else { f.offset + 1 };
    let to = f.offset + rows.len();
    let mut paging = format!("<p>{}", esc(&fill(t.paging, &[("from", &from.to_string()), ("to", &to.to_string()), ("total", &v.total.to_string())])));
    let sep = if v.query.is_empty() { "" } else { "&" };
    if f.offset > 0 {
        paging.push_str(&format!(" · <a href=\"/?{}{sep}offset={}\">{}</a>", esc(v.query), f.offset.saturating_sub(f.limit), esc(t.previous)));
    }
    if (to as u64) < v.total {
        paging.push_str(&format!(" · <a href=\"/?{}{sep}offset={to}\">{}</a>", esc(v.query), esc(t.next)));
    }
    paging.push_str("</p>");
    let live_query = if f.offset > 0 { format!("{}{sep}offset={}", v.query, f.offset) } else { v.query.to_string() };
    let body = format!(
        "{filters}\n<p class=\"live\" id=\"live\" aria-live=\"polite\" data-text=\"{}\"></p>\
         <div id=\"list\" data-live=\"/live?{}\" data-sig=\"{}\">\n{list}\n{paging}\n</div>\n<script src=\"/live.js\" defer></script>",
        esc(t.live_new),
        esc(&live_query),
        esc(&v.signature),
    );
    layout(t, t.inbox_title, Some((v.user, v.csrf)), &body)
}

/// One mention: what was said, the timeline and the actions.
pub struct MentionView<'a> {
    pub user: &'a str,
    pub csrf: &'a str,
    pub mention: &'a Mention,
    pub brand_name: String,
    pub notes: &'a [Note],
    pub pages: &'a [PageSent],
    pub users: Vec<String>,
    /// The author's other complaints about the brand, newest first.
    pub history: &'a [Mention],
    /// Silences in force that hold this mention's alerts.
    pub silences: &'a [Silence],
    pub now: DateTime<Utc>,
}

/// How long a silence set from the inbox may last.
pub const SILENCE_FOR: [&str; 4] = ["1h", "4h", "1d", "7d"];

fn silence_label(t: &Texts, v: &str) -> &'static str {
    match v {
        "1h" => t.for_1h,
        "4h" => t.for_4h,
        "1d" => t.for_1d,
        _ => t.for_7d,
    }
}

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

pub fn mention(t: &Texts, v: &MentionView) -> String {
    let m = v.mention;
    let (state, css) = deadline_state(t, m, v.now);
    let link = if m.url.starts_with("https://") || m.url.starts_with("http://") {
        format!("<p><a href=\"{}\" rel=\"noopener noreferrer\">{}</a></p>", esc(&m.url), esc(t.open_post))
    } else {
        String::new()
    };
    let reasons = if m.reasons.is_empty() {
        String::new()
    } else {
        format!("<p>{} {}</p>", esc(t.why), m.reasons.iter().map(|r| format!("<code>{}</code>", esc(r))).collect::<Vec<_>>().join(", "))
    };
    let mut events: Vec<(DateTime<Utc>, String)> = vec![(m.created_at, esc(t.posted)), (m.seen_at, esc(t.seen))];
    for p in v.pages {
        let what = match p.kind.as_str() {
            "alert" => t.page_kind_alert,
            "ack" => t.page_kind_ack,
            "resolve" => t.page_kind_resolve,
            other => other,
        };
        let state = match (p.sent_at, p.state.as_str()) {
            (Some(_), _) => t.page_sent,
            (None, "pending") => t.page_pending,
            (None, "dead") => t.page_failed,
            (None, "resolved") => t.page_not_needed,
            (None, other) => other,
        };
        events.push((p.sent_at.unwrap_or(p.created_at), esc(&fill(t.page_sent_to, &[("what", what), ("who", &p.recipient), ("state", state)]))));
    }
    if let Some(at) = m.acked_at {
        events.push((at, esc(&fill(t.acked_by, &[("who", m.acked_by.as_deref().unwrap_or(t.someone))]))));
    }
    if let Some(at) = m.answered_at {
        events.push((at, esc(t.answered_by_brand)));
    }
    if let Some(at) = m.corrected_at {
        events.push((at, esc(&fill(t.corrected, &[("class", t.class(m.class)), ("who", m.corrected_by.as_deref().unwrap_or(t.someone))]))));
    }
    for n in v.notes {
        events.push((n.at, esc(&fill(t.note_by, &[("who", &n.by), ("text", &n.text)]))));
    }
    events.sort_by_key(|e| e.0);
    let timeline: String = events.iter().map(|(at, e)| format!("<li><time>{}</time> {e}</li>", when(*at))).collect();
    let csrf = hidden_csrf(v.csrf);
    let id = m.id;
    let ack = if m.status == Status::Open {
        format!("<form method=\"post\" action=\"/mentions/{id}/ack\">{csrf}<button type=\"submit\">{}</button></form>", esc(t.acknowledge))
    } else {
        String::new()
    };
    let mut people = vec![(String::new(), t.nobody.to_string())];
    people.extend(v.users.iter().map(|u| (u.clone(), u.clone())));
    let assign = format!(
        "<form method=\"post\" action=\"/mentions/{id}/assign\">{csrf}<select name=\"user\" aria-label=\"{}\">{}</select> <button type=\"submit\">{}</button></form>",
        esc(t.assignee),
        options(&people, m.assigned_to.as_deref().unwrap_or(v.user)),
        esc(t.assign),
    );
    let note = format!(
        "<form method=\"post\" action=\"/mentions/{id}/notes\">{csrf}<input name=\"text\" required aria-label=\"{}\" placeholder=\"{}\"> <button type=\"submit\">{}</button></form>",
        esc(t.note_label),
        esc(t.note_placeholder),
        esc(t.add_note),
    );
    let correct_form = |class: Class, label: &str| {
        format!(
            "<form method=\"post\" action=\"/mentions/{id}/class\">{csrf}<input type=\"hidden\" name=\"class\" value=\"{}\"><button type=\"submit\">{}</button></form>",
            class.as_str(),
            esc(label)
        )
    };
    let mut correct = String::new();
    if m.class.needs_answer() {
        correct.push_str(&correct_form(Class::Neutral, t.not_a_complaint));
    }
    if m.class != Class::Complaint {
        correct.push_str(&correct_form(Class::Complaint, t.is_a_complaint));
    }
    if m.class != Class::Escalation {
        correct.push_str(&correct_form(Class::Escalation, t.is_an_escalation));
    }
    let durations: Vec<(String, String)> = SILENCE_FOR.iter().map(|v| (v.to_string(), silence_label(t, v).to_string())).collect();
    let scopes = vec![
        ("author".to_string(), fill(t.silence_author, &[("author", m.author.trim_start_matches('@')), ("platform", m.platform.as_str())])),
        ("brand".to_string(), fill(t.silence_brand, &[("brand", &v.brand_name)])),
    ];
    let silence = format!(
        "<form method=\"post\" action=\"/mentions/{id}/silence\">{csrf}<select name=\"scope\" aria-label=\"{}\">{}</select> \
         {} <select name=\"for\" aria-label=\"{}\">{}</select> \
         <input name=\"reason\" required aria-label=\"{}\" placeholder=\"{}\"> <button type=\"submit\">{}</button></form>",
        esc(t.silence_what),
        options(&scopes, "author"),
        esc(t.silence_for),
        esc(t.silence_how_long),
        options(&durations, "4h"),
        esc(t.silence_reason_label),
        esc(t.silence_reason),
        esc(t.silence),
    );
    let silenced: String = v
        .silences
        .iter()
        .map(|s| {
            format!("<p class=\"overdue\">{}</p>", esc(&fill(t.silenced_until, &[("until", &when(s.until)), ("who", &s.created_by), ("reason", &s.reason)])))
        })
        .collect();
    let history = if v.history.is_empty() {
        String::new()
    } else {
        let items: String = v
            .history
            .iter()
            .map(|h| format!("<li><time>{}</time> <a href=\"/mentions/{}\">{}</a> ({})</li>", when(h.created_at), h.id, esc(&h.text), esc(t.status(h.status))))
            .collect();
        format!("<h2>{}</h2><ul>{items}</ul>", esc(&fill(t.author_history, &[("n", &v.history.len().to_string())])))
    };
    // The summary's parts are HTML already; the template's words are escaped first.
    let summary = fill(
        &esc(t.summary),
        &[
            ("class", &class_cell(t, m.class)),
            ("brand", &format!("<b>{}</b>", esc(&v.brand_name))),
            ("platform", &esc(m.platform.as_str())),
            ("author", &author(t, m)),
        ],
    );
    let body = format!(
        "<p>{summary} · <span class=\"deadline {css}\">{state}</span> · {status} \
         · {assignee}</p>\n{silenced}<blockquote>{text}</blockquote>\n{link}{reasons}\
         <div class=\"actions\">{ack}{assign}{note}{correct}{silence}</div>\n<h2>{timeline_title}</h2><ul>{timeline}</ul>\n{history}",
        state = esc(&state),
        status = esc(t.status(m.status)),
        assignee = esc(&fill(t.assigned_to_who, &[("who", m.assigned_to.as_deref().unwrap_or(t.nobody))])),
        text = esc(&m.text),
        timeline_title = esc(t.timeline),
    );
    layout(t, &fill(t.mention_title, &[("id", &id.to_string())]), Some((v.user, v.csrf)), &body)
}

/// The periods the numbers page offers, and how many days its per-day
/// charts show (ending today).
pub const PERIODS: [(&str, u32); 3] = [("24h", 2), ("7d", 7), ("30d", 30)];

fn period_label(t: &Texts, v: &str) -> &'static str {
    match v {
        "24h" => t.last_24h,
        "7d" => t.last_7d,
        _ => t.last_30d,
    }
}

fn secs(s: Option<i64>) -> String {
    s.map(|s| human(Duration::seconds(s))).unwrap_or_else(|| "–".into())
}

fn rate(answered: u64, needing: u64) -> Option<f64> {
    (needing > 0).then(|| answered as f64 / needing as f64)
}

fn pct(r: Option<f64>) -> String {
    r.map(|x| format!("{:.0}%", x * 100.0)).unwrap_or_else(|| "–".into())
}

/// Two small SVG charts of one brand on one platform, a bar per day:
/// answer rate, and first-answer p50 (dark) over p90 (light), each day's
/// bar titled with its figures; and the figures in a table beside them.
fn daily_series(t: &Texts, s: &DailySeries, label: &str) -> String {
    let n = s.days.len().max(1);
    let bar = (420 / n).clamp(6, 40);
    let (w, h) = (n * bar, 90usize);
    let max_p90 = s.days.iter().filter_map(|d| d.p90_first_answer_secs).max().unwrap_or(0).max(60) as f64;
    let (mut rates, mut times, mut rows) = (String::new(), String::new(), String::new());
    for (i, d) in s.days.iter().enumerate() {
        let x = i * bar;
        let day = d.day.format("%Y-%m-%d").to_string();
        let r = rate(d.answered, d.needing_answer);
        if let Some(r) = r {
            let bh = ((r * h as f64).round() as usize).max(1);
            rates.push_str(&format!(
                "<rect x=\"{x}\" y=\"{}\" width=\"{}\" height=\"{bh}\" fill=\"#1a7f37\"><title>{day}: {} ({}/{})</title></rect>",
                h - bh,
                bar - 1,
                pct(Some(r)),
                d.answered,
                d.needing_answer
            ));
        }
        for (v, fill_colour) in [(d.p90_first_answer_secs, "#9ecbff"), (d.p50_first_answer_secs, "#0550ae")] {
            if let Some(v) = v {
                let bh = ((v as f64 / max_p90 * h as f64).round() as usize).clamp(1, h);
                times.push_str(&format!(
                    "<rect x=\"{x}\" y=\"{}\" width=\"{}\" height=\"{bh}\" fill=\"{fill_colour}\"><title>{day}: p50 {}, p90 {}</title></rect>",
                    h - bh,
                    bar - 1,
                    secs(d.p50_first_answer_secs),
                    secs(d.p90_first_answer_secs)
                ));
            }
        }
        rows.push_str(&format!(
            "<tr><td>{day}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            d.needing_answer,
            d.answered,
            pct(r),
            secs(d.p50_first_answer_secs),
            secs(d.p90_first_answer_secs)
        ));
    }
    let svg = |aria: String, inner: &str| {
        format!(
            "<svg role=\"img\" aria-label=\"{}\" width=\"{w}\" height=\"{}\" viewBox=\"0 0 {w} {}\" xmlns=\"http://www.w3.org/2000/svg\">\
             <rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#f0f0f0\"/>{inner}<line x1=\"0\" y1=\"{h}\" x2=\"{w}\" y2=\"{h}\" stroke=\"#888\"/></svg>",
            esc(&aria),
            h + 1,
            h + 1
        )
    };
    format!(
        "<h3>{}</h3><div class=\"series\"><div><p>{}</p>{}<p>{} <span style=\"color:#0550ae\">■ p50</span> <span style=\"color:#9ecbff\">■ p90</span></p>{}</div>\
         <table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>p50</th><th>{}</th></tr></thead><tbody>{rows}</tbody></table></div>",
        esc(label),
        esc(t.answer_rate),
        svg(fill(t.daily_rate_chart, &[("what", label)]), &rates),
        esc(t.first_answer),
        svg(fill(t.daily_time_chart, &[("what", label)]), &times),
        esc(t.day),
        esc(t.needing_answer),
        esc(t.answered),
        esc(t.answer_rate),
        esc(t.p90),
    )
}

/// Per brand and platform over the period: answer rate and first-answer
/// p50/p90 per day as SVG charts with their figures; totals (mentions by
/// class, answer rate, first-answer times, the answer rate drawn as bars);
/// and the overdue count per brand.
pub fn numbers(
    t: &Texts,
    user: (&str, &str),
    since: &str,
    rows: &[crate::store::StatsRow],
    daily: &[DailySeries],
    overdue: &[(String, u64)],
    brand_name: impl Fn(&str) -> String,
) -> String {
    let periods: String = PERIODS
        .iter()
        .map(|(v, _)| {
            let l = esc(period_label(t, v));
            if *v == since {
                format!("<b>{l}</b> ")
            } else {
                format!("<a href=\"/numbers?since={v}\">{l}</a> ")
            }
        })
        .collect();
    let overdue_list: String = if overdue.is_empty() {
        format!("<p>{}</p>", esc(t.nothing_overdue))
    } else {
        let items: String = overdue
            .iter()
            .map(|(b, n)| {
                format!(
                    "<li><a href=\"/?brand={}\">{}</a>: <span class=\"overdue\">{}</span></li>",
                    esc(b),
                    esc(&brand_name(b)),
                    esc(&fill(t.n_overdue, &[("n", &n.to_string())]))
                )
            })
            .collect();
        format!("<ul>{items}</ul>")
    };
    let mut table = String::new();
    let (bar_h, width) = (22, 300);
    let mut bars = String::new();
    for (i, r) in rows.iter().enumerate() {
        let rate = rate(r.answered, r.needing_answer);
        let label = format!("{} · {}", brand_name(&r.brand), r.platform);
        table.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&brand_name(&r.brand)),
            esc(&r.platform),
            r.mentions,
            r.praise,
            r.complaint,
            r.escalation,
            r.answered,
            pct(rate),
            secs(r.median_first_answer_secs),
            secs(r.p90_first_answer_secs),
        ));
        let y = i * (bar_h + 6);
        let w = (rate.unwrap_or(0.0) * width as f64).round() as usize;
        bars.push_str(&format!(
            "<text x=\"0\" y=\"{ty}\" font-size=\"13\">{label}</text><rect x=\"200\" y=\"{y}\" width=\"{width}\" height=\"{bar_h}\" fill=\"#eee\"/>\
             <rect x=\"200\" y=\"{y}\" width=\"{w}\" height=\"{bar_h}\" fill=\"#1a7f37\"/><text x=\"{tx}\" y=\"{ty}\" font-size=\"13\">{pct}</text>",
            ty = y + 16,
            label = esc(&label),
            tx = 200 + width + 6,
            pct = rate.map(|x| format!("{:.0}%", x * 100.0)).unwrap_or_else(|| esc(t.no_complaints)),
        ));
    }
    let chart = if rows.is_empty() {
        format!("<p>{}</p>", esc(t.no_mentions_in_period))
    } else {
        format!(
            "<h2>{}</h2><svg role=\"img\" aria-label=\"{}\" width=\"{}\" height=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">{bars}</svg>",
            esc(t.answer_rate),
            esc(t.answer_rate_chart),
            200 + width + 120,
            rows.len() * (bar_h + 6)
        )
    };
    let per_day: String = daily
        .iter()
        .filter(|s| s.days.iter().any(|d| d.needing_answer > 0))
        .map(|s| daily_series(t, s, &format!("{} · {}", brand_name(&s.brand), s.platform)))
        .collect();
    let per_day = if per_day.is_empty() { String::new() } else { format!("<h2>{}</h2>{per_day}", esc(t.per_day)) };
    let body = format!(
        "<p>{periods}</p><h2>{}</h2>{overdue_list}{per_day}{chart}<h2>{}</h2><div class=\"scroll\"><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th>\
         <th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{table}</tbody></table></div>",
        esc(t.overdue_now),
        esc(t.totals),
        esc(t.brand),
        esc(t.platform),
        esc(t.mentions),
        esc(t.praise),
        esc(t.complaints),
        esc(t.escalations),
        esc(t.answered),
        esc(t.answer_rate),
        esc(t.first_answer_p50),
        esc(t.p90),
    );
    layout(t, t.numbers_title, Some(user), &body)
}

/// A short page saying what went wrong (escaped).
pub fn message(t: &Texts, title: &str, text: &str, user: Option<(&str, &str)>) -> String {
    layout(t, title, user, &format!("<p>{}</p><p><a href=\"/\">{}</a></p>", esc(text), esc(t.back_to_inbox)))
}

/// One CSV field (RFC 4180): quoted when it holds a comma, quote or line
/// break. A post's text is the author's: one that starts like a formula
/// (`=`, `+`, `-`, `@`, tab, CR) is prefixed with `'`, so a spreadsheet
/// opening the export shows it instead of running it (OWASP's CSV
/// injection advice).
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { std::borrow::Cow::Owned(format!("'{s}")) } else { std::borrow::Cow::Borrowed(s) };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub const CSV_HEADER: &str = "id,brand,platform,url,author,text,class,status,created_at,deadline,assigned_to,acked_by\r\n";

pub fn csv_row(m: &Mention) -> String {
    let fields = [
        m.id.to_string(),
        m.brand.clone(),
        m.platform.as_str().to_string(),
        m.url.clone(),
        m.author.clone(),
        m.text.clone(),
        m.class.as_str().to_string(),
        m.status.as_str().to_string(),
        m.created_at.to_rfc3339(),
        m.deadline.map(|d| d.to_rfc3339()).unwrap_or_default(),
        m.assigned_to.clone().unwrap_or_default(),
        m.acked_by.clone().unwrap_or_default(),
    ];
    let mut line = fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::i18n::{EN, ES};
    use chrono::TimeZone;

    fn t(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap() + Duration::minutes(min)
    }

    #[test]
    fn the_sla_clock_reads_like_people_talk() {
        let m = Mention { deadline: Some(t(12)), ..Mention::example(1, t(0)) };
        assert_eq!(deadline_state(&EN, &m, t(0)), ("12 min left".to_string(), "left"));
        assert_eq!(deadline_state(&EN, &m, t(12 + 65)), ("overdue 1 h 5 min".to_string(), "overdue"));
        assert_eq!(deadline_state(&EN, &m, t(12 + 120)).0, "overdue 2 h");
        assert_eq!(deadline_state(&EN, &m, t(12 + 1440 + 180)).0, "overdue 1 d 3 h");
        assert_eq!(deadline_state(&EN, &m, t(12) + Duration::seconds(20)).0, "overdue <1 min");
        let acked = Mention { status: Status::Acked, acked_by: Some("ana".into()), ..m.clone() };
        assert_eq!(deadline_state(&EN, &acked, t(0)).0, "acknowledged by ana");
        // In Spanish.
        assert_eq!(deadline_state(&ES, &m, t(0)), ("quedan 12 min".to_string(), "left"));
        assert_eq!(deadline_state(&ES, &m, t(12 + 65)), ("vencido hace 1 h 5 min".to_string(), "overdue"));
        assert_eq!(deadline_state(&ES, &acked, t(0)).0, "reconocida por ana");
    }

    #[test]
    fn every_mention_field_is_escaped() {
        let evil = "<script>alert(1)</script>\"'&";
        let m = Mention {
            text: evil.into(),
            author: evil.into(),
            url: format!("https://x.com/\"><script>{evil}"),
            reasons: vec![evil.into()],
            assigned_to: Some(evil.into()),
            acked_by: Some(evil.into()),
            corrected_by: Some(evil.into()),
            corrected_at: Some(t(1)),
            ..Mention::example(7, t(0))
        };
        let notes = [Note { by: evil.into(), at: t(2), text: evil.into() }];
        let pages = [PageSent { recipient: evil.into(), kind: "alert".into(), state: "sent".into(), created_at: t(1), sent_at: Some(t(1)) }];
        let html = mention(
            &EN,
            &MentionView {
                user: evil,
                csrf: evil,
                mention: &m,
                brand_name: evil.into(),
                notes: &notes,
                pages: &pages,
                users: vec![evil.into()],
                history: &[Mention { text: evil.into(), ..Mention::example(8, t(0)) }],
                silences: &[Silence {
                    id: 1,
                    brand: "interjet".into(),
                    platform: None,
                    author: Some(evil.into()),
                    starts_at: t(0),
                    until: t(60),
                    reason: evil.into(),
                    created_by: evil.into(),
                }],
                now: t(3),
            },
        );
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("The author&#39;s other complaints (1)") && html.contains("Alerts silenced until"), "{html}");
        for label in ["Acknowledge", "Assign", "Add note", "Not a complaint", "Silence"] {
            assert!(html.contains(&format!(">{label}</button>")), "{label}");
        }
        let f = InboxFilter { search: Some(evil.into()), ..Default::default() };
        let v = ListView {
            user: evil,
            csrf: evil,
            filter: &f,
            query: evil,
            brands: vec![(evil.into(), evil.into())],
            users: vec![],
            from: evil.into(),
            to: evil.into(),
            total: 1,
            signature: evil.into(),
            now: t(3),
        };
        let list = inbox(&EN, &v, &[m], |_| evil.to_string());
        assert!(!list.contains("<script>"), "{list}");
        assert!(list.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!login(&EN, Some(evil), evil).contains("<script>"));
    }

    #[test]
    fn numbers_show_rates_times_and_overdue_escaped() {
        let row = crate::store::StatsRow {
            brand: "<b>".into(),
            platform: "x".into(),
            mentions: 10,
            praise: 2,
            complaint: 3,
            escalation: 1,
            neutral: 4,
            needing_answer: 4,
            answered: 3,
            acked: 0,
            alerted: 1,
            median_first_answer_secs: Some(12 * 60),
            p90_first_answer_secs: Some(65 * 60),
        };
        let html = numbers(&EN, ("ana", "t"), "7d", &[row], &[], &[("<b>".into(), 2)], |b| format!("{b}!"));
        assert!(!html.contains("<b>!") && html.contains("&lt;b&gt;!"), "{html}");
        assert!(html.contains("75%") && html.contains("12 min") && html.contains("1 h 5 min") && html.contains("2 overdue"), "{html}");
        assert!(html.contains("<svg") && html.contains("width=\"225\""), "{html}");
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\"\nbye"), "\"say \"\"hi\"\"\nbye\"");
        // What a spreadsheet would run is shown instead.
        assert_eq!(csv_field("=HYPERLINK(\"http://evil\")"), "\"'=HYPERLINK(\"\"http://evil\"\")\"");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("-2+3"), "'-2+3");
        let row = csv_row(&Mention { text: "mal, muy mal".into(), ..Mention::example(3, t(0)) });
        assert!(row.starts_with("3,interjet,x,") && row.contains(",\"mal, muy mal\",complaint,open,"), "{row}");
        assert!(CSV_HEADER.starts_with("id,brand,platform,url,author,text,class,status,created_at"));
    }

    fn list_view<'a>(f: &'a InboxFilter) -> ListView<'a> {
        ListView {
            user: "ana",
            csrf: "tok",
            filter: f,
            query: "",
            brands: vec![("interjet".into(), "Interjet".into())],
            users: vec!["ana".into(), "beto".into()],
            from: String::new(),
            to: String::new(),
            total: 1,
            signature: "1-3".into(),
            now: t(0),
        }
    }

    #[test]
    fn a_spanish_reader_gets_spanish_pages_and_an_english_one_english() {
        let m = Mention { deadline: Some(t(12)), ..Mention::example(3, t(-30)) };
        let f = InboxFilter { status: Some(Status::Open), limit: 50, ..Default::default() };
        let es = inbox(&ES, &list_view(&f), std::slice::from_ref(&m), |_| "Interjet".into());
        assert!(es.contains("<html lang=\"es\">") && es.contains("quedan 12 min") && es.contains(">queja</span>"), "{es}");
        for word in
            ["Bandeja de entrada", "Marca", "Plataforma", "Reconocer las seleccionadas", "todas las marcas", "Exportar CSV", "1–1 de 1", "Cerrar sesión"]
        {
            assert!(es.contains(word), "{word:?} missing\n{es}");
        }
        for english in ["Acknowledge", "Brand", "min left", "Log out", "complaint<"] {
            assert!(!es.contains(english), "{english:?} in the Spanish page\n{es}");
        }
        let en = inbox(&EN, &list_view(&f), std::slice::from_ref(&m), |_| "Interjet".into());
        assert!(en.contains("<html lang=\"en\">") && en.contains("12 min left") && en.contains("Acknowledge selected"), "{en}");
        // The list is wrapped for live.js, which gets the same filters.
        assert!(en.contains("<div id=\"list\" data-live=\"/live?\" data-sig=\"1-3\">") && en.contains("<script src=\"/live.js\" defer>"), "{en}");

        let view = MentionView {
            user: "ana",
            csrf: "tok",
            mention: &m,
            brand_name: "Interjet".into(),
            notes: &[Note { by: "beto".into(), at: t(1), text: "lo llamo".into() }],
            pages: &[PageSent { recipient: "guardia@example.com".into(), kind: "alert".into(), state: "sent".into(), created_at: t(1), sent_at: Some(t(1)) }],
            users: vec!["ana".into()],
            history: &[],
            silences: &[],
            now: t(20),
        };
        let es = mention(&ES, &view);
        for word in [
            ">Reconocer</button>",
            ">Asignar</button>",
            ">Añadir nota</button>",
            ">No es una queja</button>",
            ">Silenciar</button>",
            "vencido hace 8 min",
            "queja</span> sobre <b>Interjet</b> en x de @",
            "aviso a guardia@example.com (enviado)",
            "nota de beto: lo llamo",
            "Cronología",
            "Mención 3",
            "4 horas",
        ] {
            assert!(es.contains(word), "{word:?} missing\n{es}");
        }
        let en = mention(&EN, &view);
        for label in ["Acknowledge", "Assign", "Add note", "Not a complaint"] {
            assert!(en.contains(&format!(">{label}</button>")), "{label}\n{en}");
        }
        assert!(en.contains("page to guardia@example.com (sent)") && en.contains("complaint</span> about <b>Interjet</b> on x by @"), "{en}");
        let login_es = login(&ES, Some(ES.wrong_password), "ana");
        assert!(login_es.contains("Contraseña") && login_es.contains("Nombre o contraseña incorrectos.") && login_es.contains("lang=\"es\""), "{login_es}");
        let numbers_es = numbers(&ES, ("ana", "t"), "30d", &[], &[], &[], |b| b.to_string());
        assert!(numbers_es.contains("<b>últimos 30 días</b>") && numbers_es.contains("Nada está vencido.") && numbers_es.contains("Cifras"), "{numbers_es}");
    }

    #[test]
    fn numbers_per_day_draw_each_day_with_its_figures_beside() {
        use crate::store::{DailySeries, DayFigures};
        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
        let series = DailySeries {
            brand: "interjet".into(),
            platform: "x".into(),
            days: vec![
                DayFigures { day: day(5), needing_answer: 4, answered: 3, p50_first_answer_secs: Some(600), p90_first_answer_secs: Some(3600) },
                DayFigures { day: day(6), needing_answer: 0, answered: 0, p50_first_answer_secs: None, p90_first_answer_secs: None },
                DayFigures { day: day(7), needing_answer: 2, answered: 2, p50_first_answer_secs: Some(120), p90_first_answer_secs: Some(1800) },
            ],
        };
        let quiet = DailySeries { brand: "globex".into(), platform: "x".into(), days: vec![] };
        let html = numbers(&EN, ("ana", "t"), "7d", &[], &[series, quiet], &[], |b| if b == "interjet" { "Interjet".into() } else { b.into() });
        assert!(html.contains("<h2>Per day</h2><h3>Interjet · x</h3>"), "{html}");
        assert!(!html.contains("globex · x"), "a brand without complaints has no chart: {html}");
        // The rate chart: one bar per day with complaints, as tall as its rate (90 px = 100%).
        assert!(html.contains("<rect x=\"0\" y=\"22\" width=\"39\" height=\"68\" fill=\"#1a7f37\"><title>2026-12-05: 75% (3/4)</title>"), "{html}");
        assert!(html.contains("<rect x=\"80\" y=\"0\" width=\"39\" height=\"90\" fill=\"#1a7f37\"><title>2026-12-07: 100% (2/2)</title>"), "{html}");
        assert!(!html.contains("<title>2026-12-06: "), "no bar for a day without complaints: {html}");
        // The first-answer chart, and the table beside it.
        assert!(html.contains("<title>2026-12-05: p50 10 min, p90 1 h</title>"), "{html}");
        assert!(html.contains("<tr><td>2026-12-05</td><td>4</td><td>3</td><td>75%</td><td>10 min</td><td>1 h</td></tr>"), "{html}");
        assert!(html.contains("<tr><td>2026-12-06</td><td>0</td><td>0</td><td>–</td><td>–</td><td>–</td></tr>"), "{html}");
        assert_eq!(html.matches("<svg").count(), 2, "two charts, no totals chart without totals rows");
    }
}
