-- Two listings that read a whole domain at 1,000,000 accounts (docs/BENCHMARKS.md, issue 19).

-- Substring filters of one or two characters. A trigram needs three, so pg_trgm cannot serve
-- them: a filter like "zq" that finds little read every account of the domain (187 ms at a
-- million). postdesk_short_grams(…) is the set of every one- and two-character substring
-- of its texts, and a GIN index over it names the rows that hold such a filter (src/search.rs
-- asks it for candidates, as SQLite asks its FTS5 trigram tables; LIKE still decides).
CREATE FUNCTION postdesk_short_grams(VARIADIC texts text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN ARRAY(
        SELECT DISTINCT substr(t, i, n)
        FROM unnest(texts) AS t, generate_series(1, length(t)) AS i, (VALUES (1), (2)) AS g(n)
    );

CREATE INDEX accounts_short_grams ON accounts
    USING gin (postdesk_short_grams(lower(address), lower(display_name)));
CREATE INDEX aliases_short_grams ON aliases
    USING gin (postdesk_short_grams(lower(address), lower(description)));
CREATE INDEX mail_groups_short_grams ON mail_groups
    USING gin (postdesk_short_grams(lower(address), lower(name)));

-- The department sort (src/accounts.rs) reads each department's accounts in address order,
-- at most a page deep, instead of sorting the whole domain by path (311 ms at a million).
CREATE INDEX accounts_department_address ON accounts(department_id, address, status, domain_id);
