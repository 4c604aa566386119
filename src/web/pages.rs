//! The inbox's HTML, rendered on the server from plain values: pure
//! functions (no store, no clock), so every escape is unit-tested. Plain
//! forms everywhere: it works without JavaScript. Styles are inline in the
//! page, no external resources.

use crate::alert::render::escape_html as esc;
use crate::model::{Class, Mention, Platform, Status};
use crate::store::{InboxFilter, Note, PageSent, Silence};
use chrono::{DateTime, Duration, Utc};

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}\
header{background:#243447;color:#fff;padding:.6em 1em;display:flex;gap:1em;align-items:center;flex-wrap:wrap}\
header a{color:#fff}header form{margin-left:auto}main{padding:1em;max-width:80em}\
table{border-collapse:collapse;width:100%;background:#fff}td,th{border-bottom:1px solid #ddd;padding:.4em;text-align:left;vertical-align:top}\
.overdue{color:#b00020;font-weight:bold}.left{color:#1a7f37}.class-escalation{color:#b00020;font-weight:bold}.class-complaint{color:#9a6700}\
.filters{display:flex;flex-wrap:wrap;gap:.5em;align-items:end;margin-bottom:1em}.filters label{display:flex;flex-direction:column;font-size:.85em}\
blockquote{background:#fff;border-left:4px solid #243447;margin:1em 0;padding:.5em 1em;white-space:pre-wrap}\
.actions form{display:inline-block;margin:0 .5em .5em 0}button{padding:.35em .8em;cursor:pointer}.error{color:#b00020}\
@media (max-width:40em){.list,.list tbody,.list tr{display:block}.list thead{display:none}.list tr{border-bottom:1px solid #ddd;padding:.4em 0}\
.list td{border:0;padding:.1em .4em;display:inline-block}.list td.text{display:block}.hide-narrow{display:none}}";

/// A whole page. `user`: who is logged in (with their CSRF token), for the
/// header's logout button; `body` is already-escaped HTML.
pub fn layout(title: &str, user: Option<(&str, &str)>, body: &str) -> String {
    let header = match user {
        Some((name, csrf)) => format!(
            "<header><b>escucha</b><a href=\"/\">Inbox</a><a href=\"/numbers\">Numbers</a><span>{}</span>\
             <form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\">Log out</button></form></header>",
            esc(name),
            esc(csrf)
        ),
        None => "<header><b>escucha</b></header>".to_string(),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} · escucha</title><style>{STYLE}</style></head>\n<body>\n{header}\n<main>\n<h1>{t}</h1>\n{body}\n</main>\n</body>\n</html>\n",
        t = esc(title)
    )
}

/// The login form (fields `username`, `password`), with an error if any.
pub fn login(error: Option<&str>, username: &str) -> String {
    let error = error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e))).unwrap_or_default();
    let body = format!(
        "{error}<form method=\"post\" action=\"/login\">\
         <p><label>Name or email<br><input name=\"username\" autocomplete=\"username\" required value=\"{}\"></label></p>\
         <p><label>Password<br><input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label></p>\
         <p><button type=\"submit\">Log in</button></p></form>",
        esc(username)
    );
    layout("Log in", None, &body)
}

/// A duration as people read it: "12 min", "1 h 5 min", "2 d 3 h".
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
pub fn deadline_state(m: &Mention, now: DateTime<Utc>) -> (String, &'static str) {
    match m.status {
        Status::Answered => ("answered".into(), ""),
        Status::Acked => (format!("acknowledged by {}", m.acked_by.as_deref().unwrap_or("someone")), ""),
        Status::Open => match m.deadline {
            None => ("no deadline".into(), ""),
            Some(d) if d > now => (format!("{} left", human(d - now)), "left"),
            Some(d) => (format!("overdue {}", human(now - d)), "overdue"),
        },
    }
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Open => "open",
        Status::Acked => "acknowledged",
        Status::Answered => "answered",
    }
}

fn class_cell(c: Class) -> String {
    format!("<span class=\"class-{0}\">{0}</span>", c.as_str())
}

fn author(m: &Mention) -> String {
    let followers = m.author_followers.map(|f| format!(" <small>({f} followers)</small>")).unwrap_or_default();
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

/// The inbox: filters, the list (nearest deadline first), bulk acknowledge, paging.
pub fn inbox(v: &ListView, rows: &[Mention], brand_name: impl Fn(&str) -> String) -> String {
    let f = v.filter;
    let mut brands = vec![(String::new(), "all brands".to_string())];
    brands.extend(v.brands.iter().cloned());
    let mut platforms = vec![(String::new(), "all platforms".to_string())];
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
    let mut classes = vec![(String::new(), "complaints and escalations".to_string())];
    classes.extend([Class::Complaint, Class::Escalation, Class::Praise, Class::Neutral].iter().map(|c| (c.as_str().to_string(), c.as_str().to_string())));
    let statuses: Vec<(String, String)> = ["open", "acknowledged", "answered", "all"].iter().map(|s| (s.to_string(), s.to_string())).collect();
    let mut assigned = vec![(String::new(), "anyone".to_string()), ("me".to_string(), "me".to_string()), ("nobody".to_string(), "nobody".to_string())];
    assigned.extend(v.users.iter().filter(|u| u.as_str() != v.user).map(|u| (u.clone(), u.clone())));
    let assigned_sel = match &f.assigned {
        None => String::new(),
        Some(None) => "nobody".into(),
        Some(Some(u)) if u == v.user => "me".into(),
        Some(Some(u)) => u.clone(),
    };
    let filters = format!(
        "<form class=\"filters\" method=\"get\" action=\"/\">\
         <label>Brand<select name=\"brand\">{}</select></label>\
         <label>Platform<select name=\"platform\">{}</select></label>\
         <label>Class<select name=\"class\">{}</select></label>\
         <label>Status<select name=\"status\">{}</select></label>\
         <label>Assigned to<select name=\"assigned\">{}</select></label>\
         <label>Search<input type=\"search\" name=\"q\" value=\"{}\"></label>\
         <label>From<input type=\"date\" name=\"from\" value=\"{}\"></label><label>To<input type=\"date\" name=\"to\" value=\"{}\"></label>\
         <button type=\"submit\">Filter</button> <a href=\"/export.csv?{}\">Export CSV</a></form>",
        options(&brands, f.brand.as_deref().unwrap_or("")),
        options(&platforms, f.platform.map_or("", |p| p.as_str())),
        options(&classes, f.class.map_or("", |c| c.as_str())),
        options(&statuses, status_param(f.status)),
        options(&assigned, &assigned_sel),
        esc(f.search.as_deref().unwrap_or("")),
        esc(&v.from),
        esc(&v.to),
        esc(v.query),
    );
    let mut table = String::new();
    for m in rows {
        let (state, css) = deadline_state(m, v.now);
        table.push_str(&format!(
            "<tr><td><input type=\"checkbox\" name=\"id\" value=\"{id}\" form=\"bulk\" aria-label=\"select {id}\"></td>\
             <td class=\"deadline {css}\">{state}</td><td>{class}</td><td class=\"hide-narrow\">{brand}</td><td class=\"hide-narrow\">{platform}</td>\
             <td>{author}</td><td class=\"text\"><a href=\"/mentions/{id}\">{text}</a></td><td>{assignee}</td></tr>\n",
            id = m.id,
            state = esc(&state),
            class = class_cell(m.class),
            brand = esc(&brand_name(&m.brand)),
            platform = esc(m.platform.as_str()),
            author = author(m),
            text = esc(&m.text),
            assignee = m.assigned_to.as_deref().map(esc).unwrap_or_else(|| "<small>nobody</small>".into()),
        ));
    }
    let list = if rows.is_empty() {
        "<p>Nothing here: no mention matches these filters.</p>".to_string()
    } else {
        format!(
            "<form id=\"bulk\" method=\"post\" action=\"/ack\">{}<button type=\"submit\">Acknowledge selected</button></form>\
             <table class=\"list\"><thead><tr><th></th><th>Deadline</th><th>Class</th><th class=\"hide-narrow\">Brand</th><th class=\"hide-narrow\">Platform</th>\
             <th>Author</th><th>Text</th><th>Assigned to</th></tr></thead><tbody>\n{table}</tbody></table>",
            hidden_csrf(v.csrf)
        )
    };
    let from = if v.total == 0 { 0 } else { f.offset + 1 };
    let to = f.offset + rows.len();
    let mut paging = format!("<p>{from}–{to} of {}", v.total);
    let sep = if v.query.is_empty() { "" } else { "&" };
    if f.offset > 0 {
        paging.push_str(&format!(" · <a href=\"/?{}{sep}offset={}\">previous</a>", esc(v.query), f.offset.saturating_sub(f.limit)));
    }
    if (to as u64) < v.total {
        paging.push_str(&format!(" · <a href=\"/?{}{sep}offset={to}\">next</a>", esc(v.query)));
    }
    paging.push_str("</p>");
    layout("Inbox", Some((v.user, v.csrf)), &format!("{filters}\n{list}\n{paging}"))
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

/// How long a silence set from the inbox may last: (value, label).
pub const SILENCE_FOR: [(&str, &str); 4] = [("1h", "1 hour"), ("4h", "4 hours"), ("1d", "1 day"), ("7d", "7 days")];

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

pub fn mention(v: &MentionView) -> String {
    let m = v.mention;
    let (state, css) = deadline_state(m, v.now);
    let link = if m.url.starts_with("https://") || m.url.starts_with("http://") {
        format!("<p><a href=\"{0}\" rel=\"noopener noreferrer\">Open the post</a></p>", esc(&m.url))
    } else {
        String::new()
    };
    let reasons = if m.reasons.is_empty() {
        String::new()
    } else {
        format!("<p>Why: {}</p>", m.reasons.iter().map(|r| format!("<code>{}</code>", esc(r))).collect::<Vec<_>>().join(", "))
    };
    let mut events: Vec<(DateTime<Utc>, String)> = vec![(m.created_at, "posted".into()), (m.seen_at, "seen by escucha".into())];
    for p in v.pages {
        let what = if p.kind == "alert" { "page" } else { p.kind.as_str() };
        let state = match p.sent_at {
            Some(_) => "sent".to_string(),
            None => p.state.clone(),
        };
        events.push((p.sent_at.unwrap_or(p.created_at), format!("{what} to {} ({state})", esc(&p.recipient))));
    }
    if let Some(t) = m.acked_at {
        events.push((t, format!("acknowledged by {}", esc(m.acked_by.as_deref().unwrap_or("someone")))));
    }
    if let Some(t) = m.answered_at {
        events.push((t, "answered by the brand".into()));
    }
    if let Some(t) = m.corrected_at {
        events.push((t, format!("corrected to {} by {}", m.class.as_str(), esc(m.corrected_by.as_deref().unwrap_or("someone")))));
    }
    for n in v.notes {
        events.push((n.at, format!("note by {}: {}", esc(&n.by), esc(&n.text))));
    }
    events.sort_by_key(|e| e.0);
    let timeline: String = events.iter().map(|(t, e)| format!("<li><time>{}</time> {e}</li>", when(*t))).collect();
    let csrf = hidden_csrf(v.csrf);
    let id = m.id;
    let ack = if m.status == Status::Open {
        format!("<form method=\"post\" action=\"/mentions/{id}/ack\">{csrf}<button type=\"submit\">Acknowledge</button></form>")
    } else {
        String::new()
    };
    let mut people = vec![(String::new(), "nobody".to_string())];
    people.extend(v.users.iter().map(|u| (u.clone(), u.clone())));
    let assign = format!(
        "<form method=\"post\" action=\"/mentions/{id}/assign\">{csrf}<select name=\"user\" aria-label=\"assignee\">{}</select> <button type=\"submit\">Assign</button></form>",
        options(&people, m.assigned_to.as_deref().unwrap_or(v.user))
    );
    let note = format!(
        "<form method=\"post\" action=\"/mentions/{id}/notes\">{csrf}<input name=\"text\" required aria-label=\"note\" placeholder=\"a note for the team\"> <button type=\"submit\">Add note</button></form>"
    );
    let mut correct = String::new();
    if m.class.needs_answer() {
        correct.push_str(&format!(
            "<form method=\"post\" action=\"/mentions/{id}/class\">{csrf}<input type=\"hidden\" name=\"class\" value=\"neutral\"><button type=\"submit\">Not a complaint</button></form>"
        ));
    }
    if m.class != Class::Complaint {
        correct.push_str(&format!(
            "<form method=\"post\" action=\"/mentions/{id}/class\">{csrf}<input type=\"hidden\" name=\"class\" value=\"complaint\"><button type=\"submit\">This is a complaint</button></form>"
        ));
    }
    if m.class != Class::Escalation {
        correct.push_str(&format!(
            "<form method=\"post\" action=\"/mentions/{id}/class\">{csrf}<input type=\"hidden\" name=\"class\" value=\"escalation\"><button type=\"submit\">Escalation</button></form>"
        ));
    }
    let durations: Vec<(String, String)> = SILENCE_FOR.iter().map(|(v, l)| (v.to_string(), l.to_string())).collect();
    let scopes = vec![
        ("author".to_string(), format!("@{} on {}", m.author.trim_start_matches('@'), m.platform.as_str())),
        ("brand".to_string(), format!("all of {}", v.brand_name)),
    ];
    let silence = format!(
        "<form method=\"post\" action=\"/mentions/{id}/silence\">{csrf}<select name=\"scope\" aria-label=\"what to silence\">{}</select> \
         for <select name=\"for\" aria-label=\"how long\">{}</select> \
         <input name=\"reason\" required aria-label=\"reason\" placeholder=\"why (the others will see it)\"> <button type=\"submit\">Silence</button></form>",
        options(&scopes, "author"),
        options(&durations, "4h"),
    );
    let silenced: String = v
        .silences
        .iter()
        .map(|s| format!("<p class=\"overdue\">Alerts silenced until {} by {}: {}</p>", when(s.until), esc(&s.created_by), esc(&s.reason)))
        .collect();
    let history = if v.history.is_empty() {
        String::new()
    } else {
        let items: String = v
            .history
            .iter()
            .map(|h| format!("<li><time>{}</time> <a href=\"/mentions/{}\">{}</a> ({})</li>", when(h.created_at), h.id, esc(&h.text), status_word(h.status)))
            .collect();
        format!("<h2>The author's other complaints ({})</h2><ul>{items}</ul>", v.history.len())
    };
    let body = format!(
        "<p>{class} about <b>{brand}</b> on {platform} by {author} · <span class=\"deadline {css}\">{state}</span> · {status} \
         · assigned to {assignee}</p>\n{silenced}<blockquote>{text}</blockquote>\n{link}{reasons}\
         <div class=\"actions\">{ack}{assign}{note}{correct}{silence}</div>\n<h2>Timeline</h2><ul>{timeline}</ul>\n{history}",
        class = class_cell(m.class),
        brand = esc(&v.brand_name),
        platform = esc(m.platform.as_str()),
        author = author(m),
        state = esc(&state),
        status = status_word(m.status),
        assignee = m.assigned_to.as_deref().map(esc).unwrap_or_else(|| "nobody".into()),
        text = esc(&m.text),
    );
    layout(&format!("Mention {id}"), Some((v.user, v.csrf)), &body)
}

/// The periods the numbers page offers: (value, label).
pub const PERIODS: [(&str, &str); 3] = [("24h", "last 24 hours"), ("7d", "last 7 days"), ("30d", "last 30 days")];

fn secs(s: Option<i64>) -> String {
    s.map(|s| human(Duration::seconds(s))).unwrap_or_else(|| "–".into())
}

/// Per brand and platform over the period: mentions by class, answer rate
/// and first-answer times, with the answer rate drawn as SVG bars; and the
/// overdue count per brand.
pub fn numbers(user: (&str, &str), since: &str, rows: &[crate::store::StatsRow], overdue: &[(String, u64)], brand_name: impl Fn(&str) -> String) -> String {
    let periods: String = PERIODS
        .iter()
        .map(|(v, l)| if *v == since { format!("<b>{}</b> ", esc(l)) } else { format!("<a href=\"/numbers?since={v}\">{}</a> ", esc(l)) })
        .collect();
    let overdue_list: String = if overdue.is_empty() {
        "<p>Nothing is overdue.</p>".into()
    } else {
        let items: String = overdue
            .iter()
            .map(|(b, n)| format!("<li><a href=\"/?brand={}\">{}</a>: <span class=\"overdue\">{n} overdue</span></li>", esc(b), esc(&brand_name(b))))
            .collect();
        format!("<ul>{items}</ul>")
    };
    let mut table = String::new();
    let (bar_h, width) = (22, 300);
    let mut bars = String::new();
    for (i, r) in rows.iter().enumerate() {
        let rate = (r.needing_answer > 0).then(|| r.answered as f64 / r.needing_answer as f64);
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
            rate.map(|x| format!("{:.0}%", x * 100.0)).unwrap_or_else(|| "–".into()),
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
            pct = rate.map(|x| format!("{:.0}%", x * 100.0)).unwrap_or_else(|| "no complaints".into()),
        ));
    }
    let chart = if rows.is_empty() {
        "<p>No mentions in this period.</p>".to_string()
    } else {
        format!(
            "<h2>Answer rate</h2><svg role=\"img\" aria-label=\"answer rate per brand and platform\" width=\"{}\" height=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">{bars}</svg>",
            200 + width + 120,
            rows.len() * (bar_h + 6)
        )
    };
    let body = format!(
        "<p>{periods}</p><h2>Overdue now</h2>{overdue_list}{chart}<h2>Figures</h2><table><thead><tr><th>Brand</th><th>Platform</th><th>Mentions</th><th>Praise</th>\
         <th>Complaints</th><th>Escalations</th><th>Answered</th><th>Answer rate</th><th>First answer p50</th><th>p90</th></tr></thead><tbody>{table}</tbody></table>"
    );
    layout("Numbers", Some(user), &body)
}

/// A short page saying what went wrong (escaped).
pub fn message(title: &str, text: &str, user: Option<(&str, &str)>) -> String {
    layout(title, user, &format!("<p>{}</p><p><a href=\"/\">Back to the inbox</a></p>", esc(text)))
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
    use chrono::TimeZone;

    fn t(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap() + Duration::minutes(min)
    }

    #[test]
    fn the_sla_clock_reads_like_people_talk() {
        let m = Mention { deadline: Some(t(12)), ..Mention::example(1, t(0)) };
        assert_eq!(deadline_state(&m, t(0)), ("12 min left".to_string(), "left"));
        assert_eq!(deadline_state(&m, t(12 + 65)), ("overdue 1 h 5 min".to_string(), "overdue"));
        assert_eq!(deadline_state(&m, t(12 + 120)).0, "overdue 2 h");
        assert_eq!(deadline_state(&m, t(12 + 1440 + 180)).0, "overdue 1 d 3 h");
        assert_eq!(deadline_state(&m, t(12) + Duration::seconds(20)).0, "overdue <1 min");
        let acked = Mention { status: Status::Acked, acked_by: Some("ana".into()), ..m.clone() };
        assert_eq!(deadline_state(&acked, t(0)).0, "acknowledged by ana");
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
        let html = mention(&MentionView {
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
        });
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("The author's other complaints (1)") && html.contains("Alerts silenced until"), "{html}");
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
            now: t(3),
        };
        let list = inbox(&v, &[m], |_| evil.to_string());
        assert!(!list.contains("<script>"), "{list}");
        assert!(list.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!login(Some(evil), evil).contains("<script>"));
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
        let html = numbers(("ana", "t"), "7d", &[row], &[("<b>".into(), 2)], |b| format!("{b}!"));
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
}
