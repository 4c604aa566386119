//! Measures the classifier against labelled mentions (JSON Lines with
//! `text`, `label` and optional `lang`): per-class precision, recall and F1,
//! macro F1, the confusion matrix and the most confident mistakes. Backs
//! `escucha eval FILE.jsonl [--json]`.
//!
//! Scoring: when the gold file has no escalation labels, a predicted
//! escalation counts as a complaint. The complaint-vs-not (binary) scores are
//! always given; when the gold labels include `other` (not a complaint, any
//! sentiment) they are the only meaningful ones and become the headline.

use super::{Classification, Classifier, Context};
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::io::BufRead;

const GOLD_LABELS: &[&str] = &["praise", "complaint", "escalation", "neutral", "other"];
const WORST: usize = 20;

#[derive(Debug, Deserialize)]
struct Row {
    text: String,
    label: String,
    #[serde(default)]
    lang: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClassScore {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Gold rows with this label.
    pub support: usize,
}

/// Scores over one label set; `confusion[gold][predicted]` in `labels` order.
#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    pub labels: Vec<String>,
    pub classes: Vec<ClassScore>,
    pub macro_f1: f64,
    pub accuracy: f64,
    pub confusion: Vec<Vec<usize>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Mistake {
    pub text: String,
    pub gold: String,
    pub predicted: String,
    pub score: f64,
    pub lang: String,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub total: usize,
    /// `binary` (complaint vs not) or `classes`.
    pub scoring: String,
    /// Macro F1 of the headline scoring.
    pub macro_f1: f64,
    /// Per-class scores; None under binary scoring.
    pub classes: Option<Metrics>,
    /// Complaint (incl. escalation) vs everything else.
    pub binary: Metrics,
    /// The most confident wrong answers under the headline scoring.
    pub worst: Vec<Mistake>,
}

fn metrics(labels: &[&str], pairs: &[(usize, usize)]) -> Metrics {
    let n = labels.len();
    let mut confusion = vec![vec![0usize; n]; n];
    for &(g, p) in pairs {
        confusion[g][p] += 1;
    }
    let mut classes = Vec::with_capacity(n);
    for (k, label) in labels.iter().enumerate() {
        let tp = confusion[k][k] as f64;
        let predicted: usize = (0..n).map(|g| confusion[g][k]).sum();
        let support: usize = confusion[k].iter().sum();
        let precision = if predicted == 0 { 0.0 } else { tp / predicted as f64 };
        let recall = if support == 0 { 0.0 } else { tp / support as f64 };
        let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
        classes.push(ClassScore { label: (*label).to_string(), precision, recall, f1, support });
    }
    // Macro over the labels that occur in the gold data.
    let present: Vec<&ClassScore> = classes.iter().filter(|c| c.support > 0).collect();
    let macro_f1 = if present.is_empty() { 0.0 } else { present.iter().map(|c| c.f1).sum::<f64>() / present.len() as f64 };
    let correct: usize = (0..n).map(|k| confusion[k][k]).sum();
    let accuracy = if pairs.is_empty() { 0.0 } else { correct as f64 / pairs.len() as f64 };
    Metrics { labels: labels.iter().map(|s| s.to_string()).collect(), classes, macro_f1, accuracy, confusion }
}

/// Classifies every row of `lines` with the rules and the shipped model,
/// and scores the answers.
pub fn evaluate(lines: impl BufRead) -> anyhow::Result<Report> {
    evaluate_with(&Classifier::shipped(), lines)
}

/// Classifies every row of `lines` with `classifier` and scores the answers.
pub fn evaluate_with(classifier: &Classifier, lines: impl BufRead) -> anyhow::Result<Report> {
    let mut rows: Vec<(Row, Classification)> = Vec::new();
    for (n, line) in lines.lines().enumerate() {
        let line = line.with_context(|| format!("reading line {}", n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let row: Row = serde_json::from_str(&line).with_context(|| format!("line {}: not a JSON object with text and label", n + 1))?;
        if !GOLD_LABELS.contains(&row.label.as_str()) {
            anyhow::bail!("line {}: label {:?} is not one of {}", n + 1, row.label, GOLD_LABELS.join(", "));
        }
        let ctx = Context { lang: row.lang.clone(), ..Context::default() };
        let c = classifier.classify(&row.text, &ctx);
        rows.push((row, c));
    }
    let has_other = rows.iter().any(|(r, _)| r.label == "other");
    let has_escalation = rows.iter().any(|(r, _)| r.label == "escalation");

    let is_complaint = |s: &str| s == "complaint" || s == "escalation";
    let binary_labels = ["complaint", "not-complaint"];
    let binary_pairs: Vec<(usize, usize)> = rows.iter().map(|(r, c)| (usize::from(!is_complaint(&r.label)), usize::from(!c.class.needs_answer()))).collect();
    let binary = metrics(&binary_labels, &binary_pairs);

    let class_labels: Vec<&str> = if has_escalation { vec!["praise", "complaint", "escalation", "neutral"] } else { vec!["praise", "complaint", "neutral"] };
    let fold_pred = |c: &Classification| -> &'static str {
        match c.class.as_str() {
            "escalation" if !has_escalation => "complaint",
            other => other,
        }
    };
    let classes = (!has_other).then(|| {
        let pairs: Vec<(usize, usize)> = rows
            .iter()
            .map(|(r, c)| {
                let g = class_labels.iter().position(|l| *l == r.label).unwrap_or(0);
                let p = class_labels.iter().position(|l| *l == fold_pred(c)).unwrap_or(0);
                (g, p)
            })
            .collect();
        metrics(&class_labels, &pairs)
    });

    let mut worst: Vec<Mistake> = rows
        .iter()
        .filter(|(r, c)| if has_other { is_complaint(&r.label) != c.class.needs_answer() } else { r.label != fold_pred(c) })
        .map(|(r, c)| Mistake {
            text: r.text.clone(),
            gold: r.label.clone(),
            predicted: c.class.as_str().to_string(),
            score: c.score,
            lang: c.lang.to_string(),
            reasons: c.reasons.iter().map(|r| r.to_string()).collect(),
        })
        .collect();
    worst.sort_by(|a, b| b.score.total_cmp(&a.score));
    worst.truncate(WORST);

    let (scoring, macro_f1) = match &classes {
        Some(m) => ("classes", m.macro_f1),
        None => ("binary", binary.macro_f1),
    };
    Ok(Report { total: rows.len(), scoring: scoring.into(), macro_f1, classes, binary, worst })
}

fn render_metrics(out: &mut String, title: &str, m: &Metrics) {
    let _ = writeln!(out, "{title}: macro F1 {:.3}, accuracy {:.3}", m.macro_f1, m.accuracy);
    let _ = writeln!(out, "  {:<14} {:>9} {:>9} {:>9} {:>8}", "class", "precision", "recall", "F1", "support");
    for c in &m.classes {
        let _ = writeln!(out, "  {:<14} {:>9.3} {:>9.3} {:>9.3} {:>8}", c.label, c.precision, c.recall, c.f1, c.support);
    }
    let _ = write!(out, "  confusion (rows gold, columns predicted)\n  {:<14}", "");
    for l in &m.labels {
        let _ = write!(out, " {l:>13}");
    }
    out.push('\n');
    for (l, row) in m.labels.iter().zip(&m.confusion) {
        let _ = write!(out, "  {l:<14}");
        for v in row {
            let _ = write!(out, " {v:>13}");
        }
        out.push('\n');
    }
}

impl Report {
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{} mentions, scoring: {}, macro F1 {:.3}\n", self.total, self.scoring, self.macro_f1);
        if let Some(m) = &self.classes {
            render_metrics(&mut out, "per class", m);
            out.push('\n');
        }
        render_metrics(&mut out, "complaint vs not", &self.binary);
        if !self.worst.is_empty() {
            let _ = writeln!(out, "\nmost confident mistakes:");
            for m in &self.worst {
                let text: String = m.text.chars().take(140).collect::<String>().replace('\n', " ");
                let _ = writeln!(out, "  {:.2} gold={} predicted={} [{}] {}\n       {}", m.score, m.gold, m.predicted, m.lang, m.reasons.join(", "), text);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{"text": "Pésimo servicio, nadie contesta", "label": "complaint", "lang": "es"}
{"text": "Thank you so much, the crew was wonderful", "label": "praise"}
{"text": "What time does the counter open?", "label": "neutral", "lang": "en"}
{"text": "Worst airline ever, I will sue you", "label": "complaint"}
"#;

    #[test]
    fn a_sample_the_classifier_gets_right_scores_one() {
        let r = evaluate(SAMPLE.as_bytes()).unwrap();
        assert_eq!(r.total, 4);
        assert_eq!(r.scoring, "classes");
        assert!((r.macro_f1 - 1.0).abs() < 1e-9, "{}", r.render_text());
        assert_eq!(r.binary.confusion, vec![vec![2, 0], vec![0, 2]]);
        assert!(r.worst.is_empty());
    }

    #[test]
    fn other_labels_switch_to_binary_scoring_and_list_mistakes() {
        let data = "{\"text\": \"Worst service ever, nobody answers\", \"label\": \"other\"}\n{\"text\": \"Thank you, lovely flight\", \"label\": \"other\"}\n";
        let r = evaluate(data.as_bytes()).unwrap();
        assert_eq!(r.scoring, "binary");
        assert!(r.classes.is_none());
        assert_eq!(r.worst.len(), 1);
        assert_eq!(r.worst[0].gold, "other");
        assert_eq!(r.worst[0].predicted, "complaint");
        let text = r.render_text();
        assert!(text.contains("complaint vs not"));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["scoring"], "binary");
    }

    #[test]
    fn an_unknown_label_names_its_line() {
        let err = evaluate("{\"text\": \"x\", \"label\": \"angry\"}\n".as_bytes()).unwrap_err();
        assert!(format!("{err:#}").contains("line 1"), "{err:#}");
    }
}
