//! Writes the rendered examples the README shows: the sample alert and
//! digest, in English and Spanish, HTML and text, into `docs/`.
//!
//!     cargo run --example render_samples [-- DIR]
//!
//! The screenshots beside them are made from the HTML with headless
//! chromium: `chromium --headless --screenshot=docs/alert-email.png --window-size=680,660 docs/alert-email.html`
//! (`--force-dark-mode` for the dark one).

use escucha::alert::digest;
use escucha::alert::render::{render_alert, sample_ack, sample_mentions, AlertContext};
use escucha::alert::templates::Templates;
use escucha::config::Language;
use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "docs".into()));
    let t = Templates::builtin();
    for (lang, suffix) in [(Language::En, ""), (Language::Es, ".es")] {
        let now = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 3, 2, 10, 0, 0).unwrap();
        let ms = sample_mentions(now);
        let ctx = AlertContext { brand_name: "Interjet", now, ack: &sample_ack, pending: 3, lang, tz: chrono_tz::Europe::Madrid, templates: &t };
        let a = render_alert(&ms, &ctx);
        std::fs::write(dir.join(format!("alert-email{suffix}.html")), &a.html)?;
        std::fs::write(dir.join(format!("alert-email{suffix}.txt")), format!("Subject: {}\n\n{}", a.subject, a.text))?;
        let (brands, p) = digest::sample(lang, &t);
        let d = digest::render(&brands, &p);
        std::fs::write(dir.join(format!("digest-email{suffix}.html")), &d.html)?;
        std::fs::write(dir.join(format!("digest-email{suffix}.txt")), format!("Subject: {}\n\n{}", d.subject, d.text))?;
    }
    println!("wrote the alert and digest examples to {}", dir.display());
    Ok(())
}
