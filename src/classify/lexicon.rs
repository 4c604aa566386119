//! The words and phrases the classifier reacts to, with weights, for Spanish
//! (Latin-American and Spain) and English, written from general knowledge of
//! how customers complain and praise in any industry. Owns the phrase
//! syntax and the matcher; the scoring that combines hits lives in `mod.rs`.
//!
//! Phrase syntax (after folding: lowercase, no accents, no apostrophes):
//! words separated by spaces; `word*` matches any word starting with `word`;
//! `...` skips 0 to 3 words within the same sentence.

use super::normalize::Token;
use super::words::{Key, WordTable};
use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cue {
    /// Unhappiness or a failure of the service.
    Neg,
    /// Pleasure, gratitude, recommendation.
    Pos,
    /// Explicit irony ("thanks for nothing"): a complaint outright.
    Sarcasm,
    Legal,
    Churn,
    Safety,
    Campaign,
    /// Flips the polarity of the next few words.
    Negator,
    /// "very", "muy": strengthens the next hit.
    Intensifier,
    /// "but", "pero": what follows weighs more than what precedes.
    Contrast,
    /// "despite", "a pesar de": what follows weighs little.
    Concessive,
    /// "please", "can you": a request, so "thanks" is politeness.
    Request,
    /// "again", "as usual": makes a complaint in the same sentence heavier.
    Again,
    /// "why", "how long", "where is my": a question that carries a grievance.
    ComplaintQuestion,
    /// A problem that belongs to someone else (weather, traffic): negative
    /// words right after it count less.
    ThirdParty,
    /// "unlike you", "aprendan de": praise in its sentence is for a
    /// competitor, so it counts against the brand.
    Comparison,
    /// Advertising and news wording: the post is probably not a customer's.
    Ad,
    /// "how do I", "¿cómo puedo…?": a question asking how something works;
    /// the problem nouns in it ("refund", "reclamación") are its topic.
    HowTo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Es,
    En,
    Any,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Pat {
    /// A whole word and the `WordInfo::id` of its entry in the word table,
    /// so a token is compared by number, not by text.
    Word(String, u32),
    Prefix(String),
    Gap,
}

#[derive(Debug)]
pub struct Entry {
    pub phrase: &'static str,
    pub pats: Vec<Pat>,
    pub cue: Cue,
    pub weight: f32,
    pub lang: Lang,
    /// Praise words people use ironically next to a grievance.
    pub ironic: bool,
    /// Gratitude, which in a request is only politeness.
    pub polite: bool,
    /// Negative wording whose negation is praise (`FLIPPABLE` in `mod.rs`).
    pub flippable: bool,
    /// Position in the tables: matches of equal length are weighed in this
    /// order, as they were when every entry was tried in turn.
    order: u32,
    /// `pats[1]` as matching first asks about it, kept here so that ruling
    /// an entry out reads the entry alone.
    second: Second,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Second {
    /// A one-word phrase.
    None,
    /// A whole word (its id), and whether that is the last pattern.
    Word(u32, bool),
    /// A prefix or a gap.
    Other,
}

type Table = (Cue, Lang, &'static [(&'static str, f32)]);

