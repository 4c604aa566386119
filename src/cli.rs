//! The command line (a stable contract, see DESIGN.md): parses arguments,
//! loads the config, runs one command and returns the process exit code.
//! Errors are printed once, as `escucha: <what went wrong>`.

use crate::classify::{self, Context};
use crate::clock::SystemClock;
use crate::config::{self, Config, LogFormat};
use crate::model::{Class, LabelOrigin, Status};
use crate::store::{AckOutcome, CorrectOutcome, MentionFilter, Store};
use anyhow::{bail, Context as _};
use clap::{Parser, Subcommand};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Exit status for a configuration error (sysexits EX_CONFIG); the systemd
/// unit's `RestartPreventExitStatus=78` stops restart loops on a bad config.
pub const EXIT_CONFIG: u8 = 78;

#[derive(Parser, Debug)]
#[command(name = "escucha", version, about = "Hears every complaint about your brands and makes sure somebody answers it")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the daemon.
    Run(ConfigArg),
    /// Validate the config and print what escucha would watch.
    Check {
        #[command(flatten)]
        config: ConfigArg,
        /// Also call each configured source once and print OK or the exact
        /// problem (bad token, unreachable, rate-limited until HH:MM).
        #[arg(long)]
        probe: bool,
        /// As `systemctl reload` runs it (ExecReload=): a secret file that
        /// exists but this process may not read (the service's
        /// credentials) counts as present; the daemon reads it.
        #[arg(long, conflicts_with = "probe")]
        reload: bool,
    },
    /// Classify text: JSON Lines (or plain lines) on stdin, JSON Lines on stdout.
    Classify(ConfigArg),
    /// List stored mentions.
    Mentions {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        brand: Option<String>,
        /// praise | complaint | escalation | neutral
        #[arg(long)]
        class: Option<String>,
        /// Only mentions nobody answered or acknowledged yet.
        #[arg(long)]
        open: bool,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge a mention (or, with --all --brand ID, every open mention
    /// of a brand): no further alerts for it.
    Ack {
        /// The mention's id (first column of `escucha mentions`).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<i64>,
        #[command(flatten)]
        config: ConfigArg,
        /// Who acknowledges (default: $USER).
        #[arg(long)]
        by: Option<String>,
        /// Every open mention of the brand given with --brand.
        #[arg(long, requires = "brand")]
        all: bool,
        #[arg(long)]
        brand: Option<String>,
    },
    /// Teach the classifier: labelled JSON Lines (`text`, `label`, optional
    /// `lang` and `brand`) are stored as the team's labels and the model is
    /// refit; the running daemon takes the new fit within a minute.
    Learn {
        /// JSON Lines file (`-` for stdin).
        file: PathBuf,
        #[command(flatten)]
        config: ConfigArg,
        /// Who labelled them (default: $SUDO_USER, then $USER).
        #[arg(long)]
        by: Option<String>,
    },
    /// Write the head fitted to the shipped data alone (models/head-shipped.bin).
    #[command(hide = true)]
    ShippedHead { out: PathBuf },
    /// Relabel a stored mention (a correction the classifier learns from).
    /// To praise or neutral: its alerts stop. To complaint or escalation:
    /// its deadline counts from when it was posted, and it is paged at once
    /// if that has passed.
    Correct {
        /// The mention's id (first column of `escucha mentions`, `id` in `--json`).
        id: i64,
        /// praise | complaint | escalation | neutral
        #[arg(long)]
        class: String,
        #[command(flatten)]
        config: ConfigArg,
        /// Who corrects (default: $SUDO_USER, then $USER).
        #[arg(long)]
        by: Option<String>,
    },
    /// Read a password on stdin (its first line) and print its argon2id hash
    /// in PHC format, for `password_hash` in a `[[user]]` entry.
    Passwd,
    /// Silence alerts for a brand (optionally one platform or author) for a
    /// while; silenced alerts are recorded and go out when the silence ends
    /// if the mentions are still open.
    Silence {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        brand: String,
        /// x | mastodon | bluesky | reddit | hackernews | feed | facebook | instagram | youtube | google_reviews | app_store | google_play | trustpilot
        #[arg(long)]
        platform: Option<String>,
        /// The author's handle (with or without @).
        #[arg(long)]
        author: Option<String>,
        /// How long (humantime, e.g. 2h, 30m).
        #[arg(long = "for", value_name = "DURATION")]
        duration: String,
        #[arg(long)]
        reason: String,
        /// Who silences (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
    /// Deliveries still to go or dead-lettered, with their last error;
    /// `escucha outbox retry ID` puts a dead-lettered one back in line.
    Outbox {
        #[command(subcommand)]
        action: Option<OutboxAction>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Send a test page to ADDRESS (or webhook:ID) through the configured
    /// channel and report what the server said.
    TestAlert {
        #[arg(long, value_name = "ADDRESS")]
        to: String,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// List the silences in force.
    Silences {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Bearer tokens for the JSON API (`/api/v1`).
    #[command(subcommand)]
    Token(TokenCommand),
    /// End a silence now.
    Unsilence {
        /// The silence's id (see `escucha silences`).
        id: i64,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Measure the classifier on a labelled JSON Lines file (`text`, `label`,
    /// optional `lang`): per-class precision/recall/F1, macro F1, confusion
    /// matrix and the worst mistakes.
    Eval {
        file: PathBuf,
        #[arg(long)]
        json: bool,
        /// The rules alone, without the learned stage.
        #[arg(long, conflicts_with = "train")]
        rules: bool,
        /// Fit the learned stage to these labelled lines (as `escucha learn`
        /// reads them) besides the shipped data, then measure: what a
        /// team's labels would do, without a database.
        #[arg(long, value_name = "FILE.jsonl")]
        train: Option<PathBuf>,
    },
    /// Write a commented starter config for a first brand, then say what to
    /// run next. Never overwrites an existing file.
    Init {
        /// The brand's name, as people write it (its id is derived).
        #[arg(long)]
        brand: String,
        /// Words and names that make a post a mention (comma-separated;
        /// default: the brand's name).
        #[arg(long, value_delimiter = ',')]
        terms: Vec<String>,
        /// Who is paged when a complaint waits too long.
        #[arg(long, value_name = "ADDRESS")]
        email: String,
        /// Where to write it (default: --config's path, ESCUCHA_CONFIG, or
        /// /etc/escucha/escucha.toml).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Copy the live database to FILE with SQLite's online backup (safe
    /// while the daemon runs).
    Backup {
        file: PathBuf,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Copy this SQLite deployment (mentions, cursors, labels, outbox,
    /// silences, everything) into an empty PostgreSQL database, verified by
    /// counting; then point `[daemon] database` at it.
    Migrate {
        /// The PostgreSQL database: postgres://user:password@host:5432/escucha
        /// (or set ESCUCHA_MIGRATE_TO and pass --to-env).
        #[arg(long, value_name = "URL", required_unless_present = "to_env")]
        to: Option<String>,
        /// Read the URL from this environment variable (URLs carry passwords).
        #[arg(long, value_name = "VARIABLE")]
        to_env: Option<String>,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Print the shell completion script for SHELL (bash, zsh, fish,
    /// elvish, powershell) on stdout, e.g.
    /// `escucha completions bash > /etc/bash_completion.d/escucha`.
    Completions { shell: clap_complete::Shell },
    /// Write one man page per command (escucha.1, escucha-run.1, ...) into
    /// DIR, as the Debian package ships them.
    #[command(hide = true)]
    Man { dir: PathBuf },
    /// Response rate and first-response times per brand and platform.
    Stats {
        #[command(flatten)]
        config: ConfigArg,
        /// How far back to look (humantime, e.g. 7d, 24h).
        #[arg(long, default_value = "7d")]
        since: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args, Debug, Clone)]
pub struct ConfigArg {
    /// Config file (default: $ESCUCHA_CONFIG, then /etc/escucha/escucha.toml).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// A failure and the exit status it maps to.
pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure { code: 1, error }
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("escucha: {:#}", f.error);
            ExitCode::from(f.code)
        }
    }
}

fn load(arg: &ConfigArg) -> Result<Config, Failure> {
    load_in(arg, &config::Env::process())
}

fn load_in(arg: &ConfigArg, env: &config::Env) -> Result<Config, Failure> {
    let path = config::default_path(arg.config.as_deref());
    config::load_with(&path, env).map_err(|e| Failure { code: EXIT_CONFIG, error: anyhow::anyhow!("{e}") })
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Print a new bearer token for a [[user]]: `Authorization: Bearer TOKEN`
    /// on /api/v1 acts as that user. Only its hash is stored: keep it.
    Create {
        /// The [[user]]'s name.
        #[arg(long)]
        user: String,
        /// How long the token is valid ("90d", "12h", "1y"); without it, until revoked.
        #[arg(long, value_name = "DURATION", value_parser = parse_expires)]
        expires: Option<std::time::Duration>,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// List the tokens: id, user, created, expires, and whether each is
    /// active, expired or revoked (never the tokens themselves).
    List {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Revoke a token by the id `escucha token list` shows: requests with it
    /// get 401 from then on.
    Revoke {
        /// The token's id (or its first 8 or more characters).
        id: String,
        #[command(flatten)]
        config: ConfigArg,
    },
}

fn parse_expires(s: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(s) {
        Ok(d) if d.as_secs() > 0 => Ok(d),
        Ok(_) => Err("a token must be valid for more than 0 seconds".into()),
        Err(e) => Err(format!("{s:?} is not a duration ({e}); try \"90d\" or \"12h\"")),
    }
}

/// `escucha token list`'s lines: a header, then one line per token.
pub fn token_lines(tokens: &[crate::store::ApiToken], now: chrono::DateTime<chrono::Utc>) -> Vec<String> {
    let day = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    let mut out = vec![format!("{:<12}  {:<16}  {:<20}  {:<20}  {}", "ID", "USER", "CREATED", "EXPIRES", "STATE")];
    for t in tokens {
        let state = match (t.revoked_at, t.expires_at) {
            (Some(at), _) => format!("revoked {}", day(at)),
            (None, Some(at)) if at <= now => "expired".to_string(),
            _ => "active".to_string(),
        };
        out.push(format!("{:<12}  {:<16}  {:<20}  {:<20}  {state}", t.public_id(), t.user, day(t.created_at), t.expires_at.map_or("never".to_string(), day)));
    }
    out
}

/// `escucha.1` for the program and `escucha-<command>.1` for each visible
/// command (subcommands of subcommands too: `escucha-token-create.1`), the
/// layout `git` and `cargo` use so `man escucha-check` works.
fn man_pages(dir: &std::path::Path) -> anyhow::Result<usize> {
    use clap::CommandFactory;
    std::fs::create_dir_all(dir)?;
    fn write(cmd: clap::Command, name: String, bin: String, dir: &std::path::Path, n: &mut usize) -> anyhow::Result<()> {
        // NAME says escucha-check, SYNOPSIS what to type: escucha check.
        let cmd = cmd.name(name.clone()).bin_name(bin.clone()).disable_help_subcommand(true);
        let mut out = Vec::new();
        clap_mangen::Man::new(cmd.clone()).render(&mut out)?;
        std::fs::write(dir.join(format!("{name}.1")), out)?;
        *n += 1;
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            write(sub.clone(), format!("{name}-{}", sub.get_name()), format!("{bin} {}", sub.get_name()), dir, n)?;
        }
        Ok(())
    }
    let mut n = 0;
    write(Cli::command().disable_help_subcommand(true), "escucha".into(), "escucha".into(), dir, &mut n)?;
    Ok(n)
}

/// `load` for the commands that watch (`run`, `check`): a config with no
/// brand (an empty file, a stray `[daemon]`) would start and watch nothing
/// in silence. Commands that only classify or store labels take it.
fn load_to_watch(arg: &ConfigArg) -> Result<Config, Failure> {
    load_to_watch_in(arg, &config::Env::process())
}

fn load_to_watch_in(arg: &ConfigArg, env: &config::Env) -> Result<Config, Failure> {
    let cfg = load_in(arg, env)?;
    if cfg.brands.is_empty() {
        return Err(Failure {
            code: EXIT_CONFIG,
            error: anyhow::anyhow!("{}: no [[brand]]: nothing to watch (add one: see config/escucha.example.toml)", cfg.path.display()),
        });
    }
    Ok(cfg)
}

fn dispatch(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Run(arg) => {
            let cfg = load_to_watch(&arg)?;
            init_logging(cfg.daemon.log_format);
            run(cfg, config::default_path(arg.config.as_deref()))?;
            Ok(())
        }
        Command::Check { config, probe, reload } => {
            let env = if reload { config::Env::process().for_reload_check() } else { config::Env::process() };
            let cfg = load_to_watch_in(&config, &env)?;
            check(&cfg, &mut std::io::stdout().lock())?;
            if probe {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(anyhow::Error::from)?;
                let failed = rt.block_on(probe_sources(&cfg, &mut std::io::stdout()))?;
                if failed > 0 {
                    return Err(anyhow::anyhow!("{failed} source quer{} failed the probe", if failed == 1 { "y" } else { "ies" }).into());
                }
            }
            Ok(())
        }
        Command::Token(TokenCommand::Create { user, expires, config }) => {
            let cfg = load(&config)?;
            if !cfg.users.iter().any(|u| u.name == user) {
                return Err(anyhow::anyhow!("--user {user}: no [[user]] with that name in {}", cfg.path.display()).into());
            }
            let now = chrono::Utc::now();
            let expires = match expires.map(chrono::Duration::from_std) {
                None => None,
                Some(Ok(d)) => now.checked_add_signed(d),
                Some(Err(_)) => None,
            };
            let store = open_store(&cfg)?;
            let token = crate::web::auth::random_token();
            let id = crate::web::auth::session_id(&token);
            store.create_api_token(&id, &user, now, expires).map_err(anyhow::Error::from)?;
            println!("{token}");
            let until = expires.map_or("until revoked".to_string(), |e| format!("until {}", e.to_rfc3339()));
            eprintln!("token {} for {user}, valid {until} (only its hash is stored: keep it now)", &id[..12]);
            Ok(())
        }
        Command::Token(TokenCommand::List { config }) => {
            let cfg = load(&config)?;
            let store = open_store(&cfg)?;
            let tokens = store.api_tokens().map_err(anyhow::Error::from)?;
            for line in token_lines(&tokens, chrono::Utc::now()) {
                println!("{line}");
            }
            Ok(())
        }
        Command::Token(TokenCommand::Revoke { id, config }) => {
            let cfg = load(&config)?;
            let store = open_store(&cfg)?;
            match store.revoke_api_token(&id, chrono::Utc::now()).map_err(anyhow::Error::from)? {
                crate::store::RevokeOutcome::Revoked(t) => {
                    println!("token {} of {} revoked", t.public_id(), t.user);
                    Ok(())
                }
                crate::store::RevokeOutcome::AlreadyRevoked(t) => {
                    println!("token {} of {} was already revoked", t.public_id(), t.user);
                    Ok(())
                }
                crate::store::RevokeOutcome::NotFound => {
                    Err(anyhow::anyhow!("{id}: no such token (see `escucha token list`; give 8 or more characters of its id)").into())
                }
                crate::store::RevokeOutcome::Ambiguous(n) => Err(anyhow::anyhow!("{id}: matches {n} tokens; give more of its id").into()),
            }
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "escucha", &mut std::io::stdout());
            Ok(())
        }
        Command::Man { dir } => {
            let written = man_pages(&dir).with_context(|| format!("writing man pages into {}", dir.display()))?;
            println!("wrote {written} man pages into {}", dir.display());
            Ok(())
        }
        Command::Passwd => {
            println!("{}", passwd(std::io::stdin().lock())?);
            Ok(())
        }
        Command::Classify(arg) => {
            // A config is optional here: without one, defaults apply.
            let cfg = if arg.config.is_some() || std::env::var_os("ESCUCHA_CONFIG").is_some() { Some(load(&arg)?) } else { None };
            let classifier = match &cfg {
                None => classify::Classifier::shipped(),
                Some(cfg) => deployment_classifier(cfg)?,
            };
            classify_stream(cfg.as_ref(), &classifier, std::io::stdin().lock(), &mut std::io::BufWriter::new(std::io::stdout().lock()))?;
            Ok(())
        }
        Command::Mentions { config, brand, class, open, json } => {
            let cfg = load(&config)?;
            let class = match class.as_deref() {
                None => None,
                Some(c) => Some(Class::parse(c).ok_or_else(|| anyhow::anyhow!("--class {c}: expected praise, complaint, escalation or neutral"))?),
            };
            let store = open_store(&cfg)?;
            let list = store.mentions(&MentionFilter { brand, class, open_only: open, limit: None }).map_err(anyhow::Error::from)?;
            let notes = if json { store.all_notes().map_err(anyhow::Error::from)? } else { Default::default() };
            let mut out = std::io::stdout().lock();
            print_mentions(&list, &notes, json, &mut out)?;
            Ok(())
        }
        Command::Ack { id: None, config, by, brand, .. } => {
            let cfg = load(&config)?;
            let brand = brand.unwrap_or_default();
            if cfg.brand(&brand).is_none() {
                return Err(anyhow::anyhow!("--brand {brand}: no such brand in {}", cfg.path.display()).into());
            }
            let store = open_store(&cfg)?;
            let by = by.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "cli".into());
            let ids = store.ack_all(&brand, &by, chrono::Utc::now()).map_err(anyhow::Error::from)?;
            println!("{} open mention(s) of {brand} acknowledged by {by}; no further alerts for them", ids.len());
            Ok(())
        }
        Command::Silence { config, brand, platform, author, duration, reason, by } => {
            let cfg = load(&config)?;
            if cfg.brand(&brand).is_none() {
                return Err(anyhow::anyhow!("--brand {brand}: no such brand in {}", cfg.path.display()).into());
            }
            if let Some(p) = &platform {
                if crate::model::Platform::parse(p).is_none() {
                    return Err(anyhow::anyhow!("--platform {p}: expected x, mastodon, bluesky, reddit, hackernews, feed, facebook, instagram, youtube, google_reviews, app_store, google_play or trustpilot").into());
                }
            }
            let d = humantime::parse_duration(&duration).map_err(|e| anyhow::anyhow!("--for {duration:?}: {e} (try 2h or 30m)"))?;
            if d.is_zero() {
                return Err(anyhow::anyhow!("--for {duration:?}: a silence must last longer than 0s").into());
            }
            if reason.trim().is_empty() {
                return Err(anyhow::anyhow!("--reason: say why, so the others know").into());
            }
            let by = by.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "cli".into());
            let now = chrono::Utc::now();
            let until = now + chrono::Duration::from_std(d).unwrap_or_default();
            let author = author.map(|a| a.trim_start_matches('@').to_string());
            let store = open_or_create_store(&cfg)?;
            let id = store.add_silence(&brand, platform.as_deref(), author.as_deref(), until, &reason, &by, now).map_err(anyhow::Error::from)?;
            let s = crate::store::Silence { id, brand, platform, author, starts_at: now, until, reason, created_by: by };
            println!(
                "silence {id}: {} until {}; end it early with `escucha unsilence {id}`",
                crate::alert::silence::scope(&s),
                until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            );
            Ok(())
        }
        Command::Outbox { action, json, config } => {
            // `--config` before or after `retry ID`.
            let config = match &action {
                Some(OutboxAction::Retry { config: c, .. }) if c.config.is_some() => c.clone(),
                _ => config,
            };
            let cfg = load(&config)?;
            let store = open_store(&cfg)?;
            match action {
                None => print_deliveries(&store.deliveries().map_err(anyhow::Error::from)?, json, &mut std::io::stdout().lock())?,
                Some(OutboxAction::Retry { id, notice, .. }) => {
                    let q = if notice { crate::store::Queue::Notices } else { crate::store::Queue::Outbox };
                    if !store.redeliver(q, id, chrono::Utc::now()).map_err(anyhow::Error::from)? {
                        return Err(anyhow::anyhow!("no dead-lettered {} with id {id} (see `escucha outbox`)", if notice { "notice" } else { "page" }).into());
                    }
                    println!("{} {id} is back in line; the daemon delivers it at its next look (within a minute)", if notice { "notice" } else { "page" });
                }
            }
            Ok(())
        }
        Command::TestAlert { to, config } => {
            let cfg = std::sync::Arc::new(load(&config)?);
            // Routing needs no stored data: a database is neither opened nor made.
            let store = std::sync::Arc::new(Store::open_in_memory().map_err(anyhow::Error::from)?);
            let alerter = crate::alert::dispatch::Alerter::new(store, cfg, std::sync::Arc::new(SystemClock))?;
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(anyhow::Error::from)?;
            match rt.block_on(alerter.send_test(&to)) {
                Ok(said) => println!("{said}"),
                Err(why) => return Err(anyhow::anyhow!("test alert to {to} failed: {why}").into()),
            }
            Ok(())
        }
        Command::Silences { config } => {
            let cfg = load(&config)?;
            let store = open_store(&cfg)?;
            let list = store.active_silences(chrono::Utc::now()).map_err(anyhow::Error::from)?;
            print_silences(&store, &list, &mut std::io::stdout().lock())?;
            Ok(())
        }
        Command::Unsilence { id, config } => {
            let cfg = load(&config)?;
            let store = open_store(&cfg)?;
            if store.end_silence(id, chrono::Utc::now()).map_err(anyhow::Error::from)? {
                println!("silence {id} ended; alerts it held go out with the next message");
                Ok(())
            } else {
                Err(anyhow::anyhow!("no active silence with id {id} (see `escucha silences`)").into())
            }
        }
        Command::Ack { id: Some(id), config, by, .. } => {
            let cfg = load(&config)?;
            let store = open_store(&cfg)?;
            let by = by.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "cli".into());
            match store.ack(id, &by, chrono::Utc::now()).map_err(anyhow::Error::from)? {
                AckOutcome::Acked => println!("mention {id} acknowledged by {by}; no further alerts for it"),
                AckOutcome::AlreadyAcked => println!("mention {id} was already acknowledged"),
                AckOutcome::AlreadyAnswered => println!("mention {id} was already answered by the brand"),
                AckOutcome::NotFound => return Err(anyhow::anyhow!("no mention with id {id} (see `escucha mentions`)").into()),
            }
            Ok(())
        }
        Command::Learn { file, config, by } => {
            let cfg = load(&config)?;
            let store = open_or_create_store(&cfg)?;
            let text = if file.as_os_str() == "-" {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s).context("reading stdin")?;
                s
            } else {
                std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?
            };
            learn(&cfg, &store, &file.display().to_string(), &text, &person(by), &mut std::io::stdout().lock(), &mut std::io::stderr().lock())?;
            Ok(())
        }
        Command::ShippedHead { out } => {
            let model = classify::learned::Model::fit(&[]);
            std::fs::write(&out, model.head_bytes()).with_context(|| format!("writing {}", out.display()))?;
            println!("wrote {} ({} shipped rows)", out.display(), model.info.shipped);
            Ok(())
        }
        Command::Correct { id, class, config, by } => {
            let cfg = load(&config)?;
            let class = Class::parse(class.trim()).ok_or_else(|| anyhow::anyhow!("--class {class}: expected praise, complaint, escalation or neutral"))?;
            let store = open_store(&cfg)?;
            let by = person(by);
            println!("{}", correct(&cfg, &store, id, class, &by, chrono::Utc::now())?);
            Ok(())
        }
        Command::Eval { file, json, rules, train } => {
            let f = std::fs::File::open(&file).with_context(|| format!("opening {}", file.display()))?;
            let classifier = match (rules, train) {
                (true, _) => classify::Classifier::rules_only(),
                (false, None) => classify::Classifier::shipped(),
                (false, Some(train)) => {
                    let text = std::fs::read_to_string(&train).with_context(|| format!("reading {}", train.display()))?;
                    let mut local = Vec::new();
                    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                        local.push(classify::learned::parse_line(line).map_err(|e| anyhow::anyhow!("{}:{}: {e}", train.display(), n + 1))?);
                    }
                    classify::Classifier::with_model(std::sync::Arc::new(classify::learned::Model::fit(&local)))
                }
            };
            let report = classify::eval::evaluate_with(&classifier, std::io::BufReader::new(f)).with_context(|| format!("reading {}", file.display()))?;
            let mut out = std::io::stdout().lock();
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&report).map_err(anyhow::Error::from)?).map_err(anyhow::Error::from)?;
            } else {
                write!(out, "{}", report.render_text()).map_err(anyhow::Error::from)?;
            }
            Ok(())
        }
        Command::Backup { file, config } => {
            let cfg = load(&config)?;
            let store = open_store(&cfg)?;
            backup(&store, &file)?;
            println!("backed up {} to {}", cfg.daemon.location(), file.display());
            Ok(())
        }
        Command::Init { brand, terms, email, out, config } => {
            let path = out.unwrap_or_else(|| config::default_path(config.config.as_deref()));
            let text = starter_config(&brand, &terms, &email);
            if path.exists() {
                return Err(anyhow::anyhow!("{} exists; init never overwrites a config (give --out another path)", path.display()).into());
            }
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            // Checked before it is written: what init writes always loads.
            config::load_str(&text, &path, &config::Env::process()).map_err(|e| anyhow::anyhow!("the starter config does not load (a bug): {e}"))?;
            std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
            let p = path.display();
            println!("wrote {p} for {brand}");
            println!("next:");
            println!("  1. add a source (see the commented [source.*] sections) and [smtp] to page {email} by email");
            println!("  2. escucha check --config {p}       # what it will watch, and any mistake");
            println!("  3. escucha test-alert --to {email} --config {p}");
            println!("  4. escucha run --config {p}         # or: systemctl enable --now escucha");
            Ok(())
        }
        Command::Migrate { to, to_env, config } => {
            let cfg = load(&config)?;
            migrate(&cfg, to, to_env)?;
            Ok(())
        }
        Command::Stats { config, since, json } => {
            let cfg = load(&config)?;
            let d = humantime::parse_duration(&since).map_err(|e| anyhow::anyhow!("--since {since:?}: {e} (try 7d or 24h)"))?;
            let store = open_store(&cfg)?;
            let since_t = chrono::Utc::now() - chrono::Duration::from_std(d).unwrap_or_default();
            let rows = store.stats(since_t).map_err(anyhow::Error::from)?;
            print_stats(&rows, json, &since, &mut std::io::stdout().lock())?;
            Ok(())
        }
    }
}

/// Who runs a command that records a person's name (`--by`): the name
/// given, else the user behind `sudo`, else the login user, else "cli".
/// The deployment's classifier: refit with the labels in its database
/// when there is one (`classify` never creates a database), the shipped
/// model otherwise, or the rules alone if the config says so.
fn deployment_classifier(cfg: &Config) -> anyhow::Result<classify::Classifier> {
    if matches!(cfg.daemon.location(), crate::store::Location::Sqlite(p) if !p.exists()) {
        return Ok(crate::learning::without_labels(cfg));
    }
    crate::learning::classifier(cfg, &open_store(cfg)?)
}

/// `escucha learn`: stores every good line of `text` as a label, reports
/// each bad one (with its line number) on `err` and skips it, then refits
/// and reports the fit on `out`.
pub fn learn(cfg: &Config, store: &Store, name: &str, text: &str, by: &str, out: &mut impl Write, err: &mut impl Write) -> anyhow::Result<()> {
    use crate::classify::learned;
    let mut labels = Vec::new();
    let mut skipped = 0;
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parsed = learned::parse_line_with_brand(line).and_then(|(l, brand)| match brand {
            Some(b) if cfg.brand(&b).is_none() => Err(format!("brand {b:?} is not in {}", cfg.path.display())),
            brand => Ok((l, brand)),
        });
        match parsed {
            Ok((l, brand)) => labels.push(crate::model::NewLabel {
                text: l.text,
                class: l.class,
                lang: l.lang,
                brand,
                mention_id: None,
                by: by.to_string(),
                origin: crate::model::LabelOrigin::Learn,
            }),
            Err(e) => {
                skipped += 1;
                writeln!(err, "{name}:{}: {e}; line skipped", n + 1)?;
            }
        }
    }
    store.add_labels(&labels, chrono::Utc::now())?;
    let local = crate::learning::local_labels(store)?;
    writeln!(
        out,
        "learnt {} label(s) from {name}{}; {} label(s) in {}",
        labels.len(),
        if skipped > 0 { format!(" ({skipped} bad line(s) skipped)") } else { String::new() },
        local.len(),
        cfg.daemon.location()
    )?;
    if cfg.daemon.classifier == crate::config::ClassifierKind::Rules {
        writeln!(out, "[daemon] classifier = \"rules\": the labels are kept, but the learned stage is off")?;
        return Ok(());
    }
    let started = std::time::Instant::now();
    let model = learned::Model::fit(&local);
    writeln!(
        out,
        "refit on {} shipped + {} local label(s) (each local label weighs {}) in {:.1} s",
        model.info.shipped,
        model.info.local,
        model.info.local_weight,
        started.elapsed().as_secs_f64()
    )?;
    match learned::cross_validate(&local) {
        Some(f1) => writeln!(out, "cross-validated macro F1 on your labels: {f1:.3} ({} folds)", learned::FOLDS)?,
        None => writeln!(out, "cross-validated macro F1: needs at least {} labels", learned::MIN_CV_LABELS)?,
    }
    writeln!(out, "a running daemon takes the new fit within a minute")?;
    Ok(())
}

