//! The raw document: the TOML file and the `ESCUCHA__*` environment merged
//! by the `config` crate into one untyped tree, the line of every key in the
//! file, and a cursor that walks the tree, remembers which keys were read and
//! collects every problem instead of stopping at the first.
//!
//! Why not `#[serde(deny_unknown_fields)]` structs: serde stops at the first
//! wrong type or unknown key, and the contract is "every problem at once".
//! So `load.rs` asks this cursor for each documented key by name (which is
//! also what makes a key known), and whatever nobody asked for is reported
//! as unknown. Nothing here knows what a brand or a rota is.

use super::load::ConfigError;
use config::{Map, Value, ValueKind};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

/// `config` marks values that came from `Environment` with this origin.
const ENV_ORIGIN: &str = "the environment";
static EMPTY: LazyLock<Value> = LazyLock::new(|| Value::new(None, ValueKind::Table(Map::new())));
pub(crate) const ENV_PREFIX: &str = "ESCUCHA";
pub(crate) const ENV_SEPARATOR: &str = "__";

/// Where problems go, and where keys are in the file.
pub(crate) struct Doc<'a> {
    file: &'a Path,
    /// Key path (`brand[0].respond_within.complaint`) → 1-based line.
    lines: HashMap<String, usize>,
    errors: RefCell<Vec<ConfigError>>,
}

impl<'a> Doc<'a> {
    pub(crate) fn new(file: &'a Path, text: &str, tree: &toml::de::DeTable<'_>) -> Doc<'a> {
        let mut lines = HashMap::new();
        let starts = line_starts(text);
        index_table(&starts, "", tree, &mut lines);
        Doc { file, lines, errors: RefCell::new(Vec::new()) }
    }

    /// The line of `path`, or of its nearest ancestor that is in the file
    /// (a missing key is reported at its table's header).
    fn line_of(&self, path: &str) -> Option<usize> {
        let mut p = path;
        loop {
            if let Some(l) = self.lines.get(p) {
                return Some(*l);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }

    pub(crate) fn report(&self, path: &str, env_var: Option<String>, message: impl Into<String>) {
        let line = if env_var.is_some() { None } else { self.line_of(path) };
        self.errors.borrow_mut().push(ConfigError { file: self.file.to_path_buf(), line, key: path.to_string(), env_var, message: message.into() });
    }

    pub(crate) fn has_errors(&self) -> bool {
        !self.errors.borrow().is_empty()
    }

    pub(crate) fn into_errors(self) -> Vec<ConfigError> {
        self.errors.into_inner()
    }
}

/// Byte offset of the start of each line, to turn spans into line numbers.
pub(crate) fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect()
}

pub(crate) fn line_at(starts: &[usize], offset: usize) -> usize {
    starts.partition_point(|&s| s <= offset)
}

fn index_table(starts: &[usize], path: &str, table: &toml::de::DeTable<'_>, out: &mut HashMap<String, usize>) {
    for (key, value) in table {
        let p = join(path, key.get_ref());
        out.insert(p.clone(), line_at(starts, key.span().start));
        index_value(starts, &p, value, out);
    }
}

fn index_value(starts: &[usize], path: &str, value: &toml::Spanned<toml::de::DeValue<'_>>, out: &mut HashMap<String, usize>) {
    match value.get_ref() {
        toml::de::DeValue::Table(t) => index_table(starts, path, t, out),
        toml::de::DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let p = format!("{path}[{i}]");
                // For `[[brand]]` this is the header line of that element.
                out.insert(p.clone(), line_at(starts, item.span().start));
                index_value(starts, &p, item, out);
            }
        }
        _ => {}
    }
}

pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// `smtp.port` → `ESCUCHA__SMTP__PORT`, the variable that set it.
pub(crate) fn env_var_for(path: &str) -> String {
    let mut name = String::from(ENV_PREFIX);
    for part in path.split('.') {
        name.push_str(ENV_SEPARATOR);
        name.push_str(&part.to_uppercase());
    }
    name
}