const TABLES: &[Table] = &[
    (
        Cue::Neg,
        Lang::En,
        &[
            ("worst", 1.6),
            ("terrible", 1.5),
            ("horrible", 1.5),
            ("awful", 1.5),
            ("horrendous", 1.5),
            ("atrocious", 1.5),
            ("pathetic", 1.5),
            ("disgusting", 1.5),
            ("disgrace*", 1.5),
            ("unacceptable", 1.6),
            ("ridiculous", 1.4),
            ("absurd", 1.2),
            ("disappoint*", 1.4),
            ("frustrat*", 1.3),
            ("annoy*", 1.1),
            ("angry", 1.3),
            ("furious", 1.5),
            ("upset", 1.2),
            ("mad", 0.8),
            ("pissed", 1.4),
            ("livid", 1.5),
            ("fed up", 1.5),
            ("sick of", 1.4),
            ("tired of", 1.1),
            ("hate", 1.3),
            ("hated", 1.3),
            ("sucks", 1.5),
            ("suck", 1.2),
            ("sucked", 1.4),
            ("crap*", 1.3),
            ("shit*", 1.3),
            ("bullshit", 1.5),
            ("wtf", 1.2),
            ("ffs", 1.2),
            ("smh", 1.0),
            ("ugh*", 1.0),
            ("argh", 1.0),
            ("fail", 1.2),
            ("failed", 1.2),
            ("fails", 1.2),
            ("failing", 1.2),
            ("failure", 1.2),
            ("incompetent*", 1.5),
            ("incompetence", 1.5),
            ("useless", 1.4),
            ("worthless", 1.4),
            ("rude", 1.4),
            ("rudest", 1.6),
            ("unprofessional", 1.4),
            ("unhelpful", 1.4),
            ("clueless", 1.2),
            ("lousy", 1.3),
            ("poor", 0.9),
            ("poorly", 1.0),
            ("bad", 1.0),
            ("badly", 1.0),
            ("shame*", 1.1),
            ("joke", 0.9),
            ("nightmare", 1.4),
            ("mess", 1.0),
            ("chaos", 1.0),
            ("scam*", 1.5),
            ("fraud*", 1.4),
            ("rip off", 1.5),
            ("ripoff", 1.5),
            ("ripped off", 1.5),
            ("steal*", 1.1),
            ("stole*", 1.3),
            ("thie*", 1.2),
            ("lied", 1.3),
            ("lying", 1.3),
            ("liars", 1.5),
            ("delay*", 1.2),
            ("cancel*", 1.1),
            ("late", 0.7),
            ("later", 0.2),
            ("stuck", 1.2),
            ("stranded", 1.5),
            ("missed", 0.9),
            ("miss my", 1.0),
            ("lost", 1.0),
            ("losing", 0.8),
            ("missing", 1.0),
            ("broken", 1.2),
            ("broke", 0.8),
            ("damaged", 1.2),
            ("dirty", 1.1),
            ("filthy", 1.4),
            ("smell*", 0.8),
            ("overbook*", 1.3),
            ("oversold", 1.3),
            ("bumped", 1.0),
            ("denied", 1.0),
            ("refused", 1.1),
            ("refund", 0.8),
            ("refunds", 0.8),
            ("reimburse*", 0.8),
            ("compensat*", 0.8),
            ("charged", 0.8),
            ("overcharg*", 1.3),
            ("double charged", 1.4),
            ("hidden fee*", 1.3),
            ("fee", 0.5),
            ("fees", 0.6),
            ("on hold", 1.2),
            ("hold time*", 1.2),
            ("hung up", 1.4),
            ("hang up", 1.0),
            ("waiting", 0.9),
            ("wait", 0.5),
            ("waited", 1.0),
            ("still waiting", 1.5),
            ("still no", 1.3),
            ("still not", 1.3),
            ("still havent", 1.4),
            ("still dont", 1.3),
            ("still", 0.4),
            ("no one", 1.1),
            ("noone", 1.1),
            ("nobody", 1.1),
            ("no response", 1.4),
            ("no answer", 1.3),
            ("no reply", 1.3),
            ("no help", 1.4),
            ("no info*", 1.1),
            ("no update*", 1.1),
            ("no way", 0.6),
            ("not working", 1.4),
            ("doesnt work", 1.4),
            ("didnt work", 1.3),
            ("dont work", 1.3),
            ("wont work", 1.3),
            ("stopped working", 1.4),
            ("not work", 1.2),
            ("cant get", 0.9),
            ("cant even", 1.1),
            ("couldnt", 0.6),
            ("cant", 0.5),
            ("unable", 0.9),
            ("never got", 1.2),
            ("never received", 1.4),
            ("never arrived", 1.4),
            ("never showed", 1.3),
            ("never heard back", 1.4),
            ("didnt get", 1.0),
            ("havent received", 1.3),
            ("havent heard", 1.2),
            ("not received", 1.2),
            ("not happy", 1.4),
            ("not impressed", 1.3),
            ("not ok", 1.3),
            ("not okay", 1.3),
            ("not cool", 1.3),
            ("not acceptable", 1.5),
            ("no excuse", 1.3),
            ("excuse*", 0.6),
            ("complain*", 1.0),
            ("problem*", 0.8),
            ("issue*", 0.7),
            ("error*", 0.8),
            ("glitch*", 1.0),
            ("bug", 0.8),
            ("bugs", 0.8),
            ("crash*", 0.9),
            ("outage*", 1.2),
            ("down again", 1.3),
            ("ignor*", 1.3),
            ("hours", 0.6),
            ("hour", 0.4),
            ("days", 0.3),
            ("weeks", 0.5),
            ("tarmac", 0.8),
            ("sitting", 0.5),
            ("waste*", 1.2),
            ("wasted", 1.3),
            ("stupid", 1.3),
            ("dumb", 1.2),
            ("idiot*", 1.4),
            ("moron*", 1.4),
            ("trash", 1.3),
            ("garbage", 1.3),
            ("inconvenien*", 1.1),
            ("misery", 1.3),
            ("miserable", 1.4),
            ("sad", 0.9),
            ("unhappy", 1.3),
            ("unfortunately", 0.8),
            ("sorry", 0.3),
            ("what the hell", 1.3),
            ("the hell", 1.1),
            ("hell", 0.8),
            ("damn", 1.0),
            ("dammit", 1.2),
            ("fuck*", 1.4),
            ("pls help", 0.8),
            ("help me", 0.6),
            ("lose", 0.8),
            ("confus*", 0.6),
            ("misinform*", 1.2),
            ("wrong", 1.0),
            ("mistake", 0.9),
            ("never again", 1.5),
            ("not even", 0.8),
            ("at least", 0.5),
            ("yet again", 1.2),
            ("rebook*", 0.6),
            ("hold music", 1.0),
            ("no longer", 0.6),
            ("cold", 0.5),
            ("hot", 0.3),
            ("lack of", 1.1),
            ("lacking", 1.0),
            ("zero", 0.6),
            ("worse", 1.3),
            ("slow", 0.9),
            ("expensive", 0.8),
            ("overpriced", 1.2),
            ("embarrass*", 1.1),
            ("insult*", 1.3),
            ("disrespect*", 1.4),
            ("neglect*", 1.2),
            ("careless", 1.3),
            ("treated like", 1.2),
            ("held hostage", 1.5),
            ("apology", 0.6),
            ("apologize", 0.5),
            ("cramped", 1.1),
            ("uncomfortable", 1.1),
            ("unreliable", 1.4),
            ("misleading", 1.3),
            ("false advertis*", 1.4),
            ("lies", 1.3),
            ("nope", 0.6),
            ("answer the phone", 1.2),
            ("pick up the phone", 1.2),
            ("call back", 0.8),
            ("get back to me", 1.0),
            ("trying to", 0.5),
            ("tried", 0.6),
            ("keep trying", 1.0),
            ("was told", 0.8),
            ("were told", 0.8),
            ("told me", 0.5),
            ("supposed to", 0.8),
            ("nothing", 0.5),
            ("ruin*", 1.3),
            ("forgot", 1.0),
            ("forgotten", 1.0),
            ("sigh", 1.0),
            ("rough", 0.8),
            ("crazy", 0.8),
            ("insane", 1.0),
            ("money back", 1.1),
            ("no clue", 1.2),
            ("difficult", 0.8),
            ("impossible", 1.0),
            ("disconnect*", 1.1),
            ("busy", 0.5),
            ("fault", 0.9),
            ("responsib*", 0.6),
            ("messed", 1.1),
            ("screwed", 1.3),
            ("terribly", 1.3),
            ("minutes", 0.4),
            ("not enough", 1.0),
            ("not sure why", 0.8),
            ("need help", 0.8),
            ("trouble", 0.9),
            ("had to", 0.5),
            ("should have", 0.8),
            ("shouldnt", 0.8),
            ("should be", 0.5),
            ("oops", 0.6),
            ("silence", 0.8),
            ("attitude", 0.8),
            ("clue", 0.6),
            ("hostage", 1.3),
            ("greed*", 1.3),
            ("loss", 0.7),
            ("another airline", 1.0),
            ("again", 0.3),
            ("gave away", 1.0),
            ("please help", 0.8),
            ("help please", 0.8),
            ("not going through", 1.1),
            ("unreal", 0.9),
            ("fiasco", 1.4),
            ("forever", 0.7),
            ("come on", 0.9),
            ("cmon", 0.9),
            ("what gives", 1.2),
            ("whats the point", 1.2),
            ("disappeared", 1.0),
            ("crying", 0.9),
            ("scared", 0.9),
            ("falling apart", 1.3),
            ("run out", 0.9),
            ("ran out", 0.9),
            ("strongly worded", 1.3),
            ("do better", 1.2),
            ("wonder why", 0.9),
            ("lack", 0.9),
            ("headache*", 1.0),
            ("so long", 0.8),
            ("repeatedly", 0.9),
            ("no internet", 1.1),
            ("no wifi", 1.1),
            ("no food", 1.0),
            ("no luggage", 1.1),
            ("no seats", 0.9),
            ("desperate*", 1.0),
            ("worried", 0.8),
            ("terrified", 1.2),
            ("left behind", 1.1),
            ("left on", 0.6),
            ("denies", 1.0),
            ("charging", 0.6),
            ("bs", 1.2),
            ("👎", 1.3),
            ("😡", 1.5),
            ("😠", 1.4),
            ("🤬", 1.6),
            ("😤", 1.1),
            ("😒", 1.1),
            ("🙄", 1.2),
            ("😩", 1.2),
            ("😫", 1.2),
            ("😭", 0.9),
            ("😢", 1.0),
            ("😞", 1.2),
            ("😔", 1.0),
            ("😕", 1.0),
            ("😑", 0.9),
            ("😖", 1.1),
            ("💩", 1.4),
            ("🤦", 1.2),
            ("😣", 1.0),
            ("😓", 0.8),
            ("😬", 0.6),
            ("☹", 1.2),
            ("🙁", 1.2),
            ("😾", 1.0),
            (":(", 1.2),
            (":-(", 1.2),
            (":((", 1.4),
            (":-((", 1.4),
            (":'(", 1.2),
            (":'-(", 1.2),
            (">:(", 1.5),
            (">:-(", 1.5),
            (":/", 0.9),
            (":-/", 0.9),
            ("-_-", 0.9),
            ("</3", 1.0),
            ("d:", 0.9),
        ],
    ),
    (
        Cue::Neg,
        Lang::Es,
        &[
            ("pesimo*", 1.6),
            ("pesima*", 1.6),
            ("terrible*", 1.5),
            ("horrible*", 1.5),
            ("malisimo*", 1.6),
            ("malisima*", 1.6),
            ("fatal", 1.3),
            ("asco", 1.5),
            ("asqueroso*", 1.5),
            ("vergonz*", 1.5),
            ("verguenza", 1.5),
            ("lamentable*", 1.5),
            ("deplorable*", 1.5),
            ("penoso*", 1.4),
            ("patetico*", 1.5),
            ("inaceptable", 1.6),
            ("intolerable", 1.5),
            ("ridicul*", 1.3),
            ("absurd*", 1.2),
            ("indignante", 1.6),
            ("indignad*", 1.5),
            ("indignacion", 1.5),
            ("decepcion*", 1.4),
            ("decepcionad*", 1.4),
            ("decepcionante", 1.4),
            ("frustra*", 1.3),
            ("molest*", 1.2),
            ("enojad*", 1.4),
            ("enojo", 1.3),
            ("enfadad*", 1.4),
            ("cabread*", 1.5),
            ("encabronad*", 1.6),
            ("emputad*", 1.6),
            ("harto", 1.4),
            ("harta", 1.4),
            ("hartos", 1.4),
            ("hartas", 1.4),
            ("hasta la madre", 1.6),
            ("hasta el gorro", 1.5),
            ("hasta las narices", 1.5),
            ("odio", 1.3),
            ("mierda", 1.5),
            ("chafa", 1.3),
            ("cutre", 1.3),
            ("chapuza*", 1.4),
            ("timo", 1.5),
            ("timad*", 1.5),
            ("estafa*", 1.6),
            ("estafad*", 1.6),
            ("fraude*", 1.5),
            ("robo", 1.4),
            ("roban", 1.4),
            ("robaron", 1.5),
            ("ladron*", 1.5),
            ("rateros", 1.5),
            ("mentira*", 1.3),
            ("mintieron", 1.4),
            ("mienten", 1.4),
            ("engan*", 1.3),
            ("abuso", 1.4),
            ("abusivo*", 1.4),
            ("mal", 0.9),
            ("mala", 1.0),
            ("malo", 1.0),
            ("malos", 1.0),
            ("malas", 1.0),
            ("peor", 1.4),
            ("peores", 1.4),
            ("mal servicio", 1.6),
            ("mala atencion", 1.6),
            ("mal trato", 1.5),
            ("maltrato", 1.5),
            ("pesimo servicio", 1.8),
            ("retras*", 1.2),
            ("demora*", 1.2),
            ("demorad*", 1.2),
            ("cancela*", 1.1),
            ("perdi", 0.9),
            ("perdieron", 1.3),
            ("perdid*", 0.9),
            ("extravi*", 1.3),
            ("roto", 1.2),
            ("rota", 1.2),
            ("rotas", 1.2),
            ("danad*", 1.2),
            ("sucio*", 1.1),
            ("sucia*", 1.1),
            ("sobreventa", 1.3),
            ("overbooking", 1.3),
            ("reembolso", 0.8),
            ("devolucion", 0.7),
            ("devuelvan*", 1.1),
            ("me cobraron", 1.1),
            ("cobraron", 1.0),
            ("cobro", 0.7),
            ("cobrar", 0.6),
            ("doble cargo", 1.4),
            ("cargo indebido", 1.5),
            ("cobro indebido", 1.5),
            ("en espera", 1.0),
            ("esperando", 0.9),
            ("espera", 0.5),
            ("esperar", 0.6),
            ("sigo esperando", 1.6),
            ("seguimos esperando", 1.6),
            ("sigo sin", 1.5),
            ("seguimos sin", 1.5),
            ("todavia no", 1.3),
            ("aun no", 1.3),
            ("aun sin", 1.3),
            ("todavia", 0.4),
            ("llevo", 0.7),
            ("llevamos", 0.7),
            ("nadie", 1.1),
            ("sin respuesta", 1.5),
            ("sin solucion", 1.5),
            ("sin servicio", 1.4),
            ("sin internet", 1.4),
            ("sin luz", 1.3),
            ("sin senal", 1.3),
            ("no contestan", 1.5),
            ("no contesta", 1.4),
            ("no responden", 1.5),
            ("no responde", 1.4),
            ("no me responden", 1.5),
            ("no me contestan", 1.5),
            ("no dan", 0.9),
            ("no me dan", 1.0),
            ("no hay respuesta", 1.5),
            ("ni una respuesta", 1.6),
            ("no funciona", 1.5),
            ("no sirve", 1.4),
            ("no sirven", 1.4),
            ("no me deja", 1.1),
            ("no puedo", 0.9),
            ("no pude", 0.9),
            ("no llega", 1.2),
            ("no llego", 1.2),
            ("no ha llegado", 1.3),
            ("no me ha llegado", 1.4),
            ("nunca llego", 1.4),
            ("no he recibido", 1.4),
            ("no recibi", 1.3),
            ("ni siquiera", 0.9),
            ("fallo", 1.1),
            ("falla*", 1.1),
            ("fallan", 1.1),
            ("caido", 1.0),
            ("caida", 1.0),
            ("se cayo", 1.0),
            ("problema*", 0.8),
            ("error*", 0.8),
            ("queja*", 1.1),
            ("quejar*", 1.1),
            ("reclam*", 1.0),
            ("inconvenien*", 0.9),
            ("incompeten*", 1.5),
            ("inutil*", 1.4),
            ("grosero*", 1.4),
            ("grosera*", 1.4),
            ("maleducad*", 1.4),
            ("prepotente*", 1.4),
            ("despota*", 1.4),
            ("negligen*", 1.4),
            ("ignor*", 1.2),
            ("tirad*", 0.8),
            ("varad*", 1.4),
            ("atrapad*", 1.2),
            ("pierdo", 0.9),
            ("perder", 0.7),
            ("horas", 0.6),
            ("dias", 0.3),
            ("semanas", 0.5),
            ("meses", 0.5),
            ("tarde", 0.6),
            ("lento*", 0.9),
            ("caro", 0.8),
            ("carisimo", 1.2),
            ("que pena", 1.0),
            ("pena", 0.6),
            ("triste", 0.9),
            ("lastima", 1.0),
            ("desastre*", 1.5),
            ("caos", 1.1),
            ("cagada", 1.5),
            ("cagaron", 1.5),
            ("joder", 1.2),
            ("jodido*", 1.3),
            ("chingad*", 1.3),
            ("pinche*", 1.1),
            ("puta*", 1.2),
            ("carajo", 1.2),
            ("wtf", 1.2),
            ("nefasto*", 1.5),
            ("nefasta*", 1.5),
            ("de lo peor", 1.7),
            ("que mal", 1.3),
            ("muy mal", 1.4),
            ("no es normal", 1.3),
            ("no es posible", 1.1),
            ("no puede ser", 1.2),
            ("falta de", 1.1),
            ("ningun*", 0.6),
            ("es increible que", 1.2),
            ("increible que", 1.2),
            ("como es posible", 1.3),
            ("mal informad*", 1.2),
            ("desinform*", 1.2),
            ("perjuicio*", 1.2),
            ("perjudica*", 1.2),
            ("danos", 0.8),
            ("incomod*", 1.1),
            ("apretad*", 0.8),
            ("colas", 0.7),
            ("cola", 0.4),
            ("ya basta", 1.4),
            ("basta", 0.9),
            ("porqueria", 1.5),
            ("basura", 1.4),
            ("pesadilla", 1.4),
            ("infierno", 1.2),
            ("timadores", 1.6),
            ("sinverguenza*", 1.6),
            ("tomadura de pelo", 1.5),
            ("nos toman el pelo", 1.5),
            ("cachondeo", 1.3),
            ("vaya tela", 1.3),
            ("manda huevos", 1.4),
            ("no hay derecho", 1.6),
            ("me dejaron", 1.0),
            ("nos dejaron", 1.0),
            ("sin avisar", 1.3),
            ("sin aviso", 1.3),
            ("ni idea", 0.6),
            ("para nada", 0.5),
            ("desesper*", 1.2),
            ("ni modo", 0.6),
            ("urge", 0.8),
            ("urgente", 0.8),
            ("socorro", 1.0),
            ("ayuda", 0.4),
            ("auxilio", 0.9),
            ("perdon", 0.2),
            ("disculpa*", 0.3),
            ("imposible", 1.0),
            ("pierd*", 1.0),
            ("pierde", 1.0),
            ("huelga*", 0.8),
            ("alucinante", 0.6),
            ("bajeza", 1.4),
            ("ilegal*", 1.2),
            ("deberia*", 0.6),
            ("no deberia*", 1.0),
            ("me vale", 1.3),
            ("valga madre*", 1.5),
            ("vale madre*", 1.5),
            ("arreglar", 0.7),
            ("arreglen", 1.0),
            ("segunda vez", 0.8),
            ("tercera vez", 1.1),
            ("dificil", 0.7),
            ("complicad*", 0.6),
            ("mentiros*", 1.3),
            ("no saben", 0.9),
            ("no sabe", 0.6),
            ("desconoc*", 0.6),
            ("de pago", 0.5),
            ("cobran", 0.8),
            ("cobrando", 0.8),
            ("no me dejan", 1.1),
            ("no nos dejan", 1.1),
            ("ni caso", 1.4),
            ("ningun caso", 1.2),
            ("tomen nota", 0.9),
            ("sin necesidad", 0.8),
            ("maquina", 0.4),
            ("ya van", 0.8),
            ("otra vez", 0.4),
            ("quitan", 0.7),
            ("quitaron", 0.9),
            ("olvid*", 0.8),
            ("tener que", 0.4),
            ("tuve que", 0.7),
            ("tuvimos que", 0.7),
            ("nos hicieron", 0.7),
            ("me hicieron", 0.7),
            ("colapsad*", 1.2),
            ("saturad*", 1.0),
            ("hacinad*", 1.2),
            ("cero", 0.6),
            ("vaya", 0.5),
            ("madre mia", 0.9),
            ("uf", 0.7),
            ("ufff", 0.9),
            ("agotad*", 0.6),
            ("cansad*", 0.9),
            ("hora", 0.3),
            ("minutos", 0.4),
            ("estres*", 0.9),
            ("miedo", 0.9),
            ("pesadez", 1.0),
            ("ojala", 0.5),
            ("en fin", 0.8),
            ("menuda", 0.9),
            ("menudo", 0.9),
            ("vaya servicio", 1.5),
            ("que servicio", 0.8),
            ("encima", 0.8),
            ("ademas", 0.2),
            ("sinceramente", 0.5),
            ("lo siento", 0.3),
            ("mal rollo", 1.2),
            ("no se puede", 0.9),
            ("no pueden", 0.9),
            ("no es", 0.3),
        ],
    ),
    (
        Cue::Pos,
        Lang::En,
        &[
            ("thank", 1.0),
            ("thanks", 1.0),
            ("thank you", 1.1),
            ("thanks so much", 1.4),
            ("thank you so much", 1.5),
            ("many thanks", 1.3),
            ("thanks again", 1.3),
            ("much appreciated", 1.3),
            ("appreciate*", 1.1),
            ("grateful", 1.3),
            ("kudos", 1.4),
            ("shout out", 1.1),
            ("shoutout", 1.1),
            ("great", 1.1),
            ("excellent", 1.4),
            ("awesome", 1.4),
            ("amazing", 1.4),
            ("fantastic", 1.4),
            ("wonderful", 1.4),
            ("brilliant", 1.3),
            ("outstanding", 1.5),
            ("superb", 1.4),
            ("perfect", 1.2),
            ("perfectly", 1.1),
            ("love", 1.2),
            ("loved", 1.3),
            ("loving", 1.1),
            ("lovely", 1.2),
            ("best", 1.1),
            ("nice", 0.9),
            ("good", 0.7),
            ("glad", 1.0),
            ("happy", 1.0),
            ("pleased", 1.1),
            ("impressed", 1.2),
            ("enjoy*", 1.0),
            ("delight*", 1.3),
            ("pleasant", 1.1),
            ("smooth", 1.0),
            ("easy", 0.6),
            ("friendly", 1.1),
            ("helpful", 1.1),
            ("kind", 0.9),
            ("courteous", 1.2),
            ("professional", 0.9),
            ("on time", 0.9),
            ("early", 0.6),
            ("comfortable", 1.0),
            ("comfy", 1.0),
            ("recommend*", 1.0),
            ("fan", 0.8),
            ("favorite", 1.1),
            ("favourite", 1.1),
            ("fave", 1.0),
            ("cool", 0.8),
            ("sweet", 0.8),
            ("yay", 1.2),
            ("woohoo", 1.2),
            ("wow", 0.6),
            ("congrat*", 1.1),
            ("well done", 1.3),
            ("good job", 1.3),
            ("great job", 1.4),
            ("way to go", 1.1),
            ("rock", 0.8),
            ("rocks", 1.2),
            ("rockstar*", 1.2),
            ("hero*", 1.1),
            ("above and beyond", 1.6),
            ("first class", 0.5),
            ("quick", 0.6),
            ("fast", 0.5),
            ("excited", 1.0),
            ("cant wait", 1.0),
            ("looking forward", 0.9),
            ("safe", 0.5),
            ("resolved", 0.9),
            ("sorted", 0.7),
            ("worked out", 0.8),
            ("fixed", 0.6),
            ("made my day", 1.5),
            ("cant complain", 1.0),
            ("nobody was hurt", 0.8),
            ("nobody got hurt", 0.8),
            ("no one was hurt", 0.8),
            ("no complaints", 1.2),
            ("not your fault", 0.6),
            ("glad to hear", 0.6),
            ("beautiful", 1.1),
            ("gorgeous", 1.1),
            ("fabulous", 1.3),
            ("terrific", 1.3),
            ("incredible", 1.2),
            ("blessed", 1.0),
            ("win", 0.6),
            ("lol", 0.2),
            ("haha*", 0.5),
            ("😍", 1.4),
            ("🥰", 1.4),
            ("❤", 1.3),
            ("♥", 1.2),
            ("💙", 1.2),
            ("💕", 1.2),
            ("💖", 1.2),
            ("😊", 1.2),
            ("🙂", 0.8),
            ("😀", 1.0),
            ("😁", 1.0),
            ("😃", 1.0),
            ("😄", 1.0),
            ("☺", 1.0),
            ("👏", 1.2),
            ("🙌", 1.2),
            ("👍", 1.0),
            ("💯", 1.0),
            ("✨", 0.6),
            ("🎉", 1.0),
            ("🥳", 1.1),
            ("😎", 0.8),
            ("🤗", 1.1),
            ("😘", 1.1),
            ("🙏", 0.4),
            (":)", 1.0),
            (":-)", 1.0),
            (":))", 1.2),
            (":-))", 1.2),
            (":d", 1.2),
            (":-d", 1.2),
            (";)", 0.8),
            (";-)", 0.8),
            ("<3", 1.3),
            ("^^", 0.8),
            ("^_^", 0.8),
            ("xd", 0.6),
            (":p", 0.6),
            (":-p", 0.6),
        ],
    ),
    (
        Cue::Pos,
        Lang::Es,
        &[
            ("gracias", 1.0),
            ("muchas gracias", 1.3),
            ("mil gracias", 1.4),
            ("muchisimas gracias", 1.5),
            ("agradec*", 1.2),
            ("agradecid*", 1.3),
            ("excelente*", 1.4),
            ("excelentisim*", 1.5),
            ("genial*", 1.2),
            ("buenisim*", 1.3),
            ("estupend*", 1.3),
            ("magnific*", 1.4),
            ("maravill*", 1.4),
            ("fantastic*", 1.4),
            ("increible", 0.9),
            ("espectacular*", 1.3),
            ("perfect*", 1.1),
            ("encanta*", 1.2),
            ("encanto", 1.2),
            ("me gusta", 1.0),
            ("me gusto", 1.0),
            ("amo", 1.1),
            ("mejor", 0.8),
            ("los mejores", 1.3),
            ("la mejor", 1.2),
            ("el mejor", 1.2),
            ("buen", 0.7),
            ("buena", 0.7),
            ("bueno", 0.4),
            ("buenos", 0.6),
            ("buenas", 0.3),
            ("bien", 0.6),
            ("muy bien", 1.2),
            ("nada mal", 1.0),
            ("no esta nada mal", 1.1),
            ("de lujo", 1.3),
            ("chido", 1.1),
            ("chingon", 1.2),
            ("padre", 0.3),
            ("guay", 1.1),
            ("mola", 1.1),
            ("chevere", 1.1),
            ("bacan", 1.1),
            ("copado", 1.0),
            ("feliz", 1.1),
            ("felices", 1.1),
            ("contento", 1.1),
            ("contenta", 1.1),
            ("encantad*", 1.1),
            ("satisfech*", 1.2),
            ("amable*", 1.1),
            ("atent*", 0.9),
            ("puntual*", 1.0),
            ("a tiempo", 0.8),
            ("comod*", 1.0),
            ("recomiend*", 1.0),
            ("recomendable", 1.1),
            ("felicidades", 1.2),
            ("felicito", 1.3),
            ("felicitar*", 1.2),
            ("enhorabuena", 1.3),
            ("bravo", 1.2),
            ("gran", 0.6),
            ("grandes", 0.6),
            ("top", 0.8),
            ("crack*", 1.0),
            ("bonito", 0.9),
            ("hermos*", 1.1),
            ("rapid*", 0.6),
            ("eficien*", 1.1),
            ("solucionad*", 0.9),
            ("solucionaron", 1.0),
            ("resuelto", 0.9),
            ("resolvieron", 1.0),
            ("ayudaron", 0.8),
            ("lo maximo", 1.4),
            ("los amo", 1.4),
            ("sin problema*", 1.0),
            ("sin quejas", 1.2),
            ("nadie salio herido", 0.8),
            ("no hubo heridos", 0.8),
            ("no me quejo", 1.0),
            ("no hay queja*", 1.0),
            ("un placer", 1.2),
            ("placer", 0.8),
            ("encantador*", 1.2),
            ("jaja*", 0.5),
            ("jeje*", 0.4),
            ("ole", 0.9),
            ("viva", 0.6),
            ("ganas de", 0.5),
            ("seguro", 0.2),
            ("gracia", 0.6),
        ],
    ),
    // Service failures in other industries (telecom, banking, retail, food
    // delivery, utilities) and the everyday wording of an exhausted
    // customer, beyond travel.
    (
        Cue::Neg,
        Lang::En,
        &[
            ("no signal", 1.3),
            ("no service", 1.2),
            ("no power", 1.2),
            ("power outage", 1.3),
            ("is down", 1.0),
            ("are down", 1.0),
            ("been down", 1.2),
            ("site is down", 1.4),
            ("app is down", 1.4),
            ("internet is down", 1.5),
            ("keeps crashing", 1.5),
            ("keeps dropping", 1.4),
            ("keeps freezing", 1.4),
            ("dropped calls", 1.3),
            ("dropped call", 1.2),
            ("charged twice", 1.6),
            ("charged me", 1.0),
            ("double charge", 1.4),
            ("unauthorized", 1.3),
            ("declined", 0.8),
            ("locked out", 1.2),
            ("froze my", 1.2),
            ("frozen", 0.6),
            ("wrong order", 1.4),
            ("wrong item", 1.3),
            ("missing items", 1.3),
            ("missing item", 1.3),
            ("never delivered", 1.5),
            ("not delivered", 1.3),
            ("wasnt delivered", 1.3),
            ("hasnt arrived", 1.4),
            ("didnt arrive", 1.3),
            ("still hasnt", 1.4),
            ("still waiting for", 1.6),
            ("hanging up", 1.3),
            ("hangs up", 1.3),
            ("hung up on", 1.5),
            ("unusable", 1.4),
            ("irresponsible", 1.3),
            ("screwing", 1.3),
            ("screw up", 1.2),
            ("screwed up", 1.4),
            ("cranky", 1.0),
            ("vanished", 1.0),
            ("troubling", 1.0),
            ("please fix", 1.1),
            ("fix your", 1.1),
            ("fix this", 0.9),
            ("fix it", 0.7),
            ("too long", 1.0),
            ("way too", 0.9),
            ("too often", 1.0),
            ("any better", 0.6),
            ("not addressed", 1.2),
            ("been addressed", 0.6),
            ("not fixed", 1.3),
            ("been fixed", 0.4),
            ("a joke", 1.2),
            ("what a joke", 1.6),
            ("laughable", 1.3),
            ("appalling", 1.6),
            ("appalled", 1.6),
            ("outrageous", 1.5),
            ("outraged", 1.5),
            ("shocking", 1.2),
            ("disgusted", 1.5),
            ("horrid", 1.4),
            ("abysmal", 1.6),
            ("dreadful", 1.5),
            ("subpar", 1.2),
            ("sub par", 1.2),
            ("mediocre", 1.0),
            ("shoddy", 1.3),
            ("sloppy", 1.1),
            ("a mess", 1.2),
            ("ridiculously", 1.0),
            ("fuming", 1.4),
            ("ghosted", 1.3),
            ("runaround", 1.3),
            ("run around", 1.1),
            ("transferred", 0.6),
            ("get this resolved", 0.6),
            ("get it resolved", 0.6),
            ("get this sorted", 0.6),
            ("get it sorted", 0.6),
            ("get this fixed", 0.7),
            ("get it fixed", 0.7),
            ("not resolved", 1.3),
            ("unresolved", 1.3),
            ("ripping", 1.0),
            ("scammers", 1.6),
            ("thieves", 1.5),
            ("nobody answers", 1.5),
            ("no one answers", 1.5),
            ("nobody responds", 1.5),
            ("no one responds", 1.5),
            ("no one cares", 1.5),
            ("nobody cares", 1.5),
            ("dont care", 1.1),
            ("doesnt care", 1.2),
            ("dont even", 0.8),
            ("never answer", 1.4),
            ("never respond", 1.4),
            ("keep getting", 0.8),
            ("days now", 1.0),
            ("weeks now", 1.2),
            ("months now", 1.2),
            ("for days", 0.9),
            ("for weeks", 1.1),
            ("for months", 1.1),
            ("sick and tired", 1.7),
            ("had enough", 1.3),
            ("enough is enough", 1.6),
            ("jokers", 1.3),
            ("clowns", 1.3),
            ("amateur*", 1.1),
            ("greedy", 1.4),
            ("nickel and dime*", 1.3),
            ("price gouging", 1.5),
            ("gouging", 1.3),
            ("hidden charges", 1.4),
            ("no refund", 1.4),
            ("refuse to", 1.3),
            ("refusing to", 1.3),
            ("wont refund", 1.5),
            ("wont let me", 1.2),
            ("doesnt let me", 1.1),
            ("wont even", 1.1),
            ("cold food", 1.1),
            ("food was cold", 1.3),
            ("soggy", 1.1),
            ("stale", 1.0),
            ("spoiled", 1.0),
            ("expired", 0.7),
            ("leaking", 1.0),
            ("leak", 0.7),
            ("gross", 1.3),
            ("nasty", 1.3),
            ("forced to", 1.0),
            ("unavailable", 0.8),
            ("automated", 0.6),
            ("a human", 0.8),
            ("real person", 0.9),
            ("live person", 0.9),
            ("cannot", 0.5),
            ("wont", 0.5),
            ("clearly", 0.5),
            ("i paid", 0.6),
            ("we paid", 0.6),
            ("paid for", 0.6),
            ("keeps", 0.6),
            ("no solution", 1.3),
            ("killing me", 1.0),
            ("nothappy", 1.3),
            ("kept", 0.5),
            ("screw you", 1.6),
            ("less than stellar", 1.4),
            ("less than ideal", 1.1),
            ("less than helpful", 1.3),
            ("not a fan", 1.2),
            ("notafan", 1.2),
            ("not fine", 1.2),
            ("substandard", 1.3),
            ("impolite", 1.3),
            ("never loads", 1.3),
            ("wont load", 1.3),
            ("doesnt load", 1.3),
            ("not loading", 1.3),
            ("jacked", 1.0),
            ("no choice", 0.9),
            ("what have you done", 1.2),
            ("inconceivable", 1.2),
            ("wth", 1.2),
            ("be honest", 0.6),
        ],
    ),
    (
        Cue::Neg,
        Lang::Es,
        &[
            ("quilombo", 1.2),
            ("discrimin*", 1.3),
            ("desastros*", 1.5),
            ("puto", 1.2),
            ("putos", 1.2),
            ("caca", 0.9),
            ("boludo*", 1.1),
            ("pelotud*", 1.2),
            ("que morro", 1.3),
            ("morro", 0.6),
            ("cara dura", 1.3),
            ("caradura*", 1.3),
            ("surrealista", 1.0),
            ("tomando el pelo", 1.5),
            ("tomandome el pelo", 1.6),
            ("tomandonos el pelo", 1.6),
            ("toman el pelo", 1.5),
            ("tomar el pelo", 1.3),
            ("no dan informacion", 1.4),
            ("no da informacion", 1.3),
            ("sin informacion", 1.2),
            ("ninguna informacion", 1.3),
            ("no informan", 1.3),
            ("a ver si", 0.5),
            ("otro dia mas", 1.0),
            ("otra semana", 0.6),
            ("llevo ... esperando", 1.5),
            ("llevamos ... esperando", 1.5),
            ("llevo ... dias", 1.2),
            ("llevo ... semanas", 1.3),
            ("llevo ... meses", 1.3),
            ("llevo ... horas", 1.2),
            ("ya van ... dias", 1.3),
            ("ya van ... semanas", 1.3),
            ("me cuelgan", 1.5),
            ("me colgaron", 1.5),
            ("cuelgan", 1.1),
            ("colgaron", 1.1),
            ("nadie me atiende", 1.6),
            ("nadie atiende", 1.5),
            ("no atienden", 1.4),
            ("no me atienden", 1.5),
            ("nadie contesta", 1.5),
            ("nadie responde", 1.5),
            ("nadie me responde", 1.6),
            ("nadie me contesta", 1.6),
            ("nadie da la cara", 1.6),
            ("dando vueltas", 1.1),
            ("me tienen dando vueltas", 1.6),
            ("pelotean", 1.3),
            ("peloteando", 1.3),
            ("no me resuelven", 1.6),
            ("no resuelven", 1.4),
            ("no solucionan", 1.4),
            ("no me solucionan", 1.5),
            ("ninguna solucion", 1.4),
            ("sigue sin", 1.4),
            ("siguen sin", 1.4),
            ("sigue igual", 1.0),
            ("sigue fallando", 1.5),
            ("una burla", 1.6),
            ("burla", 1.2),
            ("sin agua", 1.2),
            ("sin gas", 1.1),
            ("sin linea", 1.3),
            ("sin cobertura", 1.3),
            ("no tengo internet", 1.5),
            ("no tengo senal", 1.5),
            ("no tengo luz", 1.4),
            ("no hay luz", 1.3),
            ("no hay internet", 1.4),
            ("no hay senal", 1.4),
            ("se fue la luz", 1.2),
            ("corte de luz", 1.2),
            ("cortes", 0.9),
            ("cortaron", 0.9),
            ("apagon", 1.2),
            ("intermitente", 1.0),
            ("se corta", 1.0),
            ("se cae", 0.9),
            ("cobro doble", 1.6),
            ("cobraron doble", 1.6),
            ("me cobraron doble", 1.7),
            ("doble cobro", 1.6),
            ("no reconozco", 1.2),
            ("cargo no reconocido", 1.6),
            ("cargos no reconocidos", 1.6),
            ("bloquearon", 1.1),
            ("bloquead*", 0.8),
            ("me descontaron", 1.1),
            ("descontaron", 0.9),
            ("comision*", 0.5),
            ("mi pedido no", 1.4),
            ("pedido incompleto", 1.5),
            ("incomplet*", 1.0),
            ("equivocad*", 0.9),
            ("llego frio", 1.2),
            ("llego fria", 1.2),
            ("me cancelaron", 1.3),
            ("no me devuelven", 1.6),
            ("no devuelven", 1.4),
            ("no me han devuelto", 1.6),
            ("quiero mi dinero", 1.5),
            ("mi dinero", 0.6),
            ("inadmisible", 1.6),
            ("impresentable*", 1.5),
            ("indecente*", 1.4),
            ("tercermundista", 1.4),
            ("de risa", 1.0),
            ("de chiste", 1.2),
            ("un chiste", 1.0),
            ("payasada*", 1.3),
            ("circo", 0.9),
            ("cinico*", 1.2),
            ("descaro", 1.4),
            ("descarad*", 1.4),
            ("abusan", 1.4),
            ("abusivo", 1.4),
            ("mala onda", 1.2),
            ("gacho", 1.1),
            ("ni madres", 1.2),
            ("hdp", 1.4),
            ("ptm", 1.2),
            ("no mames", 0.6),
            ("cansado de", 1.2),
            ("cansada de", 1.2),
            ("cansados de", 1.2),
            ("estoy hasta", 0.8),
            ("ya estoy harto", 1.7),
            ("ya estoy harta", 1.7),
            ("no sirven para nada", 1.7),
            ("no sirve para nada", 1.7),
            ("no hacen nada", 1.4),
            ("no hacen caso", 1.4),
            ("no me hacen caso", 1.5),
            ("ni una llamada", 1.4),
            ("ni un correo", 1.3),
            ("ni un mensaje", 1.3),
            ("sin resolver", 1.4),
            ("sin arreglar", 1.3),
            ("no lo arreglan", 1.4),
            ("no arreglan", 1.4),
            ("nunca contestan", 1.5),
            ("nunca responden", 1.5),
            ("jamas contestan", 1.5),
            ("atencion pesima", 1.8),
            ("servicio pesimo", 1.8),
            ("arreglad", 1.0),
            ("solucionen", 1.1),
            ("pongan solucion", 1.3),
            ("den solucion", 1.2),
            ("necesito una solucion", 1.2),
            ("necesito solucion*", 1.2),
            ("mentirosos", 1.5),
            ("robando", 1.4),
            ("nos roban", 1.5),
            ("me robaron", 1.5),
            ("sin verguenza", 1.5),
            ("vergonzos*", 1.5),
            ("lentitud", 1.1),
            ("tardan", 0.9),
            ("tardanza", 1.1),
            ("no llegan", 1.2),
            ("no aparece", 0.9),
            ("desaparec*", 0.9),
            ("me tienen", 0.6),
            ("ya no se que hacer", 1.4),
            ("no se que hacer", 1.0),
            ("que onda con", 0.8),
            ("les da igual", 1.5),
            ("le da igual", 1.3),
            ("da igual", 0.8),
            ("hacen lo que quieren", 1.4),
            ("obligad*", 0.9),
            ("una persona real", 0.9),
            ("no carga", 1.2),
            ("no cargan", 1.2),
            ("no abre", 1.0),
            ("no entra", 0.8),
            ("tiene narices", 1.4),
            ("tienen narices", 1.4),
            ("explotador*", 1.3),
            ("desagradable*", 1.3),
            ("deprime", 1.0),
            ("deprimente", 1.2),
            ("culebron", 1.0),
            ("falso", 0.8),
            ("falsa", 0.8),
            ("arreglais", 0.9),
            ("solucionais", 0.9),
            ("niegan", 0.9),
            ("negaron", 1.1),
            ("se niegan", 1.3),
            ("desprestigio", 1.0),
            ("desatencion", 1.4),
            ("dejadez", 1.3),
            ("informalidad", 1.2),
            ("irresponsab*", 1.4),
            ("irrespetuos*", 1.4),
            ("falta de respeto", 1.6),
            ("sin respeto", 1.3),
            ("podrido*", 1.2),
            ("caducad*", 0.9),
            ("vencid*", 0.5),
        ],
    ),
    (
        Cue::Pos,
        Lang::En,
        &[
            ("10 10", 1.3),
            ("five stars", 1.3),
            ("5 stars", 1.3),
            ("highly recommend", 1.6),
            ("top notch", 1.5),
            ("on point", 1.0),
            ("the best", 1.3),
            ("best service", 1.6),
            ("great service", 1.6),
            ("excellent service", 1.7),
            ("life saver", 1.4),
            ("lifesaver", 1.4),
            ("saved the day", 1.5),
            ("saved my", 1.1),
            ("legend*", 1.0),
            ("stellar", 1.4),
            ("phenomenal", 1.5),
            ("exceptional", 1.4),
            ("impeccable", 1.4),
            ("seamless", 1.2),
            ("hassle free", 1.2),
            ("painless", 1.1),
            ("flawless", 1.3),
            ("attentive", 1.1),
            ("gracious", 1.1),
            ("cant get any better", 1.5),
            ("couldnt be better", 1.5),
            ("couldnt be happier", 1.6),
            ("cant thank you enough", 1.8),
            ("thanks for fixing", 1.5),
            ("thank you for fixing", 1.5),
            ("thanks for resolving", 1.5),
            ("thank you for resolving", 1.5),
            ("thanks for the help", 1.3),
            ("thank you for the help", 1.3),
            ("thanks for helping", 1.3),
            ("thank you for helping", 1.3),
            ("thanks for the quick", 1.4),
            ("quick response", 1.1),
            ("fast response", 1.1),
            ("quickly resolved", 1.4),
            ("problem solved", 1.2),
            ("all good now", 1.3),
            ("works great", 1.4),
            ("working again", 1.0),
            ("back up and running", 1.1),
            ("love you guys", 1.5),
            ("you guys rock", 1.5),
            ("you rock", 1.4),
            ("keep it up", 1.2),
            ("cheers", 0.6),
        ],
    ),
    (
        Cue::Pos,
        Lang::Es,
        &[
            ("gracias por resolver", 1.6),
            ("gracias por solucionar", 1.6),
            ("gracias por la ayuda", 1.4),
            ("gracias por su ayuda", 1.4),
            ("gracias por tu ayuda", 1.4),
            ("gracias por la atencion", 1.3),
            ("gracias por su atencion", 1.3),
            ("gracias por la rapidez", 1.5),
            ("10 de 10", 1.3),
            ("de 10", 1.2),
            ("de diez", 1.2),
            ("cinco estrellas", 1.3),
            ("5 estrellas", 1.3),
            ("lo recomiendo", 1.3),
            ("recomendad*", 1.1),
            ("me salvaron", 1.4),
            ("impecable*", 1.4),
            ("inmejorable*", 1.5),
            ("buenazo", 1.2),
            ("buenaza", 1.2),
            ("que buena onda", 1.3),
            ("buena onda", 1.1),
            ("a toda madre", 1.3),
            ("genios", 1.1),
            ("idolos", 1.0),
            ("lo mejor", 1.1),
            ("atencion de primera", 1.5),
            ("de primera", 1.1),
            ("excelente atencion", 1.7),
            ("excelente servicio", 1.7),
            ("muy buen servicio", 1.6),
            ("buen servicio", 1.3),
            ("buena atencion", 1.3),
            ("rapidisim*", 1.2),
            ("ya funciona", 1.0),
            ("ya quedo", 0.9),
            ("ya me llego", 1.0),
            ("sigan asi", 1.3),
            ("un lujo", 1.2),
            ("increibles", 1.1),
        ],
    ),
    (
        Cue::ComplaintQuestion,
        Lang::Any,
        &[
            ("when will i get", 1.0),
            ("when will i receive", 1.0),
            ("when will my", 0.9),
            ("how is it possible", 1.4),
            ("how is this possible", 1.4),
            ("how hard is it", 1.5),
            ("is it too much to ask", 1.6),
            ("why does it take", 1.3),
            ("why do i have to", 1.3),
            ("why cant", 1.2),
            ("why is it so", 1.3),
            ("por que siempre", 1.4),
            ("como puede ser", 1.3),
            ("cuando me van a", 1.3),
            ("de que sirve", 1.3),
            ("que onda con", 1.0),
            ("alguien me puede ayudar", 0.6),
            ("no les da", 1.0),
            ("cuanto mas", 1.2),
            ("cuantos dias", 1.0),
            ("how many more", 1.3),
            ("how much longer", 1.4),
            ("anyone else", 0.8),
        ],
    ),
    (
        Cue::Sarcasm,
        Lang::Any,
        &[
            ("thanks for nothing", 2.5),
            ("thank you for nothing", 2.5),
            ("thanks a lot", 0.6),
            ("yeah right", 1.8),
            ("way to go", 0.0),
            ("just what i needed", 1.5),
            ("just great", 1.5),
            ("just perfect", 1.4),
            ("great job", 0.0),
            ("love how", 1.0),
            ("love that you", 0.8),
            ("love when", 1.0),
            ("love it when", 1.2),
            ("nice job", 0.0),
            ("so much for", 1.5),
            ("gee thanks", 2.0),
            ("#not", 1.5),
            ("sarcasm", 1.2),
            ("gracias por nada", 2.5),
            ("gracias por tanto", 0.8),
            ("si claro", 1.6),
            ("si como no", 1.8),
            ("como no", 0.8),
            ("que bien que", 0.6),
            ("me encanta como", 1.0),
            ("me encanta que", 0.7),
            ("me encanta cuando", 1.1),
            ("muy bonito", 0.6),
            ("ole ole", 0.6),
            ("bravo por", 0.6),
            ("felicidades por", 0.5),
            ("que maravilla", 0.4),
            ("🙃", 1.2),
        ],
    ),
    (
        Cue::Legal,
        Lang::En,
        &[
            ("sue", 2.0),
            ("suing", 2.0),
            ("sued", 1.8),
            ("lawsuit", 2.0),
            ("lawyer*", 2.0),
            ("attorney*", 2.0),
            ("legal action", 2.0),
            ("small claims", 2.0),
            ("class action", 2.0),
            ("bbb", 1.8),
            ("better business bureau", 1.8),
            ("consumer protection", 1.8),
            ("attorney general", 2.0),
            ("ftc", 1.6),
            ("dot complaint", 1.8),
            ("file a complaint", 1.4),
            ("filing a complaint", 1.4),
            ("report you", 1.4),
            ("chargeback", 1.2),
            ("dispute the charge", 1.2),
            ("court", 1.2),
            ("ombudsman", 1.6),
            ("regulator", 1.4),
            ("legal team", 1.4),
            ("cfpb", 1.8),
            ("fcc", 1.4),
            ("trading standards", 1.8),
        ],
    ),
    (
        Cue::Legal,
        Lang::Es,
        &[
            ("demanda", 2.0),
            ("demandar*", 2.0),
            ("demandare", 2.0),
            ("demandaremos", 2.0),
            ("abogad*", 2.0),
            ("accion legal", 2.0),
            ("acciones legales", 2.0),
            ("via legal", 1.8),
            ("denuncia*", 1.6),
            ("denunciar*", 1.6),
            ("profeco", 2.0),
            ("ocu", 1.8),
            ("facua", 1.8),
            ("consumo", 0.8),
            ("oficina de consumo", 1.8),
            ("hoja de reclamacion*", 1.6),
            ("libro de reclamacion*", 1.6),
            ("indecopi", 2.0),
            ("sernac", 2.0),
            ("defensa del consumidor", 2.0),
            ("condusef", 2.0),
            ("aesa", 1.6),
            ("juicio", 1.2),
            ("juzgado", 1.6),
            ("tribunal*", 1.4),
            ("fiscalia", 1.6),
            ("proteccion al consumidor", 1.8),
            ("superintendencia", 1.4),
            ("procon", 1.8),
            ("asociacion de consumidores", 1.8),
            ("ley", 0.4),
            ("mis derechos", 1.2),
            ("nuestros derechos", 1.2),
        ],
    ),
    (
        Cue::Churn,
        Lang::En,
        &[
            ("never again", 1.8),
            ("never ... again", 1.6),
            ("never flying ... again", 2.0),
            ("never fly ... again", 2.0),
            ("last time i", 1.6),
            ("last time ill", 1.6),
            ("switching to", 1.6),
            ("switch to", 1.0),
            ("switched to", 1.4),
            ("cancel my account", 2.0),
            ("cancel my subscription", 2.0),
            ("cancel my card", 1.8),
            ("cancelling my", 1.4),
            ("canceling my", 1.4),
            ("close my account", 1.8),
            ("closing my account", 1.8),
            ("take my business elsewhere", 2.0),
            ("taking my business elsewhere", 2.0),
            ("lost a customer", 2.0),
            ("lost my business", 2.0),
            ("done with you", 1.6),
            ("im done with", 1.6),
            ("i am done with", 1.6),
            ("wont be flying", 1.6),
            ("wont fly", 1.6),
            ("will never fly", 2.0),
            ("will never use", 2.0),
            ("never use you", 1.8),
            ("never using", 1.6),
            ("will not be using", 1.6),
            ("find another", 1.0),
            ("go elsewhere", 1.4),
            ("going elsewhere", 1.4),
            ("with another airline", 1.0),
            ("loyal customer", 0.8),
            ("goodbye", 0.6),
            ("unsubscribe", 1.0),
        ],
    ),
    (
        Cue::Churn,
        Lang::Es,
        &[
            ("nunca mas", 1.8),
            ("nunca jamas", 1.8),
            ("jamas vuelvo", 2.0),
            ("no vuelvo a", 1.8),
            ("no volvere", 1.8),
            ("no vuelvo", 1.6),
            ("no volveremos", 1.8),
            ("me cambio a", 1.8),
            ("me cambio de", 1.6),
            ("me voy a cambiar", 1.8),
            ("me paso a", 1.6),
            ("me voy con", 1.4),
            ("me voy a ir con", 1.6),
            ("cancelar mi cuenta", 2.0),
            ("cancelar mi contrato", 2.0),
            ("cancelar mi suscripcion", 2.0),
            ("dar de baja", 1.6),
            ("darme de baja", 1.8),
            ("me doy de baja", 1.8),
            ("baja del servicio", 1.6),
            ("portabilidad", 1.6),
            ("ultima vez que", 1.6),
            ("perdieron un cliente", 2.0),
            ("han perdido un cliente", 2.0),
            ("perdieron a un cliente", 2.0),
            ("acaban de perder", 1.6),
            ("me voy a la competencia", 1.8),
            ("otra aerolinea", 1.0),
            ("otra compania", 1.0),
            ("otro banco", 1.0),
            ("otra empresa", 0.9),
        ],
    ),
    (
        Cue::Safety,
        Lang::En,
        &[
            ("injur*", 2.0),
            ("hurt", 1.0),
            ("bleeding", 1.8),
            ("blood", 1.0),
            ("fire", 1.2),
            ("caught fire", 2.0),
            ("smoke", 1.2),
            ("food poisoning", 2.2),
            ("poison*", 1.6),
            ("allergic reaction", 2.0),
            ("unsafe", 1.8),
            ("dangerous", 1.8),
            ("danger", 1.4),
            ("emergency landing", 1.8),
            ("emergency", 0.8),
            ("hospital", 1.4),
            ("hospitalized", 1.6),
            ("hospitalised", 1.6),
            ("ambulance", 1.8),
            ("paramedic*", 1.8),
            ("assault*", 1.8),
            ("harass*", 1.6),
            ("electrocut*", 2.0),
            ("burned", 1.0),
            ("burns", 1.0),
            ("exploded", 1.8),
            ("explosion", 1.8),
            ("gas leak", 2.0),
            ("carbon monoxide", 2.0),
            ("safety hazard", 2.0),
            ("hazard*", 1.4),
            ("safety", 0.8),
            ("choking", 1.6),
            ("mold", 1.0),
            ("mould", 1.0),
            ("cockroach*", 1.0),
            ("rats", 0.8),
            ("sick from", 1.6),
            ("got sick", 1.4),
        ],
    ),
    (
        Cue::Safety,
        Lang::Es,
        &[
            ("herid*", 2.0),
            ("lesion*", 1.8),
            ("lastim*", 1.4),
            ("sangr*", 1.2),
            ("incendio", 2.0),
            ("fuego", 1.4),
            ("humo", 1.2),
            ("intoxica*", 2.2),
            ("envenen*", 2.0),
            ("reaccion alergica", 2.0),
            ("peligro", 1.8),
            ("peligros*", 1.8),
            ("inseguro", 1.4),
            ("insegura", 1.4),
            ("aterrizaje de emergencia", 1.8),
            ("emergencia", 0.8),
            ("hospital", 1.4),
            ("hospitaliz*", 1.6),
            ("ambulancia", 1.8),
            ("agredi*", 1.8),
            ("agresion", 1.8),
            ("acoso", 1.6),
            ("acosad*", 1.6),
            ("electrocut*", 2.0),
            ("quemadura*", 1.6),
            ("exploto", 1.8),
            ("explosion", 1.8),
            ("fuga de gas", 2.0),
            ("accidente", 1.4),
            ("seguridad", 0.5),
            ("cucaracha*", 1.0),
            ("moho", 1.0),
            ("ratas", 0.8),
            ("me enferme", 1.4),
        ],
    ),
    (
        Cue::Campaign,
        Lang::Any,
        &[
            ("difund*", 2.0),
            ("compart*", 0.8),
            ("compartan", 1.6),
            ("rt para", 2.0),
            ("rt por favor", 1.8),
            ("rt please", 1.8),
            ("please rt", 1.8),
            ("please retweet", 1.8),
            ("retweet", 1.0),
            ("rt", 0.5),
            ("spread the word", 2.0),
            ("share this", 1.4),
            ("please share", 1.6),
            ("que se haga viral", 2.0),
            ("hagamos viral", 2.0),
            ("hagan viral", 2.0),
            ("viraliz*", 1.8),
            ("go viral", 1.6),
            ("boicot", 2.0),
            ("boycott*", 2.0),
            ("exponer", 1.2),
            ("expose", 1.2),
            ("everyone should know", 1.6),
            ("que todos sepan", 1.6),
            ("que lo sepan todos", 1.6),
            ("no vuelen con", 1.8),
            ("dont fly with", 1.4),
            ("avoid", 1.0),
            ("eviten", 1.6),
            ("no compren", 1.6),
            ("dont buy", 1.4),
            ("warning", 0.8),
            ("cuidado con", 1.2),
            ("aguas con", 1.2),
            ("los invito a", 1.0),
        ],
    ),
    (
        Cue::Negator,
        Lang::En,
        &[
            ("not", 1.0),
            ("no", 1.0),
            ("never", 1.0),
            ("dont", 1.0),
            ("doesnt", 1.0),
            ("didnt", 1.0),
            ("isnt", 1.0),
            ("wasnt", 1.0),
            ("arent", 1.0),
            ("werent", 1.0),
            ("cant", 1.0),
            ("cannot", 1.0),
            ("couldnt", 1.0),
            ("wont", 1.0),
            ("wouldnt", 1.0),
            ("havent", 1.0),
            ("hasnt", 1.0),
            ("hadnt", 1.0),
            ("aint", 1.0),
            ("without", 1.0),
            ("nothing", 1.0),
            ("hardly", 1.0),
            ("nor", 1.0),
        ],
    ),
    (Cue::Negator, Lang::Es, &[("no", 1.0), ("nunca", 1.0), ("jamas", 1.0), ("ni", 1.0), ("tampoco", 1.0), ("sin", 1.0), ("nada", 1.0)]),
    (
        Cue::Intensifier,
        Lang::Any,
        &[
            ("very", 1.4),
            ("so", 1.3),
            ("really", 1.3),
            ("extremely", 1.6),
            ("super", 1.4),
            ("totally", 1.4),
            ("absolutely", 1.5),
            ("completely", 1.4),
            ("incredibly", 1.5),
            ("truly", 1.3),
            ("most", 1.2),
            ("muy", 1.4),
            ("tan", 1.3),
            ("re", 1.2),
            ("realmente", 1.3),
            ("totalmente", 1.4),
            ("completamente", 1.4),
            ("demasiado", 1.3),
            ("sumamente", 1.5),
            ("mas", 1.1),
            ("extremadamente", 1.6),
            ("bastante", 1.2),
        ],
    ),
    (
        Cue::Contrast,
        Lang::Any,
        &[
            ("but", 1.0),
            ("however", 1.0),
            ("though", 1.0),
            ("although", 1.0),
            ("yet", 1.0),
            ("pero", 1.0),
            ("sin embargo", 1.0),
            ("aunque", 1.0),
            ("mas bien", 1.0),
            ("en cambio", 1.0),
        ],
    ),
    (
        Cue::Concessive,
        Lang::Any,
        &[
            ("despite", 1.0),
            ("in spite of", 1.0),
            ("even though", 1.0),
            ("even with", 1.0),
            ("regardless of", 1.0),
            ("a pesar de", 1.0),
            ("a pesar del", 1.0),
            ("pese a", 1.0),
            ("pese al", 1.0),
            ("aun con", 1.0),
            ("sorry for", 1.0),
            ("sorry to hear", 1.0),
            ("siento", 1.0),
            ("lamento", 1.0),
            ("no matter", 1.0),
        ],
    ),
    (
        Cue::Request,
        Lang::Any,
        &[
            ("please", 1.0),
            ("can you", 1.0),
            ("would love", 1.0),
            ("id love", 1.0),
            ("i would love", 1.0),
            ("could you", 1.0),
            ("would you", 1.0),
            ("can i", 1.0),
            ("do you", 1.0),
            ("is there", 1.0),
            ("how do i", 1.0),
            ("how can i", 1.0),
            ("any chance", 1.0),
            ("help", 1.0),
            ("dm", 1.0),
            ("por favor", 1.0),
            ("pueden", 1.0),
            ("podrian", 1.0),
            ("puedo", 1.0),
            ("podria", 1.0),
            ("me ayudan", 1.0),
            ("me podrian", 1.0),
            ("me pueden", 1.0),
            ("quisiera", 1.0),
            ("necesito", 1.0),
            ("info", 1.0),
            ("informacion", 1.0),
            ("saber si", 1.0),
            ("want to know", 1.0),
            ("wondering", 1.0),
            ("dudas", 1.0),
            ("duda", 1.0),
            ("consulta", 1.0),
            ("follow", 1.0),
            ("sigueme", 1.0),
            ("siganme", 1.0),
            ("mp", 1.0),
            ("md", 1.0),
            ("dd", 1.0),
        ],
    ),
    (
        Cue::Again,
        Lang::Any,
        &[
            ("again", 1.0),
            ("once again", 1.0),
            ("yet again", 1.0),
            ("as usual", 1.0),
            ("as always", 1.0),
            ("every time", 1.0),
            ("every single time", 1.0),
            ("otra vez", 1.0),
            ("de nuevo", 1.0),
            ("nuevamente", 1.0),
            ("como siempre", 1.0),
            ("una vez mas", 1.0),
            ("cada vez", 1.0),
            ("siempre lo mismo", 1.0),
            ("lo de siempre", 1.0),
        ],
    ),
    (
        Cue::ComplaintQuestion,
        Lang::Any,
        &[
            ("why", 1.1),
            ("how come", 1.3),
            ("how long", 1.1),
            ("when will", 0.5),
            ("when are you", 0.5),
            ("where is my", 1.2),
            ("wheres my", 1.2),
            ("where are my", 1.2),
            ("what happened to", 1.0),
            ("whats going on", 1.0),
            ("what is going on", 1.0),
            ("is anyone", 1.1),
            ("anyone there", 1.2),
            ("anybody", 0.8),
            ("seriously", 1.0),
            ("really", 0.5),
            ("are you kidding", 1.6),
            ("you kidding", 1.4),
            ("por que", 1.1),
            ("porque", 0.8),
            ("porque no", 1.2),
            ("por que no", 1.3),
            ("hasta cuando", 1.4),
            ("cuanto tiempo", 1.0),
            ("cuando van a", 1.1),
            ("para cuando", 0.9),
            ("donde esta mi", 1.2),
            ("donde estan mis", 1.2),
            ("que paso con", 1.0),
            ("que pasa con", 1.1),
            ("hay alguien", 1.2),
            ("en serio", 1.1),
            ("es en serio", 1.3),
            ("neta", 0.8),
            ("es broma", 1.2),
            ("de verdad", 0.6),
            ("a que juegan", 1.5),
            ("que les pasa", 1.4),
            ("como es posible", 1.4),
        ],
    ),
    (
        Cue::ThirdParty,
        Lang::Any,
        &[
            ("weather", 1.0),
            ("storm", 1.0),
            ("snow", 1.0),
            ("blizzard", 1.0),
            ("traffic", 1.0),
            ("tsa", 1.0),
            ("security line", 1.0),
            ("mother nature", 1.0),
            ("the airport", 1.0),
            ("clima", 1.0),
            ("tormenta", 1.0),
            ("nieve", 1.0),
            ("lluvia", 1.0),
            ("trafico", 1.0),
            ("huracan", 1.0),
            ("el aeropuerto", 1.0),
            ("la huelga", 1.0),
            ("controladores", 1.0),
            ("migracion", 1.0),
            ("aduana", 1.0),
            ("customs", 1.0),
        ],
    ),
    (
        Cue::Comparison,
        Lang::Any,
        &[
            ("unlike you", 1.4),
            ("unlike", 0.8),
            ("learn from", 1.2),
            ("should learn", 1.3),
            ("take notes", 1.2),
            ("at least", 0.6),
            ("a diferencia de", 1.0),
            ("aprendan de", 1.4),
            ("deberian aprender", 1.4),
            ("al menos", 0.6),
            ("por lo menos", 0.6),
            ("no como", 0.8),
            ("not like you", 1.2),
            ("ojala fueran", 1.0),
        ],
    ),
    (
        Cue::HowTo,
        Lang::Any,
        &[
            ("how do i", 1.0),
            ("how can i", 1.0),
            ("how to", 1.0),
            ("who do i", 1.0),
            ("who should i", 1.0),
            ("what is your policy", 1.0),
            ("whats your policy", 1.0),
            ("what is the policy", 1.0),
            ("is there a way", 1.0),
            ("como puedo", 1.0),
            ("como hago", 1.0),
            ("como se hace", 1.0),
            ("donde puedo", 1.0),
            ("a quien", 1.0),
            ("cual es la politica", 1.0),
            ("que debo hacer", 1.0),
            ("como solicito", 1.0),
            ("como pido", 1.0),
        ],
    ),
    (
        Cue::Ad,
        Lang::Any,
        &[
            ("oferta*", 1.0),
            ("promo*", 1.0),
            ("descuento*", 1.0),
            ("sorteo", 1.0),
            ("giveaway", 1.0),
            ("deal", 1.0),
            ("deals", 1.0),
            ("sale", 1.0),
            ("fares from", 1.0),
            ("tarifas desde", 1.0),
            ("desde $", 1.0),
            ("vacante*", 1.0),
            ("hiring", 1.0),
            ("empleo", 1.0),
            ("noticia*", 1.0),
            ("breaking", 1.0),
            ("news", 1.0),
            ("announces", 1.0),
            ("anuncia", 1.0),
            ("nueva ruta", 1.0),
            ("new route", 1.0),
            ("via", 1.0),
        ],
    ),
];

