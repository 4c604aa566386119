//! Hand-written bilingual examples (our own sentences, not from any data
//! set) for each behaviour the classifier promises: the class, and a reason
//! that shows what decided it.

use super::*;
use std::time::Duration;

fn ctx() -> Context {
    Context::default()
}

/// Asserts the class and that some reason starts with `reason`.
#[track_caller]
fn check(text: &str, class: Class, reason: &str) {
    check_with(text, &ctx(), class, reason);
}

#[track_caller]
fn check_with(text: &str, ctx: &Context, class: Class, reason: &str) {
    let c = classify(text, ctx);
    assert_eq!(c.class, class, "{text:?} → {c:?}");
    assert!(c.reasons.iter().any(|r| r.starts_with(reason)), "{text:?}: no reason starting {reason:?} in {:?}", c.reasons);
    assert!((0.0..=1.0).contains(&c.score), "{text:?}: score {}", c.score);
}

#[test]
fn plain_complaints_name_the_phrase_in_both_languages() {
    check("Llevo una semana sin respuesta de soporte", Class::Complaint, "complaint:phrase:sin respuesta");
    check("My order never arrived and the tracking page is broken", Class::Complaint, "complaint:phrase:never arrived");
    check("El módem no funciona desde el lunes", Class::Complaint, "complaint:phrase:no funciona");
    check("Worst customer service I have ever had", Class::Complaint, "complaint:phrase:worst");
}

#[test]
fn plain_praise_names_the_phrase_in_both_languages() {
    check("Gracias @Interjet_mx, trato excelente", Class::Praise, "praise:phrase:");
    check("Thank you so much, the crew was wonderful", Class::Praise, "praise:phrase:thank you so much");
    check("Me encantó el servicio, muy amables todos", Class::Praise, "praise:phrase:");
}

#[test]
fn text_without_accents_and_with_chat_abbreviations_is_understood() {
    check("pesimo servicio, xq nadie contesta??", Class::Complaint, "complaint:phrase:pesimo");
    check("q verguenza, tb me cobraron doble", Class::Complaint, "complaint:phrase:verguenza");
    check("thx so much, u guys r awesome", Class::Praise, "praise:phrase:");
    check("pls fix the app, it doesnt work", Class::Complaint, "complaint:phrase:doesnt work");
}

#[test]
fn latin_american_and_spain_variants_are_both_known() {
    check("Ya me tienen hasta la madre con sus retrasos", Class::Complaint, "complaint:phrase:hasta la madre");
    check("Menuda chapuza de reparación, vaya tela", Class::Complaint, "complaint:phrase:");
    check("El servicio estuvo bien chido, gracias", Class::Praise, "praise:phrase:chido");
    check("La app mola mucho, enhorabuena al equipo", Class::Praise, "praise:phrase:");
}

#[test]
fn repeated_letters_shouting_and_emoji_count() {
    check("pésimooo servicio", Class::Complaint, "complaint:phrase:pesimo");
    check("MY PACKAGE IS STILL MISSING AND NOBODY CARES", Class::Complaint, "complaint:shouting");
    check("el pedido llegó tarde otra vez 😡", Class::Complaint, "complaint:phrase:😡");
    check("new seats are great 😍", Class::Praise, "praise:phrase:");
    check("refund still pending :(", Class::Complaint, "complaint:phrase::(");
}

#[test]
fn hashtags_handles_and_urls_do_not_confuse_it() {
    check("@SomeBrand #NeverAgain lost my suitcase https://example.com/x", Class::Escalation, "escalation:churn:never again");
    check("Otra vez sin luz en casa #PesimoServicio @LuzCo", Class::Complaint, "complaint:");
    check("Check out our new route to Lima! https://example.com/promo", Class::Neutral, "neutral:");
}

#[test]
fn negation_of_a_negative_is_praise() {
    check("La comida no está mal", Class::Praise, "praise:negated:no esta mal");
    check("not bad at all, the upgrade was worth it", Class::Praise, "praise:negated:not bad");
    check("En diez años nunca me han fallado", Class::Praise, "praise:negated:nunca me han fallado");
}

#[test]
fn negation_of_a_positive_is_a_complaint() {
    check("I'm not happy with the new billing system", Class::Complaint, "complaint:phrase:not happy");
    check("La atención no fue buena para nada", Class::Complaint, "complaint:negated:");
}

