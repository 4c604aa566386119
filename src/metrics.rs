//! Counters for `/metrics`, kept in memory since the process started, and
//! the Prometheus text format (0.0.4) that shows them next to gauges read
//! from the store. The loops bump counters through `metrics::global()`;
//! nothing here does I/O.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Counter families: name, label name, help. A family is printed (HELP and
/// TYPE) even before its first sample, so dashboards see the series exist.
pub const COUNTERS: &[(&str, &str, &str)] = &[
    ("escucha_polls_total", "source", "Source requests that returned a page."),
    ("escucha_poll_errors_total", "source", "Source requests that failed."),
    ("escucha_rate_limit_waits_total", "source", "Times a source waited for its platform's rate-limit window."),
    ("escucha_alerts_sent_total", "channel", "Alert and notice deliveries accepted by the channel."),
    ("escucha_alerts_failed_total", "channel", "Delivery attempts that failed and will be retried."),
    ("escucha_alerts_dead_lettered_total", "channel", "Deliveries refused for good (dead-lettered)."),
];

/// A registry of labelled counters. Each series is an atomic; the map lock
/// is taken only to find (or create) it.
#[derive(Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<(&'static str, String), Arc<AtomicU64>>>,
}

/// The process's registry.
pub fn global() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    M.get_or_init(Metrics::default)
}

impl Metrics {
    /// Adds one to `family{<label>="value"}`. `family` must be in `COUNTERS`.
    pub fn inc(&self, family: &'static str, value: &str) {
        debug_assert!(COUNTERS.iter().any(|c| c.0 == family), "unknown counter {family}");
        let c = self.series.lock().unwrap_or_else(|e| e.into_inner()).entry((family, value.to_string())).or_default().clone();
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self, family: &'static str, value: &str) -> u64 {
        let map = self.series.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&(family, value.to_string())).map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// The counters, then `gauges`, in Prometheus text format 0.0.4.
    pub fn render(&self, gauges: &[Gauge]) -> String {
        let mut out = String::new();
        let map = self.series.lock().unwrap_or_else(|e| e.into_inner());
        for (name, label, help) in COUNTERS {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for ((_, value), c) in map.range((*name, String::new())..).take_while(|((n, _), _)| n == name) {
                let _ = writeln!(out, "{name}{{{label}=\"{}\"}} {}", escape_label(value), c.load(Ordering::Relaxed));
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
        let text = m.render(&[Gauge {
            name: "escucha_outbox_depth",
            help: "Outbox rows waiting.",
            samples: vec![(vec![], 3.0)],
        }]);
        assert!(text.contains("# TYPE escucha_polls_total counter\n"), "{text}");
        assert!(text.contains("escucha_polls_total{source=\"x\"} 2\n"), "{text}");
        assert!(text.contains("escucha_alerts_sent_total{channel=\"webhook:\\\"odd\\\"\"} 1\n"), "{text}");
        assert!(text.contains("# TYPE escucha_poll_errors_total counter\n"), "empty families are still declared");
        assert!(text.contains("# TYPE escucha_outbox_depth gauge\nescucha_outbox_depth 3\n"), "{text}");
        assert_eq!(m.get("escucha_polls_total", "x"), 2);
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
