//! A brand's own phrases (`[brand.classify]`): when one is in the post it
//! decides the class, whatever the rules and the model say. The fix a team
//! needs today, before enough corrections have taught the model.

use crate::model::Class;

/// Folded phrases by class, tried escalation first, then complaint,
/// neutral and praise: when a post holds phrases of two classes the more
/// urgent one wins, so a phrase can never hide a complaint from the pager
/// by accident of order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Phrases {
    entries: Vec<(Class, String, String)>,
}

const ORDER: [Class; 4] = [Class::Escalation, Class::Complaint, Class::Neutral, Class::Praise];

impl Phrases {
    /// `lists` as written in the config, per class.
    pub fn new(lists: &[(Class, &[String])]) -> Phrases {
        let mut entries = Vec::new();
        for class in ORDER {
            for (c, list) in lists {
                if *c != class {
                    continue;
                }
                for p in list.iter() {
                    let key = words(p);
                    if !key.trim().is_empty() {
                        entries.push((class, key, p.trim().to_string()));
                    }
                }
            }
        }
        Phrases { entries }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The first phrase (in class order) that occurs in `text` as whole
    /// words, accents and case aside.
    pub fn find(&self, text: &str) -> Option<(Class, &str)> {
        if self.entries.is_empty() {
            return None;
        }
        let hay = words(text);
        self.entries.iter().find(|(_, key, _)| hay.contains(key.as_str())).map(|(c, _, p)| (*c, p.as_str()))
    }
}

/// Folded words, each between single spaces, so that `contains` matches
/// whole words only.
fn words(s: &str) -> String {
    let folded = crate::text::fold(s);
    let mut out = String::with_capacity(folded.len() + 2);
    out.push(' ');
    for w in folded.split(|c: char| !(c.is_alphanumeric() || c == '@' || c == '#')).filter(|w| !w.is_empty()) {
        out.push_str(w);
        out.push(' ');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(lists: &[(Class, &[&str])]) -> Phrases {
        let owned: Vec<(Class, Vec<String>)> = lists.iter().map(|(c, l)| (*c, l.iter().map(|s| s.to_string()).collect())).collect();
        let refs: Vec<(Class, &[String])> = owned.iter().map(|(c, l)| (*c, l.as_slice())).collect();
        Phrases::new(&refs)
    }

    #[test]
    fn phrases_match_whole_words_whatever_the_accents_and_case() {
        let ph = p(&[(Class::Complaint, &["me dejaron en tierra"]), (Class::Neutral, &["convocatoria de empleo"])]);
        assert_eq!(ph.find("¡ME DEJARON EN TIERRA otra vez!"), Some((Class::Complaint, "me dejaron en tierra")));
        assert_eq!(ph.find("Convocatoria de empleo: auxiliares"), Some((Class::Neutral, "convocatoria de empleo")));
        assert_eq!(ph.find("me dejaron en tierraxx"), None);
        assert_eq!(ph.find("nothing here"), None);
    }

    #[test]
    fn the_more_urgent_class_wins_when_phrases_of_two_classes_occur() {
        let ph = p(&[(Class::Praise, &["gracias"]), (Class::Escalation, &["profeco"]), (Class::Complaint, &["sin luz"])]);
        assert_eq!(ph.find("gracias, sin luz, iré a profeco").map(|x| x.0), Some(Class::Escalation));
        assert_eq!(ph.find("gracias, sin luz").map(|x| x.0), Some(Class::Complaint));
    }
}
