//! The classifier: a pure function from a mention's text and context to a
//! class, a score and reasons a person can read. No I/O.
//!
//! Two stages (`Classifier`): the rules in this file, then the learned head
//! (`learned`) that reads the rules' evidence beside the text's vector and
//! words, then the brand's phrases (`phrases`). The rules: the text is tokenized
//! (`normalize`), matched against a bilingual lexicon (`lexicon`), and the
//! hits are weighed here with negation scope, contrast ("but"), concession
//! ("despite"), sarcasm, competitor comparison and third-party problems.

pub mod eval;
pub mod lang;
pub mod learned;
pub mod lexicon;
pub mod logreg;
pub mod normalize;
pub mod phrases;
pub mod pieces;
mod words;

use crate::config::Escalate;
use crate::model::Class;
use lexicon::{lexicon, Cue, Entry, Match, PostLang};
use normalize::{Kind, Summary, Token, TokenScratch};
use serde::Serialize;
use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Arc;

/// What the classifier knows besides the text.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Language as the platform reported it (`es`, `en`, `es-MX`...).
    pub lang: Option<String>,
    pub author_followers: Option<u64>,
    pub reposts: Option<u64>,
    /// Complaints by the same author about the same brand within
    /// `escalate.window`, not counting this one.
    pub recent_complaints: u32,
    /// The brand's executives' handles, without `@`.
    pub executives: Vec<String>,
    pub escalate: Escalate,
    /// The brand's own phrases (`[brand.classify]`).
    pub phrases: Option<Arc<phrases::Phrases>>,
    /// A review's star rating, 1-5: a signal, not the verdict (see
    /// [`lean_on_rating`]).
    pub rating: Option<u8>,
}

/// The two stages together: the rules, then (when on) the learned head,
/// then the brand's phrases. Cheap to clone; the daemon swaps in a new one
/// when the team's labels change.
#[derive(Debug, Clone)]
pub struct Classifier {
    model: Option<Arc<learned::Model>>,
}

impl Classifier {
    /// The rules and the brand phrases only (`[daemon] classifier = "rules"`).
    pub fn rules_only() -> Classifier {
        Classifier { model: None }
    }

    /// With the model fitted to the shipped data alone.
    pub fn shipped() -> Classifier {
        Classifier { model: Some(learned::Model::shipped()) }
    }

    pub fn with_model(model: Arc<learned::Model>) -> Classifier {
        Classifier { model: Some(model) }
    }

    pub fn model(&self) -> Option<&Arc<learned::Model>> {
        self.model.as_ref()
    }

    pub fn classify(&self, text: &str, ctx: &Context) -> Classification {
        let (c, ev) = rules(text, ctx);
        let c = match &self.model {
            None => c,
            Some(m) => {
                let p = m.probabilities(text, &c, &ev);
                learned::decide(p, c, &ev)
            }
        };
        let c = match ctx.rating {
            Some(stars) => lean_on_rating(c, stars, &ev),
            None => c,
        };
        match ctx.phrases.as_deref().and_then(|p| p.find(text)) {
            Some((class, phrase)) => brand_phrase(c, class, phrase, &ev),
            None => c,
        }
    }
}

/// A review's stars lean the verdict the text leaves open: with 1-2 stars a
/// neutral or praising text is a complaint (an escalation when the context
/// escalates), with 4-5 a neutral one is praise. What the text says against
/// the brand is kept whatever the stars: a five-star "the app crashes since
/// the update" stays a complaint. 3 stars say nothing either way.
pub fn lean_on_rating(c: Classification, stars: u8, ev: &Evidence) -> Classification {
    let reason = |class: Class| Cow::Owned(format!("{}:rating:{stars}", class.as_str()));
    match (stars, c.class) {
        (1..=2, Class::Neutral | Class::Praise) => {
            let class = if ev.escalations.is_empty() { Class::Complaint } else { Class::Escalation };
            let mut reasons = vec![reason(Class::Complaint)];
            reasons.extend(ev.escalations.iter().map(|e| Cow::Owned(e.clone())));
            Classification { class, score: if stars == 1 { 0.8 } else { 0.65 }, lang: c.lang, reasons }
        }
        (1..=2, Class::Complaint | Class::Escalation) => {
            let mut c = c;
            c.reasons.push(reason(Class::Complaint));
            c.score = c.score.max(0.8);
            c
        }
        (4..=5, Class::Neutral) => Classification { class: Class::Praise, score: 0.6, lang: c.lang, reasons: vec![reason(Class::Praise)] },
        _ => c,
    }
}

