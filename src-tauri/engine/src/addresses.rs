//! The address namespace, distribution aliases, mail groups and address resolution.
//!
//! Every address of ours is registered once in `addresses`, so an address is exactly one
//! of account, account alias, alias or group. Aliases and groups form a graph (alias →
//! targets, group → members); a change that would close a cycle is refused with the
//! cycle spelled out.

use std::collections::{BTreeSet, HashSet, VecDeque};

use super::audit::{self, Change};
use super::{EngineBackend, domain_id, import};
use crate::api::*;
use crate::error::{Error, ErrorCode, Result, RowError};
use crate::model::*;
use crate::pickup::Pattern;
use crate::sql::addresses::{Listed, edges, kind_of};
use crate::sql::{self, Conn};
use crate::validate::{self, Address};
use crate::xlsx;

const MAX_TARGETS: usize = 1000;

/// Claims `address` for something of `kind`, or explains who has it.
pub(crate) async fn register(conn: &mut Conn, domain_id: i64, address: &str, kind: AddressKind) -> Result<()> {
    if let Some(existing) = kind_of(conn, address).await? {
        return Err(
            Error::conflict(format!("{address} is already used by {}", existing.describe())).with_field("address")
        );
    }
    sql::addresses::insert(conn, domain_id, address, kind).await
}

/// The first alias or group that still points at `address`, described for a message.
pub(crate) async fn referenced_by(conn: &mut Conn, address: &str) -> Result<Option<String>> {
    let alias = sql::addresses::alias_pointing_at(conn, address).await?;
    if let Some(alias) = alias {
        return Ok(Some(format!("alias {alias}")));
    }
    let group = sql::addresses::group_containing(conn, address).await?;
    Ok(group.map(|g| format!("mail group {g}")))
}

/// Refuses `subject → new_edges` if any path from them leads back to `subject`.
async fn refuse_loops(conn: &mut Conn, subject: &str, new_edges: &[String]) -> Result<()> {
    // Depth-first with the path kept, so the error can show the cycle.
    let mut stack: Vec<(String, Vec<String>)> =
        new_edges.iter().map(|t| (t.clone(), vec![subject.to_string(), t.clone()])).collect();
    let mut seen = HashSet::new();
    while let Some((node, path)) = stack.pop() {
        if node == subject {
            return Err(Error::conflict(format!("this would make a loop: {}", path.join(" → "))).with_field("targets"));
        }
        if !seen.insert(node.clone()) {
            continue;
        }
        for next in edges(conn, &node).await? {
            let mut p = path.clone();
            p.push(next.clone());
            stack.push((next, p));
        }
    }
    Ok(())
}

/// Checks one target/member address of `subject`: syntax, not `subject` itself, and a
/// local one exists (or is in `pending`, addresses an import is about to create) and is
/// within the caller's scope. Returns it canonical.
async fn check_target(
    b: &EngineBackend,
    conn: &mut Conn,
    field: &str,
    subject: &str,
    raw: &str,
    pending: &HashSet<String>,
) -> Result<String> {
    let addr = validate::address(raw).map_err(|e| Error { field: Some(field.into()), ..e })?;
    let full = addr.full();
    if full == subject {
        return Err(Error::conflict(format!("{subject} cannot point at itself")).with_field(field));
    }
    let ours = sql::domains::id_by_name(conn, &addr.domain).await?;
    if ours.is_some() {
        if !b.caller.covers_domain(&addr.domain) {
            return Err(Error::permission_denied(format!("{} may not manage domain {}", b.caller.name, addr.domain)));
        }
        if !pending.contains(&full) && kind_of(conn, &full).await?.is_none() {
            return Err(Error::not_found(format!(
                "{full} does not exist: {} is one of our domains, so it must be an account, alias or group",
                addr.domain
            ))
            .with_field(field));
        }
    }
    Ok(full)
}