#[test]
fn sarcasm_turns_thanks_into_a_complaint() {
    check("Gracias por nada, @Brand", Class::Complaint, "complaint:sarcasm:gracias por nada");
    check("thanks for nothing", Class::Complaint, "complaint:sarcasm:thanks for nothing");
    check("Genial, otra vez cancelado", Class::Complaint, "complaint:sarcasm:genial");
    check("Great, my card was charged twice again", Class::Complaint, "complaint:sarcasm:great");
}

#[test]
fn neutral_questions_are_not_complaints() {
    check("¿A qué hora abre el mostrador en la T1?", Class::Neutral, "neutral:question");
    check("Do you ship to Canada?", Class::Neutral, "neutral:question");
    check("Can you tell me the baggage allowance please? thanks", Class::Neutral, "neutral:question");
}

#[test]
fn questions_that_carry_a_grievance_are_complaints() {
    check("¿Por qué nadie me contesta?", Class::Complaint, "complaint:");
    check("Why is my refund taking three weeks?", Class::Complaint, "complaint:question:why");
    check("Where is my package??", Class::Complaint, "complaint:question:where is my");
}

#[test]
fn praise_of_a_competitor_inside_a_complaint_is_a_complaint() {
    check("Unlike you, the other bank answered in five minutes and was super helpful", Class::Complaint, "complaint:");
    check("Deberían aprender de la competencia, allí sí son amables", Class::Complaint, "complaint:");
}

#[test]
fn complaints_about_a_third_party_that_only_mention_the_brand_are_not_complaints() {
    check("Despite the awful weather, @Brand got us home on time. Thank you!", Class::Praise, "praise:");
    check("A pesar del tráfico horrible, el repartidor llegó puntual, gracias", Class::Praise, "praise:");
}

#[test]
fn legal_threats_escalate() {
    check("Si no me devuelven el dinero pondré una demanda", Class::Escalation, "escalation:legal:demanda");
    check("Voy a ir a PROFECO, esto es un abuso", Class::Escalation, "escalation:legal:profeco");
    check("Talking to my lawyer about these charges, unacceptable", Class::Escalation, "escalation:legal:lawyer");
    check("Filing with the BBB if this is not fixed today", Class::Escalation, "escalation:legal:bbb");
}

#[test]
fn churn_threats_escalate() {
    check("Nunca más vuelvo a comprar con ustedes", Class::Escalation, "escalation:churn:nunca mas");
    check("Me cambio a otra compañía, harto de los cortes", Class::Escalation, "escalation:churn:me cambio a");
    check("I want to cancel my account, this is ridiculous", Class::Escalation, "escalation:churn:cancel my account");
    check("Never flying with you again", Class::Escalation, "escalation:churn:never flying");
}

#[test]
fn safety_problems_escalate() {
    check("Mi hijo salió herido por una puerta rota en su tienda", Class::Escalation, "escalation:safety:herido");
    check("Got food poisoning from your salad, terrible", Class::Escalation, "escalation:safety:food poisoning");
    check("Intoxicación después de comer ahí, qué asco", Class::Escalation, "escalation:safety:intoxicacion");
}

#[test]
fn negated_danger_is_not_a_safety_signal() {
    let c = classify("Nobody was hurt, thanks to the quick crew", &ctx());
    assert!(c.reasons.iter().all(|r| !r.starts_with("escalation:safety")), "{c:?}");
}

#[test]
fn public_campaigns_escalate() {
    check("Los invito a difundir: @Interjet_mx nos dejó sin luna de miel", Class::Escalation, "escalation:campaign:difundir");
    check("Spread the word, they lost my luggage and won't refund", Class::Escalation, "escalation:campaign:spread the word");
    check("@noticias mi vuelo lleva 6 horas de retraso", Class::Escalation, "escalation:campaign:@noticias");
}

#[test]
fn mentioning_an_executive_escalates_a_complaint_but_not_praise() {
    let mut c = ctx();
    c.executives = vec!["miguelalemanm".into()];
    check_with("Pésimo servicio @miguelalemanm", &c, Class::Escalation, "escalation:executive:@miguelalemanm");
    check_with("Gracias @MiguelAlemanM, excelente vuelo", &c, Class::Praise, "praise:");
}