fn kind_name(v: &ValueKind) -> &'static str {
    match v {
        ValueKind::Nil => "nothing",
        ValueKind::Boolean(_) => "a boolean",
        ValueKind::I64(_) | ValueKind::I128(_) | ValueKind::U64(_) | ValueKind::U128(_) => "a number",
        ValueKind::Float(_) => "a number",
        ValueKind::String(_) => "a string",
        ValueKind::Table(_) => "a table",
        ValueKind::Array(_) => "an array",
    }
}

/// One value in the tree and the key path that leads to it.
pub(crate) struct Item<'a> {
    pub(crate) doc: &'a Doc<'a>,
    pub(crate) path: String,
    pub(crate) value: &'a Value,
}

impl<'a> Item<'a> {
    pub(crate) fn env_var(&self) -> Option<String> {
        (self.value.origin() == Some(ENV_ORIGIN)).then(|| env_var_for(&self.path))
    }

    pub(crate) fn report(&self, message: impl Into<String>) {
        self.doc.report(&self.path, self.env_var(), message);
    }

    fn wrong_type(&self, wanted: &str, example: &str) {
        self.report(format!("must be {wanted} (e.g. {example}), not {}", kind_name(&self.value.kind)));
    }

    /// The value as a string; anything else is reported. `example` shows
    /// what a right value looks like.
    pub(crate) fn str(&self, example: &str) -> Option<&'a str> {
        match &self.value.kind {
            ValueKind::String(s) => Some(s),
            _ => {
                self.wrong_type("a string", example);
                None
            }
        }
    }

    /// A string turned into `T` by `parse`, whose error is the whole message
    /// (it decides whether the value may be echoed).
    pub(crate) fn parse<T>(&self, example: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        let s = self.str(example)?;
        match parse(s) {
            Ok(v) => Some(v),
            Err(msg) => {
                self.report(msg);
                None
            }
        }
    }

    pub(crate) fn duration(&self) -> Option<Duration> {
        match &self.value.kind {
            ValueKind::I64(n) => {
                self.report(format!("{n} is not a duration: give it as a string with a unit (try \"{n}s\" or \"{n}m\")"));
                None
            }
            _ => self.parse("\"30m\"", super::load::parse_duration),
        }
    }

    pub(crate) fn bool(&self) -> Option<bool> {
        match &self.value.kind {
            ValueKind::Boolean(b) => Some(*b),
            // The environment only holds strings.
            ValueKind::String(s) if self.env_var().is_some() => match s.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => {
                    self.report(format!("{s:?} is not true or false"));
                    None
                }
            },
            _ => {
                self.wrong_type("true or false", "true");
                None
            }
        }
    }

    /// A non-negative integer no larger than `max`.
    pub(crate) fn uint(&self, max: u64) -> Option<u64> {
        let n: i128 = match &self.value.kind {
            ValueKind::I64(n) => i128::from(*n),
            ValueKind::U64(n) => i128::from(*n),
            ValueKind::I128(n) => *n,
            ValueKind::String(s) if self.env_var().is_some() => match s.trim().parse::<i128>() {
                Ok(n) => n,
                Err(_) => {
                    self.report(format!("{s:?} is not a whole number"));
                    return None;
                }
            },
            _ => {
                self.wrong_type("a whole number", "3");
                return None;
            }
        };
        if n < 0 {
            self.report(format!("{n} is negative: use 0 or more"));
            return None;
        }
        if n > i128::from(max) {
            self.report(format!("{n} is too large (at most {max})"));
            return None;
        }
        Some(n as u64)
    }

    pub(crate) fn table(&self) -> Option<Table<'a>> {
        match &self.value.kind {
            ValueKind::Table(map) => Some(Table::new(self.doc, self.path.clone(), self.value, map)),
            _ => {
                self.wrong_type("a table", &format!("[{}]", self.path));
                None
            }
        }
    }

    pub(crate) fn array(&self, example: &str) -> Option<Vec<Item<'a>>> {
        match &self.value.kind {
            ValueKind::Array(items) => {
                Some(items.iter().enumerate().map(|(i, value)| Item { doc: self.doc, path: format!("{}[{i}]", self.path), value }).collect())
            }
            _ => {
                self.wrong_type("an array", example);
                None
            }
        }
    }

    /// A list of non-empty strings; bad elements are reported and skipped.
    pub(crate) fn strings(&self, example: &str) -> Vec<String> {
        let Some(items) = self.array(example) else {
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|item| {
                let s = item.str("\"text\"")?.trim();
                if s.is_empty() {
                    item.report("is empty: remove it or write something");
                    None
                } else {
                    Some(s.to_string())
                }
            })
            .collect()
    }
}

