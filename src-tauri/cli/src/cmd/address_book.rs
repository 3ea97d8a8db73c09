//! `postdesk address-book DOMAIN`: the company address book of a domain.

use postdesk_contract::api::*;
use postdesk_contract::{Backend, Result};

use crate::output::{Table, print_list};

/// `postdesk address-book DOMAIN`
pub async fn run(b: &dyn Backend, domain: &str, json: bool) -> Result<()> {
    // Every page, a department that continues on the next page joined up.
    let mut book = b.list_address_book(ListAddressBook { domain: domain.into(), ..Default::default() }).await?;
    while let Some(after) = book.next.take() {
        let page = b
            .list_address_book(ListAddressBook { domain: domain.into(), after: Some(after), ..Default::default() })
            .await?;
        for d in page.departments {
            match book.departments.last_mut() {
                Some(last) if last.department == d.department => last.entries.extend(d.entries),
                _ => book.departments.push(d),
            }
        }
        (book.shown, book.hidden, book.next) = (page.shown, page.hidden, page.next);
    }
    let mut t = Table::new(&["DEPARTMENT", "NAME", "ADDRESS"]);
    for d in &book.departments {
        for e in &d.entries {
            t.row(vec![d.department.clone().unwrap_or_default(), e.display_name.clone(), e.address.clone()]);
        }
    }
    print_list(json, &book, t, None)?;
    if !json {
        println!("({} shown, {} hidden by the address_book setting)", book.shown, book.hidden);
    }
    Ok(())
}
