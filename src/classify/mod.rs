//! The classifier: a pure function from a mention's text and context to a
//! class, a score and reasons a person can read. No I/O.

use crate::config::Escalate;
use crate::model::Class;
use serde::Serialize;

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
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    pub class: Class,
    /// Confidence in [0, 1].
    pub score: f64,
    /// Detected or given language (`es`, `en`, or another ISO 639-1 code).
    pub lang: String,
    /// e.g. `complaint:phrase:sin respuesta`, `escalation:reach:followers>=10000`.
    pub reasons: Vec<String>,
}

pub fn classify(text: &str, ctx: &Context) -> Classification {
    let _ = (text, ctx);
    Classification { class: Class::Neutral, score: 0.5, lang: ctx.lang.clone().unwrap_or_else(|| "und".into()), reasons: vec![] }
}