pub fn person(by: Option<String>) -> String {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    by.filter(|b| !b.trim().is_empty()).or_else(|| env("SUDO_USER")).or_else(|| env("USER")).unwrap_or_else(|| "cli".into())
}

/// `escucha correct`: relabels mention `id` and says what follows from it.
/// A complaint's deadline is computed as ingest does (`respond_within` of
/// the new class from `created_at`, in the brand's business hours).
pub fn correct(cfg: &Config, store: &Store, id: i64, class: Class, by: &str, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<String> {
    let not_found = || anyhow::anyhow!("no mention with id {id} (see `escucha mentions`)");
    let m = store.mention(id)?.ok_or_else(not_found)?;
    // The thresholds of the source that found it, if it has its own.
    let brand = cfg.brand(&m.brand).map(|b| crate::config::Brand { respond_within: cfg.respond_within(b, m.platform.as_str()), ..b.clone() });
    let deadline = brand.as_ref().and_then(|b| crate::alert::hours::mention_deadline(b, class, m.created_at));
    let from = match store.correct(id, class, by, LabelOrigin::Correct, now, deadline)? {
        CorrectOutcome::NotFound => return Err(not_found()),
        CorrectOutcome::AlreadyThat => return Ok(format!("mention {id} is already {class}; nothing changed")),
        CorrectOutcome::Corrected { from } => from,
    };
    let after = store.mention(id)?.ok_or_else(not_found)?;
    let what = if !class.needs_answer() {
        if from.needs_answer() {
            "its alerts stop".to_string()
        } else {
            "it pages nobody".to_string()
        }
    } else if after.status == Status::Answered {
        "the brand already answered it, so nobody is paged".to_string()
    } else if after.status == Status::Acked {
        format!("it was acknowledged by {}, so nobody is paged", after.acked_by.as_deref().unwrap_or("someone"))
    } else if after.alerted_at.is_some() {
        "its alerts go on".to_string()
    } else {
        match deadline {
            None => format!("brand {} is not in {}, so nobody is paged", m.brand, cfg.path.display()),
            Some(d) if d <= now => "it is overdue and will be paged now".to_string(),
            Some(d) => format!("it will be paged at {} unless answered first", d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        }
    };
    Ok(format!("mention {id}: {from} -> {class}, corrected by {by}; {what}"))
}

/// `escucha passwd`: the first line of `input` (without its line break),
/// hashed for a `[[user]]`'s `password_hash`.
pub fn passwd(mut input: impl std::io::BufRead) -> anyhow::Result<String> {
    let mut line = String::new();
    input.read_line(&mut line).context("reading the password from stdin")?;
    let password = line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(&line);
    if password.is_empty() {
        anyhow::bail!("no password on stdin: type it and press Enter, or pipe it in (`escucha passwd < file`)");
    }
    crate::web::auth::hash_password(password).map_err(|e| anyhow::anyhow!("hashing the password: {e}"))
}

/// `escucha migrate`: copies the config's SQLite database into the empty
/// PostgreSQL database `to` (or the URL in the environment variable `to_env`).
fn migrate(cfg: &Config, to: Option<String>, to_env: Option<String>) -> anyhow::Result<()> {
    let url = match (to, to_env) {
        (Some(url), _) => url,
        (None, Some(var)) => std::env::var(&var).map_err(|_| anyhow::anyhow!("--to-env {var}: the environment variable is not set"))?,
        (None, None) => anyhow::bail!("give --to postgres://... or --to-env VARIABLE"),
    };
    let target = crate::store::Location::parse(&url);
    if !matches!(target, crate::store::Location::Postgres(_)) {
        anyhow::bail!("--to {target}: not a PostgreSQL URL (postgres://user:password@host:5432/escucha)");
    }
    let crate::store::Location::Sqlite(path) = cfg.daemon.location() else {
        anyhow::bail!("{} already uses PostgreSQL; migrate copies a SQLite deployment", cfg.path.display());
    };
    if !path.exists() {
        anyhow::bail!("the SQLite database {} does not exist: nothing to migrate (is this the config the service uses?)", path.display());
    }
    let from = open_store(cfg)?;
    let dest = Store::open_at(&target).with_context(|| format!("opening {target}"))?;
    let started = std::time::Instant::now();
    let copied = from.copy_to(&dest).with_context(|| format!("copying {} into {target}", path.display()))?;
    for (table, n) in &copied {
        println!("{table}: {n} row(s) copied and counted");
    }
    println!(
        "migrated {} into {target} in {:.1} s; now set [daemon] database (or database_url_env / database_url_file) to it and restart escucha",
        path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The deployment's database, which must exist: a command that reads or
/// changes what is stored never makes one, so one pointed at the wrong
/// config says so instead of answering from a new, empty file. Only `run`
/// and the commands that record an operator's intent before the first run
/// (`learn`, `silence`; `migrate`'s target) may create it.
fn open_store(cfg: &Config) -> anyhow::Result<Store> {
    let location = cfg.daemon.location();
    if let crate::store::Location::Sqlite(path) = &location {
        if !path.exists() {
            bail!(
                "the database {} does not exist; `escucha run` creates it. If the service runs with another config or state \
                 directory, point at it: --config (or ESCUCHA_CONFIG), or an absolute [daemon] database",
                path.display()
            );
        }
    }
    open_or_create_store(cfg)
}

/// The deployment's database, made if missing (`learn` teaches, and
/// `silence` quiets, a deployment before its first run).
fn open_or_create_store(cfg: &Config) -> anyhow::Result<Store> {
    let location = cfg.daemon.location();
    Store::open_at(&location).with_context(|| format!("opening the database {location}"))
}

/// Writes the copy next to `file` and renames it into place, so `file` is
/// never a half-written database, even if the backup is interrupted.
fn backup(store: &Store, file: &std::path::Path) -> anyhow::Result<()> {
    let mut partial = file.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let _ = std::fs::remove_file(&partial);
    store.backup(&partial).with_context(|| format!("backing up to {}", partial.display()))?;
    std::fs::rename(&partial, file).with_context(|| format!("moving {} to {}", partial.display(), file.display()))?;
    Ok(())
}

fn run(cfg: Config, path: PathBuf) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async move {
        let cancel = CancellationToken::new();
        let signals = {
            let cancel = cancel.clone();
            tokio::spawn(async move {
                wait_for_stop_signal().await;
                cancel.cancel();
            })
        };
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let hup = tokio::spawn(forward_reload_signals(tx));
        let reload = crate::daemon::Reload { path, requests: rx };
        let result = crate::daemon::serve(cfg, Some(reload), Arc::new(SystemClock), cancel).await;
        signals.abort();
        hup.abort();
        result
    })
}

/// SIGHUP asks for a reload (`systemctl reload escucha`).
async fn forward_reload_signals(tx: tokio::sync::mpsc::Sender<()>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hup) = signal(SignalKind::hangup()) else { return };
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP received: reloading the config");
            // A full channel means a reload is already pending: enough.
            let _ = tx.try_send(());
        }
    }
    #[cfg(not(unix))]
    drop(tx);
}

