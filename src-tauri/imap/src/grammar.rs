//! The IMAP command grammar (RFC 9051 §9, with RFC 3501 forms, LITERAL+, UIDPLUS, MOVE,
//! CONDSTORE/QRESYNC, LIST-EXTENDED/LIST-STATUS, ESEARCH, ID, ENABLE, QUOTA): one whole
//! command as read from the wire (literals inline, `{n}\r\n` + n bytes) becomes a
//! [`Command`], or a [`ParseError`] saying what was wrong. No I/O, no allocation beyond the
//! command's own size, recursion bounded ([`MAX_DEPTH`]); fuzzed in the tests.

use crate::sequence::SequenceSet;

/// How deep search keys and parenthesised lists may nest.
pub const MAX_DEPTH: usize = 32;

/// The most items one list (flags, fetch items, search keys in a list) may have.
pub const MAX_ITEMS: usize = 1000;

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The client's tag.
    pub tag: String,
    /// What it asks.
    pub body: CommandBody,
}

/// How STORE changes flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreMode {
    /// `FLAGS`
    Replace,
    /// `+FLAGS`
    Add,
    /// `-FLAGS`
    Remove,
}

/// A STATUS item (also LIST RETURN (STATUS …)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusItem {
    /// MESSAGES
    Messages,
    /// RECENT (IMAP4rev1)
    Recent,
    /// UIDNEXT
    UidNext,
    /// UIDVALIDITY
    UidValidity,
    /// UNSEEN
    Unseen,
    /// SIZE (RFC 8438)
    Size,
    /// DELETED (IMAP4rev2)
    Deleted,
    /// HIGHESTMODSEQ (CONDSTORE)
    HighestModSeq,
}

/// What a FETCH asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchItem {
    /// UID
    Uid,
    /// FLAGS
    Flags,
    /// INTERNALDATE
    InternalDate,
    /// RFC822.SIZE
    Size,
    /// ENVELOPE
    Envelope,
    /// BODY (no extension data)
    Body,
    /// BODYSTRUCTURE
    BodyStructure,
    /// MODSEQ
    ModSeq,
    /// RFC822 (= BODY[]), RFC822.HEADER (= BODY.PEEK[HEADER]), RFC822.TEXT (= BODY[TEXT]);
    /// named as asked in the reply.
    Rfc822(Rfc822Kind),
    /// BINARY[part]<partial> or BINARY.PEEK[…] (RFC 3516): the part's content decoded.
    Binary {
        /// The part numbers (empty: the whole message).
        part: Vec<u32>,
        /// `<offset.length>`.
        partial: Option<(u32, Option<u32>)>,
        /// BINARY.PEEK: leaves `\Seen` alone.
        peek: bool,
    },
    /// BINARY.SIZE[part]: the size of the decoded content.
    BinarySize(Vec<u32>),
    /// BODY[section]<partial> or BODY.PEEK[…].
    Section {
        /// The section.
        section: Section,
        /// `<offset.length>`.
        partial: Option<(u32, Option<u32>)>,
        /// BODY.PEEK: leaves `\Seen` alone.
        peek: bool,
    },
}

/// The RFC 822 fetch forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rfc822Kind {
    /// RFC822
    Full,
    /// RFC822.HEADER
    Header,
    /// RFC822.TEXT
    Text,
}

/// A body section: `1.2.HEADER.FIELDS (From To)`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    /// The part numbers (empty: the whole message).
    pub part: Vec<u32>,
    /// What of that part.
    pub text: SectionText,
}

/// What of a part a section names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SectionText {
    /// The whole part (or message).
    #[default]
    Full,
    /// HEADER
    Header,
    /// HEADER.FIELDS (names)
    HeaderFields(Vec<String>),
    /// HEADER.FIELDS.NOT (names)
    HeaderFieldsNot(Vec<String>),
    /// TEXT
    Text,
    /// MIME
    Mime,
}

/// A search key (RFC 9051 §6.4.4, with MODSEQ from RFC 7162).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchKey {
    /// All of these (a list, or the keys of one SEARCH).
    And(Vec<SearchKey>),
    /// OR a b
    Or(Box<SearchKey>, Box<SearchKey>),
    /// NOT a
    Not(Box<SearchKey>),
    /// ALL
    All,
    /// A flag is set (ANSWERED, DELETED, DRAFT, FLAGGED, SEEN, KEYWORD k).
    Flag(String),
    /// A flag is not set (UNANSWERED, …, UNKEYWORD k).
    NoFlag(String),
    /// NEW (= RECENT UNSEEN)
    New,
    /// OLD (= NOT RECENT)
    Old,
    /// RECENT
    Recent,
    /// A header contains a string (FROM, TO, CC, BCC, SUBJECT, HEADER name s).
    Header(String, String),
    /// BODY s
    Body(String),
    /// TEXT s
    Text(String),
    /// INTERNALDATE before, on, since (days since 1970-01-01).
    Before(i32),
    /// INTERNALDATE on a day.
    On(i32),
    /// INTERNALDATE on or after a day.
    Since(i32),
    /// The Date: header before a day.
    SentBefore(i32),
    /// The Date: header on a day.
    SentOn(i32),
    /// The Date: header on or after a day.
    SentSince(i32),
    /// RFC822.SIZE larger than n.
    Larger(u64),
    /// RFC822.SIZE smaller than n.
    Smaller(u64),
    /// UID set
    Uid(SequenceSet),
    /// A sequence set.
    Seq(SequenceSet),
    /// MODSEQ [entry type] n: changed at or after n.
    ModSeq(u64),
}

/// What ESEARCH's RETURN asks (RFC 4731, RFC 5182 SAVE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchReturn {
    /// MIN
    Min,
    /// MAX
    Max,
    /// ALL
    All,
    /// COUNT
    Count,
    /// SAVE
    Save,
    /// UPDATE (RFC 5267): keep the result up to date with ADDTO/REMOVEFROM.
    Update,
    /// CONTEXT (RFC 5267): a hint that more will be asked of this result; nothing to do.
    Context,
    /// PARTIAL first:last (RFC 5267, RFC 9394): positions of the result, 1-based; negative
    /// numbers count from the end (`-1:-10`, the last ten). Always `first <= last` in
    /// magnitude.
    Partial(i64, i64),
}

/// `PARTIAL`'s range: `n:m` or `-n:-m` (either order), never 0 or `*`.
fn partial_range(text: &str) -> Option<(i64, i64)> {
    let (a, b) = text.split_once(':')?;
    let (a, b): (i64, i64) = (a.parse().ok()?, b.parse().ok()?);
    if a == 0
        || b == 0
        || (a < 0) != (b < 0)
        || a.unsigned_abs() > u64::from(u32::MAX)
        || b.unsigned_abs() > u64::from(u32::MAX)
    {
        return None;
    }
    Some(if a.abs() <= b.abs() { (a, b) } else { (b, a) })
}

/// A THREAD algorithm (RFC 5256).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadAlgorithm {
    /// ORDEREDSUBJECT: by base subject, then date.
    OrderedSubject,
    /// REFERENCES: by References/In-Reply-To, then base subject.
    References,
}

/// A SORT criterion (RFC 5256, DISPLAYFROM/DISPLAYTO from RFC 5957).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// INTERNALDATE
    Arrival,
    /// The first Cc address's local part.
    Cc,
    /// The Date header (INTERNALDATE when it has none).
    Date,
    /// The first From address's local part.
    From,
    /// RFC822.SIZE
    Size,
    /// The base subject.
    Subject,
    /// The first To address's local part.
    To,
    /// The first From address's display name (or address).
    DisplayFrom,
    /// The first To address's display name (or address).
    DisplayTo,
}

/// QRESYNC parameters of SELECT/EXAMINE (RFC 7162 §3.2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QResync {
    /// The UIDVALIDITY the client knew.
    pub uidvalidity: u32,
    /// The mod-sequence it had seen.
    pub modseq: u64,
    /// The UIDs it knows (optional).
    pub known_uids: Option<SequenceSet>,
}

/// One message of an APPEND.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendMessage {
    /// Flags to set.
    pub flags: Vec<String>,
    /// The INTERNALDATE given (`"17-Jul-1996 02:44:25 -0700"`), as seconds since the epoch.
    pub date: Option<i64>,
    /// The message, or what CATENATE (RFC 4469) makes it of.
    pub content: AppendContent,
}

/// What an APPEND gives for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendContent {
    /// A literal; `binary` when a literal8 (`~{n}`, RFC 3516): it may hold binary parts.
    Literal {
        /// The message.
        data: Vec<u8>,
        /// Given as a literal8.
        binary: bool,
    },
    /// `CATENATE (TEXT {n} URL "/INBOX/;UID=3/;SECTION=HEADER" …)`: the parts in order.
    Catenate(Vec<CatenatePart>),
}

