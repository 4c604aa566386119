//! The alert loop: page what is due (outbox first), deliver what is pending,
//! then sleep until the next deadline. A row is marked sent only after the
//! server accepted it; failures are retried with capped, jittered backoff, so
//! after an outage pending alerts go out within a minute.

use super::email::{Mailer, NotifyError};
use super::plan::{self, LOG_RECIPIENT};
use super::render::{render_alert, AckHow, AlertContext, Rendered};
use super::webhook::{self, Event, Item, Message, Webhooks};
use super::{digest, hours, oncall, silence};
use crate::clock::Clock;
use crate::config::Config;
use crate::metrics;
use crate::model::{Mention, Status};
use crate::store::{Notice, OutboxKind, OutboxRow, Queue, Store};
use crate::systemd::Heartbeat;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

/// Retries back off up to this; keep it well under the 60 s promise of
/// DESIGN.md ("pending alerts go out within 60 s after an outage ends").
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);

/// The loop never sleeps longer than this, so that a database changed by
/// another process (`escucha ack`) or a clock jump is noticed.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// With several daemons on one database, how often the paging daemon looks
/// for deadlines set by the others.
const SHARED_RECHECK: Duration = Duration::from_secs(2);

/// How soon the loop looks again while a silence is in force.
const SILENCE_RECHECK: Duration = Duration::from_secs(2);

/// `escucha correct` (another process) may turn a mention into an overdue
/// complaint at any moment. Every correction stores a label, so while the
/// loop sleeps it reads the labels' version this often (one cheap query)
/// and looks again when it moved.
const CORRECTION_RECHECK: Duration = Duration::from_secs(2);

/// After the database refused a write, the loop looks again this soon (not
/// at once: a due page that cannot be queued would otherwise spin).
const STORE_RETRY: Duration = Duration::from_secs(2);

pub struct Alerter {
    store: Arc<Store>,
    cfg: Arc<Config>,
    mailer: Option<Mailer>,
    webhooks: Webhooks,
    clock: Arc<dyn Clock>,
    /// Rows the channel accepted while the database could not record it
    /// (locked, disk full), with when: never sent again, recorded as soon as
    /// the database takes writes. Lost only if the process dies first (the
    /// documented at-least-once window).
    unrecorded: std::sync::Mutex<Vec<(Queue, i64, DateTime<Utc>)>>,
    /// Cancelled when this daemon loses the alerts lease (several daemons
    /// on one database): no row is sent after that.
    lease: std::sync::Mutex<Option<CancellationToken>>,
}

/// Delay before retry number `attempt` (1-based): 1 s, 2 s, 4 s ... capped,
/// with ±20 % jitter so that many rows do not retry in lockstep.
pub fn retry_delay(attempt: u32) -> Duration {
    let base = Duration::from_secs(1u64 << attempt.saturating_sub(1).min(16)).min(MAX_RETRY_DELAY);
    base.mul_f64(0.8 + fastrand::f64() * 0.4).min(MAX_RETRY_DELAY)
}

impl Alerter {
    pub fn new(store: Arc<Store>, cfg: Arc<Config>, clock: Arc<dyn Clock>) -> anyhow::Result<Alerter> {
        let mailer = match &cfg.smtp {
            Some(s) => Some(Mailer::new(s)?),
            None => None,
        };
        Ok(Alerter { store, cfg, mailer, webhooks: Webhooks::new()?, clock, unrecorded: Default::default(), lease: Default::default() })
    }

