//! The department tree of a domain: parent pointers in SQL, paths computed on load.
//!
//! Moving a department rewrites one row whatever its size: accounts point at their
//! department, never at a path, so a move of 10,000 accounts is one UPDATE.

use std::collections::HashMap;

use super::audit::{self, Change};
use super::{EngineBackend, domain_id};
use crate::api::*;
use crate::error::{Error, Result};
use crate::model::*;
use crate::sql::{self, Conn};
use crate::validate;

/// Most departments one domain may have.
pub const MAX_DEPARTMENTS: usize = 10_000;

struct Node {
    parent: Option<i64>,
    name: String,
}

/// A domain's departments, loaded whole (trees are small next to account tables).
pub(crate) struct Tree {
    domain: String,
    nodes: HashMap<i64, Node>,
}

impl Tree {
    pub(crate) async fn load(conn: &mut Conn, domain_id: i64, domain: &str) -> Result<Tree> {
        let rows = sql::departments::nodes(conn, domain_id).await?;
        let nodes = rows.into_iter().map(|(id, parent, name)| (id, Node { parent, name })).collect();
        Ok(Tree { domain: domain.to_string(), nodes })
    }

    /// Full path of a department.
    pub(crate) fn path(&self, id: i64) -> String {
        let mut segments = Vec::new();
        let mut cursor = Some(id);
        while let Some(node) = cursor.and_then(|c| self.nodes.get(&c)) {
            segments.push(node.name.as_str());
            cursor = node.parent;
        }
        segments.reverse();
        segments.join("/")
    }

    fn child(&self, parent: Option<i64>, name: &str) -> Option<i64> {
        let key = name.to_lowercase();
        self.nodes.iter().find(|(_, n)| n.parent == parent && n.name.to_lowercase() == key).map(|(id, _)| *id)
    }

    pub(crate) fn find(&self, segments: &[String]) -> Option<i64> {
        let mut parent = None;
        for segment in segments {
            parent = Some(self.child(parent, segment)?);
        }
        parent
    }

    /// The department at `path`, or a not-found error naming it.
    pub(crate) fn resolve(&self, path: &str) -> Result<i64> {
        let segments = validate::department_path(path)?;
        self.find(&segments).ok_or_else(|| {
            Error::not_found(format!("department {} does not exist in {}", segments.join("/"), self.domain))
                .with_field("department")
        })
    }

    /// `id` and every department below it (one pass over the tree, whatever its shape).
    pub(crate) fn subtree(&self, id: i64) -> Vec<i64> {
        let mut children: HashMap<i64, Vec<i64>> = HashMap::new();
        for (child, node) in &self.nodes {
            if let Some(parent) = node.parent {
                children.entry(parent).or_default().push(*child);
            }
        }
        let mut out = vec![id];
        let mut i = 0;
        while i < out.len() {
            out.extend(children.get(&out[i]).into_iter().flatten().copied());
            i += 1;
        }
        out
    }

    /// Levels above and including `id`.
    fn depth(&self, id: i64) -> usize {
        let mut depth = 0;
        let mut cursor = Some(id);
        while let Some(node) = cursor.and_then(|c| self.nodes.get(&c)) {
            depth += 1;
            cursor = node.parent;
        }
        depth
    }

    /// Refuses the change that gave `id` its place or name when a path at or below it is
    /// now deeper or longer than the limits.
    fn check_shape(&self, id: i64) -> Result<()> {
        for node in self.subtree(id) {
            validate::check_department_shape(self.depth(node), self.path(node).chars().count())?;
        }
        Ok(())
    }

    fn has_children(&self, id: i64) -> bool {
        self.nodes.values().any(|n| n.parent == Some(id))
    }
}

