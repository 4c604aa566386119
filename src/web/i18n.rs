//! The inbox's words in English and Spanish: one table, each entry with
//! both languages side by side, so a key cannot exist in one language only
//! (the macro takes exactly two strings per key). `{name}` marks a value
//! filled in by [`fill`]; a test checks both languages use the same ones.
//!
//! A table in code rather than a crate (fluent, rust-i18n): two languages
//! and about a hundred strings, no plural rules beyond what a sentence can
//! avoid, and a missing key is a compile error instead of a runtime
//! fallback.

use crate::config::Language;
use crate::model::{Class, Status};

macro_rules! texts {
    ($($key:ident: $en:literal, $es:literal;)*) => {
        /// Every visible string of the inbox, in one language.
        pub struct Texts {
            $(pub $key: &'static str,)*
        }
        pub const EN: Texts = Texts { $($key: $en,)* };
        pub const ES: Texts = Texts { $($key: $es,)* };
        impl Texts {
            /// (key, text) for every entry, for the tests.
            pub fn entries(&self) -> Vec<(&'static str, &'static str)> {
                vec![$((stringify!($key), self.$key),)*]
            }
        }
    };
}

texts! {
    lang: "en", "es";
    nav_inbox: "Inbox", "Bandeja";
    nav_numbers: "Numbers", "Cifras";
    log_out: "Log out", "Cerrar sesión";
    log_in: "Log in", "Iniciar sesión";
    name_or_email: "Name or email", "Nombre o correo";
    password: "Password", "Contraseña";
    inbox_title: "Inbox", "Bandeja de entrada";
    // The SLA clock. `{d}` is a duration such as "1 h 5 min".
    left: "{d} left", "quedan {d}";
    overdue: "overdue {d}", "vencido hace {d}";
    no_deadline: "no deadline", "sin plazo";
    acked_by: "acknowledged by {who}", "reconocida por {who}";
    someone: "someone", "alguien";
    status_open: "open", "abierta";
    status_acked: "acknowledged", "reconocida";
    status_answered: "answered", "respondida";
    status_all: "all", "todas";
    class_praise: "praise", "elogio";
    class_complaint: "complaint", "queja";
    class_escalation: "escalation", "escalamiento";
    class_neutral: "neutral", "neutral";
    followers: "{n} followers", "{n} seguidores";
    all_brands: "all brands", "todas las marcas";
    all_platforms: "all platforms", "todas las plataformas";
    complaints_and_escalations: "complaints and escalations", "quejas y escalamientos";
    anyone: "anyone", "cualquiera";
    me: "me", "yo";
    nobody: "nobody", "nadie";
    brand: "Brand", "Marca";
    platform: "Platform", "Plataforma";
    class: "Class", "Clase";
    status: "Status", "Estado";
    assigned_to: "Assigned to", "Asignada a";
    search: "Search", "Buscar";
    from: "From", "Desde";
    to: "To", "Hasta";
    filter: "Filter", "Filtrar";
    export_csv: "Export CSV", "Exportar CSV";
    select_mention: "select {id}", "seleccionar {id}";
    nothing_here: "Nothing here: no mention matches these filters.", "Nada por aquí: ninguna mención coincide con estos filtros.";
    ack_selected: "Acknowledge selected", "Reconocer las seleccionadas";
    deadline: "Deadline", "Plazo";
    author: "Author", "Autor";
    text: "Text", "Texto";
    paging: "{from}–{to} of {total}", "{from}–{to} de {total}";
    previous: "previous", "anteriores";
    next: "next", "siguientes";
    live_new: "{n} new — updated", "{n} nuevas — actualizado";
    mention_title: "Mention {id}", "Mención {id}";
    open_post: "Open the post", "Abrir la publicación";
    why: "Why:", "Por qué:";
    summary: "{class} about {brand} on {platform} by {author}", "{class} sobre {brand} en {platform} de {author}";
    assigned_to_who: "assigned to {who}", "asignada a {who}";
    posted: "posted", "publicada";
    seen: "seen by escucha", "vista por escucha";
    page_kind_alert: "page", "aviso";
    page_kind_ack: "acknowledgement notice", "aviso de reconocimiento";
    page_kind_resolve: "resolution notice", "aviso de resolución";
    page_sent_to: "{what} to {who} ({state})", "{what} a {who} ({state})";
    page_sent: "sent", "enviado";
    page_pending: "pending", "pendiente";
    page_failed: "failed", "fallido";
    page_not_needed: "not sent: already handled", "no enviado: ya atendida";
    answered_by_brand: "answered by the brand", "respondida por la marca";
    corrected: "corrected to {class} by {who}", "corregida a {class} por {who}";
    note_by: "note by {who}: {text}", "nota de {who}: {text}";
    timeline: "Timeline", "Cronología";
    // The action buttons. The English ones are a contract (acceptance
    // tests look for labels beginning with these words).
    acknowledge: "Acknowledge", "Reconocer";
    assign: "Assign", "Asignar";
    assignee: "assignee", "asignar a";
    add_note: "Add note", "Añadir nota";
    note_placeholder: "a note for the team", "una nota para el equipo";
    note_label: "note", "nota";
    not_a_complaint: "Not a complaint", "No es una queja";
    is_a_complaint: "This is a complaint", "Es una queja";
    is_an_escalation: "Escalation", "Es un escalamiento";
    silence: "Silence", "Silenciar";
    silence_author: "@{author} on {platform}", "@{author} en {platform}";
    silence_brand: "all of {brand}", "toda {brand}";
    silence_what: "what to silence", "qué silenciar";
    silence_for: "for", "durante";
    silence_how_long: "how long", "cuánto tiempo";
    silence_reason: "why (the others will see it)", "por qué (los demás lo verán)";
    silence_reason_label: "reason", "motivo";
    for_1h: "1 hour", "1 hora";
    for_4h: "4 hours", "4 horas";
    for_1d: "1 day", "1 día";
    for_7d: "7 days", "7 días";
    silenced_until: "Alerts silenced until {until} by {who}: {reason}", "Avisos silenciados hasta {until} por {who}: {reason}";
    author_history: "The author's other complaints ({n})", "Otras quejas del autor ({n})";
    numbers_title: "Numbers", "Cifras";
    last_24h: "last 24 hours", "últimas 24 horas";
    last_7d: "last 7 days", "últimos 7 días";
    last_30d: "last 30 days", "últimos 30 días";
    overdue_now: "Overdue now", "Vencidas ahora";
    nothing_overdue: "Nothing is overdue.", "Nada está vencido.";
    n_overdue: "{n} overdue", "{n} vencidas";
    answer_rate: "Answer rate", "Tasa de respuesta";
    answer_rate_chart: "answer rate per brand and platform", "tasa de respuesta por marca y plataforma";
    no_complaints: "no complaints", "sin quejas";
    no_mentions_in_period: "No mentions in this period.", "No hay menciones en este periodo.";
    totals: "Totals", "Totales";
    mentions: "Mentions", "Menciones";
    praise: "Praise", "Elogios";
    complaints: "Complaints", "Quejas";
    escalations: "Escalations", "Escalamientos";
    answered: "Answered", "Respondidas";
    first_answer_p50: "First answer p50", "Primera respuesta p50";
    p90: "p90", "p90";
    per_day: "Per day", "Por día";
    day: "Day", "Día";
    needing_answer: "To answer", "Por responder";
    daily_rate_chart: "answer rate per day, {what}", "tasa de respuesta por día, {what}";
    daily_time_chart: "first answer p50 and p90 per day, {what}", "primera respuesta p50 y p90 por día, {what}";
    first_answer: "First answer", "Primera respuesta";
    back_to_inbox: "Back to the inbox", "Volver a la bandeja";
    // What the handlers say when something goes wrong.
    try_again: "Try again", "Inténtalo de nuevo";
    db_down: "escucha cannot reach its database right now. Try again in a minute.", "escucha no puede acceder a su base de datos ahora mismo. Inténtalo de nuevo en un minuto.";
    log_in_again: "Log in again", "Vuelve a iniciar sesión";
    session_ended: "Your session has ended: log in again.", "Tu sesión terminó: vuelve a iniciar sesión.";
    refused: "Request refused", "Solicitud rechazada";
    csrf_refused: "This form was not sent from escucha's own page (its security token is missing or wrong). Reload the page and try again.", "Este formulario no se envió desde una página de escucha (falta su código de seguridad o es incorrecto). Recarga la página e inténtalo de nuevo.";
    login_own_page: "Log in from escucha's own page.", "Inicia sesión desde la página de escucha.";
    too_many_failures: "Too many wrong passwords. Wait {n} minutes and try again.", "Demasiadas contraseñas incorrectas. Espera {n} minutos e inténtalo de nuevo.";
    wrong_password: "Wrong name or password.", "Nombre o contraseña incorrectos.";
    not_found_title: "Mention not found", "Mención no encontrada";
    not_found: "This mention is not in escucha's database.", "Esta mención no está en la base de datos de escucha.";
    no_such_user_title: "No such user", "No existe ese usuario";
    no_such_user: "{user} is not a [[user]] in the config.", "{user} no es un [[user]] de la configuración.";
    which_class_title: "Which class?", "¿Qué clase?";
    which_class: "Choose praise, complaint, escalation or neutral.", "Elige elogio, queja, escalamiento o neutral.";
    not_corrected: "Not corrected", "No se corrigió";
    not_silenced_title: "Not silenced", "No se silenció";
    not_silenced: "Choose how long, and say why so the others know.", "Elige cuánto tiempo y di por qué, para que los demás lo sepan.";
}

/// The texts of a language.
pub fn texts(lang: Language) -> &'static Texts {
    match lang {
        Language::En => &EN,
        Language::Es => &ES,
    }
}