/// The class a brand phrase decides; a complaint phrase in a post the
/// context escalates (reach, executives, repeat author) is an escalation.
fn brand_phrase(c: Classification, class: Class, phrase: &str, ev: &Evidence) -> Classification {
    let mut reasons: Vec<Cow<'static, str>> = vec![format!("{}:brand-phrase:{phrase}", class.as_str()).into()];
    let class = if class == Class::Complaint && !ev.escalations.is_empty() { Class::Escalation } else { class };
    if class.needs_answer() {
        reasons.extend(ev.escalations.iter().map(|e| Cow::Owned(e.clone())));
    }
    Classification { class, score: 0.99, lang: c.lang, reasons }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    pub class: Class,
    /// Confidence in [0, 1].
    pub score: f64,
    /// Detected or given language (`es`, `en`, or another ISO 639-1 code);
    /// borrowed for the languages the classifier knows, so that
    /// classifying allocates only the reasons.
    pub lang: Cow<'static, str>,
    /// e.g. `complaint:phrase:sin respuesta`, `escalation:reach:followers>=10000`;
    /// borrowed when the reason is fixed text (`neutral:no-signal`).
    pub reasons: Vec<Cow<'static, str>>,
}

/// Evidence below this is too thin to call a complaint or praise.
const COMPLAINT_MIN: f32 = 0.55;
const PRAISE_MIN: f32 = 0.7;
/// Unhappy customers often soften a complaint with thanks; mixed evidence
/// leans to complaint, which is also the cheaper mistake (a page, not silence).
const COMPLAINT_BIAS: f32 = 1.25;
/// Negative evidence in a sentence that makes its "thanks" or "great" ironic;
/// one mild word ("late", "retraso") is not enough: "thanks for the update,
/// the technician is running late" is plain thanks.
const IRONY_MIN: f32 = 1.0;
/// How much of a headline's negative wording still counts.
const BROADCAST_DAMPING: f32 = 0.45;
/// How much of a how-to question's problem wording still counts.
const HOW_TO_DAMPING: f32 = 0.5;
/// Hits this heavy are judgements, not reported facts.
const JUDGEMENT_MIN: f32 = 1.4;
const NEGATOR_WEIGHT: f32 = 0.3;
const NEGATION_CAP: f32 = 0.9;
/// Negative words whose negation is praise ("not bad", "nunca me ha
/// fallado"); negating other negative words ("don't believe their lies")
/// only weakens them.
pub(crate) const FLIPPABLE: &[&str] = &[
    "bad",
    "mal",
    "malo",
    "mala",
    "fail",
    "falla",
    "fallo",
    "fall",
    "problem",
    "complain",
    "queja",
    "quej",
    "disappoint",
    "decepcion",
    "worse",
    "peor",
    "terrible",
    "horrible",
    "awful",
    "late",
    "tarde",
    "delay",
    "retras",
    "issue",
    "wrong",
    "worry",
    "lost",
    "perdi",
    "regret",
    "arrepent",
    "sucks",
    "pesim",
    "hate",
    "odio",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Polarity {
    Neg,
    Pos,
}

/// A hit's reason, kept as a label and the tokens it names; it becomes
/// text (`complaint:phrase:sin respuesta`) only if it is shown.
#[derive(Debug, Clone, Copy)]
struct Why {
    /// `complaint:phrase:`, `escalation:legal:`, `complaint:again`...
    label: &'static str,
    what: What,
}

#[derive(Debug, Clone, Copy)]
enum What {
    Nothing,
    /// The readable text of tokens `start..end` (see `push_span`).
    Span(usize, usize),
    /// One token's text as it is (a hashtag word).
    Token(usize),
}

impl Why {
    fn span(label: &'static str, start: usize, end: usize) -> Why {
        Why { label, what: What::Span(start, end) }
    }
    fn text(&self, tokens: &[Token]) -> Cow<'static, str> {
        if let What::Nothing = self.what {
            return Cow::Borrowed(self.label);
        }
        let mut out = String::with_capacity(self.label.len() + 24);
        out.push_str(self.label);
        match self.what {
            What::Nothing => {}
            What::Span(start, end) => push_span(&mut out, tokens, start, end),
            What::Token(i) => out.push_str(tokens[i].text),
        }
        Cow::Owned(out)
    }
}