#[cfg(unix)]
async fn wait_for_stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("installing a SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("installing a SIGINT handler");
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
}

#[cfg(not(unix))]
async fn wait_for_stop_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

/// Under journald (JOURNAL_STREAM set) lines carry no timestamp or colour:
/// the journal adds its own.
pub fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("ESCUCHA_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match (format, journald) {
        (LogFormat::Json, _) => builder.json().with_current_span(false).try_init(),
        (LogFormat::Text, true) => {
            builder.with_ansi(false).event_format(Prioritised(tracing_subscriber::fmt::format().without_time().with_ansi(false))).try_init()
        }
        (LogFormat::Text, false) => builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).try_init(),
    };
}

/// Under journald (stderr is the journal), each line starts with its
/// sd-daemon(3) priority (`<3>` error, `<4>` warning, `<6>` info, `<7>`
/// debug), which journald stores as the entry's priority, so that
/// `journalctl -p warning -u escucha` shows warnings and errors only.
pub struct Prioritised<F>(pub F);

impl<S, N, F> tracing_subscriber::fmt::FormatEvent<S, N> for Prioritised<F>
where
    F: tracing_subscriber::fmt::FormatEvent<S, N>,
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let priority = match *event.metadata().level() {
            tracing::Level::ERROR => 3,
            tracing::Level::WARN => 4,
            tracing::Level::INFO => 6,
            _ => 7,
        };
        write!(writer, "<{priority}>")?;
        self.0.format_event(ctx, writer, event)
    }
}

