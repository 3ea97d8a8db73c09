//! The company address book of a domain (`list_address_book`): the active and locked
//! accounts whose effective `address_book` setting is on, by department path, name and
//! address, a cursor page at a time.
//!
//! Ranking the book reads every account of the domain and sorts the visible ones, O(domain).
//! The ranked book is kept (per engine, a few domains) while nothing changed: a page is then a
//! binary search to the cursor, a search a pass over names already in lower case. It is made
//! again once a newer audit entry is committed (every change to accounts, departments and
//! settings writes one in its own transaction, whichever process makes it: the newest entry's
//! id, read just before the book, tells whether the book is still the data's), and
//! at the latest `BOOK_TTL` after it was made.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::departments::Tree;
use super::sql::{self, Conn};
use super::{EngineBackend, domain_id};
use crate::api::ListAddressBook;
use crate::error::{Error, Result};
use crate::model::Page;
use crate::validate;
use postdesk_contract::settings::{AddressBook, AddressBookDepartment, AddressBookEntry, ResolvedSettings};

/// Where an address-book entry sorts: department path (lower case, top level first), name
/// (lower case), address. Its JSON is the page cursor.
type EntryKey = (Option<String>, String, String);

/// Longest address-book search text.
const MAX_ADDRESS_BOOK_QUERY: usize = 200;

/// How long a ranked book is used at most, whatever the change counter says.
const BOOK_TTL: Duration = Duration::from_secs(30);

/// How many domains' ranked books an engine keeps (each is about 150 bytes an account).
const MAX_BOOKS: usize = 4;

/// A department as the book needs it: whether its accounts show (its own value or the nearest
/// above it), its path in lower case (the order) and as written.
struct Department {
    visible: bool,
    lower: String,
    path: String,
}

/// One visible entry: its department (shared by all its entries), its name and address in
/// lower case (the order, and searches), the entry.
struct Ranked {
    department: Option<Arc<Department>>,
    name: String,
    address: String,
    entry: AddressBookEntry,
}

impl Ranked {
    /// Where it sorts: department path (top level first), name, address — an `EntryKey`.
    fn key(&self) -> (Option<&str>, &str, &str) {
        (self.department.as_ref().map(|d| d.lower.as_str()), &self.name, &self.entry.address)
    }
}

/// A domain's address book, ranked.
struct RankedBook {
    domain: i64,
    /// The newest audit entry when it was read.
    generation: i64,
    made: Instant,
    /// Active or locked accounts the setting hides.
    hidden: u32,
    /// The visible entries in key order.
    entries: Vec<Ranked>,
}

/// The engine's ranked books, newest first.
#[derive(Default)]
pub(crate) struct BookCache {
    books: Mutex<Vec<Arc<RankedBook>>>,
}

impl std::fmt::Debug for BookCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let books = self.books.lock().unwrap_or_else(|e| e.into_inner());
        f.debug_struct("BookCache").field("domains", &books.iter().map(|b| b.domain).collect::<Vec<_>>()).finish()
    }
}

impl BookCache {
    fn get(&self, domain: i64, generation: i64) -> Option<Arc<RankedBook>> {
        let books = self.books.lock().unwrap_or_else(|e| e.into_inner());
        books.iter().find(|b| b.domain == domain && b.generation == generation && b.made.elapsed() < BOOK_TTL).cloned()
    }

    fn put(&self, book: Arc<RankedBook>) {
        let mut books = self.books.lock().unwrap_or_else(|e| e.into_inner());
        books.retain(|b| b.domain != book.domain);
        books.insert(0, book);
        books.truncate(MAX_BOOKS);
    }
}

