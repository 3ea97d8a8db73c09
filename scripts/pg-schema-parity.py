#!/usr/bin/env python3
"""Checks that a PostgreSQL database migrated with src-tauri/store/migrations-postgres has the
schema the SQLite migrations (src-tauri/store/migrations/*.sql) build.

    scripts/pg-schema-parity.py DSN [--migrations DIR]

Builds the SQLite schema in memory (every migration applied in file-name order with Python's
sqlite3), asks PostgreSQL (`psql DSN`) about the same, and prints every difference:
  - tables missing or extra;
  - per table, its columns in order: name, type class (integer/text/blob/real, or boolean for
    the columns in BOOLEAN), NOT NULL, DEFAULT (present and value), rowid alias vs identity;
  - primary keys, UNIQUE constraints (COLLATE NOCASE -> lower(col)), foreign keys
    (columns, referenced table and columns, ON DELETE), number of CHECK constraints;
  - indexes by name: unique, partial, key columns (NOCASE -> lower(col)); the PostgreSQL-only
    indexes (FTS5 replacements, short substrings, NOCASE uniques) against PG_ONLY_INDEXES;
  - triggers by name: table, timing, event, UPDATE OF columns, WHEN present;
  - on PostgreSQL, every integer column BIGINT and every text column COLLATE "C".
Excluded on SQLite: sqlite_* tables, _sqlx_migrations, the FTS5 tables (account_search,
alias_search, group_search), their shadow tables and the triggers that maintain them.
Exits 1 when there is a difference, 0 otherwise. Python 3.11 standard library and psql only.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

# Columns that are INTEGER 0/1 on SQLite and BOOLEAN on PostgreSQL (the list at the top of
# migrations-postgres/20261214000000_schema.sql).
BOOLEAN = {
    ("accounts", "force_password_change"),
    ("accounts", "security_questions_set"),
    ("domains", "large_attachments"),
    ("domains", "catch_all_enabled"),
    ("dkim_keys", "active"),
    ("outbound_recipients", "delay_notified"),
    ("outbound_recipients", "bounce_now"),
    ("outbound_relays", "verify_certificate"),
    ("shared_mailboxes", "verify_certificate"),
    ("shared_folders", "fetch"),
    ("sign_in_policy", "require_two_factor"),
    ("auto_replies", "enabled"),
    ("account_forwards", "keep_copy"),
}

# SQLite rowid aliases (INTEGER PRIMARY KEY) that are foreign keys to accounts(id): a plain
# BIGINT PRIMARY KEY on PostgreSQL, not an identity (the schema's DIFFERENCE 2).
NOT_IDENTITY = {
    ("account_phones", "account_id"),
    ("phone_codes", "account_id"),
    ("account_forwards", "account_id"),
    ("auto_replies", "account_id"),
    ("shared_default_mailboxes", "account_id"),
}

# Tables PostgreSQL has and SQLite has not: the nodes' sealed secrets (one node on SQLite
# keeps its secrets in its data folder).
PG_ONLY_TABLES = {"sealed_secrets"}

# Indexes PostgreSQL has and SQLite has not: name -> (table, access method, unique, key columns).
PG_ONLY_INDEXES = {
    # In place of the FTS5 trigram tables.
    "accounts_address_trgm": ("accounts", "gin", False, ("address",)),
    "accounts_display_name_trgm": ("accounts", "gin", False, ("lower(display_name)",)),
    "aliases_address_trgm": ("aliases", "gin", False, ("address",)),
    "aliases_description_trgm": ("aliases", "gin", False, ("lower(description)",)),
    "mail_groups_address_trgm": ("mail_groups", "gin", False, ("address",)),
    "mail_groups_name_trgm": ("mail_groups", "gin", False, ("lower(name)",)),
    # Substring filters of one or two characters (migration 20261214000002).
    "accounts_short_grams": (
        "accounts", "gin", False, ("postdesk_short_grams(VARIADIC ARRAY[lower(address), lower(display_name)])",),
    ),
    "aliases_short_grams": (
        "aliases", "gin", False, ("postdesk_short_grams(VARIADIC ARRAY[lower(address), lower(description)])",),
    ),
    "mail_groups_short_grams": (
        "mail_groups", "gin", False, ("postdesk_short_grams(VARIADIC ARRAY[lower(address), lower(name)])",),
    ),
    # The department sort's reads, department by department.
    "accounts_department_address": ("accounts", "btree", False, ("department_id", "address", "status", "domain_id")),
    # SQLite's UNIQUE constraints over a NOCASE column (checked as UNIQUE sets too).
    "smtp_rules_name_nocase": ("smtp_rules", "btree", True, ("lower(name)",)),
    "workflow_groups_domain_name_nocase": ("workflow_groups", "btree", True, ("domain_id", "lower(name)")),
}

FTS_TABLES_NOTE = "FTS5 virtual tables, their shadow tables and triggers are not compared"

FS, RS = "\x1f", "\x1e"


# ---- SQLite ------------------------------------------------------------------------------


def affinity(declared: str) -> str:
    """SQLite's type affinity of a declared type (https://sqlite.org/datatype3.html 3.1)."""
    t = (declared or "").upper()
    if "INT" in t:
        return "integer"
    if "CHAR" in t or "CLOB" in t or "TEXT" in t:
        return "text"
    if "BLOB" in t or t == "":
        return "blob"
    if "REAL" in t or "FLOA" in t or "DOUB" in t:
        return "real"
    return "numeric"


