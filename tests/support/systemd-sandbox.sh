#!/usr/bin/env bash
# Copied from the team's shared tool ../shared/tools/systemd-sandbox.sh (same
# approach, kept in the repo so the tests do not depend on a path outside it);
# additions for escucha's tests: the `serve` mode at the end, and exit status
# 77 ("skip") when the sandbox cannot be built on this machine.
#
# Boot a real systemd (PID 1) in systemd-nspawn on a machine whose own PID 1 is not systemd,
# so a service unit can be tested for real: Type=notify, reload, watchdog, DynamicUser,
# StateDirectory, LoadCredential, journalctl. Needs root. Works unattended (CI) in ~15 s
# once the root file system is cached (first run: debootstrap, ~40-70 s, ~60 MB tarball).
#
# Use as a library:
#   source systemd-sandbox.sh
#   sandbox_up                      # unpacks a fresh rootfs into $SB_ROOT and prepares it
#   cp my-binary "$SB_ROOT/usr/local/bin/"; cp my.service "$SB_ROOT/etc/systemd/system/"
#   sandbox_boot                    # boots it; returns when the system is 'running'
#   sb systemctl start my.service   # run any command inside the container
#   sb journalctl -u my.service --no-pager
#   sandbox_down                    # halts it and removes everything (also on EXIT)
# Or run it directly for a self-test: bash systemd-sandbox.sh selftest
#
# Findings behind the choices:
# - without a host systemd there is no bus: nspawn needs --register=no --keep-unit;
# - systemctl -M / machinectl do not work without host D-Bus; nsenter into PID 1 does;
# - nspawn makes sub-cgroups below its own cgroup: it gets a private one, removed afterwards;
# - Type=notify from a shell script needs NotifyAccess=all (systemd-notify is a child);
# - minbase has no /bin/kill: ExecReload=/bin/sh -c 'kill -HUP $$MAINPID'.
set -uo pipefail

SB_WORK=${SB_WORK:-/tmp/systemd-sandbox}
SB_TARBALL=${SB_TARBALL:-$SB_WORK/rootfs.tar.gz}
SB_MIRROR=${SB_MIRROR:-$( { grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'; grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}'; } | grep -m1 -E '/debian/?$')}   # the mirror apt already uses
SB_SUITE=${SB_SUITE:-bookworm}
SB_NET=${SB_NET:-}                      # e.g. --private-network; empty shares the host's loopback
SB_NAME=sb$$
SB_ROOT=$SB_WORK/run-$SB_NAME
SB_NSPID= SB_LEADER= SB_CGDIRS=()

sb() { nsenter --target "$SB_LEADER" --all -- "$@"; }

