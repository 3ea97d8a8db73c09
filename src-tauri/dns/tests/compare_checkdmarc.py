#!/usr/bin/env python3
"""Compare postdesk-dns with checkdmarc on the fixture zone (tests/zones/test.zone).

Not part of the CI test run. Needs: knotd (Debian package `knot`), checkdmarc
(`pip install checkdmarc`), and cargo (to build the `dns_check` example), or
`--ours PATH` to an already built `dns_check`/`postdesk` binary that takes
`dns check`-style arguments.

Both tools ask the same loopback knotd. Network safety: every name lookup that
does not go through the loopback DNS server (checkdmarc fetches the MTA-STS policy
over HTTPS, resolving its host through the system resolver) is refused in-process,
so nothing leaves the machine.

Usage: python3 src-tauri/dns/tests/compare_checkdmarc.py [--ours PATH] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CRATE = HERE.parent
ZONE = HERE / "zones" / "test.zone"

# Fixture domains and what each is meant to show.
DOMAINS = {
    "good.test": "everything right",
    "nullmx.test": "null MX",
    "nullmixed.test": "null MX mixed with a real MX",
    "implicit.test": "no MX, A record only",
    "nomail.test": "nothing published",
    "mxliteral.test": "MX target is an IP literal",
    "mxcname.test": "MX target is a CNAME",
    "mxdangling.test": "MX target does not resolve",
    "spf-multi.test": "two SPF records",
    "spf-split.test": "SPF split inside a term over two strings",
    "spf-badip.test": "ip4 with a bad address",
    "spf-badcidr.test": "ip4 with /33",
    "spf-unknown.test": "unknown mechanism ipv4:",
    "spf-qualifier.test": "bad qualifier !all",
    "spf-baddomain.test": "include:nodot",
    "spf-badterm.test": "include without a domain",
    "spf-dupmod.test": "redirect= twice",
    "spf-unknownmod.test": "include=... (modifier typo)",
    "spf-toomany.test": "12 DNS lookups",
    "spf-void.test": "3 void lookups",
    "spf-loop.test": "include loop",
    "spf-incmissing.test": "include of a name without SPF",
    "spf-redirmissing.test": "redirect to a name without SPF",
    "spf-plusall.test": "+all",
    "spf-neutralall.test": "?all",
    "spf-softall.test": "~all",
    "spf-noall.test": "no all",
    "spf-ptr.test": "ptr mechanism",
    "spf-afterall.test": "mechanism after all",
    "spf-redirignored.test": "redirect with all",
    "spf-macro.test": "exists with %{i} macro",
    "spf-auth.test": "a/mx/include authorisations",
    "spf-redirect.test": "redirect to a valid policy",
    "dkim.test": "DKIM selectors (our --dkim-selector)",
    "sub.inherit.test": "DMARC from the organisational domain",
    "dmarc-multi.test": "two DMARC records",
    "dmarc-syntax.test": "v= not first",
    "dmarc-nop.test": "no p=",
    "dmarc-values.test": "p=always",
    "dmarc-unknown.test": "unknown tag rfu=",
    "dmarc-none.test": "p=none",
    "dmarc-pct.test": "pct=25",
    "dmarc-uri.test": "rua without mailto:",
    "dmarc-norua.test": "no rua",
    "dmarc-ext.test": "external rua without authorisation",
    "sts-bad.test": "bad MTA-STS and TLS-RPT records",
}


def free_port() -> int:
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise SystemExit("no free port")


def start_knot(tmp: Path) -> tuple[subprocess.Popen, int]:
    knotd = os.environ.get("KNOTD") or shutil.which("knotd") or "/usr/sbin/knotd"
    if not Path(knotd).exists():
        raise SystemExit("knotd not found: apt-get install -y knot")
    port = free_port()
    (tmp / "db").mkdir()
    conf = tmp / "knot.conf"
    conf.write_text(
        f"""server:
    rundir: "{tmp}"
    listen: 127.0.0.1@{port}
database:
    storage: "{tmp}/db"
log:
  - target: stderr
    any: warning
template:
  - id: default
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
zone:
  - domain: "test."
    file: "{ZONE}"
