//! Business hours and quiet hours: when a deadline falls if `respond_within`
//! only counts the brand's working minutes (Zendesk-style SLA), and when a
//! person's quiet hours end. Pure functions of the config and an instant;
//! the store and the alert loop apply them.

use crate::config::{Brand, Config};
use crate::model::Class;
use crate::store::Store;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

pub use crate::config::{BusinessHours, Quiet};

/// The instant a local wall-clock time happens. In a DST gap (02:30 on the
/// spring-forward night) the first valid minute after it; when a time
/// happens twice, the first.
pub fn local_to_utc(tz: Tz, naive: NaiveDateTime) -> DateTime<Utc> {
    let mut n = naive;
    for _ in 0..180 {
        if let Some(t) = tz.from_local_datetime(&n).earliest() {
            return t.with_timezone(&Utc);
        }
        n += Duration::minutes(1);
    }
    Utc.from_utc_datetime(&naive)
}

fn at_minute(date: NaiveDate, min: u32) -> NaiveDateTime {
    date.and_time(NaiveTime::MIN) + Duration::minutes(min as i64)
}

/// `created_at + within`, counting only business minutes in `tz` and
/// skipping `holidays`. A mention posted outside business hours starts its
/// clock when they open.
pub fn deadline(created_at: DateTime<Utc>, within: std::time::Duration, hours: &BusinessHours, tz: Tz, holidays: &[NaiveDate]) -> DateTime<Utc> {
    let mut remaining = Duration::from_std(within).unwrap_or_default();
    let mut cur = created_at;
    let mut date = created_at.with_timezone(&tz).date_naive();
    // Ten years of days without a single business minute means a config
    // that cannot be met; give the plain deadline rather than loop forever.
    for _ in 0..3660 {
        let weekday = date.weekday().num_days_from_monday() as usize;
        if hours.days[weekday] && !holidays.contains(&date) {
            let open = local_to_utc(tz, at_minute(date, hours.start_min));
            let close = local_to_utc(tz, at_minute(date, hours.end_min));
            let from = cur.max(open);
            if from < close {
                if remaining <= close - from {
                    return from + remaining;
                }
                remaining -= close - from;
            }
        }
        date = date.succ_opt().unwrap_or(date);
        cur = cur.max(local_to_utc(tz, date.and_time(NaiveTime::MIN)));
    }
    created_at + Duration::from_std(within).unwrap_or_default()
}

/// The deadline of a mention of `brand` with `class` posted at `created_at`:
/// escalations ignore business hours (they are urgent whatever the hour).
pub fn mention_deadline(brand: &Brand, class: Class, created_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let within = match class {
        Class::Escalation => return Some(created_at + Duration::from_std(brand.respond_within.escalation).unwrap_or_default()),
        Class::Complaint => brand.respond_within.complaint,
        _ => return None,
    };
    Some(match brand.business_hours {
        Some(h) => deadline(created_at, within, &h, brand.timezone, &brand.holidays),
        None => created_at + Duration::from_std(within).unwrap_or_default(),
    })
}

/// Recomputes the deadlines of every brand's open, not yet paged complaints
/// from the current config (thresholds and business hours may have changed
/// on reload). Returns how many changed.
pub fn reschedule(store: &Store, cfg: &Config) -> crate::store::Result<usize> {
    let mut changed = 0;
    for b in &cfg.brands {
        let unpaged = store.open_unpaged(&b.id)?;
        // Where a source has its own `respond_within`, each mention's
        // platform decides its thresholds (read only when one does).
        let platforms: std::collections::HashMap<i64, crate::model::Platform> = if cfg.sources.respond_within.is_empty() || unpaged.is_empty() {
            Default::default()
        } else {
            let filter = crate::store::MentionFilter { brand: Some(b.id.clone()), open_only: true, ..Default::default() };
            store.mentions(&filter)?.into_iter().map(|m| (m.id, m.platform)).collect()
        };
        let per_source: Vec<(crate::model::Platform, Brand)> = platforms
            .values()
            .copied()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|p| (p, Brand { respond_within: cfg.respond_within(b, p.as_str()), ..b.clone() }))
            .collect();
        let updates: Vec<(i64, DateTime<Utc>)> = unpaged
            .into_iter()
            .filter_map(|(id, class, created, old)| {
                let brand = platforms.get(&id).and_then(|p| per_source.iter().find(|(q, _)| q == p)).map_or(b, |(_, brand)| brand);
                let new = mention_deadline(brand, class, created)?;
                (Some(new) != old).then_some((id, new))
            })
            .collect();
        changed += store.set_deadlines(&updates)?;
    }
    Ok(changed)
}

impl Quiet {
    /// When quiet hours end, if `at` falls inside them; `None` otherwise.
    pub fn ends_after(&self, at: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let local = at.with_timezone(&tz);
        let date = local.date_naive();
        let min = local.time().signed_duration_since(NaiveTime::MIN).num_minutes() as u32;
        let end_on = |d: NaiveDate| local_to_utc(tz, at_minute(d, self.end_min));
        if self.start_min < self.end_min {
            (self.start_min..self.end_min).contains(&min).then(|| end_on(date))
        } else if min >= self.start_min {
            Some(end_on(date.succ_opt()?))
        } else if min < self.end_min {
            Some(end_on(date))
        } else {
            None
        }
    }
}

