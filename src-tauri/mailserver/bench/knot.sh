# Sourced by the mail server benches (wired.sh, rules.sh, outbound.sh, nodes.sh); needs WORK (a scratch folder).
# DNS: the bench sender's domain, answered at once by an authoritative knotd, and the
# empty parent `test.` so that other names (the HELO names bench.test and probe.test)
# get NXDOMAIN — cacheable, as from any real resolver — rather than REFUSED. Sets DNS_PORT
# and KNOT (knotd's pid, for the caller's clean-up).
DNS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$WORK/knot/db"
cat >"$WORK/knot/remote.zone" <<EOF
\$ORIGIN remote.test.
\$TTL 60
@ SOA ns admin 1 60 60 600 60
@ NS ns
ns A 127.0.0.1
@ A 127.0.0.1
@ TXT "v=spf1 ip4:127.0.0.0/8 -all"
EOF
printf '$ORIGIN test.\n$TTL 60\n@ SOA ns admin 1 60 60 600 60\n@ NS ns\nns A 127.0.0.1\n' >"$WORK/knot/test.zone"
cat >"$WORK/knot/knot.conf" <<EOF
server:
    rundir: "$WORK/knot"
    listen: 127.0.0.1@$DNS_PORT
database:
    storage: "$WORK/knot/db"
template:
  - id: default
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: remote.test.
    file: "$WORK/knot/remote.zone"
  - domain: test.
    file: "$WORK/knot/test.zone"
EOF
knotd -c "$WORK/knot/knot.conf" >"$WORK/knot.log" 2>&1 &
KNOT=$!