#[derive(Subcommand, Debug)]
pub enum OutboxAction {
    /// Put a dead-lettered page (or, with --notice, notice) back in line.
    Retry {
        id: i64,
        #[arg(long)]
        notice: bool,
        #[command(flatten)]
        config: ConfigArg,
    },
}

fn print_deliveries(list: &[crate::store::Delivery], json: bool, out: &mut impl Write) -> anyhow::Result<()> {
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(list)?)?;
        return Ok(());
    }
    if list.is_empty() {
        writeln!(out, "nothing waiting and nothing dead-lettered")?;
    }
    for d in list {
        let what = if d.queue == "notices" { format!("notice {}", d.id) } else { format!("{} {}", d.kind, d.id) };
        let mentions = if d.mention_ids.is_empty() { String::new() } else { format!(" mentions {:?}", d.mention_ids) };
        let when =
            if d.state == "pending" { format!(" next try {}", d.next_attempt_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) } else { String::new() };
        writeln!(out, "{what} {} to {}{mentions}: {} attempt(s){when}", d.state, d.recipient, d.attempts)?;
        if let Some(e) = &d.last_error {
            writeln!(out, "    last error: {e}")?;
        }
    }
    Ok(())
}

/// The config `escucha init` writes: one brand, paged to one address, the
/// public Mastodon hashtag of the brand as a source that needs no
/// credentials, and the rest commented with what to fill in.
pub fn starter_config(brand: &str, terms: &[String], email: &str) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    // "Café Olé" -> "cafe-ole": accents folded, the rest dashes.
    let id: String = brand
        .nfd()
        .filter(|c| c.is_ascii())
        .collect::<String>()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let id = if id.is_empty() { "brand".to_string() } else { id };
    let terms: Vec<String> =
        if terms.is_empty() { vec![brand.to_string()] } else { terms.iter().map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect() };
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let list = terms.iter().map(|t| q(t)).collect::<Vec<_>>().join(", ");
    let tag: String = terms[0].chars().filter(|c| c.is_alphanumeric()).collect();
    format!(
        r#"# escucha: written by `escucha init`. Every key is explained in
# config/escucha.example.toml (or /usr/share/doc/escucha).

[daemon]
# SQLite file; under systemd it lives in /var/lib/escucha.
database = "escucha.db"
timezone = "UTC"
# Serve /healthz, /metrics and "I'm on it" links:
# http = "127.0.0.1:8686"

[[brand]]
id = {id}
name = {name}
# A post is a mention when it contains one of these (case and accents ignored).
terms = [{list}]
# How long a complaint may wait for the brand's answer before someone is paged.
respond_within = {{ complaint = "30m", escalation = "5m" }}
oncall = "care"
# The brand's own accounts: their replies answer complaints.
# [brand.accounts]
# x = "YourBrand"
# mastodon = "yourbrand@mastodon.social"

[[oncall]]
id = "care"

[[oncall.shift]]
when = "* * * * * *"
notify = [{email}]

# Public posts with the #{tag} hashtag on mastodon.social (no credentials).
[source.mastodon]
instance = "https://mastodon.social"
every = "2m"

# Other sources: [source.x], [source.bluesky], [source.reddit],
# [source.hackernews], [[source.feed]], [source.facebook], [source.instagram],
# [source.youtube], reviews ([source.google_reviews], [source.app_store],
# [source.google_play], [source.trustpilot]).

# Email for pages; without it they are written to the log.
# [smtp]
# host = "smtp.example.com"
# port = 587
# security = "starttls"
# username = "alerts@example.com"
# password_env = "SMTP_PASSWORD"
# from = "escucha <alerts@example.com>"
"#,
        id = q(&id),
        name = q(brand),
        email = q(email),
    )
}