"""
    )
    proc = subprocess.Popen([knotd, "-c", str(conf)], stderr=subprocess.DEVNULL)
    import dns.message
    import dns.query

    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            q = dns.message.make_query("test.", "SOA")
            r = dns.query.udp(q, "127.0.0.1", port=port, timeout=0.3)
            if r.answer:
                return proc, port
        except Exception:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("knotd did not start")


def block_non_loopback_lookups() -> None:
    """Refuse host-name resolution outside the loopback DNS server (see module doc)."""
    real = socket.getaddrinfo

    def guarded(host, *args, **kwargs):
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in str(host) else socket.AF_INET, str(host))
            literal = True
        except OSError:
            literal = False
        if literal and (str(host).startswith("127.") or str(host) == "::1"):
            return real(host, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, f"blocked by compare script: {host}")

    socket.getaddrinfo = guarded


def run_ours(binary: list[str], port: int, domains: list[str]) -> dict[str, dict]:
    # dkim.test uses explicit selectors; the rest are probed. Run dkim.test separately.
    probed = [d for d in domains if d != "dkim.test"]
    out = {}
    res = subprocess.run(binary + ["--resolver", f"127.0.0.1:{port}", "--json"] + probed,
                         capture_output=True, text=True)
    if res.returncode not in (0, 1):
        raise SystemExit(f"ours failed ({res.returncode}): {res.stderr}")
    for r in json.loads(res.stdout):
        out[r["domain"]] = r
    sels = ["good", "ed", "multi", "syntax", "revoked", "dsa", "invalid", "weak", "short",
            "testmode", "sha1"]
    cmd = binary + ["--resolver", f"127.0.0.1:{port}", "--json"]
    for s in sels:
        cmd += ["--dkim-selector", s]
    res = subprocess.run(cmd + ["dkim.test"], capture_output=True, text=True)
    for r in json.loads(res.stdout):
        out[r["domain"]] = r
    return out


def run_checkdmarc(port: int, domains: list[str]) -> dict[str, dict]:
    import checkdmarc
    from dns.nameserver import Do53Nameserver

    block_non_loopback_lookups()
    results = checkdmarc.check_domains(
        domains,
        nameservers=[Do53Nameserver("127.0.0.1", port)],
        timeout=1.0,
        retries=0,
    )
    if isinstance(results, dict):
        results = [results]
    return {r["domain"]: r for r in results}


def codes(check: dict) -> list[str]:
    return [f["code"] for f in check.get("findings", []) if f["severity"] != "info"]


def cd_state(section: dict | None) -> str:
    if not section:
        return "-"
    if section.get("error") or section.get("valid") is False:
        return "invalid"
    warnings = [w for w in section.get("warnings", []) if "reverse DNS" not in w]
    return "warn" if warnings else "valid"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", help="dns_check binary (default: cargo run --example dns_check)")
    ap.add_argument("--json", action="store_true", help="dump both raw outputs as JSON")
    args = ap.parse_args()

    if args.ours:
        ours_cmd = [args.ours]
    else:
        subprocess.run(["cargo", "build", "-q", "-p", "postdesk-dns", "--example", "dns_check"],
                       cwd=CRATE, check=True)
        target = os.environ.get("CARGO_TARGET_DIR") or str(CRATE.parent.parent / "target")
        ours_cmd = [str(Path(target) / "debug" / "examples" / "dns_check")]

    domains = list(DOMAINS)
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start_knot(Path(tmp))
        try:
            ours = run_ours(ours_cmd, port, domains)
            theirs = run_checkdmarc(port, domains)
        finally:
            proc.kill()
            proc.wait()

    if args.json:
        print(json.dumps({"ours": ours, "checkdmarc": theirs}, indent=2))
        return 0

    agree = disagree = 0
    rows = []
    for d in domains:
        o, t = ours[d]["checks"], theirs.get(d, {})
        spf_o, spf_t = o["spf"], t.get("spf", {})
        dm_o, dm_t = o["dmarc"], t.get("dmarc", {})
        mx_o = o["mx"]
        notes = []
        # SPF validity: our fail <=> checkdmarc invalid.
        o_bad, t_bad = spf_o["status"] == "fail", cd_state(spf_t) == "invalid"
        spf_same = o_bad == t_bad
        counts_same = (spf_o["lookups"], spf_o["void_lookups"]) == (
            spf_t.get("dns_lookups"), spf_t.get("void_dns_lookups"))
        o_dbad, t_dbad = dm_o["status"] == "fail", cd_state(dm_t) == "invalid"
        dmarc_same = o_dbad == t_dbad
        for name, same in (("spf", spf_same), ("dmarc", dmarc_same)):
            agree += same
            disagree += not same
            if not same:
                notes.append(f"{name} differs")
        if not counts_same and spf_t.get("dns_lookups") is not None:
            notes.append("spf counts differ")
        rows.append((
            d,
            f"{spf_o['status']}/{spf_o['lookups']}/{spf_o['void_lookups']}",
            f"{cd_state(spf_t)}/{spf_t.get('dns_lookups', '-')}/{spf_t.get('void_dns_lookups', '-')}",
            dm_o["status"], cd_state(dm_t), mx_o["status"], cd_state(t.get("mx")),
            "; ".join(notes) or "agree",
            ",".join(codes(spf_o) + codes(dm_o) + codes(mx_o) + codes(o["dkim"])),
            (spf_t.get("error") or "") + (" | " if spf_t.get("error") and dm_t.get("error") else "")
            + (dm_t.get("error") or ""),
            "; ".join(w for w in spf_t.get("warnings", []) + dm_t.get("warnings", [])),
        ))

    print(f"{'domain':24} {'spf ours':14} {'spf cd':16} {'dmarc':>6}/{'cd':8} {'mx':>5}/{'cd':8} verdict")
    for r in rows:
        print(f"{r[0]:24} {r[1]:14} {r[2]:16} {r[3]:>6}/{r[4]:8} {r[5]:>5}/{r[6]:8} {r[7]}")
    print()
    print("Details (our non-info codes | checkdmarc errors | checkdmarc warnings):")
    for r in rows:
        print(f"  {r[0]}: {r[8] or '-'} | {r[9] or '-'} | {r[10] or '-'}")
    print()
    print(f"SPF/DMARC validity verdicts: {agree} agree, {disagree} disagree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
