//! What to page now: a pure function of the due mentions, the config and the
//! clock. It decides recipients (on-duty shift, then the `then` chain),
//! groups mentions per recipient and brand into one message, and says when
//! each mention's next chain step falls due.

use super::oncall;
use crate::config::{Config, Rota};
use crate::store::{Due, PagedMention, PlannedPage};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Pages go to the log when a brand has no rota (or the rota pages nobody):
/// an alert is never silently dropped.
pub const LOG_RECIPIENT: &str = "log:";

/// Plans the pages for `due` at `now`.
pub fn plan(due: &[Due], cfg: &Config, now: DateTime<Utc>) -> (Vec<PlannedPage>, Vec<PagedMention>) {
    // BTreeMap: messages come out in a stable order.
    let mut groups: BTreeMap<(String, String), (u32, Vec<i64>)> = BTreeMap::new();
    let mut paged = Vec::new();
    for d in due {
        let m = &d.mention;
        let rota = cfg.brand(&m.brand).and_then(|b| b.oncall.as_deref()).and_then(|r| cfg.rota(r));
        let step = if m.alerted_at.is_none() { 0 } else { d.page_step + 1 };
        let (mut recipients, next) = match rota {
            Some(r) => (recipients_at(r, step, now), next_step_at(r, step, now)),
            None => (vec![], None),
        };
        if recipients.is_empty() {
            recipients.push(LOG_RECIPIENT.to_string());
        }
        for to in recipients {
            let g = groups.entry((to, m.brand.clone())).or_insert((step, Vec::new()));
            g.0 = g.0.min(step);
            g.1.push(m.id);
        }
        paged.push(PagedMention { id: m.id, step, next_page_at: next });
    }
    let pages = groups
        .into_iter()
        .map(|((recipient, brand), (step, mention_ids))| PlannedPage { recipient, brand, step, mention_ids })
        .collect();
    (pages, paged)
}

/// Chain positions: 0 is the on-duty shift, 1..=n the `then` steps; with
/// `repeat = r` the whole sequence runs r + 1 times.
fn recipients_at(rota: &Rota, step: u32, now: DateTime<Utc>) -> Vec<String> {
    let len = 1 + rota.then.len() as u32;
    match step % len {
        0 => oncall::shift_recipients(rota, now),
        p => rota.then[(p - 1) as usize].notify.clone(),
    }
}

/// When the step after `step` is due, if there is one. Restarting the chain
/// waits as long as the first `then` step did.
fn next_step_at(rota: &Rota, step: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if rota.then.is_empty() {
        return None;
    }
    let len = 1 + rota.then.len() as u32;
    let total = len * (rota.repeat + 1);
    let next = step + 1;
    if next >= total {
        return None;
    }
    let wait = match next % len {
        0 => rota.then[0].after,
        p => rota.then[(p - 1) as usize].after,
    };
    Some(now + chrono::Duration::from_std(wait).unwrap_or_default())
}