/// What `check` adds to a query whose key alone does not say what it reads.
fn query_note(s: &crate::sources::Source, q: &crate::sources::Query) -> String {
    use crate::sources::QueryKind;
    match (&q.kind, s.platform()) {
        (QueryKind::Threads, _) => match s.follows() {
            Some(d) => {
                let span = if d.as_secs() % 86_400 == 0 { format!("{} days", d.as_secs() / 86_400) } else { humantime::format_duration(d).to_string() };
                format!(": the comments under every matched post, for {span} after it was posted (read less often as it ages)")
            }
            None => String::new(),
        },
        (QueryKind::Communities { names }, _) => {
            format!(": new comments of {}, matched against every brand", names.iter().map(|n| format!("r/{n}")).collect::<Vec<_>>().join(", "))
        }
        (QueryKind::Notifications, crate::model::Platform::Reddit) => ": the brand user's username mentions (its inbox, with its token)".to_string(),
        _ => String::new(),
    }
}

/// `escucha check`: what the config means, in words.
pub fn check(cfg: &Config, out: &mut impl Write) -> anyhow::Result<()> {
    writeln!(out, "config {} is valid", cfg.path.display())?;
    match cfg.daemon.location() {
        l @ crate::store::Location::Sqlite(_) => writeln!(out, "database: {l}")?,
        crate::store::Location::Postgres(url) => {
            writeln!(
                out,
                "database: {} (PostgreSQL; daemons sharing it split the sources and page once, leases of {})",
                crate::store::db::redact(&url),
                humantime::format_duration(cfg.daemon.lease)
            )?;
            // The config's loader parsed it already.
            if let Ok(u) = crate::store::pgtls::PgUrl::parse(&url) {
                writeln!(out, "database connection: {}", u.describe())?;
            }
        }
    }
    match cfg.daemon.classifier {
        crate::config::ClassifierKind::Rules => writeln!(out, "classifier: the rules alone (learned stage off)")?,
        crate::config::ClassifierKind::Learned => {
            writeln!(out, "classifier: rules + learned stage, refit from the team's labels in the database (escucha learn, escucha correct)")?
        }
    }
    for b in &cfg.brands {
        let rw = &b.respond_within;
        if !b.classify.is_empty() {
            let c = &b.classify;
            writeln!(
                out,
                "brand {} phrases: {} escalation, {} complaint, {} neutral, {} praise",
                b.id,
                c.escalation.len(),
                c.complaint.len(),
                c.neutral.len(),
                c.praise.len()
            )?;
        }
        writeln!(
            out,
            "brand {} ({}): terms [{}]; complaint within {}, escalation within {}; rota {}",
            b.id,
            b.name,
            b.terms.join(", "),
            humantime::format_duration(rw.complaint),
            humantime::format_duration(rw.escalation),
            b.oncall.as_deref().unwrap_or("(none: alerts go to the log)")
        )?;
    }
    for s in crate::daemon::sources(cfg) {
        writeln!(out, "source {} every {}:", s.name(), humantime::format_duration(s.every()))?;
        if let crate::sources::Source::YouTube(y) = &s {
            let units = y.units_per_round();
            let floor = crate::sources::youtube::planned_every(std::time::Duration::ZERO, y.daily_quota(), units);
            writeln!(
                out,
                "  quota: {} units a day, {units} per round (1 per page): polls at most every {} (about {} rounds a day)",
                y.daily_quota(),
                humantime::format_duration(std::time::Duration::from_millis(floor.as_millis() as u64)),
                y.daily_quota() / units.max(1)
            )?;
        }
        for q in s.queries() {
            writeln!(out, "  {} (brands: {}){}", q.key, q.brands.join(", "), query_note(&s, &q))?;
        }
        for p in s.stream_plans() {
            let covers: Vec<&str> = p.covers.iter().map(|q| q.key.as_str()).collect();
            writeln!(out, "  stream {}: replaces polling of {} while it is connected", p.name, covers.join(", "))?;
        }
        if let Some(within) = cfg.sources.respond_within.get(s.name()) {
            let show = |d: Option<std::time::Duration>| d.map_or("the brand's".to_string(), |d| humantime::format_duration(d).to_string());
            writeln!(out, "  respond_within: complaint {}, escalation {}", show(within.complaint), show(within.escalation))?;
        }
        // Reviews.list answers only what was created or edited in the last week.
        if s.platform() == crate::model::Platform::GooglePlay && s.every() > std::time::Duration::from_secs(86_400) {
            writeln!(
                out,
                "  warning: source.google_play.every is longer than a day, but Google Play returns only the last week of reviews: poll at least daily or reviews are missed"
            )?;
        }
    }
    match &cfg.smtp {
        Some(s) => writeln!(out, "email: via {}:{} from {}", s.host, s.port, s.from)?,
        None => writeln!(out, "email: no [smtp] section; alerts are written to the log")?,
    }
    let now = chrono::Utc::now();
    for r in &cfg.oncall {
        let who = crate::alert::oncall::shift_recipients(r, now);
        writeln!(out, "rota {}: {} shift(s), {} escalation step(s); on duty now: {}", r.id, r.shifts.len(), r.then.len(), who.join(", "))?;
        let tz = cfg.daemon.timezone;
        writeln!(out, "  coverage this week ({tz}; cell = shift index, - = no shift, ~ = partly):")?;
        for (i, s) in r.shifts.iter().enumerate() {
            writeln!(out, "  shift {i}: {} ({}) → {}", s.when_text, s.timezone, s.notify.join(", "))?;
        }
        for line in crate::alert::oncall::coverage_table(r, now, tz).lines() {
            writeln!(out, "  {line}")?;
        }
        let gaps = crate::alert::oncall::uncovered(r, now, tz);
        if let Some((from, to)) = gaps.first() {
            let fmt = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&tz).format("%a %H:%M").to_string();
            writeln!(
                out,
                "  warning: {} stretch(es) of the week have no shift (first {} to {}); pages then go to the last shift",
                gaps.len(),
                fmt(*from),
                fmt(*to)
            )?;
        }
    }
    if let Some(d) = &cfg.digest {
        let next = crate::alert::digest::next_fire(d, now).map(|t| t.with_timezone(&d.timezone).to_string()).unwrap_or_else(|| "never".into());
        writeln!(out, "digest: \"{}\" ({}) to {}; next {next}", d.when_text, d.timezone, d.to.join(", "))?;
    }
    Ok(())
}

