//! THREAD (RFC 5256): the REFERENCES and ORDEREDSUBJECT algorithms and the `* THREAD`
//! response.
//!
//! Every step works on an arena of containers with explicit stacks, never by recursion: a
//! mailbox whose messages reply to one another ten thousand deep must not overflow the
//! stack of the task that threads it.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::grammar::ThreadAlgorithm;

/// The message-ids of one References field that count (the last ones: the parent is last).
const MAX_REFERENCES: usize = 100;

/// What one message is threaded by.
#[derive(Debug, Default, Clone)]
pub struct Item {
    /// Its sequence number (the tie-breaker: "their order in the mailbox").
    pub seq: u32,
    /// The number the response shows: the sequence number, or the UID for UID THREAD.
    pub shown: u32,
    /// The sent date (the Date header, else INTERNALDATE), seconds.
    pub date: i64,
    /// The base subject, upper-cased.
    pub subject: String,
    /// Whether the subject was a reply or a forward (`Re:`, `Fwd:`, `(fwd)`, `[fwd: …]`).
    pub reply: bool,
    /// Its Message-ID, without the angle brackets.
    pub message_id: Option<String>,
    /// Its References (else the first In-Reply-To id), oldest first.
    pub references: Vec<String>,
}

/// The threading facts of a message: `seq`/`shown` as in [`Item`], INTERNALDATE, its bytes.
pub fn item(seq: u32, shown: u32, arrival: i64, raw: &[u8]) -> Item {
    let keys = crate::sort::keys(seq, arrival, 0, Some(raw));
    let (end, _) = crate::mime::split_header(raw);
    let fields = crate::mime::fields(&raw[..end]);
    let subject = crate::mime::field_value(&fields, "Subject").unwrap_or_default();
    let reply = crate::sort::subject_is_reply(&crate::sort::decode_words(&subject));
    let message_id = crate::mime::field_value(&fields, "Message-ID").and_then(|v| message_ids(&v).into_iter().next());
    let mut references = crate::mime::field_value(&fields, "References").map(|v| message_ids(&v)).unwrap_or_default();
    if references.is_empty()
        && let Some(first) =
            crate::mime::field_value(&fields, "In-Reply-To").and_then(|v| message_ids(&v).into_iter().next())
    {
        references.push(first);
    }
    if references.len() > MAX_REFERENCES {
        references.drain(..references.len() - MAX_REFERENCES);
    }
    Item { seq, shown, date: keys.date, subject: keys.subject, reply, message_id, references }
}

/// The `<…>` message-ids in a header value, white space inside them removed.
fn message_ids(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else { break };
        let id: String = rest[open + 1..open + close].chars().filter(|c| !c.is_whitespace()).collect();
        if !id.is_empty() {
            out.push(id);
        }
        rest = &rest[open + close + 1..];
    }
    out
}

/// A node of the thread forest: a message (an index into the items) or a dummy.
#[derive(Debug, Default, Clone)]
struct Container {
    msg: Option<usize>,
    parent: Option<usize>,
    children: Vec<usize>,
}

/// A thread forest: containers and the top-level ones, in order.
struct Forest {
    nodes: Vec<Container>,
    roots: Vec<usize>,
}

/// The `* THREAD` response line for `items` (in mailbox order).
pub fn thread(algorithm: ThreadAlgorithm, items: &[Item]) -> String {
    let forest = match algorithm {
        ThreadAlgorithm::References => references(items),
        ThreadAlgorithm::OrderedSubject => ordered_subject(items),
    };
    format(&forest, items)
}

/// Orders two containers by sent date, then mailbox order; a dummy by its first child.
fn by_date(nodes: &[Container], items: &[Item], a: usize, b: usize) -> Ordering {
    let key = |mut c: usize| {
        // A dummy only ever sits at the top, over sorted message children.
        while nodes[c].msg.is_none() {
            match nodes[c].children.first() {
                Some(&first) => c = first,
                None => return (i64::MAX, u32::MAX),
            }
        }
        let m = &items[nodes[c].msg.expect("a message")];
        (m.date, m.seq)
    };
    key(a).cmp(&key(b))
}

