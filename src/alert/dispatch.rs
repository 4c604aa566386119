//! The alert loop: page what is due (outbox first), deliver what is pending,
//! then sleep until the next deadline. A row is marked sent only after the
//! server accepted it; failures are retried with capped, jittered backoff, so
//! after an outage pending alerts go out within a minute.

use super::email::{Mailer, NotifyError};
use super::plan::{self, LOG_RECIPIENT};
use super::render::{render_alert, AckHow, AlertContext, Rendered};
use crate::clock::Clock;
use crate::config::Config;
use crate::model::{Mention, Status};
use crate::store::{Notice, OutboxRow, Store};
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

pub struct Alerter {
    store: Arc<Store>,
    cfg: Arc<Config>,
    mailer: Option<Mailer>,
    clock: Arc<dyn Clock>,
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
        Ok(Alerter { store, cfg, mailer, clock })
    }

    /// Writes the pages due now to the outbox. Returns how many messages.
    pub fn page_due(&self) -> anyhow::Result<usize> {
        let now = self.clock.now();
        let due = self.store.due(now)?;
        if due.is_empty() {
            return Ok(0);
        }
        let (pages, paged) = plan::plan(&due, &self.cfg, now);
        self.store.enqueue_pages(&pages, &paged, now)?;
        for p in &pages {
            info!(recipient = %p.recipient, brand = %p.brand, mentions = p.mention_ids.len(), step = p.step, "alert queued");
        }
        Ok(pages.len())
    }

    /// Tries every outbox row whose time has come. Returns how many were sent.
    pub async fn deliver_pending(&self) -> anyhow::Result<usize> {
        let now = self.clock.now();
        let rows = self.store.pending_outbox(now)?;
        let mut sent = 0;
        let mut failing = std::collections::HashSet::new();
        for row in rows {
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
        for notice in self.store.pending_notices(now)? {
            if self.deliver_notice(&notice).await? {
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// Sends a message rendered at enqueue time (source health notices).
    async fn deliver_notice(&self, n: &Notice) -> anyhow::Result<bool> {
        let rendered = Rendered { subject: n.subject.clone(), text: n.text.clone(), html: n.html.clone() };
        let result = if n.recipient == LOG_RECIPIENT || (self.mailer.is_none() && !n.recipient.starts_with("webhook:")) {
            warn!(notice = n.id, recipient = %n.recipient, subject = %n.subject, "NOTICE (no email configured)\n{}", n.text);
            Ok(())
        } else if let Some(id) = n.recipient.strip_prefix("webhook:") {
            Err(NotifyError::Rejected(format!("webhook {id}: webhook delivery is not available in this version of escucha")))
        } else {
            let mailer = self.mailer.as_ref().expect("checked above");
            mailer.send(&n.recipient, &rendered, &format!("escucha-notice-{}", n.id)).await
        };
        let now = self.clock.now();
        match result {
            Ok(()) => {
                self.store.notice_sent(n.id, now)?;
                info!(notice = n.id, recipient = %n.recipient, subject = %n.subject, "notice sent");
                Ok(true)
            }
            Err(NotifyError::Retryable(e)) => {
                let delay = retry_delay(n.attempts + 1);
                warn!(notice = n.id, recipient = %n.recipient, error = %e, retry_in = ?delay, "notice delivery failed; will retry");
                self.store.notice_retry(n.id, &e, now + chrono::Duration::from_std(delay).unwrap_or_default())?;
                Ok(false)
            }
            Err(NotifyError::Rejected(e)) => {
                error!(notice = n.id, recipient = %n.recipient, error = %e, "notice rejected and will not be retried");
                self.store.notice_dead(n.id, &e)?;
                Ok(false)
            }
        }
    }

    async fn deliver(&self, row: &OutboxRow) -> anyhow::Result<bool> {
        let mentions: Vec<Mention> =
            self.store.mentions_by_ids(&row.mention_ids)?.into_iter().filter(|m| m.status == Status::Open).collect();
        if mentions.is_empty() {
            // Answered or acknowledged while waiting: nothing left to say.
            debug!(outbox = row.id, "alert no longer needed; resolved");
            self.store.outbox_resolved(row.id)?;
            return Ok(false);
        }
        let now = self.clock.now();
        let brand_name = self.cfg.brand(&row.brand).map(|b| b.name.clone()).unwrap_or_else(|| row.brand.clone());
        let ack = |m: &Mention| AckHow { command: format!("escucha ack {}", m.id), link: None };
        let rendered = render_alert(&mentions, &AlertContext { brand_name: &brand_name, now, ack: &ack });
        let result = if row.recipient == LOG_RECIPIENT || (self.mailer.is_none() && !row.recipient.starts_with("webhook:")) {
            log_alert(row, &rendered);
            Ok(())
        } else if let Some(id) = row.recipient.strip_prefix("webhook:") {
            Err(NotifyError::Rejected(format!("webhook {id}: webhook delivery is not available in this version of escucha")))
        } else {
            let mailer = self.mailer.as_ref().expect("checked above");
            mailer.send(&row.recipient, &rendered, &format!("escucha-outbox-{}", row.id)).await
        };
        let now = self.clock.now();
        match result {
            Ok(()) => {
                self.store.outbox_sent(row.id, now)?;
                info!(outbox = row.id, recipient = %row.recipient, subject = %rendered.subject, "alert sent");
                Ok(true)
            }
            Err(NotifyError::Retryable(e)) => {
                let delay = retry_delay(row.attempts + 1);
                let at = now + chrono::Duration::from_std(delay).unwrap_or_default();
                warn!(outbox = row.id, recipient = %row.recipient, attempt = row.attempts + 1, error = %e, retry_in = ?delay, "alert delivery failed; will retry");
                self.store.outbox_retry(row.id, &e, at)?;
                Ok(false)
            }
            Err(NotifyError::Rejected(e)) => {
                error!(outbox = row.id, recipient = %row.recipient, error = %e, "alert rejected and will not be retried; fix the recipient or the channel");
                self.store.outbox_dead(row.id, &e)?;
                Ok(false)
            }
        }
    }

    /// Pages and delivers until cancelled, sleeping until the next deadline
    /// or until `wake` says new mentions arrived.
    pub async fn run(self, wake: Arc<Notify>, hb: Arc<Heartbeat>, cancel: CancellationToken) {
        loop {
            // Deliveries are bounded by the SMTP timeout per row.
            hb.beat(self.clock.now(), Duration::from_secs(600));
            if let Err(e) = self.page_due() {
                error!(error = %format!("{e:#}"), "could not queue due alerts");
            }
            if let Err(e) = self.deliver_pending().await {
                error!(error = %format!("{e:#}"), "could not deliver alerts");
            }
            let sleep = match self.store.next_wakeup() {
                Ok(Some(at)) => until(at, self.clock.now()),
                Ok(None) => MAX_SLEEP,
                Err(e) => {
                    error!(error = %e, "could not read the next deadline");
                    Duration::from_secs(5)
                }
            };
            hb.beat(self.clock.now(), sleep.min(MAX_SLEEP) + Duration::from_secs(60));
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = wake.notified() => {}
                _ = tokio::time::sleep(sleep.min(MAX_SLEEP)) => {}
            }
        }
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
