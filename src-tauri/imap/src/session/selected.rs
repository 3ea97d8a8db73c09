//! The selected mailbox: the session's view of it (sequence numbers, flags,
//! mod-sequences, `\Recent`), kept in step with the store, and the commands on it.

use std::collections::HashSet;

use postdesk_contract::mail::{FlagChange, StoredMessage};

use super::{Done, Session, refusal};
use crate::encode::{date_time, flag_list};
use crate::grammar::{CommandBody, FetchItem, QResync, Rfc822Kind, SearchReturn, Section, SectionText, StoreMode};
use crate::search::{Candidate, matches, needs_content};
use crate::sequence::{SequenceSet, compact};
use crate::{mime, search};

/// Output past this size is sent before the next message is read.
const FLUSH_AT: usize = 256 * 1024;

/// One message as the session knows it.
#[derive(Debug, Clone)]
pub(crate) struct Msg {
    pub uid: u32,
    pub flags: Vec<String>,
    pub modseq: u64,
    pub size: u64,
    pub received_at: String,
}

impl From<&StoredMessage> for Msg {
    fn from(m: &StoredMessage) -> Msg {
        Msg { uid: m.uid, flags: m.flags.clone(), modseq: m.modseq, size: m.size, received_at: m.received_at.clone() }
    }
}

/// The session's view of its selected mailbox.
pub(crate) struct Selected {
    /// The store's name of the folder.
    pub name: String,
    pub read_only: bool,
    pub uidvalidity: u32,
    /// In sequence order (= UID order).
    pub messages: Vec<Msg>,
    /// UIDs gone from the store but not yet reported (no EXPUNGE may be sent during
    /// FETCH, STORE and SEARCH).
    pub gone: HashSet<u32>,
    /// UIDs that are `\Recent` in this session.
    pub recent: HashSet<u32>,
    pub highest_modseq: u64,
    /// A change notification concerned the folder since the last look.
    pub dirty: bool,
    /// The keywords the client was told of in FLAGS.
    pub keywords: std::collections::BTreeSet<String>,
    /// Searches kept up to date (RETURN (UPDATE), RFC 5267), at most [`MAX_CONTEXTS`].
    pub contexts: Vec<SearchContext>,
    /// The view's UIDs in order, and its fingerprint, when the contexts were last
    /// brought up to date.
    pub context_view: (Vec<u32>, ViewMark),
}

/// A SEARCH or SORT whose result the client keeps (RETURN (UPDATE)).
pub(crate) struct SearchContext {
    /// The tag of the command that made it (ADDTO/REMOVEFROM name it; CANCELUPDATE ends it).
    pub tag: String,
    pub uid: bool,
    pub key: crate::grammar::SearchKey,
    /// SORT's criteria; `None` for a SEARCH.
    pub sort: Option<Vec<(bool, crate::grammar::SortKey)>>,
    /// The result as the client knows it: UIDs, in result order.
    pub uids: Vec<u32>,
}

impl SearchContext {
    /// `ESEARCH (TAG "t") [UID] ADDTO (…)`: for a SORT each change with its position, for
    /// a SEARCH position 0 and the numbers as a set.
    fn line(&self, word: &str, changes: &[(usize, u32)]) -> String {
        let body = if self.sort.is_some() {
            changes.iter().map(|(pos, n)| format!("{pos} {n}")).collect::<Vec<_>>().join(" ")
        } else {
            let mut numbers: Vec<u32> = changes.iter().map(|c| c.1).collect();
            numbers.sort_unstable();
            format!("0 {}", compact(&numbers))
        };
        let uid = if self.uid { " UID" } else { "" };
        format!("ESEARCH (TAG {}){uid} {word} ({body})", crate::encode::string(self.tag.as_bytes()))
    }
}

/// Searches kept up to date at once in one selected mailbox; past it the server says
/// NOUPDATE (each is evaluated again after every change).
const MAX_CONTEXTS: usize = 8;

/// What tells that a view changed: message count, largest UID, the sum of mod-sequences
/// (every flag change raises one), UIDs gone.
pub(crate) type ViewMark = (usize, u32, u64, usize);

const SYSTEM_FLAGS: &str = "\\Answered \\Flagged \\Deleted \\Seen \\Draft";

/// The FLAGS and PERMANENTFLAGS lines for these keywords.
fn flags_lines(keywords: &std::collections::BTreeSet<String>) -> [String; 2] {
    let mut all = SYSTEM_FLAGS.to_string();
    for k in keywords {
        all.push(' ');
        all.push_str(k);
    }
    [format!("FLAGS ({all})"), format!("OK [PERMANENTFLAGS ({all} \\*)] Flags and keywords can be stored")]
}

impl Selected {
    fn mark(&self) -> ViewMark {
        let sum = self.messages.iter().fold(0u64, |a, m| a.wrapping_add(m.modseq));
        (self.messages.len(), self.largest_uid(), sum, self.gone.len())
    }

    /// Tells the client of keywords among `flags` it has not seen in FLAGS yet.
    fn announce_keywords(&mut self, session: &mut Session, flags: &[String]) {
        let mut new = false;
        for f in flags.iter().filter(|f| !f.starts_with('\\')) {
            new |= self.keywords.insert(f.clone());
        }
        if new {
            for line in flags_lines(&self.keywords) {
                session.untagged(&line);
            }
        }
    }

    fn seq_of(&self, uid: u32) -> Option<u32> {
        self.messages.binary_search_by_key(&uid, |m| m.uid).ok().map(|i| i as u32 + 1)
    }

    fn largest_uid(&self) -> u32 {
        self.messages.last().map_or(0, |m| m.uid)
    }

    /// (sequence number, index) of the messages a set names.
    fn resolve(&self, set: &SequenceSet, uid: bool, saved: &[u32]) -> Vec<(u32, usize)> {
        let count = self.messages.len() as u32;
        let largest = self.largest_uid();
        self.messages
            .iter()
            .enumerate()
            .filter(|(i, m)| {
                if uid || matches!(set, SequenceSet::Saved) {
                    set.contains(m.uid, largest, saved)
                } else {
                    set.contains(*i as u32 + 1, count, saved)
                }
            })
            .map(|(i, _)| (i as u32 + 1, i))
            .collect()
    }

