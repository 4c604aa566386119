//! `escucha classify` as a filter: one answer per input line, in order, and
//! each answer written out before the loop waits for more input, so it can
//! sit in an interactive pipe while still writing files in big blocks.

use escucha::cli::classify_stream;
use std::cell::RefCell;
use std::io::{Read, Write};
use std::rc::Rc;

/// Collects writes and hands them to `seen` only on flush.
struct Sink {
    pending: Vec<u8>,
    seen: Rc<RefCell<Vec<u8>>>,
    flushes: usize,
}

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.seen.borrow_mut().append(&mut self.pending);
        self.flushes += 1;
        Ok(())
    }
}

/// Gives one chunk per read; before the second it checks that the answers
/// to the first are already out, as a person at a terminal would.
struct Typist {
    chunks: Vec<&'static [u8]>,
    seen: Rc<RefCell<Vec<u8>>>,
    reads: usize,
}

impl Read for Typist {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.reads > 0 {
            let seen = self.seen.borrow();
            let answered = seen.iter().filter(|b| **b == b'\n').count();
            let asked: usize = self.chunks[..self.reads.min(self.chunks.len())].iter().map(|c| c.iter().filter(|b| **b == b'\n').count()).sum();
            assert_eq!(answered, asked, "read #{} before the earlier answers were flushed", self.reads + 1);
        }
        let Some(chunk) = self.chunks.get(self.reads) else { return Ok(0) };
        self.reads += 1;
        buf[..chunk.len()].copy_from_slice(chunk);
        Ok(chunk.len())
    }
}

fn lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    std::str::from_utf8(bytes).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn answers_are_flushed_before_waiting_for_more_input() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let input = Typist {
        chunks: vec![
            b"{\"id\":1,\"text\":\"worst service ever, nobody answers\"}\n",
            b"{\"id\":2,\"text\":\"thank you so much, great help\"}\n{\"id\":",
            b"3,\"text\":\"ok\"}",
        ],
        seen: seen.clone(),
        reads: 0,
    };
    let mut out = Sink { pending: Vec::new(), seen: seen.clone(), flushes: 0 };
    classify_stream(None, &escucha::classify::Classifier::rules_only(), input, &mut out).unwrap();
    assert!(out.pending.is_empty(), "the last answer was left unflushed");
    let got = lines(&seen.borrow());
    let ids: Vec<i64> = got.iter().map(|v| v["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [1, 2, 3]);
    assert_eq!(got[0]["class"], "complaint");
    assert_eq!(got[1]["class"], "praise");
}

#[test]
fn a_file_is_answered_line_by_line_without_a_flush_per_line() {
    let mut input = String::new();
    for i in 0..1000 {
        input.push_str(&format!("{{\"id\":{i},\"text\":\"line {i}: still waiting for my refund\"}}\r\n"));
        input.push_str("   \n");
    }
    input.push_str("plain text without a newline, thanks a lot");
    let seen = Rc::new(RefCell::new(Vec::new()));
    let mut out = Sink { pending: Vec::new(), seen: seen.clone(), flushes: 0 };
    classify_stream(None, &escucha::classify::Classifier::rules_only(), input.as_bytes(), &mut out).unwrap();
    let got = lines(&seen.borrow());
    assert_eq!(got.len(), 1001, "one answer per non-blank line");
    assert!(got[..1000].iter().enumerate().all(|(i, v)| v["id"] == i && v["class"] == "complaint"));
    assert_eq!(got[1000]["id"], serde_json::Value::Null);
    assert!(out.flushes < 10, "{} flushes for one read of the whole input", out.flushes);
}

#[test]
fn invalid_utf8_is_an_error_not_a_panic() {
    let mut out = Vec::new();
    let err = classify_stream(None, &escucha::classify::Classifier::rules_only(), &b"fine\n\xff\xfe\n"[..], &mut out).unwrap_err();
    assert!(format!("{err:#}").contains("UTF-8"), "{err:#}");
}