/// `template` with each `{name}` replaced by its value from `values`, in
/// one pass (a value containing braces is never read as a placeholder).
/// Unknown placeholders are left as they are.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}').map(|close| (&after[..close], close)) {
            Some((name, close)) if values.iter().any(|(k, _)| *k == name) => {
                out.push_str(values.iter().find(|(k, _)| *k == name).map(|(_, v)| *v).unwrap_or(""));
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

impl Texts {
    pub fn class(&self, c: Class) -> &'static str {
        match c {
            Class::Praise => self.class_praise,
            Class::Complaint => self.class_complaint,
            Class::Escalation => self.class_escalation,
            Class::Neutral => self.class_neutral,
        }
    }

    pub fn status(&self, s: Status) -> &'static str {
        match s {
            Status::Open => self.status_open,
            Status::Acked => self.status_acked,
            Status::Answered => self.status_answered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `{name}`s a text uses, sorted.
    fn placeholders(s: &str) -> Vec<&str> {
        let mut out: Vec<&str> = s.split('{').skip(1).filter_map(|p| p.split_once('}').map(|(n, _)| n)).collect();
        out.sort_unstable();
        out
    }

    #[test]
    fn every_key_is_written_in_both_languages_with_the_same_placeholders() {
        let (en, es) = (EN.entries(), ES.entries());
        assert_eq!(en.len(), es.len());
        assert!(en.len() > 100, "{}", en.len());
        for ((key, e), (key2, s)) in en.iter().zip(&es) {
            assert_eq!(key, key2);
            assert!(!e.trim().is_empty() && !s.trim().is_empty(), "{key} is empty");
            assert_eq!(placeholders(e), placeholders(s), "{key}: {e:?} vs {s:?}");
        }
        // Not an untranslated copy: most Spanish texts differ from English.
        let same: Vec<&str> = en.iter().zip(&es).filter(|((_, e), (_, s))| e == s).map(|((k, _), _)| *k).collect();
        assert_eq!(same, ["class_neutral", "p90"], "copied, not translated");
        assert_eq!((EN.lang, ES.lang), ("en", "es"));
    }

    #[test]
    fn the_contract_s_english_button_labels_are_kept() {
        assert_eq!((EN.acknowledge, EN.assign, EN.add_note, EN.not_a_complaint), ("Acknowledge", "Assign", "Add note", "Not a complaint"));
    }

    #[test]
    fn fill_replaces_placeholders_once_and_leaves_others() {
        assert_eq!(fill(EN.left, &[("d", "12 min")]), "12 min left");
        assert_eq!(fill(ES.overdue, &[("d", "1 h 5 min")]), "vencido hace 1 h 5 min");
        assert_eq!(fill("{a} and {b}", &[("a", "{b}"), ("b", "x")]), "{b} and x", "a value is not read again");
        assert_eq!(fill("{unknown} {a", &[("a", "x")]), "{unknown} {a");
        assert_eq!(fill("ñ {n} ü", &[("n", "3")]), "ñ 3 ü");
    }
}