const PRAISE_PHRASE: &str = "praise:phrase:";
const NEGATION: &str = "complaint:negation:";

#[derive(Debug, Clone)]
struct Hit {
    polarity: Polarity,
    weight: f32,
    reason: Why,
    sentence: usize,
    at: usize,
    ironic: bool,
    polite: bool,
}

#[derive(Debug, Default)]
struct Analysis {
    hits: Vec<Hit>,
    /// (kind, start, end) of legal/churn/safety/campaign wording.
    signals: Vec<(&'static str, usize, usize)>,
    /// Sentences that compare the brand with someone else.
    comparisons: Vec<usize>,
    again: Vec<usize>,
    contrasts: Vec<(usize, usize)>,
    request: bool,
    ad: bool,
    /// Sentences that ask how to do something.
    how_to: Vec<usize>,
    shouting: bool,
    /// Scratch for `top_reasons`.
    ranked: Vec<usize>,
}

/// Appends the readable text of tokens `start..end` ("pésimooo" reads as "pesimo").
fn push_span(out: &mut String, tokens: &[Token], start: usize, end: usize) {
    // A space before every piece but the first written: an empty piece
    // (a bare `@`) writes nothing and so gets no space after it.
    let base = out.len();
    for t in tokens[start..end.min(tokens.len())].iter().filter(|t| !t.is_break()) {
        if out.len() > base {
            out.push(' ');
        }
        out.push_str(t.alt.unwrap_or(t.text));
    }
}

impl Analysis {
    /// Empty, keeping the lists' capacity.
    fn clear(&mut self) {
        self.hits.clear();
        self.signals.clear();
        self.comparisons.clear();
        self.again.clear();
        self.contrasts.clear();
        self.request = false;
        self.ad = false;
        self.how_to.clear();
        self.shouting = false;
    }
}

/// Matches `tokens` against the lexicon into `a` (emptied first);
/// `matches` and `prefixed` are scratch lists.
fn analyze(
    tokens: &[Token],
    summary: &Summary,
    questions: &[bool],
    lang: PostLang,
    a: &mut Analysis,
    matches: &mut Vec<Match<'static>>,
    prefixed: &mut Vec<&'static Entry>,
) {
    let lex = lexicon();
    a.clear();
    let mut sentence = 0;
    // Words left in the current negation / concession / third-party scope.
    let mut negated: Option<(usize, usize)> = None; // (words left, negator index)
    let mut concession = 0usize;
    let mut third_party = 0usize;
    let mut boost: Option<(f32, usize)> = None;
    // The bare-negation hit of the current scope, dropped if it flips a word.
    let mut negator_hit: Option<usize> = None;
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        if t.is_break() {
            if t.is_sentence_end() || t.kind == Kind::Punct('?') {
                sentence += 1;
                third_party = 0;
            }
            // "despite X, Y": the concession ends with its clause.
            concession = 0;
            negated = None;
            boost = None;
            i += 1;
            continue;
        }
        lex.matches_into(tokens, i, lang, matches, prefixed);
        let Some(longest) = matches.first().map(|m| m.end - m.start) else {
            if t.kind == Kind::Hashtag && t.text.len() >= 6 {
                // "#worstservice", "#pesimoservicio": one lowercase word.
                if HASHTAG_NEG.iter().any(|s| has_part(t.text, s)) {
                    a.hits.push(hit(Polarity::Neg, 1.2, Why { label: "complaint:hashtag:#", what: What::Token(i) }, sentence, i));
                } else if HASHTAG_POS.iter().any(|s| has_part(t.text, s)) {
                    a.hits.push(hit(Polarity::Pos, 1.0, Why { label: "praise:hashtag:#", what: What::Token(i) }, sentence, i));
                }
            }
            if t.is_wordlike() {
                negated = negated.and_then(|(n, at)| (n > 1).then(|| (n - 1, at)));
                concession = concession.saturating_sub(1);
                third_party = third_party.saturating_sub(1);
                boost = boost.and_then(|(b, n)| (n > 1).then(|| (b, n - 1)));
            }
            i += 1;
            continue;
        };
        let scope_before = negated;
        let mut next_negated = negated.and_then(|(n, at)| (n > longest).then(|| (n - longest, at)));
        for m in matches.iter().take_while(|m| m.end - m.start == longest) {
            let e = m.entry;
            let phrase = |label| Why::span(label, m.start, m.end);
            let mut w = e.weight * boost.map_or(1.0, |b| b.0);
            if tokens[m.start..m.end].iter().any(|t| t.elongated || t.caps) {
                w *= 1.2;
            }
            if concession > 0 {
                w *= 0.3;
            }
            match e.cue {
                Cue::Negator => {
                    next_negated = Some((3, i));
                    negator_hit = Some(a.hits.len());
                    // Service failures are told with negations ("didn't
                    // arrive", "no llegó"); a bare negator leans negative.
                    a.hits.push(hit(Polarity::Neg, NEGATOR_WEIGHT, phrase(NEGATION), sentence, i));
                }
                Cue::Intensifier => boost = Some((e.weight, 2)),
                Cue::Contrast => {
                    a.contrasts.push((sentence, i));
                    next_negated = None;
                }
                Cue::Concessive => concession = 8,
                Cue::ThirdParty => third_party = 4,
                Cue::Request => a.request = true,
                Cue::Ad => a.ad = true,
                Cue::HowTo => a.how_to.push(sentence),
                Cue::Again => a.again.push(sentence),
                Cue::Comparison => {
                    a.comparisons.push(sentence);
                    a.hits.push(hit(Polarity::Neg, e.weight, phrase("complaint:comparison:"), sentence, i));
                }
                Cue::ComplaintQuestion => {
                    let q = questions.get(sentence).copied().unwrap_or(false);
                    let w = if q {
                        e.weight
                    } else if e.weight >= 1.0 {
                        e.weight * 0.4
                    } else {
                        0.0
                    };
                    if w > 0.0 {
                        a.hits.push(hit(Polarity::Neg, w, phrase("complaint:question:"), sentence, i));
                    }
                }
                Cue::Sarcasm => {
                    if e.weight > 0.0 {
                        a.hits.push(hit(Polarity::Neg, w, phrase("complaint:sarcasm:"), sentence, i));
                    }
                }
                Cue::Legal | Cue::Churn | Cue::Safety | Cue::Campaign => {
                    // "nobody was hurt", "no voy a demandar": negated threats are not threats.
                    if scope_before.is_none() {
                        let (kind, label) = match e.cue {
                            Cue::Legal => ("legal", "escalation:legal:"),
                            Cue::Churn => ("churn", "escalation:churn:"),
                            Cue::Safety => ("safety", "escalation:safety:"),
                            _ => ("campaign", "escalation:campaign:"),
                        };
                        if e.weight >= 1.0 {
                            a.signals.push((kind, m.start, m.end));
                        }
                        a.hits.push(hit(Polarity::Neg, w * 0.8, phrase(label), sentence, i));
                    }
                }
                Cue::Neg | Cue::Pos => {
                    let mut pol = if e.cue == Cue::Neg { Polarity::Neg } else { Polarity::Pos };
                    let mut reason = None;
                    if let Some((_, at)) = scope_before {
                        // "no está mal", "never failed me", "not happy".
                        let whole = |label| Why::span(label, at, m.end);
                        if pol == Polarity::Neg && e.flippable {
                            pol = Polarity::Pos;
                            if let Some(h) = negator_hit.and_then(|k| a.hits.get_mut(k)) {
                                h.weight = 0.0;
                            }
                            reason = Some(whole("praise:negated:"));
                        } else if pol == Polarity::Neg {
                            // "don't believe their lies": still negative.
                            w *= 0.5;
                        } else {
                            pol = Polarity::Neg;
                            w *= 0.9;
                            if let Some(h) = negator_hit.and_then(|k| a.hits.get_mut(k)) {
                                h.weight = 0.0;
                            }
                            reason = Some(whole("complaint:negated:"));
                        }
                    }
                    if pol == Polarity::Neg && third_party > 0 {
                        w *= 0.4;
                    }
                    let reason = reason.unwrap_or_else(|| match pol {
                        Polarity::Neg => phrase("complaint:phrase:"),
                        Polarity::Pos => phrase(PRAISE_PHRASE),
                    });
                    let mut h = hit(pol, w, reason, sentence, i);
                    h.ironic = e.ironic && scope_before.is_none();
                    h.polite = e.polite;
                    a.hits.push(h);
                    boost = None;
                }
            }
        }
        negated = next_negated;
        i += longest;
    }
    a.shouting = summary.caps >= 2 && summary.caps * 2 >= summary.words;
}