const IRONIC_STARTS: &[&str] = &[
    "thank",
    "thanks",
    "gracias",
    "great",
    "genial",
    "love",
    "encanta",
    "nice",
    "perfect",
    "excelente",
    "excellent",
    "awesome",
    "bravo",
    "congrat",
    "felicidades",
    "felicito",
    "wonderful",
    "fantastic",
    "brilliant",
    "maravill",
    "increible",
    "amazing",
    "good job",
    "appreciate",
    "fabulous",
    "lovely",
    "cool",
    "muchas gracias",
    "mil gracias",
    "estupend",
    "fantastic",
    "buenisim",
    "yay",
    "sweet",
    "superb",
    "kudos",
    "well done",
];

const POLITE_STARTS: &[&str] = &["thank", "gracias", "muchas gracias", "mil gracias", "appreciate", "agradec", "many thanks", "much appreciated"];

/// `id`: the word table's id of a whole word (every whole word of every
/// phrase is in the table by then).
fn compile_pattern(phrase: &str, id: impl Fn(&str) -> u32) -> Vec<Pat> {
    phrase
        .split_whitespace()
        .map(|w| {
            if w == "..." {
                Pat::Gap
            } else if let Some(p) = w.strip_suffix('*') {
                Pat::Prefix(p.to_string())
            } else {
                Pat::Word(w.to_string(), id(w))
            }
        })
        .collect()
}