/// `escucha silences`: one line per silence in force.
fn print_silences(store: &Store, list: &[crate::store::Silence], out: &mut impl Write) -> anyhow::Result<()> {
    if list.is_empty() {
        writeln!(out, "no active silences")?;
        return Ok(());
    }
    writeln!(out, "{:<5} {:<40} {:<21} {:<6} {:<12} reason", "id", "scope", "until", "held", "who")?;
    for s in list {
        let held = store.held_count(s.id)?;
        writeln!(
            out,
            "{:<5} {:<40} {:<21} {:<6} {:<12} {}",
            s.id,
            crate::alert::silence::scope(s),
            s.until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            held,
            s.created_by,
            s.reason
        )?;
    }
    Ok(())
}

/// `escucha check --probe`: one request per query, nothing stored.
/// Returns how many failed.
async fn probe_sources(cfg: &Config, out: &mut impl Write) -> anyhow::Result<usize> {
    use crate::sources::SourceError;
    let mut failed = 0;
    for source in crate::daemon::sources(cfg) {
        // Sources with a cheap token check use it instead of a first poll.
        if let Some(checks) = source.probe().await {
            for (what, r) in checks {
                let verdict = match r {
                    Ok(ok) => format!("OK ({ok})"),
                    Err(e) => {
                        failed += 1;
                        format!("FAILED: {e}")
                    }
                };
                writeln!(out, "probe {} {what}: {verdict}", source.name())?;
            }
            continue;
        }
        for q in source.queries() {
            let verdict = match source.fetch(&q, None).await {
                Ok(page) => format!("OK ({} post(s) on the newest page)", page.posts.len()),
                Err(e) => {
                    failed += 1;
                    match e {
                        SourceError::RateLimited { until: Some(t) } => {
                            format!("rate-limited until {} UTC", t.format("%H:%M"))
                        }
                        other => format!("FAILED: {other}"),
                    }
                }
            };
            writeln!(out, "probe {} {}: {verdict}", source.name(), q.key)?;
        }
    }
    Ok(failed)
}

