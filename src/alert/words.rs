//! The words of alerts and digests in each language escucha speaks. Labels
//! go to the templates as `t`; sentences that carry numbers are built here,
//! so a template (built in or the team's own) only lays them out.
//!
//! DESIGN.md "Alert content": subjects name the class in English whatever
//! the language (people filter their mail on it); the rest is localised.

use crate::config::Language;
use crate::model::Class;
use serde::Serialize;

/// The fixed labels one message uses, in one language.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Words {
    pub lang: &'static str,
    pub acknowledge: &'static str,
    pub open_post: &'static str,
    pub not_complaint: &'static str,
    pub open_in_escucha: &'static str,
    pub or_run: &'static str,
    pub run: &'static str,
    pub or_open: &'static str,
    pub author: &'static str,
    pub rating: &'static str,
    pub link: &'static str,
    pub posted: &'static str,
    pub waiting: &'static str,
    pub answer_within: &'static str,
    pub reasons: &'static str,
    pub none_given: &'static str,
    pub mention: &'static str,
    pub footer: &'static str,
    pub not_complaint_q: &'static str,
    pub open: &'static str,
    // Digest.
    pub period: &'static str,
    pub mentions: &'static str,
    pub complaints: &'static str,
    pub answered: &'static str,
    pub acknowledged: &'static str,
    pub unanswered: &'static str,
    pub answer_rate: &'static str,
    pub first_response: &'static str,
    pub median: &'static str,
    pub previous: &'static str,
    pub by_platform: &'static str,
    pub platform: &'static str,
    pub total: &'static str,
    pub open_escalations: &'static str,
    pub oldest_unanswered: &'static str,
    pub repeat_complainers: &'static str,
    pub active_silences: &'static str,
    pub resolved: &'static str,
    pub none: &'static str,
    pub digest_footer: &'static str,
    pub open_for: &'static str,
    pub by: &'static str,
    pub on: &'static str,
}

const EN: Words = Words {
    lang: "en",
    acknowledge: "Acknowledge",
    open_post: "Open post",
    not_complaint: "Not a complaint",
    open_in_escucha: "Open in escucha",
    or_run: "or run",
    run: "run",
    or_open: "or open",
    author: "Author",
    rating: "Rating",
    link: "Link",
    posted: "Posted",
    waiting: "Waiting",
    answer_within: "Answer within",
    reasons: "Why escucha paged",
    none_given: "none given",
    mention: "mention",
    footer: "escucha: you receive this because you are on call for this brand.",
    not_complaint_q: "Not a complaint? Open",
    open: "open",
    period: "Period",
    mentions: "Mentions",
    complaints: "Complaints",
    answered: "answered",
    acknowledged: "acknowledged",
    unanswered: "unanswered",
    answer_rate: "Answer rate",
    first_response: "First response",
    median: "median",
    previous: "previous period",
    by_platform: "By platform",
    platform: "Platform",
    total: "Total",
    open_escalations: "Open escalations",
    oldest_unanswered: "Oldest unanswered complaints",
    repeat_complainers: "Repeat complainers",
    active_silences: "Active silences",
    resolved: "Resolved in the period",
    none: "none",
    digest_footer: "escucha: you receive this digest because you are listed in [digest] to.",
    open_for: "open for",
    by: "by",
    on: "on",
};