    /// Re-reads the folder when something changed, and reports the differences. Returns
    /// false when the folder is gone (the session is told and leaves the selected state).
    pub async fn sync(&mut self, session: &mut Session, account: &str, expunges: bool) -> bool {
        if !self.dirty && (self.gone.is_empty() || !expunges) {
            return true;
        }
        let fresh = match session.view.messages(account, &self.name).await {
            Ok(m) => m,
            Err(e) if e.code == postdesk_contract::ErrorCode::NotFound => {
                session.untagged("BYE The selected mailbox was deleted or renamed");
                session.logout = true;
                return false;
            }
            Err(e) => {
                tracing::warn!("IMAP sync failed: {}", e.message);
                return true;
            }
        };
        self.dirty = false;
        let state =
            session.view.folders(account).await.ok().and_then(|fs| fs.into_iter().find(|f| f.name == self.name));
        if let Some(state) = &state
            && state.uidvalidity != self.uidvalidity
        {
            session.untagged("BYE The selected mailbox was replaced");
            session.logout = true;
            return false;
        }
        let present: std::collections::HashMap<u32, &StoredMessage> = fresh.iter().map(|m| (m.uid, m)).collect();
        for m in &self.messages {
            if !present.contains_key(&m.uid) {
                self.gone.insert(m.uid);
            }
        }
        if expunges && !self.gone.is_empty() {
            let gone: Vec<u32> = {
                let mut g: Vec<u32> = self.gone.drain().collect();
                g.sort_unstable();
                g
            };
            self.report_expunged(session, &gone);
        }
        // Flag changes of the messages still shown.
        let condstore = session.enabled.condstore;
        let all_flags: Vec<String> = fresh.iter().flat_map(|m| m.flags.iter().cloned()).collect();
        self.announce_keywords(session, &all_flags);
        for (i, m) in self.messages.iter_mut().enumerate() {
            if let Some(now) = present.get(&m.uid)
                && (now.flags != m.flags || (condstore && now.modseq != m.modseq))
            {
                m.flags = now.flags.clone();
                m.modseq = now.modseq;
                let mut flags = m.flags.clone();
                if self.recent.contains(&m.uid) {
                    flags.push("\\Recent".into());
                }
                let mut line = format!("{} FETCH (FLAGS {}", i + 1, flag_list(&flags));
                if condstore {
                    line.push_str(&format!(" MODSEQ ({})", m.modseq));
                }
                if session.enabled.qresync {
                    line.push_str(&format!(" UID {}", m.uid));
                }
                line.push(')');
                session.untagged(&line);
            }
        }
        // New messages.
        let largest = self.largest_uid();
        let new: Vec<Msg> = fresh.iter().filter(|m| m.uid > largest).map(Msg::from).collect();
        if !new.is_empty() {
            if !self.read_only {
                let highest = new.last().map_or(0, |m| m.uid);
                let mark = session.shared.claim_recent(account, &self.name, self.uidvalidity, highest);
                self.recent.extend(new.iter().filter(|m| m.uid > mark).map(|m| m.uid));
            }
            self.messages.extend(new);
            session.untagged(&format!("{} EXISTS", self.messages.len()));
            if !session.enabled.rev2 {
                session.untagged(&format!("{} RECENT", self.recent.len()));
            }
        }
        if let Some(state) = state {
            self.highest_modseq = state.highest_modseq;
        }
        true
    }

    /// Drops `uids` (sorted) from the view and tells the client: VANISHED with QRESYNC,
    /// else one EXPUNGE per message, highest sequence number first.
    fn report_expunged(&mut self, session: &mut Session, uids: &[u32]) {
        if uids.is_empty() {
            return;
        }
        // Kept searches lose expunged messages first, named while their numbers still hold.
        for c in &mut self.contexts {
            let hit: Vec<(usize, u32)> = c
                .uids
                .iter()
                .enumerate()
                .filter(|(_, u)| uids.binary_search(u).is_ok())
                .filter_map(|(i, &u)| {
                    Some((i + 1, if c.uid { u } else { self.messages.iter().position(|m| m.uid == u)? as u32 + 1 }))
                })
                .collect();
            if !hit.is_empty() {
                session.untagged(&c.line("REMOVEFROM", &hit));
                c.uids.retain(|u| uids.binary_search(u).is_err());
            }
        }
        if session.enabled.qresync {
            let shown: Vec<u32> = uids.iter().copied().filter(|u| self.seq_of(*u).is_some()).collect();
            if !shown.is_empty() {
                session.untagged(&format!("VANISHED {}", compact(&shown)));
            }
            self.messages.retain(|m| uids.binary_search(&m.uid).is_err());
        } else {
            for uid in uids.iter().rev() {
                if let Some(seq) = self.seq_of(*uid) {
                    self.messages.remove(seq as usize - 1);
                    session.untagged(&format!("{seq} EXPUNGE"));
                }
            }
        }
        for uid in uids {
            self.recent.remove(uid);
            self.gone.remove(uid);
        }
    }
}

