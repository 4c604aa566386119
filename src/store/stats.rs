//! `escucha stats`: per brand and platform, mentions by class, answers and
//! the time to the first answer.

use super::db::Backend;
use super::{to_ms, Result, Store};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StatsRow {
    pub brand: String,
    pub platform: String,
    pub mentions: u64,
    pub praise: u64,
    pub complaint: u64,
    pub escalation: u64,
    pub neutral: u64,
    /// Complaints + escalations (history included).
    pub needing_answer: u64,
    pub answered: u64,
    pub acked: u64,
    pub alerted: u64,
    /// Seconds from the mention to the brand's first answer.
    pub median_first_answer_secs: Option<i64>,
    pub p90_first_answer_secs: Option<i64>,
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

impl Store {
    /// Per brand and platform: mentions by class, answers, and time to the
    /// first answer, for mentions created at or after `since`.
    pub fn stats(&self, since: DateTime<Utc>) -> Result<Vec<StatsRow>> {
        // One pass over the covering index `mentions_stats`, already in
        // (brand, platform) order: SQL GROUP BY with a dozen aggregates was
        // several times slower over a million rows (SQLite; PostgreSQL picks
        // its own plan).
        let indexed = match self.backend() {
            Backend::Sqlite => "INDEXED BY mentions_stats",
            Backend::Postgres => "",
        };
        let sql = format!(
            "SELECT brand, platform, class, status, alerted_at IS NOT NULL, (answered_at - created_at) / 1000
             FROM mentions {indexed} WHERE created_at >= $1 ORDER BY brand, platform"
        );
        let mut rows: Vec<StatsRow> = Vec::new();
        let mut times: Vec<i64> = Vec::new();
        let finish = |row: &mut StatsRow, times: &mut Vec<i64>| {
            times.sort_unstable();
            row.median_first_answer_secs = percentile(times, 0.5);
            row.p90_first_answer_secs = percentile(times, 0.9);
            times.clear();
        };
        self.read(|c| {
            c.each(&sql, &[&to_ms(since)], &mut |r| {
                let (brand, platform) = (r.str(0), r.str(1));
                if rows.last().is_none_or(|l| l.brand != brand || l.platform != platform) {
                    if let Some(last) = rows.last_mut() {
                        finish(last, &mut times);
                    }
                    rows.push(StatsRow {
                        brand: brand.to_string(),
                        platform: platform.to_string(),
                        mentions: 0,
                        praise: 0,
                        complaint: 0,
                        escalation: 0,
                        neutral: 0,
                        needing_answer: 0,
                        answered: 0,
                        acked: 0,
                        alerted: 0,
                        median_first_answer_secs: None,
                        p90_first_answer_secs: None,
                    });
                }
                let row = rows.last_mut().expect("pushed above");
                row.mentions += 1;
                let needs_answer = match r.str(2) {
                    "praise" => {
                        row.praise += 1;
                        false
                    }
                    "complaint" => {
                        row.complaint += 1;
                        true
                    }
                    "escalation" => {
                        row.escalation += 1;
                        true
                    }
                    _ => {
                        row.neutral += 1;
                        false
                    }
                };
                if r.get::<bool>(4)? {
                    row.alerted += 1;
                }
                if needs_answer {
                    row.needing_answer += 1;
                    match r.str(3) {
                        "answered" => row.answered += 1,
                        "acked" => row.acked += 1,
                        _ => {}
                    }
                    if let Some(t) = r.get::<Option<i64>>(5)? {
                        times.push(t);
                    }
                }
                Ok(())
            })
        })?;
        if let Some(last) = rows.last_mut() {
            finish(last, &mut times);
        }
        Ok(rows)
    }
}

/// One day of a brand's complaints and escalations on one platform: how
/// many were posted that day, how many of those the brand has answered, and
/// how long the first answer took.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DayFigures {
    pub day: chrono::NaiveDate,
    pub needing_answer: u64,
    pub answered: u64,
    pub p50_first_answer_secs: Option<i64>,
    pub p90_first_answer_secs: Option<i64>,
}

/// Per-day figures of one brand on one platform, every day of the period
/// (days without complaints included, so charts line up).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DailySeries {
    pub brand: String,
    pub platform: String,
    pub days: Vec<DayFigures>,
}

/// One complaint or escalation, as the per-day figures count it.
pub struct Answerable {
    pub brand: String,
    pub platform: String,
    pub created_at: DateTime<Utc>,
    pub answered: bool,
    pub first_answer_secs: Option<i64>,
}

/// Buckets complaints into the days (in `tz`) from `first` to `last`
/// inclusive, per brand and platform (sorted). Mentions outside those days
/// are left out.
pub fn per_day(rows: impl IntoIterator<Item = Answerable>, tz: chrono_tz::Tz, first: chrono::NaiveDate, last: chrono::NaiveDate) -> Vec<DailySeries> {
    use std::collections::BTreeMap;
    let days: Vec<chrono::NaiveDate> = first.iter_days().take_while(|d| *d <= last).collect();
    // Per (brand, platform), per day: complaints, answered, first-answer times.
    type Days = Vec<(u64, u64, Vec<i64>)>;
    let mut groups: BTreeMap<(String, String), Days> = BTreeMap::new();
    for r in rows {
        let day = r.created_at.with_timezone(&tz).date_naive();
        let Some(i) = days.binary_search(&day).ok() else { continue };
        let g = groups.entry((r.brand, r.platform)).or_insert_with(|| vec![(0, 0, Vec::new()); days.len()]);
        g[i].0 += 1;
        if r.answered {
            g[i].1 += 1;
        }
        if let Some(t) = r.first_answer_secs {
            g[i].2.push(t);
        }
    }
    groups
        .into_iter()
        .map(|((brand, platform), g)| DailySeries {
            brand,
            platform,
            days: g
                .into_iter()
                .zip(&days)
                .map(|((needing_answer, answered, mut times), day)| {
                    times.sort_unstable();
                    DayFigures {
                        day: *day,
                        needing_answer,
                        answered,
                        p50_first_answer_secs: percentile(&times, 0.5),
                        p90_first_answer_secs: percentile(&times, 0.9),
                    }
                })
                .collect(),
        })
        .collect()
}

impl Store {
    /// Per brand, platform and day (in `tz`), from the day of `from` to the
    /// day of `until`: complaints and escalations posted, answered, and the
    /// first answer's p50 and p90. History included, as in [`Store::stats`].
    pub fn daily_answers(&self, from: DateTime<Utc>, until: DateTime<Utc>, tz: chrono_tz::Tz) -> Result<Vec<DailySeries>> {
        // A range on `mentions_created`: a week is a few thousand rows,
        // not the whole stats index.
        let sql = "SELECT brand, platform, created_at, status, (answered_at - created_at) / 1000 FROM mentions
                   WHERE created_at >= $1 AND created_at < $2 AND class IN ('complaint', 'escalation')";
        let mut rows = Vec::new();
        self.read(|c| {
            c.each(sql, &[&to_ms(from), &to_ms(until)], &mut |r| {
                rows.push(Answerable {
                    brand: r.str(0).to_string(),
                    platform: r.str(1).to_string(),
                    created_at: super::from_ms(r.get(2)?),
                    answered: r.str(3) == "answered",
                    first_answer_secs: r.get::<Option<i64>>(4)?,
                });
                Ok(())
            })
        })?;
        let (first, last) = (from.with_timezone(&tz).date_naive(), until.with_timezone(&tz).date_naive());
        Ok(per_day(rows, tz, first, last))
    }
}