#[test]
fn reach_reposts_and_repeat_escalate_a_complaint() {
    let mut c = ctx();
    c.author_followers = Some(25_000);
    check_with("My internet is down again, unacceptable", &c, Class::Escalation, "escalation:reach:followers>=10000");
    let mut c = ctx();
    c.reposts = Some(80);
    check_with("Cobro indebido en mi tarjeta", &c, Class::Escalation, "escalation:reposts>=50");
    let mut c = ctx();
    c.recent_complaints = 2;
    check_with("Sigo esperando el reembolso", &c, Class::Escalation, "escalation:repeat:3 complaints in 7d");
    c.escalate.window = Duration::from_secs(2 * 3600);
    check_with("Sigo esperando el reembolso", &c, Class::Escalation, "escalation:repeat:3 complaints in 2h");
}

#[test]
fn reach_alone_does_not_make_praise_an_escalation() {
    let mut c = ctx();
    c.author_followers = Some(1_000_000);
    check_with("Loved the new menu, great job", &c, Class::Praise, "praise:");
}

#[test]
fn language_comes_from_the_context_or_is_detected() {
    let mut c = ctx();
    c.lang = Some("es-MX".into());
    assert_eq!(classify("ok", &c).lang, "es");
    assert_eq!(classify("el vuelo llegó tarde y nadie nos dio información", &ctx()).lang, "es");
    assert_eq!(classify("the flight was late and nobody told us anything", &ctx()).lang, "en");
}

#[test]
fn an_empty_post_is_neutral() {
    check("", Class::Neutral, "neutral:");
}

#[test]
fn service_failures_in_telecom_banking_delivery_and_utilities_are_complaints() {
    check("Three days with no signal in my neighbourhood", Class::Complaint, "complaint:phrase:no signal");
    check("The banking app is down again and I need to pay rent", Class::Complaint, "complaint:phrase:");
    check("I was charged twice for the same order", Class::Complaint, "complaint:phrase:charged twice");
    check("Got the wrong order and the fries were soggy", Class::Complaint, "complaint:phrase:wrong order");
    check("Otra vez no tengo internet, ya van tres días así", Class::Complaint, "complaint:phrase:no tengo internet");
    check("Me cobraron doble la mensualidad del gimnasio", Class::Complaint, "complaint:phrase:me cobraron doble");
    check("Mi pedido no llegó y la app dice entregado", Class::Complaint, "complaint:phrase:mi pedido no");
    check("Cuarto apagón de la semana en el barrio", Class::Complaint, "complaint:phrase:apagon");
}

#[test]
fn being_ignored_or_passed_around_is_a_complaint_in_both_languages() {
    check("Llevo dos semanas esperando que me devuelvan el dinero", Class::Complaint, "complaint:phrase:llevo");
    check("Nadie me atiende en la sucursal", Class::Complaint, "complaint:phrase:nadie me atiende");
    check("Me cuelgan cada vez que llamo al banco", Class::Complaint, "complaint:phrase:me cuelgan");
    check("Me tienen dando vueltas entre sucursal y call center", Class::Complaint, "complaint:phrase:me tienen dando vueltas");
    check("El router sigue sin funcionar y no me resuelven nada", Class::Complaint, "complaint:phrase:");
    check("Your support line keeps hanging up on me", Class::Complaint, "complaint:phrase:hanging up");
    check("Sick and tired of waiting for a technician", Class::Complaint, "complaint:phrase:sick and tired");
}

#[test]
fn strong_judgements_from_spain_and_latin_america_are_complaints() {
    check("Lo de esta compañía eléctrica es una burla", Class::Complaint, "complaint:phrase:una burla");
    check("Qué morro tienen, cobrar por una factura en papel", Class::Complaint, "complaint:phrase:que morro");
    check("Un quilombo el envío, nadie sabe dónde está", Class::Complaint, "complaint:phrase:quilombo");
    check("Atención inadmisible en la tienda del centro", Class::Complaint, "complaint:phrase:inadmisible");
    check("Appalling service from the courier today", Class::Complaint, "complaint:phrase:appalling");
}

#[test]
fn complaint_questions_from_other_industries_are_complaints() {
    check("How is it possible that my package went to another city?", Class::Complaint, "complaint:question:how is it possible");
    check("¿Por qué siempre se corta la luz cuando llueve?", Class::Complaint, "complaint:question:por que siempre");
    check("¿Cuándo me van a devolver lo que me cobraron de más?", Class::Complaint, "complaint:question:cuando me van a");
}

#[test]
fn thanks_for_a_fix_and_strong_recommendations_are_praise() {
    check("Gracias por resolver lo de mi factura tan rápido", Class::Praise, "praise:phrase:gracias por resolver");
    check("Excelente atención en la sucursal, 10 de 10", Class::Praise, "praise:phrase:");
    check("Thanks for fixing my connection so quickly, top notch", Class::Praise, "praise:phrase:");
    check("Highly recommend this bank, the app is seamless", Class::Praise, "praise:phrase:highly recommend");
    check("La app del banco es inmejorable", Class::Praise, "praise:phrase:inmejorable");
}