def strip_comments(sql: str) -> str:
    sql = re.sub(r"--[^\n]*", "", sql)
    return re.sub(r"/\*.*?\*/", "", sql, flags=re.S)


def sqlite_schema(migrations: Path) -> dict:
    files = sorted(migrations.glob("*.sql"))
    if not files:
        sys.exit(f"no migrations in {migrations}")
    db = sqlite3.connect(":memory:")
    for f in files:
        db.executescript(f.read_text())
    master = db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    virtual = {n for t, n, _, s in master if t == "table" and s and s.upper().startswith("CREATE VIRTUAL TABLE")}

    def excluded_table(name: str) -> bool:
        return (
            name.startswith("sqlite_")
            or name == "_sqlx_migrations"
            or name in virtual
            or any(name.startswith(v + "_") for v in virtual)
        )

    tables = {}
    for typ, name, _, sql in master:
        if typ != "table" or excluded_table(name):
            continue
        without_rowid = bool(re.search(r"WITHOUT\s+ROWID\s*$", sql.strip(), re.I))
        info = db.execute(f"PRAGMA table_info('{name}')").fetchall()
        pk_cols = [r[1] for r in sorted((r for r in info if r[5] > 0), key=lambda r: r[5])]
        rowid_alias = (
            pk_cols[0]
            if len(pk_cols) == 1 and not without_rowid and next(r[2] for r in info if r[1] == pk_cols[0]).upper() == "INTEGER"
            else None
        )
        cols = []
        for cid, col, declared, notnull, dflt, pk in info:
            cls = affinity(declared)
            if (name, col) in BOOLEAN:
                if cls != "integer":
                    cls = f"boolean?(sqlite {cls})"
                else:
                    cls = "boolean"
            effective_notnull = bool(notnull) or (pk > 0 and (without_rowid or col == rowid_alias))
            default = normalise_default(dflt, cls)
            cols.append(
                {
                    "name": col,
                    "class": cls,
                    "notnull": effective_notnull,
                    "default": default,
                    "identity": col == rowid_alias and (name, col) not in NOT_IDENTITY,
                }
            )
        # Column collations (NOCASE) as declared, for UNIQUE constraints over them.
        uniques, indexes = set(), {}
        for _, iname, unique, origin, partial in db.execute(f"PRAGMA index_list('{name}')").fetchall():
            keys = []
            for row in db.execute(f"PRAGMA index_xinfo('{iname}')").fetchall():
                _, cid, cname, _, coll, key = row
                if not key:
                    continue
                if cid == -2:
                    keys.append("<expression>")
                elif coll and coll.upper() == "NOCASE":
                    keys.append(f"lower({cname})")
                else:
                    keys.append(cname)
            if origin == "u":
                uniques.add(tuple(keys))
            elif origin == "c":
                indexes[iname] = {"unique": bool(unique), "partial": bool(partial), "keys": tuple(keys), "method": "btree"}
        fks = {}
        for row in db.execute(f"PRAGMA foreign_key_list('{name}')").fetchall():
            fid, seq, ref, frm, to, _on_update, on_delete, _match = row
            fks.setdefault(fid, []).append((seq, frm, ref, to, on_delete))
        foreign = set()
        for parts in fks.values():
            parts.sort()
            ref = parts[0][2]
            to = [p[3] for p in parts]
            if any(t is None for t in to):  # REFERENCES t without columns: its primary key
                to = [r[1] for r in sorted((r for r in db.execute(f"PRAGMA table_info('{ref}')") if r[5] > 0), key=lambda r: r[5])]
            foreign.add((tuple(p[1] for p in parts), ref, tuple(to), parts[0][4].upper()))
        checks = len(re.findall(r"\bCHECK\s*\(", strip_comments(sql), re.I))
        tables[name] = {
            "columns": cols,
            "pk": tuple(pk_cols),
            "uniques": uniques,
            "indexes": indexes,
            "foreign": foreign,
            "checks": checks,
        }

    triggers = {}
    for typ, name, tbl, sql in master:
        if typ != "trigger" or excluded_table(tbl):
            continue
        body = strip_comments(sql)
        if any(re.search(rf"\b{re.escape(v)}\b", body) for v in virtual):
            continue  # maintains an FTS5 table
        m = re.match(
            r"\s*CREATE\s+TRIGGER\s+(?:IF\s+NOT\s+EXISTS\s+)?\S+\s+(BEFORE|AFTER|INSTEAD\s+OF)?\s*"
            r"(INSERT|DELETE|UPDATE(?:\s+OF\s+(.+?))?)\s+ON\s+(\S+)(.*?)\bBEGIN\b",
            body,
            re.I | re.S,
        )
        if not m:
            triggers[name] = {"table": tbl, "unparsed": True}
            continue
        timing = (m.group(1) or "BEFORE").upper()
        event = m.group(2).split()[0].upper()
        of = tuple(c.strip() for c in m.group(3).split(",")) if m.group(3) else ()
        triggers[name] = {
            "table": m.group(4).strip('"'),
            "timing": timing,
            "event": event,
            "of": tuple(sorted(of)),
            "when": bool(re.search(r"\bWHEN\b", m.group(5), re.I)),
            "row": True,
        }
    return {"tables": tables, "triggers": triggers}


