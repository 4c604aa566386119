//! Config loading on arbitrary text, as `escucha check` and `escucha run`
//! load a file: parse, validate, then (when valid) describe it as `check`
//! does, building every source. It must return a config or errors, never
//! panic. The environment is empty, so only the text decides.

#![no_main]

use escucha::config::{load_str, Env};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match load_str(text, Path::new("/nonexistent/escucha-fuzz/escucha.toml"), &Env::empty()) {
        Ok(cfg) => {
            let mut out = Vec::new();
            escucha::cli::check(&cfg, &mut out).expect("check writes to memory");
        }
        Err(errors) => {
            assert!(!errors.0.is_empty(), "a config refused without a reason");
            let _ = errors.to_string();
        }
    }
});
