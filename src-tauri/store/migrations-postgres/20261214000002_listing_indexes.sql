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
-- Every column those reads need is in the index (an index-only scan): otherwise the planner
-- may prefer the address index and filter it, which reads the whole domain for a department
-- with no accounts.
CREATE INDEX accounts_department_address ON accounts(department_id, address, status, domain_id) INCLUDE (id);

-- Addresses are stored in ASCII lower case: filters compare them as they are (src/lib.rs
-- like_lowercase_column), which saves folding each of the tens of thousands of rows a broad
-- filter reads; their trigram indexes are on the column itself now.
DROP INDEX accounts_address_trgm;
CREATE INDEX accounts_address_trgm ON accounts USING gin (address gin_trgm_ops);
DROP INDEX aliases_address_trgm;
CREATE INDEX aliases_address_trgm ON aliases USING gin (address gin_trgm_ops);
DROP INDEX mail_groups_address_trgm;
CREATE INDEX mail_groups_address_trgm ON mail_groups USING gin (address gin_trgm_ops);

-- The statistics the listings' plans and the short-gram broadness check (src/search.rs) read,
-- for the new index expressions at once (autovacuum would take its time on a big table).
ANALYZE accounts;
ANALYZE aliases;
ANALYZE mail_groups;