def normalise_default(value: str | None, cls: str) -> str | None:
    """A default as comparable text: '0', "''", "'log'", 'false'..."""
    if value is None:
        return None
    v = value.strip()
    # PostgreSQL casts of constants: ''::text, 'log'::text, 0::bigint, (-1)::bigint
    v = re.sub(r"::(text|bigint|integer|boolean|bytea|double precision|character varying)$", "", v)
    if v.startswith("(") and v.endswith(")"):
        v = v[1:-1]
    if cls == "boolean":
        v = {"0": "false", "1": "true", "FALSE": "false", "TRUE": "true"}.get(v, v.lower())
    return v


# ---- PostgreSQL --------------------------------------------------------------------------


def psql(dsn: str, query: str) -> list[list[str]]:
    out = subprocess.run(
        ["psql", dsn, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-F", FS, "-R", RS, "-c", query],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        sys.exit(f"psql failed: {out.stderr.strip()}")
    text = out.stdout.rstrip("\n")
    return [r.split(FS) for r in text.split(RS) if r.strip("\n") != ""] if text else []


PG_CLASS = {"bigint": "integer", "text": "text", "bytea": "blob", "double precision": "real", "boolean": "boolean"}


def pg_schema(dsn: str) -> dict:
    tables: dict[str, dict] = {}
    for (name,) in psql(
        dsn,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
        "AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations' ORDER BY 1",
    ):
        tables[name] = {"columns": [], "pk": (), "uniques": set(), "indexes": {}, "foreign": set(), "checks": 0}
    for t, col, typ, nullable, default, identity, collation in psql(
        dsn,
        "SELECT table_name, column_name, data_type, is_nullable, coalesce(column_default, '\x02'), is_identity, "
        "coalesce(collation_name, '') FROM information_schema.columns WHERE table_schema = current_schema() "
        "ORDER BY table_name, ordinal_position",
    ):
        if t not in tables:
            continue
        cls = PG_CLASS.get(typ, f"other({typ})")
        tables[t]["columns"].append(
            {
                "name": col,
                "class": cls,
                "notnull": nullable == "NO",
                "default": None if default == "\x02" else normalise_default(default, cls),
                "identity": identity == "YES",
                "collation": collation,
            }
        )
    # Indexes with their key columns as PostgreSQL prints them (lower(name) for expressions).
    constraint_index = {}
    for t, iname, unique, partial, method, keys, constraint in psql(
        dsn,
        """SELECT t.relname, c.relname, i.indisunique, i.indpred IS NOT NULL, am.amname,
                  (SELECT string_agg(pg_get_indexdef(i.indexrelid, k, true), E'\\x1d' ORDER BY k)
                     FROM generate_series(1, i.indnkeyatts) k),
                  coalesce((SELECT contype::text FROM pg_constraint WHERE conindid = i.indexrelid
                            AND contype IN ('p', 'u', 'x')), '')
           FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
           JOIN pg_am am ON am.oid = c.relam JOIN pg_namespace n ON n.oid = t.relnamespace
           WHERE n.nspname = current_schema() ORDER BY 1, 2""",
    ):
        if t not in tables:
            continue
        key_cols = tuple(k.strip('"') for k in keys.split("\x1d"))
        if constraint == "p":
            tables[t]["pk"] = key_cols
        elif constraint == "u":
            tables[t]["uniques"].add(key_cols)
        elif constraint:
            constraint_index[iname] = t
        else:
            tables[t]["indexes"][iname] = {
                "unique": unique == "t",
                "partial": partial == "t",
                "keys": key_cols,
                "method": method,
            }
    for t, cols, ref, refcols, deltype in psql(
        dsn,
        """SELECT cl.relname,
                  (SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM unnest(c.conkey) WITH ORDINALITY k(att, n)
                     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.att),
                  rf.relname,
                  (SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM unnest(c.confkey) WITH ORDINALITY k(att, n)
                     JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.att),
                  c.confdeltype
           FROM pg_constraint c JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_class rf ON rf.oid = c.confrelid
           JOIN pg_namespace n ON n.oid = cl.relnamespace
           WHERE c.contype = 'f' AND n.nspname = current_schema()""",
    ):
        if t in tables:
            action = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}[deltype]
            tables[t]["foreign"].add((tuple(cols.split(",")), ref, tuple(refcols.split(",")), action))
    for t, n in psql(
        dsn,
        """SELECT cl.relname, count(*) FROM pg_constraint c JOIN pg_class cl ON cl.oid = c.conrelid
           JOIN pg_namespace n ON n.oid = cl.relnamespace
           WHERE c.contype = 'c' AND n.nspname = current_schema() GROUP BY 1""",
    ):
        if t in tables:
            tables[t]["checks"] = int(n)

    triggers = {}
    for name, t, tgtype, of, has_when in psql(
        dsn,
        """SELECT tg.tgname, cl.relname, tg.tgtype,
                  coalesce((SELECT string_agg(a.attname, ',' ORDER BY a.attname) FROM pg_attribute a
                            WHERE a.attrelid = tg.tgrelid AND a.attnum = ANY (tg.tgattr)), ''),
                  tg.tgqual IS NOT NULL
           FROM pg_trigger tg JOIN pg_class cl ON cl.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
           WHERE NOT tg.tgisinternal AND n.nspname = current_schema()""",
    ):
        bits = int(tgtype)
        events = [e for b, e in ((4, "INSERT"), (8, "DELETE"), (16, "UPDATE"), (32, "TRUNCATE")) if bits & b]
        triggers[name] = {
            "table": t,
            "timing": "INSTEAD OF" if bits & 64 else ("BEFORE" if bits & 2 else "AFTER"),
            "event": "/".join(events),
            "of": tuple(sorted(of.split(","))) if of else (),
            "when": has_when == "t",
            "row": bool(bits & 1),
        }
    return {"tables": tables, "triggers": triggers}


# ---- comparison --------------------------------------------------------------------------


def compare(lite: dict, pg: dict) -> list[str]:
    diffs: list[str] = []
    lt, pt = lite["tables"], pg["tables"]
    for t in sorted(set(lt) - set(pt)):
        diffs.append(f"missing table: {t}")
    for t in sorted(set(pt) - set(lt) - PG_ONLY_TABLES):
        diffs.append(f"extra table on PostgreSQL: {t}")
    for t in sorted(PG_ONLY_TABLES - set(pt)):
        diffs.append(f"missing PostgreSQL-only table: {t}")
    for t in sorted(set(lt) & set(pt)):
        a, b = lt[t], pt[t]
        acols, bcols = [c["name"] for c in a["columns"]], [c["name"] for c in b["columns"]]
        for c in acols:
            if c not in bcols:
                diffs.append(f"{t}: missing column {c}")
        for c in bcols:
            if c not in acols:
                diffs.append(f"{t}: extra column {c}")
        common_a = [c for c in acols if c in bcols]
        common_b = [c for c in bcols if c in acols]
        if common_a != common_b:
            diffs.append(f"{t}: column order differs: SQLite {common_a} / PostgreSQL {common_b}")
        bmap = {c["name"]: c for c in b["columns"]}
        for ca in a["columns"]:
            cb = bmap.get(ca["name"])
            if cb is None:
                continue
            where = f"{t}.{ca['name']}"
            if ca["class"] != cb["class"]:
                diffs.append(f"{where}: type class SQLite {ca['class']} / PostgreSQL {cb['class']}")
            if ca["notnull"] != cb["notnull"]:
                diffs.append(f"{where}: NOT NULL SQLite {ca['notnull']} / PostgreSQL {cb['notnull']}")
            if ca["default"] != cb["default"]:
                diffs.append(f"{where}: DEFAULT SQLite {ca['default']!r} / PostgreSQL {cb['default']!r}")
            if ca["identity"] != cb["identity"]:
                diffs.append(f"{where}: identity (rowid alias) SQLite {ca['identity']} / PostgreSQL {cb['identity']}")
            if cb["class"] == "text" and cb["collation"] != "C":
                diffs.append(f'{where}: PostgreSQL text column not COLLATE "C" ({cb["collation"] or "default"})')
        if a["pk"] != b["pk"]:
            diffs.append(f"{t}: PRIMARY KEY SQLite {a['pk']} / PostgreSQL {b['pk']}")
        # UNIQUE: PostgreSQL's constraints plus its unique NOCASE expression indexes.
        b_uniques = set(b["uniques"]) | {
            spec[3] for n, spec in PG_ONLY_INDEXES.items() if spec[0] == t and spec[2] and n in b["indexes"]
        }
        for u in sorted(a["uniques"] - b_uniques):
            diffs.append(f"{t}: missing UNIQUE {u}")
        for u in sorted(b_uniques - a["uniques"]):
            diffs.append(f"{t}: extra UNIQUE {u}")
        for f in sorted(a["foreign"] - b["foreign"]):
            diffs.append(f"{t}: missing FOREIGN KEY {f[0]} -> {f[1]}{f[2]} ON DELETE {f[3]}")
        for f in sorted(b["foreign"] - a["foreign"]):
            diffs.append(f"{t}: extra FOREIGN KEY {f[0]} -> {f[1]}{f[2]} ON DELETE {f[3]}")
        if a["checks"] != b["checks"]:
            diffs.append(f"{t}: CHECK constraints SQLite {a['checks']} / PostgreSQL {b['checks']}")
        for name, ia in sorted(a["indexes"].items()):
            ib = b["indexes"].get(name)
            if ib is None:
                diffs.append(f"{t}: missing index {name}")
                continue
            for k in ("unique", "partial", "keys", "method"):
                if ia[k] != ib[k]:
                    diffs.append(f"index {name}: {k} SQLite {ia[k]} / PostgreSQL {ib[k]}")
        for name, ib in sorted(b["indexes"].items()):
            if name in a["indexes"]:
                continue
            spec = PG_ONLY_INDEXES.get(name)
            if spec is None:
                diffs.append(f"{t}: extra index {name} {ib['keys']}")
            elif (spec[0], spec[1], spec[2], spec[3]) != (t, ib["method"], ib["unique"], ib["keys"]):
                diffs.append(f"index {name}: expected {spec}, PostgreSQL has ({t}, {ib['method']}, {ib['unique']}, {ib['keys']})")
    for name, spec in sorted(PG_ONLY_INDEXES.items()):
        if spec[0] in pt and name not in pt[spec[0]]["indexes"]:
            diffs.append(f"{spec[0]}: missing PostgreSQL-only index {name}")

    lg, pgt = lite["triggers"], pg["triggers"]
    for name in sorted(set(lg) - set(pgt)):
        diffs.append(f"missing trigger: {name} (on {lg[name]['table']})")
    for name in sorted(set(pgt) - set(lg)):
        diffs.append(f"extra trigger on PostgreSQL: {name} (on {pgt[name]['table']})")
    for name in sorted(set(lg) & set(pgt)):
        a, b = lg[name], pgt[name]
        if a.get("unparsed"):
            diffs.append(f"trigger {name}: cannot parse its SQLite definition")
            continue
        for k in ("table", "timing", "event", "of", "when", "row"):
            if a[k] != b[k]:
                diffs.append(f"trigger {name}: {k} SQLite {a[k]} / PostgreSQL {b[k]}")
    return diffs


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dsn", help="PostgreSQL connection string for psql")
    parser.add_argument("--migrations", type=Path, default=root / "src-tauri/store/migrations")
    args = parser.parse_args()
    lite = sqlite_schema(args.migrations)
    pg = pg_schema(args.dsn)
    diffs = compare(lite, pg)
    for d in diffs:
        print(d)
    tables = lite["tables"]
    summary = (
        f"{len(tables)} tables, {sum(len(t['columns']) for t in tables.values())} columns, "
        f"{sum(len(t['indexes']) for t in tables.values())} indexes (+{len(PG_ONLY_INDEXES)} PostgreSQL-only), "
        f"{sum(len(t['foreign']) for t in tables.values())} foreign keys, {len(lite['triggers'])} triggers, "
        f"{len(BOOLEAN)} boolean columns; {FTS_TABLES_NOTE}"
    )
    if diffs:
        print(f"{len(diffs)} difference(s) ({summary})")
        return 1
    print(f"OK: no difference ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
