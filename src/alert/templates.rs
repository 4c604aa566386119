//! The templates alert and digest emails are made from: built into the
//! binary (`src/alert/templates/`), and overridable per file from the
//! directory `[daemon] templates` names. This module only loads, checks and
//! renders templates; what goes into them is `render`'s and `digest`'s.
//!
//! A directory may hold `alert.html`, `alert.txt`, `digest.html`,
//! `digest.txt`, each optionally per language (`alert.es.html` wins over
//! `alert.html` for Spanish readers), and partials named `_*.html` /
//! `_*.txt` for `{% include %}`. Any other name is refused: a misspelt file
//! that is silently never used is worse than an error.
//!
//! HTML templates escape every value (`&<>"'`, not `/`, so links stay
//! readable); a value marked `|safe` is the template author's business.
//! `|nl2br` escapes a text and keeps its line breaks as `<br>`. Blocks
//! trim their line (Jinja's `trim_blocks` and `lstrip_blocks` are on).

use super::render::escape_html;
use crate::config::Language;
use minijinja::{escape_formatter, AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// The templates escucha renders, by name.
pub const NAMES: [&str; 4] = ["alert.html", "alert.txt", "digest.html", "digest.txt"];

const BUILTIN: [(&str, &str); 4] = [
    ("alert.html", include_str!("templates/alert.html")),
    ("alert.txt", include_str!("templates/alert.txt")),
    ("digest.html", include_str!("templates/digest.html")),
    ("digest.txt", include_str!("templates/digest.txt")),
];

/// Compiled templates: the built-in ones and the directory's overrides.
pub struct Templates {
    env: Environment<'static>,
    dir: Option<PathBuf>,
    /// Names the directory overrides (`alert.html`, `alert.es.html`, ...).
    overridden: Vec<String>,
}

impl fmt::Debug for Templates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Templates").field("dir", &self.dir).field("overridden", &self.overridden).finish()
    }
}

impl Default for Templates {
    fn default() -> Templates {
        Templates::builtin()
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // Printing a missing value is an error (a typo in a team's template
    // shows up at `escucha check`, not as a blank in a page); `{% if x %}`
    // on a missing value stays allowed.
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    // Text emails are laid out line by line: a line holding only a block
    // tag (`{% if %}`, `{% for %}`) leaves no blank line and no indentation
    // behind, as in Jinja with trim_blocks and lstrip_blocks.
    let syntax = minijinja::syntax::SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).keep_trailing_newline(true).build();
    env.set_syntax(syntax.expect("the default delimiters are valid"));
    env.set_formatter(|out, state, value| {
        if *state.auto_escape() == AutoEscape::Html && !value.is_safe() && !value.is_none() && !value.is_undefined() {
            // minijinja's own escaping also turns `/` into `&#x2f;`, which
            // makes every link in the source unreadable and breaks "search
            // the mail for the URL"; quotes and `<>&` are what matter.
            out.write_str(&escape_html(&value.to_string()))?;
            Ok(())
        } else if value.is_none() {
            Ok(())
        } else {
            escape_formatter(out, state, value)
        }
    });
    // The quoted post keeps its line breaks in every client (Outlook
    // ignores `white-space: pre-wrap`).
    env.add_filter("nl2br", |s: String| minijinja::Value::from_safe_string(escape_html(&s).replace('\n', "<br>\n")));
    for (name, src) in BUILTIN {
        env.add_template(name, src).expect("built-in templates compile (tested)");
        env.add_template_owned(format!("builtin/{name}"), src).expect("built-in templates compile (tested)");
    }
    env
}

impl Templates {
    /// Only the templates compiled into the binary.
    pub fn builtin() -> Templates {
        Templates { env: environment(), dir: None, overridden: vec![] }
    }

