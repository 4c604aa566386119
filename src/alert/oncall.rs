//! Who is on duty: a rota's shifts are cron expressions over the minutes
//! they cover, each in its own timezone. Pure functions of the rota and an
//! instant, including the week's coverage (`escucha check` and the startup
//! warning about minutes no shift covers).

use super::hours;
use crate::config::{Rota, Shift};
use chrono::{DateTime, Datelike, DurationRound, NaiveDate, NaiveTime, Timelike, Utc};
use chrono_tz::Tz;
use std::collections::BTreeMap;

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

/// The first shift (index into `rota.shifts`) covering the minute of `at`,
/// or `None` when no shift covers it.
pub fn covering(rota: &Rota, at: DateTime<Utc>) -> Option<usize> {
    rota.shifts.iter().position(|s| covers(s, at))
}

/// Monday 00:00 (in `tz`) of the week that contains `now`, and the Monday
/// after: the week `escucha check` and the startup warning look at.
pub fn week_of(now: DateTime<Utc>, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let local = now.with_timezone(&tz).date_naive();
    let monday = local - chrono::Duration::days(local.weekday().num_days_from_monday() as i64);
    let start = hours::local_to_utc(tz, monday.and_time(NaiveTime::MIN));
    let end = hours::local_to_utc(tz, (monday + chrono::Duration::days(7)).and_time(NaiveTime::MIN));
    (start, end)
}

/// Who covers each minute of the week containing `now`, in minute order.
pub fn week_coverage(rota: &Rota, now: DateTime<Utc>, tz: Tz) -> Vec<(DateTime<Utc>, Option<usize>)> {
    let (mut at, end) = week_of(now, tz);
    let mut out = Vec::with_capacity(7 * 24 * 60);
    while at < end {
        out.push((at, covering(rota, at)));
        at += chrono::Duration::minutes(1);
    }
    out
}

/// The stretches `[from, to)` of the week containing `now` that no shift
/// covers (pages then fall back to the last shift).
pub fn uncovered(rota: &Rota, now: DateTime<Utc>, tz: Tz) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut gaps: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for (at, who) in week_coverage(rota, now, tz) {
        if who.is_some() {
            continue;
        }
        let end = at + chrono::Duration::minutes(1);
        match gaps.last_mut() {
            Some(g) if g.1 == at => g.1 = end,
            _ => gaps.push((at, end)),
        }
    }
    gaps
}

fn shift_mark(i: usize) -> char {
    char::from_digit(i as u32, 36).unwrap_or('#')
}

/// The week as a table: a row per day, a column per hour (in `tz`); a cell
/// is the shift index covering the whole hour, `-` when no shift covers any
/// of it, `~` when it is mixed or partly uncovered.
pub fn coverage_table(rota: &Rota, now: DateTime<Utc>, tz: Tz) -> String {
    let mut cells: BTreeMap<(NaiveDate, u32), Vec<Option<usize>>> = BTreeMap::new();
    for (at, who) in week_coverage(rota, now, tz) {
        let local = at.with_timezone(&tz);
        cells.entry((local.date_naive(), local.hour())).or_default().push(who);
    }
    let (start, _) = week_of(now, tz);
    let monday = start.with_timezone(&tz).date_naive();
    let mut out = String::from("           ");
    for h in 0..24 {
        out.push_str(&format!("{h:>3}"));
    }
    out.push('\n');
    for d in 0..7 {
        let date = monday + chrono::Duration::days(d);
        out.push_str(&format!("{} {}", date.format("%a"), date.format("%m-%d")));
        out.push(' ');
        for h in 0..24 {
            let mark = match cells.get(&(date, h)) {
                None => ' ',
                Some(v) if v.iter().all(|w| w.is_none()) => '-',
                Some(v) if v.iter().all(|w| *w == v[0]) => shift_mark(v[0].unwrap_or(0)),
                Some(_) => '~',
            };
            out.push_str(&format!("{mark:>3}"));
        }
        out.push('\n');
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
    fn a_weekday_only_rota_reports_the_weekend_and_nights_as_uncovered() {
        let mut r = rota(false);
        r.shifts.truncate(1);
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        let gaps = uncovered(&r, now, chrono_tz::America::Mexico_City);
        // Monday 00:00-09:00 is the first gap; Friday 19:00 to Monday 00:00 the last.
        assert_eq!(gaps[0], (Utc.with_ymd_and_hms(2026, 11, 23, 6, 0, 0).unwrap(), Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()));
        assert_eq!(*gaps.last().unwrap(), (Utc.with_ymd_and_hms(2026, 11, 28, 1, 0, 0).unwrap(), Utc.with_ymd_and_hms(2026, 11, 30, 6, 0, 0).unwrap()));
        assert_eq!(gaps.len(), 6);
        assert!(uncovered(&rota(false), now, chrono_tz::UTC).is_empty(), "the catch-all shift covers everything");
    }

    #[test]
    fn the_coverage_table_shows_each_hour_s_shift_or_a_gap() {
        let mut r = rota(false);
        r.shifts.truncate(1);
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        let table = coverage_table(&r, now, chrono_tz::America::Mexico_City);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 8, "{table}");
        let monday: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(monday[0], "Mon");
        assert_eq!(&monday[2..], &["-", "-", "-", "-", "-", "-", "-", "-", "-", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "-", "-", "-", "-", "-"]);
        assert!(lines[6].starts_with("Sat") && !lines[6][10..].contains('0'), "{table}");
        // Seen from UTC, the Mexico City shift runs 15:00-00:59 and the
        // catch-all covers the rest.
        let full = coverage_table(&rota(false), now, chrono_tz::UTC);
        let sat: Vec<&str> = full.lines().nth(6).unwrap().split_whitespace().collect();
        assert_eq!(sat[2], "0", "Friday 18:00 in Mexico City\n{full}");
        assert!(sat[3..].iter().all(|c| *c == "1"), "{full}");
        assert!(full.lines().skip(1).all(|l| !l.split_whitespace().skip(2).any(|c| c == "-")), "{full}");
    }

    #[test]
    fn an_uncovered_minute_falls_back_to_the_last_shift() {
        let mut r = rota(false);
        r.shifts.truncate(1);
        let sat = Utc.with_ymd_and_hms(2026, 11, 28, 16, 30, 0).unwrap();
        assert_eq!(shift_recipients(&r, sat), vec!["ana@example.com"]);
    }
}