    /// Writes the pages due now to the outbox. Returns how many messages.
    pub fn page_due(&self) -> anyhow::Result<usize> {
        let now = self.clock.now();
        let due = self.store.due(now)?;
        if due.is_empty() {
            return Ok(0);
        }
        // Silenced mentions are recorded as held until the silence ends,
        // then they are due again and go out together.
        let (due, held) = silence::partition(due, &self.store.active_silences(now)?, now);
        if !held.is_empty() {
            self.store.hold(&held)?;
            for (mention, silence, until) in &held {
                info!(mention, silence, until = %until.to_rfc3339(), "alert silenced; held until the silence ends");
            }
        }
        if due.is_empty() {
            return Ok(0);
        }
        let (pages, paged) = plan::plan(&due, &self.cfg, now);
        self.store.enqueue_pages_grouped(&pages, &paged, now, self.cfg.daemon.group_wait)?;
        for p in &pages {
            match p.not_before {
                Some(t) if t > now => {
                    info!(recipient = %p.recipient, brand = %p.brand, mentions = p.mention_ids.len(), step = p.step, at = %t.to_rfc3339(), "alert queued for the end of the recipient's quiet hours")
                }
                _ => info!(recipient = %p.recipient, brand = %p.brand, mentions = p.mention_ids.len(), step = p.step, "alert queued"),
            }
        }
        Ok(pages.len())
    }

    /// Once per start (and reload): deadlines follow the current business
    /// hours, and rotas with uncovered minutes are reported.
    fn on_start(&self) {
        match hours::reschedule(&self.store, &self.cfg) {
            Ok(0) => {}
            Ok(n) => info!(mentions = n, "deadlines recomputed from the brands' thresholds and business hours"),
            Err(e) => error!(error = %e, "could not apply the brands' business hours to open complaints"),
        }
        let now = self.clock.now();
        for r in &self.cfg.oncall {
            let gaps = oncall::uncovered(r, now, self.cfg.daemon.timezone);
            if let Some((from, to)) = gaps.first() {
                let fallback = r.shifts.last().map(|s| s.notify.join(", ")).unwrap_or_default();
                warn!(rota = %r.id, gaps = gaps.len(), first_from = %from.to_rfc3339(), first_to = %to.to_rfc3339(), fallback = %fallback,
                    "some minutes of the week are covered by no shift; pages then go to the last shift (see `escucha check`)");
            }
        }
    }

    /// Enqueues the digest if its fire time has come. Returns the next one.
    fn digest_tick(&self, next: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
        let d = self.cfg.digest.as_ref()?;
        let now = self.clock.now();
        let fire = next?;
        if now < fire {
            return Some(fire);
        }
        match digest::fire(&self.store, &self.cfg, fire, now) {
            Ok(true) => info!(fire = %fire.to_rfc3339(), recipients = d.to.len(), "digest queued"),
            Ok(false) => debug!(fire = %fire.to_rfc3339(), "digest already sent for this fire time"),
            Err(e) => {
                error!(error = %e, "could not build the digest; retrying shortly");
                return Some(fire);
            }
        }
        digest::next_fire(d, now)
    }

    /// Tries every outbox row whose time has come. Returns how many were sent.
    pub async fn deliver_pending(&self) -> anyhow::Result<usize> {
        let now = self.clock.now();
        let unrecorded = self.record_unrecorded();
        let rows = self.store.pending_outbox(now)?.into_iter().filter(|r| !unrecorded.contains(&(Queue::Outbox, r.id)));
        let mut sent = 0;
        let mut failing = std::collections::HashSet::new();
        for row in rows {
            if self.lease_lost() {
                break;
            }
            // Keep each recipient's alerts in due order: once one fails, its
            // later rows wait and go out behind it (see `pending_outbox`).
            if failing.contains(&row.recipient) {
                continue;
            }
            if self.deliver(&row).await? {
                sent += 1;
            } else if self.store.outbox_pending(row.id)? {
                failing.insert(row.recipient.clone());
            }
        }
        for notice in self.store.pending_notices(now)?.into_iter().filter(|n| !unrecorded.contains(&(Queue::Notices, n.id))) {
            if self.lease_lost() {
                break;
            }
            if self.deliver_notice(&notice).await? {
                sent += 1;
            }
        }
        Ok(sent)
    }