/// Everything the classifier asks about one folded word, found with one
/// hash lookup when the word is tokenized instead of one per question.
#[derive(Debug, Default)]
pub struct WordInfo {
    /// Unique per word: a token is this word exactly when its `info` has
    /// this id.
    pub id: u32,
    /// Lexicon entries (indices into `Lexicon::entries`) whose first
    /// pattern is this whole word: first the `unindexed` ones (one word
    /// long, or a prefix or gap second), then the others grouped by their
    /// second word, as `seconds` lists them.
    entries: Vec<u32>,
    unindexed: usize,
    /// (second word's id, range of `entries`), by id.
    seconds: Vec<(u32, usize, usize)>,
    /// Bit k set: a common word of language k of `lang::STOPWORDS`.
    pub stopword: u8,
    /// Puts a person in the post (`PERSONAL` in `mod.rs`).
    pub personal: bool,
    /// What the chat abbreviation stands for (`normalize::expansion`).
    pub expansion: Option<&'static [&'static str]>,
    /// The prefix trie's nodes with entries along this word, shortest
    /// first: what `prefixes_of` would walk to, found once at build time.
    prefix_nodes: Vec<u32>,
    /// The entries this word starts, listed for matching without a walk
    /// of the trie; longer ones indexed by second word are not among
    /// `Listed::others`.
    listed: Listed,
    /// Bit `PostLang as u8` set: no entry can match at this word in a
    /// post of that language (most words of a post).
    idle: u8,
}