/// RFC 5256 REFERENCES.
fn references(items: &[Item]) -> Forest {
    let mut nodes: Vec<Container> = Vec::with_capacity(items.len() * 2);
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    fn get<'a>(nodes: &mut Vec<Container>, by_id: &mut HashMap<&'a str, usize>, id: &'a str) -> usize {
        *by_id.entry(id).or_insert_with(|| {
            nodes.push(Container::default());
            nodes.len() - 1
        })
    }
    let is_ancestor = |nodes: &[Container], ancestor: usize, mut of: usize| loop {
        if of == ancestor {
            return true;
        }
        match nodes[of].parent {
            Some(p) => of = p,
            None => return false,
        }
    };
    let link = |nodes: &mut Vec<Container>, parent: usize, child: usize| {
        nodes[child].parent = Some(parent);
        nodes[parent].children.push(child);
    };
    let unlink = |nodes: &mut Vec<Container>, child: usize| {
        if let Some(p) = nodes[child].parent.take() {
            nodes[p].children.retain(|&c| c != child);
        }
    };
    // (1) link every message into the forest
    for (i, item) in items.iter().enumerate() {
        // (A) its own container: a dummy made earlier for its id, else a new one (a
        // duplicate id gets one of its own, as a message without an id does)
        let me = match &item.message_id {
            Some(id) => {
                let c = get(&mut nodes, &mut by_id, id);
                if nodes[c].msg.is_some() {
                    nodes.push(Container::default());
                    nodes.len() - 1
                } else {
                    c
                }
            }
            None => {
                nodes.push(Container::default());
                nodes.len() - 1
            }
        };
        nodes[me].msg = Some(i);
        let refs: Vec<usize> = item.references.iter().map(|r| get(&mut nodes, &mut by_id, r)).collect();
        for pair in refs.windows(2) {
            let (parent, child) = (pair[0], pair[1]);
            if nodes[child].parent.is_none() && !is_ancestor(&nodes, child, parent) {
                link(&mut nodes, parent, child);
            }
        }
        // (B) the last reference is its parent, replacing any parent it had
        unlink(&mut nodes, me);
        if let Some(&parent) = refs.last()
            && !is_ancestor(&nodes, me, parent)
        {
            link(&mut nodes, parent, me);
        }
    }
    // (2) the root set; (3) dummies pruned, children first
    let mut roots: Vec<usize> = (0..nodes.len()).filter(|&c| nodes[c].parent.is_none()).collect();
    for c in post_order(&nodes, &roots) {
        let mut kept = Vec::with_capacity(nodes[c].children.len());
        for &child in &nodes[c].children {
            if nodes[child].msg.is_some() {
                kept.push(child);
            } else {
                kept.extend(nodes[child].children.iter().copied());
            }
        }
        for &k in &kept {
            nodes[k].parent = Some(c);
        }
        nodes[c].children = kept;
    }
    let mut top = Vec::with_capacity(roots.len());
    for &r in &roots {
        if nodes[r].msg.is_some() || nodes[r].children.len() > 1 {
            top.push(r);
        } else if let Some(&only) = nodes[r].children.first() {
            nodes[only].parent = None;
            top.push(only);
        }
    }
    roots = top;
    // (4) siblings and the top level by date
    sort_all(&mut nodes, &mut roots, items);
    // (5) threads with the same base subject merged
    let subject_of = |nodes: &[Container], c: usize| -> Option<(usize, bool)> {
        let m = match nodes[c].msg {
            Some(m) => m,
            None => nodes[*nodes[c].children.first()?].msg?,
        };
        (!items[m].subject.is_empty()).then_some((m, items[m].reply))
    };
    let mut table: HashMap<&str, usize> = HashMap::new();
    for &r in &roots {
        let Some((m, reply)) = subject_of(&nodes, r) else { continue };
        let subject = items[m].subject.as_str();
        match table.get(subject) {
            None => {
                table.insert(subject, r);
            }
            Some(&old) => {
                let old_reply = subject_of(&nodes, old).is_some_and(|(_, r)| r);
                if nodes[old].msg.is_some() && (nodes[r].msg.is_none() || (old_reply && !reply)) {
                    table.insert(subject, r);
                }
            }
        }
    }
    let mut merged = vec![false; nodes.len()];
    let mut added = Vec::new();
    for &r in &roots {
        let Some((m, reply)) = subject_of(&nodes, r) else { continue };
        let subject = items[m].subject.as_str();
        let old = table[subject];
        if old == r {
            continue;
        }
        let old_reply = subject_of(&nodes, old).is_some_and(|(_, r)| r);
        match (nodes[old].msg.is_none(), nodes[r].msg.is_none()) {
            (true, true) => {
                let children = std::mem::take(&mut nodes[r].children);
                for &c in &children {
                    nodes[c].parent = Some(old);
                }
                nodes[old].children.extend(children);
            }
            (true, false) => link(&mut nodes, old, r),
            _ if reply && !old_reply => link(&mut nodes, old, r),
            _ => {
                nodes.push(Container::default());
                let dummy = nodes.len() - 1;
                merged.push(false);
                link(&mut nodes, dummy, old);
                link(&mut nodes, dummy, r);
                merged[old] = true;
                added.push(dummy);
                table.insert(subject, dummy);
            }
        }
        merged[r] = true;
    }
    roots.retain(|&r| !merged[r]);
    roots.extend(added);
    // (6) every set of siblings by date
    sort_all(&mut nodes, &mut roots, items);
    Forest { nodes, roots }
}

