#!/usr/bin/env bash
# Builds every fuzz target once and runs each for N seconds (default 20),
# failing on the first crash, panic, leak or timeout. CI runs it short; run
# it longer by hand (docs/fuzzing.md). Needs cargo-fuzz
# (`cargo install cargo-fuzz --locked`); the stable toolchain accepts
# cargo-fuzz's nightly-only flags through RUSTC_BOOTSTRAP=1.
#
# Each run starts from the committed seeds (fuzz/corpus/<target>) and the
# recorded platform responses in tests/fixtures, and writes what it finds to
# a scratch directory, so a CI run leaves the tree as it found it. A crash
# is saved under fuzz/artifacts/<target>/; replay it with
# `RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none <target> <file>`.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${1:-20}"
export RUSTC_BOOTSTRAP=1
# Safe Rust throughout escucha: ASan would cost about twice the time per
# input for bugs the compiler already rules out. Overflow checks and debug
# assertions stay on (cargo-fuzz's default), so arithmetic overflow panics.
sanitizer="${FUZZ_SANITIZER:-none}"

targets=(classify feed x mastodon bluesky reddit hackernews config)
declare -A fixtures=(
    [feed]=../tests/fixtures/feed
    [x]=../tests/fixtures/x
    [mastodon]=../tests/fixtures/mastodon
    [bluesky]=../tests/fixtures/bluesky
    [reddit]=../tests/fixtures/reddit
    [hackernews]=../tests/fixtures/hackernews
    [config]=../config
)

echo "== fuzz: build (sanitizer $sanitizer)"
cargo fuzz build --sanitizer "$sanitizer"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
failed=()
for t in "${targets[@]}"; do
    echo "== fuzz: $t for ${seconds}s"
    mkdir -p "$scratch/$t" "artifacts/$t"
    seeds=("corpus/$t")
    if [[ -n "${fixtures[$t]:-}" && -d "${fixtures[$t]}" ]]; then
        seeds+=("${fixtures[$t]}")
    fi
    # -timeout: an input that takes this long is a hang, not a slow parse.
    # -rss_limit_mb: parsers of a bounded body must not balloon.
    if cargo fuzz run --sanitizer "$sanitizer" "$t" "$scratch/$t" "${seeds[@]}" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="artifacts/$t/" >"$scratch/$t.log" 2>&1; then
        grep -E '^(stat::number_of_executed_units|stat::new_units_added|Done )' "$scratch/$t.log" || true
    else
        tail -n 80 "$scratch/$t.log"
        failed+=("$t")
    fi
done

if ((${#failed[@]})); then
    echo "fuzz: crashes in: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz: no crash in ${#targets[@]} targets"