/// What may match a token, listed at build time: ranges of
/// `Lexicon::singles` and `Lexicon::others`.
#[derive(Debug, Default, Clone, Copy)]
struct Listed {
    /// Per `PostLang`, the one-pattern entries that match in a post of
    /// that language, in the order `matches_into` reports them.
    singles: [(u32, u32); 3],
    /// Longer entries, to try against the next tokens.
    others: (u32, u32),
}

pub struct Lexicon {
    /// Every entry, in table order (`Entry::order` is its index).
    entries: Vec<Entry>,
    /// Entries whose first pattern is a whole word, and what the other
    /// modules know about words, by word.
    words: WordTable<WordInfo>,
    /// The lists `Listed::singles` and `Listed::others` are ranges of.
    singles: Vec<u32>,
    others: Vec<u32>,
    /// Entries whose first pattern is a prefix, in a byte trie of those
    /// prefixes: one walk along a token finds every prefix it starts with,
    /// instead of comparing it with every prefix entry.
    by_prefix: Vec<TrieNode>,
    /// The root's children by byte (0: none; node 0 is the root itself).
    prefix_roots: [u32; 256],
    /// The trie's edges as `deepest` walks them: per node, the range of
    /// `trie_edges` holding its (byte, child) pairs. Two small arrays
    /// instead of one list per node, so a step reads memory that the
    /// previous steps most likely brought in.
    trie_spans: Vec<(u32, u32)>,
    trie_edges: Vec<(u8, u32)>,
}