/// RFC 5256 ORDEREDSUBJECT: by base subject, then sent date; the first message of each
/// subject is the parent of the others; threads by their first message's date.
fn ordered_subject(items: &[Item]) -> Forest {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&items[a], &items[b]);
        a.subject.cmp(&b.subject).then(a.date.cmp(&b.date)).then(a.seq.cmp(&b.seq))
    });
    let mut nodes: Vec<Container> = Vec::with_capacity(items.len());
    let mut roots = Vec::new();
    let mut current: Option<(usize, &str)> = None;
    for m in order {
        nodes.push(Container { msg: Some(m), ..Container::default() });
        let c = nodes.len() - 1;
        match current {
            Some((root, subject)) if subject == items[m].subject => {
                nodes[c].parent = Some(root);
                nodes[root].children.push(c);
            }
            _ => {
                roots.push(c);
                current = Some((c, items[m].subject.as_str()));
            }
        }
    }
    roots.sort_by(|&a, &b| by_date(&nodes, items, a, b));
    Forest { nodes, roots }
}

/// The containers under `roots`, every child before its parent.
fn post_order(nodes: &[Container], roots: &[usize]) -> Vec<usize> {
    let mut out = Vec::with_capacity(nodes.len());
    let mut stack: Vec<(usize, usize)> = roots.iter().rev().map(|&r| (r, 0)).collect();
    while let Some((c, next)) = stack.pop() {
        if let Some(&child) = nodes[c].children.get(next) {
            stack.push((c, next + 1));
            stack.push((child, 0));
        } else {
            out.push(c);
        }
    }
    out
}

/// Sorts every set of siblings by date (a dummy's children before the dummy is placed).
fn sort_all(nodes: &mut [Container], roots: &mut [usize], items: &[Item]) {
    for c in post_order(nodes, roots) {
        let mut children = std::mem::take(&mut nodes[c].children);
        children.sort_by(|&a, &b| by_date(nodes, items, a, b));
        nodes[c].children = children;
    }
    roots.sort_by(|&a, &b| by_date(nodes, items, a, b));
}