    /// The built-in templates with the overrides in `dir`. Every problem is
    /// returned, each naming its file: unreadable, misnamed, not valid
    /// template syntax, or failing to render a sample alert or digest.
    pub fn load(dir: &Path) -> Result<Templates, Vec<String>> {
        let mut env = environment();
        let mut errors = Vec::new();
        let mut overridden = Vec::new();
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => return Err(vec![format!("{}: cannot read the templates directory: {e}", dir.display())]),
        };
        let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
        files.sort();
        for path in files {
            let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
                errors.push(format!("{}: the file name is not UTF-8", path.display()));
                continue;
            };
            if name.starts_with('.') || name.ends_with('~') {
                continue; // editor leftovers
            }
            let known = is_override_name(&name);
            let partial = name.starts_with('_') && (name.ends_with(".html") || name.ends_with(".txt"));
            if !known && !partial {
                errors.push(format!(
                    "{}: not a template escucha uses (use alert.html, alert.txt, digest.html, digest.txt, optionally per language as alert.es.html, or _name.html for a partial)",
                    path.display()
                ));
                continue;
            }
            let src = match std::fs::read_to_string(&path) {
                Ok(s) => s,
                Err(e) => {
                    errors.push(format!("{}: cannot read: {e}", path.display()));
                    continue;
                }
            };
            match env.add_template_owned(name.clone(), src) {
                Ok(()) if known => overridden.push(name),
                Ok(()) => {}
                Err(e) => errors.push(format!("{}: {}", path.display(), describe(&e))),
            }
        }
        let t = Templates { env, dir: Some(dir.to_path_buf()), overridden };
        // Compiling is not enough: an unknown filter or a misspelt variable
        // only fails when rendered. Render each override once on a sample.
        if errors.is_empty() {
            for name in &t.overridden {
                let lang = if name.contains(".es.") { Language::Es } else { Language::En };
                let sample = if name.starts_with("alert") {
                    minijinja::Value::from(minijinja::value::Serde(super::render::sample_context(lang)))
                } else {
                    minijinja::Value::from(minijinja::value::Serde(super::digest::sample_context(lang)))
                };
                if let Err(e) = t.env.get_template(name).and_then(|tpl| tpl.render(&sample)) {
                    errors.push(format!("{}: {}", dir.join(name).display(), describe(&e)));
                }
            }
        }
        if errors.is_empty() {
            Ok(t)
        } else {
            Err(errors)
        }
    }

    /// The directory overrides come from, if any.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Renders `name` (one of [`NAMES`]) for a reader of `lang`: the
    /// directory's language-specific file, else its plain one, else the
    /// built-in. A team's template that fails at render time (it passed the
    /// check on a sample, so this is rare) falls back to the built-in, so
    /// the page still goes out; the error is returned beside it for the log.
    pub fn render<S: Serialize>(&self, name: &str, lang: Language, ctx: &S) -> (String, Option<String>) {
        let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
        let localized = format!("{stem}.{}.{ext}", lang.code());
        let chosen = [localized.as_str(), name].into_iter().find(|n| self.overridden.iter().any(|o| o == n));
        let ctx = minijinja::Value::from(minijinja::value::Serde(ctx));
        if let Some(chosen) = chosen {
            match self.env.get_template(chosen).and_then(|t| t.render(&ctx)) {
                Ok(s) => return (s, None),
                Err(e) => {
                    let err = format!("{}: {}", self.dir.as_deref().unwrap_or(Path::new(".")).join(chosen).display(), describe(&e));
                    return (self.render_builtin(name, &ctx), Some(err));
                }
            }
        }
        (self.render_builtin(name, &ctx), None)
    }

    fn render_builtin(&self, name: &str, ctx: &minijinja::Value) -> String {
        self.env
            .get_template(&format!("builtin/{name}"))
            .and_then(|t| t.render(ctx))
            .unwrap_or_else(|e| panic!("built-in template {name} failed to render (a bug, covered by tests): {e:#}"))
    }
}

/// `alert.html`, `alert.es.html`, ...
fn is_override_name(name: &str) -> bool {
    NAMES.contains(&name)
        || NAMES.iter().any(|n| {
            let (stem, ext) = n.rsplit_once('.').unwrap_or((n, ""));
            [Language::En, Language::Es].iter().any(|l| name == format!("{stem}.{}.{ext}", l.code()))
        })
}

