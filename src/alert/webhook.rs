//! Webhook channels: one pure payload builder per `[[webhook]] kind`, and a
//! sender that POSTs them and sorts failures into "retry" and "never". The
//! outbox, retries and backoff belong to `alert::dispatch`.
//!
//! Shapes follow each service's documentation:
//! - `slack`: incoming webhook, `{"text", "blocks"}` (Block Kit; the text is
//!   the notification fallback).
//! - `discord`: execute webhook, `{"content", "embeds": [...]}` with
//!   `allowed_mentions` empty so a quoted `@everyone` pings nobody.
//! - `teams`: incoming webhook / Workflows, a `message` with one Adaptive
//!   Card attachment.
//! - `ntfy`: JSON publishing, POSTed to the server root with the topic in the
//!   body; the configured URL is the topic URL (`https://ntfy.sh/care`).
//! - `pagerduty`: Events API v2, one event per mention, `dedup_key` the
//!   mention's key (`escucha:<brand>:<platform>:<platform id>`), so a later
//!   `acknowledge`/`resolve` closes the same incident.
//! - `json`: escucha's own body, documented in `docs/webhooks.md`:
//!
//! ```json
//! {"version": 1, "event": "alert" | "ack" | "resolve" | "notice", "id": 17,
//!  "brand": {"id": "interjet", "name": "Interjet"} | null, "title": "...", "text": "...",
//!  "sent_at": "RFC 3339",
//!  "mentions": [{"id", "dedup_key", "platform", "platform_id", "url", "author",
//!    "author_followers", "text", "lang", "class", "score", "reasons", "created_at",
//!    "status", "acked_by", "acked_at", "answered_at", "ack_url", "ack_command",
//!    "not_complaint_url", "inbox_url", "corrected_by", "corrected_at", "rating"}]}
//! ```
//!
//! with `Idempotency-Key: <outbox row id>` (the same on every retry;
//! `notice-<id>` for health notices, which have no mentions) and,
//! when the webhook has a `secret`, `X-Escucha-Signature: sha256=<hex
//! HMAC-SHA256 of the exact body bytes>`.

use super::email::NotifyError;
use super::render::{format_age, AckHow};
use super::words::{self, Words};
use crate::config::{Language, Secret, Webhook, WebhookKind};
use crate::model::{Class, Mention};
use crate::store::OutboxKind;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use std::time::Duration;

/// Per request, connect to last byte.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// What a message announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A page about mentions waiting for an answer.
    Alert,
    /// Someone acknowledged the mentions.
    Ack,
    /// The brand answered the mentions.
    Resolve,
    /// A message about escucha itself (a source stopped working or
    /// recovered): a title and a text, no mentions.
    Notice,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Alert => "alert",
            Event::Ack => "ack",
            Event::Resolve => "resolve",
            Event::Notice => "notice",
        }
    }
}

impl From<OutboxKind> for Event {
    fn from(k: OutboxKind) -> Event {
        match k {
            OutboxKind::Alert => Event::Alert,
            OutboxKind::Ack => Event::Ack,
            OutboxKind::Resolve => Event::Resolve,
        }
    }
}

/// One mention in a message, with how to acknowledge it.
#[derive(Debug, Clone)]
pub struct Item {
    pub mention: Mention,
    pub ack: AckHow,
}

/// What one outbox row says, ready to be shaped for a channel.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    pub outbox_id: i64,
    pub event: Event,
    pub brand_id: &'a str,
    pub brand_name: &'a str,
    /// The alert's subject, or the notice's one-line summary.
    pub title: &'a str,
    pub items: &'a [Item],
    /// Free text for `Event::Notice` (empty otherwise).
    pub text: &'a str,
    pub now: DateTime<Utc>,
    /// The channel's language (`[daemon] language`).
    pub lang: Language,
}

/// One HTTP request to make.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// The title of an ack or resolve notice.
pub fn notice_title(event: Event, brand_name: &str, items: &[Item]) -> String {
    let what = match items {
        [i] => format!("{} about {brand_name} on {}", i.mention.class, i.mention.platform),
        many => format!("{} mentions of {brand_name}", many.len()),
    };
    match event {
        Event::Ack => {
            let by = items.iter().find_map(|i| i.mention.acked_by.clone()).unwrap_or_else(|| "someone".into());
            format!("[escucha] acknowledged by {by}: {what}")
        }
        Event::Resolve => format!("[escucha] resolved, the brand answered: {what}"),
        Event::Alert | Event::Notice => format!("[escucha] {what}"),
    }
}

/// PagerDuty's `dedup_key` for a mention: stable across restarts and
/// databases, unique like the store's (platform, platform id, brand).
pub fn dedup_key(m: &Mention) -> String {
    format!("escucha:{}:{}:{}", m.brand, m.platform, m.platform_id)
}