/// Validates a list of target/member addresses ([`check_target`] each, duplicates
/// dropped). Returns canonical addresses in input order.
async fn check_targets(
    b: &EngineBackend,
    conn: &mut Conn,
    field: &str,
    subject: &str,
    list: &[String],
) -> Result<Vec<String>> {
    if list.len() > MAX_TARGETS {
        return Err(Error::validation(format!("at most {MAX_TARGETS} {field}")).with_field(field));
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for raw in list {
        let full = check_target(b, conn, field, subject, raw, &HashSet::new()).await?;
        if !out.contains(&full) {
            out.push(full);
        }
    }
    Ok(out)
}

fn authorised(b: &EngineBackend, page: Page, address: &str) -> Result<Address> {
    let addr = validate::address(address)?;
    b.caller.require(page, Some(&addr.domain))?;
    Ok(addr)
}

// ---- aliases -------------------------------------------------------------------------

async fn load_alias(conn: &mut Conn, address: &str) -> Result<(i64, Alias)> {
    let row = sql::addresses::alias(conn, address).await?;
    let Some((id, description)) = row else {
        return Err(Error::not_found(format!("alias {address} does not exist")).with_field("address"));
    };
    let targets = sql::addresses::targets(conn, id).await?;
    Ok((id, Alias { address: address.to_string(), targets, description }))
}

pub(crate) async fn list_aliases(b: &EngineBackend, p: ListAliases) -> Result<CursorPage<Alias>> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Aliases, Some(&domain))?;
    let limit = page_limit(p.limit)?;
    let mut conn = b.engine.read().await?;
    let did = domain_id(&mut conn, &domain).await?;
    // One more than the page, to know whether another follows.
    let mut addresses = sql::addresses::listed_addresses(
        &mut conn,
        Listed::Aliases,
        did,
        p.after.as_deref().unwrap_or(""),
        limit + 1,
        p.query.as_deref(),
    )
    .await?;
    let more = addresses.len() > limit as usize;
    addresses.truncate(limit as usize);
    let next = if more { addresses.last().cloned() } else { None };
    let mut items = Vec::with_capacity(addresses.len());
    for address in addresses {
        items.push(load_alias(&mut conn, &address).await?.1);
    }
    Ok(CursorPage { items, next })
}

pub(crate) async fn get_alias(b: &EngineBackend, p: GetAlias) -> Result<Alias> {
    let addr = authorised(b, Page::Aliases, &p.address)?;
    Ok(load_alias(&mut *b.engine.read().await?, &addr.full()).await?.1)
}

pub(crate) async fn create_alias(b: &EngineBackend, p: CreateAlias) -> Result<Alias> {
    let addr = authorised(b, Page::Aliases, &p.address)?;
    let address = addr.full();
    let description = validate::text("description", p.description.as_deref().unwrap_or(""), 500)?;
    if p.targets.is_empty() {
        return Err(Error::validation("an alias needs at least one target").with_field("targets"));
    }
    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &addr.domain).await?;
    let targets = check_targets(b, &mut tx, "targets", &address, &p.targets).await?;
    register(&mut tx, did, &address, AddressKind::Alias).await?;
    refuse_loops(&mut tx, &address, &targets).await?;
    let id = sql::addresses::insert_alias(&mut tx, did, &address, &description).await?;
    sql::addresses::set_targets(&mut tx, id, &targets).await?;
    let alias = load_alias(&mut tx, &address).await?.1;
    let change = Change { action: CreateAlias::NAME, domain: Some(&addr.domain), target: &address };
    audit::record::<(), _>(&mut tx, &b.caller.name, change, None, Some(&alias)).await?;
    tx.commit().await?;
    Ok(alias)
}

