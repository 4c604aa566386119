//! Runs the classifier evaluation on a labelled JSON Lines file named by
//! `ESCUCHA_EVAL_FILE` (e.g. the dev sets) and prints the report. Without
//! the variable it says so and passes, so CI needs no data set:
//!
//! `ESCUCHA_EVAL_FILE=/work/shared/data/dev/airline-en.jsonl cargo test --release --test classify_eval -- --nocapture`

use escucha::classify::eval::evaluate;
use std::io::BufReader;

#[test]
fn evaluation_of_the_file_in_escucha_eval_file() {
    let Ok(path) = std::env::var("ESCUCHA_EVAL_FILE") else {
        println!("ESCUCHA_EVAL_FILE is not set: no evaluation run (set it to a JSONL file with text and label)");
        return;
    };
    for path in path.split(',') {
        let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let started = std::time::Instant::now();
        let report = evaluate(BufReader::new(file)).expect("evaluation");
        let elapsed = started.elapsed();
        println!("== {path}\n{}", report.render_text());
        println!(
            "classified {} mentions in {:.1} ms ({:.1} µs each)\n",
            report.total,
            elapsed.as_secs_f64() * 1e3,
            elapsed.as_secs_f64() * 1e6 / report.total.max(1) as f64
        );
        assert!(report.total > 0, "{path} has no rows");
    }
}

/// With `ESCUCHA_EVAL_DUMP=OUT.jsonl` as well, writes every prediction next
/// to its gold label, for reading the mistakes outside the repository.
#[test]
fn predictions_are_dumped_when_asked() {
    let (Ok(input), Ok(out)) = (std::env::var("ESCUCHA_EVAL_FILE"), std::env::var("ESCUCHA_EVAL_DUMP")) else {
        println!("ESCUCHA_EVAL_FILE and ESCUCHA_EVAL_DUMP are not both set: nothing dumped");
        return;
    };
    use std::io::{BufRead, Write};
    let mut w = std::io::BufWriter::new(std::fs::File::create(&out).unwrap());
    let mut n = 0;
    for path in input.split(',') {
        for line in BufReader::new(std::fs::File::open(path).unwrap()).lines() {
            let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
            let ctx = escucha::classify::Context { lang: v["lang"].as_str().map(String::from), ..Default::default() };
            let c = escucha::classify::classify(v["text"].as_str().unwrap_or(""), &ctx);
            let row = serde_json::json!({"text": v["text"], "label": v["label"], "class": c.class, "score": c.score, "reasons": c.reasons, "lang": c.lang});
            writeln!(w, "{row}").unwrap();
            n += 1;
        }
    }
    assert!(n > 0);
}