/// The requests that deliver `msg` to `hook`. Errors are config problems
/// that no retry fixes.
pub fn requests(hook: &Webhook, msg: &Message) -> Result<Vec<Outgoing>, String> {
    let url = hook.url.as_ref().map(Secret::expose).ok_or_else(|| format!("webhook {} has no url", hook.id))?;
    let single = |body: Value| -> Vec<Outgoing> { vec![post(url, &body, vec![])] };
    Ok(match hook.kind {
        WebhookKind::Slack => single(slack(msg)),
        WebhookKind::Discord => single(discord(msg)),
        WebhookKind::Teams => single(teams(msg)),
        WebhookKind::Ntfy => {
            let (root, topic) = ntfy_split(url)?;
            vec![post(&root, &ntfy(msg, &topic), vec![])]
        }
        WebhookKind::PagerDuty => {
            let key = hook.routing_key.as_ref().ok_or_else(|| format!("webhook {}: pagerduty needs routing_key", hook.id))?;
            pagerduty(msg, key.expose()).iter().map(|b| post(url, b, vec![])).collect()
        }
        WebhookKind::Json => {
            let body = serde_json::to_vec(&generic(msg)).expect("JSON values serialize");
            // Health notices live in their own table: keep their keys apart.
            let key = match msg.event {
                Event::Notice => format!("notice-{}", msg.outbox_id),
                _ => msg.outbox_id.to_string(),
            };
            let mut headers = vec![("Idempotency-Key", key)];
            if let Some(secret) = &hook.secret {
                headers.push(("X-Escucha-Signature", signature(&body, secret.expose().as_bytes())));
            }
            headers.push(("Content-Type", "application/json".into()));
            vec![Outgoing { url: url.to_string(), headers, body }]
        }
    })
}

/// `sha256=<hex HMAC-SHA256 of body>`.
pub fn signature(body: &[u8], key: &[u8]) -> String {
    format!("sha256={}", crate::ack::hex(&crate::ack::sign(body, key)))
}

fn post(url: &str, body: &Value, mut headers: Vec<(&'static str, String)>) -> Outgoing {
    headers.push(("Content-Type", "application/json".into()));
    Outgoing { url: url.to_string(), headers, body: serde_json::to_vec(body).expect("JSON values serialize") }
}

fn class_word(m: &Mention, event: Event, lang: Language) -> &'static str {
    match (event, lang) {
        (Event::Ack, Language::En) => "acknowledged",
        (Event::Ack, Language::Es) => "atendida",
        (Event::Resolve, Language::En) => "resolved",
        (Event::Resolve, Language::Es) => "resuelta",
        (Event::Alert | Event::Notice, _) => words::class_label(lang, m.class),
    }
}

fn followers(m: &Mention) -> String {
    m.author_followers.map_or_else(|| "unknown".into(), |f| f.to_string())
}