pub(crate) async fn update_alias(b: &EngineBackend, p: UpdateAlias) -> Result<Alias> {
    let addr = authorised(b, Page::Aliases, &p.address)?;
    let address = addr.full();
    let description = p.description.as_deref().map(|d| validate::text("description", d, 500)).transpose()?;
    let mut tx = b.engine.write().await?;
    let (id, before) = load_alias(&mut tx, &address).await?;
    if let Some(targets) = &p.targets {
        if targets.is_empty() {
            return Err(Error::validation("an alias needs at least one target").with_field("targets"));
        }
        let targets = check_targets(b, &mut tx, "targets", &address, targets).await?;
        // Check against the graph without this alias's old edges.
        sql::addresses::clear_targets(&mut tx, id).await?;
        refuse_loops(&mut tx, &address, &targets).await?;
        sql::addresses::set_targets(&mut tx, id, &targets).await?;
    }
    if let Some(description) = description {
        sql::addresses::set_description(&mut tx, id, description).await?;
    }
    let after = load_alias(&mut tx, &address).await?.1;
    let change = Change { action: UpdateAlias::NAME, domain: Some(&addr.domain), target: &address };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), Some(&after)).await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn remove_alias(b: &EngineBackend, p: RemoveAlias) -> Result<()> {
    let addr = authorised(b, Page::Aliases, &p.address)?;
    let address = addr.full();
    let mut tx = b.engine.write().await?;
    let (id, before) = load_alias(&mut tx, &address).await?;
    if let Some(user) = referenced_by(&mut tx, &address).await? {
        return Err(Error::conflict(format!("{address} is still used by {user}; remove it there first")));
    }
    sql::addresses::delete_alias(&mut tx, id).await?;
    sql::addresses::release(&mut tx, &address).await?;
    let change = Change { action: RemoveAlias::NAME, domain: Some(&addr.domain), target: &address };
    audit::record::<_, ()>(&mut tx, &b.caller.name, change, Some(&before), None).await?;
    tx.commit().await?;
    Ok(())
}

// ---- alias files (XLSX) -------------------------------------------------------------

/// One row of an aliases file, checked as far as it could be.
struct AliasLine {
    row: u32,
    address: Option<String>,
    targets: Vec<String>,
    description: Option<String>,
}

pub(crate) async fn import_aliases(b: &EngineBackend, p: ImportAliases) -> Result<ImportedRows> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Aliases, Some(&domain))?;
    let (file_name, rows) = import::read_upload(&p.file_name, &p.content_base64, xlsx::read_aliases).await?;
    let col = |i: usize| xlsx::ALIAS_COLUMNS[i].to_string();
    let mut errors: Vec<RowError> = Vec::new();
    macro_rules! error {
        ($row:expr, $column:expr, $message:expr) => {
            errors.push(RowError { row: $row, column: col($column), message: $message })
        };
    }
    // The message of a field check without its field name.
    let strip = |e: Error, field: &str| e.message.trim_start_matches(field).trim_start().to_string();
    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &domain).await?;
    // Pass 1: each row's own address and description; the file's addresses by row.
    let mut lines = Vec::with_capacity(rows.len());
    let mut in_file: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    for r in &rows {
        let address = match validate::address(&r.address) {
            Err(e) => {
                let shown = if r.address.trim().is_empty() { "is empty".to_string() } else { e.message };
                error!(r.row, 0, shown);
                None
            }
            Ok(a) if a.domain != domain => {
                error!(r.row, 0, format!("{} is not in {domain}, the domain this file is imported into", a.full()));
                None
            }
            Ok(a) => {
                let full = a.full();
                if let Some(first) = in_file.get(&full) {
                    error!(r.row, 0, format!("{full} is already in row {first} of this file"));
                    None
                } else if let Some(kind) = kind_of(&mut tx, &full).await? {
                    error!(r.row, 0, format!("{full} is already used by {}", kind.describe()));
                    None
                } else {
                    in_file.insert(full.clone(), r.row);
                    Some(full)
                }
            }
        };
        let description = match validate::text("description", &r.description, 500) {
            Err(e) => {
                error!(r.row, 2, strip(e, "description"));
                None
            }
            Ok(d) => Some(d),
        };
        lines.push(AliasLine { row: r.row, address, targets: Vec::new(), description });
    }
    // Pass 2: the targets, which may name aliases of the file.
    let pending: HashSet<String> = in_file.keys().cloned().collect();
    for (line, r) in lines.iter_mut().zip(&rows) {
        let list = xlsx::split_list(&r.targets);
        if list.is_empty() {
            error!(line.row, 1, "is empty; an alias needs at least one target".into());
            continue;
        }
        if list.len() > MAX_TARGETS {
            error!(line.row, 1, format!("has {} addresses; an alias may have at most {MAX_TARGETS}", list.len()));
            continue;
        }
        let subject = line.address.clone().unwrap_or_default();
        for raw in &list {
            match check_target(b, &mut tx, "targets", &subject, raw, &pending).await {
                Ok(full) if !line.targets.contains(&full) => line.targets.push(full),
                Ok(_) => {}
                Err(e) if e.code == ErrorCode::PermissionDenied => {
                    return Err(Error::permission_denied(format!("row {}, {}: {}", line.row, col(1), e.message)));
                }
                Err(e) => error!(line.row, 1, format!("{}: {}", raw.trim(), e.message)),
            }
        }
    }
    if !errors.is_empty() {
        return Err(xlsx::refusal_in(errors, &xlsx::ALIAS_COLUMNS));
    }
    // Pass 3: write them all, then look for loops in the whole graph; any refuses the file
    // (the transaction is dropped, so nothing stays).
    let mut created = Vec::with_capacity(lines.len());
    for line in &lines {
        let (Some(address), Some(description)) = (&line.address, &line.description) else { continue };
        register(&mut tx, did, address, AddressKind::Alias).await?;
        let id = sql::addresses::insert_alias(&mut tx, did, address, description).await?;
        sql::addresses::set_targets(&mut tx, id, &line.targets).await?;
    }
    for line in &lines {
        let Some(address) = &line.address else { continue };
        if let Err(e) = refuse_loops(&mut tx, address, &line.targets).await {
            error!(line.row, 1, e.message);
            continue;
        }
        created.push(load_alias(&mut tx, address).await?.1);
    }
    if !errors.is_empty() {
        return Err(xlsx::refusal_in(errors, &xlsx::ALIAS_COLUMNS));
    }
    let outcome = ImportedRows { added: created.len() as u32 };
    #[derive(serde::Serialize)]
    struct Imported<'a> {
        file_name: &'a str,
        added: u32,
        aliases: &'a [Alias],
    }
    let record = Imported { file_name: &file_name, added: outcome.added, aliases: &created };
    let change = Change { action: ImportAliases::NAME, domain: Some(&domain), target: &file_name };
    audit::record::<(), _>(&mut tx, &b.caller.name, change, None, Some(&record)).await?;
    tx.commit().await?;
    Ok(outcome)
}

