//! What to page now: a pure function of the due mentions, the config and the
//! clock. It decides recipients (on-duty shift, then the `then` chain),
//! groups mentions per recipient and brand into one message, and says when
//! each mention's next chain step falls due.

use super::{hours, oncall};
use crate::config::{Config, Rota};
use crate::model::Class;
use crate::store::{Due, PagedMention, PlannedPage};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Pages go to the log when a brand has no rota (or the rota pages nobody):
/// an alert is never silently dropped.
pub const LOG_RECIPIENT: &str = "log:";

/// Plans the pages for `due` at `now`. A page to a person in their quiet
/// hours waits until they end (`not_before`), unless it is an escalation.
pub fn plan(due: &[Due], cfg: &Config, now: DateTime<Utc>) -> (Vec<PlannedPage>, Vec<PagedMention>) {
    // BTreeMap: messages come out in a stable order.
    type Key = (String, String, Option<DateTime<Utc>>);
    let mut groups: BTreeMap<Key, (u32, Vec<i64>)> = BTreeMap::new();
    let mut paged = Vec::new();
    for d in due {
        let m = &d.mention;
        let rota = cfg.brand(&m.brand).and_then(|b| b.oncall.as_deref()).and_then(|r| cfg.rota(r));
        let step = if m.alerted_at.is_none() { 0 } else { d.page_step + 1 };
        let mut recipients = rota.map(|r| recipients_at(r, step, now)).unwrap_or_default();
        if recipients.is_empty() {
            recipients.push(LOG_RECIPIENT.to_string());
        }
        // The chain's next step counts from when this page first reaches
        // somebody, which quiet hours may put off.
        let mut sent_at: Option<DateTime<Utc>> = None;
        for to in recipients {
            let not_before = if m.class == Class::Escalation { None } else { hours::quiet_until(cfg, &to, now) };
            let at = not_before.unwrap_or(now);
            sent_at = Some(sent_at.map_or(at, |s| s.min(at)));
            let g = groups.entry((to, m.brand.clone(), not_before)).or_insert((step, Vec::new()));
            g.0 = g.0.min(step);
            g.1.push(m.id);
        }
        let next = rota.and_then(|r| next_step_at(r, step, sent_at.unwrap_or(now)));
        paged.push(PagedMention { id: m.id, step, next_page_at: next });
    }
    let pages = groups
        .into_iter()
        .map(|((recipient, brand, not_before), (step, mention_ids))| PlannedPage { recipient, brand, step, mention_ids, not_before })
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

#[cfg(test)]
pub(crate) mod tests_support {
    use crate::config::{Config, Daemon, LogFormat, Rota, Shift, Sources};
    use std::str::FromStr;
    use std::time::Duration;

    /// One brand (`interjet`) paged to rota `care`, whose one shift is
    /// always on duty and notifies ana@example.com.
    pub fn config() -> Config {
        let shift = Shift {
            when_text: "* * * * * *".into(),
            when: cron::Schedule::from_str("* * * * * *").unwrap(),
            timezone: chrono_tz::UTC,
            notify: vec!["ana@example.com".into()],
        };
        let mut brand = crate::matcher::tests_support::brand();
        brand.oncall = Some("care".into());
        Config {
            path: "escucha.toml".into(),
            daemon: Daemon {
                database: "e.db".into(),
                database_url: None,
                lease: Duration::from_secs(30),
                http: None,
                timezone: chrono_tz::UTC,
                public_url: None,
                ack_secret: None,
                group_wait: Duration::ZERO,
                log_format: LogFormat::Text,
                retention: None,
                classifier: crate::config::ClassifierKind::Rules,
                trusted_user_header: None,
                trusted_proxies: vec![],
                language: crate::config::Language::En,
            },
            brands: vec![brand],
            sources: Sources::default(),
            smtp: None,
            webhooks: vec![],
            oncall: vec![Rota { id: "care".into(), overlap_all: false, repeat: 0, shifts: vec![shift], then: vec![] }],
            people: vec![],
            digest: None,
            users: vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Step};
    use crate::model::{Class, Mention};
    use chrono::TimeZone;
    use std::time::Duration;

    fn cfg(then: Vec<Step>, repeat: u32) -> Config {
        let mut c = tests_support::config();
        c.oncall[0].then = then;
        c.oncall[0].repeat = repeat;
        c
    }

    fn due(id: i64, alerted: bool, step: u32) -> Due {
        let t = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
        Due { mention: Mention { alerted_at: alerted.then_some(t), ..Mention::example(id, t) }, page_step: step }
    }

    fn step(after_min: u64, who: &str) -> Step {
        Step { after: Duration::from_secs(after_min * 60), notify: vec![who.into()] }
    }

    #[test]
    fn mentions_due_together_for_one_recipient_become_one_message() {
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 10, 30, 0).unwrap();
        let (pages, paged) = plan(&[due(1, false, 0), due(2, false, 0)], &cfg(vec![], 0), now);
        assert_eq!(pages.len(), 1);
        assert_eq!(pages[0].recipient, "ana@example.com");
        assert_eq!(pages[0].mention_ids, vec![1, 2]);
        assert!(paged.iter().all(|p| p.next_page_at.is_none()), "no chain: one page per mention");
    }

    #[test]
    fn the_chain_pages_the_next_step_after_its_delay_and_repeats() {
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 10, 30, 0).unwrap();
        let c = cfg(vec![step(30, "jefa@example.com")], 1);
        let (_, paged) = plan(&[due(1, false, 0)], &c, now);
        assert_eq!(paged[0].next_page_at, Some(now + chrono::Duration::minutes(30)));
        let (pages, paged) = plan(&[due(1, true, 0)], &c, now);
        assert_eq!(pages[0].recipient, "jefa@example.com");
        assert_eq!(paged[0].step, 1);
        // repeat = 1: back to the shift, then the chief once more, then stop.
        let (pages, _) = plan(&[due(1, true, 1)], &c, now);
        assert_eq!(pages[0].recipient, "ana@example.com");
        let (_, paged) = plan(&[due(1, true, 2)], &c, now);
        assert_eq!(paged[0].next_page_at, None);
    }

    #[test]
    fn a_complaint_for_a_person_in_quiet_hours_waits_until_they_end_but_an_escalation_does_not() {
        let mut c = cfg(vec![step(30, "jefa@example.com")], 0);
        c.people.push(crate::config::Person {
            address: "ana@example.com".into(),
            timezone: Some(chrono_tz::Europe::Madrid),
            quiet: Some(crate::config::Quiet::parse("22:00-08:00").unwrap()),
            language: None,
        });
        // 23:00 in Madrid (UTC+1 in November).
        let night = Utc.with_ymd_and_hms(2026, 11, 24, 22, 0, 0).unwrap();
        let morning = Utc.with_ymd_and_hms(2026, 11, 25, 7, 0, 0).unwrap();
        let mut esc = due(2, false, 0);
        esc.mention.class = Class::Escalation;
        let (pages, paged) = plan(&[due(1, false, 0), esc], &c, night);
        assert_eq!(pages.len(), 2, "{pages:?}");
        let now_page = pages.iter().find(|p| p.not_before.is_none()).unwrap();
        assert_eq!(now_page.mention_ids, vec![2]);
        let later = pages.iter().find(|p| p.not_before.is_some()).unwrap();
        assert_eq!((later.mention_ids.clone(), later.not_before), (vec![1], Some(morning)));
        // The chain counts from when the page goes out, not from now.
        let p1 = paged.iter().find(|p| p.id == 1).unwrap();
        assert_eq!(p1.next_page_at, Some(morning + chrono::Duration::minutes(30)));
        // At noon nothing waits.
        let noon = Utc.with_ymd_and_hms(2026, 11, 25, 11, 0, 0).unwrap();
        let (pages, _) = plan(&[due(1, false, 0)], &c, noon);
        assert_eq!(pages[0].not_before, None);
    }

    #[test]
    fn a_brand_without_a_rota_is_paged_to_the_log() {
        let mut c = cfg(vec![], 0);
        c.brands[0].oncall = None;
        let (pages, _) = plan(&[due(1, false, 0)], &c, Utc::now());
        assert_eq!(pages[0].recipient, LOG_RECIPIENT);
    }
}