/// A table in the tree. Every key asked for becomes known; `finish` reports
/// the keys nobody asked for.
pub(crate) struct Table<'a> {
    pub(crate) doc: &'a Doc<'a>,
    pub(crate) path: String,
    value: &'a Value,
    map: &'a Map<String, Value>,
    asked: RefCell<Vec<String>>,
}

impl<'a> Table<'a> {
    pub(crate) fn new(doc: &'a Doc<'a>, path: String, value: &'a Value, map: &'a Map<String, Value>) -> Table<'a> {
        Table { doc, path, value, map, asked: RefCell::new(Vec::new()) }
    }

    pub(crate) fn key_path(&self, key: &str) -> String {
        join(&self.path, key)
    }

    pub(crate) fn get(&self, key: &str) -> Option<Item<'a>> {
        self.asked.borrow_mut().push(key.to_string());
        let value = self.map.get(key)?;
        Some(Item { doc: self.doc, path: self.key_path(key), value })
    }

    /// Reports a problem with `key` (present or not) at this table.
    pub(crate) fn report(&self, key: &str, message: impl Into<String>) {
        let env = match self.map.get(key) {
            Some(v) if v.origin() == Some(ENV_ORIGIN) => Some(env_var_for(&self.key_path(key))),
            _ => None,
        };
        self.doc.report(&self.key_path(key), env, message);
    }

    /// Reports a problem with the table as a whole.
    pub(crate) fn report_here(&self, message: impl Into<String>) {
        let env = (self.value.origin() == Some(ENV_ORIGIN)).then(|| env_var_for(&self.path));
        self.doc.report(&self.path, env, message);
    }

    pub(crate) fn required(&self, key: &str, example: &str) -> Option<Item<'a>> {
        let item = self.get(key);
        if item.is_none() {
            self.report(key, format!("is missing: add {key} = {example}"));
        }
        item
    }

    /// An optional string key parsed by `parse`: `None` means a problem
    /// was reported, `Some(None)` that the key is absent.
    pub(crate) fn optional<T>(&self, key: &str, example: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<Option<T>> {
        match self.get(key) {
            None => Some(None),
            Some(item) => item.parse(example, parse).map(Some),
        }
    }

    pub(crate) fn string(&self, key: &str, example: &str) -> Option<String> {
        self.get(key)?.str(example).map(str::to_string)
    }

    pub(crate) fn duration(&self, key: &str, default: Duration) -> Duration {
        self.get(key).map_or(Some(default), |i| i.duration()).unwrap_or(default)
    }

    pub(crate) fn bool(&self, key: &str, default: bool) -> bool {
        self.get(key).map_or(Some(default), |i| i.bool()).unwrap_or(default)
    }

    pub(crate) fn strings(&self, key: &str, example: &str) -> Vec<String> {
        self.get(key).map(|i| i.strings(example)).unwrap_or_default()
    }

    pub(crate) fn table(&self, key: &str) -> Option<Table<'a>> {
        self.get(key)?.table()
    }

    /// The table under `key`, or an empty one standing in for it so that
    /// defaults apply the same way whether a section is written or not.
    pub(crate) fn section(&self, key: &str) -> Table<'a> {
        match self.get(key) {
            Some(item) => item.table(),
            None => None,
        }
        .unwrap_or_else(|| {
            let empty: &'static Value = &EMPTY;
            let ValueKind::Table(map) = &empty.kind else { unreachable!("EMPTY is a table") };
            Table::new(self.doc, self.key_path(key), empty, map)
        })
    }

    /// An array of tables (`[[brand]]`); a single `[brand]` table is
    /// reported with the fix.
    pub(crate) fn tables(&self, key: &str) -> Vec<Table<'a>> {
        let Some(item) = self.get(key) else {
            return Vec::new();
        };
        if let ValueKind::Table(_) = item.value.kind {
            item.report(format!("must be written [[{}]] (an array of tables), not [{}]", item.path, item.path));
            return Vec::new();
        }
        let Some(items) = item.array(&format!("[[{}]]", item.path)) else {
            return Vec::new();
        };
        items.iter().filter_map(Item::table).collect()
    }

    /// A string value, read without making the key known (for ids that
    /// other sections refer to, read before their own table is walked).
    pub(crate) fn peek_str(&self, key: &str) -> Option<String> {
        match &self.map.get(key)?.kind {
            ValueKind::String(s) => Some(s.clone()),
            _ => None,
        }
    }

    /// The length of an array value, without making the key known.
    pub(crate) fn peek_len(&self, key: &str) -> Option<usize> {
        match &self.map.get(key)?.kind {
            ValueKind::Array(a) => Some(a.len()),
            _ => None,
        }
    }

    /// The keys present here, in a stable order.
    pub(crate) fn keys(&self) -> Vec<&'a str> {
        let mut keys: Vec<&str> = self.map.keys().map(String::as_str).collect();
        keys.sort_unstable();
        keys
    }

    /// Reports every key present but never asked for, with the closest
    /// known key as a suggestion.
    pub(crate) fn finish(&self) {
        let asked = self.asked.borrow();
        for key in self.keys() {
            if asked.iter().any(|a| a == key) {
                continue;
            }
            let hint = match closest(key, asked.iter().map(String::as_str)) {
                Some(near) => format!(" (did you mean {near}?)"),
                None => {
                    let mut known: Vec<&str> = asked.iter().map(String::as_str).collect();
                    known.sort_unstable();
                    known.dedup();
                    if known.is_empty() {
                        String::new()
                    } else {
                        format!(" (known keys here: {})", known.join(", "))
                    }
                }
            };
            self.report(key, format!("unknown key{hint}"));
        }
    }
}