pub(crate) async fn export_aliases(b: &EngineBackend, p: ExportAliases) -> Result<ExportedFile> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Aliases, Some(&domain))?;
    let mut conn = b.engine.read().await?;
    let did = domain_id(&mut conn, &domain).await?;
    let mut aliases = Vec::new();
    let mut after = String::new();
    loop {
        let page = sql::addresses::listed_addresses(&mut conn, Listed::Aliases, did, &after, 1000, None).await?;
        let Some(last) = page.last().cloned() else { break };
        for address in page {
            aliases.push(load_alias(&mut conn, &address).await?.1);
        }
        after = last;
    }
    drop(conn);
    let date = super::now().get(..10).unwrap_or_default().replace('-', "");
    let n = aliases.len() as u32;
    import::exported(format!("aliases-{domain}-{date}.xlsx"), n, move || xlsx::write_aliases(&aliases)).await
}

pub(crate) async fn aliases_template(b: &EngineBackend, _: AliasesTemplate) -> Result<ExportedFile> {
    b.caller.require_page(Page::Aliases)?;
    import::exported("postdesk-aliases-template.xlsx".into(), 0, xlsx::aliases_template).await
}

// ---- mail groups ---------------------------------------------------------------------

async fn load_group(conn: &mut Conn, address: &str) -> Result<(i64, MailGroup)> {
    let row = sql::addresses::group(conn, address).await?;
    let Some((id, name, permission)) = row else {
        return Err(Error::not_found(format!("mail group {address} does not exist")).with_field("address"));
    };
    let members = sql::addresses::members(conn, id).await?;
    let allowed_senders = sql::addresses::allowed_senders(conn, id).await?;
    let send_permission = SendPermission::parse(&permission).unwrap_or(SendPermission::SameDomain);
    let department_ids = sql::addresses::group_departments(conn, id).await?;
    let mut departments = Vec::with_capacity(department_ids.len());
    if !department_ids.is_empty() {
        let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
        let did = domain_id(conn, domain).await?;
        let tree = crate::departments::Tree::load(conn, did, domain).await?;
        departments.extend(department_ids.into_iter().map(|d| tree.path(d)));
        departments.sort();
    }
    let group =
        MailGroup { address: address.to_string(), name, send_permission, members, departments, allowed_senders };
    Ok((id, group))
}