/// The error with its line, without repeating the file name.
fn describe(e: &minijinja::Error) -> String {
    let what = match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    match e.line() {
        Some(l) => format!("line {l}: {what}"),
        None => what,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_override_replaces_the_built_in_and_a_language_file_wins_for_its_readers() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("alert.txt"), "custom {{ brand.name }}").unwrap();
        std::fs::write(dir.path().join("alert.es.txt"), "propio {{ brand.name }}").unwrap();
        let t = Templates::load(dir.path()).unwrap();
        let ctx = super::super::render::sample_context(Language::En);
        assert_eq!(t.render("alert.txt", Language::En, &ctx).0, "custom Interjet");
        assert_eq!(t.render("alert.txt", Language::Es, &ctx).0, "propio Interjet");
        assert!(t.render("alert.html", Language::En, &ctx).0.contains("<!DOCTYPE html>"), "not overridden: built-in");
    }

    #[test]
    fn a_bad_template_is_refused_naming_its_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("alert.html"), "<p>\n{% if %}</p>").unwrap();
        let errs = Templates::load(dir.path()).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].contains("alert.html: line 2: syntax error"), "{errs:?}");
    }

    #[test]
    fn a_template_that_fails_only_when_rendered_is_refused_at_load() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("digest.txt"), "{{ brands | no_such_filter }}").unwrap();
        std::fs::write(dir.path().join("alert.txt"), "{{ mentionz[0].text }}").unwrap();
        let errs = Templates::load(dir.path()).unwrap_err();
        assert!(errs.iter().any(|e| e.contains("digest.txt") && e.contains("no_such_filter")), "{errs:?}");
        assert!(errs.iter().any(|e| e.contains("alert.txt") && e.contains("undefined")), "{errs:?}");
    }

    #[test]
    fn a_misnamed_file_is_refused_and_partials_are_allowed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("alerts.html"), "x").unwrap();
        let errs = Templates::load(dir.path()).unwrap_err();
        assert!(errs[0].contains("alerts.html: not a template escucha uses"), "{errs:?}");
        std::fs::remove_file(dir.path().join("alerts.html")).unwrap();
        std::fs::write(dir.path().join("_sig.txt"), "-- {{ t.footer }}").unwrap();
        std::fs::write(dir.path().join("alert.txt"), "{{ mentions[0].text }}\n{% include \"_sig.txt\" %}").unwrap();
        let t = Templates::load(dir.path()).unwrap();
        let out = t.render("alert.txt", Language::En, &super::super::render::sample_context(Language::En)).0;
        assert!(out.ends_with("-- escucha: you receive this because you are on call for this brand."), "{out}");
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_it() {
        let errs = Templates::load(Path::new("/nonexistent/escucha-templates")).unwrap_err();
        assert!(errs[0].starts_with("/nonexistent/escucha-templates: cannot read"), "{errs:?}");
    }

    #[test]
    fn html_templates_escape_values_but_keep_slashes() {
        let t = Templates::builtin();
        let mut env = environment();
        env.add_template("x.html", "<a href=\"{{ u }}\">{{ s }}</a>").unwrap();
        let out = env.get_template("x.html").unwrap().render(minijinja::context! { u => "https://a.example/b?c=1&d=\"", s => "<script>'" }).unwrap();
        assert_eq!(out, "<a href=\"https://a.example/b?c=1&amp;d=&quot;\">&lt;script&gt;&#39;</a>");
        assert!(t.dir().is_none());
    }

    #[test]
    fn the_config_key_loads_the_directory_and_a_broken_file_is_a_config_error_naming_key_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let tpl = dir.path().join("tpl");
        std::fs::create_dir(&tpl).unwrap();
        std::fs::write(tpl.join("alert.txt"), "{{ subject }} / {{ t.acknowledge }}").unwrap();
        let path = dir.path().join("e.toml");
        std::fs::write(&path, "[daemon]\ntemplates = \"tpl\"\nlanguage = \"es\"\n[[brand]]\nid = \"a\"\nterms = [\"a\"]\n").unwrap();
        let cfg = crate::config::load(&path).unwrap();
        assert_eq!(cfg.daemon.templates.dir(), Some(tpl.as_path()), "relative to the config file");
        let v = super::super::render::sample_context(Language::Es);
        assert!(cfg.daemon.templates.render("alert.txt", Language::Es, &v).0.ends_with("/ Lo atiendo"));

        std::fs::write(tpl.join("digest.html"), "{% for b in brands %}{{ b.name }").unwrap();
        let err = format!("{:#}", crate::config::load(&path).unwrap_err());
        assert!(err.contains("daemon.templates") && err.contains("digest.html: line 1"), "{err}");
        std::fs::write(&path, "[daemon]\n[[brand]]\nid = \"a\"\nterms = [\"a\"]\n").unwrap();
        assert!(crate::config::load(&path).unwrap().daemon.templates.dir().is_none(), "built-in by default");
    }
}