const ES: Words = Words {
    lang: "es",
    acknowledge: "Lo atiendo",
    open_post: "Abrir publicación",
    not_complaint: "No es una queja",
    open_in_escucha: "Abrir en escucha",
    or_run: "o ejecuta",
    run: "ejecuta",
    or_open: "o abre",
    author: "Autor",
    rating: "Valoración",
    link: "Enlace",
    posted: "Publicado",
    waiting: "Esperando",
    answer_within: "Plazo de respuesta",
    reasons: "Por qué avisa escucha",
    none_given: "ninguno indicado",
    mention: "mención",
    footer: "escucha: recibes esto porque estás de guardia para esta marca.",
    not_complaint_q: "¿No es una queja? Abre",
    open: "abierta",
    period: "Periodo",
    mentions: "Menciones",
    complaints: "Quejas",
    answered: "respondidas",
    acknowledged: "atendidas",
    unanswered: "sin respuesta",
    answer_rate: "Tasa de respuesta",
    first_response: "Primera respuesta",
    median: "mediana",
    previous: "periodo anterior",
    by_platform: "Por plataforma",
    platform: "Plataforma",
    total: "Total",
    open_escalations: "Escalamientos abiertos",
    oldest_unanswered: "Quejas sin respuesta más antiguas",
    repeat_complainers: "Autores que se quejan a menudo",
    active_silences: "Silencios activos",
    resolved: "Resueltas en el periodo",
    none: "ninguno",
    digest_footer: "escucha: recibes este resumen porque figuras en [digest] to.",
    open_for: "abierta desde hace",
    by: "de",
    on: "en",
};

pub fn words(lang: Language) -> &'static Words {
    match lang {
        Language::En => &EN,
        Language::Es => &ES,
    }
}

/// The class as a label (`Complaint`, `Queja`).
pub fn class_label(lang: Language, class: Class) -> &'static str {
    match (lang, class) {
        (Language::En, Class::Complaint) => "Complaint",
        (Language::En, Class::Escalation) => "Escalation",
        (Language::En, Class::Praise) => "Praise",
        (Language::En, Class::Neutral) => "Neutral",
        (Language::Es, Class::Complaint) => "Queja",
        (Language::Es, Class::Escalation) => "Escalamiento",
        (Language::Es, Class::Praise) => "Elogio",
        (Language::Es, Class::Neutral) => "Neutral",
    }
}

/// `n` of a class in words: `2 complaints`, `1 queja`.
pub fn class_count(lang: Language, class: Class, n: usize) -> String {
    let one = class_label(lang, class).to_lowercase();
    let word = match (lang, n) {
        (_, 1) => one,
        (Language::En, _) => format!("{one}s"),
        (Language::Es, _) if one.ends_with('l') => format!("{one}es"),
        (Language::Es, _) => format!("{one}s"),
    };
    format!("{n} {word}")
}

/// Colours of a class badge: (background, text). Saturated enough to read
/// on white and on the dark backgrounds mail apps switch to, with white
/// text at WCAG AA contrast.
pub fn class_colors(class: Class) -> (&'static str, &'static str) {
    match class {
        Class::Escalation => ("#B71C1C", "#FFFFFF"),
        Class::Complaint => ("#BF360C", "#FFFFFF"),
        Class::Praise => ("#1B5E20", "#FFFFFF"),
        Class::Neutral => ("#455A64", "#FFFFFF"),
    }
}

pub fn followers(lang: Language, n: Option<u64>) -> String {
    match (lang, n) {
        (Language::En, Some(1)) => "1 follower".into(),
        (Language::En, Some(n)) => format!("{n} followers"),
        (Language::En, None) => "followers unknown".into(),
        (Language::Es, Some(1)) => "1 seguidor".into(),
        (Language::Es, Some(n)) => format!("{n} seguidores"),
        (Language::Es, None) => "seguidores desconocidos".into(),
    }
}

/// "posted 35m ago" / "publicado hace 35m".
pub fn posted_ago(lang: Language, age: &str) -> String {
    match lang {
        Language::En => format!("posted {age} ago"),
        Language::Es => format!("publicado hace {age}"),
    }
}

/// Where the mention stands against its deadline: `5m overdue` / `12m left`.
pub fn deadline_state(lang: Language, overdue: bool, by: &str) -> String {
    match (lang, overdue) {
        (Language::En, true) => format!("{by} overdue"),
        (Language::En, false) => format!("{by} left"),
        (Language::Es, true) => format!("vencida hace {by}"),
        (Language::Es, false) => format!("quedan {by}"),
    }
}

