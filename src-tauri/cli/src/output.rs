//! Text and JSON output.

use postdesk_contract::settings::BatchOutcome;
use postdesk_contract::{Error, Result};
use serde::Serialize;
use serde_json::Value;

/// A plain text table with aligned columns.
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        Table { rows: vec![header.iter().map(|h| h.to_string()).collect()] }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Prints the table on stdout.
    pub fn print(&self) {
        print!("{}", self.render());
    }

    fn render(&self) -> String {
        let widths: Vec<usize> = (0..self.rows[0].len())
            .map(|i| self.rows.iter().map(|r| r.get(i).map_or(0, |c| c.chars().count())).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for row in &self.rows {
            let line: Vec<String> =
                row.iter().enumerate().map(|(i, c)| format!("{c:<width$}", width = widths[i])).collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
        }
        out
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string_pretty(value).map_err(|e| Error::internal(e.to_string()))
}

/// Prints a list: JSON, or the table (with a paging line when `page` is given).
pub fn print_list<T: Serialize>(json: bool, value: &T, table: Table, page: Option<(u32, usize, String)>) -> Result<()> {
    if json {
        println!("{}", to_json(value)?);
        return Ok(());
    }
    print!("{}", table.render());
    if let Some((offset, shown, total)) = page {
        let first = if shown == 0 { offset } else { offset + 1 };
        println!("({first}–{} of {total})", offset as usize + shown);
    }
    Ok(())
}

/// Prints one object: JSON, or `key: value` lines.
pub fn print_one<T: Serialize>(json: bool, value: &T) -> Result<()> {
    if json {
        println!("{}", to_json(value)?);
        return Ok(());
    }
    let value = serde_json::to_value(value).map_err(|e| Error::internal(e.to_string()))?;
    let mut lines = Vec::new();
    flatten("", &value, &mut lines);
    for (k, v) in lines {
        println!("{k}: {v}");
    }
    Ok(())
}

fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&key, v, out);
            }
        }
        Value::Array(items) => {
            let parts: Vec<String> =
                items.iter().map(|i| i.as_str().map_or_else(|| i.to_string(), String::from)).collect();
            out.push((prefix.to_string(), parts.join(", ")));
        }
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        Value::Null => out.push((prefix.to_string(), "-".into())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

/// Prints the outcome of a batch: JSON, or "batch N: message".
pub fn print_outcome(json: bool, out: &BatchOutcome) -> Result<()> {
    if json {
        return print_one(true, out);
    }
    match &out.batch {
        Some(b) => println!("batch {}: {}", b.id, out.message),
        None => println!("{}", out.message),
    }
    Ok(())
}

/// Every item of a cursor-paged list: asks `fetch` for page after page (each with the largest
/// page size) until the backend says none follows. A backend whose cursor does not move is
/// an error, never an endless loop.
pub async fn every_page<T, F, Fut>(fetch: F) -> postdesk_contract::Result<Vec<T>>
where
    F: FnMut(Option<String>, u32) -> Fut,
    Fut: std::future::Future<Output = postdesk_contract::Result<postdesk_contract::model::CursorPage<T>>>,
{
    Ok(pages_upto(None, fetch).await?.0)
}

/// The first `cap` items of a cursor-paged list (all of them when `cap` is `None`), and whether
/// more follow: asks `fetch` for page after page, never more than `cap` items in all.
pub async fn pages_upto<T, F, Fut>(cap: Option<u32>, mut fetch: F) -> postdesk_contract::Result<(Vec<T>, bool)>
where
    F: FnMut(Option<String>, u32) -> Fut,
    Fut: std::future::Future<Output = postdesk_contract::Result<postdesk_contract::model::CursorPage<T>>>,
{
    if cap == Some(0) {
        return Err(postdesk_contract::Error::validation("--limit must be at least 1").with_field("limit"));
    }
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let left = cap.map_or(u32::MAX, |c| c.saturating_sub(all.len() as u32));
        let page = fetch(after.clone(), left.min(postdesk_contract::model::MAX_PAGE)).await?;
        all.extend(page.items);
        match page.next {
            None => return Ok((all, false)),
            Some(_) if cap.is_some_and(|c| all.len() as u32 >= c) => return Ok((all, true)),
            Some(next) if Some(&next) == after.as_ref() => {
                return Err(postdesk_contract::Error::internal(format!("the backend's list did not move past {next}")));
            }
            next => after = next,
        }
    }
}
