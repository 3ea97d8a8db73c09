# Sourced (bash) by imaptest-vs-dovecot.sh and src-tauri/pop3/bench/retr-vs-dovecot.sh: starts
# the two servers side by side on loopback, each with one user (BENCH_USER / BENCH_PASS) and
# implicit TLS with an ECDSA P-256 self-signed certificate (Postdesk makes its own; Dovecot
# gets one from openssl of the same kind, so a TLS handshake costs the same on both):
#
#   start_postdesk   release `postdesk serve` on a fresh data folder under $WORK
#                    -> PD_PID, PD_IMAPS, PD_POP3S (ports)
#   start_dovecot    a private Dovecot 2.3 (`dovecot -F -c $WORK/dovecot/dovecot.conf`):
#                    passwd-file with the same user and password, Maildir under $WORK
#                    -> DC_PID, DC_IMAPS, DC_POP3S (ports), DC_MAILDIR
#   stop_postdesk, stop_dovecot, stop_servers (both; the caller's EXIT trap calls it, then
#                    removes $WORK)
#
# Dovecot keeps its defaults otherwise (login processes in high-security mode, one imap/pop3
# process per connection, mail_fsync=optimized), except mail_max_userip_connections, raised so
# that every benchmark client may be logged in as the one user at once.
#
# Needs: WORK (an empty temp dir), ROOT (the repository), BENCH_USER, BENCH_PASS; root (Dovecot
# drops to the users dovecot/dovenull for its own processes and to nobody for the mail).

PD_PID="" DC_PID=""
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
PD_BIN=${POSTDESK_BIN:-$TARGET/release/postdesk}

bench_need_root() {
  [ "$(id -u)" -eq 0 ] || { echo "$0: run as root (a private Dovecot is started)" >&2; exit 2; }
  command -v dovecot >/dev/null || { echo "$0: needs dovecot-core (+ dovecot-imapd, dovecot-pop3d)" >&2; exit 2; }
}

build_postdesk() {
  if [ -z "${POSTDESK_BIN:-}" ]; then
    (cd "$ROOT" && CARGO_TARGET_DIR=$TARGET cargo build --release -q -p postdesk-cli) || exit 2
  fi
  [ -x "$PD_BIN" ] || { echo "$0: no postdesk binary at $PD_BIN" >&2; exit 2; }
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_postdesk() {
  local data=$WORK/postdesk any=127.0.0.1:0 i
  export POSTDESK_DATA_DIR=$data
  "$PD_BIN" domain add "${BENCH_USER#*@}" >/dev/null
  printf '%s\n' "$BENCH_PASS" | "$PD_BIN" accounts add "$BENCH_USER" --quota-mb 10240 --password-stdin >/dev/null
  "$PD_BIN" serve --listen $any --smtp-listen $any --submission-listen $any --smtps-listen $any \
    --imap-listen $any --imaps-listen $any --pop3-listen $any --pop3s-listen $any \
    >"$WORK/postdesk.log" 2>&1 &
  PD_PID=$!
  for i in $(seq 300); do grep -q "admin API listening" "$WORK/postdesk.log" && break; sleep 0.1; done
  PD_IMAPS=$(sed -n 's/^IMAP imaps listening on 127\.0\.0\.1://p' "$WORK/postdesk.log")
  PD_POP3S=$(sed -n 's/^POP3 pop3s listening on 127\.0\.0\.1://p' "$WORK/postdesk.log")
  if [ -z "$PD_IMAPS" ] || [ -z "$PD_POP3S" ]; then
    cat "$WORK/postdesk.log" >&2; echo "$0: postdesk serve did not start IMAP/POP3" >&2; exit 2
  fi
}

start_dovecot() {
  local d=$WORK/dovecot i
  mkdir -p "$d/home/$BENCH_USER/Maildir"/{cur,new,tmp}
  chown -R nobody:nogroup "$d/home"
  chmod 755 "$WORK" "$d"   # the login and auth processes (dovenull, dovecot) reach base_dir
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=localhost -keyout "$d/key.pem" -out "$d/cert.pem" 2>/dev/null
  # Dovecot checks the very Argon2id hash Postdesk stores (same parameters, so every login
  # costs both servers the same); BENCH_DOVECOT_PLAIN=1 gives it the plain password instead.
  local hash=""
  if [ -z "${BENCH_DOVECOT_PLAIN:-}" ] && [ -f "$WORK/postdesk/postdesk.db" ]; then
    hash=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT password_hash FROM accounts WHERE address=?", (sys.argv[2],)).fetchone()[0])' \
      "$WORK/postdesk/postdesk.db" "$BENCH_USER")
  fi
  if [ -n "$hash" ]; then
    printf '%s:{ARGON2ID}%s::::::\n' "$BENCH_USER" "$hash" >"$d/passwd"
  else
    printf '%s:{PLAIN}%s::::::\n' "$BENCH_USER" "$BENCH_PASS" >"$d/passwd"
  fi
  chmod 644 "$d/passwd"
  DC_IMAPS=$(free_port) DC_POP3S=$(free_port)
  cat >"$d/dovecot.conf" <<EOF
instance_name = postdesk-bench
protocols = imap pop3
listen = 127.0.0.1
base_dir = $d/run
state_dir = $d/state
log_path = $d/dovecot.log
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = 1
ssl = required
ssl_cert = <$d/cert.pem
ssl_key = <$d/key.pem
ssl_dh = </usr/share/dovecot/dh.pem
auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = username_format=%u $d/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$d/home/%u
}
mail_location = maildir:~/Maildir
protocol imap {
  mail_max_userip_connections = 1000
}
protocol pop3 {
  mail_max_userip_connections = 1000
}
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    port = $DC_IMAPS
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3s {
    port = $DC_POP3S
    ssl = yes
  }
}
EOF
  DC_MAILDIR=$d/home/$BENCH_USER/Maildir
  dovecot -F -c "$d/dovecot.conf" >"$WORK/dovecot.out" 2>&1 &
  DC_PID=$!
  for i in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$DC_POP3S") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$DC_IMAPS") 2>/dev/null && return 0
    kill -0 "$DC_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$WORK/dovecot.out" "$d/dovecot.log" >&2 2>/dev/null
  echo "$0: Dovecot did not start" >&2; exit 2
}

stop_postdesk() { [ -n "$PD_PID" ] && { kill "$PD_PID" 2>/dev/null; wait "$PD_PID" 2>/dev/null; }; PD_PID=""; }
stop_dovecot() { [ -n "$DC_PID" ] && { kill "$DC_PID" 2>/dev/null; wait "$DC_PID" 2>/dev/null; }; DC_PID=""; }
stop_servers() { stop_postdesk; stop_dovecot; }