/// The line under a grouped message: how much more is waiting.
pub fn pending(lang: Language, n: usize, brand_name: &str, brand_id: &str) -> String {
    match lang {
        Language::En => format!(
            "{n} more open complaint{} about {brand_name} {} waiting (escucha mentions --open --brand {brand_id}).",
            if n == 1 { "" } else { "s" },
            if n == 1 { "is" } else { "are" }
        ),
        Language::Es => format!(
            "{n} queja{} más sobre {brand_name} {} respuesta (escucha mentions --open --brand {brand_id}).",
            if n == 1 { "" } else { "s" },
            if n == 1 { "espera" } else { "esperan" }
        ),
    }
}

/// One reason code (`complaint:phrase:sin respuesta`) in words. The code
/// itself is shown beside it so it can be searched for.
pub fn describe_reason(lang: Language, reason: &str) -> String {
    let mut parts = reason.splitn(3, ':');
    let (class, kind, detail) = (parts.next().unwrap_or(""), parts.next(), parts.next());
    let Some(kind) = kind else { return reason.to_string() };
    let detail = detail.unwrap_or("");
    let what = match lang {
        Language::En => match kind {
            "phrase" | "brand-phrase" => format!("says \"{detail}\""),
            "executive" => format!("mentions executive {detail}"),
            "reach" => format!("author's reach ({detail})"),
            "viral" | "reposts" => format!("spreading ({detail})"),
            "repeat" => format!("repeat complaint ({detail})"),
            "corrected-by" => format!("corrected by {detail}"),
            "legal" => format!("legal threat ({detail})"),
            "churn" => format!("threatens to leave ({detail})"),
            "safety" => format!("safety ({detail})"),
            "campaign" => format!("public campaign ({detail})"),
            "rating" => format!("{detail}-star review"),
            _ if detail.is_empty() => kind.to_string(),
            _ => format!("{kind}: {detail}"),
        },
        Language::Es => match kind {
            "phrase" | "brand-phrase" => format!("dice \"{detail}\""),
            "executive" => format!("menciona al directivo {detail}"),
            "reach" => format!("alcance del autor ({detail})"),
            "viral" | "reposts" => format!("se está difundiendo ({detail})"),
            "repeat" => format!("queja repetida ({detail})"),
            "corrected-by" => format!("corregida por {detail}"),
            "legal" => format!("amenaza legal ({detail})"),
            "churn" => format!("amenaza con irse ({detail})"),
            "safety" => format!("seguridad ({detail})"),
            "campaign" => format!("campaña pública ({detail})"),
            "rating" => format!("reseña de {detail} estrellas"),
            "model" => format!("modelo aprendido ({detail})"),
            "sarcasm" => "sarcasmo".to_string(),
            "question" => "pregunta".to_string(),
            "shouting" => "escribe gritando".to_string(),
            "threat" => "amenaza".to_string(),
            _ if detail.is_empty() => kind.to_string(),
            _ => format!("{kind}: {detail}"),
        },
    };
    let class = match (lang, class) {
        (Language::Es, "complaint") => "queja",
        (Language::Es, "escalation") => "escalamiento",
        (Language::Es, "praise") => "elogio",
        (_, c) => c,
    };
    format!("{class}: {what}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_in_both_languages() {
        assert_eq!(class_count(Language::En, Class::Complaint, 2), "2 complaints");
        assert_eq!(class_count(Language::Es, Class::Complaint, 1), "1 queja");
        assert_eq!(class_count(Language::Es, Class::Neutral, 3), "3 neutrales");
        assert_eq!(class_count(Language::Es, Class::Escalation, 2), "2 escalamientos");
    }

    #[test]
    fn reasons_read_as_spanish_words() {
        assert_eq!(describe_reason(Language::Es, "complaint:phrase:sin respuesta"), "queja: dice \"sin respuesta\"");
        assert_eq!(describe_reason(Language::Es, "escalation:legal:profeco"), "escalamiento: amenaza legal (profeco)");
        assert_eq!(describe_reason(Language::En, "complaint:rating:1"), "complaint: 1-star review");
    }
}