    fn lease_lost(&self) -> bool {
        self.lease.lock().unwrap_or_else(|e| e.into_inner()).as_ref().is_some_and(|t| t.is_cancelled())
    }

    /// Records the rows sent while the database could not; returns those it
    /// still cannot (they must not be sent again meanwhile).
    fn record_unrecorded(&self) -> Vec<(Queue, i64)> {
        let mut list = self.unrecorded.lock().unwrap_or_else(|e| e.into_inner());
        let mut first_error = None;
        list.retain(|(q, id, at)| match self.store.delivered(*q, *id, *at) {
            Ok(()) => false,
            Err(e) => {
                first_error.get_or_insert(e);
                true
            }
        });
        if let (Some(e), false) = (first_error, list.is_empty()) {
            debug!(rows = list.len(), error = %e, "sent alerts still not recorded");
        }
        list.iter().map(|(q, id, _)| (*q, *id)).collect()
    }

    /// How `recipient` acknowledges `m`: the command always, and a signed
    /// link when the daemon serves them (`http`, `public_url`, `ack_secret`).
    /// Links expire 7 days after the row was queued, so a retry carries the
    /// very same link (and a `json` retry the very same body).
    /// Beside it, signed the same way, the "not a complaint" link, and the
    /// mention's page in the web inbox when that is on.
    fn ack_how(&self, m: &Mention, recipient: &str, queued: DateTime<Utc>) -> AckHow {
        use crate::ack::{self, Purpose};
        let d = &self.cfg.daemon;
        let (link, not_complaint) = match (&d.http, &d.public_url, &d.ack_secret) {
            (Some(_), Some(base), Some(key)) => {
                let token = |p| ack::token_for(p, m.id, recipient, queued + ack::VALIDITY, key.expose().as_bytes());
                let not_complaint = m.class.needs_answer().then(|| ack::not_complaint_link(base, &token(Purpose::NotComplaint)));
                (Some(ack::link(base, &token(Purpose::Ack))), not_complaint)
            }
            _ => (None, None),
        };
        AckHow { command: format!("escucha ack {}", m.id), link, not_complaint, inbox: super::inbox_link(&self.cfg, m.id) }
    }

    /// Sends a message rendered at enqueue time (source health notices).
    async fn deliver_notice(&self, n: &Notice) -> anyhow::Result<bool> {
        let now = self.clock.now();
        let rendered = Rendered { subject: n.subject.clone(), text: n.text.clone(), html: n.html.clone() };
        let started = std::time::Instant::now();
        let result = match self.route(&n.recipient) {
            Route::Log => {
                warn!(notice = n.id, recipient = %n.recipient, subject = %n.subject, "NOTICE (no email configured)\n{}", n.text);
                Ok(())
            }
            Route::Webhook(id) => {
                let out = Outbound { id: n.id, kind: Event::Notice, brand: "" };
                self.send_webhook(id, &out, "", &n.subject, &[], &n.text, now).await
            }
            Route::Email(mailer) => mailer.send(&n.recipient, &rendered, &format!("escucha-notice-{}", n.id)).await,
        };
        metrics::global().observe("escucha_delivery_duration_seconds", &channel(&n.recipient), started.elapsed().as_secs_f64());
        let sent = Attempt { queue: Queue::Notices, id: n.id, attempts: n.attempts, recipient: &n.recipient, what: "notice", subject: &n.subject };
        self.settle(&sent, result)
    }