/// `word.contains(part)` for the short words and lists here, without
/// setting up a general substring search for every pair.
fn has_part(word: &str, part: &str) -> bool {
    let (word, part) = (word.as_bytes(), part.as_bytes());
    let Some((&first, _)) = part.split_first() else { return true };
    word.len() >= part.len() && (0..=word.len() - part.len()).any(|i| word[i] == first && word[i..i + part.len()] == *part)
}

fn hit(polarity: Polarity, weight: f32, reason: Why, sentence: usize, at: usize) -> Hit {
    Hit { polarity, weight, reason, sentence, at, ironic: false, polite: false }
}

/// Folds hits into the final weights, after the rules that need the whole
/// post: contrast, sarcasm, comparison, politeness, repetition, shouting.
fn weigh(a: &mut Analysis, questions: &[bool]) -> (f32, f32) {
    for &(s, at) in &a.contrasts {
        for h in a.hits.iter_mut().filter(|h| h.sentence == s) {
            h.weight *= if h.at < at { 0.6 } else { 1.2 };
        }
    }
    let sentences = a.hits.iter().map(|h| h.sentence).max().map_or(0, |m| m + 1);
    for s in 0..sentences {
        let neg_here: f32 = a.hits.iter().filter(|h| h.sentence == s && h.polarity == Polarity::Neg).map(|h| h.weight).sum();
        let compared = a.comparisons.contains(&s);
        for h in a.hits.iter_mut().filter(|h| h.sentence == s && h.polarity == Polarity::Pos) {
            let contrast_between = a.contrasts.iter().any(|&(cs, at)| cs == s && at > h.at.min(at) && at < h.at.max(at));
            if compared {
                // Praise for a competitor is a complaint about us.
                h.polarity = Polarity::Neg;
                if h.reason.label == PRAISE_PHRASE {
                    h.reason.label = "complaint:competitor-praise:";
                }
            } else if h.ironic && neg_here >= IRONY_MIN && !contrast_between {
                h.polarity = Polarity::Neg;
                if h.reason.label == PRAISE_PHRASE {
                    h.reason.label = "complaint:sarcasm:";
                }
            }
        }
        if a.again.contains(&s) && neg_here >= 0.7 {
            a.hits.push(hit(Polarity::Neg, 0.6, Why { label: "complaint:again", what: What::Nothing }, s, 0));
        }
    }
    // "How do I claim a refund?" asks about refunds; only a judgement in it
    // ("how do I get my money back from these thieves?") still counts fully.
    for &s in &a.how_to {
        if questions.get(s).copied().unwrap_or(false) {
            for h in a.hits.iter_mut().filter(|h| h.sentence == s && h.polarity == Polarity::Neg && h.weight < JUDGEMENT_MIN) {
                h.weight *= HOW_TO_DAMPING;
            }
        }
    }
    // Negations alone ("no", "ni", "not") hint at a problem but never make one.
    let mut negation = 0.0;
    for h in a.hits.iter_mut().filter(|h| h.reason.label == NEGATION) {
        h.weight = h.weight.min((NEGATION_CAP - negation).max(0.0));
        negation += h.weight;
    }
    let has_real_praise = a.hits.iter().any(|h| h.polarity == Polarity::Pos && !h.polite);
    let mut neg = 0.0;
    let mut pos = 0.0;
    for h in &mut a.hits {
        if h.polarity == Polarity::Pos && h.polite && a.request && !has_real_praise {
            // "can you help me? thanks": politeness, not praise.
            h.weight *= 0.35;
        }
        match h.polarity {
            Polarity::Neg => neg += h.weight,
            Polarity::Pos => pos += h.weight,
        }
    }
    if a.shouting && neg > 0.0 {
        neg = neg * 1.3 + 0.3;
        a.hits.push(hit(Polarity::Neg, 0.3, Why { label: "complaint:shouting", what: What::Nothing }, 0, 0));
    }
    (neg, pos)
}

