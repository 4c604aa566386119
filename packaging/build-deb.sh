#!/usr/bin/env bash
# Builds the Debian package: target/debian/escucha_<version>-1_<arch>.deb
#
#   packaging/build-deb.sh                 # release build, then the package
#   packaging/build-deb.sh --binary target/debug/escucha --output x.deb
#                                          # package a binary built elsewhere
#                                          # (what tests/package.rs does)
#
# Needs cargo-deb (`cargo install cargo-deb --locked --no-default-features`).
# Generates what the package ships besides the binary into
# <target>/release/deb/: the unit (systemd/escucha.service with the
# binary in /usr/bin), one man page per command (`escucha man`, from the same
# clap definition as the binary) and completions for bash, zsh and fish.
# [package.metadata.deb] in Cargo.toml lists where each file goes.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=
build=1
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) binary=$(realpath "$2"); build=0; shift 2 ;;
        --no-build) build=0; shift ;;
        *) extra+=("$1"); shift ;;
    esac
done

command -v cargo-deb >/dev/null || { echo "build-deb: cargo-deb is missing: cargo install cargo-deb --locked --no-default-features" >&2; exit 1; }
if [ -n "$binary" ]; then
    # cargo-deb takes built files from <target>/release: stage one there.
    stage=$(mktemp -d)
    trap 'rm -rf "$stage"' EXIT
    mkdir -p "$stage/release"
    cp "$binary" "$stage/release/escucha"
    export CARGO_TARGET_DIR=$stage
elif [ "$build" = 1 ]; then
    cargo build --locked --release --bin escucha
fi
target=${CARGO_TARGET_DIR:-target}
bin=$target/release/escucha
[ -x "$bin" ] || { echo "build-deb: $bin is missing (build it, or drop --no-build)" >&2; exit 1; }

out=$target/release/deb
rm -rf "$out"
mkdir -p "$out/man" "$out/completions"
# The repository's unit with the package's paths, and its install notes
# (for a binary in /usr/local) replaced by the package's.
{
    echo "# escucha as a systemd service, installed by the escucha package."
    echo "# Local changes go in a drop-in (systemctl edit escucha), which upgrades"
    echo "# keep; secrets and hardening: /usr/share/doc/escucha/docs/systemd.md."
    sed -n '/^\[Unit\]/,$p' systemd/escucha.service | sed 's#/usr/local/bin/escucha#/usr/bin/escucha#g'
} >"$out/escucha.service"
if grep -q /usr/local "$out/escucha.service"; then
    echo "build-deb: the unit still names /usr/local" >&2
    exit 1
fi
"$bin" man "$out/man" >/dev/null
gzip -9n "$out"/man/*.1
"$bin" completions bash >"$out/completions/escucha"
"$bin" completions zsh >"$out/completions/_escucha"
"$bin" completions fish >"$out/completions/escucha.fish"

cargo deb --locked --no-build "${extra[@]}"