    /// `escucha test-alert`: one test message to `to` (an address, or
    /// `webhook:<id>`) through the channel the config routes it to. Says
    /// where it went, or why it did not.
    pub async fn send_test(&self, to: &str) -> Result<String, String> {
        let now = self.clock.now();
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
        let subject = "escucha: test alert".to_string();
        let text = format!(
            "A test alert from escucha on {host}, sent {}. No complaint is waiting; this is what a page looks like when it reaches you.",
            now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        // Below the note, an example page as this recipient would get it:
        // their language, their time zone, the configured templates.
        let (lang, tz) = super::reader(&self.cfg, to);
        let example = render_alert(
            &super::render::sample_mentions(now),
            &AlertContext { brand_name: "Interjet", now, ack: &super::render::sample_ack, pending: 0, lang, tz, templates: &self.cfg.daemon.templates },
        );
        let note = format!("<p style=\"font-family:sans-serif;font-weight:bold\">{} Below, an example page (not a real complaint: its buttons lead to escucha.example.com).</p>", super::render::escape_html(&text));
        let html = match example.html.find("<body").and_then(|b| example.html[b..].find('>').map(|e| b + e + 1)) {
            Some(at) => format!("{}\n{note}{}", &example.html[..at], &example.html[at..]),
            None => format!("{note}{}", example.html),
        };
        let mail_text = format!("{text}\n\nBelow, an example page (not a real complaint: its buttons lead to escucha.example.com).\n\n{}", example.text);
        let sent = match self.route(to) {
            Route::Log => return Err(format!("{to}: no [smtp] section, so alerts to addresses only go to the log")),
            Route::Webhook(id) => {
                let out = Outbound { id: now.timestamp_millis(), kind: Event::Notice, brand: "" };
                self.send_webhook(id, &out, "", &subject, &[], &text, now).await.map(|()| format!("webhook {id} accepted the test alert"))
            }
            Route::Email(mailer) => mailer
                .send(to, &Rendered { subject: subject.clone(), text: mail_text, html }, &format!("escucha-test-{}", now.timestamp_millis()))
                .await
                .map(|()| format!("the SMTP server accepted the test alert for {to}")),
        };
        sent.map_err(|e| e.to_string())
    }

    /// Where a message to `recipient` goes: the log (no rota, or no
    /// `[smtp]` for an email address), a webhook, or email.
    fn route<'a>(&'a self, recipient: &'a str) -> Route<'a> {
        if let Some(id) = recipient.strip_prefix("webhook:") {
            return Route::Webhook(id);
        }
        match (&self.mailer, recipient == LOG_RECIPIENT) {
            (Some(mailer), false) => Route::Email(mailer),
            _ => Route::Log,
        }
    }

    /// Records the outcome of one delivery attempt, the same way for both
    /// queues: sent, retried with backoff, or dead-lettered.
    fn settle(&self, a: &Attempt<'_>, result: Result<(), NotifyError>) -> anyhow::Result<bool> {
        let now = self.clock.now();
        let channel = channel(a.recipient);
        match result {
            Ok(()) => {
                metrics::global().inc("escucha_alerts_sent_total", &channel);
                info!(id = a.id, recipient = %a.recipient, subject = %a.subject, "{} sent", a.what);
                if let Err(e) = self.store.delivered(a.queue, a.id, now) {
                    // Sent is sent: sending again would page twice.
                    error!(id = a.id, recipient = %a.recipient, error = %e, "{} sent but not recorded; it will not be sent again, and is recorded once the database takes writes", a.what);
                    self.unrecorded.lock().unwrap_or_else(|e| e.into_inner()).push((a.queue, a.id, now));
                }
                Ok(true)
            }
            Err(NotifyError::Retryable(e)) => {
                let delay = retry_delay(a.attempts + 1);
                let at = now + chrono::Duration::from_std(delay).unwrap_or_default();
                metrics::global().inc("escucha_alerts_failed_total", &channel);
                warn!(id = a.id, recipient = %a.recipient, attempt = a.attempts + 1, error = %e, retry_in = ?delay, "{} delivery failed; will retry", a.what);
                self.store.retry(a.queue, a.id, &e, at)?;
                Ok(false)
            }
            Err(NotifyError::Rejected(e)) => {
                metrics::global().inc("escucha_alerts_dead_lettered_total", &channel);
                error!(id = a.id, recipient = %a.recipient, error = %e, "{} rejected and will not be retried; fix the recipient or the channel", a.what);
                self.store.dead(a.queue, a.id, &e)?;
                Ok(false)
            }
        }
    }

    async fn deliver(&self, row: &OutboxRow) -> anyhow::Result<bool> {
        let started = std::time::Instant::now();
        let (result, subject) = match row.kind {
            OutboxKind::Alert => match self.alert(row).await? {
                Some(r) => r,
                None => return Ok(false),
            },
            OutboxKind::Ack | OutboxKind::Resolve => match self.notice(row).await? {
                Some(r) => r,
                None => return Ok(false),
            },
        };
        metrics::global().observe("escucha_delivery_duration_seconds", &channel(&row.recipient), started.elapsed().as_secs_f64());
        let attempt = Attempt { queue: Queue::Outbox, id: row.id, attempts: row.attempts, recipient: &row.recipient, what: "alert", subject: &subject };
        self.settle(&attempt, result)
    }

    /// Delivers a page. None: nothing left to say (all its mentions were
    /// answered or acknowledged while it waited).
    async fn alert(&self, row: &OutboxRow) -> anyhow::Result<Option<(Result<(), NotifyError>, String)>> {
        let mentions: Vec<Mention> = self.store.mentions_by_ids(&row.mention_ids)?.into_iter().filter(|m| m.status == Status::Open).collect();
        if mentions.is_empty() {
            debug!(outbox = row.id, "alert no longer needed; resolved");
            self.store.outbox_resolved(row.id)?;
            return Ok(None);
        }
        let now = self.clock.now();
        let brand_name = self.brand_name(&row.brand);
        let ack = |m: &Mention| self.ack_how(m, &row.recipient, row.created_at);
        let open = self.store.open_complaints(&row.brand)? as usize;
        let pending = open.saturating_sub(mentions.iter().filter(|m| m.class.needs_answer()).count());
        let (lang, tz) = super::reader(&self.cfg, &row.recipient);
        // The context borrows a closure that is not Sync: render before any await.
        let rendered =
            render_alert(&mentions, &AlertContext { brand_name: &brand_name, now, ack: &ack, pending, lang, tz, templates: &self.cfg.daemon.templates });
        let result = match self.route(&row.recipient) {
            Route::Log => {
                log_alert(row, &rendered);
                Ok(())
            }
            Route::Webhook(id) => {
                let items: Vec<Item> = mentions.into_iter().map(|m| Item { ack: ack(&m), mention: m }).collect();
                let out = Outbound { id: row.id, kind: Event::Alert, brand: &row.brand };
                self.send_webhook(id, &out, &brand_name, &rendered.subject, &items, "", now).await
            }
            Route::Email(mailer) => mailer.send(&row.recipient, &rendered, &format!("escucha-outbox-{}", row.id)).await,
        };
        Ok(Some((result, rendered.subject)))
    }

    /// Delivers an ack or resolve notice, if the channel wants it:
    /// PagerDuty always, other webhooks with `send_resolved`, email never,
    /// and only about mentions this channel was actually paged about.
    async fn notice(&self, row: &OutboxRow) -> anyhow::Result<Option<(Result<(), NotifyError>, String)>> {
        let hook = row.recipient.strip_prefix("webhook:").and_then(|id| self.cfg.webhooks.iter().find(|w| w.id == id));
        let wanted = hook.is_some_and(|h| h.kind == crate::config::WebhookKind::PagerDuty || h.send_resolved);
        let mut mentions = Vec::new();
        if wanted {
            for m in self.store.mentions_by_ids(&row.mention_ids)? {
                if self.store.alert_delivered(&row.recipient, m.id)? {
                    mentions.push(m);
                }
            }
        }
        let Some(hook) = hook.filter(|_| !mentions.is_empty()) else {
            debug!(outbox = row.id, kind = row.kind.as_str(), recipient = %row.recipient, "notice not wanted by this channel; skipped");
            self.store.outbox_resolved(row.id)?;
            return Ok(None);
        };
        let now = self.clock.now();
        let brand_name = self.brand_name(&row.brand);
        let items: Vec<Item> =
            mentions.into_iter().map(|m| Item { ack: AckHow { command: format!("escucha ack {}", m.id), ..Default::default() }, mention: m }).collect();
        let title = webhook::notice_title(row.kind.into(), &brand_name, &items);
        let out = Outbound { id: row.id, kind: row.kind.into(), brand: &row.brand };
        let result = self.send_webhook(&hook.id, &out, &brand_name, &title, &items, "", now).await;
        Ok(Some((result, title)))
    }

    #[allow(clippy::too_many_arguments)]
    async fn send_webhook(
        &self,
        id: &str,
        out: &Outbound<'_>,
        brand_name: &str,
        title: &str,
        items: &[Item],
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<(), NotifyError> {
        let Some(hook) = self.cfg.webhooks.iter().find(|w| w.id == id) else {
            return Err(NotifyError::Rejected(format!("webhook {id} is not in the config (removed by a reload?)")));
        };
        if items.is_empty() && out.kind == Event::Notice && hook.kind == crate::config::WebhookKind::PagerDuty {
            // PagerDuty incidents are about mentions; escucha's own health
            // is for /healthz and the other channels.
            debug!(notice = out.id, webhook = %hook.id, "health notices are not sent to PagerDuty");
            return Ok(());
        }
        let msg = Message { outbox_id: out.id, event: out.kind, brand_id: out.brand, brand_name, title, items, text, now, lang: self.cfg.daemon.language };
        let reqs = webhook::requests(hook, &msg).map_err(NotifyError::Rejected)?;
        self.webhooks.send(hook, &reqs).await
    }

    /// Returns once the labels' version differs from `seen` (checked every
    /// [`CORRECTION_RECHECK`]); never while the database cannot be read.
    async fn labels_moved(&self, seen: Option<(u64, i64)>) {
        loop {
            tokio::time::sleep(CORRECTION_RECHECK).await;
            if let (Ok(now), Some(seen)) = (self.store.labels_version(), seen) {
                if now != seen {
                    debug!(labels = now.0, "labels changed (a correction?); looking for due alerts");
                    return;
                }
            }
        }
    }

    fn brand_name(&self, brand: &str) -> String {
        self.cfg.brand(brand).map(|b| b.name.clone()).unwrap_or_else(|| brand.to_string())
    }

    /// Pages and delivers until cancelled, sleeping until the next deadline
    /// or until `wake` says new mentions arrived.
    pub async fn run(&self, wake: Arc<Notify>, hb: Arc<Heartbeat>, cancel: CancellationToken) {
        *self.lease.lock().unwrap_or_else(|e| e.into_inner()) = Some(cancel.clone());
        // Fire times missed while the daemon was down are skipped: the next
        // digest is the first one after now, and covers the time since the
        // previous one sent (or since the very first start).
        let mut next_digest = self.cfg.digest.as_ref().and_then(|d| {
            if let Err(e) = self.store.digest_last_fire(digest::KEY, self.clock.now()) {
                error!(error = %e, "could not read the digest state");
            }
            digest::next_fire(d, self.clock.now())
        });
        self.on_start();
        loop {
            // Read before paging: a correction committed while this round
            // runs moves it, and the sleep below ends at once.
            let labels = self.store.labels_version().ok();
            // Deliveries are bounded by the SMTP timeout per row.
            hb.beat(self.clock.now(), Duration::from_secs(600));
            next_digest = self.digest_tick(next_digest);
            let mut failed = false;
            if let Err(e) = self.page_due() {
                failed = true;
                log_failure(&e, "could not queue due alerts; retrying");
            }
            if let Err(e) = self.deliver_pending().await {
                failed = true;
                log_failure(&e, "could not deliver alerts; retrying");
            }
            let digest_in = next_digest.map_or(MAX_SLEEP, |at| until(at, self.clock.now()));
            let sleep = match self.store.next_wakeup() {
                Ok(Some(at)) => until(at, self.clock.now()).min(digest_in),
                Ok(None) => digest_in,
                Err(e) => {
                    error!(error = %e, "could not read the next deadline");
                    Duration::from_secs(5)
                }
            };
            // `escucha unsilence` (another process) may release held alerts
            // at any moment: look again soon while a silence is in force.
            let sleep = match self.store.active_silences(self.clock.now()) {
                Ok(s) if !s.is_empty() => sleep.min(SILENCE_RECHECK),
                _ => sleep,
            };
            // What failed is due again at once: look again soon, not in a loop.
            let sleep = if failed { sleep.max(STORE_RETRY) } else { sleep };
            // Other daemons on the database store mentions without waking
            // this loop: look at their deadlines often.
            let sleep = if self.store.backend() == crate::store::Backend::Postgres { sleep.min(SHARED_RECHECK) } else { sleep };
            hb.beat(self.clock.now(), sleep.min(MAX_SLEEP) + Duration::from_secs(60));
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = wake.notified() => {}
                _ = tokio::time::sleep(sleep.min(MAX_SLEEP)) => {}
                _ = self.labels_moved(labels) => {}
            }
        }
    }
}

/// The row a webhook message comes from: its id (the `json` kind's
/// `Idempotency-Key`), what it announces and the brand it is about.
struct Outbound<'a> {
    id: i64,
    kind: Event,
    brand: &'a str,
}