/// The `n` heaviest distinct reasons of `polarity`; `ranked` is scratch space.
fn top_reasons(tokens: &[Token], hits: &[Hit], ranked: &mut Vec<usize>, polarity: Polarity, n: usize) -> Vec<Cow<'static, str>> {
    ranked.clear();
    ranked.extend((0..hits.len()).filter(|&k| hits[k].polarity == polarity && hits[k].weight > 0.05));
    // Stable: equally heavy hits keep the order they were found in.
    ranked.sort_by(|&a, &b| hits[b].weight.total_cmp(&hits[a].weight));
    // Room for `n` and the shouting reason `decide` may add: growing from
    // empty costs more than the allocation itself.
    let mut out: Vec<Cow<'static, str>> = Vec::with_capacity(n + 1);
    for h in ranked.iter().map(|&k| &hits[k]) {
        if !h.reason.label.starts_with("escalation:") {
            let reason = h.reason.text(tokens);
            if !out.contains(&reason) {
                out.push(reason);
            }
        }
        if out.len() == n {
            break;
        }
    }
    out
}

/// 0.5 at the threshold, approaching 1 as the margin grows.
fn confidence(margin: f32) -> f64 {
    let m = f64::from(margin.max(0.0));
    (0.55 + 0.44 * (1.0 - (-0.8 * m).exp())).min(0.99)
}