#[derive(serde::Deserialize)]
struct ClassifyIn {
    #[serde(default)]
    id: serde_json::Value,
    text: String,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    author_followers: Option<u64>,
    #[serde(default)]
    reposts: Option<u64>,
    #[serde(default)]
    brand: Option<String>,
}

/// `escucha classify`: one output line per input line, in order. Output is
/// flushed whenever the input has no complete line left, i.e. before
/// waiting for more, and at the end: a pipe sees each answer as soon as it
/// can be waiting for the next question, and a file streams through without
/// a write per line (give `out` a `BufWriter`).
pub fn classify_stream(cfg: Option<&Config>, classifier: &classify::Classifier, mut input: impl Read, out: &mut impl Write) -> anyhow::Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut start = 0;
    let mut eof = false;
    loop {
        while let Some(n) = buf[start..].iter().position(|b| *b == b'\n') {
            classify_line(cfg, classifier, &buf[start..start + n], out)?;
            start += n + 1;
        }
        if eof {
            if start < buf.len() {
                classify_line(cfg, classifier, &buf[start..], out)?;
            }
            out.flush()?;
            return Ok(());
        }
        // No whole line left: answer what we have before waiting for more.
        out.flush()?;
        buf.drain(..start);
        start = 0;
        let filled = buf.len();
        buf.resize(filled.max(32 * 1024) * 2, 0);
        let got = loop {
            match input.read(&mut buf[filled..]) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other.context("reading stdin")?,
            }
        };
        buf.truncate(filled + got);
        eof = got == 0;
    }
}