/// Finds or creates the department at `segments`, creating missing levels; returns its id
/// and the paths it created. Used by account creation and imports.
pub(crate) async fn ensure(
    conn: &mut Conn,
    tree: &mut Tree,
    domain_id: i64,
    segments: &[String],
) -> Result<(i64, Vec<String>)> {
    let mut parent = None;
    let mut created = Vec::new();
    for segment in segments {
        parent = Some(match tree.child(parent, segment) {
            Some(id) => id,
            None if tree.nodes.len() >= MAX_DEPARTMENTS => {
                return Err(Error::limit_exceeded(format!(
                    "{} already has {MAX_DEPARTMENTS} departments, the most one domain may have",
                    tree.domain
                ))
                .with_field("department"));
            }
            None => {
                let id = sql::departments::insert(conn, domain_id, parent, segment).await?;
                tree.nodes.insert(id, Node { parent, name: segment.clone() });
                created.push(tree.path(id));
                id
            }
        });
    }
    parent.map(|id| (id, created)).ok_or_else(|| Error::validation("department path is empty"))
}

async fn describe(conn: &mut Conn, tree: &Tree, id: i64) -> Result<Department> {
    let ids = tree.subtree(id);
    let counts = sql::departments::counts_in(conn, &ids).await?;
    let direct = counts.iter().find(|(d, _)| *d == Some(id)).map_or(0, |(_, n)| *n);
    let total: i64 = counts.iter().map(|(_, n)| n).sum();
    let node = &tree.nodes[&id];
    Ok(Department {
        path: tree.path(id),
        name: node.name.clone(),
        parent: node.parent.map(|p| tree.path(p)),
        accounts: direct as u32,
        total_accounts: total as u32,
    })
}

pub(crate) async fn list(b: &EngineBackend, p: ListDepartments) -> Result<CursorPage<Department>> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Departments, Some(&domain))?;
    let limit = page_limit(p.limit)?;
    let mut conn = b.engine.read().await?;
    let did = domain_id(&mut conn, &domain).await?;
    let tree = Tree::load(&mut conn, did, &domain).await?;
    let counts: HashMap<i64, i64> = sql::departments::counts(&mut conn, did).await?.into_iter().collect();
    // Each department's accounts count for it and every ancestor: cost = size × depth.
    let mut totals: HashMap<i64, i64> = HashMap::new();
    for (id, direct) in &counts {
        let mut cursor = Some(*id);
        while let Some(c) = cursor.filter(|c| tree.nodes.contains_key(c)) {
            *totals.entry(c).or_default() += direct;
            cursor = tree.nodes[&c].parent;
        }
    }
    let mut out: Vec<Department> = tree
        .nodes
        .iter()
        .map(|(id, node)| Department {
            path: tree.path(*id),
            name: node.name.clone(),
            parent: node.parent.map(|p| tree.path(p)),
            accounts: counts.get(id).copied().unwrap_or(0) as u32,
            total_accounts: totals.get(id).copied().unwrap_or(0) as u32,
        })
        .collect();
    // Path order without regard to case; the exact path breaks ties, so the cursor is exact.
    let key = |d: &Department| (d.path.to_lowercase(), d.path.clone());
    out.sort_by_key(key);
    let after = p.after.map(|a| (a.to_lowercase(), a));
    Ok(cursor_page(out, key, |d| d.path.clone(), after, limit))
}

pub(crate) async fn create(b: &EngineBackend, p: CreateDepartment) -> Result<Department> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Departments, Some(&domain))?;
    let segments = validate::department_path(&p.path)?;
    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &domain).await?;
    let mut tree = Tree::load(&mut tx, did, &domain).await?;
    if tree.find(&segments).is_some() {
        return Err(
            Error::conflict(format!("department {} already exists in {domain}", segments.join("/"))).with_field("path")
        );
    }
    let (parent_segments, _) = segments.split_at(segments.len() - 1);
    if !parent_segments.is_empty() && !p.parents.unwrap_or(false) && tree.find(parent_segments).is_none() {
        return Err(Error::not_found(format!(
            "parent department {} does not exist in {domain} (create it first, or ask to create parents)",
            parent_segments.join("/")
        ))
        .with_field("path"));
    }
    let (id, created) = ensure(&mut tx, &mut tree, did, &segments).await?;
    let dept = describe(&mut tx, &tree, id).await?;
    for path in &created {
        let change = Change { action: CreateDepartment::NAME, domain: Some(&domain), target: path };
        audit::record::<(), _>(&mut tx, &b.caller.name, change, None, Some(&serde_json::json!({ "path": path })))
            .await?;
    }
    tx.commit().await?;
    Ok(dept)
}