/// Pieces of run-together hashtags that carry a grievance or praise.
const HASHTAG_NEG: &[&str] = &[
    "fail",
    "worst",
    "bad",
    "suck",
    "never",
    "fraud",
    "scam",
    "disappoint",
    "shame",
    "nothelp",
    "ruin",
    "lost",
    "delay",
    "cancel",
    "missed",
    "greed",
    "unhappy",
    "angry",
    "terrible",
    "horrible",
    "awful",
    "boycott",
    "pesim",
    "peor",
    "verguenza",
    "fraude",
    "estafa",
    "nunca",
    "boicot",
    "nomas",
    "malservicio",
    "abuso",
    "queja",
    "reclam",
    "harto",
    "retras",
    "demora",
    "mierda",
    "queasco",
];
const HASHTAG_POS: &[&str] = &["love", "best", "great", "thank", "happy", "awesome", "gracias", "mejor", "feliz", "encanta", "excelente"];

/// Media handles: tagging the press is a public campaign.
const PRESS: &[&str] = &[
    "noticias",
    "news",
    "prensa",
    "press",
    "periodico",
    "diario",
    "cnn",
    "bbc",
    "telemundo",
    "univision",
    "reuters",
    "nytimes",
    "wsj",
    "elpais",
    "el_pais",
    "elmundo",
    "milenio",
    "eluniversal",
    "reforma",
    "latimes",
    "nbc",
    "cbs",
    "foxnews",
    "abc7",
    "televisa",
    "tvazteca",
    "rtve",
    "antena3",
    "telecinco",
    "lasexta",
    "infobae",
    "clarin",
];

