//! Text helpers shared by sources and matching: accent/case folding and
//! HTML to plain text. Pure functions.

use unicode_normalization::UnicodeNormalization;

/// Lowercase and strip combining marks, so "Interjét" and "INTERJET" both
/// fold to "interjet". `ñ` folds to `n`, which is what people typing without
/// accents write anyway.
pub fn fold(s: &str) -> String {
    s.nfd().filter(|c| !unicode_normalization::char::is_combining_mark(*c)).flat_map(char::to_lowercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn folding_ignores_case_and_accents() {
        assert_eq!(fold("Interjét"), "interjet");
        assert_eq!(fold("INTERJET"), "interjet");
        assert_eq!(fold("Señor ÁVILA"), "senor avila");
    }
}