/// On one line: chat titles and link labels break on a line break.
fn handle(m: &Mention) -> String {
    format!("@{}", m.author.trim_start_matches('@')).chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

fn reasons(m: &Mention, lang: Language) -> String {
    if m.reasons.is_empty() {
        return words::words(lang).none_given.into();
    }
    m.reasons.iter().map(|r| format!("{} ({r})", words::describe_reason(lang, r))).collect::<Vec<_>>().join("; ")
}

/// At most `max` characters, with an ellipsis when cut: every service
/// rejects (4xx) a field over its limit, and that would dead-letter a page.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn is_web_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

/// Slack mrkdwn: only `&`, `<` and `>` are control characters.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A URL as Slack may put it inside `<url|label>` and in a button: the
/// platform built it from a stranger's handle, so `<`, `>`, `|`, spaces,
/// line breaks and anything else outside printable ASCII are
/// percent-encoded. Otherwise `>` or `|` would end the link early and a
/// `<!channel>` after it would ping everyone; Slack refuses (400) a button
/// whose URL holds a line break, and that would dead-letter the page.
fn slack_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for c in url.chars() {
        if c.is_ascii_graphic() && !matches!(c, '<' | '>' | '|' | '"') {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// Slack: a header, then per mention a section (class, who, how long it
/// waited against its threshold, the post, why) and the buttons, the
/// signed Acknowledge link first. Block Kit allows 50 blocks; 3 per
/// mention keeps 15 mentions.
pub fn slack(msg: &Message) -> Value {
    let w = words::words(msg.lang);
    let mut blocks = vec![json!({"type": "header", "text": {"type": "plain_text", "text": clip(msg.title, 150), "emoji": false}})];
    if !msg.text.is_empty() {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": clip(&slack_escape(msg.text), 3000)}}));
    }
    for it in msg.items.iter().take(15) {
        let m = &it.mention;
        let v = view(msg, it);
        let who = if is_web_url(&m.url) { format!("<{}|{}>", slack_url(&m.url), slack_escape(&handle(m))) } else { slack_escape(&handle(m)) };
        let quoted: String = slack_escape(&m.text).lines().map(|l| format!(">{l}\n")).collect();
        let stars = v.stars.as_deref().map(|s| format!("{s}\n")).unwrap_or_default();
        let text = format!(
            "{} *{}* · {} · {}\n{who} ({}) · {}\n{stars}{quoted}*{}:* {}",
            emoji(m, msg.event),
            class_word(m, msg.event, msg.lang),
            slack_escape(msg.brand_name),
            m.platform,
            v.followers,
            waited(&v, w),
            w.reasons,
            slack_escape(&reasons(m, msg.lang))
        );
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": clip(&text, 3000)}}));
        let mut buttons = Vec::new();
        let button = |label: &str, url: &str| json!({"type": "button", "text": {"type": "plain_text", "text": label}, "url": slack_url(url)});
        if msg.event == Event::Alert {
            if let Some(link) = &it.ack.link {
                let mut b = button(w.acknowledge, link);
                b["style"] = json!("primary");
                buttons.push(b);
            }
        }
        if is_web_url(&m.url) {
            buttons.push(button(w.open_post, &m.url));
        }
        if msg.event == Event::Alert {
            if let Some(link) = &it.ack.not_complaint {
                buttons.push(button(w.not_complaint, link));
            }
        }
        if let Some(link) = &it.ack.inbox {
            buttons.push(button(w.open_in_escucha, link));
        }
        if !buttons.is_empty() {
            blocks.push(json!({"type": "actions", "elements": buttons}));
        }
        if msg.event == Event::Alert {
            blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": format!("{} `{}`", w.or_run, it.ack.command)}]}));
        }
    }
    // The fallback text is mrkdwn too (an acker's name is in some titles).
    json!({"text": clip(&slack_escape(msg.title), 3000), "blocks": blocks})
}

/// The mention as messages show it (labels in the message's language).
fn view(msg: &Message, it: &Item) -> super::render::MentionView {
    super::render::mention_view(&it.mention, msg.now, msg.lang, chrono_tz::UTC, &it.ack)
}

/// `Waiting 47m / answer within 30m (17m overdue)`.
fn waited(v: &super::render::MentionView, w: &Words) -> String {
    match (&v.threshold, &v.deadline_state) {
        (Some(t), Some(state)) => format!("{} {} / {} {t} ({state})", w.waiting, v.age, w.answer_within.to_lowercase()),
        _ => format!("{} {}", w.waiting, v.age),
    }
}

/// A coloured mark for chat apps that have no colour of their own in a
/// message (Slack blocks, Teams text).
fn emoji(m: &Mention, event: Event) -> &'static str {
    match (event, m.class) {
        (Event::Resolve, _) => "✅",
        (Event::Ack, _) => "👀",
        (_, Class::Escalation) => "🔴",
        (_, Class::Complaint) => "🟠",
        (_, Class::Praise) => "🟢",
        (_, Class::Neutral) => "⚪",
    }
}

fn color(m: &Mention, event: Event) -> u32 {
    match (event, m.class) {
        (Event::Resolve, _) => 0x2E7D32,
        (Event::Ack, _) => 0x1976D2,
        (_, Class::Escalation) => 0xD32F2F,
        _ => 0xF57C00,
    }
}

/// Discord: the title as content, one embed per mention (10 at most),
/// coloured by class. Webhooks not owned by an application cannot carry
/// buttons, so the actions are links in a field, Acknowledge first.
pub fn discord(msg: &Message) -> Value {
    let w = words::words(msg.lang);
    let embeds: Vec<Value> = msg
        .items
        .iter()
        .take(10)
        .map(|it| {
            let m = &it.mention;
            let v = view(msg, it);
            let mut fields = vec![
                json!({"name": w.author, "value": clip(&handle(m), 1024), "inline": true}),
                json!({"name": followers_title(msg.lang), "value": followers(m), "inline": true}),
                json!({"name": w.waiting, "value": clip(&waited(&v, w), 1024), "inline": true}),
            ];
            if let Some(s) = &v.stars {
                fields.push(json!({"name": w.rating, "value": s, "inline": true}));
            }
            fields.push(json!({"name": w.reasons, "value": clip(&reasons(m, msg.lang), 1024), "inline": false}));
            let mut links = Vec::new();
            if msg.event == Event::Alert {
                if let Some(l) = &it.ack.link {
                    links.push(format!("**[{}]({l})**", w.acknowledge));
                }
            }
            if is_web_url(&m.url) {
                // The platform built this URL from a stranger's input: a `)`
                // or a space would end the Markdown link early.
                links.push(format!("[{}]({})", w.open_post, slack_url(&m.url).replace('(', "%28").replace(')', "%29")));
            }
            if msg.event == Event::Alert {
                if let Some(l) = &it.ack.not_complaint {
                    links.push(format!("[{}]({l})", w.not_complaint));
                }
            }
            if let Some(l) = &it.ack.inbox {
                links.push(format!("[{}]({l})", w.open_in_escucha));
            }
            if msg.event == Event::Alert {
                let mut how = links.join(" · ");
                if !how.is_empty() {
                    how.push_str(" · ");
                }
                how.push_str(&format!("{} `{}`", w.or_run, it.ack.command));
                fields.push(json!({"name": w.acknowledge, "value": clip(&how, 1024), "inline": false}));
            } else if !links.is_empty() {
                fields.push(json!({"name": w.link, "value": clip(&links.join(" · "), 1024), "inline": false}));
            }
            let mut e = json!({
                "title": clip(&format!("{} · {} · {} · {}", class_word(m, msg.event, msg.lang), msg.brand_name, m.platform, handle(m)), 256),
                "description": clip(&m.text, 4096),
                "color": color(m, msg.event),
                "fields": fields,
                "timestamp": m.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            });
            if is_web_url(&m.url) {
                e["url"] = json!(m.url);
            }
            e
        })
        .collect();
    let mut embeds = embeds;
    if !msg.text.is_empty() {
        embeds.insert(0, json!({"title": clip(msg.title, 256), "description": clip(msg.text, 4096), "color": 0x757575}));
    }
    json!({"content": clip(msg.title, 2000), "embeds": embeds, "allowed_mentions": {"parse": []}})
}

fn followers_title(lang: Language) -> &'static str {
    match lang {
        Language::En => "Followers",
        Language::Es => "Seguidores",
    }
}

/// Teams: an Adaptive Card (1.4) inside a `message` attachment, as the
/// incoming-webhook and Workflows docs show. The class is a coloured word
/// (`attention` red for escalations, `warning` for complaints); the
/// actions open the signed links, Acknowledge first and marked positive.
pub fn teams(msg: &Message) -> Value {
    let w = words::words(msg.lang);
    let mut body = vec![json!({"type": "TextBlock", "text": msg.title, "weight": "Bolder", "size": "Medium", "wrap": true})];
    if !msg.text.is_empty() {
        body.push(json!({"type": "TextBlock", "text": msg.text, "wrap": true}));
    }
    for it in msg.items.iter().take(20) {
        let m = &it.mention;
        let v = view(msg, it);
        let tone = match (msg.event, m.class) {
            (Event::Resolve, _) => "good",
            (Event::Ack, _) => "accent",
            (_, Class::Escalation) => "attention",
            (_, Class::Complaint) => "warning",
            _ => "default",
        };
        body.push(json!({"type": "TextBlock", "text": format!("{} {}", emoji(m, msg.event), class_word(m, msg.event, msg.lang).to_uppercase()),
            "color": tone, "weight": "Bolder", "separator": true, "spacing": "Large"}));
        // Teams refuses cards over 28 KB: a long mention is cut, not the page.
        body.push(json!({"type": "TextBlock", "text": clip(&m.text, 3000), "wrap": true}));
        let mut facts = vec![
            json!({"title": w.author, "value": format!("{} ({})", handle(m), v.followers)}),
            json!({"title": w.platform, "value": m.platform.as_str()}),
            json!({"title": w.waiting, "value": waited(&v, w)}),
        ];
        if let Some(s) = &v.stars {
            facts.push(json!({"title": w.rating, "value": s}));
        }
        facts.push(json!({"title": w.reasons, "value": reasons(m, msg.lang)}));
        body.push(json!({"type": "FactSet", "facts": facts}));
        let mut actions = Vec::new();
        if msg.event == Event::Alert {
            if let Some(l) = &it.ack.link {
                actions.push(json!({"type": "Action.OpenUrl", "title": w.acknowledge, "url": l, "style": "positive"}));
            }
        }
        if is_web_url(&m.url) {
            actions.push(json!({"type": "Action.OpenUrl", "title": w.open_post, "url": m.url}));
        }
        if msg.event == Event::Alert {
            if let Some(l) = &it.ack.not_complaint {
                actions.push(json!({"type": "Action.OpenUrl", "title": w.not_complaint, "url": l}));
            }
        }
        if let Some(l) = &it.ack.inbox {
            actions.push(json!({"type": "Action.OpenUrl", "title": w.open_in_escucha, "url": l}));
        }
        if msg.event == Event::Alert {
            body.push(json!({"type": "TextBlock", "text": format!("{} `{}`", w.or_run, it.ack.command), "isSubtle": true, "wrap": true}));
        }
        if !actions.is_empty() {
            body.push(json!({"type": "ActionSet", "actions": actions}));
        }
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
            }
        }]
    })
}