impl Session {
    pub(crate) async fn select(&mut self, name: &str, read_only: bool, qresync: Option<QResync>) -> super::Done {
        let account = self.account.clone().unwrap_or_default();
        // A SELECT closes the mailbox selected before (without expunging), RFC 9051 §6.3.2.
        if self.selected.take().is_some() {
            self.untagged("OK [CLOSED] Previous mailbox closed");
        }
        let folders = match self.view.folders(&account).await {
            Ok(fs) => fs,
            Err(e) => return refusal(e),
        };
        let Some(state) = folders.into_iter().find(|f| f.name == name) else {
            return Done::no(format!("[NONEXISTENT] No mailbox {name}"));
        };
        let stored = match self.view.messages(&account, name).await {
            Ok(m) => m,
            Err(e) => return refusal(e),
        };
        let messages: Vec<Msg> = stored.iter().map(Msg::from).collect();
        let highest = messages.last().map_or(0, |m| m.uid);
        let mark = if read_only {
            self.shared.recent_mark(&account, name, state.uidvalidity)
        } else {
            self.shared.claim_recent(&account, name, state.uidvalidity, highest)
        };
        let recent: HashSet<u32> = messages.iter().filter(|m| m.uid > mark).map(|m| m.uid).collect();
        self.drain_changes();
        let keywords: std::collections::BTreeSet<String> =
            messages.iter().flat_map(|m| m.flags.iter()).filter(|f| !f.starts_with('\\')).cloned().collect();
        for line in flags_lines(&keywords) {
            self.untagged(&line);
        }
        self.untagged(&format!("{} EXISTS", messages.len()));
        if !self.enabled.rev2 {
            self.untagged(&format!("{} RECENT", recent.len()));
            if let Some(first) = messages.iter().position(|m| !m.flags.iter().any(|f| f == "\\Seen")) {
                self.untagged(&format!("OK [UNSEEN {}] First unseen", first + 1));
            }
        }
        self.untagged(&format!("OK [UIDVALIDITY {}] UIDs valid", state.uidvalidity));
        self.untagged(&format!("OK [UIDNEXT {}] Predicted next UID", state.uidnext));
        if self.enabled.condstore {
            self.untagged(&format!("OK [HIGHESTMODSEQ {}] Highest", state.highest_modseq));
        }
        self.untagged(&format!("LIST () \"/\" {}", crate::encode::mailbox(&self.client_name(name))));
        if let Some(q) = qresync.filter(|q| q.uidvalidity == state.uidvalidity) {
            // What vanished since the client's mod-sequence: every UID it may know that is not
            // here any more (no tombstones are kept, so this may include older ones, which RFC
            // 7162 allows), then the messages changed since.
            let known =
                q.known_uids.unwrap_or(SequenceSet::parse(&format!("1:{}", state.uidnext.max(2) - 1)).expect("range"));
            let present: HashSet<u32> = messages.iter().map(|m| m.uid).collect();
            let vanished = vanished_uids(&known, state.uidnext, &present);
            if !vanished.is_empty() {
                self.untagged(&format!("VANISHED (EARLIER) {}", compact(&vanished)));
            }
            for (i, m) in messages.iter().enumerate() {
                if m.modseq > q.modseq {
                    self.untagged(&format!(
                        "{} FETCH (UID {} FLAGS {} MODSEQ ({}))",
                        i + 1,
                        m.uid,
                        flag_list(&m.flags),
                        m.modseq
                    ));
                }
            }
        }
        self.selected = Some(Selected {
            name: name.to_string(),
            read_only,
            uidvalidity: state.uidvalidity,
            messages,
            gone: HashSet::new(),
            recent,
            highest_modseq: state.highest_modseq,
            dirty: false,
            keywords,
            contexts: Vec::new(),
            context_view: (Vec::new(), (0, 0, 0, 0)),
        });
        Done::ok(if read_only { "[READ-ONLY] EXAMINE done" } else { "[READ-WRITE] SELECT done" })
    }
}

