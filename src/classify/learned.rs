//! The learned stage: a logistic-regression head over the post's static
//! multilingual vector (`pieces`), its words and the rules' evidence,
//! fitted to the data the project ships (`data/train/`) plus the
//! deployment's own labels, which outweigh the shipped ones once there are
//! a few hundred. Fitting takes well under a second for thousands of
//! labels, so a deployment refits whenever its team corrects a mention.
//!
//! Classes are the head's outputs in `Class` order; praise, complaint (with
//! escalation) and neutral compete, and an escalation is a complaint the
//! head or the rules call urgent.

use super::logreg::{Example, LogReg, Settings};
use super::pieces::{self, Table};
use super::{Classification, Evidence};
use crate::model::Class;
use serde::Deserialize;
use std::sync::{Arc, OnceLock};

/// The head's outputs, in this order.
pub const CLASSES: [Class; 4] = [Class::Praise, Class::Complaint, Class::Escalation, Class::Neutral];
/// Hashed word and word-pair features: 2^18 buckets keep collisions rare
/// for a deployment's vocabulary at 4 MB of weights.
const SPARSE_BITS: u32 = 18;
/// Rule features appended to the vector.
const RULE_FEATURES: usize = 9;
/// Below this many local labels no cross-validated score is given: a
/// fold of fewer than ten rows says little.
pub const MIN_CV_LABELS: usize = 50;
pub const FOLDS: usize = 5;
/// Once there are this many local labels they weigh, in all, twice the
/// shipped data; fewer weigh as much as this many would.
const LOCAL_FULL: usize = 200;
const LOCAL_SHARE: f64 = 2.0;

/// Training files shipped in the binary (sources and licences:
/// `data/train/README.md`).
const SHIPPED_FILES: &[(&str, &str)] = &[
    ("data/train/written-en.jsonl", include_str!("../../data/train/written-en.jsonl")),
    ("data/train/written-es.jsonl", include_str!("../../data/train/written-es.jsonl")),
    ("data/train/written-en-2.jsonl", include_str!("../../data/train/written-en-2.jsonl")),
    ("data/train/written-es-2.jsonl", include_str!("../../data/train/written-es-2.jsonl")),
];

static SHIPPED_HEAD: &[u8] = include_bytes!("../../models/head-shipped.bin");

/// A text with the class a person gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    pub text: String,
    pub class: Class,
    pub lang: Option<String>,
}

#[derive(Deserialize)]
struct Line {
    text: String,
    label: String,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    brand: Option<String>,
}

/// A label as people write it: the four classes, and `other` (not a
/// complaint, as the complaint corpora say) as neutral.
pub fn parse_label(s: &str) -> Option<Class> {
    match s.trim().to_ascii_lowercase().as_str() {
        "other" | "not-complaint" | "none" => Some(Class::Neutral),
        s => Class::parse(s),
    }
}

/// Reads one JSON line `{"text", "label", "lang"?, "brand"?}`.
pub fn parse_line(line: &str) -> Result<Labelled, String> {
    parse_line_with_brand(line).map(|(l, _)| l)
}

/// `parse_line`, and the brand the line names, if any.
pub fn parse_line_with_brand(line: &str) -> Result<(Labelled, Option<String>), String> {
    let l: Line = serde_json::from_str(line).map_err(|e| format!("not a JSON object with text and label: {e}"))?;
    if l.text.trim().is_empty() {
        return Err("text is empty".into());
    }
    let class = parse_label(&l.label).ok_or_else(|| format!("label {:?} is not praise, complaint, escalation, neutral or other", l.label))?;
    Ok((Labelled { text: l.text, class, lang: l.lang }, l.brand))
}

/// The shipped training rows.
pub fn shipped_data() -> &'static [Labelled] {
    static DATA: OnceLock<Vec<Labelled>> = OnceLock::new();
    DATA.get_or_init(|| {
        SHIPPED_FILES
            .iter()
            .flat_map(|(name, text)| {
                text.lines()
                    .enumerate()
                    .filter(|(_, l)| !l.trim().is_empty())
                    .map(move |(n, l)| parse_line(l).unwrap_or_else(|e| panic!("{name}:{}: {e} (tests read every shipped line)", n + 1)))
            })
            .collect()
    })
}

