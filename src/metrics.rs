//! Counters for `/metrics`, kept in memory since the process started, and
//! the Prometheus text format (0.0.4) that shows them next to gauges read
//! from the store. The loops bump counters through `metrics::global()`;
//! nothing here does I/O.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Counter families: name, label names, help. A family is printed (HELP and
/// TYPE) even before its first sample, so dashboards see the series exist;
/// `touch` makes a series show at 0 before its first event.
pub const COUNTERS: &[(&str, &[&str], &str)] = &[
    ("escucha_polls_total", &["source"], "Source requests that returned a page."),
    ("escucha_poll_errors_total", &["source"], "Source requests that failed."),
    ("escucha_rate_limit_waits_total", &["source"], "Times a source waited for its platform's rate-limit window."),
    ("escucha_alerts_sent_total", &["channel"], "Alert and notice deliveries accepted by the channel."),
    ("escucha_alerts_failed_total", &["channel"], "Delivery attempts that failed and will be retried."),
    ("escucha_alerts_dead_lettered_total", &["channel"], "Deliveries refused for good (dead-lettered)."),
    ("escucha_mentions_ingested_total", &["brand", "platform", "class"], "Mentions stored since the process started, by class when stored."),
    ("escucha_stream_pages_total", &["source"], "Pages with posts that a stream (Mastodon streaming, Jetstream) brought."),
    ("escucha_stream_reconnects_total", &["source"], "Times a stream connection failed or ended and was opened again."),
    ("escucha_stream_refusals_total", &["source"], "Times a server refused to stream, so its queries were polled instead."),
];

/// Histogram families: name, label name, help. Seconds.
pub const HISTOGRAMS: &[(&str, &str, &str)] = &[
    ("escucha_poll_duration_seconds", "source", "Time a source request took, from send to page (pacing waits included)."),
    ("escucha_delivery_duration_seconds", "channel", "Time one delivery attempt took (SMTP session or webhook request)."),
];

/// Upper bounds of the histogram buckets, in seconds.
const BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

#[derive(Default)]
struct Histogram {
    /// One count per bucket (not cumulative; summed when rendered).
    buckets: [u64; 10],
    count: u64,
    sum: f64,
}

/// A registry of labelled counters and histograms. Each counter series is
/// an atomic; the map lock is taken only to find (or create) it.
#[derive(Default)]
pub struct Metrics {
    /// (family, rendered labels) -> value.
    series: Mutex<BTreeMap<(&'static str, String), Arc<AtomicU64>>>,
    histograms: Mutex<BTreeMap<(&'static str, String), Histogram>>,
}

/// The process's registry.
pub fn global() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    M.get_or_init(Metrics::default)
}

fn labels(names: &[&str], values: &[&str]) -> String {
    names.iter().zip(values).map(|(k, v)| format!("{k}=\"{}\"", escape_label(v))).collect::<Vec<_>>().join(",")
}

fn family(name: &str) -> &'static (&'static str, &'static [&'static str], &'static str) {
    COUNTERS.iter().find(|c| c.0 == name).unwrap_or_else(|| panic!("unknown counter {name}"))
}

impl Metrics {
    fn counter(&self, name: &'static str, values: &[&str]) -> Arc<AtomicU64> {
        let key = (name, labels(family(name).1, values));
        self.series.lock().unwrap_or_else(|e| e.into_inner()).entry(key).or_default().clone()
    }

    /// Adds one to `family{<label>="value"}`. `family` must be in `COUNTERS`
    /// with one label.
    pub fn inc(&self, family: &'static str, value: &str) {
        self.inc_by(family, &[value]);
    }

    /// Adds one to the series of `family` with these label values, in the
    /// family's label order.
    pub fn inc_by(&self, family: &'static str, values: &[&str]) {
        self.counter(family, values).fetch_add(1, Ordering::Relaxed);
    }

    /// Makes the series exist at 0 (a configured source or channel that has
    /// done nothing yet), so `rate()` and alerts on it work from the start.
    pub fn touch(&self, family: &'static str, values: &[&str]) {
        self.counter(family, values);
    }