fn classify_line(cfg: Option<&Config>, classifier: &classify::Classifier, line: &[u8], out: &mut impl Write) -> anyhow::Result<()> {
    let line = std::str::from_utf8(line).context("reading stdin: stream did not contain valid UTF-8")?;
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.trim().is_empty() {
        return Ok(());
    }
    let parsed: Option<ClassifyIn> = if line.trim_start().starts_with('{') { serde_json::from_str(line).ok() } else { None };
    let (id, text, mut ctx, brand) = match parsed {
        Some(p) => (p.id, p.text, Context { lang: p.lang, author_followers: p.author_followers, reposts: p.reposts, ..Default::default() }, p.brand),
        None => (serde_json::Value::Null, line.to_string(), Context::default(), None),
    };
    if let (Some(cfg), Some(brand)) = (cfg, brand.as_deref()) {
        match cfg.brand(brand) {
            Some(b) => {
                ctx.executives = b.executives.clone();
                ctx.escalate = b.escalate;
                ctx.phrases = b.phrases();
            }
            None => bail!("brand {brand:?} is not in the config"),
        }
    }
    let c = classifier.classify(&text, &ctx);
    let v = serde_json::json!({"id": id, "class": c.class, "score": (c.score * 1000.0).round() / 1000.0, "lang": c.lang, "reasons": c.reasons});
    writeln!(out, "{v}")?;
    Ok(())
}

/// `notes`: the team's notes by mention id (for `--json`).
pub fn print_mentions(
    list: &[crate::model::Mention],
    notes: &std::collections::HashMap<i64, Vec<crate::store::Note>>,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if json {
        for m in list {
            let v = mention_json(m, notes.get(&m.id).map_or(&[], Vec::as_slice));
            writeln!(out, "{v}")?;
        }
        return Ok(());
    }
    print_mentions_table(list, out)
}

/// One mention as `escucha mentions --json` (and `/api/v1/mentions`) print it.
pub fn mention_json(m: &crate::model::Mention, notes: &[crate::store::Note]) -> serde_json::Value {
    let notes: Vec<serde_json::Value> = notes.iter().map(|n| serde_json::json!({"by": n.by, "at": n.at.to_rfc3339(), "text": n.text})).collect();
    serde_json::json!({
        "id": m.id, "brand": m.brand, "platform": m.platform, "platform_id": m.platform_id, "url": m.url,
        "author": m.author, "author_followers": m.author_followers, "text": m.text, "lang": m.lang,
        "class": m.class, "score": m.score, "reasons": m.reasons, "created_at": m.created_at.to_rfc3339(),
        "status": m.status.as_str(), "answered_at": m.answered_at.map(|t| t.to_rfc3339()),
        "acked_by": m.acked_by, "acked_at": m.acked_at.map(|t| t.to_rfc3339()),
        "alerted_at": m.alerted_at.map(|t| t.to_rfc3339()), "history": m.history,
        "corrected_by": m.corrected_by, "corrected_at": m.corrected_at.map(|t| t.to_rfc3339()),
        "rating": m.rating, "assigned_to": m.assigned_to, "notes": notes,
    })
}

fn print_mentions_table(list: &[crate::model::Mention], out: &mut impl Write) -> anyhow::Result<()> {
    writeln!(out, "{:>6}  {:<10} {:<9} {:<10} {:<8} {:<20} {:<18} TEXT", "ID", "BRAND", "PLATFORM", "CLASS", "STATUS", "CREATED", "AUTHOR")?;
    for m in list {
        // Mention text and author names come from strangers: nothing they
        // contain may break the row or drive the terminal (JSON escapes them).
        let text: String = crate::text::for_terminal(&m.text).chars().take(70).collect();
        writeln!(
            out,
            "{:>6}  {:<10} {:<9} {:<10} {:<8} {:<20} {:<18} {}",
            m.id,
            m.brand,
            m.platform.as_str(),
            m.class.as_str(),
            m.status.as_str(),
            m.created_at.format("%Y-%m-%d %H:%M:%S"),
            crate::text::for_terminal(&m.author),
            text
        )?;
    }
    Ok(())
}

fn print_stats(rows: &[crate::store::StatsRow], json: bool, since: &str, out: &mut impl Write) -> anyhow::Result<()> {
    if json {
        for r in rows {
            writeln!(out, "{}", serde_json::to_string(r)?)?;
        }
        return Ok(());
    }
    let secs =
        |s: Option<i64>| s.map(|s| humantime::format_duration(std::time::Duration::from_secs(s.max(0) as u64)).to_string()).unwrap_or_else(|| "-".into());
    writeln!(out, "mentions created in the last {since}")?;
    writeln!(
        out,
        "{:<12} {:<9} {:>8} {:>7} {:>9} {:>10} {:>7} {:>9} {:>6} {:>12} {:>12}",
        "BRAND", "PLATFORM", "MENTIONS", "PRAISE", "COMPLAINT", "ESCALATION", "NEUTRAL", "ANSWERED", "RATE", "MEDIAN", "P90"
    )?;
    for r in rows {
        let rate = if r.needing_answer > 0 { format!("{:.0}%", 100.0 * r.answered as f64 / r.needing_answer as f64) } else { "-".into() };
        writeln!(
            out,
            "{:<12} {:<9} {:>8} {:>7} {:>9} {:>10} {:>7} {:>9} {:>6} {:>12} {:>12}",
            r.brand,
            r.platform,
            r.mentions,
            r.praise,
            r.complaint,
            r.escalation,
            r.neutral,
            r.answered,
            rate,
            secs(r.median_first_answer_secs),
            secs(r.p90_first_answer_secs)
        )?;
    }
    if rows.is_empty() {
        writeln!(out, "(no mentions yet)")?;
    }
    Ok(())
}