/// When a non-escalation page to `recipient` may go out: `None` if now,
/// otherwise the end of the person's quiet hours (in their timezone, or the
/// daemon's).
pub fn quiet_until(cfg: &Config, recipient: &str, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let p = cfg.people.iter().find(|p| p.address.eq_ignore_ascii_case(recipient))?;
    let q = p.quiet?;
    q.ends_after(at, p.timezone.unwrap_or(cfg.daemon.timezone))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America::Mexico_City, Europe::Madrid};

    fn h(s: &str) -> BusinessHours {
        BusinessHours::parse(s).unwrap()
    }

    fn utc(y: i32, mo: u32, d: u32, hh: u32, mm: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, hh, mm, 0).unwrap()
    }

    fn mins(n: u64) -> std::time::Duration {
        std::time::Duration::from_secs(n * 60)
    }

    #[test]
    fn business_hours_parse_days_ranges_and_lists() {
        let b = h("MON-FRI 09:00-18:00");
        assert_eq!(b.days, [true, true, true, true, true, false, false]);
        assert_eq!((b.start_min, b.end_min), (540, 1080));
        assert_eq!(h("mon,wed,fri 08:30-24:00").days, [true, false, true, false, true, false, false]);
        assert_eq!(h("SAT 10:00-14:00").end_min, 840);
        assert!(BusinessHours::parse("MON-FRI 18:00-09:00").is_err());
    }

    #[test]
    fn a_complaint_inside_business_hours_counts_wall_clock_minutes() {
        // Tuesday 2026-11-24 10:00 in Mexico City (UTC-6) = 16:00 UTC.
        let d = deadline(utc(2026, 11, 24, 16, 0), mins(30), &h("MON-FRI 09:00-18:00"), Mexico_City, &[]);
        assert_eq!(d, utc(2026, 11, 24, 16, 30));
    }

    #[test]
    fn a_friday_evening_complaint_is_due_on_monday_morning() {
        // Friday 2026-11-27 17:45 local: 15 minutes on Friday, 15 on Monday.
        let d = deadline(utc(2026, 11, 27, 23, 45), mins(30), &h("MON-FRI 09:00-18:00"), Mexico_City, &[]);
        assert_eq!(d, utc(2026, 11, 30, 15, 15), "Monday 09:15 local");
        // Posted on Saturday: the clock starts Monday at opening.
        let d = deadline(utc(2026, 11, 28, 18, 0), mins(30), &h("MON-FRI 09:00-18:00"), Mexico_City, &[]);
        assert_eq!(d, utc(2026, 11, 30, 15, 30));
    }

    #[test]
    fn holidays_are_skipped() {
        // Thursday 2026-12-24 17:50 local; the 25th is a holiday, then a weekend.
        let hol = [NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()];
        let d = deadline(utc(2026, 12, 24, 23, 50), mins(30), &h("MON-FRI 09:00-18:00"), Mexico_City, &hol);
        assert_eq!(d, utc(2026, 12, 28, 15, 20), "Monday 28th 09:20 local");
    }

    #[test]
    fn a_deadline_across_the_spring_dst_change_uses_the_new_offset() {
        // Madrid springs forward on Sunday 2026-03-29. Friday 17:30 CET
        // (16:30 UTC) + 1h: 30 min on Friday, then Monday 09:30 CEST = 07:30 UTC.
        let d = deadline(utc(2026, 3, 27, 16, 30), mins(60), &h("MON-FRI 09:00-18:00"), Madrid, &[]);
        assert_eq!(d, utc(2026, 3, 30, 7, 30));
    }

    #[test]
    fn business_minutes_add_up_over_several_days() {
        // 20 business hours from Monday 09:00 local: Mon 9h, Tue 9h, Wed 2h.
        let d = deadline(utc(2026, 11, 23, 15, 0), mins(20 * 60), &h("MON-FRI 09:00-18:00"), Mexico_City, &[]);
        assert_eq!(d, utc(2026, 11, 25, 17, 0), "Wednesday 11:00 local");
    }

    #[test]
    fn hours_until_midnight_close_at_the_end_of_the_day() {
        let d = deadline(utc(2026, 11, 23, 23, 50), mins(30), &h("MON-FRI 08:00-24:00"), chrono_tz::UTC, &[]);
        assert_eq!(d, utc(2026, 11, 24, 8, 20));
    }

    #[test]
    fn escalations_ignore_business_hours() {
        let mut b = crate::matcher::tests_support::brand();
        b.business_hours = Some(h("MON-FRI 09:00-18:00"));
        b.timezone = Mexico_City;
        let sat = utc(2026, 11, 28, 18, 0);
        let esc = mention_deadline(&b, Class::Escalation, sat).unwrap();
        assert_eq!(esc, sat + Duration::from_std(b.respond_within.escalation).unwrap());
        let comp = mention_deadline(&b, Class::Complaint, sat).unwrap();
        assert!(comp > utc(2026, 11, 30, 15, 0), "{comp}");
        assert_eq!(mention_deadline(&b, Class::Praise, sat), None);
    }

    #[test]
    fn reschedule_moves_unpaged_complaints_to_business_hours() {
        let store = Store::open_in_memory().unwrap();
        let mut cfg = crate::alert::plan::tests_support::config();
        let sat = utc(2026, 11, 28, 18, 0);
        let m = crate::store::NewMention {
            brand: cfg.brands[0].id.clone(),
            deadline: mention_deadline(&cfg.brands[0], Class::Complaint, sat),
            ..crate::store::NewMention::example("1", sat)
        };
        let id = store.commit_page("q", sat, &[m], &[], "c", sat).unwrap().inserted[0];
        assert_eq!(reschedule(&store, &cfg).unwrap(), 0, "nothing changed yet");
        cfg.brands[0].business_hours = Some(h("MON-FRI 09:00-18:00"));
        cfg.brands[0].timezone = chrono_tz::UTC;
        assert_eq!(reschedule(&store, &cfg).unwrap(), 1);
        let within = Duration::from_std(cfg.brands[0].respond_within.complaint).unwrap();
        assert_eq!(store.mention(id).unwrap().unwrap().deadline, Some(utc(2026, 11, 30, 9, 0) + within));
    }

    #[test]
    fn reschedule_keeps_a_sources_own_respond_within() {
        let store = Store::open_in_memory().unwrap();
        let mut cfg = crate::alert::plan::tests_support::config();
        let t = utc(2026, 11, 28, 18, 0);
        let m = crate::store::NewMention {
            brand: cfg.brands[0].id.clone(),
            deadline: mention_deadline(&cfg.brands[0], Class::Complaint, t),
            ..crate::store::NewMention::example("1", t)
        };
        let platform = m.platform;
        let id = store.commit_page("q", t, &[m], &[], "c", t).unwrap().inserted[0];
        let two_hours = std::time::Duration::from_secs(7200);
        cfg.sources.respond_within.insert(platform.as_str().to_string(), crate::config::RespondWithinOverride { complaint: Some(two_hours), escalation: None });
        assert_eq!(reschedule(&store, &cfg).unwrap(), 1);
        assert_eq!(store.mention(id).unwrap().unwrap().deadline, Some(t + Duration::hours(2)));
        assert_eq!(reschedule(&store, &cfg).unwrap(), 0, "stable on the next start");
    }

    #[test]
    fn reschedule_keeps_each_mention_on_the_threshold_of_the_source_that_read_it() {
        let store = Store::open_in_memory().unwrap();
        let mut cfg = crate::alert::plan::tests_support::config();
        let day = std::time::Duration::from_secs(86_400);
        cfg.sources.respond_within.insert("app_store".into(), crate::config::RespondWithinOverride { complaint: Some(day), escalation: None });
        let t = utc(2026, 11, 24, 10, 0);
        let review = crate::store::NewMention {
            brand: cfg.brands[0].id.clone(),
            platform: crate::model::Platform::AppStore,
            deadline: Some(t + Duration::days(1)),
            ..crate::store::NewMention::example("r1", t)
        };
        let post = crate::store::NewMention {
            brand: cfg.brands[0].id.clone(),
            deadline: mention_deadline(&cfg.brands[0], Class::Complaint, t),
            ..crate::store::NewMention::example("p1", t)
        };
        store.commit_page("q", t, &[review, post], &[], "c", t).unwrap();
        assert_eq!(reschedule(&store, &cfg).unwrap(), 0, "each keeps the threshold of the source that read it");
    }

    #[test]
    fn quiet_hours_across_midnight_end_the_next_morning() {
        let q = Quiet::parse("22:00-08:00").unwrap();
        // 23:00 Madrid (CET, UTC+1) on 2026-11-24 → ends 08:00 on the 25th = 07:00 UTC.
        assert_eq!(q.ends_after(utc(2026, 11, 24, 22, 0), Madrid), Some(utc(2026, 11, 25, 7, 0)));
        // 03:00 local → same morning.
        assert_eq!(q.ends_after(utc(2026, 11, 25, 2, 0), Madrid), Some(utc(2026, 11, 25, 7, 0)));
        // 12:00 local: not quiet.
        assert_eq!(q.ends_after(utc(2026, 11, 25, 11, 0), Madrid), None);
        // Exactly at the end: no longer quiet.
        assert_eq!(q.ends_after(utc(2026, 11, 25, 7, 0), Madrid), None);
        let lunch = Quiet::parse("13:00-14:30").unwrap();
        assert_eq!(lunch.ends_after(utc(2026, 11, 25, 13, 10), chrono_tz::UTC), Some(utc(2026, 11, 25, 14, 30)));
        assert_eq!(lunch.ends_after(utc(2026, 11, 25, 12, 59), chrono_tz::UTC), None);
    }
}