#[derive(Default)]
struct TrieNode {
    /// (byte, child node), few per node.
    next: Vec<(u8, u32)>,
    /// Entries whose prefix ends here.
    entries: Vec<u32>,
    /// The entries of this node and of every node above it: all the prefix
    /// entries of a word whose walk ends here.
    listed: Listed,
}

impl Lexicon {
    fn trie_insert(&mut self, prefix: &str, entry: u32) {
        let mut node = 0usize;
        for b in prefix.bytes() {
            node = match self.by_prefix[node].next.iter().find(|(k, _)| *k == b) {
                Some(&(_, child)) => child as usize,
                None => {
                    let child = self.by_prefix.len();
                    self.by_prefix.push(TrieNode::default());
                    self.by_prefix[node].next.push((b, child as u32));
                    child
                }
            };
        }
        self.by_prefix[node].entries.push(entry);
    }

    /// Each trie node with entries along `word` (so: whose prefix `word`
    /// starts with), shortest prefix first.
    fn walk(&self, word: &str, mut found: impl FnMut(usize)) {
        let mut bytes = word.bytes();
        // The root has a child for most first bytes: a table, not a search.
        let Some(child) = bytes.next().map(|b| self.prefix_roots[usize::from(b)]).filter(|c| *c != 0) else { return };
        let mut at = child as usize;
        if !self.by_prefix[at].entries.is_empty() {
            found(at);
        }
        for b in bytes {
            let Some(&(_, child)) = self.by_prefix[at].next.iter().find(|(k, _)| *k == b) else { return };
            at = child as usize;
            if !self.by_prefix[at].entries.is_empty() {
                found(at);
            }
        }
    }