/// `https://ntfy.sh/care` → (`https://ntfy.sh/`, `care`); a server under a
/// path prefix keeps it.
pub fn ntfy_split(topic_url: &str) -> Result<(String, String), String> {
    let mut u = url::Url::parse(topic_url).map_err(|e| format!("ntfy url is not a URL: {e}"))?;
    let path = u.path().trim_end_matches('/').to_string();
    let (prefix, topic) = path.rsplit_once('/').unwrap_or(("", ""));
    if topic.is_empty() {
        return Err("ntfy url must name the topic, e.g. https://ntfy.sh/care".into());
    }
    u.set_path(&format!("{prefix}/"));
    u.set_query(None);
    Ok((u.to_string(), topic.to_string()))
}

/// ntfy JSON publishing: priority 5 (max) for escalations, 4 (high) for
/// complaints, 3 for notices; a tap opens the post.
pub fn ntfy(msg: &Message, topic: &str) -> Value {
    let escalation = msg.items.iter().any(|i| i.mention.class == Class::Escalation);
    let priority = match msg.event {
        Event::Alert if escalation => 5,
        Event::Alert => 4,
        Event::Notice => 4,
        _ => 3,
    };
    let tags: Vec<&str> = match msg.event {
        Event::Alert if escalation => vec!["rotating_light", "escalation"],
        Event::Alert => vec!["warning", "complaint"],
        Event::Ack => vec!["eyes", "acknowledged"],
        Event::Resolve => vec!["white_check_mark", "resolved"],
        Event::Notice => vec!["gear", "escucha"],
    };
    let mut text = msg.text.to_string();
    for it in msg.items {
        let m = &it.mention;
        text.push_str(&format!(
            "{} by {} on {} ({} followers, {} old): {}\n",
            class_word(m, msg.event, msg.lang),
            handle(m),
            m.platform,
            followers(m),
            format_age(msg.now - m.created_at),
            m.text
        ));
        if msg.event == Event::Alert {
            text.push_str(&format!("Why: {}\nAck: {}\n", reasons(m, msg.lang), it.ack.command));
        }
    }
    let mut v = json!({
        "topic": topic,
        "title": clip(msg.title, 250),
        "message": clip(text.trim_end(), 3500),
        "priority": priority,
        "tags": tags,
    });
    if let Some(first) = msg.items.first() {
        if is_web_url(&first.mention.url) {
            v["click"] = json!(first.mention.url);
        }
        if msg.event == Event::Alert {
            if let Some(l) = &first.ack.link {
                v["actions"] = json!([{"action": "view", "label": words::words(msg.lang).acknowledge, "url": l, "clear": true}]);
            }
        }
    }
    v
}