/// The `channel` label of the delivery metrics: `email`, `log` or the
/// recipient `webhook:<id>`.
/// Where one message goes.
enum Route<'a> {
    Log,
    Webhook(&'a str),
    Email(&'a Mailer),
}

/// One delivery attempt, as `settle` records it.
struct Attempt<'a> {
    queue: Queue,
    id: i64,
    attempts: u32,
    recipient: &'a str,
    /// "alert" or "notice", for the log lines.
    what: &'a str,
    subject: &'a str,
}

/// The channels this config delivers on, as the delivery metrics label
/// them: each webhook, and email (or the log without `[smtp]`).
pub fn channels(cfg: &Config) -> Vec<String> {
    let mut out: Vec<String> = cfg.webhooks.iter().map(|w| format!("webhook:{}", w.id)).collect();
    out.push(if cfg.smtp.is_some() { "email".into() } else { "log".into() });
    out
}

fn channel(recipient: &str) -> String {
    if recipient == LOG_RECIPIENT {
        "log".into()
    } else if recipient.starts_with("webhook:") {
        recipient.to_string()
    } else {
        "email".into()
    }
}

/// A database that takes no writes is logged by the store at ERROR when it
/// starts and at INFO when it ends; retrying every couple of seconds must not
/// repeat that in between.
fn log_failure(e: &anyhow::Error, what: &str) {
    match e.downcast_ref::<crate::store::StoreError>() {
        Some(s) if s.is_unavailable() => debug!(error = %s, "{what}"),
        _ => error!(error = %format!("{e:#}"), "{what}"),
    }
}

fn until(at: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (at - now).to_std().unwrap_or(Duration::ZERO)
}

/// Without `[smtp]` (or for brands without a rota) alerts go to the log, in
/// full, at WARN: somebody must read them.
fn log_alert(row: &OutboxRow, r: &Rendered) {
    warn!(outbox = row.id, recipient = %row.recipient, subject = %r.subject, "ALERT (no email configured)\n{}", r.text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_grow_and_stay_under_the_cap() {
        assert!(retry_delay(1) <= Duration::from_millis(1200));
        assert!(retry_delay(3) >= Duration::from_millis(3200));
        for a in 1..40 {
            assert!(retry_delay(a) <= MAX_RETRY_DELAY);
        }
    }
}