/// The UIDs of `set` below `uidnext` that are not present.
fn vanished_uids(set: &SequenceSet, uidnext: u32, present: &HashSet<u32>) -> Vec<u32> {
    let SequenceSet::Ranges(ranges) = set else { return Vec::new() };
    let top = uidnext.saturating_sub(1);
    let mut out = Vec::new();
    for &(a, b) in ranges {
        let v = |n| match n {
            crate::sequence::SeqNum::Value(v) => v.min(top),
            crate::sequence::SeqNum::Largest => top,
        };
        let (lo, hi) = if v(a) <= v(b) { (v(a), v(b)) } else { (v(b), v(a)) };
        for uid in lo.max(1)..=hi {
            if !present.contains(&uid) {
                out.push(uid);
            }
            if out.len() > 1_000_000 {
                break;
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Runs a command of the selected state.
pub(crate) async fn run(session: &mut Session, body: CommandBody) -> Done {
    match body {
        CommandBody::Close | CommandBody::Unselect => {
            let selected = session.selected.take().expect("selected");
            if matches!(body, CommandBody::Close) && !selected.read_only {
                let account = session.account.clone().unwrap_or_default();
                if let Err(e) = session.view.expunge(&account, &selected.name, None).await {
                    return refusal(e);
                }
            }
            Done::ok(if matches!(body, CommandBody::Close) { "CLOSE done" } else { "UNSELECT done" })
        }
        CommandBody::Expunge { uids } => expunge(session, uids).await,
        CommandBody::Search { uid, ret, charset, key } => {
            if let Some(c) = &charset
                && !["UTF-8", "US-ASCII"].iter().any(|s| s.eq_ignore_ascii_case(c))
            {
                return Done::no("[BADCHARSET (UTF-8 US-ASCII)] Search in UTF-8 or US-ASCII");
            }
            session.sync(false).await;
            search_command(session, uid, ret, &key).await
        }
        CommandBody::Sort { uid, ret, criteria, charset, key } => {
            if !["UTF-8", "US-ASCII"].iter().any(|s| s.eq_ignore_ascii_case(&charset)) {
                return Done::no("[BADCHARSET (UTF-8 US-ASCII)] Sort in UTF-8 or US-ASCII");
            }
            session.sync(false).await;
            sort_command(session, uid, ret, &criteria, &key).await
        }
        CommandBody::Thread { uid, algorithm, charset, key } => {
            if !["UTF-8", "US-ASCII"].iter().any(|s| s.eq_ignore_ascii_case(&charset)) {
                return Done::no("[BADCHARSET (UTF-8 US-ASCII)] Thread in UTF-8 or US-ASCII");
            }
            session.sync(false).await;
            thread_command(session, uid, algorithm, &key).await
        }
        CommandBody::Fetch { uid, set, items, changed_since, vanished } => {
            session.sync(uid).await;
            fetch(session, uid, &set, &items, changed_since, vanished).await
        }
        CommandBody::Store { uid, set, unchanged_since, mode, silent, flags } => {
            session.sync(uid).await;
            store(session, uid, &set, unchanged_since, mode, silent, &flags).await
        }
        CommandBody::Copy { uid, set, mailbox } => copy_or_move(session, uid, &set, &mailbox, false).await,
        CommandBody::Move { uid, set, mailbox } => copy_or_move(session, uid, &set, &mailbox, true).await,
        _ => Done::Bad("Not a command for this state".into()),
    }
}

async fn expunge(session: &mut Session, uids: Option<SequenceSet>) -> Done {
    let account = session.account.clone().unwrap_or_default();
    let selected = session.selected.as_ref().expect("selected");
    if selected.read_only {
        return Done::no("[READ-ONLY] The mailbox is open read-only");
    }
    let name = selected.name.clone();
    let only: Option<Vec<u32>> = uids.map(|set| {
        selected.resolve(&set, true, &session.saved).iter().map(|&(_, i)| selected.messages[i].uid).collect()
    });
    if let Err(e) = session.view.expunge(&account, &name, only.as_deref()).await {
        return refusal(e);
    }
    if let Some(s) = session.selected.as_mut() {
        s.dirty = true;
    }
    session.sync(true).await;
    Done::ok("EXPUNGE done")
}

async fn load(session: &Session, uid: u32) -> Option<Vec<u8>> {
    let account = session.account.as_deref().unwrap_or_default();
    let name = &session.selected.as_ref()?.name;
    session.view.message_bytes(account, name, uid).await.ok()
}

/// The messages matching `key`: (sequence number, UID, mod-sequence), in order.
async fn matching(session: &mut Session, key: &crate::grammar::SearchKey) -> Vec<(u32, u32, u64)> {
    let content = needs_content(key);
    if search::uses_modseq(key) {
        session.enable_condstore();
    }
    let selected = session.selected.as_ref().expect("selected");
    let count = selected.messages.len() as u32;
    let largest = (count, selected.largest_uid());
    let mut hits: Vec<(u32, u32, u64)> = Vec::new();
    for (i, m) in selected.messages.iter().enumerate() {
        if selected.gone.contains(&m.uid) {
            continue;
        }
        let raw = if content { load(session, m.uid).await } else { None };
        let candidate = Candidate {
            seq: i as u32 + 1,
            uid: m.uid,
            largest,
            flags: &m.flags,
            recent: selected.recent.contains(&m.uid),
            size: m.size,
            internal_day: (internal_time(m) / 86400) as i32,
            modseq: m.modseq,
            raw: raw.as_deref(),
            saved: &session.saved,
        };
        if matches(key, &candidate) {
            hits.push((i as u32 + 1, m.uid, m.modseq));
        }
    }
    hits
}

/// INTERNALDATE in seconds since the epoch.
fn internal_time(m: &Msg) -> i64 {
    time::OffsetDateTime::parse(&m.received_at, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .unwrap_or(0)
}

async fn sort_command(
    session: &mut Session,
    uid: bool,
    ret: Option<Vec<SearchReturn>>,
    criteria: &[(bool, crate::grammar::SortKey)],
    key: &crate::grammar::SearchKey,
) -> Done {
    let keyed = sorted(session, criteria, key).await;
    let numbers: Vec<u32> = keyed.iter().map(|(k, u)| if uid { *u } else { k.seq }).collect();
    let Some(ret) = ret else {
        let mut line = String::from("SORT");
        for n in &numbers {
            line.push_str(&format!(" {n}"));
        }
        session.untagged(&line);
        return Done::ok("SORT done");
    };
    // ESORT (RFC 5267): MIN and MAX are the first and last in sorted order, ALL keeps it.
    if ret.contains(&SearchReturn::Save) {
        session.saved = keyed.iter().map(|(_, u)| *u).collect();
    }
    if ret.contains(&SearchReturn::Update) {
        keep_context(session, uid, key, Some(criteria.to_vec()), keyed.iter().map(|(_, u)| *u).collect());
    }
    if ret.iter().any(|r| *r != SearchReturn::Save) {
        let mut line = format!("ESEARCH (TAG {})", crate::encode::string(session.tag.as_bytes()));
        if uid {
            line.push_str(" UID");
        }
        for r in &ret {
            match (r, numbers.first(), numbers.last()) {
                (SearchReturn::Min, Some(first), _) => line.push_str(&format!(" MIN {first}")),
                (SearchReturn::Max, _, Some(last)) => line.push_str(&format!(" MAX {last}")),
                (SearchReturn::All, Some(_), _) => line.push_str(&format!(" ALL {}", in_order(&numbers))),
                (SearchReturn::Count, ..) => line.push_str(&format!(" COUNT {}", numbers.len())),
                (SearchReturn::Partial(first, last), ..) => line.push_str(&partial(*first, *last, &numbers, true)),
                _ => {}
            }
        }
        session.untagged(&line);
    }
    Done::ok("SORT done")
}

/// The messages matching `key` in the order of `criteria`: their sort keys and UIDs.
async fn sorted(
    session: &mut Session,
    criteria: &[(bool, crate::grammar::SortKey)],
    key: &crate::grammar::SearchKey,
) -> Vec<(crate::sort::Keys, u32)> {
    let hits = matching(session, key).await;
    let header = crate::sort::needs_header(criteria);
    let mut keyed = Vec::with_capacity(hits.len());
    for (seq, uid_, _) in &hits {
        let Some(m) = session.selected.as_ref().map(|s| s.messages[*seq as usize - 1].clone()) else { break };
        let raw = if header { load(session, *uid_).await } else { None };
        keyed.push((crate::sort::keys(*seq, internal_time(&m), m.size, raw.as_deref()), *uid_));
    }
    keyed.sort_by(|a, b| crate::sort::compare(&a.0, &b.0, criteria));
    keyed
}

/// ` PARTIAL (first:last set)` of a result in order (RFC 5267, RFC 9394): the numbers at
/// those positions (negative: from the end), or NIL.
fn partial(first: i64, last: i64, numbers: &[u32], sorted: bool) -> String {
    let len = numbers.len() as i64;
    let (from, to) = if first > 0 { (first - 1, last.min(len)) } else { ((len + last).max(0), len + first + 1) };
    let slice = if from < to && from < len { &numbers[from as usize..to as usize] } else { &[][..] };
    let set = if slice.is_empty() {
        "NIL".to_string()
    } else if sorted {
        in_order(slice)
    } else {
        compact(slice)
    };
    format!(" PARTIAL ({first}:{last} {set})")
}

/// Keeps a search's result up to date from now on (RETURN (UPDATE)); past the limit the
/// client is told NOUPDATE and gets no updates.
fn keep_context(
    session: &mut Session,
    uid: bool,
    key: &crate::grammar::SearchKey,
    sort: Option<Vec<(bool, crate::grammar::SortKey)>>,
    uids: Vec<u32>,
) {
    let tag = session.tag.clone();
    let Some(selected) = session.selected.as_mut() else { return };
    if selected.contexts.len() >= MAX_CONTEXTS {
        session.untagged(&format!(
            "OK [NOUPDATE {}] Too many searches kept up to date",
            crate::encode::string(tag.as_bytes())
        ));
        return;
    }
    if selected.contexts.is_empty() {
        selected.context_view = (selected.messages.iter().map(|m| m.uid).collect(), selected.mark());
    }
    selected.contexts.retain(|c| c.tag != tag);
    selected.contexts.push(SearchContext { tag, uid, key: key.clone(), sort, uids });
}

impl Session {
    /// Ends the updates of the searches of these tags (CANCELUPDATE).
    pub(crate) fn cancel_updates(&mut self, tags: &[String]) -> Done {
        let Some(selected) = self.selected.as_mut() else { return Done::Bad("No mailbox is selected".into()) };
        let before = selected.contexts.len();
        selected.contexts.retain(|c| !tags.contains(&c.tag));
        if selected.contexts.len() + tags.len() > before {
            return Done::no("Not every tag names a search kept up to date");
        }
        Done::ok("CANCELUPDATE done")
    }

    /// After a command: when the view changed, each kept search is run again and the
    /// client told what entered (ADDTO) and left (REMOVEFROM) its result. An expunged
    /// message is named by the number it had before (EXPUNGEs go from the highest down).
    pub(crate) async fn update_contexts(&mut self) {
        let Some(selected) = self.selected.as_mut() else { return };
        if selected.contexts.is_empty() || selected.mark() == selected.context_view.1 {
            return;
        }
        let contexts = std::mem::take(&mut selected.contexts);
        let (old_view, _) = std::mem::take(&mut selected.context_view);
        let mut kept = Vec::with_capacity(contexts.len());
        for mut c in contexts {
            let now: Vec<(u32, u32)> = match &c.sort {
                None => matching(self, &c.key).await.into_iter().map(|(seq, uid, _)| (seq, uid)).collect(),
                Some(criteria) => {
                    sorted(self, criteria, &c.key).await.into_iter().map(|(k, uid)| (k.seq, uid)).collect()
                }
            };
            let Some(selected) = self.selected.as_ref() else { return };
            let number = |uid: u32| -> Option<u32> {
                if c.uid {
                    return Some(uid);
                }
                selected.seq_of(uid).or_else(|| old_view.iter().position(|&u| u == uid).map(|p| p as u32 + 1))
            };
            let now_set: HashSet<u32> = now.iter().map(|h| h.1).collect();
            let old_set: HashSet<u32> = c.uids.iter().copied().collect();
            let removed: Vec<(usize, u32)> = c
                .uids
                .iter()
                .enumerate()
                .filter(|(_, u)| !now_set.contains(u))
                .filter_map(|(i, u)| Some((i + 1, number(*u)?)))
                .collect();
            let added: Vec<(usize, u32)> = now
                .iter()
                .enumerate()
                .filter(|(_, h)| !old_set.contains(&h.1))
                .map(|(i, h)| (i + 1, if c.uid { h.1 } else { h.0 }))
                .collect();
            for (word, changes) in [("REMOVEFROM", &removed), ("ADDTO", &added)] {
                if !changes.is_empty() {
                    self.untagged(&c.line(word, changes));
                }
            }
            c.uids = now.iter().map(|h| h.1).collect();
            kept.push(c);
        }
        if let Some(selected) = self.selected.as_mut() {
            selected.contexts = kept;
            selected.context_view = (selected.messages.iter().map(|m| m.uid).collect(), selected.mark());
        }
    }
}

/// Numbers as a sequence set that keeps their order: `5,3:4,2,1`.
fn in_order(numbers: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < numbers.len() {
        let mut j = i;
        while j + 1 < numbers.len() && numbers[j + 1] == numbers[j].wrapping_add(1) {
            j += 1;
        }
        out.push(if i == j { numbers[i].to_string() } else { format!("{}:{}", numbers[i], numbers[j]) });
        i = j + 1;
    }
    out.join(",")
}

async fn thread_command(
    session: &mut Session,
    uid: bool,
    algorithm: crate::grammar::ThreadAlgorithm,
    key: &crate::grammar::SearchKey,
) -> Done {
    let hits = matching(session, key).await;
    let mut items = Vec::with_capacity(hits.len());
    for (seq, uid_, _) in &hits {
        let Some(m) = session.selected.as_ref().map(|s| s.messages[*seq as usize - 1].clone()) else { break };
        let raw = load(session, *uid_).await.unwrap_or_default();
        items.push(crate::thread::item(*seq, if uid { *uid_ } else { *seq }, internal_time(&m), &raw));
    }
    let line = crate::thread::thread(algorithm, &items);
    session.untagged(&line);
    Done::ok("THREAD done")
}

async fn search_command(
    session: &mut Session,
    uid: bool,
    ret: Option<Vec<SearchReturn>>,
    key: &crate::grammar::SearchKey,
) -> Done {
    let hits = matching(session, key).await;
    let modseq = if search::uses_modseq(key) { hits.iter().map(|h| h.2).max() } else { None };
    let numbers: Vec<u32> = hits.iter().map(|h| if uid { h.1 } else { h.0 }).collect();
    match ret {
        None => {
            let mut line = String::from("SEARCH");
            for n in &numbers {
                line.push_str(&format!(" {n}"));
            }
            if let Some(m) = modseq.filter(|_| !numbers.is_empty()) {
                line.push_str(&format!(" (MODSEQ {m})"));
            }
            session.untagged(&line);
        }
        Some(ret) => {
            if ret.contains(&SearchReturn::Save) {
                session.saved = hits.iter().map(|h| h.1).collect();
            }
            if ret.contains(&SearchReturn::Update) {
                keep_context(session, uid, key, None, hits.iter().map(|h| h.1).collect());
            }
            let only_save = ret.iter().all(|r| *r == SearchReturn::Save);
            if !only_save {
                let mut line = format!("ESEARCH (TAG {})", crate::encode::string(session.tag.as_bytes()));
                if uid {
                    line.push_str(" UID");
                }
                for r in &ret {
                    match r {
                        SearchReturn::Partial(first, last) => line.push_str(&partial(*first, *last, &numbers, false)),
                        SearchReturn::Min if !numbers.is_empty() => line.push_str(&format!(" MIN {}", numbers[0])),
                        SearchReturn::Max if !numbers.is_empty() => {
                            line.push_str(&format!(" MAX {}", numbers[numbers.len() - 1]))
                        }
                        SearchReturn::All if !numbers.is_empty() => {
                            line.push_str(&format!(" ALL {}", compact(&numbers)))
                        }
                        SearchReturn::Count => line.push_str(&format!(" COUNT {}", numbers.len())),
                        _ => {}
                    }
                }
                // With MIN or MAX alone, the mod-sequence is that message's (RFC 7162 §3.1.5).
                let shown: Vec<&SearchReturn> = ret.iter().filter(|r| **r != SearchReturn::Save).collect();
                let modseq = match shown.as_slice() {
                    [SearchReturn::Min] => modseq.and(hits.first().map(|h| h.2)),
                    [SearchReturn::Max] => modseq.and(hits.last().map(|h| h.2)),
                    _ => modseq,
                };
                if let Some(m) = modseq.filter(|_| !numbers.is_empty()) {
                    line.push_str(&format!(" MODSEQ {m}"));
                }
                session.untagged(&line);
            }
        }
    }
    Done::ok("SEARCH done")
}

fn section_name(section: &Section) -> String {
    let mut out: Vec<String> = section.part.iter().map(u32::to_string).collect();
    let text = match &section.text {
        SectionText::Full => None,
        SectionText::Header => Some("HEADER".to_string()),
        SectionText::Text => Some("TEXT".to_string()),
        SectionText::Mime => Some("MIME".to_string()),
        SectionText::HeaderFields(names) | SectionText::HeaderFieldsNot(names) => {
            let not = if matches!(section.text, SectionText::HeaderFieldsNot(_)) { ".NOT" } else { "" };
            let names: Vec<String> = names.iter().map(|n| crate::encode::mailbox(&n.to_ascii_uppercase())).collect();
            Some(format!("HEADER.FIELDS{not} ({})", names.join(" ")))
        }
    };
    out.extend(text);
    out.join(".")
}

/// The bytes a section names, or `None` when the part does not exist.
pub(crate) fn section_bytes(raw: &[u8], root: &mime::Part, section: &Section) -> Option<Vec<u8>> {
    let part = mime::locate(root, &section.part)?;
    // HEADER, TEXT and HEADER.FIELDS of a part apply to its attached message.
    let message = if section.part.is_empty() { Some(part) } else { part.message.as_deref() };
    Some(match &section.text {
        SectionText::Full if section.part.is_empty() => raw.to_vec(),
        SectionText::Full => raw[part.body.clone()].to_vec(),
        SectionText::Mime => mime::header_with_blank_line(raw, part),
        SectionText::Header => mime::header_with_blank_line(raw, message?),
        SectionText::Text => raw[message?.body.clone()].to_vec(),
        SectionText::HeaderFields(names) => mime::header_fields(raw, message?, names, false),
        SectionText::HeaderFieldsNot(names) => mime::header_fields(raw, message?, names, true),
    })
}

/// The bytes `<offset.length>` names (RFC 9051: past the end is empty, a length past the
/// end stops there).
pub(crate) fn partial_slice(bytes: &[u8], offset: u32, length: Option<u32>) -> &[u8] {
    let start = (offset as usize).min(bytes.len());
    let end = length.map_or(bytes.len(), |l| start.saturating_add(l as usize).min(bytes.len()));
    &bytes[start..end]
}

fn literal(bytes: &[u8]) -> Vec<u8> {
    // A NUL can only travel in a literal8 (RFC 3516), which BINARY[…] alone can return.
    let tilde = if bytes.contains(&0) { "~" } else { "" };
    let mut out = format!("{tilde}{{{}}}\r\n", bytes.len()).into_bytes();
    out.extend_from_slice(bytes);
    out
}

async fn fetch(
    session: &mut Session,
    uid: bool,
    set: &SequenceSet,
    items: &[FetchItem],
    changed_since: Option<u64>,
    vanished: bool,
) -> Done {
    let account = session.account.clone().unwrap_or_default();
    if changed_since.is_some() || items.contains(&FetchItem::ModSeq) {
        session.enable_condstore();
    }
    let selected = session.selected.as_ref().expect("selected");
    let read_only = selected.read_only;
    let name = selected.name.clone();
    let targets = selected.resolve(set, uid, &session.saved);
    if vanished {
        let present: HashSet<u32> = selected.messages.iter().map(|m| m.uid).collect();
        let uidnext = selected.largest_uid() + 1;
        let gone = vanished_uids(set, uidnext.max(selected.messages.len() as u32 + 1), &present);
        if !gone.is_empty() {
            session.untagged(&format!("VANISHED (EARLIER) {}", compact(&gone)));
        }
    }
    let needs_bytes = items.iter().any(|i| {
        matches!(
            i,
            FetchItem::Envelope
                | FetchItem::Body
                | FetchItem::BodyStructure
                | FetchItem::Section { .. }
                | FetchItem::Binary { .. }
                | FetchItem::BinarySize(_)
                | FetchItem::Rfc822(_)
        )
    });
    let sets_seen = !read_only
        && items.iter().any(|i| {
            matches!(
                i,
                FetchItem::Section { peek: false, .. }
                    | FetchItem::Binary { peek: false, .. }
                    | FetchItem::Rfc822(Rfc822Kind::Full | Rfc822Kind::Text)
            )
        });
    let mut to_mark = Vec::new();
    // Responses go out as they are made (a FETCH 1:* BODY[] of a large mailbox is never
    // held whole); the \\Seen flags they show are stored at the end.
    for (seq, index) in targets {
        let Some(selected) = session.selected.as_ref() else { break };
        let m = selected.messages[index].clone();
        if changed_since.is_some_and(|c| m.modseq <= c) {
            continue;
        }
        if selected.gone.contains(&m.uid) && uid {
            continue;
        }
        let recent = selected.recent.contains(&m.uid);
        let raw = if needs_bytes {
            match load(session, m.uid).await {
                Some(raw) => Some(raw),
                None => continue,
            }
        } else {
            None
        };
        let structure = raw.as_deref().map(mime::parse);
        let mut flags = m.flags.clone();
        if sets_seen && !flags.iter().any(|f| f == "\\Seen") {
            to_mark.push(m.uid);
            flags.push("\\Seen".into());
        }
        if recent {
            flags.push("\\Recent".into());
        }
        let mut out: Vec<u8> = format!("* {seq} FETCH (").into_bytes();
        let mut first = true;
        let mut push = |out: &mut Vec<u8>, bytes: &[u8]| {
            if !first {
                out.push(b' ');
            }
            first = false;
            out.extend_from_slice(bytes);
        };
        let mut flags_sent = false;
        for item in items {
            match item {
                FetchItem::Uid => push(&mut out, format!("UID {}", m.uid).as_bytes()),
                FetchItem::Flags => {
                    flags_sent = true;
                    push(&mut out, format!("FLAGS {}", flag_list(&flags)).as_bytes())
                }
                FetchItem::InternalDate => {
                    push(&mut out, format!("INTERNALDATE {}", date_time(&m.received_at)).as_bytes())
                }
                FetchItem::Size => push(&mut out, format!("RFC822.SIZE {}", m.size).as_bytes()),
                FetchItem::ModSeq => push(&mut out, format!("MODSEQ ({})", m.modseq).as_bytes()),
                FetchItem::Envelope => {
                    let (raw, root) = (raw.as_deref().unwrap_or_default(), structure.as_ref().expect("parsed"));
                    push(&mut out, format!("ENVELOPE {}", mime::envelope(raw, root)).as_bytes())
                }
                FetchItem::Body | FetchItem::BodyStructure => {
                    let (raw, root) = (raw.as_deref().unwrap_or_default(), structure.as_ref().expect("parsed"));
                    let extended = matches!(item, FetchItem::BodyStructure);
                    let name = if extended { "BODYSTRUCTURE" } else { "BODY" };
                    push(&mut out, format!("{name} {}", mime::body_structure(raw, root, extended)).as_bytes())
                }
                FetchItem::Rfc822(kind) => {
                    let raw = raw.as_deref().unwrap_or_default();
                    let root = structure.as_ref().expect("parsed");
                    let (name, bytes) = match kind {
                        Rfc822Kind::Full => ("RFC822", raw.to_vec()),
                        Rfc822Kind::Header => ("RFC822.HEADER", mime::header_with_blank_line(raw, root)),
                        Rfc822Kind::Text => ("RFC822.TEXT", raw[root.body.clone()].to_vec()),
                    };
                    let mut item = format!("{name} ").into_bytes();
                    item.extend(literal(&bytes));
                    push(&mut out, &item);
                }
                FetchItem::Section { section, partial, .. } => {
                    let raw = raw.as_deref().unwrap_or_default();
                    let root = structure.as_ref().expect("parsed");
                    let bytes = section_bytes(raw, root, section);
                    let mut label = format!("BODY[{}]", section_name(section));
                    let value = match (bytes, partial) {
                        (None, _) => b"NIL".to_vec(),
                        (Some(b), None) => literal(&b),
                        (Some(b), Some((offset, length))) => {
                            label.push_str(&format!("<{offset}>"));
                            literal(partial_slice(&b, *offset, *length))
                        }
                    };
                    let mut item = format!("{label} ").into_bytes();
                    item.extend(value);
                    push(&mut out, &item);
                }
                FetchItem::Binary { part, .. } | FetchItem::BinarySize(part) => {
                    let partial = match item {
                        FetchItem::Binary { partial, .. } => *partial,
                        _ => None,
                    };
                    let raw = raw.as_deref().unwrap_or_default();
                    let root = structure.as_ref().expect("parsed");
                    let numbers: Vec<String> = part.iter().map(u32::to_string).collect();
                    let bytes = match crate::binary::content(raw, root, part) {
                        None => None,
                        Some(crate::binary::Content::Bytes(b)) => Some(b),
                        Some(crate::binary::Content::UnknownEncoding(cte)) => {
                            return Done::no(format!(
                                "[UNKNOWN-CTE] Part {} is in {cte}, which cannot be decoded",
                                numbers.join(".")
                            ));
                        }
                    };
                    let item = match (item, bytes) {
                        (FetchItem::BinarySize(_), b) => {
                            format!("BINARY.SIZE[{}] {}", numbers.join("."), b.map_or(0, |b| b.len())).into_bytes()
                        }
                        (_, None) => format!("BINARY[{}] NIL", numbers.join(".")).into_bytes(),
                        (_, Some(b)) => {
                            let mut label = format!("BINARY[{}]", numbers.join("."));
                            let slice = match partial {
                                None => &b[..],
                                Some((offset, length)) => {
                                    // The origin as for BODY[]<n> (RFC 3516 §4.2, and what
                                    // Dovecot and imaptest do; RFC 9051's ABNF leaves it out).
                                    label.push_str(&format!("<{offset}>"));
                                    partial_slice(&b, offset, length)
                                }
                            };
                            let mut item = format!("{label} ").into_bytes();
                            item.extend(literal(slice));
                            item
                        }
                    };
                    push(&mut out, &item);
                }
            }
        }
        if to_mark.last() == Some(&m.uid) && !flags_sent {
            push(&mut out, format!("FLAGS {}", flag_list(&flags)).as_bytes());
        }
        if uid && !items.contains(&FetchItem::Uid) {
            push(&mut out, format!("UID {}", m.uid).as_bytes());
        }
        out.extend_from_slice(b")\r\n");
        session.out.extend_from_slice(&out);
        if session.out.len() >= FLUSH_AT && session.flush().await.is_err() {
            return Done::no("[UNAVAILABLE] The connection failed");
        }
    }
    if !to_mark.is_empty() {
        match session.view.store_flags(&account, &name, &to_mark, FlagChange::Add, &["\\Seen".to_string()], None).await
        {
            Ok(stored) => {
                if let Some(s) = session.selected.as_mut() {
                    for now in &stored.messages {
                        if let Some(seq) = s.seq_of(now.uid) {
                            let m = &mut s.messages[seq as usize - 1];
                            m.flags = now.flags.clone();
                            m.modseq = now.modseq;
                        }
                    }
                }
            }
            Err(e) => return refusal(e),
        }
    }
    Done::ok("FETCH done")
}

#[allow(clippy::too_many_arguments)]
async fn store(
    session: &mut Session,
    uid: bool,
    set: &SequenceSet,
    unchanged_since: Option<u64>,
    mode: StoreMode,
    silent: bool,
    flags: &[String],
) -> Done {
    let account = session.account.clone().unwrap_or_default();
    let selected = session.selected.as_ref().expect("selected");
    if selected.read_only {
        return Done::no("[READ-ONLY] The mailbox is open read-only");
    }
    if unchanged_since.is_some() {
        session.enable_condstore();
    }
    let selected = session.selected.as_ref().expect("selected");
    let condstore = session.enabled.condstore;
    let name = selected.name.clone();
    let targets: Vec<u32> = selected
        .resolve(set, uid, &session.saved)
        .into_iter()
        .map(|(_, i)| selected.messages[i].uid)
        .filter(|u| !selected.gone.contains(u))
        .collect();
    let flags: Vec<String> = flags.iter().filter(|f| !f.eq_ignore_ascii_case("\\Recent")).cloned().collect();
    let change = match mode {
        StoreMode::Replace => FlagChange::Replace,
        StoreMode::Add => FlagChange::Add,
        StoreMode::Remove => FlagChange::Remove,
    };
    let stored = match session.view.store_flags(&account, &name, &targets, change, &flags, unchanged_since).await {
        Ok(s) => s,
        Err(e) => return refusal(e),
    };
    let Some(mut selected) = session.selected.take() else { return Done::ok("STORE done") };
    let stored_flags: Vec<String> = stored.messages.iter().flat_map(|m| m.flags.iter().cloned()).collect();
    selected.announce_keywords(session, &stored_flags);
    let mut lines = Vec::new();
    for now in &stored.messages {
        let Some(seq) = selected.seq_of(now.uid) else { continue };
        let m = &mut selected.messages[seq as usize - 1];
        let changed = m.flags != now.flags || m.modseq != now.modseq;
        m.flags = now.flags.clone();
        m.modseq = now.modseq;
        // Silent still reports the new mod-sequence (RFC 7162 §3.1.3).
        if silent && !(condstore && changed) {
            continue;
        }
        let mut parts = Vec::new();
        if !silent {
            let mut shown = m.flags.clone();
            if selected.recent.contains(&m.uid) {
                shown.push("\\Recent".into());
            }
            parts.push(format!("FLAGS {}", flag_list(&shown)));
        }
        if uid {
            parts.push(format!("UID {}", m.uid));
        }
        if condstore {
            parts.push(format!("MODSEQ ({})", m.modseq));
        }
        lines.push(format!("{seq} FETCH ({})", parts.join(" ")));
    }
    let modified: Vec<u32> = if uid {
        stored.modified.clone()
    } else {
        stored.modified.iter().filter_map(|u| selected.seq_of(*u)).collect()
    };
    session.selected = Some(selected);
    for line in lines {
        session.untagged(&line);
    }
    if modified.is_empty() {
        Done::ok("STORE done")
    } else {
        Done::ok(format!("[MODIFIED {}] Conditional STORE failed for some", compact(&modified)))
    }
}

async fn copy_or_move(session: &mut Session, uid: bool, set: &SequenceSet, mailbox: &str, moving: bool) -> Done {
    let account = session.account.clone().unwrap_or_default();
    let target = session.mailbox_name(mailbox);
    let selected = session.selected.as_ref().expect("selected");
    if moving && selected.read_only {
        return Done::no("[READ-ONLY] The mailbox is open read-only");
    }
    let source = selected.name.clone();
    let uids: Vec<u32> = selected
        .resolve(set, uid, &session.saved)
        .into_iter()
        .map(|(_, i)| selected.messages[i].uid)
        .filter(|u| !selected.gone.contains(u))
        .collect();
    let folders = match session.view.folders(&account).await {
        Ok(fs) => fs,
        Err(e) => return refusal(e),
    };
    let Some(dest) = folders.iter().find(|f| f.name == target) else {
        return Done::no(format!("[TRYCREATE] No mailbox {mailbox}"));
    };
    let uidvalidity = dest.uidvalidity;
    if uids.is_empty() {
        return Done::ok(if moving { "MOVE done" } else { "COPY done" });
    }
    let result = if moving && target != source {
        session.view.move_messages(&account, &source, &uids, &target).await
    } else if moving {
        // Into itself: copies, then the originals go.
        let copied = session.view.copy_messages(&account, &source, &uids, &target).await;
        if copied.is_ok() {
            let deleted = ["\\Deleted".to_string()];
            let flagged = session.view.store_flags(&account, &source, &uids, FlagChange::Add, &deleted, None).await;
            if let Err(e) = flagged {
                return refusal(e);
            }
            if let Err(e) = session.view.expunge(&account, &source, Some(&uids)).await {
                return refusal(e);
            }
        }
        copied
    } else {
        session.view.copy_messages(&account, &source, &uids, &target).await
    };
    let pairs = match result {
        Ok(p) => p,
        Err(e) => return refusal(e),
    };
    let copyuid = if pairs.is_empty() {
        String::new()
    } else {
        let from: Vec<u32> = pairs.iter().map(|p| p.0).collect();
        let to: Vec<u32> = pairs.iter().map(|p| p.1).collect();
        format!("[COPYUID {uidvalidity} {} {}] ", compact(&from), compact(&to))
    };
    if moving {
        if !copyuid.is_empty() {
            session.untagged(&format!("OK {copyuid}Moved"));
        }
        let mut moved: Vec<u32> = pairs.iter().map(|p| p.0).collect();
        moved.sort_unstable();
        if let Some(mut selected) = session.selected.take() {
            selected.report_expunged(session, &moved);
            selected.dirty = true;
            session.selected = Some(selected);
        }
        session.drain_changes();
        session.sync(true).await;
        Done::ok("MOVE done")
    } else {
        session.sync(uid).await;
        Done::ok(format!("{copyuid}COPY done"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn partial_takes_positions_from_either_end() {
        let n = [3, 5, 6, 7, 9];
        assert_eq!(super::partial(2, 4, &n, false), " PARTIAL (2:4 5:7)");
        assert_eq!(super::partial(1, 100, &n, false), " PARTIAL (1:100 3,5:7,9)");
        assert_eq!(super::partial(6, 6, &n, false), " PARTIAL (6:6 NIL)");
        assert_eq!(super::partial(-1, -2, &n, false), " PARTIAL (-1:-2 7,9)");
        assert_eq!(super::partial(-5, -9, &n, false), " PARTIAL (-5:-9 3)");
        assert_eq!(super::partial(2, 3, &[9, 1, 2], true), " PARTIAL (2:3 1:2)");
    }

    #[test]
    fn sorted_sets_keep_their_order() {
        assert_eq!(super::in_order(&[5, 3, 4, 2, 1]), "5,3:4,2,1");
        assert_eq!(super::in_order(&[1, 2, 3, 7]), "1:3,7");
        assert_eq!(super::in_order(&[]), "");
    }
}