/// PagerDuty Events API v2: one event per mention.
pub fn pagerduty(msg: &Message, routing_key: &str) -> Vec<Value> {
    msg.items
        .iter()
        .map(|it| {
            let m = &it.mention;
            let action = match msg.event {
                Event::Alert | Event::Notice => "trigger",
                Event::Ack => "acknowledge",
                Event::Resolve => "resolve",
            };
            if msg.event != Event::Alert {
                // acknowledge/resolve need only the key (Events API v2).
                return json!({"routing_key": routing_key, "event_action": action, "dedup_key": dedup_key(m)});
            }
            let summary = format!("{} about {} on {} by {}: {}", m.class, msg.brand_name, m.platform, handle(m), m.text);
            let mut links = Vec::new();
            if is_web_url(&m.url) {
                links.push(json!({"href": m.url, "text": "The post"}));
            }
            if let Some(l) = &it.ack.link {
                links.push(json!({"href": l, "text": "Acknowledge (I'm on it)"}));
            }
            if let Some(l) = &it.ack.not_complaint {
                links.push(json!({"href": l, "text": "Not a complaint (relabel in escucha)"}));
            }
            if let Some(l) = &it.ack.inbox {
                links.push(json!({"href": l, "text": "Open in escucha"}));
            }
            json!({
                "routing_key": routing_key,
                "event_action": action,
                "dedup_key": dedup_key(m),
                "client": "escucha",
                "payload": {
                    "summary": clip(&summary, 1024),
                    "source": "escucha",
                    "severity": if m.class == Class::Escalation { "critical" } else { "warning" },
                    "timestamp": m.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                    "component": m.platform.as_str(),
                    "group": msg.brand_id,
                    "class": m.class.as_str(),
                    "custom_details": {
                        // Events over 512 KB are refused (400): keep what an alert quotes.
                        "text": clip(&m.text, super::render::MAX_QUOTED_CHARS),
                        "author": handle(m),
                        "author_followers": m.author_followers,
                        "url": m.url,
                        "reasons": m.reasons,
                        "mention_id": m.id,
                        "ack_command": it.ack.command,
                    }
                },
                "links": links,
            })
        })
        .collect()
}

/// The generic `json` body (see the module docs).
pub fn generic(msg: &Message) -> Value {
    let mentions: Vec<Value> = msg
        .items
        .iter()
        .map(|it| {
            let m = &it.mention;
            let t = |d: Option<DateTime<Utc>>| d.map(|d| d.to_rfc3339_opts(SecondsFormat::Secs, true));
            json!({
                "id": m.id,
                "dedup_key": dedup_key(m),
                "platform": m.platform.as_str(),
                "platform_id": m.platform_id,
                "url": m.url,
                "author": m.author,
                "author_followers": m.author_followers,
                "rating": m.rating,
                "text": m.text,
                "lang": m.lang,
                "class": m.class.as_str(),
                "score": m.score,
                "reasons": m.reasons,
                "created_at": t(Some(m.created_at)),
                "status": m.status.as_str(),
                "acked_by": m.acked_by,
                "acked_at": t(m.acked_at),
                "answered_at": t(m.answered_at),
                "ack_url": it.ack.link,
                "ack_command": it.ack.command,
                "not_complaint_url": it.ack.not_complaint,
                "inbox_url": it.ack.inbox,
                "corrected_by": m.corrected_by,
                "corrected_at": t(m.corrected_at),
            })
        })
        .collect();
    json!({
        "version": 1,
        "event": msg.event.as_str(),
        "id": msg.outbox_id,
        "brand": if msg.brand_id.is_empty() { Value::Null } else { json!({"id": msg.brand_id, "name": msg.brand_name}) },
        "title": msg.title,
        "text": msg.text,
        "sent_at": msg.now.to_rfc3339_opts(SecondsFormat::Secs, true),
        "mentions": mentions,
    })
}