/// What a fit was made from, for `learn`'s report and the logs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FitInfo {
    pub shipped: usize,
    pub local: usize,
    /// Times each local label is seen per shipped one.
    pub local_weight: u32,
}

#[derive(Debug)]
pub struct Model {
    table: &'static Table,
    head: LogReg,
    pub info: FitInfo,
}

/// A post as the head sees it.
struct Features {
    dense: Vec<f32>,
    sparse: Vec<u32>,
}

fn features(table: &Table, text: &str, rules: &Classification, ev: &Evidence, scratch: &mut Vec<u32>) -> Features {
    let mut dense = table.embed(text, scratch);
    let class = CLASSES.iter().position(|c| *c == rules.class).unwrap_or(3);
    let mut one_hot = [0.0f32; 4];
    one_hot[class] = 1.0;
    dense.extend_from_slice(&[
        (ev.neg / 2.0).min(2.0),
        (ev.pos / 2.0).min(2.0),
        f32::from(u8::from(ev.question)),
        f32::from(u8::from(ev.announcement)),
        (ev.signals as f32).min(2.0),
    ]);
    dense.extend_from_slice(&one_hot);
    let mut sparse = Vec::with_capacity(48);
    // The low bits of the hash pick the bucket.
    words(text, |h| sparse.push((h & ((1u64 << SPARSE_BITS) - 1)) as u32));
    sparse.sort_unstable();
    sparse.dedup();
    Features { dense, sparse }
}

/// Hashes of the text's folded words and adjacent word pairs. Links and
/// handles become one word each ("@" and "http"): who is addressed says
/// little about how the author feels, and a deployment's handles would
/// otherwise be learnt as sentiment.
fn words(text: &str, mut emit: impl FnMut(u64)) {
    let folded = crate::text::fold(text);
    let mut prev: Option<u64> = None;
    for raw in folded.split_whitespace() {
        let token: &str = if raw.starts_with("http") || raw.starts_with("www.") {
            "http"
        } else if raw.starts_with('@') {
            "@"
        } else {
            raw
        };
        // A word and, with the word before it, a pair.
        let mut piece = |p: &str| {
            let h = fnv(p.as_bytes(), 0xcbf2_9ce4_8422_2325);
            emit(h);
            if let Some(q) = prev {
                emit(q.rotate_left(17) ^ h ^ 0x9e37_79b9_7f4a_7c15);
            }
            prev = Some(h);
        };
        let mut start = None;
        for (i, c) in token.char_indices() {
            if c.is_alphanumeric() || c == '@' {
                start.get_or_insert(i);
            } else {
                if let Some(s) = start.take() {
                    piece(&token[s..i]);
                }
                if c == '!' || c == '?' {
                    piece(&token[i..i + 1]);
                }
            }
        }
        if let Some(s) = start {
            piece(&token[s..]);
        }
    }
}