    /// Entries whose prefix `word` starts with, shortest prefix first;
    /// `known` is the word table's entry for `word`, if it has one, which
    /// knows the answer without the walk.
    fn prefixes_of<'a>(&'a self, word: &str, known: Option<&WordInfo>, out: &mut Vec<&'a Entry>) {
        match known {
            Some(w) => {
                for &n in &w.prefix_nodes {
                    out.extend(self.by_prefix[n as usize].entries.iter().map(|&k| &self.entries[k as usize]));
                }
            }
            None => self.walk(word, |n| out.extend(self.by_prefix[n].entries.iter().map(|&k| &self.entries[k as usize]))),
        }
    }
}

pub fn lexicon() -> &'static Lexicon {
    static LEX: OnceLock<Lexicon> = OnceLock::new();
    LEX.get_or_init(|| {
        let mut lex = Lexicon {
            entries: Vec::new(),
            words: WordTable::build(Vec::new()),
            singles: Vec::new(),
            others: Vec::new(),
            by_prefix: vec![TrieNode::default()],
            prefix_roots: [0; 256],
            trie_spans: Vec::new(),
            trie_edges: Vec::new(),
        };
        let mut by_word: HashMap<&'static str, WordInfo> = HashMap::new();
        // Every whole word of every phrase gets an entry (and so an id)
        // first; words that start no phrase keep an empty one.
        let mut ids: HashMap<&'static str, u32> = HashMap::new();
        for (_, _, rows) in TABLES {
            for (phrase, _) in rows.iter() {
                for w in phrase.split_whitespace().filter(|w| *w != "..." && !w.ends_with('*')) {
                    let next = ids.len() as u32 + 1;
                    ids.entry(w).or_insert(next);
                }
            }
        }
        let mut order = 0;
        for (cue, lang, rows) in TABLES {
            for (phrase, weight) in rows.iter() {
                let pats = compile_pattern(phrase, |w| ids[w]);
                let ironic = *cue == Cue::Pos && IRONIC_STARTS.iter().any(|s| phrase.starts_with(s));
                let polite = *cue == Cue::Pos && POLITE_STARTS.iter().any(|s| phrase.starts_with(s));
                // Emoji and emoticons are the same in every language.
                let lang = if phrase.starts_with(|c: char| c.is_alphanumeric()) { *lang } else { Lang::Any };
                let flippable = super::FLIPPABLE.iter().any(|f| phrase.starts_with(f));
                let second = match pats.get(1) {
                    None => Second::None,
                    Some(Pat::Word(_, id)) => Second::Word(*id, pats.len() == 2),
                    Some(_) => Second::Other,
                };
                let entry = Entry { phrase, pats, cue: *cue, weight: *weight, lang, ironic, polite, flippable, order, second };
                // The key borrows the phrase itself, which is 'static.
                let first = phrase.split_whitespace().next().unwrap_or("");
                match &entry.pats[0] {
                    Pat::Word(..) => by_word.entry(first).or_default().entries.push(order),
                    Pat::Prefix(p) => {
                        let p = p.clone();
                        lex.trie_insert(&p, order);
                    }
                    Pat::Gap => {}
                }
                lex.entries.push(entry);
                order += 1;
            }
        }
        for (word, bits) in super::lang::stopword_langs() {
            by_word.entry(word).or_default().stopword = *bits;
        }
        for word in super::PERSONAL {
            by_word.entry(word).or_default().personal = true;
        }
        for (word, words) in super::normalize::expansions() {
            by_word.entry(word).or_default().expansion = Some(words);
        }
        // Ids for the words that are in the table for another reason; 0 is
        // never a phrase word's id, and every id is unique.
        for (word, id) in &ids {
            by_word.entry(*word).or_default().id = *id;
        }
        for (id, w) in (ids.len() as u32 + 1..).zip(by_word.values_mut().filter(|w| w.id == 0)) {
            w.id = id;
        }
        for &(b, child) in &lex.by_prefix[0].next {
            lex.prefix_roots[usize::from(b)] = child;
        }
        for node in &lex.by_prefix {
            let from = lex.trie_edges.len() as u32;
            lex.trie_edges.extend(node.next.iter().copied());
            lex.trie_spans.push((from, lex.trie_edges.len() as u32));
        }
        // Frequent words ("no", "the", "muy") are in the word table: their
        // prefix entries are found here once instead of at every token.
        for (word, info) in by_word.iter_mut() {
            lex.walk(word, |n| info.prefix_nodes.push(n as u32));
            info.index_by_second_word(&lex.entries);
            lex.list_word(info);
        }
        lex.list_trie();
        lex.words = WordTable::build(by_word.into_iter().collect());
        lex
    })
}

impl Lexicon {
    /// Lists `own` (entries whose first pattern is the token's word) and
    /// `prefixed` (entries whose prefix the token starts with) as matching
    /// reads them (see `Listed`).
    fn list(&mut self, own: &[u32], prefixed: &[u32]) -> Listed {
        let mut listed = Listed::default();
        let alone = |k: &u32| self.entries[*k as usize].second == Second::None;
        for lang in PostLang::ALL {
            let fits = |k: &&u32| alone(k) && lang_ok(self.entries[**k as usize].lang, lang);
            // As `matches_into` sorts them: the word's own entries, then
            // prefix entries, each in table order.
            let mut mine: Vec<u32> = own.iter().filter(fits).copied().collect();
            let mut theirs: Vec<u32> = prefixed.iter().filter(fits).copied().collect();
            mine.sort_unstable();
            theirs.sort_unstable();
            theirs.dedup();
            let from = self.singles.len() as u32;
            self.singles.extend(mine.into_iter().chain(theirs));
            listed.singles[lang as usize] = (from, self.singles.len() as u32);
        }
        let longer: Vec<u32> = own.iter().chain(prefixed).filter(|k| !alone(k)).copied().collect();
        let from = self.others.len() as u32;
        self.others.extend(longer);
        listed.others = (from, self.others.len() as u32);
        listed
    }

    /// Fills `w.listed`, once `w.entries` and `w.prefix_nodes` are final.
    fn list_word(&mut self, w: &mut WordInfo) {
        let prefixed: Vec<u32> = w.prefix_nodes.iter().flat_map(|&n| self.by_prefix[n as usize].entries.iter().copied()).collect();
        w.listed = self.list(&w.entries[..w.unindexed], &prefixed);
        let starts_longer = w.listed.others.0 != w.listed.others.1 || !w.seconds.is_empty();
        for lang in PostLang::ALL {
            let (from, to) = w.listed.singles[lang as usize];
            if from == to && !starts_longer {
                w.idle |= 1 << lang as u8;
            }
        }
    }

    /// Fills every trie node's `listed`, once the trie is complete.
    fn list_trie(&mut self) {
        // Depth first, with the entries of the nodes above.
        let mut stack: Vec<(usize, Vec<u32>)> = vec![(0, Vec::new())];
        while let Some((node, mut above)) = stack.pop() {
            above.extend(self.by_prefix[node].entries.iter().copied());
            self.by_prefix[node].listed = self.list(&[], &above);
            for k in 0..self.by_prefix[node].next.len() {
                stack.push((self.by_prefix[node].next[k].1 as usize, above.clone()));
            }
        }
    }

    /// The deepest trie node along `word`: its `listed` holds every prefix
    /// entry `word` starts with.
    fn deepest(&self, word: &str) -> usize {
        let mut bytes = word.bytes();
        // The root has a child for most first bytes: a table, not a search.
        let Some(child) = bytes.next().map(|b| self.prefix_roots[usize::from(b)]).filter(|c| *c != 0) else { return 0 };
        let mut at = child as usize;
        for b in bytes {
            let (from, to) = self.trie_spans[at];
            let Some(&(_, child)) = self.trie_edges[from as usize..to as usize].iter().find(|(k, _)| *k == b) else { break };
            at = child as usize;
        }
        at
    }

    /// `matches_into` for a token whose candidates `listed` holds, besides
    /// those of `indexed` found by the next token's word: the longer ones
    /// are tried, and the matches sorted only when one of them matched.
    #[inline]
    fn matches_listed<'a>(&'a self, at: &Candidates, listed: &Listed, indexed: Option<&WordInfo>, out: &mut Vec<Match<'a>>) {
        let (from, to) = listed.others;
        for &k in &self.others[from as usize..to as usize] {
            at.consider(&self.entries[k as usize], out);
        }
        if let Some(w) = indexed.filter(|w| !w.seconds.is_empty()) {
            for id in at.next_ids() {
                if id != 0 {
                    for &k in w.after(id) {
                        at.consider(&self.entries[k as usize], out);
                    }
                }
            }
        }
        let longer = out.len();
        let (from, to) = listed.singles[at.lang as usize];
        let i = at.i;
        out.extend(self.singles[from as usize..to as usize].iter().map(|&k| Match { entry: &self.entries[k as usize], start: i, end: i + 1 }));
        if longer > 0 && out.len() > 1 {
            // The order `find_matches` sorts in, for a token without `alt`:
            // every whole-word entry here is the word's own. (A shared sort
            // function measured about 3 % slower in the bench, though this
            // sort almost never runs; the lexicon's test of every entry
            // checks that the two orders agree.)
            out.sort_by_key(|m| (std::cmp::Reverse(m.end - m.start), usize::from(!matches!(m.entry.pats[0], Pat::Word(..))), m.entry.order));
        }
    }
}

impl WordInfo {
    /// Orders `entries` for `after`: a word such as "no" or "the" starts
    /// dozens of phrases, and the next token rules out all but a few.
    fn index_by_second_word(&mut self, all: &[Entry]) {
        let second = |k: &u32| match all[*k as usize].second {
            Second::Word(id, _) => Some(id),
            _ => None,
        };
        // Stable, so each group keeps table order.
        self.entries.sort_by_key(|k| second(k));
        self.unindexed = self.entries.iter().take_while(|k| second(k).is_none()).count();
        let mut start = self.unindexed;
        while start < self.entries.len() {
            let id = second(&self.entries[start]).unwrap_or(0);
            let end = start + self.entries[start..].iter().take_while(|k| second(k) == Some(id)).count();
            self.seconds.push((id, start, end));
            start = end;
        }
    }

    /// Entries that may match whatever the next token is.
    fn unindexed(&self) -> &[u32] {
        &self.entries[..self.unindexed]
    }

    /// Entries whose second word has the id `second`.
    fn after(&self, second: u32) -> &[u32] {
        match self.seconds.binary_search_by_key(&second, |s| s.0) {
            Ok(k) => &self.entries[self.seconds[k].1..self.seconds[k].2],
            Err(_) => &[],
        }
    }
}