pub(crate) async fn move_to(b: &EngineBackend, p: MoveDepartment) -> Result<Department> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Departments, Some(&domain))?;
    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &domain).await?;
    let mut tree = Tree::load(&mut tx, did, &domain).await?;
    let id = tree.resolve(&p.path)?;
    let new_parent = match p.new_parent.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(path) => Some(tree.resolve(path).map_err(|e| e.with_field("new_parent"))?),
    };
    let before = tree.path(id);
    if let Some(target) = new_parent
        && tree.subtree(id).contains(&target)
    {
        return Err(Error::conflict(format!(
            "cannot move {before} into {}: a department cannot go inside itself",
            tree.path(target)
        ))
        .with_field("new_parent"));
    }
    let name = tree.nodes[&id].name.clone();
    if let Some(clash) = tree.child(new_parent, &name).filter(|c| *c != id) {
        return Err(
            Error::conflict(format!("a department {} already exists there", tree.path(clash))).with_field("new_parent")
        );
    }
    tree.nodes.get_mut(&id).expect("resolved above").parent = new_parent;
    tree.check_shape(id).map_err(|e| e.with_field("new_parent"))?;
    sql::departments::set_parent(&mut tx, id, new_parent).await?;
    let dept = describe(&mut tx, &tree, id).await?;
    let change = Change { action: MoveDepartment::NAME, domain: Some(&domain), target: &before };
    audit::record(
        &mut tx,
        &b.caller.name,
        change,
        Some(&serde_json::json!({ "path": before })),
        Some(&serde_json::json!({ "path": dept.path, "accounts_moved": dept.total_accounts })),
    )
    .await?;
    tx.commit().await?;
    Ok(dept)
}

pub(crate) async fn rename(b: &EngineBackend, p: RenameDepartment) -> Result<Department> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Departments, Some(&domain))?;
    let name = validate::department_name(&p.name).map_err(|e| e.with_field("name"))?;
    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &domain).await?;
    let mut tree = Tree::load(&mut tx, did, &domain).await?;
    let id = tree.resolve(&p.path)?;
    let before = tree.path(id);
    let parent = tree.nodes[&id].parent;
    if let Some(clash) = tree.child(parent, &name).filter(|c| *c != id) {
        return Err(Error::conflict(format!("a department {} already exists", tree.path(clash))).with_field("name"));
    }
    tree.nodes.get_mut(&id).expect("resolved above").name = name.clone();
    tree.check_shape(id).map_err(|e| e.with_field("name"))?;
    sql::departments::rename(&mut tx, id, &name).await?;
    let dept = describe(&mut tx, &tree, id).await?;
    let change = Change { action: RenameDepartment::NAME, domain: Some(&domain), target: &before };
    audit::record(
        &mut tx,
        &b.caller.name,
        change,
        Some(&serde_json::json!({ "path": before })),
        Some(&serde_json::json!({ "path": dept.path })),
    )
    .await?;
    tx.commit().await?;
    Ok(dept)
}

pub(crate) async fn remove(b: &EngineBackend, p: RemoveDepartment) -> Result<()> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Departments, Some(&domain))?;
    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &domain).await?;
    let tree = Tree::load(&mut tx, did, &domain).await?;
    let id = tree.resolve(&p.path)?;
    let path = tree.path(id);
    if tree.has_children(id) {
        return Err(Error::conflict(format!("{path} has sub-departments; move or remove them first")));
    }
    let accounts = sql::departments::active_accounts(&mut tx, id).await?;
    if accounts > 0 {
        return Err(Error::conflict(format!("{path} has {accounts} accounts; move them to another department first")));
    }
    sql::departments::delete(&mut tx, id).await?;
    let change = Change { action: RemoveDepartment::NAME, domain: Some(&domain), target: &path };
    audit::record::<_, ()>(&mut tx, &b.caller.name, change, Some(&serde_json::json!({ "path": path })), None).await?;
    tx.commit().await?;
    Ok(())
}