/// NOTIFY SET: which mailboxes, which events, and whether to send their STATUS now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifySet {
    /// `STATUS`: send the STATUS of every mailbox named, at once.
    pub status: bool,
    /// The filters and their events (upper-cased event names; empty for NONE).
    pub groups: Vec<(NotifyFilter, Vec<String>)>,
}

/// A NOTIFY mailbox filter (RFC 5465 §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyFilter {
    /// SELECTED
    Selected,
    /// SELECTED-DELAYED
    SelectedDelayed,
    /// INBOXES
    Inboxes,
    /// PERSONAL
    Personal,
    /// SUBSCRIBED
    Subscribed,
    /// SUBTREE (mailboxes): these and everything below them.
    Subtree(Vec<String>),
    /// MAILBOXES (mailboxes)
    Mailboxes(Vec<String>),
}

/// One part of a CATENATE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatenatePart {
    /// Text given in the command.
    Text(Vec<u8>),
    /// An IMAP URL (RFC 5092) of a message or a section of one.
    Url(String),
}

/// A section named in an IMAP URL (`HEADER`, `1.2`, `HEADER.FIELDS (From)`), as a FETCH
/// would name it; `None` when it is not one.
pub fn parse_url_section(text: &str) -> Option<Section> {
    let wrapped = format!("[{text}]");
    let mut p = Parser { s: wrapped.as_bytes(), i: 0 };
    let section = p.section().ok()?;
    (p.i == wrapped.len()).then_some(section)
}

/// LIST options (RFC 5258, RFC 5819, RFC 6154).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListOptions {
    /// SUBSCRIBED selection (or LSUB).
    pub subscribed_only: bool,
    /// RECURSIVEMATCH
    pub recursive_match: bool,
    /// SPECIAL-USE selection: only folders with a special use.
    pub special_use_only: bool,
    /// RETURN (SUBSCRIBED)
    pub return_subscribed: bool,
    /// RETURN (CHILDREN)
    pub return_children: bool,
    /// RETURN (SPECIAL-USE)
    pub return_special_use: bool,
    /// RETURN (STATUS (…))
    pub return_status: Option<Vec<StatusItem>>,
    /// An extended LIST (selection or return options given, or several patterns).
    pub extended: bool,
}

/// The commands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum CommandBody {
    Capability,
    Noop,
    Logout,
    StartTls,
    Authenticate {
        mechanism: String,
        initial: Option<String>,
    },
    Login {
        user: String,
        password: String,
    },
    Enable(Vec<String>),
    Select {
        mailbox: String,
        read_only: bool,
        condstore: bool,
        qresync: Option<QResync>,
    },
    Create(String),
    Delete(String),
    Rename {
        from: String,
        to: String,
    },
    Subscribe(String),
    Unsubscribe(String),
    List {
        reference: String,
        patterns: Vec<String>,
        options: ListOptions,
        lsub: bool,
    },
    Namespace,
    Status {
        mailbox: String,
        items: Vec<StatusItem>,
    },
    Append {
        mailbox: String,
        messages: Vec<AppendMessage>,
    },
    Idle,
    Check,
    /// CANCELUPDATE "tag" … (RFC 5267).
    CancelUpdate(Vec<String>),
    /// GENURLAUTH url mechanism … (RFC 4467).
    GenUrlAuth(Vec<(String, String)>),
    /// URLFETCH url … (RFC 4467).
    UrlFetch(Vec<String>),
    /// RESETKEY [mailbox [mechanism …]] (RFC 4467).
    ResetKey(Option<String>),
    /// NOTIFY NONE (`None`) or NOTIFY SET [STATUS] (filter events)… (RFC 5465).
    Notify(Option<NotifySet>),
    Close,
    Unselect,
    Expunge {
        uids: Option<SequenceSet>,
    },
    Search {
        uid: bool,
        ret: Option<Vec<SearchReturn>>,
        charset: Option<String>,
        key: SearchKey,
    },
    Sort {
        uid: bool,
        ret: Option<Vec<SearchReturn>>,
        criteria: Vec<(bool, SortKey)>,
        charset: String,
        key: SearchKey,
    },
    Thread {
        uid: bool,
        algorithm: ThreadAlgorithm,
        charset: String,
        key: SearchKey,
    },
    Fetch {
        uid: bool,
        set: SequenceSet,
        items: Vec<FetchItem>,
        changed_since: Option<u64>,
        vanished: bool,
    },
    Store {
        uid: bool,
        set: SequenceSet,
        unchanged_since: Option<u64>,
        mode: StoreMode,
        silent: bool,
        flags: Vec<String>,
    },
    Copy {
        uid: bool,
        set: SequenceSet,
        mailbox: String,
    },
    Move {
        uid: bool,
        set: SequenceSet,
        mailbox: String,
    },
    Id(Vec<(String, Option<String>)>),
    GetQuota(String),
    GetQuotaRoot(String),
    SetQuota,
}

/// Why a command could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The tag, when one could be read (the reply is tagged `BAD` then, else `* BAD`).
    pub tag: Option<String>,
    /// What was wrong, for the client.
    pub message: String,
}

type R<T> = Result<T, String>;