/// Sends webhook requests. One client (connection pool) for the process.
pub struct Webhooks {
    client: reqwest::Client,
}

impl Webhooks {
    pub fn new() -> anyhow::Result<Webhooks> {
        let client = reqwest::Client::builder().timeout(TIMEOUT).connect_timeout(TIMEOUT).user_agent(concat!("escucha/", env!("CARGO_PKG_VERSION"))).build()?;
        Ok(Webhooks { client })
    }

    /// Sends the requests in order; the first failure stops and is returned
    /// (a retry resends all: every service here is idempotent on its key or
    /// tolerates a repeated message, which at-least-once allows).
    pub async fn send(&self, hook: &Webhook, reqs: &[Outgoing]) -> Result<(), NotifyError> {
        for r in reqs {
            let mut b = self.client.post(&r.url).body(r.body.clone());
            for (k, v) in &r.headers {
                b = b.header(*k, v);
            }
            // without_url: Slack and Discord URLs carry their token.
            let resp = b.send().await.map_err(|e| NotifyError::Retryable(format!("webhook {} ({}): {}", hook.id, hook.kind, e.without_url())))?;
            let status = resp.status();
            if status.is_success() {
                continue;
            }
            let body = resp.text().await.unwrap_or_default();
            let what = format!("webhook {} ({}) answered {status}: {}", hook.id, hook.kind, clip(body.trim(), 200));
            return Err(classify(status.as_u16(), what));
        }
        Ok(())
    }
}

