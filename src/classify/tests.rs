//! Hand-written bilingual examples (our own sentences) for each behaviour the
//! classifier promises: class and the reason that decided it.

use super::*;

fn ctx() -> Context {
    Context::default()
}

#[test]
fn plain_spanish_complaint_names_its_phrase() {
    let c = classify("Llevo una semana sin respuesta de soporte", &ctx());
    assert_eq!(c.class, Class::Complaint, "{c:?}");
}