pub(crate) async fn list(b: &EngineBackend, p: ListAddressBook) -> Result<AddressBook> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::AddressBook, Some(&domain))?;
    let limit = postdesk_contract::model::page_limit(p.limit)?;
    let query = p.query.as_deref().map(str::trim).unwrap_or("").to_lowercase();
    if query.len() > MAX_ADDRESS_BOOK_QUERY {
        return Err(Error::validation(format!("the search text is longer than {MAX_ADDRESS_BOOK_QUERY} bytes"))
            .with_field("query"));
    }
    let after: Option<EntryKey> = p
        .after
        .as_deref()
        .map(|a| {
            serde_json::from_str(a).map_err(|_| {
                Error::validation(format!("'{a}' is not a cursor of the address book: pass a page's `next`"))
                    .with_field("after")
            })
        })
        .transpose()?;
    let mut conn = b.engine.read().await?;
    let did = domain_id(&mut conn, &domain).await?;
    // Read before the book: whatever the book then reads is at least this new, and a change
    // committed after this point has a newer entry, so the next caller ranks anew.
    let generation = sql::audit::last_id(&mut conn).await?;
    let book = match b.engine.address_books.get(did, generation) {
        Some(book) => book,
        None => {
            let book = Arc::new(rank(&mut conn, did, &domain, generation).await?);
            b.engine.address_books.put(book.clone());
            book
        }
    };
    drop(conn);

    // One pass: every match is counted (`shown` covers the whole book), the page is the
    // matches from the cursor on. The search text's finder is built once for all entries.
    let finder = memchr::memmem::Finder::new(query.as_bytes());
    let matches = |r: &Ranked| {
        query.is_empty() || finder.find(r.name.as_bytes()).is_some() || finder.find(r.address.as_bytes()).is_some()
    };
    let start = after.as_ref().map_or(0, |a| {
        let a = (a.0.as_deref(), a.1.as_str(), a.2.as_str());
        book.entries.partition_point(|r| r.key() <= a)
    });
    let (mut shown, mut page) = (0usize, Vec::new());
    if query.is_empty() {
        shown = book.entries.len();
        page.extend(book.entries[start..].iter().take(limit as usize + 1));
    } else {
        for (i, r) in book.entries.iter().enumerate() {
            if matches(r) {
                shown += 1;
                if i >= start && page.len() <= limit as usize {
                    page.push(r);
                }
            }
        }
    }
    let next = if page.len() > limit as usize {
        page.truncate(limit as usize);
        page.last().map(|r| serde_json::to_string(&r.key()).unwrap_or_default())
    } else {
        None
    };
    let mut departments: Vec<AddressBookDepartment> = Vec::new();
    for r in page {
        let path = r.department.as_ref().map(|d| d.path.as_str());
        match departments.last_mut() {
            Some(last) if last.department.as_deref() == path => last.entries.push(r.entry.clone()),
            _ => departments
                .push(AddressBookDepartment { department: path.map(String::from), entries: vec![r.entry.clone()] }),
        }
    }
    Ok(AddressBook { domain, departments, shown: shown as u32, hidden: book.hidden, next })
}

/// Reads the domain's accounts and the `address_book` values in force, and ranks the visible.
async fn rank(conn: &mut Conn, did: i64, domain: &str, generation: i64) -> Result<RankedBook> {
    let made = Instant::now();
    let tree = Tree::load(conn, did, domain).await?;
    let parents: HashMap<i64, Option<i64>> = sql::settings::department_parents(conn, did).await?.into_iter().collect();
    // Only the one key matters here: its overrides for the whole domain, by scope and id.
    let mut own: HashMap<&'static str, HashMap<i64, bool>> = HashMap::new();
    for (scope, id, v) in sql::settings::address_book_overrides(conn, did).await? {
        let scope = match scope.as_str() {
            "domain" => "domain",
            "department" => "department",
            "account" => "account",
            _ => continue,
        };
        if let Ok(v) = serde_json::from_str::<bool>(&v) {
            own.entry(scope).or_default().insert(id, v);
        }
    }
    let value = |scope: &str, id: i64| own.get(scope).and_then(|m| m.get(&id)).copied();
    let default = value("domain", did).unwrap_or_else(|| ResolvedSettings::default().address_book);
    // Each department's value (its own, or the nearest above it) and path, worked out once.
    let mut departments: HashMap<i64, Arc<Department>> = HashMap::new();
    let mut department = |id: i64| -> Arc<Department> {
        if let Some(d) = departments.get(&id) {
            return d.clone();
        }
        let mut cursor = Some(id);
        let mut found = None;
        while let Some(c) = cursor {
            if let Some(v) = value("department", c) {
                found = Some(v);
                break;
            }
            cursor = parents.get(&c).copied().flatten();
        }
        let path = tree.path(id);
        let d = Arc::new(Department { visible: found.unwrap_or(default), lower: path.to_lowercase(), path });
        departments.insert(id, d.clone());
        d
    };
    let mut entries = Vec::new();
    let mut hidden = 0;
    for (id, address, display_name, dept) in sql::settings::address_book_accounts(conn, did).await? {
        let department = dept.map(&mut department);
        let visible = value("account", id).unwrap_or(department.as_ref().map_or(default, |d| d.visible));
        if !visible {
            hidden += 1;
            continue;
        }
        let (name, lower) = (display_name.to_lowercase(), address.to_lowercase());
        entries.push(Ranked { department, name, address: lower, entry: AddressBookEntry { address, display_name } });
    }
    // Keys are unique (the address is): an unstable sort gives the one order, faster.
    entries.sort_unstable_by(|a, b| a.key().cmp(&b.key()));
    Ok(RankedBook { domain: did, generation, made, hidden, entries })
}