/// The candidate within a small edit distance of `word`, if any.
pub(crate) fn closest<'c>(word: &str, candidates: impl Iterator<Item = &'c str>) -> Option<&'c str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates.map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), c)).filter(|(d, _)| *d <= limit).min_by_key(|(d, _)| *d).map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb { prev } else { 1 + prev.min(row[j]).min(row[j + 1]) };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_one_based_lines() {
        let starts = line_starts("a\nbb\n\nc");
        assert_eq!(line_at(&starts, 0), 1);
        assert_eq!(line_at(&starts, 2), 2);
        assert_eq!(line_at(&starts, 5), 3);
        assert_eq!(line_at(&starts, 6), 4);
    }

    #[test]
    fn a_key_path_names_the_environment_variable_that_sets_it() {
        assert_eq!(env_var_for("smtp.host"), "ESCUCHA__SMTP__HOST");
        assert_eq!(env_var_for("source.x.bearer_token"), "ESCUCHA__SOURCE__X__BEARER_TOKEN");
    }

    #[test]
    fn typos_are_matched_to_the_nearest_known_key() {
        let known = ["timezone", "database", "http"];
        assert_eq!(closest("timzone", known.iter().copied()), Some("timezone"));
        assert_eq!(closest("databse", known.iter().copied()), Some("database"));
        assert_eq!(closest("colour", known.iter().copied()), None);
    }

    #[test]
    fn every_key_is_indexed_with_its_line() {
        let text = "[daemon]\ndatabase = \"x\"\n\n[[brand]]\nid = \"a\"\n[brand.accounts]\nx = \"b\"\n[[brand]]\nid = \"c\"\n";
        let tree = toml::de::DeTable::parse(text).unwrap();
        let file = Path::new("t.toml");
        let doc = Doc::new(file, text, tree.get_ref());
        assert_eq!(doc.line_of("daemon.database"), Some(2));
        assert_eq!(doc.line_of("brand[0]"), Some(4));
        assert_eq!(doc.line_of("brand[0].accounts.x"), Some(7));
        assert_eq!(doc.line_of("brand[1].id"), Some(9));
        // A missing key is placed at its table.
        assert_eq!(doc.line_of("brand[1].respond_within.complaint"), Some(8));
        assert_eq!(doc.line_of("smtp.host"), None);
    }
}