/// Parses one whole command (with its CRLF, literals inline).
pub fn parse_command(input: &[u8]) -> Result<Command, ParseError> {
    let mut p = Parser { s: input, i: 0 };
    let tag = match p.tag() {
        Ok(t) => t,
        Err(message) => return Err(ParseError { tag: None, message }),
    };
    let result = p.sp().and_then(|_| p.command_body()).and_then(|body| {
        p.crlf()?;
        Ok(body)
    });
    result.map(|body| Command { tag: tag.clone(), body }).map_err(|message| ParseError { tag: Some(tag), message })
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

/// An atom character; 8-bit bytes are taken too (UTF-8 search words sent unquoted), as
/// common servers do.
fn is_atom_char(b: u8) -> bool {
    b > 0x20 && b != 0x7f && !matches!(b, b'(' | b')' | b'{' | b' ' | b'%' | b'*' | b'"' | b'\\' | b']')
}

fn is_astring_char(b: u8) -> bool {
    is_atom_char(b) || b == b']'
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, b: u8, what: &str) -> R<()> {
        if self.eat(b) { Ok(()) } else { Err(format!("expected {what}")) }
    }

    fn sp(&mut self) -> R<()> {
        self.expect(b' ', "a space")
    }

    fn crlf(&mut self) -> R<()> {
        self.eat(b'\r');
        if self.eat(b'\n') && self.i == self.s.len() { Ok(()) } else { Err("unexpected text at the end".into()) }
    }

    fn tag(&mut self) -> R<String> {
        let start = self.i;
        while self.peek().is_some_and(|b| is_astring_char(b) && b != b'+') {
            self.i += 1;
        }
        if self.i == start {
            return Err("a command starts with a tag".into());
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn atom(&mut self) -> R<String> {
        let start = self.i;
        while self.peek().is_some_and(is_atom_char) {
            self.i += 1;
        }
        if self.i == start {
            return Err("expected an atom".into());
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    /// An atom that may contain `]` (astring-char) — flag names, sequence sets.
    fn word(&mut self, extra: &[u8]) -> R<String> {
        let start = self.i;
        while self.peek().is_some_and(|b| is_atom_char(b) || extra.contains(&b)) {
            self.i += 1;
        }
        if self.i == start {
            return Err("expected a word".into());
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn number(&mut self) -> R<u64> {
        let start = self.i;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| "expected a number".to_string())
    }

    fn nz_number(&mut self) -> R<u32> {
        match self.number()? {
            n @ 1..=0xFFFF_FFFF => Ok(n as u32),
            _ => Err("expected a number from 1 to 4294967295".into()),
        }
    }

    fn quoted(&mut self) -> R<Vec<u8>> {
        self.expect(b'"', "a quoted string")?;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None | Some(b'\r') | Some(b'\n') => return Err("unterminated quoted string".into()),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => {
                            out.push(c);
                            self.i += 1;
                        }
                        _ => return Err("only \\\" and \\\\ may be escaped in a quoted string".into()),
                    }
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }

    fn literal_ahead(&self) -> bool {
        self.peek() == Some(b'{') || (self.peek() == Some(b'~') && self.s.get(self.i + 1) == Some(&b'{'))
    }

    fn literal(&mut self) -> R<Vec<u8>> {
        self.eat(b'~');
        self.expect(b'{', "a literal")?;
        let n = self.number()? as usize;
        self.eat(b'+');
        self.expect(b'}', "'}'")?;
        self.eat(b'\r');
        self.expect(b'\n', "a line break after a literal's size")?;
        let end = self.i.checked_add(n).filter(|&e| e <= self.s.len()).ok_or("the literal is shorter than declared")?;
        let data = self.s[self.i..end].to_vec();
        self.i = end;
        Ok(data)
    }

    fn string(&mut self) -> R<Vec<u8>> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            _ if self.literal_ahead() => self.literal(),
            _ => Err("expected a string".into()),
        }
    }

    fn astring_bytes(&mut self) -> R<Vec<u8>> {
        match self.peek() {
            Some(b'"') => self.string(),
            _ if self.literal_ahead() => self.string(),
            _ => {
                let start = self.i;
                while self.peek().is_some_and(is_astring_char) {
                    self.i += 1;
                }
                if self.i == start {
                    return Err("expected a string or an atom".into());
                }
                Ok(self.s[start..self.i].to_vec())
            }
        }
    }

    fn astring(&mut self) -> R<String> {
        String::from_utf8(self.astring_bytes()?).map_err(|_| "the string is not UTF-8".to_string())
    }

    fn nstring(&mut self) -> R<Option<String>> {
        if self.keyword_ahead("NIL") {
            self.i += 3;
            return Ok(None);
        }
        let bytes = self.string()?;
        Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
    }

    fn keyword_ahead(&self, word: &str) -> bool {
        let end = self.i + word.len();
        end <= self.s.len()
            && self.s[self.i..end].eq_ignore_ascii_case(word.as_bytes())
            && !self.s.get(end).is_some_and(|&b| is_atom_char(b))
    }

    fn mailbox(&mut self) -> R<String> {
        self.astring()
    }

    /// A LIST pattern: an astring that may contain `%` and `*`.
    fn list_mailbox(&mut self) -> R<String> {
        match self.peek() {
            Some(b'"') => String::from_utf8(self.string()?).map_err(|_| "the pattern is not UTF-8".to_string()),
            _ if self.literal_ahead() => {
                String::from_utf8(self.string()?).map_err(|_| "the pattern is not UTF-8".to_string())
            }
            _ => {
                let start = self.i;
                while self.peek().is_some_and(|b| is_astring_char(b) || b == b'%' || b == b'*') {
                    self.i += 1;
                }
                if self.i == start {
                    return Err("expected a mailbox pattern".into());
                }
                Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
            }
        }
    }

    fn sequence_set(&mut self) -> R<SequenceSet> {
        let start = self.i;
        while self.peek().is_some_and(|b| b.is_ascii_digit() || matches!(b, b':' | b',' | b'*' | b'$')) {
            self.i += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
        SequenceSet::parse(text).ok_or_else(|| format!("'{text}' is not a sequence set"))
    }

    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> R<T>) -> R<Vec<T>> {
        self.expect(b'(', "'('")?;
        let mut out = Vec::new();
        if self.eat(b')') {
            return Ok(out);
        }
        loop {
            if out.len() >= MAX_ITEMS {
                return Err(format!("a list has at most {MAX_ITEMS} items"));
            }
            out.push(item(self)?);
            if self.eat(b')') {
                return Ok(out);
            }
            self.sp()?;
        }
    }

    fn flag(&mut self) -> R<String> {
        if self.eat(b'\\') {
            if self.eat(b'*') {
                return Ok("\\*".into());
            }
            return Ok(format!("\\{}", self.atom()?));
        }
        self.atom()
    }

    fn flag_list(&mut self) -> R<Vec<String>> {
        if self.peek() == Some(b'(') { self.list(Self::flag) } else { Ok(vec![self.flag()?]) }
    }

    fn command_body(&mut self) -> R<CommandBody> {
        let name = self.atom()?.to_ascii_uppercase();
        let uid = name == "UID";
        let name = if uid {
            self.sp()?;
            self.atom()?.to_ascii_uppercase()
        } else {
            name
        };
        let body = match (uid, name.as_str()) {
            (false, "CAPABILITY") => CommandBody::Capability,
            (false, "NOOP") => CommandBody::Noop,
            (false, "LOGOUT") => CommandBody::Logout,
            (false, "STARTTLS") => CommandBody::StartTls,
            (false, "NAMESPACE") => CommandBody::Namespace,
            (false, "IDLE") => CommandBody::Idle,
            (false, "CHECK") => CommandBody::Check,
            (false, "CLOSE") => CommandBody::Close,
            (false, "UNSELECT") => CommandBody::Unselect,
            (false, "GENURLAUTH") => {
                let mut pairs = Vec::new();
                while self.eat(b' ') {
                    if pairs.len() >= MAX_ITEMS {
                        return Err("too many URLs".into());
                    }
                    let url = self.astring()?;
                    self.sp()?;
                    pairs.push((url, self.atom()?));
                }
                if pairs.is_empty() {
                    return Err("GENURLAUTH needs a URL and a mechanism".into());
                }
                CommandBody::GenUrlAuth(pairs)
            }
            (false, "URLFETCH") => {
                let mut urls = Vec::new();
                while self.eat(b' ') {
                    if urls.len() >= MAX_ITEMS {
                        return Err("too many URLs".into());
                    }
                    if self.peek() == Some(b'(') {
                        return Err("URLFETCH with parameters (RFC 5524) is not offered".into());
                    }
                    urls.push(self.astring()?);
                }
                if urls.is_empty() {
                    return Err("URLFETCH needs a URL".into());
                }
                CommandBody::UrlFetch(urls)
            }
            (false, "RESETKEY") => {
                let mut mailbox = None;
                if self.eat(b' ') {
                    mailbox = Some(self.mailbox()?);
                    while self.eat(b' ') {
                        let mechanism = self.atom()?;
                        if !mechanism.eq_ignore_ascii_case("INTERNAL") {
                            return Err(format!("unknown URLAUTH mechanism {mechanism}"));
                        }
                    }
                }
                CommandBody::ResetKey(mailbox)
            }
            (false, "NOTIFY") => {
                self.sp()?;
                let word = self.atom()?.to_ascii_uppercase();
                match word.as_str() {
                    "NONE" => CommandBody::Notify(None),
                    "SET" => {
                        let mut set = NotifySet { status: false, groups: Vec::new() };
                        self.sp()?;
                        if self.keyword_ahead("STATUS") {
                            self.i += 6;
                            set.status = true;
                            self.sp()?;
                        }
                        set.groups.push(self.notify_group()?);
                        while self.eat(b' ') {
                            if set.groups.len() >= MAX_ITEMS {
                                return Err("too many NOTIFY filters".into());
                            }
                            set.groups.push(self.notify_group()?);
                        }
                        CommandBody::Notify(Some(set))
                    }
                    other => return Err(format!("NOTIFY {other}: NONE or SET")),
                }
            }
            (false, "CANCELUPDATE") => {
                let mut tags = Vec::new();
                while self.eat(b' ') {
                    if tags.len() >= MAX_ITEMS {
                        return Err("too many tags".into());
                    }
                    tags.push(String::from_utf8(self.quoted()?).map_err(|_| "a tag is ASCII")?);
                }
                if tags.is_empty() {
                    return Err("CANCELUPDATE needs the tags of the searches".into());
                }
                CommandBody::CancelUpdate(tags)
            }
            (false, "EXPUNGE") => CommandBody::Expunge { uids: None },
            (true, "EXPUNGE") => {
                self.sp()?;
                CommandBody::Expunge { uids: Some(self.sequence_set()?) }
            }
            (false, "AUTHENTICATE") => {
                self.sp()?;
                let mechanism = self.atom()?.to_ascii_uppercase();
                let initial = if self.eat(b' ') { Some(self.word(b"=")?) } else { None };
                CommandBody::Authenticate { mechanism, initial }
            }
            (false, "LOGIN") => {
                self.sp()?;
                let user = self.astring()?;
                self.sp()?;
                let password = self.astring()?;
                CommandBody::Login { user, password }
            }
            (false, "ENABLE") => {
                let mut caps = Vec::new();
                while self.eat(b' ') {
                    if caps.len() >= MAX_ITEMS {
                        return Err("too many capabilities".into());
                    }
                    caps.push(self.atom()?.to_ascii_uppercase());
                }
                if caps.is_empty() {
                    return Err("ENABLE needs a capability".into());
                }
                CommandBody::Enable(caps)
            }
            (false, "SELECT" | "EXAMINE") => {
                self.sp()?;
                let mailbox = self.mailbox()?;
                let (mut condstore, mut qresync) = (false, None);
                if self.eat(b' ') {
                    self.expect(b'(', "'('")?;
                    loop {
                        let p = self.atom()?.to_ascii_uppercase();
                        match p.as_str() {
                            "CONDSTORE" => condstore = true,
                            "QRESYNC" => {
                                self.sp()?;
                                self.expect(b'(', "'('")?;
                                let uidvalidity = self.nz_number()?;
                                self.sp()?;
                                let modseq = self.number()?;
                                let mut known_uids = None;
                                if self.eat(b' ') && self.peek() != Some(b'(') {
                                    known_uids = Some(self.sequence_set()?);
                                    self.eat(b' ');
                                }
                                if self.peek() == Some(b'(') {
                                    // The sequence-match data: a hint we do not need.
                                    self.list(|p| p.sequence_set())?;
                                }
                                self.expect(b')', "')'")?;
                                qresync = Some(QResync { uidvalidity, modseq, known_uids });
                            }
                            other => return Err(format!("unknown SELECT parameter {other}")),
                        }
                        if self.eat(b')') {
                            break;
                        }
                        self.sp()?;
                    }
                }
                CommandBody::Select { mailbox, read_only: name == "EXAMINE", condstore, qresync }
            }
            (false, "CREATE") => {
                self.sp()?;
                let mailbox = self.mailbox()?;
                if self.eat(b' ') {
                    // CREATE-SPECIAL-USE parameters are not offered.
                    return Err("CREATE takes no parameters here".into());
                }
                CommandBody::Create(mailbox)
            }
            (false, "DELETE") => {
                self.sp()?;
                CommandBody::Delete(self.mailbox()?)
            }
            (false, "RENAME") => {
                self.sp()?;
                let from = self.mailbox()?;
                self.sp()?;
                CommandBody::Rename { from, to: self.mailbox()? }
            }
            (false, "SUBSCRIBE") => {
                self.sp()?;
                CommandBody::Subscribe(self.mailbox()?)
            }
            (false, "UNSUBSCRIBE") => {
                self.sp()?;
                CommandBody::Unsubscribe(self.mailbox()?)
            }
            (false, "LSUB") => {
                self.sp()?;
                let reference = self.mailbox()?;
                self.sp()?;
                let pattern = self.list_mailbox()?;
                let options = ListOptions { subscribed_only: true, ..Default::default() };
                CommandBody::List { reference, patterns: vec![pattern], options, lsub: true }
            }
            (false, "LIST") => self.list_command()?,
            (false, "STATUS") => {
                self.sp()?;
                let mailbox = self.mailbox()?;
                self.sp()?;
                CommandBody::Status { mailbox, items: self.list(Self::status_item)? }
            }
            (false, "APPEND") => self.append()?,
            (_, "SEARCH") => self.search(uid)?,
            (_, "SORT") => self.sort(uid)?,
            (_, "THREAD") => self.thread(uid)?,
            (_, "FETCH") => self.fetch(uid)?,
            (_, "STORE") => self.store(uid)?,
            (_, "COPY" | "MOVE") => {
                self.sp()?;
                let set = self.sequence_set()?;
                self.sp()?;
                let mailbox = self.mailbox()?;
                if name == "COPY" {
                    CommandBody::Copy { uid, set, mailbox }
                } else {
                    CommandBody::Move { uid, set, mailbox }
                }
            }
            (false, "ID") => {
                self.sp()?;
                if self.keyword_ahead("NIL") {
                    self.i += 3;
                    CommandBody::Id(Vec::new())
                } else {
                    let items = self.list(|p| p.nstring())?;
                    if items.len() % 2 != 0 || items.len() > 60 {
                        return Err("ID takes at most 30 field-value pairs".into());
                    }
                    let pairs = items
                        .chunks(2)
                        .map(|c| Ok((c[0].clone().ok_or("an ID field name cannot be NIL")?, c[1].clone())))
                        .collect::<R<Vec<_>>>()?;
                    CommandBody::Id(pairs)
                }
            }
            (false, "GETQUOTA") => {
                self.sp()?;
                CommandBody::GetQuota(self.astring()?)
            }
            (false, "GETQUOTAROOT") => {
                self.sp()?;
                CommandBody::GetQuotaRoot(self.mailbox()?)
            }
            (false, "SETQUOTA") => {
                // Quotas come from the plan; the rest of the line is not read.
                self.i = self.s.len() - usize::from(self.s.ends_with(b"\r\n")) - 1;
                CommandBody::SetQuota
            }
            (true, other) => return Err(format!("UID {other} is not a command")),
            (false, other) => return Err(format!("unknown command {other}")),
        };
        Ok(body)
    }

    fn status_item(&mut self) -> R<StatusItem> {
        let a = self.atom()?.to_ascii_uppercase();
        Ok(match a.as_str() {
            "MESSAGES" => StatusItem::Messages,
            "RECENT" => StatusItem::Recent,
            "UIDNEXT" => StatusItem::UidNext,
            "UIDVALIDITY" => StatusItem::UidValidity,
            "UNSEEN" => StatusItem::Unseen,
            "SIZE" => StatusItem::Size,
            "DELETED" => StatusItem::Deleted,
            "HIGHESTMODSEQ" => StatusItem::HighestModSeq,
            other => return Err(format!("unknown STATUS item {other}")),
        })
    }

    fn list_command(&mut self) -> R<CommandBody> {
        self.sp()?;
        let mut options = ListOptions::default();
        if self.peek() == Some(b'(') {
            options.extended = true;
            for opt in self.list(Self::atom)? {
                match opt.to_ascii_uppercase().as_str() {
                    "SUBSCRIBED" => options.subscribed_only = true,
                    "RECURSIVEMATCH" => options.recursive_match = true,
                    "SPECIAL-USE" => options.special_use_only = true,
                    "REMOTE" => {}
                    other => return Err(format!("unknown LIST selection option {other}")),
                }
            }
            if options.recursive_match && !options.subscribed_only {
                return Err("RECURSIVEMATCH needs another selection option".into());
            }
            self.sp()?;
        }
        let reference = self.mailbox()?;
        self.sp()?;
        let patterns = if self.peek() == Some(b'(') {
            options.extended = true;
            self.list(Self::list_mailbox)?
        } else {
            vec![self.list_mailbox()?]
        };
        if self.eat(b' ') {
            if !self.keyword_ahead("RETURN") {
                return Err("expected RETURN".into());
            }
            self.i += 6;
            self.sp()?;
            options.extended = true;
            self.expect(b'(', "'('")?;
            if !self.eat(b')') {
                loop {
                    let opt = self.atom()?.to_ascii_uppercase();
                    match opt.as_str() {
                        "SUBSCRIBED" => options.return_subscribed = true,
                        "CHILDREN" => options.return_children = true,
                        "SPECIAL-USE" => options.return_special_use = true,
                        "STATUS" => {
                            self.sp()?;
                            options.return_status = Some(self.list(Self::status_item)?);
                        }
                        other => return Err(format!("unknown LIST return option {other}")),
                    }
                    if self.eat(b')') {
                        break;
                    }
                    self.sp()?;
                }
            }
        }
        Ok(CommandBody::List { reference, patterns, options, lsub: false })
    }

    fn append(&mut self) -> R<CommandBody> {
        self.sp()?;
        let mailbox = self.mailbox()?;
        let mut messages = Vec::new();
        while self.eat(b' ') {
            let mut flags = Vec::new();
            if self.peek() == Some(b'(') {
                flags = self.list(Self::flag)?;
                self.sp()?;
            }
            let mut date = None;
            if self.peek() == Some(b'"') {
                let text = String::from_utf8(self.quoted()?).map_err(|_| "bad date")?;
                date = Some(parse_date_time(&text).ok_or_else(|| format!("'{text}' is not a date-time"))?);
                self.sp()?;
            }
            if self.keyword_ahead("UTF8") {
                return Err("UTF8 APPEND is not offered".into());
            }
            let content = if self.keyword_ahead("CATENATE") {
                self.i += 8;
                self.sp()?;
                let parts = self.list(|p| {
                    if p.keyword_ahead("TEXT") {
                        p.i += 4;
                        p.sp()?;
                        Ok(CatenatePart::Text(p.literal()?))
                    } else if p.keyword_ahead("URL") {
                        p.i += 3;
                        p.sp()?;
                        Ok(CatenatePart::Url(p.astring()?))
                    } else {
                        Err("a CATENATE part is TEXT or URL".into())
                    }
                })?;
                if parts.is_empty() {
                    return Err("CATENATE needs parts".into());
                }
                AppendContent::Catenate(parts)
            } else {
                let binary = self.peek() == Some(b'~');
                AppendContent::Literal { data: self.literal()?, binary }
            };
            messages.push(AppendMessage { flags, date, content });
            if messages.len() > MAX_ITEMS {
                return Err("too many messages in one APPEND".into());
            }
        }
        if messages.is_empty() {
            return Err("APPEND needs a message".into());
        }
        Ok(CommandBody::Append { mailbox, messages })
    }

    fn search(&mut self, uid: bool) -> R<CommandBody> {
        self.sp()?;
        let ret = self.search_return()?;
        let mut charset = None;
        if self.keyword_ahead("CHARSET") {
            self.i += 7;
            self.sp()?;
            charset = Some(self.astring()?);
            self.sp()?;
        }
        let CommandBody::Search { key, .. } = self.search_keys(uid)? else { unreachable!("search keys") };
        Ok(CommandBody::Search { uid, ret, charset, key })
    }

    /// `(filter events)` of NOTIFY SET.
    fn notify_group(&mut self) -> R<(NotifyFilter, Vec<String>)> {
        self.expect(b'(', "'('")?;
        let word = self.atom()?.to_ascii_uppercase();
        let names = |p: &mut Self| -> R<Vec<String>> {
            p.sp()?;
            if p.peek() == Some(b'(') { p.list(|p| p.mailbox()) } else { Ok(vec![p.mailbox()?]) }
        };
        let filter = match word.as_str() {
            "SELECTED" => NotifyFilter::Selected,
            "SELECTED-DELAYED" => NotifyFilter::SelectedDelayed,
            "INBOXES" => NotifyFilter::Inboxes,
            "PERSONAL" => NotifyFilter::Personal,
            "SUBSCRIBED" => NotifyFilter::Subscribed,
            "SUBTREE" => NotifyFilter::Subtree(names(self)?),
            "MAILBOXES" => NotifyFilter::Mailboxes(names(self)?),
            other => return Err(format!("unknown NOTIFY filter {other}")),
        };
        self.sp()?;
        let events = if self.keyword_ahead("NONE") {
            self.i += 4;
            Vec::new()
        } else {
            let events = self.list(|p| Ok(p.atom()?.to_ascii_uppercase()))?;
            if events.is_empty() {
                return Err("NOTIFY needs events (or NONE)".into());
            }
            events
        };
        self.expect(b')', "')'")?;
        Ok((filter, events))
    }

    /// `RETURN (MIN MAX ALL COUNT SAVE) ` of ESEARCH (RFC 4731) and ESORT (RFC 5267).
    fn search_return(&mut self) -> R<Option<Vec<SearchReturn>>> {
        if !self.keyword_ahead("RETURN") {
            return Ok(None);
        }
        self.i += 6;
        self.sp()?;
        let opts = self.list(|p| {
            let a = p.atom()?.to_ascii_uppercase();
            Ok(match a.as_str() {
                "MIN" => SearchReturn::Min,
                "MAX" => SearchReturn::Max,
                "ALL" => SearchReturn::All,
                "COUNT" => SearchReturn::Count,
                "SAVE" => SearchReturn::Save,
                "UPDATE" => SearchReturn::Update,
                "CONTEXT" => SearchReturn::Context,
                "PARTIAL" => {
                    p.sp()?;
                    let range = p.atom()?;
                    let (first, last) =
                        partial_range(&range).ok_or_else(|| format!("'{range}' is not a PARTIAL range"))?;
                    SearchReturn::Partial(first, last)
                }
                other => return Err(format!("unknown return option {other}")),
            })
        })?;
        self.sp()?;
        // RETURN () means RETURN (ALL).
        Ok(Some(if opts.is_empty() { vec![SearchReturn::All] } else { opts }))
    }

    fn sort(&mut self, uid: bool) -> R<CommandBody> {
        self.sp()?;
        let ret = self.search_return()?;
        let mut criteria = Vec::new();
        let mut reverse = false;
        for word in self.list(Self::atom)? {
            let key = match word.to_ascii_uppercase().as_str() {
                "REVERSE" => {
                    reverse = true;
                    continue;
                }
                "ARRIVAL" => SortKey::Arrival,
                "CC" => SortKey::Cc,
                "DATE" => SortKey::Date,
                "FROM" => SortKey::From,
                "SIZE" => SortKey::Size,
                "SUBJECT" => SortKey::Subject,
                "TO" => SortKey::To,
                "DISPLAYFROM" => SortKey::DisplayFrom,
                "DISPLAYTO" => SortKey::DisplayTo,
                other => return Err(format!("unknown SORT criterion {other}")),
            };
            criteria.push((std::mem::take(&mut reverse), key));
        }
        if criteria.is_empty() || reverse {
            return Err("SORT needs criteria, and REVERSE goes before one".into());
        }
        self.sp()?;
        let charset = self.astring()?;
        self.sp()?;
        let CommandBody::Search { key, .. } = self.search_keys(uid)? else { unreachable!("search keys") };
        Ok(CommandBody::Sort { uid, ret, criteria, charset, key })
    }

    fn thread(&mut self, uid: bool) -> R<CommandBody> {
        self.sp()?;
        let algorithm = match self.atom()?.to_ascii_uppercase().as_str() {
            "REFERENCES" => ThreadAlgorithm::References,
            "ORDEREDSUBJECT" => ThreadAlgorithm::OrderedSubject,
            other => return Err(format!("unknown THREAD algorithm {other}")),
        };
        self.sp()?;
        let charset = self.astring()?;
        self.sp()?;
        let CommandBody::Search { key, .. } = self.search_keys(uid)? else { unreachable!("search keys") };
        Ok(CommandBody::Thread { uid, algorithm, charset, key })
    }

    /// The search keys of SEARCH, SORT or THREAD.
    fn search_keys(&mut self, uid: bool) -> R<CommandBody> {
        let mut keys = vec![self.search_key(0)?];
        while self.eat(b' ') {
            if keys.len() >= MAX_ITEMS {
                return Err("too many search keys".into());
            }
            keys.push(self.search_key(0)?);
        }
        let key = if keys.len() == 1 { keys.pop().expect("one key") } else { SearchKey::And(keys) };
        Ok(CommandBody::Search { uid, ret: None, charset: None, key })
    }

    fn search_string(&mut self) -> R<String> {
        self.sp()?;
        Ok(String::from_utf8_lossy(&self.astring_bytes()?).into_owned())
    }

    fn search_date(&mut self) -> R<i32> {
        self.sp()?;
        let text = match self.peek() {
            Some(b'"') => String::from_utf8(self.quoted()?).map_err(|_| "bad date")?,
            _ => self.atom()?,
        };
        parse_date(&text).ok_or_else(|| format!("'{text}' is not a date (like 1-Feb-2026)"))
    }

    fn search_key(&mut self, depth: usize) -> R<SearchKey> {
        if depth > MAX_DEPTH {
            return Err("search keys nest too deep".into());
        }
        if self.peek() == Some(b'(') {
            let keys = self.list(|p| p.search_key(depth + 1))?;
            if keys.is_empty() {
                return Err("an empty search list".into());
            }
            return Ok(SearchKey::And(keys));
        }
        if self.peek().is_some_and(|b| b.is_ascii_digit() || b == b'*' || b == b'$') {
            return Ok(SearchKey::Seq(self.sequence_set()?));
        }
        let word = self.atom()?.to_ascii_uppercase();
        let flag = |f: &str| Ok(SearchKey::Flag(f.into()));
        let noflag = |f: &str| Ok(SearchKey::NoFlag(f.into()));
        match word.as_str() {
            "ALL" => Ok(SearchKey::All),
            "ANSWERED" => flag("\\Answered"),
            "DELETED" => flag("\\Deleted"),
            "DRAFT" => flag("\\Draft"),
            "FLAGGED" => flag("\\Flagged"),
            "SEEN" => flag("\\Seen"),
            "UNANSWERED" => noflag("\\Answered"),
            "UNDELETED" => noflag("\\Deleted"),
            "UNDRAFT" => noflag("\\Draft"),
            "UNFLAGGED" => noflag("\\Flagged"),
            "UNSEEN" => noflag("\\Seen"),
            "NEW" => Ok(SearchKey::New),
            "OLD" => Ok(SearchKey::Old),
            "RECENT" => Ok(SearchKey::Recent),
            "KEYWORD" => {
                self.sp()?;
                Ok(SearchKey::Flag(self.flag()?))
            }
            "UNKEYWORD" => {
                self.sp()?;
                Ok(SearchKey::NoFlag(self.flag()?))
            }
            "FROM" | "TO" | "CC" | "BCC" | "SUBJECT" => {
                let s = self.search_string()?;
                let name = match word.as_str() {
                    "FROM" => "From",
                    "TO" => "To",
                    "CC" => "Cc",
                    "BCC" => "Bcc",
                    _ => "Subject",
                };
                Ok(SearchKey::Header(name.into(), s))
            }
            "HEADER" => {
                let name = self.search_string()?;
                let s = self.search_string()?;
                Ok(SearchKey::Header(name, s))
            }
            "BODY" => Ok(SearchKey::Body(self.search_string()?)),
            "TEXT" => Ok(SearchKey::Text(self.search_string()?)),
            "BEFORE" => Ok(SearchKey::Before(self.search_date()?)),
            "ON" => Ok(SearchKey::On(self.search_date()?)),
            "SINCE" => Ok(SearchKey::Since(self.search_date()?)),
            "SENTBEFORE" => Ok(SearchKey::SentBefore(self.search_date()?)),
            "SENTON" => Ok(SearchKey::SentOn(self.search_date()?)),
            "SENTSINCE" => Ok(SearchKey::SentSince(self.search_date()?)),
            "LARGER" => {
                self.sp()?;
                Ok(SearchKey::Larger(self.number()?))
            }
            "SMALLER" => {
                self.sp()?;
                Ok(SearchKey::Smaller(self.number()?))
            }
            "UID" => {
                self.sp()?;
                Ok(SearchKey::Uid(self.sequence_set()?))
            }
            "NOT" => {
                self.sp()?;
                Ok(SearchKey::Not(Box::new(self.search_key(depth + 1)?)))
            }
            "OR" => {
                self.sp()?;
                let a = self.search_key(depth + 1)?;
                self.sp()?;
                let b = self.search_key(depth + 1)?;
                Ok(SearchKey::Or(Box::new(a), Box::new(b)))
            }
            "MODSEQ" => {
                self.sp()?;
                if self.peek() == Some(b'"') {
                    // The entry name and type: per-flag mod-sequences are not kept apart.
                    self.quoted()?;
                    self.sp()?;
                    self.atom()?;
                    self.sp()?;
                }
                Ok(SearchKey::ModSeq(self.number()?))
            }
            other => Err(format!("unknown search key {other}")),
        }
    }

    fn fetch(&mut self, uid: bool) -> R<CommandBody> {
        self.sp()?;
        let set = self.sequence_set()?;
        self.sp()?;
        let mut items = if self.peek() == Some(b'(') {
            self.list(Self::fetch_item)?
        } else {
            let start = self.i;
            let word = self.atom()?.to_ascii_uppercase();
            match word.as_str() {
                "ALL" => vec![FetchItem::Flags, FetchItem::InternalDate, FetchItem::Size, FetchItem::Envelope],
                "FAST" => vec![FetchItem::Flags, FetchItem::InternalDate, FetchItem::Size],
                "FULL" => {
                    vec![
                        FetchItem::Flags,
                        FetchItem::InternalDate,
                        FetchItem::Size,
                        FetchItem::Envelope,
                        FetchItem::Body,
                    ]
                }
                _ => {
                    self.i = start;
                    vec![self.fetch_item()?]
                }
            }
        };
        let (mut changed_since, mut vanished) = (None, false);
        if self.eat(b' ') {
            for modifier in self.list(|p| {
                let name = p.atom()?.to_ascii_uppercase();
                match name.as_str() {
                    "CHANGEDSINCE" => {
                        p.sp()?;
                        Ok((name, Some(p.number()?)))
                    }
                    "VANISHED" => Ok((name, None)),
                    other => Err(format!("unknown FETCH modifier {other}")),
                }
            })? {
                match modifier {
                    (_, Some(n)) => changed_since = Some(n),
                    _ => vanished = true,
                }
            }
            if vanished && (!uid || changed_since.is_none()) {
                return Err("VANISHED needs UID FETCH with CHANGEDSINCE".into());
            }
        }
        if uid && !items.contains(&FetchItem::Uid) {
            items.insert(0, FetchItem::Uid);
        }
        if changed_since.is_some() && !items.contains(&FetchItem::ModSeq) {
            items.push(FetchItem::ModSeq);
        }
        Ok(CommandBody::Fetch { uid, set, items, changed_since, vanished })
    }

    fn fetch_item(&mut self) -> R<FetchItem> {
        let start = self.i;
        while self.peek().is_some_and(|b| is_atom_char(b) && b != b'[' && b != b'<') {
            self.i += 1;
        }
        let name = String::from_utf8_lossy(&self.s[start..self.i]).to_ascii_uppercase();
        Ok(match name.as_str() {
            "UID" => FetchItem::Uid,
            "FLAGS" => FetchItem::Flags,
            "INTERNALDATE" => FetchItem::InternalDate,
            "RFC822.SIZE" => FetchItem::Size,
            "ENVELOPE" => FetchItem::Envelope,
            "BODYSTRUCTURE" => FetchItem::BodyStructure,
            "MODSEQ" => FetchItem::ModSeq,
            "RFC822" => FetchItem::Rfc822(Rfc822Kind::Full),
            "RFC822.HEADER" => FetchItem::Rfc822(Rfc822Kind::Header),
            "RFC822.TEXT" => FetchItem::Rfc822(Rfc822Kind::Text),
            "BODY" if self.peek() != Some(b'[') => FetchItem::Body,
            "BODY" | "BODY.PEEK" => {
                let section = self.section()?;
                let partial = self.partial()?;
                FetchItem::Section { section, partial, peek: name == "BODY.PEEK" }
            }
            "BINARY" | "BINARY.PEEK" | "BINARY.SIZE" => {
                let section = self.section()?;
                if section.text != SectionText::Full {
                    return Err("a BINARY section is part numbers only".into());
                }
                if name == "BINARY.SIZE" {
                    FetchItem::BinarySize(section.part)
                } else {
                    FetchItem::Binary { part: section.part, partial: self.partial()?, peek: name == "BINARY.PEEK" }
                }
            }
            other => return Err(format!("unknown FETCH item {other}")),
        })
    }

    fn section(&mut self) -> R<Section> {
        self.expect(b'[', "'['")?;
        let mut section = Section::default();
        if self.eat(b']') {
            return Ok(section);
        }
        loop {
            if self.peek().is_some_and(|b| b.is_ascii_digit()) {
                if section.part.len() >= MAX_DEPTH {
                    return Err("the section nests too deep".into());
                }
                section.part.push(self.nz_number()?);
                if self.eat(b'.') {
                    continue;
                }
                break;
            }
            let start = self.i;
            while self.peek().is_some_and(|b| b.is_ascii_alphabetic() || b == b'.') {
                self.i += 1;
            }
            let word = String::from_utf8_lossy(&self.s[start..self.i]).to_ascii_uppercase();
            section.text = match word.as_str() {
                "HEADER" => SectionText::Header,
                "TEXT" => SectionText::Text,
                "MIME" if !section.part.is_empty() => SectionText::Mime,
                "HEADER.FIELDS" | "HEADER.FIELDS.NOT" => {
                    self.sp()?;
                    let names = self.list(|p| p.astring())?;
                    if names.is_empty() {
                        return Err("HEADER.FIELDS needs field names".into());
                    }
                    if word == "HEADER.FIELDS" {
                        SectionText::HeaderFields(names)
                    } else {
                        SectionText::HeaderFieldsNot(names)
                    }
                }
                other => return Err(format!("unknown section {other}")),
            };
            break;
        }
        self.expect(b']', "']'")?;
        Ok(section)
    }

    fn partial(&mut self) -> R<Option<(u32, Option<u32>)>> {
        if !self.eat(b'<') {
            return Ok(None);
        }
        let offset = u32::try_from(self.number()?).map_err(|_| "the offset is too large")?;
        let mut length = None;
        if self.eat(b'.') {
            length = Some(self.nz_number()?);
        }
        self.expect(b'>', "'>'")?;
        Ok(Some((offset, length)))
    }

    fn store(&mut self, uid: bool) -> R<CommandBody> {
        self.sp()?;
        let set = self.sequence_set()?;
        self.sp()?;
        let mut unchanged_since = None;
        if self.peek() == Some(b'(') {
            for (name, value) in self.list(|p| {
                let name = p.atom()?.to_ascii_uppercase();
                p.sp()?;
                Ok((name, p.number()?))
            })? {
                if name != "UNCHANGEDSINCE" {
                    return Err(format!("unknown STORE modifier {name}"));
                }
                unchanged_since = Some(value);
            }
            self.sp()?;
        }
        let op = self.word(b"+-")?.to_ascii_uppercase();
        let (mode, rest) = match op.as_bytes().first() {
            Some(b'+') => (StoreMode::Add, &op[1..]),
            Some(b'-') => (StoreMode::Remove, &op[1..]),
            _ => (StoreMode::Replace, op.as_str()),
        };
        let silent = match rest {
            "FLAGS" => false,
            "FLAGS.SILENT" => true,
            _ => return Err(format!("expected FLAGS, +FLAGS or -FLAGS, not {op}")),
        };
        self.sp()?;
        let flags = self.flag_list()?;
        Ok(CommandBody::Store { uid, set, unchanged_since, mode, silent, flags })
    }
}

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/// Days since 1970-01-01 of `d-Mon-yyyy` (RFC 9051 `date`).
pub fn parse_date(text: &str) -> Option<i32> {
    let mut it = text.trim().split('-');
    let day: u8 = it.next()?.parse().ok()?;
    let month_name = it.next()?;
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(month_name))? as u8 + 1;
    let year: i32 = it.next()?.parse().ok()?;
    if it.next().is_some() {
        return None;
    }
    let date = time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
    Some(date.to_julian_day() - time::Date::from_calendar_date(1970, time::Month::January, 1).ok()?.to_julian_day())
}

/// Seconds since the epoch of `dd-Mon-yyyy hh:mm:ss +zzzz` (RFC 9051 `date-time`).
pub fn parse_date_time(text: &str) -> Option<i64> {
    let (date, rest) = text.trim_start().split_once(' ')?;
    let (clock, zone) = rest.split_once(' ')?;
    let days = i64::from(parse_date(date)?);
    let mut hms = clock.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some() || h > 23 || m > 59 || s > 60 || zone.len() != 5 {
        return None;
    }
    let sign = match zone.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let zh: i64 = zone[1..3].parse().ok()?;
    let zm: i64 = zone[3..5].parse().ok()?;
    Some(days * 86400 + h * 3600 + m * 60 + s - sign * (zh * 3600 + zm * 60))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sequence::SeqNum;

    fn parse(s: &str) -> CommandBody {
        parse_command(s.as_bytes()).unwrap_or_else(|e| panic!("{s}: {e:?}")).body
    }

    #[test]
    fn simple_commands_and_tags() {
        let c = parse_command(b"a1 capability\r\n").unwrap();
        assert_eq!((c.tag.as_str(), c.body), ("a1", CommandBody::Capability));
        assert_eq!(
            parse("x LOGIN \"ann@example.com\" {4+}\r\np\"w \r\n"),
            CommandBody::Login { user: "ann@example.com".into(), password: "p\"w ".into() }
        );
        assert_eq!(
            parse("x login ann \"a\\\\b\\\"c\"\r\n"),
            CommandBody::Login { user: "ann".into(), password: "a\\b\"c".into() }
        );
        let e = parse_command(b"x FROB\r\n").unwrap_err();
        assert_eq!(e.tag.as_deref(), Some("x"));
        assert!(e.message.contains("FROB"), "{}", e.message);
        assert_eq!(parse_command(b"\r\n").unwrap_err().tag, None);
        assert!(parse_command(b"x NOOP extra\r\n").is_err());
    }

    #[test]
    fn fetch_items_sections_and_modifiers() {
        let CommandBody::Fetch { uid, items, changed_since, vanished, .. } = parse(
            "a UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From Subject)] BODY[1.2.MIME]<0.100>) (CHANGEDSINCE 5 VANISHED)\r\n",
        ) else {
            panic!()
        };
        assert!(uid && vanished);
        assert_eq!(changed_since, Some(5));
        assert_eq!(
            items,
            [
                FetchItem::Uid,
                FetchItem::Flags,
                FetchItem::Section {
                    section: Section {
                        part: vec![],
                        text: SectionText::HeaderFields(vec!["From".into(), "Subject".into()])
                    },
                    partial: None,
                    peek: true
                },
                FetchItem::Section {
                    section: Section { part: vec![1, 2], text: SectionText::Mime },
                    partial: Some((0, Some(100))),
                    peek: false
                },
                FetchItem::ModSeq,
            ]
        );
        let CommandBody::Fetch { items, .. } = parse("a FETCH 2 fast\r\n") else { panic!() };
        assert_eq!(items, [FetchItem::Flags, FetchItem::InternalDate, FetchItem::Size]);
        let CommandBody::Fetch { items, .. } = parse("a FETCH 2 body[]\r\n") else { panic!() };
        assert_eq!(items, [FetchItem::Section { section: Section::default(), partial: None, peek: false }]);
        assert!(parse_command(b"a FETCH 1 (FLAGS) (VANISHED)\r\n").is_err(), "VANISHED needs UID and CHANGEDSINCE");
        assert!(parse_command(b"a FETCH 1 BODY[MIME]\r\n").is_err(), "MIME needs a part");
    }

    #[test]
    fn notify_filters_and_events() {
        let CommandBody::Notify(Some(set)) = parse(
            "a NOTIFY SET STATUS (SELECTED (MessageNew MessageExpunge)) (SUBTREE (A \"B C\") NONE) (MAILBOXES x (FlagChange))\r\n",
        ) else {
            panic!()
        };
        assert!(set.status);
        assert_eq!(set.groups[0], (NotifyFilter::Selected, vec!["MESSAGENEW".into(), "MESSAGEEXPUNGE".into()]));
        assert_eq!(set.groups[1], (NotifyFilter::Subtree(vec!["A".into(), "B C".into()]), vec![]));
        assert_eq!(set.groups[2], (NotifyFilter::Mailboxes(vec!["x".into()]), vec!["FLAGCHANGE".into()]));
        assert_eq!(parse("a NOTIFY NONE\r\n"), CommandBody::Notify(None));
        assert!(parse_command(b"a NOTIFY SET (SELECTED (MessageNew (UID)))\r\n").is_err(), "fetch attributes");
        assert!(parse_command(b"a NOTIFY SET (ELSEWHERE (MessageNew))\r\n").is_err());
        assert!(parse_command(b"a NOTIFY SET\r\n").is_err());
    }

    #[test]
    fn urlauth_commands() {
        assert_eq!(
            parse("a GENURLAUTH \"imap://a@h/INBOX/;uid=1;urlauth=authuser\" INTERNAL\r\n"),
            CommandBody::GenUrlAuth(vec![("imap://a@h/INBOX/;uid=1;urlauth=authuser".into(), "INTERNAL".into())])
        );
        assert_eq!(parse("a URLFETCH \"u1\" u2\r\n"), CommandBody::UrlFetch(vec!["u1".into(), "u2".into()]));
        assert_eq!(parse("a RESETKEY\r\n"), CommandBody::ResetKey(None));
        assert_eq!(parse("a RESETKEY INBOX INTERNAL\r\n"), CommandBody::ResetKey(Some("INBOX".into())));
        assert!(parse_command(b"a RESETKEY INBOX OTHER\r\n").is_err());
        assert!(parse_command(b"a URLFETCH (\"u\" BINARY)\r\n").is_err());
        assert!(parse_command(b"a GENURLAUTH \"u\"\r\n").is_err());
    }

    #[test]
    fn context_return_options_and_cancelupdate() {
        let CommandBody::Search { ret, .. } = parse("a SEARCH RETURN (UPDATE CONTEXT PARTIAL 4:2 COUNT) ALL\r\n")
        else {
            panic!()
        };
        assert_eq!(
            ret,
            Some(vec![SearchReturn::Update, SearchReturn::Context, SearchReturn::Partial(2, 4), SearchReturn::Count])
        );
        let CommandBody::Search { ret, .. } = parse("a SEARCH RETURN (PARTIAL -1:-10) ALL\r\n") else { panic!() };
        assert_eq!(ret, Some(vec![SearchReturn::Partial(-1, -10)]));
        for bad in ["1", "1:*", "*:1", "0:3", "-1:2"] {
            let cmd = format!("a SEARCH RETURN (PARTIAL {bad}) ALL\r\n");
            assert!(parse_command(cmd.as_bytes()).is_err(), "{bad}");
        }
        assert_eq!(
            parse("a CANCELUPDATE \"x1\" \"x2\"\r\n"),
            CommandBody::CancelUpdate(vec!["x1".into(), "x2".into()])
        );
        assert!(parse_command(b"a CANCELUPDATE\r\n").is_err());
    }

    #[test]
    fn sort_takes_esort_return_options() {
        let CommandBody::Sort { ret, criteria, .. } =
            parse("a SORT RETURN (MIN COUNT) (REVERSE ARRIVAL) UTF-8 ALL\r\n")
        else {
            panic!()
        };
        assert_eq!(ret, Some(vec![SearchReturn::Min, SearchReturn::Count]));
        assert_eq!(criteria, [(true, SortKey::Arrival)]);
        let CommandBody::Sort { ret, .. } = parse("a SORT RETURN () (DATE) UTF-8 ALL\r\n") else { panic!() };
        assert_eq!(ret, Some(vec![SearchReturn::All]));
        assert!(parse_command(b"a SORT RETURN (PARTIAL 1:*) (DATE) UTF-8 ALL\r\n").is_err());
    }

    #[test]
    fn binary_items_name_parts_only() {
        let CommandBody::Fetch { items, .. } = parse("a FETCH 1 (BINARY.PEEK[1.2]<0.7> BINARY[] BINARY.SIZE[3])\r\n")
        else {
            panic!()
        };
        assert_eq!(
            items,
            [
                FetchItem::Binary { part: vec![1, 2], partial: Some((0, Some(7))), peek: true },
                FetchItem::Binary { part: vec![], partial: None, peek: false },
                FetchItem::BinarySize(vec![3]),
            ]
        );
        assert!(parse_command(b"a FETCH 1 BINARY[1.HEADER]\r\n").is_err());
        let CommandBody::Append { messages, .. } = parse("a APPEND x ~{3}\r\na\0b {1+}\r\nc\r\n") else { panic!() };
        assert_eq!(messages[0].content, AppendContent::Literal { data: b"a\0b".to_vec(), binary: true });
        assert_eq!(messages[1].content, AppendContent::Literal { data: b"c".to_vec(), binary: false });
    }

    #[test]
    fn catenate_gives_text_and_url_parts() {
        let CommandBody::Append { messages, .. } = parse(
            "a APPEND x (\\Seen) CATENATE (URL \"/INBOX/;UID=3/;SECTION=HEADER\" TEXT {4+}\r\nbody) {2+}\r\nhi\r\n",
        ) else {
            panic!()
        };
        assert_eq!(
            messages[0].content,
            AppendContent::Catenate(vec![
                CatenatePart::Url("/INBOX/;UID=3/;SECTION=HEADER".into()),
                CatenatePart::Text(b"body".to_vec())
            ])
        );
        assert_eq!(messages[0].flags, ["\\Seen"]);
        assert_eq!(messages[1].content, AppendContent::Literal { data: b"hi".to_vec(), binary: false });
        assert!(parse_command(b"a APPEND x CATENATE ()\r\n").is_err());
        assert!(parse_command(b"a APPEND x CATENATE (FILE \"x\")\r\n").is_err());
        assert_eq!(
            parse_url_section("HEADER.FIELDS (From)").map(|s| s.text),
            Some(SectionText::HeaderFields(vec!["From".into()]))
        );
        assert_eq!(parse_url_section("1.2").map(|s| s.part), Some(vec![1, 2]));
        assert_eq!(parse_url_section("1]x"), None);
    }

    #[test]
    fn thread_takes_an_algorithm_a_charset_and_search_keys() {
        assert_eq!(
            parse("a UID THREAD references US-ASCII SEEN\r\n"),
            CommandBody::Thread {
                uid: true,
                algorithm: ThreadAlgorithm::References,
                charset: "US-ASCII".into(),
                key: SearchKey::Flag("\\Seen".into())
            }
        );
        let CommandBody::Thread { algorithm, key, .. } = parse("a THREAD ORDEREDSUBJECT UTF-8 ALL UNSEEN\r\n") else {
            panic!()
        };
        assert_eq!(algorithm, ThreadAlgorithm::OrderedSubject);
        assert!(matches!(key, SearchKey::And(k) if k.len() == 2));
        assert!(parse_command(b"a THREAD SUBJECT UTF-8 ALL\r\n").unwrap_err().message.contains("SUBJECT"));
        assert!(parse_command(b"a THREAD REFERENCES UTF-8\r\n").is_err(), "search keys are required");
    }

    #[test]
    fn search_keys_nest_and_are_bounded() {
        let CommandBody::Search { key, charset, ret, .. } =
            parse("a SEARCH RETURN (MIN COUNT) CHARSET UTF-8 OR (SEEN FROM \"ann\") NOT 2:4 SINCE 1-Feb-2026\r\n")
        else {
            panic!()
        };
        assert_eq!(charset.as_deref(), Some("UTF-8"));
        assert_eq!(ret, Some(vec![SearchReturn::Min, SearchReturn::Count]));
        let SearchKey::And(keys) = key else { panic!() };
        assert_eq!(keys.len(), 2);
        assert_eq!(
            keys[0],
            SearchKey::Or(
                Box::new(SearchKey::And(vec![
                    SearchKey::Flag("\\Seen".into()),
                    SearchKey::Header("From".into(), "ann".into())
                ])),
                Box::new(SearchKey::Not(Box::new(SearchKey::Seq(SequenceSet::Ranges(vec![(
                    SeqNum::Value(2),
                    SeqNum::Value(4)
                )])))))
            )
        );
        assert_eq!(keys[1], SearchKey::Since(parse_date("1-Feb-2026").unwrap()));
        let deep = format!("a SEARCH {}ALL{}\r\n", "(".repeat(100), ")".repeat(100));
        assert!(parse_command(deep.as_bytes()).unwrap_err().message.contains("deep"));
        let nots = format!("a SEARCH {}ALL\r\n", "NOT ".repeat(100));
        assert!(parse_command(nots.as_bytes()).is_err());
    }

    #[test]
    fn store_select_list_append_and_id() {
        assert_eq!(
            parse("a UID STORE 1:3 (UNCHANGEDSINCE 9) +FLAGS.SILENT (\\Seen $Work)\r\n"),
            CommandBody::Store {
                uid: true,
                set: SequenceSet::parse("1:3").unwrap(),
                unchanged_since: Some(9),
                mode: StoreMode::Add,
                silent: true,
                flags: vec!["\\Seen".into(), "$Work".into()],
            }
        );
        assert_eq!(
            parse("a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n"),
            CommandBody::Select {
                mailbox: "INBOX".into(),
                read_only: false,
                condstore: false,
                qresync: Some(QResync {
                    uidvalidity: 67890007,
                    modseq: 20050715194045000,
                    known_uids: SequenceSet::parse("41,43:211,214:541")
                }),
            }
        );
        let CommandBody::List { patterns, options, .. } =
            parse("a LIST (SUBSCRIBED) \"\" (\"*\" %) RETURN (CHILDREN STATUS (MESSAGES UNSEEN))\r\n")
        else {
            panic!()
        };
        assert_eq!(patterns, ["*", "%"]);
        assert!(options.subscribed_only && options.return_children && options.extended);
        assert_eq!(options.return_status, Some(vec![StatusItem::Messages, StatusItem::Unseen]));
        let CommandBody::Append { mailbox, messages } =
            parse("a APPEND Sent (\\Seen) \"05-Dec-2026 10:00:00 +0100\" {3}\r\nabc {2+}\r\nde\r\n")
        else {
            panic!()
        };
        assert_eq!(mailbox, "Sent");
        assert_eq!(messages.len(), 2);
        assert_eq!(
            (&messages[0].content, messages[0].date),
            (
                &AppendContent::Literal { data: b"abc".to_vec(), binary: false },
                parse_date_time("05-Dec-2026 09:00:00 +0000")
            )
        );
        assert_eq!(messages[1].flags, Vec::<String>::new());
        assert_eq!(
            parse("a ID (\"name\" \"mutt\" \"version\" NIL)\r\n"),
            CommandBody::Id(vec![("name".into(), Some("mutt".into())), ("version".into(), None)])
        );
        assert!(parse_command(b"a APPEND Sent {5}\r\nabc\r\n").is_err(), "a short literal");
    }

    #[test]
    fn dates_parse() {
        assert_eq!(parse_date("1-Jan-1970"), Some(0));
        assert_eq!(parse_date("02-jan-1970"), Some(1));
        assert_eq!(parse_date("31-Feb-2026"), None);
        assert_eq!(parse_date_time("01-Jan-1970 01:00:00 +0100"), Some(0));
        assert_eq!(parse_date_time("01-Jan-1970 00:00:00 -0001"), Some(60));
        assert_eq!(parse_date_time("01-Jan-1970 25:00:00 +0000"), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Any bytes: an answer, never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = parse_command(&bytes);
        }

        /// Commands built from the grammar's own words, shuffled: an answer, never a panic.
        #[test]
        fn grammar_shaped_input_never_panics(
            words in proptest::collection::vec(proptest::sample::select(vec![
                "a", "UID", "FETCH", "SEARCH", "STORE", "LIST", "APPEND", "SELECT", "(", ")", "[", "]", "1:*", "$",
                "BODY.PEEK[", "HEADER.FIELDS", "{3}\r\nabc", "{9999}\r\n", "\"", "\\", "NOT", "OR", "<0.5>", "+FLAGS",
                "(CHANGEDSINCE", "QRESYNC", "RETURN", "CHARSET", "~{1}\r\nx", " ", "\r\n", "*", "%", "1-Jan-2026",
                "THREAD", "REFERENCES", "SORT", "BINARY[", "CATENATE", "URL", "TEXT", "PARTIAL", "-1:-5", "UPDATE",
                "NOTIFY", "SET", "STATUS", "SUBTREE", "MessageNew", "GENURLAUTH", "URLFETCH", "INTERNAL",
            ]), 0..40)
        ) {
            let _ = parse_command(words.concat().as_bytes());
        }
    }

    #[test]
    fn the_fuzz_corpus_parses_without_panic() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            let _ = parse_command(&bytes);
            seen += 1;
        }
        assert!(seen >= 10, "the corpus in {} has {seen} files", dir.display());
    }
}