fn fnv(bytes: &[u8], seed: u64) -> u64 {
    bytes.iter().fold(seed, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}

fn class_index(c: Class) -> usize {
    CLASSES.iter().position(|x| *x == c).expect("every class is a head output")
}

fn examples(table: &Table, rows: &[Labelled], repeats: u32) -> Vec<Example> {
    let mut scratch = Vec::new();
    rows.iter()
        .map(|r| {
            let ctx = super::Context { lang: r.lang.clone(), ..Default::default() };
            let (c, ev) = super::rules(&r.text, &ctx);
            let f = features(table, &r.text, &c, &ev, &mut scratch);
            Example { dense: f.dense, sparse: f.sparse, class: class_index(r.class), repeats }
        })
        .collect()
}

/// How often each local label is seen per epoch.
fn local_weight(shipped: usize, local: usize) -> u32 {
    if local == 0 {
        return 1;
    }
    let w = LOCAL_SHARE * shipped as f64 / local.max(LOCAL_FULL) as f64;
    w.round().max(1.0) as u32
}

impl Model {
    /// Fits the head to the shipped data and `local` labels.
    pub fn fit(local: &[Labelled]) -> Model {
        // The shipped rows' features are the same for every fit (a
        // cross-validation fits six times): computed once per process.
        static SHIPPED_ROWS: OnceLock<Vec<Example>> = OnceLock::new();
        let table = pieces::shipped();
        let shipped = SHIPPED_ROWS.get_or_init(|| examples(table, shipped_data(), 1));
        let weight = local_weight(shipped.len(), local.len());
        let mut rows = Vec::with_capacity(shipped.len() + local.len());
        rows.extend_from_slice(shipped);
        rows.extend(examples(table, local, weight));
        let head = LogReg::fit(CLASSES.len(), table.dim() + RULE_FEATURES, SPARSE_BITS, &rows, Settings::default());
        Model { table, head, info: FitInfo { shipped: shipped.len(), local: local.len(), local_weight: weight } }
    }

    /// The model fitted to the shipped data alone: the committed fit
    /// (`models/head-shipped.bin`, written by `escucha shipped-head`; a test
    /// checks it is exactly what fitting gives today), so that starting
    /// costs no fit.
    pub fn shipped() -> Arc<Model> {
        static MODEL: OnceLock<Arc<Model>> = OnceLock::new();
        MODEL
            .get_or_init(|| {
                let table = pieces::shipped();
                match LogReg::from_bytes(SHIPPED_HEAD) {
                    Some(head) if head.classes() == CLASSES.len() => {
                        let info = FitInfo { shipped: shipped_data().len(), local: 0, local_weight: 1 };
                        Arc::new(Model { table, head, info })
                    }
                    _ => Arc::new(Model::fit(&[])),
                }
            })
            .clone()
    }

    /// The head's weights, as `models/head-shipped.bin` holds them.
    pub fn head_bytes(&self) -> Vec<u8> {
        self.head.to_bytes()
    }

    /// Class probabilities in `CLASSES` order.
    pub fn probabilities(&self, text: &str, rules: &Classification, ev: &Evidence) -> [f32; 4] {
        let mut scratch = Vec::new();
        let f = features(self.table, text, rules, ev, &mut scratch);
        let p = self.head.probabilities(&f.dense, &f.sparse);
        [p[0], p[1], p[2], p[3]]
    }

    pub fn weight_bytes(&self) -> usize {
        self.head.weight_bytes()
    }
}

/// The decision from the head's probabilities and the rules: the most
/// probable of praise, complaint (with escalation) and neutral; a
/// complaint is an escalation when the head says so or when the rules found
/// an escalation signal in the text or its context (reach, executives,
/// repeat authors). Reasons: the head's, then the rules' that agree.
pub fn decide(p: [f32; 4], rules: Classification, ev: &Evidence) -> Classification {
    let complaint = p[1] + p[2];
    let (class, score) = if complaint >= p[0] && complaint >= p[3] {
        if p[2] > p[1] || !ev.escalations.is_empty() {
            (Class::Escalation, complaint)
        } else {
            (Class::Complaint, complaint)
        }
    } else if p[0] >= p[3] {
        (Class::Praise, p[0])
    } else {
        (Class::Neutral, p[3])
    };
    let mut reasons = Vec::with_capacity(rules.reasons.len() + 2);
    // The head's own word: its escalation probability when that is what
    // escalated the post, otherwise the probability of the class it chose.
    let head_says = match class {
        Class::Escalation if p[2] > p[1] => format!("escalation:model:{:.2}", p[2]),
        Class::Escalation | Class::Complaint => format!("complaint:model:{score:.2}"),
        c => format!("{}:model:{score:.2}", c.as_str()),
    };
    reasons.push(head_says.into());
    let agrees = |r: &str| {
        let head = r.split(':').next().unwrap_or("");
        match class {
            Class::Complaint | Class::Escalation => head == "complaint",
            c => head == c.as_str(),
        }
    };
    reasons.extend(rules.reasons.into_iter().filter(|r| agrees(r)));
    if class.needs_answer() {
        for e in &ev.escalations {
            if !reasons.iter().any(|r| r == e) {
                reasons.push(e.clone().into());
            }
        }
    }
    Classification { class, score: f64::from(score).clamp(0.0, 1.0), lang: rules.lang, reasons }
}

/// Cross-validated macro F1 of fitting the local labels (with the shipped
/// data) over `FOLDS` folds, on the classes the labels use; escalation
/// counts as complaint unless the labels include escalations. None below
/// `MIN_CV_LABELS` labels.
pub fn cross_validate(local: &[Labelled]) -> Option<f64> {
    if local.len() < MIN_CV_LABELS {
        return None;
    }
    let has_escalation = local.iter().any(|l| l.class == Class::Escalation);
    let fold_class = |c: Class| if !has_escalation && c == Class::Escalation { Class::Complaint } else { c };
    let mut pairs = Vec::with_capacity(local.len());
    for k in 0..FOLDS {
        let train: Vec<Labelled> = local.iter().enumerate().filter(|(i, _)| i % FOLDS != k).map(|(_, l)| l.clone()).collect();
        let model = Model::fit(&train);
        for l in local.iter().enumerate().filter(|(i, _)| i % FOLDS == k).map(|(_, l)| l) {
            let ctx = super::Context { lang: l.lang.clone(), ..Default::default() };
            let (rules, ev) = super::rules(&l.text, &ctx);
            let p = model.probabilities(&l.text, &rules, &ev);
            let got = decide(p, rules, &Evidence { escalations: Vec::new(), ..ev });
            pairs.push((fold_class(l.class), fold_class(got.class)));
        }
    }
    Some(macro_f1(&pairs))
}

/// Macro F1 over the gold classes present.
pub fn macro_f1(pairs: &[(Class, Class)]) -> f64 {
    let mut sum = 0.0;
    let mut n = 0;
    for c in CLASSES {
        let support = pairs.iter().filter(|(g, _)| *g == c).count();
        if support == 0 {
            continue;
        }
        let tp = pairs.iter().filter(|(g, p)| *g == c && *p == c).count() as f64;
        let predicted = pairs.iter().filter(|(_, p)| *p == c).count() as f64;
        let precision = if predicted == 0.0 { 0.0 } else { tp / predicted };
        let recall = tp / support as f64;
        sum += if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
        n += 1;
    }
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn labelled(text: &str, class: Class) -> Labelled {
        Labelled { text: text.into(), class, lang: Some("en".into()) }
    }

    #[test]
    fn every_shipped_line_reads_and_every_class_is_taught() {
        let data = shipped_data();
        assert!(data.len() > 1500, "{} rows", data.len());
        for c in CLASSES {
            assert!(data.iter().filter(|l| l.class == c).count() >= 100, "{c}");
        }
        for lang in ["es", "en"] {
            assert!(data.iter().filter(|l| l.lang.as_deref() == Some(lang)).count() >= 500, "{lang}");
        }
    }

    #[test]
    fn the_committed_shipped_head_is_what_fitting_the_shipped_data_gives() {
        assert!(
            Model::fit(&[]).head_bytes() == SHIPPED_HEAD,
            "models/head-shipped.bin is stale: run `cargo run --release -- shipped-head models/head-shipped.bin`"
        );
    }

    #[test]
    fn labels_read_as_people_write_them() {
        assert_eq!(parse_label("other"), Some(Class::Neutral));
        assert_eq!(parse_label(" Complaint "), Some(Class::Complaint));
        assert_eq!(parse_label("angry"), None);
        assert_eq!(parse_line(r#"{"text": "hola", "label": "praise", "lang": "es"}"#).unwrap().lang.as_deref(), Some("es"));
        assert!(parse_line(r#"{"text": "  ", "label": "praise"}"#).unwrap_err().contains("empty"));
        assert!(parse_line(r#"{"label": "praise"}"#).unwrap_err().contains("text and label"));
        assert!(parse_line("plain text").is_err());
    }

    #[test]
    fn local_labels_outweigh_the_shipped_data_from_a_few_hundred_on() {
        assert_eq!(local_weight(1800, 0), 1);
        assert_eq!(local_weight(1800, 10), 18, "few labels weigh as 200 would");
        assert_eq!(local_weight(1800, 200), 18);
        assert_eq!(local_weight(1800, 3600), 1);
        assert_eq!(local_weight(1800, 100_000), 1, "never below one");
    }

    /// A deployment's own vocabulary: words the shipped data never saw
    /// decide once the team labels posts with them.
    #[test]
    fn a_teams_labels_teach_words_the_shipped_model_never_saw() {
        let mut local = Vec::new();
        for i in 0..40 {
            local.push(labelled(&format!("the zorblax on order {i} again"), Class::Complaint));
            local.push(labelled(&format!("order {i} came with a quenfo"), Class::Praise));
        }
        let probe = |m: &Model, text: &str| {
            let (c, ev) = crate::classify::rules(text, &Default::default());
            let p = m.probabilities(text, &c, &ev);
            decide(p, c, &ev).class
        };
        let taught = Model::fit(&local);
        assert_eq!(probe(&taught, "zorblax on my order today"), Class::Complaint);
        assert_eq!(probe(&taught, "a quenfo with my order today"), Class::Praise);
        assert_eq!(taught.info.local, 80);
    }

    fn ev(escalations: &[&str]) -> Evidence {
        Evidence { escalations: escalations.iter().map(|s| s.to_string()).collect(), ..Default::default() }
    }

    fn rules_said(class: Class, reasons: &[&'static str]) -> Classification {
        Classification { class, score: 0.7, lang: Cow::Borrowed("en"), reasons: reasons.iter().map(|r| Cow::Borrowed(*r)).collect() }
    }

    #[test]
    fn the_head_decides_and_the_rules_reasons_that_agree_stay() {
        let c = decide([0.1, 0.6, 0.1, 0.2], rules_said(Class::Neutral, &["neutral:question"]), &ev(&[]));
        assert_eq!(c.class, Class::Complaint);
        assert_eq!(c.reasons, vec!["complaint:model:0.70"]);
        assert!((c.score - 0.7).abs() < 1e-6);

        let c = decide([0.7, 0.1, 0.0, 0.2], rules_said(Class::Praise, &["praise:phrase:thanks"]), &ev(&[]));
        assert_eq!((c.class, c.reasons.len()), (Class::Praise, 2), "{:?}", c.reasons);
    }

    #[test]
    fn complaint_and_escalation_together_outvote_a_larger_single_class() {
        // 0.3 + 0.3 > 0.4: the head is surer it needs an answer than not.
        let c = decide([0.0, 0.3, 0.3, 0.4], rules_said(Class::Neutral, &[]), &ev(&[]));
        assert!(c.class.needs_answer(), "{c:?}");
    }

    #[test]
    fn a_complaint_with_an_escalation_signal_is_an_escalation_whoever_found_it() {
        let by_rules = decide([0.1, 0.7, 0.0, 0.2], rules_said(Class::Complaint, &["complaint:phrase:lost"]), &ev(&["escalation:reach:followers>=10000"]));
        assert_eq!(by_rules.class, Class::Escalation);
        assert_eq!(by_rules.reasons, vec!["complaint:model:0.70", "complaint:phrase:lost", "escalation:reach:followers>=10000"]);
        let by_head = decide([0.1, 0.2, 0.6, 0.1], rules_said(Class::Neutral, &[]), &ev(&[]));
        assert_eq!(by_head.class, Class::Escalation);
        assert_eq!(by_head.reasons, vec!["escalation:model:0.60"]);
        // Not a complaint: the signal alone does not page.
        let quiet = decide([0.8, 0.1, 0.0, 0.1], rules_said(Class::Praise, &[]), &ev(&["escalation:reach:followers>=10000"]));
        assert_eq!(quiet.class, Class::Praise);
    }

    #[test]
    fn cross_validation_needs_enough_labels() {
        let few: Vec<Labelled> = (0..MIN_CV_LABELS - 1).map(|i| labelled(&format!("post {i}"), Class::Neutral)).collect();
        assert_eq!(cross_validate(&few), None);
    }

    #[test]
    fn macro_f1_averages_the_gold_classes_present() {
        let pairs = [(Class::Praise, Class::Praise), (Class::Complaint, Class::Praise), (Class::Complaint, Class::Complaint)];
        // praise: p 0.5 r 1 -> 0.667; complaint: p 1 r 0.5 -> 0.667
        assert!((macro_f1(&pairs) - 2.0 / 3.0).abs() < 1e-9);
    }
}