fn window_text(w: std::time::Duration) -> String {
    let s = w.as_secs();
    match s {
        0 => "0s".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

fn escalation_reasons(tokens: &[Token], a: &Analysis, ctx: &Context) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |r: String| {
        if !out.contains(&r) {
            out.push(r);
        }
    };
    for &(kind, start, end) in &a.signals {
        let mut r = format!("escalation:{kind}:");
        push_span(&mut r, tokens, start, end);
        push(r);
    }
    for t in tokens.iter().filter(|t| t.kind == Kind::Handle) {
        if PRESS.iter().any(|p| has_part(t.text, p)) {
            push(format!("escalation:campaign:@{}", t.text));
        }
    }
    for exec in &ctx.executives {
        let folded = crate::text::fold(exec.trim_start_matches('@'));
        if !folded.is_empty() && tokens.iter().any(|t| matches!(t.kind, Kind::Handle | Kind::Word | Kind::Hashtag) && t.text == folded) {
            push(format!("escalation:executive:@{}", exec.trim_start_matches('@')));
        }
    }
    let esc = &ctx.escalate;
    if ctx.author_followers.is_some_and(|f| esc.followers > 0 && f >= esc.followers) {
        push(format!("escalation:reach:followers>={}", esc.followers));
    }
    if ctx.reposts.is_some_and(|r| esc.reposts > 0 && r >= esc.reposts) {
        push(format!("escalation:reposts>={}", esc.reposts));
    }
    let total = ctx.recent_complaints.saturating_add(1);
    if esc.repeat > 0 && total >= esc.repeat {
        push(format!("escalation:repeat:{total} complaints in {}", window_text(esc.window)));
    }
    out
}

/// Words that put a person in the post: the writer or the one addressed.
pub(crate) const PERSONAL: &[&str] = &[
    "i", "im", "ive", "id", "ill", "me", "my", "mine", "myself", "we", "us", "our", "ours", "you", "your", "youre", "yours", "u", "ur", "yo", "mi", "mis",
    "nos", "nuestro", "nuestra", "nuestros", "nuestras", "conmigo", "te", "tu", "tus", "ti", "usted", "ustedes", "os", "vosotros", "vuestro", "vuestra",
    "vuestros", "vuestras", "estoy", "tengo", "llevo", "quiero", "necesito", "puedo", "he", "hemos", "somos", "estamos", "tenemos",
];

/// A headline with a link and nobody in it ("Airline X cancels 300
/// flights https://…") reports news; its bad words are not a customer's
/// complaint. A reply (starts with a handle) or a question is a person
/// talking, so it never counts.
fn is_broadcast(tokens: &[Token], summary: &Summary, questions: &[bool]) -> bool {
    let reply = tokens.first().is_some_and(|t| t.kind == Kind::Handle);
    summary.url && !reply && !summary.exclaims && !questions.iter().any(|q| *q) && !summary.personal
}

/// The lists one `classify` call fills and the next on the same thread
/// reuses: after the first few calls, classifying allocates only its result.
#[derive(Default)]
struct Scratch {
    buf: String,
    tokens: TokenScratch,
    analysis: Analysis,
    matches: Vec<Match<'static>>,
    prefixed: Vec<&'static Entry>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

/// The rules alone (the first stage): see `Classifier` for the rules and
/// the learned stage together.
pub fn classify(text: &str, ctx: &Context) -> Classification {
    rules(text, ctx).0
}

/// What the rules weighed, beside their verdict: the learned stage reads it
/// as features, and keeps the escalation reasons whatever the class.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// Weighed negative and positive hits.
    pub neg: f32,
    pub pos: f32,
    pub question: bool,
    /// A headline or an advert.
    pub announcement: bool,
    /// Legal, churn, safety or campaign wording in the text.
    pub signals: usize,
    /// Every escalation reason, from the text and the context, computed
    /// even when the rules did not call the post a complaint.
    pub escalations: Vec<String>,
}

/// The rules' verdict and the evidence behind it.
pub fn rules(text: &str, ctx: &Context) -> (Classification, Evidence) {
    // Fresh lists when the thread's are unavailable (its exit); never
    // shared between calls that overlap.
    SCRATCH
        .try_with(|s| match s.try_borrow_mut() {
            Ok(mut s) => classify_with(text, ctx, &mut s),
            Err(_) => classify_with(text, ctx, &mut Scratch::default()),
        })
        .unwrap_or_else(|_| classify_with(text, ctx, &mut Scratch::default()))
}

/// Scratch text beyond this (one huge post) is not kept for the next call.
const SCRATCH_KEEP: usize = 1 << 16;

fn classify_with(text: &str, ctx: &Context, s: &mut Scratch) -> (Classification, Evidence) {
    let c = {
        let Scratch { buf, tokens: token_scratch, analysis: a, matches, prefixed } = &mut *s;
        let tokens = normalize::tokenize_with(text, buf, token_scratch);
        let summary = &token_scratch.summary;
        let lang = ctx.lang.as_deref().and_then(lang::normalize_tag).unwrap_or_else(|| Cow::Borrowed(lang::by_counts(&summary.stopwords.counts())));
        let questions = &token_scratch.questions;
        analyze(&tokens, summary, questions, PostLang::of(&lang), a, matches, prefixed);
        let c = decide(&tokens, summary, questions, a, lang, ctx);
        token_scratch.give_back(tokens);
        c
    };
    if s.buf.capacity() > SCRATCH_KEEP {
        *s = Scratch::default();
    }
    c
}

/// The class, score and reasons from the matched hits.
fn decide(tokens: &[Token], summary: &Summary, questions: &[bool], a: &mut Analysis, lang: Cow<'static, str>, ctx: &Context) -> (Classification, Evidence) {
    let (neg, pos) = weigh(a, questions);
    let evidence = Evidence {
        neg,
        pos,
        question: questions.iter().any(|q| *q),
        announcement: a.ad || is_broadcast(tokens, summary, questions),
        signals: a.signals.len(),
        escalations: escalation_reasons(tokens, a, ctx),
    };
    (verdict(tokens, summary, questions, a, lang, ctx, neg, pos), evidence)
}

#[allow(clippy::too_many_arguments)]
fn verdict(
    tokens: &[Token],
    summary: &Summary,
    questions: &[bool],
    a: &mut Analysis,
    lang: Cow<'static, str>,
    ctx: &Context,
    mut neg: f32,
    pos: f32,
) -> Classification {
    let broadcast = is_broadcast(tokens, summary, questions);
    if broadcast {
        // Headlines report events ("strike", "cancels", "delay"); a judgement
        // ("shameful", "pésimo") is still somebody's complaint.
        let judged: f32 = a.hits.iter().filter(|h| h.polarity == Polarity::Neg && h.weight >= JUDGEMENT_MIN).map(|h| h.weight).sum();
        let judged = judged.min(neg);
        neg = judged + (neg - judged) * BROADCAST_DAMPING;
    }
    let is_question = questions.iter().any(|q| *q);

    if neg >= COMPLAINT_MIN && neg * COMPLAINT_BIAS >= pos {
        let mut reasons = top_reasons(tokens, &a.hits, &mut a.ranked, Polarity::Neg, 3);
        if a.shouting && !reasons.iter().any(|r| r == "complaint:shouting") {
            reasons.push("complaint:shouting".into());
        }
        let escalations = escalation_reasons(tokens, a, ctx);
        let mut score = confidence(neg - pos / COMPLAINT_BIAS - COMPLAINT_MIN + 0.3);
        let class = if escalations.is_empty() {
            Class::Complaint
        } else {
            score = (score.max(0.6) + 0.05 * escalations.len() as f64).min(0.99);
            Class::Escalation
        };
        if reasons.is_empty() {
            // Only escalation wording made it a complaint.
            reasons.push("complaint:threat".into());
        }
        reasons.extend(escalations.into_iter().map(Cow::Owned));
        return Classification { class, score, lang, reasons };
    }
    if pos >= PRAISE_MIN && pos > neg {
        let reasons = top_reasons(tokens, &a.hits, &mut a.ranked, Polarity::Pos, 3);
        let score = confidence(pos - neg - PRAISE_MIN + 0.3);
        return Classification { class: Class::Praise, score, lang, reasons };
    }
    let mut reasons = Vec::with_capacity(2);
    if is_question {
        reasons.push(Cow::Borrowed("neutral:question"));
    }
    if a.ad || broadcast {
        reasons.push(Cow::Borrowed("neutral:announcement"));
    }
    if reasons.is_empty() {
        reasons.push(Cow::Borrowed(if neg + pos > 0.0 { "neutral:weak-signal" } else { "neutral:no-signal" }));
    }
    // Nearer the thresholds, less sure it is neutral.
    let nearest = (neg / COMPLAINT_MIN).max(pos / PRAISE_MIN).min(1.0);
    let score = f64::from(0.8 - 0.3 * nearest);
    Classification { class: Class::Neutral, score, lang, reasons }
}

#[cfg(test)]
mod tests;
