//! Substring filters over a domain's rows through an index: on SQLite a trigram index (FTS5,
//! `tokenize = 'trigram'`) narrows a filter of three or more characters to its candidate
//! rows; on PostgreSQL an index of short substrings narrows one of one or two (pg_trgm
//! serves longer ones in the listing itself). The listing still checks each candidate with
//! `LIKE`, so what a filter finds is the same with or without the index (`LIKE` decides).
//! Used by the accounts (`account_search`), aliases (`alias_search`) and mail groups
//! (`group_search`) listings.

use super::Conn;
use crate::Result;

/// A search that finds at most this many rows (in every domain) hands their ids to the
/// listing; when it finds more, the filter is broad and the listing reads the domain in its
/// order instead (a broad filter fills a page within its first rows).
pub const CANDIDATE_CAP: i64 = 10_000;

/// Longest search text that goes through the trigram index (longer ones read in order).
const MAX_SEARCH: usize = 200;

/// `query` as a `LIKE` pattern matching it anywhere, with `\` as the escape character.
pub fn contains_pattern(query: &str) -> String {
    format!("%{}%", query.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

/// `query` as an FTS5 phrase for a trigram index, when it is long enough for trigrams (3
/// characters); inside an FTS5 string only `"` means something (doubled, it is itself).
/// `None` too for a text the index cannot take or should not: one holding NUL (FTS5's query
/// parser stops there) or longer than `MAX_SEARCH` characters (a phrase of that many trigrams).
fn search_phrase(query: &str) -> Option<String> {
    let n = query.chars().count();
    ((3..=MAX_SEARCH).contains(&n) && !query.contains('\0')).then(|| format!("\"{}\"", query.replace('"', "\"\"")))
}

/// The ids (of every domain) of the rows of `index` whose text may hold `query` (trimmed,
/// not empty), as JSON, when an index names them and they are at most `CANDIDATE_CAP`;
/// `None` when no index serves the query or it finds more (a broad filter: reading the
/// domain in order fills a page as fast). Each candidate is still checked by the caller's
/// own `LIKE`: the indexes only narrow.
///
/// - SQLite: its FTS5 trigram tables, for 3 to `MAX_SEARCH` characters (they fold case
///   beyond ASCII, so they find a little more than `LIKE` keeps).
/// - PostgreSQL: its pg_trgm GIN indexes serve the listing's `lower(…) LIKE` directly from 3
///   characters on (no candidate step); a query of 1 or 2 characters, which no trigram
///   holds, asks the index of every 1- and 2-character substring (`postdesk_short_grams`),
///   unless the statistics already call it broad.
pub async fn candidates(conn: &mut Conn, index: SearchIndex, query: &str) -> Result<Option<String>> {
    super::on_db!(conn, conn => {
        let ids: Vec<i64> = if super::dialect(&*conn) == super::Dialect::Postgres {
            if query.chars().count() > 2 || query.contains('\0') {
                return Ok(None);
            }
            let (table, a, b) = index.columns();
            // A substring the planner's statistics of the index (its most common elements, as
            // of the last ANALYZE) put in more rows than CANDIDATE_CAP is broad: the index
            // would name them all before the listing reads the first page in order.
            let broad = format!(
                "SELECT coalesce(bool_or(m.f * c.reltuples > {CANDIDATE_CAP}), FALSE)
                 FROM pg_stats s
                 CROSS JOIN unnest(CAST(CAST(s.most_common_elems AS text) AS text[]), s.most_common_elem_freqs) AS m(e, f)
                 CROSS JOIN pg_class c
                 WHERE s.schemaname = current_schema() AND s.tablename = '{table}_short_grams'
                   AND c.oid = CAST('{table}' AS regclass) AND m.e = lower($1)"
            );
            if sqlx::query_scalar::<_, bool>(&broad).bind(query).fetch_one(&mut *conn).await? {
                return Ok(None);
            }
            let sql = format!(
                "SELECT id FROM {table} WHERE postdesk_short_grams(lower({a}), lower({b})) @> ARRAY[lower($1)] LIMIT $2"
            );
            sqlx::query_scalar(&sql).bind(query).bind(CANDIDATE_CAP + 1).persistent(false).fetch_all(&mut *conn).await?
        } else {
            let Some(phrase) = search_phrase(query) else {
                return Ok(None);
            };
            let sql = format!("SELECT rowid FROM {0} WHERE {0} MATCH $1 LIMIT $2", index.table());
            sqlx::query_scalar(&sql).bind(phrase).bind(CANDIDATE_CAP + 1).fetch_all(&mut *conn).await?
        };
        if ids.len() as i64 > CANDIDATE_CAP {
            return Ok(None);
        }
        Ok(Some(serde_json::to_string(&ids)?))
    })
}

/// The trigram indexes (a closed set: their names go into SQL text).
#[derive(Clone, Copy, Debug)]
pub enum SearchIndex {
    /// Accounts' address and display name.
    Accounts,
    /// Aliases' address and description.
    Aliases,
    /// Mail groups' address and name.
    Groups,
}

impl SearchIndex {
    /// The FTS5 table (SQLite).
    fn table(self) -> &'static str {
        match self {
            SearchIndex::Accounts => "account_search",
            SearchIndex::Aliases => "alias_search",
            SearchIndex::Groups => "group_search",
        }
    }

    /// The table and its two searched columns (PostgreSQL's short-gram indexes).
    fn columns(self) -> (&'static str, &'static str, &'static str) {
        match self {
            SearchIndex::Accounts => ("accounts", "address", "display_name"),
            SearchIndex::Aliases => ("aliases", "address", "description"),
            SearchIndex::Groups => ("mail_groups", "address", "name"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_and_phrases_take_the_text_literally() {
        assert_eq!(contains_pattern("a_b%c\\"), "%a\\_b\\%c\\\\%");
        assert_eq!(search_phrase("ab"), None);
        assert_eq!(search_phrase("say \"hi\""), Some("\"say \"\"hi\"\"\"".into()));
        assert_eq!(search_phrase("a\0bc"), None);
        assert_eq!(search_phrase(&"x".repeat(201)), None);
        assert!(search_phrase(&"é".repeat(200)).is_some());
    }
}
