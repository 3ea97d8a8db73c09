// A real authoritative DNS server for the browser tests: Knot DNS (`knotd`, Debian package
// `knot`) serving zones given as text on 127.0.0.1 at a free port, like the Rust DNS tests'
// `dns/tests/support/knot.rs`. `setZone` rewrites a zone and reloads it through `knotc`.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { Resolver } from "node:dns/promises";
import { createSocket } from "node:dgram";
import { tmpdir } from "node:os";
import { join } from "node:path";

function sbin(name) {
  for (const dir of ["/usr/sbin", "/usr/local/sbin", "/sbin", ...(process.env.PATH ?? "").split(":")]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  throw new Error(`${name} (Knot DNS) is not installed: apt-get install -y knot`);
}

/** A loopback port free for both UDP and TCP. */
async function freePort() {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise((ok, fail) => {
      const s = createServer();
      s.once("error", fail);
      s.listen(0, "127.0.0.1", () => {
        const { port } = s.address();
        s.close(() => ok(port));
      });
    });
    const free = await new Promise((ok) => {
      const u = createSocket("udp4");
      u.once("error", () => ok(false));
      u.bind(port, "127.0.0.1", () => u.close(() => ok(true)));
    });
    if (free) return port;
  }
  throw new Error("no free loopback port for knotd");
}

/** A zone file: SOA (with `serial`) and NS, then `records` (lines relative to the origin). */
function zoneText(origin, serial, records) {
  return [
    `$ORIGIN ${origin}.`,
    "$TTL 60",
    `@ SOA ns.${origin}. hostmaster.${origin}. ${serial} 3600 600 86400 60`,
    `@ NS ns.${origin}.`,
    "ns A 127.0.0.1",
    ...records,
    "",
  ].join("\n");
}

/**
 * Starts knotd serving `zones` ({ origin: [record lines] }); resolves once every zone answers.
 * Returns { address: "127.0.0.1:port", setZone(origin, records), stop() }.
 */
export async function startKnot(zones) {
  const knotd = sbin("knotd");
  const knotc = sbin("knotc");
  const dir = mkdtempSync(join(tmpdir(), "postdesk-knot-"));
  mkdirSync(join(dir, "db"));
  const port = await freePort();
  const serials = {};
  const zoneFile = (origin) => join(dir, `${origin}.zone`);
  let conf =
    `server:\n    rundir: "${dir}"\n    listen: 127.0.0.1@${port}\n    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n` +
    `control:\n    listen: "${dir}/knot.sock"\n` +
    `database:\n    storage: "${dir}/db"\n` +
    "log:\n  - target: stderr\n    any: warning\n" +
    "template:\n  - id: default\n    zonefile-sync: -1\n    zonefile-load: whole\n    journal-content: none\n    semantic-checks: off\n" +
    "zone:\n";
  for (const [origin, records] of Object.entries(zones)) {
    serials[origin] = 1;
    writeFileSync(zoneFile(origin), zoneText(origin, 1, records));
    conf += `  - domain: "${origin}"\n    file: "${zoneFile(origin)}"\n`;
  }
  const confPath = join(dir, "knot.conf");
  writeFileSync(confPath, conf);
  let log = "";
  const child = spawn(knotd, ["-c", confPath], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));

  const resolver = new Resolver({ timeout: 300, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  /** Waits until `origin` answers with SOA serial `serial`. */
  async function served(origin, serial) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`knotd exited (${child.exitCode}):\n${log}`);
      try {
        if ((await resolver.resolveSoa(origin)).serial === serial) return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`knotd does not serve ${origin} serial ${serial}:\n${log}`);
      await new Promise((ok) => setTimeout(ok, 50));
    }
  }
  for (const origin of Object.keys(zones)) await served(origin, 1);

  return {
    address: `127.0.0.1:${port}`,
    /** Replaces a zone's records and waits until knotd serves the new version. */
    async setZone(origin, records) {
      serials[origin] += 1;
      writeFileSync(zoneFile(origin), zoneText(origin, serials[origin], records));
      const r = spawnSync(knotc, ["-c", confPath, "zone-reload", origin], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`knotc zone-reload ${origin}: ${r.stdout}${r.stderr}\n${readFileSync(zoneFile(origin), "utf8")}`);
      await served(origin, serials[origin]);
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((ok) => child.once("exit", ok));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
