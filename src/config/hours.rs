//! Business hours and quiet hours as the config states them, parsed once
//! when it is loaded (`MON-FRI 09:00-18:00`, `22:00-08:00`): the alert loop
//! computes with these values and never reads the strings again.

/// `MON-FRI 09:00-18:00`: which weekdays (Monday = 0) and the minutes of
/// the day, `end` exclusive (24:00 allowed as the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusinessHours {
    pub days: [bool; 7],
    pub start_min: u32,
    pub end_min: u32,
}

/// `22:00-08:00`: minutes of the day, `start` inclusive, `end` exclusive;
/// may run past midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quiet {
    pub start_min: u32,
    pub end_min: u32,
}

const DAYS: [&str; 7] = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];

fn day(s: &str) -> Option<usize> {
    DAYS.iter().position(|d| d.eq_ignore_ascii_case(s.trim()))
}

/// `HH:MM`, two digits each; `24:00` only where `end` (the end of a day).
fn hhmm(s: &str, end: bool) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (end && h == 24 && m == 0))).then_some(h * 60 + m)
}

impl BusinessHours {
    /// Days (`MON`, `MON-FRI`, `MON,WED,FRI`; a range past Sunday wraps)
    /// and a time range within one day.
    pub fn parse(s: &str) -> Result<BusinessHours, String> {
        let bad = |why: &str| format!("{s:?} {why} (write days and hours, e.g. \"MON-FRI 09:00-18:00\")");
        let (days_s, hours) = s.trim().split_once(char::is_whitespace).ok_or_else(|| bad("is not business hours"))?;
        let mut days = [false; 7];
        for part in days_s.split(',') {
            let not_a_day = || bad(&format!("has {part:?}, not a day (MON TUE WED THU FRI SAT SUN)"));
            match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (day(a).ok_or_else(not_a_day)?, day(b).ok_or_else(not_a_day)?);
                    let mut d = a;
                    loop {
                        days[d] = true;
                        if d == b {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                }
                None => days[day(part).ok_or_else(not_a_day)?] = true,
            }
        }
        let (from, to) = hours.trim().split_once('-').ok_or_else(|| bad("has no HH:MM-HH:MM"))?;
        match (hhmm(from, false), hhmm(to, true)) {
            (Some(start_min), Some(end_min)) if start_min < end_min => Ok(BusinessHours { days, start_min, end_min }),
            (Some(_), Some(_)) => Err(bad("ends before it starts")),
            _ => Err(bad("has a time that is not HH:MM")),
        }
    }
}

impl Quiet {
    pub fn parse(s: &str) -> Result<Quiet, String> {
        let bad = || format!("{s:?} is not a time range (e.g. \"22:00-08:00\")");
        let (a, b) = s.trim().split_once('-').ok_or_else(bad)?;
        match (hhmm(a, false), hhmm(b, true)) {
            (Some(start_min), Some(end_min)) if start_min != end_min => Ok(Quiet { start_min, end_min }),
            _ => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_hours_are_days_and_a_time_range() {
        let h = BusinessHours::parse("MON-FRI 09:00-18:00").unwrap();
        assert_eq!((h.days, h.start_min, h.end_min), ([true, true, true, true, true, false, false], 540, 1080));
        assert_eq!(BusinessHours::parse("mon,wed,fri 08:30-24:00").unwrap().end_min, 1440);
        assert_eq!(BusinessHours::parse("FRI-MON 10:00-14:00").unwrap().days, [true, false, false, false, true, true, true]);
        assert!(BusinessHours::parse("MON-FRI 18:00-09:00").unwrap_err().contains("ends before"));
        assert!(BusinessHours::parse("LUN-VIE 09:00-18:00").unwrap_err().contains("not a day"));
        // One parser, one rule: two-digit hours, 24:00 only as an end.
        assert!(BusinessHours::parse("MON-FRI 9:00-18:00").is_err());
        assert!(BusinessHours::parse("MON-FRI 9-18").is_err());
        assert!(BusinessHours::parse("MON 24:00-24:00").is_err());
        assert!(BusinessHours::parse("09:00-18:00").is_err());
    }

    #[test]
    fn quiet_hours_may_cross_midnight() {
        assert_eq!(Quiet::parse("22:00-08:00"), Ok(Quiet { start_min: 1320, end_min: 480 }));
        assert!(Quiet::parse("13:00-14:30").is_ok());
        assert!(Quiet::parse("22:00-24:00").is_ok());
        assert!(Quiet::parse("22:00").is_err());
        assert!(Quiet::parse("08:00-08:00").is_err());
        assert!(Quiet::parse("25:00-08:00").is_err());
        assert!(Quiet::parse("8:00-9:00").is_err());
    }
}