/// 408, 429 and 5xx may pass later; any other answer will not.
pub fn classify(status: u16, what: String) -> NotifyError {
    match status {
        408 | 429 | 500..=599 => NotifyError::Retryable(what),
        _ => NotifyError::Rejected(what),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn mention(class: Class) -> Mention {
        let t = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
        Mention {
            platform_id: "1799".into(),
            url: "https://x.com/maria/status/1799".into(),
            author: "maria".into(),
            author_id: "7".into(),
            author_followers: Some(120),
            text: "@Interjet_mx perdieron mi maleta <y> nadie responde & @everyone".into(),
            lang: Some("es".into()),
            class,
            reasons: vec!["complaint:phrase:nadie responde".into()],
            deadline: Some(t + chrono::Duration::minutes(20)),
            ..Mention::example(42, t)
        }
    }

    fn items(class: Class) -> Vec<Item> {
        vec![Item {
            mention: mention(class),
            ack: AckHow {
                command: "escucha ack 42".into(),
                link: Some("https://e.example.com/ack/ab.cd".into()),
                not_complaint: Some("https://e.example.com/not-a-complaint/ef.01".into()),
                inbox: Some("https://e.example.com/mentions/42".into()),
            },
        }]
    }

    fn msg<'a>(items: &'a [Item], event: Event) -> Message<'a> {
        Message {
            outbox_id: 17,
            event,
            brand_id: "interjet",
            brand_name: "Interjet",
            title: "[escucha] complaint about Interjet on x, unanswered for 30m",
            items,
            text: "",
            now: Utc.with_ymd_and_hms(2026, 11, 24, 10, 30, 0).unwrap(),
            lang: Language::En,
        }
    }

    fn hook(kind: &str, url: &str) -> Webhook {
        Webhook {
            id: "h".into(),
            kind: WebhookKind::parse(kind).expect("a webhook kind"),
            url: Some(Secret::new(url)),
            secret: None,
            routing_key: None,
            send_resolved: false,
        }
    }

    #[test]
    fn a_slack_link_cannot_be_closed_early_by_the_url() {
        assert_eq!(slack_url("https://x.com/a|<!channel>/status/1"), "https://x.com/a%7C%3C!channel%3E/status/1");
        assert_eq!(slack_url("https://x.com/eve\r\nbcc: é/s"), "https://x.com/eve%0D%0Abcc:%20%C3%A9/s");
    }

    #[test]
    fn slack_is_block_kit_with_fallback_text_escaped_mrkdwn_and_both_buttons() {
        let it = items(Class::Complaint);
        let v = slack(&msg(&it, Event::Alert));
        assert_eq!(v["text"], "[escucha] complaint about Interjet on x, unanswered for 30m");
        assert_eq!(v["blocks"][0]["type"], "header");
        let section = v["blocks"][1]["text"]["text"].as_str().unwrap();
        assert!(section.contains("&lt;y&gt; nadie responde &amp;"), "{section}");
        assert!(section.contains("<https://x.com/maria/status/1799|@maria>"), "{section}");
        assert!(section.contains("complaint:phrase:nadie responde"), "{section}");
        assert!(section.contains("Waiting 30m / answer within 20m (10m overdue)"), "{section}");
        assert!(section.contains("🟠 *Complaint* · Interjet · x"), "{section}");
        let buttons = &v["blocks"][2]["elements"];
        // The signed ack first, marked primary: what the reader should do.
        assert_eq!((buttons[0]["url"].as_str(), buttons[0]["text"]["text"].as_str()), (Some("https://e.example.com/ack/ab.cd"), Some("Acknowledge")));
        assert_eq!(buttons[0]["style"], "primary");
        assert_eq!(buttons[1]["url"], "https://x.com/maria/status/1799");
        assert_eq!(buttons[2]["url"], "https://e.example.com/not-a-complaint/ef.01");
        assert_eq!(buttons[2]["text"]["text"], "Not a complaint");
        assert_eq!((buttons[3]["url"].as_str(), buttons[3]["text"]["text"].as_str()), (Some("https://e.example.com/mentions/42"), Some("Open in escucha")));
        assert!(v["blocks"][3]["elements"][0]["text"].as_str().unwrap().contains("escucha ack 42"));
    }

    #[test]
    fn discord_has_one_embed_per_mention_and_pings_nobody() {
        let it = items(Class::Escalation);
        let v = discord(&msg(&it, Event::Alert));
        assert_eq!(v["allowed_mentions"]["parse"], json!([]));
        let e = &v["embeds"][0];
        assert_eq!(e["url"], "https://x.com/maria/status/1799");
        assert_eq!(e["color"], 0xD32F2F);
        assert!(e["description"].as_str().unwrap().contains("perdieron mi maleta"));
        let names: Vec<&str> = e["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Author", "Followers", "Waiting", "Why escucha paged", "Acknowledge"]);
        let how = e["fields"][4]["value"].as_str().unwrap();
        assert!(how.starts_with("**[Acknowledge](https://e.example.com/ack/ab.cd)**"), "{how}");
        assert!(how.contains("[Not a complaint](https://e.example.com/not-a-complaint/ef.01)") && how.contains("[Open in escucha]("), "{how}");
        assert!(e["title"].as_str().unwrap().starts_with("Escalation · Interjet · x · @maria"));
    }

    #[test]
    fn teams_is_an_adaptive_card_in_a_message_attachment() {
        let it = items(Class::Complaint);
        let v = teams(&msg(&it, Event::Alert));
        assert_eq!(v["type"], "message");
        let a = &v["attachments"][0];
        assert_eq!(a["contentType"], "application/vnd.microsoft.card.adaptive");
        assert_eq!(a["content"]["type"], "AdaptiveCard");
        let body = a["content"]["body"].as_array().unwrap();
        let set = body.iter().find(|b| b["type"] == "ActionSet").unwrap();
        assert_eq!((set["actions"][0]["url"].as_str(), set["actions"][0]["title"].as_str()), (Some("https://e.example.com/ack/ab.cd"), Some("Acknowledge")));
        assert_eq!(set["actions"][0]["style"], "positive");
        let titles: Vec<&str> = set["actions"].as_array().unwrap().iter().map(|a| a["title"].as_str().unwrap()).collect();
        assert_eq!(titles, ["Acknowledge", "Open post", "Not a complaint", "Open in escucha"]);
        assert!(body.iter().any(|b| b["color"] == "warning" && b["text"].as_str().unwrap().contains("COMPLAINT")), "{body:?}");
    }

    #[test]
    fn ntfy_posts_to_the_server_root_with_the_topic_and_high_priority() {
        assert_eq!(ntfy_split("https://ntfy.sh/care").unwrap(), ("https://ntfy.sh/".into(), "care".into()));
        assert_eq!(ntfy_split("https://h.example/ntfy/care/").unwrap(), ("https://h.example/ntfy/".into(), "care".into()));
        assert!(ntfy_split("https://ntfy.sh/").is_err());
        let it = items(Class::Complaint);
        let v = ntfy(&msg(&it, Event::Alert), "care");
        assert_eq!((v["topic"].as_str(), v["priority"].as_u64()), (Some("care"), Some(4)));
        assert_eq!(v["click"], "https://x.com/maria/status/1799");
        assert_eq!(v["actions"][0]["url"], "https://e.example.com/ack/ab.cd");
        let esc = items(Class::Escalation);
        assert_eq!(ntfy(&msg(&esc, Event::Alert), "care")["priority"], 5);
    }

    #[test]
    fn pagerduty_triggers_with_the_mentions_key_and_resolves_the_same_key() {
        let it = items(Class::Escalation);
        let t = pagerduty(&msg(&it, Event::Alert), "RK");
        assert_eq!(t[0]["event_action"], "trigger");
        assert_eq!(t[0]["routing_key"], "RK");
        assert_eq!(t[0]["dedup_key"], "escucha:interjet:x:1799");
        assert_eq!(t[0]["payload"]["severity"], "critical");
        assert_eq!(t[0]["payload"]["source"], "escucha");
        assert_eq!(t[0]["links"][1]["href"], "https://e.example.com/ack/ab.cd");
        let r = pagerduty(&msg(&it, Event::Resolve), "RK");
        assert_eq!(r[0], json!({"routing_key": "RK", "event_action": "resolve", "dedup_key": "escucha:interjet:x:1799"}));
        let c = items(Class::Complaint);
        assert_eq!(pagerduty(&msg(&c, Event::Alert), "RK")[0]["payload"]["severity"], "warning");
    }

    #[test]
    fn json_webhook_signs_the_exact_body_and_carries_the_outbox_id() {
        let it = items(Class::Complaint);
        let mut h = hook("json", "https://hooks.example/escucha");
        h.secret = Some(Secret::new("s3cret"));
        let out = requests(&h, &msg(&it, Event::Alert)).unwrap();
        let r = &out[0];
        let header = |k: &str| r.headers.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        assert_eq!(header("Idempotency-Key").as_deref(), Some("17"));
        assert_eq!(header("X-Escucha-Signature"), Some(signature(&r.body, b"s3cret")));
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!((v["version"].as_u64(), v["event"].as_str(), v["id"].as_i64()), (Some(1), Some("alert"), Some(17)));
        assert_eq!(v["mentions"][0]["ack_url"], "https://e.example.com/ack/ab.cd");
        assert_eq!(v["mentions"][0]["not_complaint_url"], "https://e.example.com/not-a-complaint/ef.01");
        assert_eq!(v["mentions"][0]["corrected_by"], Value::Null);
        assert_eq!(v["mentions"][0]["status"], "open");
    }

    #[test]
    fn statuses_sort_into_retry_and_never() {
        for s in [408, 429, 500, 502, 503] {
            assert!(matches!(classify(s, String::new()), NotifyError::Retryable(_)), "{s}");
        }
        for s in [400, 401, 403, 404, 410, 413] {
            assert!(matches!(classify(s, String::new()), NotifyError::Rejected(_)), "{s}");
        }
    }

    #[test]
    fn a_health_notice_carries_its_text_and_gives_pagerduty_nothing() {
        let mut m = msg(&[], Event::Notice);
        m.title = "[escucha] source x is not working";
        m.text = "since 10:00 UTC: 401 Unauthorized. Check the bearer token.";
        let out = requests(&hook("slack", "https://hooks.slack.com/services/T/B/X"), &m).unwrap();
        let v: Value = serde_json::from_slice(&out[0].body).unwrap();
        assert!(v["blocks"][1]["text"]["text"].as_str().unwrap().contains("401 Unauthorized"), "{v}");
        let j: Value = serde_json::from_slice(&requests(&hook("json", "https://h.example/"), &m).unwrap()[0].body).unwrap();
        assert_eq!((j["event"].as_str(), j["text"].as_str()), (Some("notice"), Some(m.text)));
        let mut pd = hook("pagerduty", "https://events.pagerduty.com/v2/enqueue");
        pd.routing_key = Some(Secret::new("RK"));
        assert!(requests(&pd, &m).unwrap().is_empty());
    }

    #[test]
    fn long_texts_are_clipped_to_the_services_limits() {
        let mut it = items(Class::Complaint);
        it[0].mention.text = "a".repeat(5000);
        let v = discord(&msg(&it, Event::Alert));
        assert_eq!(v["embeds"][0]["description"].as_str().unwrap().chars().count(), 4096);
    }

    #[test]
    fn chat_messages_speak_the_daemons_language() {
        let it = items(Class::Complaint);
        let mut m = msg(&it, Event::Alert);
        m.lang = Language::Es;
        let s = slack(&m);
        let labels: Vec<&str> = s["blocks"][2]["elements"].as_array().unwrap().iter().map(|b| b["text"]["text"].as_str().unwrap()).collect();
        assert_eq!(labels, ["Lo atiendo", "Abrir publicación", "No es una queja", "Abrir en escucha"]);
        assert!(s["blocks"][1]["text"]["text"].as_str().unwrap().contains("*Queja*"));
        let d = discord(&m);
        assert!(d["embeds"][0]["fields"][4]["value"].as_str().unwrap().contains("[Lo atiendo](https://e.example.com/ack/ab.cd)"));
        let t = teams(&m);
        assert!(t.to_string().contains("\"title\":\"Lo atiendo\""), "{t}");
    }

    #[test]
    fn a_review_shows_its_stars_in_chat() {
        let mut it = items(Class::Complaint);
        it[0].mention.rating = Some(1);
        let m = msg(&it, Event::Alert);
        assert!(slack(&m)["blocks"][1]["text"]["text"].as_str().unwrap().contains("★☆☆☆☆ 1/5"));
        assert!(discord(&m)["embeds"][0]["fields"].as_array().unwrap().iter().any(|f| f["name"] == "Rating" && f["value"] == "★☆☆☆☆ 1/5"));
        assert!(teams(&m).to_string().contains("★☆☆☆☆ 1/5"));
    }

    #[test]
    fn a_discord_link_cannot_be_closed_early_by_the_url() {
        let mut it = items(Class::Complaint);
        it[0].mention.url = "https://x.com/a)[pwned](https://evil.example/ x".into();
        let v = discord(&msg(&it, Event::Alert));
        let how = v["embeds"][0]["fields"].as_array().unwrap().iter().find(|f| f["name"] == "Acknowledge").unwrap()["value"].as_str().unwrap().to_string();
        assert!(how.contains("[Open post](https://x.com/a%29[pwned]%28https://evil.example/%20x)"), "{how}");
    }
}