/// Where a match lies: tokens `start..end`.
#[derive(Debug, Clone, Copy)]
pub struct Match<'a> {
    pub entry: &'a Entry,
    pub start: usize,
    pub end: usize,
}

fn token_fits(t: &Token, p: &Pat) -> bool {
    match p {
        Pat::Word(_, id) => is_word(t, *id),
        Pat::Prefix(pre) => t.is_wordlike() && t.starts_with(pre),
        Pat::Gap => t.is_wordlike(),
    }
}

/// Whether `t` is the phrase word with this id.
#[inline]
fn is_word(t: &Token, id: u32) -> bool {
    // `info` and `alt_info` are the word table's entries for `text` and
    // `alt`, and every phrase word has one: same id, same word.
    t.is_wordlike() && (t.info.is_some_and(|w| w.id == id) || t.alt_info.is_some_and(|w| w.id == id))
}

/// Length matched by `pats` from `i`, or None.
fn match_at(tokens: &[Token], i: usize, pats: &[Pat]) -> Option<usize> {
    let Some(first) = pats.first() else { return Some(i) };
    if matches!(first, Pat::Gap) {
        for skip in 0..=3 {
            let j = i + skip;
            if skip > 0 && (j > tokens.len() || tokens[j - 1].is_break()) {
                break;
            }
            if let Some(end) = match_at(tokens, j, &pats[1..]) {
                return Some(end);
            }
        }
        return None;
    }
    let t = tokens.get(i)?;
    if token_fits(t, first) {
        match_at(tokens, i + 1, &pats[1..])
    } else {
        None
    }
}

/// The post's language as far as the lexicon cares, decided once per post
/// instead of comparing language codes for every candidate phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostLang {
    Es = 0,
    En = 1,
    /// Any other language, or unknown.
    Other = 2,
}

impl PostLang {
    const ALL: [PostLang; 3] = [PostLang::Es, PostLang::En, PostLang::Other];

    pub fn of(lang: &str) -> PostLang {
        match lang {
            "es" => PostLang::Es,
            "en" => PostLang::En,
            _ => PostLang::Other,
        }
    }
}

fn lang_ok(entry: Lang, post: PostLang) -> bool {
    match (entry, post) {
        (Lang::Any, _) => true,
        (Lang::Es, PostLang::Es) | (Lang::En, PostLang::En) => true,
        // Other or unknown languages: try everything.
        (_, l) => l == PostLang::Other,
    }
}

/// Where matching is looking: at token `i`, with the post's language.
struct Candidates<'t, 'n> {
    tokens: &'t [Token<'n>],
    i: usize,
    lang: PostLang,
    next: Option<&'t Token<'n>>,
}

impl Candidates<'_, '_> {
    /// The next token's word ids, to look up entries by second word; 0 is no id.
    fn next_ids(&self) -> [u32; 2] {
        match self.next.filter(|n| n.is_wordlike()) {
            Some(n) => [n.info.map_or(0, |w| w.id), n.alt_info.map_or(0, |w| w.id)],
            None => [0, 0],
        }
    }

    /// Pushes the match of `e` at `i`, if it matches. Its first pattern fits
    /// the token (that is how it was found: by `text`, by `alt`, or as a
    /// prefix of one of them), so matching starts at the second. A word such
    /// as "no" or "the" starts dozens of phrases, most of them two words
    /// long: the single-word ones and the ones whose second word is not the
    /// next token are settled here, by one id comparison, without a call to
    /// `match_at`.
    #[inline]
    fn consider<'a>(&self, e: &'a Entry, out: &mut Vec<Match<'a>>) {
        if !lang_ok(e.lang, self.lang) {
            return;
        }
        let i = self.i;
        let end = match e.second {
            Second::None => Some(i + 1),
            Second::Word(id, last) => {
                if !self.next.is_some_and(|n| is_word(n, id)) {
                    return;
                }
                if last {
                    Some(i + 2)
                } else {
                    match_at(self.tokens, i + 2, &e.pats[2..])
                }
            }
            Second::Other => match_at(self.tokens, i + 1, &e.pats[1..]),
        };
        if let Some(end) = end {
            out.push(Match { entry: e, start: i, end });
        }
    }
}

impl Lexicon {
    /// What is known about `word` (folded), if anything.
    pub fn word(&self, word: &str) -> Option<&WordInfo> {
        self.words.get(word)
    }

    /// `word`, whose table key the caller built as it wrote the word.
    #[inline]
    pub fn word_keyed(&self, key: &Key, word: &[u8]) -> Option<&WordInfo> {
        self.words.get_keyed(key, word)
    }

    /// Every entry matching at `i`, longest first; among equally long ones,
    /// whole-word entries for `text`, then for `alt`, then prefix entries in
    /// table order.
    pub fn matches_at<'a>(&'a self, tokens: &[Token], i: usize, lang: &str) -> Vec<Match<'a>> {
        let mut out = Vec::new();
        self.matches_into(tokens, i, PostLang::of(lang), &mut out, &mut Vec::new());
        out
    }

    /// `matches_at` into `out` (cleared first); `prefixed` is scratch space.
    /// Both are the caller's, reused from one token to the next.
    #[inline]
    pub fn matches_into<'a>(&'a self, tokens: &[Token], i: usize, lang: PostLang, out: &mut Vec<Match<'a>>, prefixed: &mut Vec<&'a Entry>) {
        out.clear();
        let t = &tokens[i];
        // Settled here, without a call: most words of a post start nothing.
        if t.alt.is_none() && t.info.is_some_and(|w| w.idle & (1 << lang as u8) != 0) {
            return;
        }
        self.find_matches(tokens, i, lang, out, prefixed);
    }

    /// `matches_into` past its first check (`out` is empty).
    fn find_matches<'a>(&'a self, tokens: &[Token], i: usize, lang: PostLang, out: &mut Vec<Match<'a>>, prefixed: &mut Vec<&'a Entry>) {
        let t = &tokens[i];
        // No entry starts with a gap, and only word-like tokens fit a word or prefix.
        if !t.is_wordlike() {
            return;
        }
        let next = tokens.get(i + 1);
        let at = Candidates { tokens, i, lang, next };
        match (t.info, t.alt) {
            // A known word without stretched letters, by far the common
            // case, and any other word without them: what may match was
            // listed at build time.
            (Some(w), None) => return self.matches_listed(&at, &w.listed, Some(w), out),
            (None, None) => return self.matches_listed(&at, &self.by_prefix[self.deepest(t.text)].listed, None, out),
            _ => {}
        }
        // Every candidate's first pattern fits `t` (that is how it was
        // found: by `text`, by `alt`, or as a prefix of one of them), so
        // matching starts at the second.
        // Entries are visited grouped by their second word, not in table
        // order; the sort below restores the order of matches.
        for w in [t.info, t.alt_info].into_iter().flatten() {
            for &k in w.unindexed() {
                at.consider(&self.entries[k as usize], out);
            }
            if !w.seconds.is_empty() {
                for id in at.next_ids() {
                    if id != 0 {
                        for &k in w.after(id) {
                            at.consider(&self.entries[k as usize], out);
                        }
                    }
                }
            }
        }
        // Prefix entries that `text` or `alt` starts with, gathered then put
        // back in table order. Both are short; at most a handful match.
        // `info` and `alt_info` are the word table's entries for exactly
        // `text` and `alt` (see `Token`).
        prefixed.clear();
        self.prefixes_of(t.text, t.info, prefixed);
        if let Some(alt) = t.alt {
            self.prefixes_of(alt, t.alt_info, prefixed);
        }
        if prefixed.len() > 1 {
            prefixed.sort_by_key(|e| e.order);
            prefixed.dedup_by_key(|e| e.order);
        }
        for e in prefixed.iter() {
            at.consider(e, out);
        }
        if out.len() > 1 {
            // Longest first; among equally long ones, entries of `text`,
            // then of `alt`, then prefix entries, each in table order.
            let group = |e: &Entry| match e.pats[0] {
                Pat::Word(_, id) if t.info.is_some_and(|w| w.id == id) => 0,
                Pat::Word(..) => 1,
                _ => 2,
            };
            out.sort_by_key(|m| (std::cmp::Reverse(m.end - m.start), group(m.entry), m.entry.order));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::normalize::tokenize;
    use super::*;

    #[test]
    fn gaps_and_prefixes_match_inside_one_sentence() {
        let mut buf = String::new();
        let toks = tokenize("never flying with you guys again", &mut buf);
        let m = lexicon().matches_at(&toks, 0, "en");
        assert!(m.iter().any(|m| m.entry.phrase == "never flying ... again"));
        let toks = tokenize("never. I will fly again", &mut buf);
        let m = lexicon().matches_at(&toks, 0, "en");
        assert!(!m.iter().any(|m| m.entry.cue == Cue::Churn && m.entry.phrase.contains("...")));
    }

    #[test]
    fn no_phrase_is_listed_twice_for_the_same_cue_and_language() {
        // A duplicate would match at the same length and count twice.
        let mut seen = std::collections::HashSet::new();
        for (cue, lang, rows) in TABLES {
            for (phrase, _) in rows.iter() {
                assert!(seen.insert((format!("{cue:?}"), format!("{lang:?}"), *phrase)), "{phrase:?} listed twice as {cue:?}/{lang:?}");
            }
        }
    }

    #[test]
    fn phrases_are_written_folded_so_they_can_match() {
        // Tokens are lowercased and lose their accents; "vergüenza" in the
        // table would never match anything.
        for (_, _, rows) in TABLES {
            for (phrase, _) in rows.iter() {
                let word_like = phrase.starts_with(|c: char| c.is_alphanumeric());
                assert!(!word_like || crate::text::fold(phrase) == *phrase, "{phrase:?} is not folded");
            }
        }
    }

    #[test]
    fn listed_matches_are_what_trying_every_entry_finds() {
        // Matching finds candidates through lists made at build time (a
        // word's own and prefix entries per language, the deepest trie node
        // of an unknown word, the idle flag); trying every entry of the
        // lexicon at every token must find the same matches, in the same order.
        let lex = lexicon();
        let texts = [
            "no me contestan y llevo tres dias esperando, pesimo servicio",
            "never flying with you guys again. worst airline ever :(",
            "PESIMOOO servicio, me cancelaron el vuelo sin avisar #NuncaMas",
            "thx u guys r the best!!! loooove the new app 😍",
            "not bad at all, nada mal la verdad",
            "disappointing and frustrating, cancelled twice, refunds never arrived",
            "gracias por nada @aerolinea, los voy a demandar con profeco",
            "is there a way to get my money back? xq no me responden",
            "the staff were sooo rude, unacceptable, totally unacceptable",
            "sigo sin internet desde el lunes, que mal",
            "Hola, ¿a qué hora abre el mostrador? gracias",
            "chatting with zyxq blorfs about quux-frobnication",
        ];
        let mut buf = String::new();
        let mut checked = 0;
        for text in texts {
            let tokens = tokenize(text, &mut buf);
            for lang in PostLang::ALL {
                for i in 0..tokens.len() {
                    let t = &tokens[i];
                    let mut want: Vec<(usize, u32)> = Vec::new();
                    if t.is_wordlike() {
                        for e in lex.entries.iter().filter(|e| lang_ok(e.lang, lang)) {
                            if let Some(end) = match_at(&tokens, i, &e.pats) {
                                want.push((end, e.order));
                            }
                        }
                    }
                    let group = |order: u32| match lex.entries[order as usize].pats[0] {
                        Pat::Word(_, id) if t.info.is_some_and(|w| w.id == id) => 0,
                        Pat::Word(..) => 1,
                        _ => 2,
                    };
                    want.sort_by_key(|&(end, order)| (std::cmp::Reverse(end), group(order), order));
                    let mut got = Vec::new();
                    lex.matches_into(&tokens, i, lang, &mut got, &mut Vec::new());
                    let got: Vec<(usize, u32)> = got.iter().map(|m| (m.end, m.entry.order)).collect();
                    assert_eq!(got, want, "{text:?}, token {i} ({:?}), {lang:?}", t.text);
                    checked += got.len();
                }
            }
        }
        assert!(checked > 100, "{checked}");
    }

    #[test]
    fn spanish_only_words_do_not_fire_on_english_text() {
        let mut buf = String::new();
        let toks = tokenize("I demand a refund", &mut buf);
        let m = lexicon().matches_at(&toks, 1, "en");
        assert!(m.iter().all(|m| m.entry.cue != Cue::Legal));
    }
}
