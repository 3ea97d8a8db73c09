//! Substring filters over a domain's rows through a trigram index (FTS5, `tokenize =
//! 'trigram'`): the index narrows a filter of three or more characters to its candidate
//! rows, and the listing still checks each candidate with `LIKE`, so what a filter finds is
//! the same with or without the index (trigrams fold case beyond ASCII; `LIKE` decides).
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
pub fn search_phrase(query: &str) -> Option<String> {
    let n = query.chars().count();
    ((3..=MAX_SEARCH).contains(&n) && !query.contains('\0')).then(|| format!("\"{}\"", query.replace('"', "\"\"")))
}

/// The rowids (of every domain) whose indexed columns in the trigram index `index` may hold
/// `phrase` (from `search_phrase`), as JSON, when they are at most `CANDIDATE_CAP`; `None`
/// when there are more (a broad search: reading in order is then as fast). The index folds
/// case beyond ASCII, so the caller still checks each candidate its own way.
pub async fn candidates(conn: &mut Conn, index: SearchIndex, phrase: &str) -> Result<Option<String>> {
    super::on_db!(conn, conn => {
        // PostgreSQL's trigram indexes (pg_trgm, GIN on the lower-cased columns) serve the
        // listing's own `lower(…) LIKE` directly: no candidate step.
        if super::dialect(&*conn) == super::Dialect::Postgres {
            return Ok(None);
        }
        let sql = format!("SELECT rowid FROM {0} WHERE {0} MATCH $1 LIMIT $2", index.table());
        let ids: Vec<i64> = sqlx::query_scalar(&sql).bind(phrase).bind(CANDIDATE_CAP + 1).fetch_all(&mut *conn).await?;
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
    fn table(self) -> &'static str {
        match self {
            SearchIndex::Accounts => "account_search",
            SearchIndex::Aliases => "alias_search",
            SearchIndex::Groups => "group_search",
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
