#!/usr/bin/env bash
# Builds Dovecot's imaptest (the standard IMAP compliance and stress tester; MIT) on Debian 12
# against Debian's dovecot-dev 2.3.19, from the source tarball beside this script, and installs
# it into TARGET_DIR:  TARGET_DIR/imaptest (binary)  TARGET_DIR/tests/ (scripted tests).
#
#   build.sh TARGET_DIR
#
# The tarball is imaptest at commit 924f619 (the last that builds against Dovecot 2.3) with six
# later upstream fixes applied (see README.md). Debian's dovecot-dev security updates added a 4th
# argument to imap_parser_create(); a one-line edit adapts the 3 call sites when needed.
# Installs missing apt packages (without starting a system Dovecot). Idempotent. ~30 s on 2 cores.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TARGET=${1:?usage: build.sh TARGET_DIR}
mkdir -p "$TARGET"; TARGET=$(cd "$TARGET" && pwd)
TARBALL=$HERE/imaptest-924f619-patched.tar.gz
log() { echo "imaptest build: $*" >&2; }

if [ -x "$TARGET/imaptest" ] && [ -d "$TARGET/tests" ] && ! ldd "$TARGET/imaptest" | grep -q 'not found'; then
  log "up to date: $TARGET/imaptest"; exit 0
fi
# dovecot-core brings libdovecot.so, which dovecot-dev does not pull in on its own.
DEPS="patch build-essential autoconf automake libtool pkg-config dovecot-dev dovecot-core"
missing=""
for p in $DEPS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  policy_created=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then   # dovecot-core's postinst would start a Dovecot on 143/110
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null; $SUDO chmod 755 /usr/sbin/policy-rc.d; policy_created=1
  fi
  log "installing:$missing"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # shellcheck disable=SC2086
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  [ "$policy_created" = 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d
fi
CONFIG=/usr/lib/dovecot/dovecot-config
[ -r "$CONFIG" ] || { log "$CONFIG missing (dovecot-dev not installed?)"; exit 1; }
LIBDIR=$(sed -n 's/^dovecot_pkglibdir=//p' "$CONFIG" | tr -d '"'); LIBDIR=${LIBDIR:-/usr/lib/dovecot}
INCDIR=$(sed -n 's/^dovecot_pkgincludedir=//p' "$CONFIG" | tr -d '"'); INCDIR=${INCDIR:-/usr/include/dovecot}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/imaptest-build.XXXXXX"); trap 'rm -rf "$WORK"' EXIT
tar -xzf "$TARBALL" -C "$WORK"; cd "$WORK/imaptest"
if grep -q 'struct imap_parser_params' "$INCDIR/imap-parser.h"; then
  sed -i 's/imap_parser_create(\(.*\), NULL, (size_t)-1);/imap_parser_create(\1, NULL, (size_t)-1, \&(const struct imap_parser_params){ 0 });/' \
    src/commands.c src/test-parser.c src/imap-client.c
fi
autoreconf -i >"$WORK/log" 2>&1 || { tail -30 "$WORK/log" >&2; exit 1; }
./configure --with-dovecot="$LIBDIR" LDFLAGS="-Wl,-rpath,$LIBDIR" >"$WORK/log" 2>&1 || { tail -30 "$WORK/log" >&2; exit 1; }
make -j"$(nproc)" >"$WORK/log" 2>&1 || { tail -40 "$WORK/log" >&2; exit 1; }
rm -rf "$TARGET/tests"; cp -r src/tests "$TARGET/tests"
install -m 755 src/imaptest "$TARGET/imaptest"
log "built $TARGET/imaptest and $TARGET/tests/"