#[test]
fn asking_to_get_something_resolved_is_not_praise() {
    let c = classify("I need to speak to a real person to get this resolved", &ctx());
    assert_ne!(c.class, Class::Praise, "{c:?}");
    let c = classify("@Banco podrían responder mi DM, necesito solucionarlo", &ctx());
    assert_ne!(c.class, Class::Praise, "{c:?}");
}

#[test]
fn hospitality_is_not_a_hospital() {
    let c = classify("Amazing hospitality from the hotel staff", &ctx());
    assert_eq!(c.class, Class::Praise, "{c:?}");
    assert!(c.reasons.iter().all(|r| !r.starts_with("escalation:")), "{c:?}");
}

#[test]
fn news_headlines_with_a_link_report_events_rather_than_complain() {
    check("Bank workers call a strike for Friday https://example.com/news", Class::Neutral, "neutral:announcement");
    check("La operadora retrasa hasta enero la subida de tarifas https://example.com/n", Class::Neutral, "neutral:announcement");
    // A judgement is still a complaint, and a reply is a person talking.
    check("Vergonzoso lo de esta eléctrica con los cortes https://example.com/x", Class::Complaint, "complaint:phrase:vergonzoso");
    check("@Telco your outage again https://example.com/screenshot", Class::Complaint, "complaint:phrase:outage");
}

#[test]
fn a_run_together_hashtag_must_not_match_inside_a_place_name() {
    let c = classify("Vacaciones en el #PaisVasco", &ctx());
    assert_ne!(c.class, Class::Complaint, "{c:?}");
}

#[test]
fn thanks_next_to_one_mild_word_is_still_thanks() {
    check("Thanks for the update, the technician is running late", Class::Praise, "praise:phrase:thanks");
    check("Gracias por avisar, el técnico llega un poco tarde", Class::Praise, "praise:phrase:gracias");
}

#[test]
fn understated_and_everyday_complaints_are_complaints() {
    check("Less than stellar support from the phone company today", Class::Complaint, "complaint:phrase:less than stellar");
    check("The checkout page never loads on my phone", Class::Complaint, "complaint:phrase:never loads");
    check("Les da igual que lleve sin agua caliente desde el martes", Class::Complaint, "complaint:phrase:les da igual");
    check("Tiene narices que cobren por enviar la factura", Class::Complaint, "complaint:phrase:tiene narices");
    check("La web del banco no carga desde esta mañana", Class::Complaint, "complaint:phrase:no carga");
    check("Qué falta de respeto del repartidor", Class::Complaint, "complaint:phrase:falta de respeto");
}

#[test]
fn how_to_questions_about_refunds_or_claims_are_neutral() {
    check("How do I request a refund for an unused gift card?", Class::Neutral, "neutral:question");
    check("¿Cómo puedo poner una reclamación en la tienda online?", Class::Neutral, "neutral:question");
    check("¿Dónde puedo pedir el reembolso de un cargo?", Class::Neutral, "neutral:question");
    // A judgement inside the question still makes it a complaint.
    check("How do I get my money back from these scammers?", Class::Complaint, "complaint:phrase:scammers");
}

#[test]
fn stars_lean_a_review_but_the_text_decides_what_it_says() {
    let c = Classifier::rules_only();
    let stars = |text: &str, r: u8| c.classify(text, &Context { rating: Some(r), ..ctx() });
    // A rating-only review: the stars are all there is.
    assert_eq!(stars("", 1).class, Class::Complaint);
    assert!(stars("", 1).reasons.iter().any(|r| r == "complaint:rating:1"));
    assert_eq!(stars("", 5).class, Class::Praise);
    assert_eq!(stars("", 3).class, Class::Neutral);
    // Five stars do not hide a complaint in the text.
    assert_eq!(stars("the app crashes since the update", 5).class, Class::Complaint);
    assert_eq!(stars("La app se cierra desde la actualización y nadie responde", 5).class, Class::Complaint);
    // One star makes a flat text a complaint.
    assert_eq!(stars("Fui el martes al mostrador de la terminal 1", 1).class, Class::Complaint);
    assert_eq!(stars("Fui el martes al mostrador de la terminal 1", 4).class, Class::Praise);
}