    /// Records one observation, in seconds, in histogram `family`.
    pub fn observe(&self, family: &'static str, value: &str, secs: f64) {
        debug_assert!(HISTOGRAMS.iter().any(|h| h.0 == family), "unknown histogram {family}");
        let label = HISTOGRAMS.iter().find(|h| h.0 == family).map_or("label", |h| h.1);
        let mut map = self.histograms.lock().unwrap_or_else(|e| e.into_inner());
        let h = map.entry((family, labels(&[label], &[value]))).or_default();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            h.buckets[i] += 1;
        }
        h.count += 1;
        h.sum += secs;
    }

    /// Makes a histogram series exist with no observations.
    pub fn touch_histogram(&self, family: &'static str, value: &str) {
        let label = HISTOGRAMS.iter().find(|h| h.0 == family).map_or("label", |h| h.1);
        self.histograms.lock().unwrap_or_else(|e| e.into_inner()).entry((family, labels(&[label], &[value]))).or_default();
    }

    pub fn get(&self, family: &'static str, value: &str) -> u64 {
        let map = self.series.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&(family, labels(self::family(family).1, &[value]))).map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// The counters, the histograms, then `gauges`, in Prometheus text
    /// format 0.0.4.
    pub fn render(&self, gauges: &[Gauge]) -> String {
        let mut out = String::new();
        let map = self.series.lock().unwrap_or_else(|e| e.into_inner());
        for (name, _, help) in COUNTERS {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for ((_, labels), c) in map.range((*name, String::new())..).take_while(|((n, _), _)| n == name) {
                let _ = writeln!(out, "{name}{{{labels}}} {}", c.load(Ordering::Relaxed));
            }
        }
        drop(map);
        let map = self.histograms.lock().unwrap_or_else(|e| e.into_inner());
        for (name, _, help) in HISTOGRAMS {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
            for ((_, labels), h) in map.range((*name, String::new())..).take_while(|((n, _), _)| n == name) {
                let mut cumulative = 0;
                for (b, n) in BUCKETS.iter().zip(h.buckets) {
                    cumulative += n;
                    let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{b}\"}} {cumulative}");
                }
                let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", h.count);
                let _ = writeln!(out, "{name}_sum{{{labels}}} {}", fmt_value(h.sum));
                let _ = writeln!(out, "{name}_count{{{labels}}} {}", h.count);
            }
        }
        drop(map);
        for g in gauges {
            let _ = writeln!(out, "# HELP {} {}\n# TYPE {} gauge", g.name, g.help, g.name);
            for (labels, v) in &g.samples {
                let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape_label(v))).collect();
                let labels = if labels.is_empty() { String::new() } else { format!("{{{}}}", labels.join(",")) };
                let _ = writeln!(out, "{}{labels} {}", g.name, fmt_value(*v));
            }
        }
        out
    }
}

/// A gauge family read at scrape time.
#[derive(Debug, Clone, PartialEq)]
pub struct Gauge {
    pub name: &'static str,
    pub help: &'static str,
    pub samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

/// Label values escape backslash, double quote and newline (text format 0.0.4).
fn escape_label(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_with_help_type_and_escaped_labels() {
        let m = Metrics::default();
        m.inc("escucha_polls_total", "x");
        m.inc("escucha_polls_total", "x");
        m.inc("escucha_alerts_sent_total", "webhook:\"odd\"");
        let text = m.render(&[Gauge { name: "escucha_outbox_depth", help: "Outbox rows waiting.", samples: vec![(vec![], 3.0)] }]);
        assert!(text.contains("# TYPE escucha_polls_total counter\n"), "{text}");
        assert!(text.contains("escucha_polls_total{source=\"x\"} 2\n"), "{text}");
        assert!(text.contains("escucha_alerts_sent_total{channel=\"webhook:\\\"odd\\\"\"} 1\n"), "{text}");
        assert!(text.contains("# TYPE escucha_poll_errors_total counter\n"), "empty families are still declared");
        assert!(text.contains("# TYPE escucha_outbox_depth gauge\nescucha_outbox_depth 3\n"), "{text}");
        assert_eq!(m.get("escucha_polls_total", "x"), 2);
    }

    #[test]
    fn histograms_are_cumulative_and_counters_can_show_at_zero() {
        let m = Metrics::default();
        m.observe("escucha_poll_duration_seconds", "x", 0.07);
        m.observe("escucha_poll_duration_seconds", "x", 3.0);
        m.touch("escucha_polls_total", &["mastodon"]);
        m.inc_by("escucha_mentions_ingested_total", &["acme", "x", "complaint"]);
        let text = m.render(&[]);
        assert!(text.contains("# TYPE escucha_poll_duration_seconds histogram\n"), "{text}");
        assert!(text.contains("escucha_poll_duration_seconds_bucket{source=\"x\",le=\"0.05\"} 0\n"), "{text}");
        assert!(text.contains("escucha_poll_duration_seconds_bucket{source=\"x\",le=\"0.1\"} 1\n"), "{text}");
        assert!(text.contains("escucha_poll_duration_seconds_bucket{source=\"x\",le=\"5\"} 2\n"), "{text}");
        assert!(text.contains("escucha_poll_duration_seconds_bucket{source=\"x\",le=\"+Inf\"} 2\n"), "{text}");
        assert!(text.contains("escucha_poll_duration_seconds_count{source=\"x\"} 2\n"), "{text}");
        assert!(text.contains("escucha_polls_total{source=\"mastodon\"} 0\n"), "{text}");
        assert!(text.contains("escucha_mentions_ingested_total{brand=\"acme\",platform=\"x\",class=\"complaint\"} 1\n"), "{text}");
    }

    #[test]
    fn one_family_does_not_show_another_familys_series() {
        let m = Metrics::default();
        m.inc("escucha_poll_errors_total", "reddit");
        let text = m.render(&[]);
        assert!(!text.contains("escucha_polls_total{"), "{text}");
        assert!(text.contains("escucha_poll_errors_total{source=\"reddit\"} 1"), "{text}");
    }
}
