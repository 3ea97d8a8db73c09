-- The few SQLite functions the engine's SQL uses, defined on PostgreSQL with SQLite's
-- meaning for the uses the engine makes of them, so one statement text serves both
-- databases (src/sql/mod.rs). Each is a plain SQL function over PostgreSQL's own.

-- json_each(text): the elements of a JSON array as text, in column `value` (the engine
-- binds lists as one JSON array; integer uses write CAST(value AS BIGINT)).
CREATE FUNCTION json_each(list text) RETURNS TABLE (value text)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT json_array_elements_text(list::json) $$;

-- json_quote(x): x as a JSON value's text ('"active"', '500').
CREATE FUNCTION json_quote(v anyelement) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT to_json(v)::text $$;

-- json_extract(json, '$'): the whole document as SQL text (the only path the engine asks).
CREATE FUNCTION json_extract(doc text, path text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN path = '$' THEN doc::json #>> '{}' END $$;

-- json_group_array(x): the group's values as a JSON array's text ('[]' for none).
CREATE FUNCTION json_group_array_final(items anycompatiblearray) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT coalesce(array_to_json(items)::text, '[]') $$;
CREATE AGGREGATE json_group_array(anycompatible) (
    SFUNC = array_append,
    STYPE = anycompatiblearray,
    INITCOND = '{}',
    FINALFUNC = json_group_array_final
);

-- instr(haystack, needle): the 1-based position of needle, 0 when absent.
CREATE FUNCTION instr(haystack text, needle text) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT strpos(haystack, needle)::bigint $$;

-- max(a, b) of two integers (SQLite's scalar max).
CREATE FUNCTION max(a bigint, b bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT greatest(a, b) $$;

