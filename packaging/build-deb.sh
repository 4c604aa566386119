#!/usr/bin/env bash
# Builds the Debian package: target/debian/escucha_<version>-1_<arch>.deb
#
#   packaging/build-deb.sh                 # release build, then the package
#   packaging/build-deb.sh --profile dev --no-build
#                                          # package the debug binary already
#                                          # built (what tests/package.rs does)
#
# Needs cargo-deb (`cargo install cargo-deb --locked --no-default-features`).
# Generates what the package ships besides the binary into
# <target>/<profile dir>/deb/: the unit (systemd/escucha.service with the
# binary in /usr/bin), one man page per command (`escucha man`, from the same
# clap definition as the binary) and completions for bash, zsh and fish.
# [package.metadata.deb] in Cargo.toml lists where each file goes.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
build=1
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --profile) profile=$2; shift 2 ;;
        --no-build) build=0; shift ;;
        *) extra+=("$1"); shift ;;
    esac
done
case "$profile" in
    release) dir=release ;;
    dev) dir=debug ;;
    *) dir=$profile ;;
esac

command -v cargo-deb >/dev/null || { echo "build-deb: cargo-deb is missing: cargo install cargo-deb --locked --no-default-features" >&2; exit 1; }
if [ "$build" = 1 ]; then
    cargo build --locked --profile "$profile" --bin escucha
fi
target=${CARGO_TARGET_DIR:-target}
bin=$target/$dir/escucha
[ -x "$bin" ] || { echo "build-deb: $bin is missing (build it, or drop --no-build)" >&2; exit 1; }

out=$target/$dir/deb
rm -rf "$out"
mkdir -p "$out/man" "$out/completions"
sed 's#/usr/local/bin/escucha#/usr/bin/escucha#g' systemd/escucha.service >"$out/escucha.service"
if grep -q /usr/local "$out/escucha.service"; then
    echo "build-deb: the unit still names /usr/local" >&2
    exit 1
fi
"$bin" man "$out/man" >/dev/null
gzip -9n "$out"/man/*.1
"$bin" completions bash >"$out/completions/escucha"
"$bin" completions zsh >"$out/completions/_escucha"
"$bin" completions fish >"$out/completions/escucha.fish"

cargo deb --locked --no-build --profile "$profile" "${extra[@]}"