/// `* THREAD` and its thread lists: `(1 2 (3)(4 5))` — a single child continues the list,
/// several children are nested lists each.
fn format(forest: &Forest, items: &[Item]) -> String {
    enum Step {
        Text(&'static str),
        Node(usize),
    }
    let nodes = &forest.nodes;
    let mut out = String::from("THREAD");
    let mut stack: Vec<Step> = Vec::new();
    for &r in forest.roots.iter().rev() {
        stack.extend([Step::Text(")"), Step::Node(r), Step::Text("(")]);
    }
    if !forest.roots.is_empty() {
        stack.push(Step::Text(" "));
    }
    while let Some(step) = stack.pop() {
        match step {
            Step::Text(t) => out.push_str(t),
            Step::Node(c) => {
                let node = &nodes[c];
                if let Some(m) = node.msg {
                    out.push_str(&items[m].shown.to_string());
                    if !node.children.is_empty() {
                        out.push(' ');
                    }
                }
                match node.children.as_slice() {
                    [] => {}
                    [only] => stack.push(Step::Node(*only)),
                    many => {
                        for &child in many.iter().rev() {
                            stack.extend([Step::Text(")"), Step::Node(child), Step::Text("(")]);
                        }
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(seq: u32, date: i64, subject: &str, id: Option<&str>, refs: &[&str]) -> Item {
        Item {
            seq,
            shown: seq,
            date,
            subject: crate::sort::base_subject(subject).to_ascii_uppercase(),
            reply: crate::sort::subject_is_reply(subject),
            message_id: id.map(str::to_string),
            references: refs.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn references_link_replies_and_order_by_date() {
        let items = [
            msg(1, 10, "a", Some("a@x"), &[]),
            msg(2, 30, "b", Some("b@x"), &["a@x", "c@x"]),
            msg(3, 20, "c", Some("c@x"), &["b@x"]),
        ];
        // b's references make c its parent, c's make b its parent: the loop is refused
        assert_eq!(thread(ThreadAlgorithm::References, &items), "THREAD (1)(3 2)");
    }

    #[test]
    fn a_missing_parent_leaves_a_dummy_only_over_several_children() {
        let items = [
            msg(1, 10, "x", Some("1@x"), &["gone@x"]),
            msg(2, 20, "y", Some("2@x"), &["gone@x"]),
            msg(3, 30, "z", Some("3@x"), &["other@x"]),
        ];
        assert_eq!(thread(ThreadAlgorithm::References, &items), "THREAD ((1)(2))(3)");
    }

    #[test]
    fn same_subjects_merge_under_the_original() {
        let items = [
            msg(1, 10, "Re: lunch", Some("1@x"), &[]),
            msg(2, 5, "lunch", Some("2@x"), &[]),
            msg(3, 20, "lunch", Some("3@x"), &[]),
            msg(4, 1, "other", None, &[]),
        ];
        assert_eq!(thread(ThreadAlgorithm::References, &items), "THREAD (4)((2 1)(3))");
    }

    #[test]
    fn ordered_subject_makes_the_first_the_parent() {
        let items = [
            msg(1, 30, "b", None, &[]),
            msg(2, 10, "Re: a", None, &[]),
            msg(3, 20, "a", None, &[]),
            msg(4, 40, "re: b", None, &[]),
            msg(5, 50, "a", None, &[]),
        ];
        assert_eq!(thread(ThreadAlgorithm::OrderedSubject, &items), "THREAD (2 (3)(5))(1 4)");
        assert_eq!(thread(ThreadAlgorithm::OrderedSubject, &[]), "THREAD");
    }

    #[test]
    fn a_reply_chain_ten_thousand_deep_threads_without_recursion() {
        let ids: Vec<String> = (0..10_000).map(|i| format!("{i}@x")).collect();
        let items: Vec<Item> = (0..10_000)
            .map(|i| {
                let refs: Vec<&str> = if i == 0 { vec![] } else { vec![ids[i - 1].as_str()] };
                msg(i as u32 + 1, i as i64, "deep", Some(&ids[i]), &refs)
            })
            .collect();
        let line = thread(ThreadAlgorithm::References, &items);
        let expected: Vec<String> = (1..=10_000).map(|i| i.to_string()).collect();
        assert_eq!(line, format!("THREAD ({})", expected.join(" ")));
    }

    #[test]
    fn message_ids_are_read_from_angle_brackets() {
        assert_eq!(message_ids(" <a@b>  junk <c @ d>\t<>"), vec!["a@b", "c@d"]);
        let raw = b"Message-ID: <m@x>\r\nIn-Reply-To: <p@x> <q@x>\r\nSubject: Fwd: hi\r\n\r\nbody";
        let it = item(1, 7, 99, raw);
        assert_eq!(it.message_id.as_deref(), Some("m@x"));
        assert_eq!(it.references, vec!["p@x"]);
        assert_eq!((it.subject.as_str(), it.reply, it.shown, it.date), ("HI", true, 7, 99));
    }
}
