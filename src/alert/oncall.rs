//! Who is on duty: a rota's shifts are cron expressions over the minutes
//! they cover, each in its own timezone. Pure functions of the rota and an
//! instant.

use crate::config::{Rota, Shift};
use chrono::{DateTime, DurationRound, Utc};

/// True when `shift` covers the minute that contains `at`.
pub fn covers(shift: &Shift, at: DateTime<Utc>) -> bool {
    let minute = at.duration_trunc(chrono::Duration::minutes(1)).unwrap_or(at);
    let local = minute.with_timezone(&shift.timezone);
    // `after` is exclusive; start one second before the minute. Never
    // `upcoming()`: it reads the system clock.
    let from = local - chrono::Duration::seconds(1);
    match shift.when.after(&from).next() {
        Some(next) => next.with_timezone(&Utc) < minute + chrono::Duration::minutes(1),
        None => false,
    }
}

/// The shifts paged at `at`: the first one on duty (or every one on duty
/// with `overlap = "all"`). When none covers the minute, the last shift is
/// the fallback, so a page always reaches somebody.
pub fn on_duty(rota: &Rota, at: DateTime<Utc>) -> Vec<&Shift> {
    let mut on: Vec<&Shift> = rota.shifts.iter().filter(|s| covers(s, at)).collect();
    if !rota.overlap_all {
        on.truncate(1);
    }
    if on.is_empty() {
        on.extend(rota.shifts.last());
    }
    on
}

/// Addresses paged at `at` for chain position 0 (the shift), in order,
/// without duplicates.
pub fn shift_recipients(rota: &Rota, at: DateTime<Utc>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in on_duty(rota, at) {
        for a in &s.notify {
            if !out.contains(a) {
                out.push(a.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::str::FromStr;

    fn shift(when: &str, tz: chrono_tz::Tz, who: &str) -> Shift {
        Shift { when_text: when.into(), when: cron::Schedule::from_str(when).unwrap(), timezone: tz, notify: vec![who.into()] }
    }

    fn rota(overlap_all: bool) -> Rota {
        Rota {
            id: "care".into(),
            overlap_all,
            repeat: 0,
            shifts: vec![
                shift("* * 9-18 * * Mon-Fri", chrono_tz::America::Mexico_City, "ana@example.com"),
                shift("* * * * * *", chrono_tz::UTC, "guardia@example.com"),
            ],
            then: vec![],
        }
    }

    #[test]
    fn the_first_matching_shift_wins_in_its_own_timezone() {
        // Tuesday 2026-11-24 16:30 UTC is 10:30 in Mexico City.
        let at = Utc.with_ymd_and_hms(2026, 11, 24, 16, 30, 0).unwrap();
        assert_eq!(shift_recipients(&rota(false), at), vec!["ana@example.com"]);
        // 03:00 UTC is 21:00 the evening before in Mexico City: off duty.
        let night = Utc.with_ymd_and_hms(2026, 11, 24, 3, 0, 0).unwrap();
        assert_eq!(shift_recipients(&rota(false), night), vec!["guardia@example.com"]);
        // Saturday.
        let sat = Utc.with_ymd_and_hms(2026, 11, 28, 16, 30, 0).unwrap();
        assert_eq!(shift_recipients(&rota(false), sat), vec!["guardia@example.com"]);
    }

    #[test]
    fn overlap_all_pages_every_shift_on_duty() {
        let at = Utc.with_ymd_and_hms(2026, 11, 24, 16, 30, 45).unwrap();
        assert_eq!(shift_recipients(&rota(true), at), vec!["ana@example.com", "guardia@example.com"]);
    }

    #[test]
    fn an_uncovered_minute_falls_back_to_the_last_shift() {
        let mut r = rota(false);
        r.shifts.truncate(1);
        let sat = Utc.with_ymd_and_hms(2026, 11, 28, 16, 30, 0).unwrap();
        assert_eq!(shift_recipients(&r, sat), vec!["ana@example.com"]);
    }
}
