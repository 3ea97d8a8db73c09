//! Aliases and mail groups filtered on the server (issue 20, item 7), on both backends: a
//! query finds the aliases whose address or description holds it (any case, `%` and `_`
//! taken literally), or with a target starting with it; the groups whose address or name
//! holds it, or with a member starting with it. The same whether the query goes through the
//! trigram index (three characters or more) or reads the domain in order (shorter), page
//! by page, and after every change.

use postdesk_contract::api::*;
use postdesk_tests::{Harness, contract};

contract!(aliases_are_filtered_by_address_description_and_target, groups_are_filtered_by_address_name_and_member);

const D: &str = "example.com";

fn at(local: &str) -> String {
    format!("{local}@{D}")
}

async fn aliases(h: &Harness, query: &str) -> Vec<String> {
    let p = ListAliases { domain: D.into(), query: Some(query.into()), ..Default::default() };
    h.owner.list_aliases(p).await.unwrap().items.into_iter().map(|a| a.address).collect()
}

async fn groups(h: &Harness, query: &str) -> Vec<String> {
    let p = ListGroups { domain: D.into(), query: Some(query.into()), ..Default::default() };
    h.owner.list_groups(p).await.unwrap().items.into_iter().map(|g| g.address).collect()
}

async fn alias(h: &Harness, local: &str, targets: &[&str], description: &str) {
    let targets = targets.iter().map(|t| t.to_string()).collect();
    let p = CreateAlias { address: at(local), targets, description: Some(description.into()) };
    h.owner.create_alias(p).await.unwrap();
}

async fn aliases_are_filtered_by_address_description_and_target(h: Harness) {
    h.domain(D, 10).await;
    h.account(&at("ann"), None).await;
    h.account(&at("bob"), None).await;
    alias(&h, "sales", &[&at("ann")], "Sales Team (50% off)").await;
    alias(&h, "support", &[&at("bob"), "ext.partner@other.org"], "Help desk").await;
    alias(&h, "team-ann", &[&at("ann")], "").await;

    // Through the trigram index (three characters or more), any case.
    assert_eq!(aliases(&h, "sales").await, [at("sales")]);
    assert_eq!(aliases(&h, "DESK").await, [at("support")]);
    assert_eq!(aliases(&h, "team").await, [at("sales"), at("team-ann")], "description and address");
    // A target that starts with the query, found by the target index (any case).
    assert_eq!(aliases(&h, "EXT.partner").await, [at("support")]);
    assert_eq!(aliases(&h, "ann@").await, [at("sales"), at("team-ann")]);
    assert_eq!(aliases(&h, "partner@other.org").await, Vec::<String>::new(), "a target matches from its start only");
    // Shorter queries read the domain in order, with the same rules; % and _ are literal.
    assert_eq!(aliases(&h, "50").await, [at("sales")]);
    assert_eq!(aliases(&h, "%").await, [at("sales")]);
    assert_eq!(aliases(&h, "_").await, Vec::<String>::new());
    assert_eq!(aliases(&h, "zz").await, Vec::<String>::new());
    assert_eq!(aliases(&h, "AN").await, [at("sales"), at("team-ann")], "two letters: an address, a target's start");
    assert_eq!(aliases(&h, "(").await, [at("sales")], "one character of a description");
    assert_eq!(aliases(&h, "  ").await.len(), 3, "a blank query is no filter");

    // Page by page, the query kept.
    let first = ListAliases { domain: D.into(), query: Some("ann@".into()), limit: Some(1), ..Default::default() };
    let page = h.owner.list_aliases(first.clone()).await.unwrap();
    assert_eq!((page.items.len(), page.next.as_deref()), (1, Some(at("sales").as_str())));
    let rest = h.owner.list_aliases(ListAliases { after: page.next, limit: Some(10), ..first }).await.unwrap();
    assert_eq!(rest.items.iter().map(|a| a.address.as_str()).collect::<Vec<_>>(), [at("team-ann")]);
    assert_eq!(rest.next, None);

    // Every change is followed: a new description, new targets, a removal.
    let p = UpdateAlias {
        address: at("support"),
        description: Some("Front office".into()),
        targets: Some(vec![at("ann")]),
    };
    h.owner.update_alias(p).await.unwrap();
    assert_eq!(aliases(&h, "desk").await, Vec::<String>::new());
    assert_eq!(aliases(&h, "front").await, [at("support")]);
    assert_eq!(aliases(&h, "ext.partner").await, Vec::<String>::new());
    assert_eq!(aliases(&h, "ann@").await, [at("sales"), at("support"), at("team-ann")]);
    h.owner.remove_alias(RemoveAlias { address: at("sales") }).await.unwrap();
    assert_eq!(aliases(&h, "sales").await, Vec::<String>::new());
    assert_eq!(aliases(&h, "50%").await, Vec::<String>::new());
}

async fn groups_are_filtered_by_address_name_and_member(h: Harness) {
    h.domain(D, 10).await;
    h.account(&at("ann"), None).await;
    h.account(&at("bob"), None).await;
    for (local, name, members) in
        [("staff", "All Staff", vec![at("ann"), at("bob")]), ("board", "Board of directors", vec![at("bob")])]
    {
        let p = CreateGroup { address: at(local), name: name.into(), members: Some(members), ..Default::default() };
        h.owner.create_group(p).await.unwrap();
    }
    assert_eq!(groups(&h, "STAFF").await, [at("staff")]);
    assert_eq!(groups(&h, "directors").await, [at("board")]);
    assert_eq!(groups(&h, "bob@").await, [at("board"), at("staff")]);
    assert_eq!(groups(&h, "ann").await, [at("staff")], "a member from its start");
    assert_eq!(groups(&h, "of").await, [at("board")]);
    assert_eq!(groups(&h, "I").await, [at("board")], "one letter");
    assert_eq!(groups(&h, "zz").await, Vec::<String>::new());

    let p = UpdateGroup { address: at("board"), name: Some("Trustees".into()), ..Default::default() };
    h.owner.update_group(p).await.unwrap();
    assert_eq!(groups(&h, "directors").await, Vec::<String>::new());
    assert_eq!(groups(&h, "OF").await, Vec::<String>::new(), "two letters of the old name");
    assert_eq!(groups(&h, "ee").await, [at("board")], "two letters of the new one");
    assert_eq!(groups(&h, "trustee").await, [at("board")]);
    h.owner.remove_group_members(RemoveGroupMembers { address: at("staff"), members: vec![at("ann")] }).await.unwrap();
    assert_eq!(groups(&h, "ann").await, Vec::<String>::new());
}