/// The department ids of `paths` in the domain `domain` (each must exist), without repeats.
async fn department_ids(conn: &mut Conn, domain: &str, paths: &[String]) -> Result<Vec<i64>> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let did = domain_id(conn, domain).await?;
    let tree = crate::departments::Tree::load(conn, did, domain).await?;
    let mut ids = BTreeSet::new();
    for path in paths {
        ids.insert(tree.resolve(path).map_err(|e| e.with_field("departments"))?);
    }
    Ok(ids.into_iter().collect())
}

pub(crate) async fn set_group_departments(b: &EngineBackend, p: SetGroupDepartments) -> Result<MailGroup> {
    let addr = authorised(b, Page::Groups, &p.address)?;
    let address = addr.full();
    let mut tx = b.engine.write().await?;
    let (id, before) = load_group(&mut tx, &address).await?;
    let ids = department_ids(&mut tx, &addr.domain, &p.departments).await?;
    sql::addresses::set_group_departments(&mut tx, id, &ids).await?;
    let after = load_group(&mut tx, &address).await?.1;
    let change = Change { action: SetGroupDepartments::NAME, domain: Some(&addr.domain), target: &address };
    audit::record(&mut tx, &b.caller.name, change, Some(&before.departments), Some(&after.departments)).await?;
    tx.commit().await?;
    Ok(after)
}

fn check_senders(list: &[String]) -> Result<Vec<String>> {
    let set: BTreeSet<String> = list
        .iter()
        .map(|s| validate::address(s).map(|a| a.full()).map_err(|e| e.with_field("allowed_senders")))
        .collect::<Result<_>>()?;
    Ok(set.into_iter().collect())
}

fn group_name(name: &str) -> Result<String> {
    let name = validate::text("name", name, 128)?;
    if name.is_empty() {
        return Err(Error::validation("group name is empty").with_field("name"));
    }
    Ok(name)
}

pub(crate) async fn list_groups(b: &EngineBackend, p: ListGroups) -> Result<CursorPage<MailGroup>> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Groups, Some(&domain))?;
    let limit = page_limit(p.limit)?;
    let mut conn = b.engine.read().await?;
    let did = domain_id(&mut conn, &domain).await?;
    // One more than the page, to know whether another follows.
    let mut addresses = sql::addresses::listed_addresses(
        &mut conn,
        Listed::Groups,
        did,
        p.after.as_deref().unwrap_or(""),
        limit + 1,
        p.query.as_deref(),
    )
    .await?;
    let more = addresses.len() > limit as usize;
    addresses.truncate(limit as usize);
    let next = if more { addresses.last().cloned() } else { None };
    let mut items = Vec::with_capacity(addresses.len());
    for address in addresses {
        items.push(load_group(&mut conn, &address).await?.1);
    }
    Ok(CursorPage { items, next })
}

pub(crate) async fn get_group(b: &EngineBackend, p: GetGroup) -> Result<MailGroup> {
    let addr = authorised(b, Page::Groups, &p.address)?;
    Ok(load_group(&mut *b.engine.read().await?, &addr.full()).await?.1)
}

pub(crate) async fn create_group(b: &EngineBackend, p: CreateGroup) -> Result<MailGroup> {
    let addr = authorised(b, Page::Groups, &p.address)?;
    let address = addr.full();
    let name = group_name(&p.name)?;
    let senders = check_senders(p.allowed_senders.as_deref().unwrap_or_default())?;
    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &addr.domain).await?;
    let members = check_targets(b, &mut tx, "members", &address, p.members.as_deref().unwrap_or_default()).await?;
    register(&mut tx, did, &address, AddressKind::Group).await?;
    refuse_loops(&mut tx, &address, &members).await?;
    let permission = p.send_permission.unwrap_or(SendPermission::SameDomain);
    let id = sql::addresses::insert_group(&mut tx, did, &address, &name, permission.as_str()).await?;
    sql::addresses::insert_members(&mut tx, id, &members).await?;
    let departments = department_ids(&mut tx, &addr.domain, p.departments.as_deref().unwrap_or_default()).await?;
    sql::addresses::set_group_departments(&mut tx, id, &departments).await?;
    sql::addresses::set_allowed_senders(&mut tx, id, &senders).await?;
    let group = load_group(&mut tx, &address).await?.1;
    let change = Change { action: CreateGroup::NAME, domain: Some(&addr.domain), target: &address };
    audit::record::<(), _>(&mut tx, &b.caller.name, change, None, Some(&group)).await?;
    tx.commit().await?;
    Ok(group)
}

