//! The learned stage end to end, through the real binary: `escucha learn`
//! stores labels (reporting bad lines by number and skipping them) and
//! refits; `escucha classify --config` uses the deployment's fit, plain
//! `escucha classify` the shipped one; a running daemon takes a new fit
//! without a restart; brand phrases decide the class.
//!
//! The labels teach made-up words ("zorblax", "quenfo") that neither the
//! rules nor the shipped data know, so only learning can explain a change.

#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/fake_x.rs"]
mod fake_x;
#[path = "support/world.rs"]
mod world;

use daemon::{cursor, escucha, mentions, wait_for, Daemon};
use escucha::model::Class;
use fake_x::{FakeX, NewTweet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use world::ConfigToml;

/// 60 labels: posts about a "zorblax" are complaints, about a "quenfo" praise.
fn teaching_lines() -> Vec<String> {
    let mut lines = Vec::new();
    for i in 0..30 {
        lines.push(serde_json::json!({"text": format!("the zorblax on order {i} again"), "label": "complaint", "lang": "en"}).to_string());
        lines.push(serde_json::json!({"text": format!("order {i} came with a quenfo"), "label": "praise", "brand": "interjet"}).to_string());
    }
    lines
}

fn write(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

fn classify(args: &[&str], text: &str) -> serde_json::Value {
    let input = serde_json::json!({"id": 1, "text": text, "brand": "interjet"}).to_string();
    let mut all = vec!["classify"];
    all.extend(args);
    let (code, out, err) = escucha(&all, Some(&input));
    assert_eq!(code, 0, "{out}{err}");
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn learn_stores_good_lines_reports_bad_ones_and_classify_uses_the_refit() {
    let dir = tempfile::tempdir().unwrap();
    let config = ConfigToml::new()
        .daemon("escucha.db")
        .interjet("30m", "5m", &[])
        .oncall(&["guardia@example.com"])
        .section("[brand.classify]", "neutral = [\"convocatoria de empleo\"]\ncomplaint = [\"me dejaron en tierra\"]")
        .write(dir.path());
    let config = config.to_str().unwrap();
    let db = dir.path().join("escucha.db");
    let probe = "a zorblax on my order today";
    let before = classify(&["--config", config], probe);
    assert!(!db.exists(), "classify never creates a database");

    // Lines 3 and 10 are bad, line 12 names a brand the config lacks:
    // each is reported with its number and skipped; the rest are learnt.
    let mut lines = teaching_lines();
    lines.insert(2, "not json at all".into());
    lines.insert(9, r#"{"text": "fine", "label": "angry"}"#.into());
    lines.insert(11, r#"{"text": "fine", "label": "praise", "brand": "nadie"}"#.into());
    let file = write(dir.path(), "labels.jsonl", &lines);
    let (code, out, err) = escucha(&["learn", file.to_str().unwrap(), "--config", config, "--by", "ana"], None);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("learnt 60 label(s) from") && out.contains("(3 bad line(s) skipped); 60 label(s) in"), "{out}");
    assert!(out.contains("cross-validated macro F1 on your labels: "), "{out}");
    let f1: f64 = out.split("your labels: ").nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap();
    assert!(f1 > 0.9, "two made-up words are easy to learn: {f1}\n{out}");
    for (n, what) in [(3, "not a JSON object"), (10, "label \"angry\""), (12, "brand \"nadie\" is not in")] {
        assert!(err.contains(&format!("labels.jsonl:{n}: ")) && err.contains(what), "line {n}: {err}");
    }
    assert_eq!(err.matches("line skipped").count(), 3, "{err}");

    // Stored with who gave them; the deployment's classifier learnt them.
    let labels = escucha::store::Store::open(&db).unwrap().labels().unwrap();
    assert_eq!(labels.len(), 60);
    assert!(labels.iter().all(|l| l.by == "ana" && l.origin == escucha::model::LabelOrigin::Learn));
    assert_eq!(labels[1].brand.as_deref(), Some("interjet"));
    let after = classify(&["--config", config], probe);
    assert_eq!(after["class"], "complaint", "{after}");
    assert!(after["reasons"][0].as_str().unwrap().starts_with("complaint:model:"), "{after}");
    assert_ne!(before["class"], "complaint", "the shipped model alone does not know the word: {before}");
    let praise = classify(&["--config", config], "a quenfo with my order today");
    assert_eq!(praise["class"], "praise", "{praise}");
    // Without a config: the shipped model, whatever any deployment learnt.
    let shipped = classify(&[], probe);
    assert_eq!(shipped["class"], before["class"], "{shipped}");

    // Brand phrases decide, whatever the model says.
    let phrase = classify(&["--config", config], "me dejaron en tierra, gracias por todo");
    assert_eq!(phrase["class"], "complaint", "{phrase}");
    assert_eq!(phrase["reasons"][0], "complaint:brand-phrase:me dejaron en tierra");
    let phrase = classify(&["--config", config], "Convocatoria de empleo: el peor trabajo, pésimo sueldo");
    assert_eq!((phrase["class"].as_str(), phrase["reasons"][0].as_str()), (Some("neutral"), Some("neutral:brand-phrase:convocatoria de empleo")));

    // Few labels: learnt, but no cross-validated score yet.
    let dir2 = tempfile::tempdir().unwrap();
    let config2 = ConfigToml::new().daemon("escucha.db").interjet("30m", "5m", &[]).oncall(&["guardia@example.com"]).write(dir2.path());
    let file = write(dir2.path(), "few.jsonl", &teaching_lines()[..10]);
    let (code, out, err) = escucha(&["learn", file.to_str().unwrap(), "--config", config2.to_str().unwrap()], None);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("learnt 10 label(s)") && out.contains("cross-validated macro F1: needs at least 50 labels"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_daemon_classifies_with_labels_learnt_after_it_started() {
    let dir = tempfile::tempdir().unwrap();
    let x = FakeX::start().await;
    let config = ConfigToml::new()
        .daemon("escucha.db")
        .interjet("30m", "5m", &[("x", "Interjet_mx")])
        .oncall(&["guardia@example.com"])
        .x(&x.base_url(), fake_x::DEFAULT_TOKEN)
        .write(dir.path());
    let db = dir.path().join("escucha.db");
    let d = Daemon::start(dir.path(), &config, &[]);
    wait_for(Duration::from_secs(30), "the first X poll", &d, || cursor(&db, "x:search:interjet")).await;

    let stored = |id: &str| mentions(&db).into_iter().find(|m| m.platform_id == id);
    let first = x.add_tweet(NewTweet::new("maria", "@Interjet_mx a zorblax on my order today"));
    let first = wait_for(Duration::from_secs(30), "the first mention", &d, || stored(&first)).await;
    assert_ne!(first.class, Class::Complaint, "{:?}", first.reasons);

    let file = write(dir.path(), "labels.jsonl", &teaching_lines());
    let (code, out, err) = escucha(&["learn", file.to_str().unwrap(), "--config", config.to_str().unwrap()], None);
    assert_eq!(code, 0, "{out}{err}");

    // The daemon checks for new labels every 15 s: post until a mention is
    // classified with them, within the minute the issue promises.
    let started = Instant::now();
    let mut n = 0;
    let learnt = loop {
        n += 1;
        let id = x.add_tweet(NewTweet::new("maria", &format!("@Interjet_mx a zorblax on my order today, take {n}")));
        let m = wait_for(Duration::from_secs(30), "the next mention", &d, || stored(&id)).await;
        if m.class == Class::Complaint {
            break m;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no refit within a minute; log:\n{}", d.log());
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    assert!(learnt.reasons[0].starts_with("complaint:model:"), "{:?}", learnt.reasons);
    assert!(d.log().contains("classifier refit with the team's labels"), "{}", d.log());
}
