//! Big domains stay fast (issue 20, item 7), on both backends: a filtered account listing
//! counts at most 10,000 past its page and says so (`total_capped`) instead of reading the
//! whole domain, counts exactly when asked (`exact_total`), and finds the same accounts
//! whichever way it reads them — through the trigram index for a query of three or more
//! characters, through the domain in order for a shorter or broad one.

use postdesk_contract::api::*;
use postdesk_contract::model::*;
use postdesk_tests::{Harness, contract, list_accounts};

contract!(a_broad_filter_counts_to_a_floor_and_an_exact_count_on_request, the_trigram_index_follows_every_change);

const D: &str = "example.com";
/// More accounts than a count goes before it stops.
const N: usize = 10_120;

fn query(q: &str) -> ListAccounts {
    ListAccounts { query: Some(q.into()), ..list_accounts(D) }
}

fn addresses(l: &Listing<Account>) -> Vec<&str> {
    l.items.iter().map(|a| a.address.as_str()).collect()
}

/// `m00000@example.com` … `m10119@example.com`, named "Member 0" …
async fn world(h: &Harness) {
    h.domain(D, N as u32 + 100).await;
    for chunk in (0..N).collect::<Vec<_>>().chunks(2_000) {
        let accounts = chunk
            .iter()
            .map(|i| CreateAccount {
                address: format!("m{i:05}@{D}"),
                display_name: Some(format!("Member {i}")),
                ..Default::default()
            })
            .collect();
        h.owner.create_accounts(CreateAccounts { domain: D.into(), accounts }).await.unwrap();
    }
}

async fn a_broad_filter_counts_to_a_floor_and_an_exact_count_on_request(h: Harness) {
    world(&h).await;
    let n = N as u32;

    // Unfiltered: the count is kept as accounts come and go, exact.
    let all = h.owner.list_accounts(list_accounts(D)).await.unwrap();
    assert_eq!((all.total, all.total_capped), (n, false));

    // A query every account matches — long enough for trigrams ("example") or not ("ex") —
    // and a status filter: each counts 10,000 and says there are more; the page is right.
    for p in [query("example"), query("ex"), ListAccounts { status: Some(AccountStatus::Active), ..list_accounts(D) }] {
        let page = h.owner.list_accounts(p.clone()).await.unwrap();
        assert_eq!((page.total, page.total_capped), (10_000, true), "{p:?}");
        assert_eq!(page.total_words(), "more than 10000");
        assert_eq!(addresses(&page)[..2], [format!("m00000@{D}"), format!("m00001@{D}")], "{p:?}");

        // Deeper in, the floor moves with the page: 10,000 past offset 5,000 is past the end.
        let deep =
            h.owner.list_accounts(ListAccounts { offset: Some(5_000), limit: Some(3), ..p.clone() }).await.unwrap();
        assert_eq!((deep.total, deep.total_capped), (n, false), "{p:?}");
        assert_eq!(addresses(&deep), [format!("m05000@{D}"), format!("m05001@{D}"), format!("m05002@{D}")]);

        // Asked for, the count is exact from the first page.
        let exact = h.owner.list_accounts(ListAccounts { exact_total: Some(true), limit: Some(1), ..p }).await.unwrap();
        assert_eq!((exact.total, exact.total_capped), (n, false));
    }

    // A narrow query: its few accounts, counted exactly, in the order asked for.
    let page = h.owner.list_accounts(query("m0123")).await.unwrap();
    assert_eq!((page.total, page.total_capped), (10, false));
    assert_eq!(addresses(&page).first(), Some(&format!("m01230@{D}").as_str()));
    let p = ListAccounts { descending: Some(true), sort: Some(AccountSort::DisplayName), ..query("ber 1011") };
    let page = h.owner.list_accounts(p).await.unwrap();
    let names: Vec<&str> = page.items.iter().map(|a| a.display_name.as_str()).collect();
    // "Member 1011" and "Member 10110" … "Member 10119".
    assert_eq!((page.total, names.len()), (11, 11), "{names:?}");
    assert_eq!(names[..3], ["Member 10119", "Member 10118", "Member 10117"]);
    assert_eq!(names[10], "Member 1011");
}

async fn the_trigram_index_follows_every_change(h: Harness) {
    h.domain(D, 100).await;
    let create = |address: &str, name: &str| CreateAccount {
        address: address.into(),
        display_name: Some(name.into()),
        ..Default::default()
    };
    let accounts = vec![create(&format!("ann@{D}"), "Ann Lee"), create(&format!("bob@{D}"), "Bob Stone")];
    h.owner.create_accounts(CreateAccounts { domain: D.into(), accounts }).await.unwrap();
    let found = |q: &'static str| {
        let owner = &h.owner;
        async move {
            let page = owner.list_accounts(query(q)).await.unwrap();
            addresses(&page).into_iter().map(String::from).collect::<Vec<_>>()
        }
    };
    assert_eq!(found("stone").await, [format!("bob@{D}")]);

    // Renamed: found by the new name only.
    let upd =
        UpdateAccount { address: format!("bob@{D}"), display_name: Some("Bob Rivers".into()), ..Default::default() };
    h.owner.update_account(upd).await.unwrap();
    assert_eq!(found("stone").await, Vec::<String>::new());
    assert_eq!(found("rivers").await, [format!("bob@{D}")]);

    // Created one at a time: found at once.
    h.owner.create_account(create(&format!("cat@{D}"), "Cat Stone")).await.unwrap();
    assert_eq!(found("stone").await, [format!("cat@{D}")]);

    // Deleted: gone from the listing (and, asked for deleted ones, there).
    h.owner.remove_account(RemoveAccount { address: format!("cat@{D}") }).await.unwrap();
    assert_eq!(found("stone").await, Vec::<String>::new());
    let deleted = ListAccounts { status: Some(AccountStatus::Deleted), ..query("stone") };
    assert_eq!(addresses(&h.owner.list_accounts(deleted).await.unwrap()), [format!("cat@{D}")]);
    // A quote is a character, not query syntax.
    assert_eq!(found("\"ee").await, Vec::<String>::new());
    assert_eq!(found("n Lee").await, [format!("ann@{D}")]);
    // Texts the index cannot take read the domain instead, and answer like any other: a NUL
    // (FTS5's parser stops at it) and a very long text.
    assert_eq!(found("nn\0Lee").await, Vec::<String>::new());
    let long: &'static str = Box::leak(format!("{}Lee", "x".repeat(300)).into_boxed_str());
    assert_eq!(found(long).await, Vec::<String>::new());
    assert_eq!(found(&long[298..]).await, Vec::<String>::new(), "\"xxLee\" is nobody");
}