pub(crate) async fn update_group(b: &EngineBackend, p: UpdateGroup) -> Result<MailGroup> {
    let addr = authorised(b, Page::Groups, &p.address)?;
    let address = addr.full();
    let name = p.name.as_deref().map(group_name).transpose()?;
    let senders = p.allowed_senders.as_deref().map(check_senders).transpose()?;
    let mut tx = b.engine.write().await?;
    let (id, before) = load_group(&mut tx, &address).await?;
    sql::addresses::update_group(&mut tx, id, name, p.send_permission.map(SendPermission::as_str)).await?;
    if let Some(senders) = senders {
        sql::addresses::set_allowed_senders(&mut tx, id, &senders).await?;
    }
    let after = load_group(&mut tx, &address).await?.1;
    if after.send_permission == SendPermission::Whitelist && after.allowed_senders.is_empty() {
        return Err(
            Error::validation("a whitelist group needs at least one allowed sender").with_field("allowed_senders")
        );
    }
    let change = Change { action: UpdateGroup::NAME, domain: Some(&addr.domain), target: &address };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), Some(&after)).await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn add_group_members(b: &EngineBackend, p: AddGroupMembers) -> Result<MailGroup> {
    let addr = authorised(b, Page::Groups, &p.address)?;
    let address = addr.full();
    if p.members.is_empty() {
        return Err(Error::validation("no members given").with_field("members"));
    }
    let mut tx = b.engine.write().await?;
    let (id, before) = load_group(&mut tx, &address).await?;
    let members = check_targets(b, &mut tx, "members", &address, &p.members).await?;
    refuse_loops(&mut tx, &address, &members).await?;
    sql::addresses::insert_members(&mut tx, id, &members).await?;
    let after = load_group(&mut tx, &address).await?.1;
    let change = Change { action: AddGroupMembers::NAME, domain: Some(&addr.domain), target: &address };
    audit::record(&mut tx, &b.caller.name, change, Some(&before.members), Some(&after.members)).await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn remove_group_members(b: &EngineBackend, p: RemoveGroupMembers) -> Result<MailGroup> {
    let addr = authorised(b, Page::Groups, &p.address)?;
    let address = addr.full();
    let mut tx = b.engine.write().await?;
    let (id, before) = load_group(&mut tx, &address).await?;
    for raw in &p.members {
        let m = validate::address(raw).map_err(|e| e.with_field("members"))?.full();
        if !before.members.contains(&m) {
            return Err(Error::not_found(format!("{m} is not a member of {address}")).with_field("members"));
        }
        sql::addresses::remove_member(&mut tx, id, &m).await?;
    }
    let after = load_group(&mut tx, &address).await?.1;
    let change = Change { action: RemoveGroupMembers::NAME, domain: Some(&addr.domain), target: &address };
    audit::record(&mut tx, &b.caller.name, change, Some(&before.members), Some(&after.members)).await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn remove_group(b: &EngineBackend, p: RemoveGroup) -> Result<()> {
    let addr = authorised(b, Page::Groups, &p.address)?;
    let address = addr.full();
    let mut tx = b.engine.write().await?;
    let (id, before) = load_group(&mut tx, &address).await?;
    if let Some(user) = referenced_by(&mut tx, &address).await? {
        return Err(Error::conflict(format!("{address} is still used by {user}; remove it there first")));
    }
    sql::addresses::delete_group(&mut tx, id).await?;
    sql::addresses::release(&mut tx, &address).await?;
    let change = Change { action: RemoveGroup::NAME, domain: Some(&addr.domain), target: &address };
    audit::record::<_, ()>(&mut tx, &b.caller.name, change, Some(&before), None).await?;
    tx.commit().await?;
    Ok(())
}

// ---- resolution ----------------------------------------------------------------------

pub(crate) async fn resolve(b: &EngineBackend, p: ResolveAddress) -> Result<Resolution> {
    let addr = authorised(b, Page::Accounts, &p.address)?;
    resolve_in(&mut *b.engine.read().await?, &addr).await
}

impl super::Engine {
    /// Which mailboxes receive mail to `address`: its account, what its alias or group
    /// expands to, else the domain's first matching pickup rule, else its catch-all
    /// mailbox. Not found when none of them takes it. For the mail services (no caller).
    pub async fn resolve_recipient(&self, address: &str) -> Result<Resolution> {
        resolve_in(&mut *self.read().await?, &validate::address(address)?).await
    }

    /// Whether `domain` is one of this backend's domains (for the mail services; no
    /// caller). A name that is not a valid domain is not ours.
    pub async fn is_local_domain(&self, domain: &str) -> Result<bool> {
        let Ok(domain) = validate::domain(domain) else { return Ok(false) };
        let n = sql::domains::count_named(&mut *self.read().await?, &domain).await?;
        Ok(n > 0)
    }
}

/// Where unknown local parts of a domain go: the first matching pickup rule, else the
/// catch-all mailbox. `None` when neither takes it.
async fn route_unknown(
    conn: &mut Conn,
    domain: &str,
    local: &str,
) -> Result<Option<(AddressKind, String, Option<String>)>> {
    let Some((did, catch_all, target)) = sql::mailbox::catch_all(conn, domain).await? else {
        return Ok(None);
    };
    let rules = sql::mailbox::pickup_rules(conn, did).await?;
    for (pattern, target) in rules {
        if Pattern::parse(&pattern).is_ok_and(|p| p.matches(local)) {
            return Ok(Some((AddressKind::PickupRule, target, Some(pattern))));
        }
    }
    Ok(match (catch_all, target) {
        (true, Some(target)) => Some((AddressKind::CatchAll, target, None)),
        _ => None,
    })
}

/// Locked accounts still receive mail; disabled and deleted ones do not.
async fn receives(conn: &mut Conn, address: &str) -> Result<bool> {
    Ok(matches!(sql::accounts::status_of(conn, address).await?, Some(AccountStatus::Active | AccountStatus::Locked)))
}

async fn resolve_in(conn: &mut Conn, addr: &Address) -> Result<Resolution> {
    let address = addr.full();
    let Some(kind) = kind_of(conn, &address).await? else {
        if let Some(original) = super::forwarding::srs_return(conn, &addr.local, &addr.domain).await? {
            let external = vec![original];
            return Ok(Resolution {
                address,
                kind: AddressKind::SrsReturn,
                mailboxes: Vec::new(),
                external,
                rule: None,
            });
        }
        let routed = route_unknown(conn, &addr.domain, &addr.local).await?;
        let Some((kind, target, rule)) = routed else {
            return Err(Error::not_found(format!(
                "no account, alias, group, pickup rule or catch-all mailbox takes {address}"
            )));
        };
        let mailboxes = if receives(conn, &target).await? { vec![target] } else { Vec::new() };
        return Ok(Resolution { address, kind, mailboxes, external: Vec::new(), rule });
    };
    let mut mailboxes = BTreeSet::new();
    let mut external = BTreeSet::new();
    let mut queue = VecDeque::from([address.clone()]);
    let mut seen = HashSet::new();
    while let Some(next) = queue.pop_front() {
        if !seen.insert(next.clone()) {
            continue;
        }
        match kind_of(conn, &next).await? {
            Some(AddressKind::Account) => {
                if receives(conn, &next).await? {
                    mailboxes.insert(next);
                }
            }
            Some(AddressKind::AccountAlias) => queue.extend(sql::accounts::owner_of_alias(conn, &next).await?),
            Some(AddressKind::Alias | AddressKind::Group) => queue.extend(edges(conn, &next).await?),
            Some(AddressKind::PickupRule | AddressKind::CatchAll | AddressKind::SrsReturn) | None => {
                external.insert(next);
            }
        }
    }
    Ok(Resolution {
        address,
        kind,
        mailboxes: mailboxes.into_iter().collect(),
        external: external.into_iter().collect(),
        rule: None,
    })
}