sandbox_up() {
  if ! command -v systemd-nspawn >/dev/null || ! command -v debootstrap >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      systemd-container debootstrap debian-archive-keyring >/dev/null || return 1
  fi
  mkdir -p "$SB_WORK"
  if [ ! -s "$SB_TARBALL" ]; then
    rm -rf "$SB_WORK/base"
    debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,procps,libnss-systemd,ca-certificates \
      "$SB_SUITE" "$SB_WORK/base" "$SB_MIRROR" >"$SB_WORK/debootstrap.log" 2>&1 || { tail -20 "$SB_WORK/debootstrap.log"; return 1; }
    echo sandbox >"$SB_WORK/base/etc/hostname"
    rm -f "$SB_WORK"/base/var/cache/apt/archives/*.deb
    find "$SB_WORK/base/var/lib/apt/lists" -type f ! -name lock -delete
    tar -C "$SB_WORK/base" --numeric-owner --xattrs --acls -czf "$SB_TARBALL.tmp" . && mv "$SB_TARBALL.tmp" "$SB_TARBALL"
    rm -rf --one-file-system "$SB_WORK/base"
  fi
  mkdir -p "$SB_ROOT" && tar -C "$SB_ROOT" --numeric-owner --xattrs --acls -xzf "$SB_TARBALL"
  trap sandbox_down EXIT
}

sandbox_boot() {
  local opts=(--boot --machine="$SB_NAME" --directory="$SB_ROOT" $SB_NET) cg=nspawn-$SB_NAME
  if [ ! -d /run/systemd/system ]; then
    opts+=(--register=no --keep-unit)
    if   [ -e /sys/fs/cgroup/cgroup.controllers ]; then SB_CGDIRS=(/sys/fs/cgroup/$cg)
    elif [ -e /sys/fs/cgroup/unified/cgroup.controllers ]; then SB_CGDIRS=(/sys/fs/cgroup/systemd/$cg /sys/fs/cgroup/unified/$cg)
    else SB_CGDIRS=(/sys/fs/cgroup/systemd/$cg); fi
    for d in "${SB_CGDIRS[@]}"; do mkdir -p "$d"; done
  fi
  ( for d in "${SB_CGDIRS[@]}"; do echo "$BASHPID" >"$d/cgroup.procs"; done
    exec systemd-nspawn "${opts[@]}" </dev/null >"$SB_WORK/$SB_NAME.console.log" 2>&1 ) &
  SB_NSPID=$!
  for _ in $(seq 1 200); do
    SB_LEADER=$(pgrep -P "$SB_NSPID" || true)
    [ -n "$SB_LEADER" ] && case "$(readlink "/proc/$SB_LEADER/exe" || true)" in */systemd) break;; esac
    kill -0 "$SB_NSPID" 2>/dev/null || { cat "$SB_WORK/$SB_NAME.console.log"; return 1; }
    sleep 0.05
  done
  for _ in $(seq 1 200); do sb test -S /run/systemd/private 2>/dev/null && break; sleep 0.05; done
  local state; state=$(sb systemctl is-system-running --wait 2>/dev/null || true)
  [ "$state" = running ] || { sb systemctl --failed --no-pager; echo "sandbox: system state '$state'"; return 1; }
}

sandbox_down() {
  if [ -n "$SB_NSPID" ] && kill -0 "$SB_NSPID" 2>/dev/null; then
    kill -TERM "$SB_NSPID"
    for _ in $(seq 1 100); do kill -0 "$SB_NSPID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$SB_NSPID" 2>/dev/null && kill -KILL "$SB_NSPID"
    wait "$SB_NSPID" 2>/dev/null
  fi
  SB_NSPID=
  for d in "${SB_CGDIRS[@]}"; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null; done
  rmdir "/run/systemd/nspawn/propagate/$SB_NAME" 2>/dev/null
  [ -n "${SB_KEEP:-}" ] || rm -rf --one-file-system "$SB_ROOT" "$SB_WORK/$SB_NAME.console.log"
  return 0
}

# serve: for tests/systemd.rs. Builds and boots a sandbox, prints
#   SANDBOX <leader pid> <root dir>
# on stdout, then keeps it up until stdin closes, and tears it down.
# Exit status 77 when the sandbox cannot be built here (no root, tools that
# cannot be installed, no Debian mirror), so the caller can skip.
if [ "${BASH_SOURCE[0]}" = "$0" ] && [ "${1:-}" = serve ]; then
  [ "$(id -u)" = 0 ] || { echo "SKIP not root"; exit 77; }
  if ! sandbox_up >&2; then
    echo "SKIP could not build the root file system (systemd-nspawn/debootstrap missing and not installable, or no route to the Debian mirror ${SB_MIRROR:-<none found>}); see $SB_WORK/debootstrap.log"
    exit 77
  fi
  sandbox_boot >&2 || { echo "FAIL the sandbox did not boot; console log: $SB_WORK/$SB_NAME.console.log"; exit 1; }
  echo "SANDBOX $SB_LEADER $SB_ROOT"
  cat >/dev/null   # until the test closes our stdin (also when it panics)
  exit 0
fi

if [ "${BASH_SOURCE[0]}" = "$0" ] && [ "${1:-}" = selftest ]; then
  set -e
  sandbox_up
  cat >"$SB_ROOT/etc/systemd/system/demo.service" <<'UNIT'
[Service]
Type=notify
NotifyAccess=all
ExecStart=/bin/sh -c 'sleep 1; systemd-notify --ready; exec sleep infinity'
DynamicUser=yes
StateDirectory=demo
UNIT
  sandbox_boot
  sb systemctl start demo.service
  [ "$(sb systemctl show -P ActiveState demo.service)" = active ]
  sb systemctl stop demo.service
  echo "systemd-sandbox: selftest passed"
fi
