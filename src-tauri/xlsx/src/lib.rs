//! The account files: the import template, reading an import file, writing an export.
//!
//! Invariants:
//! * an import file is checked as an archive before any XLSX parser sees it: size, entry
//!   count and the uncompressed size each entry declares (the `zip` reader enforces the
//!   declared size while inflating, so a "zip bomb" cannot expand past it), then every part
//!   is streamed through the XML reader calamine uses: no count any element declares
//!   (`uniqueCount`, `count`, a shared-formula index — any prefix, any offset) and no
//!   number of shared strings may exceed what an import needs, because parsers reserve
//!   memory from them and a failed reservation aborts the whole process;
//! * the sheet is read cell by cell (calamine's streaming reader), never as a dense range,
//!   so a cell far away (`XFD1048576`) costs nothing;
//! * exports write every cell as a value (`write_string`/`write_number`), never a formula,
//!   so text like `=cmd|'/C calc'!A0` stays inert; passwords are never exported (the
//!   caller has none to give).
//!
//! No database here: the engine validates rows against the backend (`postdesk-engine`, import.rs).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::io::{Cursor, Read};

use calamine::{DataRef, Reader, Xlsx};
use rust_xlsxwriter::{Format, Workbook, XlsxError};

use postdesk_contract::error::{Error, Result, RowError};

/// Largest import file accepted.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// Most data rows (accounts) one import file may hold.
pub const MAX_ROWS: usize = 5000;
/// The template's header row, in order. An import file must have exactly these.
pub const COLUMNS: [&str; 5] = ["Email address", "Display name", "Department", "Password", "Notes"];
/// What each column means (the template's second sheet).
const COLUMN_HELP: [(&str, &str); 5] = [
    ("Email address", "Required. The full address, e.g. ann@example.com, in the domain you import into."),
    ("Display name", "Optional. The name shown to recipients and in the address book (at most 128 characters)."),
    ("Department", "Optional. A path of departments separated by /, e.g. Sales/East. Missing departments are created."),
    (
        "Password",
        "Optional. Leave empty for a mailbox without a password. At least 8 characters and two of: \
         lower-case, upper-case, digits, symbols. Stored only as a hash; never exported.",
    ),
    ("Notes", "Optional. Free text for admins (at most 2000 characters)."),
];

/// Most entries an XLSX archive may have (a real one has a dozen or two).
const MAX_ENTRIES: usize = 1000;
/// Most bytes one entry may expand to.
const MAX_ENTRY_BYTES: u64 = 32 * 1024 * 1024;
/// Most bytes all entries together may expand to.
const MAX_EXPANDED_BYTES: u64 = 64 * 1024 * 1024;
/// Most cell problems collected before the file is refused without reading on.
const MAX_ERRORS: usize = 1000;
/// Most distinct shared strings (five columns of 5000 rows, plus a header and slack).
const MAX_SHARED_STRINGS: u64 = 100_000;
/// Largest count any part of an import file may declare (`uniqueCount`, `count`, …).
const MAX_DECLARED_COUNT: u64 = 100_000;

/// One data row of an import file, as text, with its spreadsheet row number.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportRow {
    /// Row number as the spreadsheet shows it (the header is row 1).
    pub row: u32,
    /// `Email address`.
    pub address: String,
    /// `Display name`.
    pub display_name: String,
    /// `Department`.
    pub department: String,
    /// `Password` (never logged or returned).
    pub password: String,
    /// `Notes`.
    pub notes: String,
}

fn file_error(message: impl Into<String>) -> Error {
    Error::validation(message).with_field("file")
}

/// Checks the archive itself, before any parser allocates from what it declares.
fn check_archive(bytes: &[u8]) -> Result<()> {
    if bytes.is_empty() {
        return Err(file_error("the file is empty"));
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Err(file_error(format!(
            "the file is {} bytes; an import file may have at most {MAX_FILE_BYTES} bytes (1 MB)",
            bytes.len()
        )));
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(file_error("this is an old Excel 97–2003 (.xls) file; save it as .xlsx and try again"));
    }
    if !bytes.starts_with(b"PK\x03\x04") {
        return Err(file_error("this is not an XLSX file (an Excel workbook); use the import template"));
    }
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| file_error(format!("this is not a readable XLSX file: {e}")))?;
    if zip.len() > MAX_ENTRIES {
        return Err(file_error(format!("the file holds {} parts; an XLSX workbook has a few dozen", zip.len())));
    }
    let mut total: u64 = 0;
    let mut workbook = false;
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(|e| file_error(format!("this is not a readable XLSX file: {e}")))?;
        let name = entry
            .name()
            .map_err(|e| file_error(format!("this is not a readable XLSX file: {e}")))?
            .to_ascii_lowercase();
        let size = entry.size();
        if size > MAX_ENTRY_BYTES {
            return Err(file_error(format!(
                "the part {name} would expand to {} MB when unpacked (at most {} MB): this is not an account list",
                size / (1024 * 1024),
                MAX_ENTRY_BYTES / (1024 * 1024)
            )));
        }
        total = total.saturating_add(size);
        workbook |= name.ends_with("workbook.xml");
    }
    if total > MAX_EXPANDED_BYTES {
        return Err(file_error(format!(
            "the file would expand to {} MB when unpacked (at most {} MB): this is not an account list",
            total / (1024 * 1024),
            MAX_EXPANDED_BYTES / (1024 * 1024)
        )));
    }
    if !workbook {
        return Err(file_error("this zip file is not an XLSX workbook (it has no workbook part)"));
    }
    for i in 0..zip.len() {
        let entry = zip.by_index(i).map_err(|e| file_error(format!("this is not a readable XLSX file: {e}")))?;
        let name = entry.name().map(|n| n.to_ascii_lowercase()).unwrap_or_default();
        check_part(&name, entry)?;
    }
    Ok(())
}

/// Checks one archive part as a stream of XML events, the way calamine (same quick-xml,
/// same settings) will read it: every count an element declares, under any namespace
/// prefix and at any offset, and the number of shared-string items. Parsers reserve
/// memory from such counts (calamine reserves `uniqueCount` strings before reading one),
/// so a declared count of a trillion would abort the whole process — admin API and mail
/// services with it. Nothing is kept but the current event.
fn check_part(name: &str, part: impl Read) -> Result<()> {
    use quick_xml::events::Event;
    let mut xml = quick_xml::Reader::from_reader(std::io::BufReader::new(part));
    let config = xml.config_mut();
    config.check_end_names = false;
    config.trim_text(false);
    config.check_comments = false;
    config.expand_empty_elements = true;
    let mut buf = Vec::with_capacity(1024);
    let mut items: u64 = 0;
    loop {
        buf.clear();
        match xml.read_event_into(&mut buf) {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                if let Some(count) = largest_declared_count(e.attributes_raw())
                    && count > MAX_DECLARED_COUNT
                {
                    return Err(file_error(format!(
                        "the part {name} declares a count of {count}; an import of {MAX_ROWS} rows needs far fewer"
                    )));
                }
                if e.local_name().as_ref().eq_ignore_ascii_case("si") {
                    items += 1;
                    if items > MAX_SHARED_STRINGS {
                        return Err(file_error(format!(
                            "the part {name} holds more than {MAX_SHARED_STRINGS} texts; an account list of \
                             {MAX_ROWS} rows has far fewer"
                        )));
                    }
                }
            }
            Ok(Event::Eof) => return Ok(()),
            Ok(_) => {}
            // An XML part that does not parse is damaged; any other part (an image) is not
            // XML, and a parser reading it stops where this one did, after what was checked.
            Err(e) if name.ends_with(".xml") || name.ends_with(".rels") => {
                return Err(file_error(format!("the part {name} is damaged: {e}")));
            }
            Err(_) => return Ok(()),
        }
    }
}

/// The largest number given to an attribute named like a count (`count`, `uniqueCount`,
/// `x:uniqueCount`, any case) or a shared-formula index (`si`) in a tag's raw attribute
/// text. Deliberately lenient: every `name=` is looked at, inside quotes too, and every
/// digit of its value counts, so no spelling a parser might accept slips past.
fn largest_declared_count(attributes: &str) -> Option<u64> {
    let bytes = attributes.as_bytes();
    let mut largest = None;
    for (at, _) in attributes.match_indices('=') {
        let key_end = bytes[..at].iter().rposition(|b| !b.is_ascii_whitespace()).map_or(0, |i| i + 1);
        let key_start = bytes[..key_end]
            .iter()
            .rposition(|b| b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'<' | b'>' | b'='))
            .map_or(0, |i| i + 1);
        let key = &attributes[key_start..key_end];
        let local = key.rsplit(':').next().unwrap_or(key).to_ascii_lowercase();
        if !(local.ends_with("count") || local == "si") {
            continue;
        }
        let value = attributes[at + 1..].trim_start();
        let value = match value.as_bytes().first() {
            Some(&q @ (b'"' | b'\'')) => value[1..].split(q as char).next().unwrap_or(""),
            _ => value.split(|c: char| c.is_ascii_whitespace() || c == '>').next().unwrap_or(""),
        };
        let digits: String = value.chars().filter(char::is_ascii_digit).collect();
        if digits.is_empty() {
            continue;
        }
        let digits = digits.trim_start_matches('0');
        // More digits than u64 holds is as suspicious as a big number.
        let count = match digits.len() {
            0 => 0,
            1..=19 => digits.parse().unwrap_or(u64::MAX),
            _ => u64::MAX,
        };
        largest = largest.max(Some(count));
    }
    largest
}

/// A cell as text, or why its type is not accepted.
fn cell_text(value: &DataRef<'_>) -> std::result::Result<String, String> {
    Ok(match value {
        DataRef::Empty => String::new(),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => s.to_string(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        DataRef::Float(f) => f.to_string(),
        DataRef::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        DataRef::DateTime(_) | DataRef::DateTimeIso(_) | DataRef::DurationIso(_) => {
            return Err("holds a date or time; format the column as text".into());
        }
        DataRef::Error(e) => return Err(format!("holds the spreadsheet error {e}")),
    })
}

fn column_letter(col: u32) -> String {
    let mut n = col + 1;
    let mut out = Vec::new();
    while n > 0 {
        out.push(b'A' + ((n - 1) % 26) as u8);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// What an import file must look like: its header row and how many data rows it may hold.
struct Table<'a> {
    columns: &'a [&'a str],
    max_rows: usize,
    /// What its rows are, plural (`accounts`, `rules`), for messages.
    noun: &'a str,
}

/// Reads the accounts of an import file. File-level problems (not XLSX, too big, a zip
/// bomb, empty, wrong header, too many rows) refuse it with one message; cells of a type
/// that cannot be text are listed by row and column. Rows are not validated here.
pub fn read_accounts(bytes: &[u8]) -> Result<Vec<ImportRow>> {
    let table = Table { columns: &COLUMNS, max_rows: MAX_ROWS, noun: "accounts" };
    Ok(read_table(bytes, &table)?
        .into_iter()
        .map(|(row, mut cells)| ImportRow {
            row,
            notes: std::mem::take(&mut cells[4]),
            password: std::mem::take(&mut cells[3]),
            department: std::mem::take(&mut cells[2]),
            display_name: std::mem::take(&mut cells[1]),
            address: std::mem::take(&mut cells[0]),
        })
        .collect())
}

/// The data rows of an import file with `table`'s header, as text, with their
/// spreadsheet row numbers; each has exactly one cell per column.
fn read_table(bytes: &[u8], table: &Table<'_>) -> Result<Vec<(u32, Vec<String>)>> {
    let columns = table.columns;
    check_archive(bytes)?;
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e| file_error(format!("this XLSX file cannot be read: {e}")))?;
    let sheet = book
        .sheet_names()
        .into_iter()
        .next()
        .ok_or_else(|| file_error("the workbook has no sheets; use the import template"))?;
    let mut reader = book
        .worksheet_cells_reader(&sheet)
        .map_err(|e| file_error(format!("the sheet {sheet} cannot be read: {e}")))?;
    let mut header: Vec<String> = Vec::new();
    let mut rows: std::collections::BTreeMap<u32, Vec<String>> = std::collections::BTreeMap::new();
    let mut errors = Vec::new();
    let mut too_many = None;
    while let Some(cell) =
        reader.next_cell().map_err(|e| file_error(format!("the sheet {sheet} cannot be read: {e}")))?
    {
        if errors.len() >= MAX_ERRORS {
            break;
        }
        let (row, col) = cell.get_position();
        let value = cell.get_value();
        if *value == DataRef::Empty {
            continue;
        }
        let text = match cell_text(value) {
            Ok(t) => t,
            Err(why) => {
                let column = columns.get(col as usize).map_or_else(|| column_letter(col), |c| c.to_string());
                errors.push(RowError { row: row + 1, column, message: why });
                continue;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        if row == 0 {
            if header.len() <= col as usize {
                header.resize(col as usize + 1, String::new());
            }
            header[col as usize] = text;
            continue;
        }
        if row as usize > table.max_rows + 10_000 {
            // Far past anything acceptable: stop reading, the count below refuses it.
            too_many = Some(row + 1);
            break;
        }
        if col as usize >= columns.len() {
            errors.push(RowError {
                row: row + 1,
                column: column_letter(col),
                message: format!(
                    "has a value, but the template has only {} columns (A–{})",
                    columns.len(),
                    column_letter(columns.len() as u32 - 1)
                ),
            });
            continue;
        }
        rows.entry(row).or_insert_with(|| vec![String::new(); columns.len()])[col as usize] = text;
    }
    check_header(&header, columns)?;
    if too_many.is_some() || rows.len() > table.max_rows {
        return Err(Error::limit_exceeded(format!(
            "the file has {} rows of {}; at most {} fit in one import, split it into several files",
            match too_many {
                Some(far) => format!("a value in row {far}, so more than {}", table.max_rows + 10_000),
                None => rows.len().to_string(),
            },
            table.noun,
            table.max_rows,
        ))
        .with_field("file"));
    }
    if rows.is_empty() && errors.is_empty() {
        return Err(file_error(format!("the file has no {} below the header row", table.noun)));
    }
    if !errors.is_empty() {
        return Err(refusal_in(errors, columns));
    }
    Ok(rows.into_iter().map(|(row, cells)| (row + 1, cells)).collect())
}

fn check_header(header: &[String], columns: &[&str]) -> Result<()> {
    if header.iter().all(|h| h.trim().is_empty()) {
        return Err(file_error(format!(
            "the first row must be the header ({}); download the import template",
            columns.join(" | ")
        )));
    }
    for (i, expected) in columns.iter().enumerate() {
        let found = header.get(i).map(|h| h.trim()).unwrap_or("");
        if !found.eq_ignore_ascii_case(expected) {
            let found = if found.is_empty() { "empty".to_string() } else { format!("'{found}'") };
            return Err(file_error(format!(
                "wrong header: column {} is {found} where the template has '{expected}'; the header row must be {}",
                column_letter(i as u32),
                columns.join(" | ")
            )));
        }
    }
    if let Some((i, extra)) = header.iter().enumerate().skip(columns.len()).find(|(_, h)| !h.trim().is_empty()) {
        return Err(file_error(format!(
            "wrong header: column {} is '{}', but the template has only the columns {}",
            column_letter(i as u32),
            extra.trim(),
            columns.join(" | ")
        )));
    }
    Ok(())
}

/// Most row errors listed in a refusal's message (all of them are in `rows`).
const LISTED: usize = 20;

/// One error refusing a whole account file, listing every problem by row and column.
pub fn refusal(errors: Vec<RowError>) -> Error {
    refusal_in(errors, &COLUMNS)
}

/// One error refusing a whole file with these `columns`, listing every problem by row and
/// column (in column order within a row).
pub fn refusal_in(mut errors: Vec<RowError>, columns: &[&str]) -> Error {
    let rank = |column: &str| columns.iter().position(|c| *c == column).unwrap_or(columns.len());
    errors.sort_by_key(|e| (e.row, rank(&e.column)));
    let mut message = format!(
        "the file was not imported: {} problem{} to fix (nothing was written)",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" }
    );
    for e in errors.iter().take(LISTED) {
        message.push_str(&format!("\n{e}"));
    }
    if errors.len() > LISTED {
        message.push_str(&format!("\n… and {} more", errors.len() - LISTED));
    }
    Error::validation(message).with_field("file").with_rows(errors)
}

fn xlsx_error(e: XlsxError) -> Error {
    Error::internal(format!("writing the XLSX file failed: {e}"))
}

/// The import template: the header row on the first sheet, column help on the second.
pub fn template() -> Result<Vec<u8>> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let wrap = Format::new().set_text_wrap();
    let sheet = book.add_worksheet();
    sheet.set_name("Accounts").map_err(xlsx_error)?;
    for (i, column) in COLUMNS.iter().enumerate() {
        sheet.write_string_with_format(0, i as u16, *column, &bold).map_err(xlsx_error)?;
        sheet.set_column_width(i as u16, [32, 24, 24, 18, 40][i]).map_err(xlsx_error)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    let help = book.add_worksheet();
    help.set_name("Instructions").map_err(xlsx_error)?;
    help.write_string_with_format(0, 0, "Column", &bold).map_err(xlsx_error)?;
    help.write_string_with_format(0, 1, "What to enter", &bold).map_err(xlsx_error)?;
    for (i, (column, text)) in COLUMN_HELP.iter().enumerate() {
        help.write_string(i as u32 + 1, 0, *column).map_err(xlsx_error)?;
        help.write_string_with_format(i as u32 + 1, 1, *text, &wrap).map_err(xlsx_error)?;
    }
    let notes = [
        "Fill in the first sheet, one account per row, below its header row. Keep the header row as it is.",
        "At most 5000 accounts and 1 MB per file. Every row is checked before anything is written:",
        "if any row has a problem, nothing is imported and every problem is listed by row and column.",
    ];
    for (i, line) in notes.iter().enumerate() {
        help.write_string(COLUMN_HELP.len() as u32 + 2 + i as u32, 0, *line).map_err(xlsx_error)?;
    }
    help.set_column_width(0, 18).map_err(xlsx_error)?;
    help.set_column_width(1, 100).map_err(xlsx_error)?;
    book.save_to_buffer().map_err(xlsx_error)
}

/// The columns of an export, in order: the template's (without Password), then the rest
/// of what the accounts page shows.
pub const EXPORT_COLUMNS: [&str; 10] = [
    "Email address",
    "Display name",
    "Department",
    "Notes",
    "Status",
    "Quota (MiB)",
    "Extra addresses",
    "Password set",
    "Must change password",
    "Created",
];

/// One exported account (never a password: there is no field for one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRow {
    /// Address.
    pub address: String,
    /// Display name.
    pub display_name: String,
    /// Department path, empty at the top level.
    pub department: String,
    /// Notes.
    pub notes: String,
    /// Status name.
    pub status: String,
    /// Quota in MiB.
    pub quota_mb: u32,
    /// Extra addresses, comma-separated.
    pub aliases: String,
    /// Whether a password is set.
    pub has_password: bool,
    /// Must change the password at next logon.
    pub force_password_change: bool,
    /// Creation time.
    pub created_at: String,
}

/// Writes accounts as an XLSX workbook. Every cell is a plain value.
pub fn write_accounts(rows: &[ExportRow]) -> Result<Vec<u8>> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = book.add_worksheet();
    sheet.set_name("Accounts").map_err(xlsx_error)?;
    for (i, column) in EXPORT_COLUMNS.iter().enumerate() {
        sheet.write_string_with_format(0, i as u16, *column, &bold).map_err(xlsx_error)?;
        sheet.set_column_width(i as u16, [32, 24, 24, 30, 10, 12, 30, 12, 20, 22][i]).map_err(xlsx_error)?;
    }
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    for (i, r) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        sheet.write_string(row, 0, &r.address).map_err(xlsx_error)?;
        sheet.write_string(row, 1, &r.display_name).map_err(xlsx_error)?;
        sheet.write_string(row, 2, &r.department).map_err(xlsx_error)?;
        sheet.write_string(row, 3, &r.notes).map_err(xlsx_error)?;
        sheet.write_string(row, 4, &r.status).map_err(xlsx_error)?;
        sheet.write_number(row, 5, r.quota_mb).map_err(xlsx_error)?;
        sheet.write_string(row, 6, &r.aliases).map_err(xlsx_error)?;
        sheet.write_string(row, 7, yes_no(r.has_password)).map_err(xlsx_error)?;
        sheet.write_string(row, 8, yes_no(r.force_password_change)).map_err(xlsx_error)?;
        sheet.write_string(row, 9, &r.created_at).map_err(xlsx_error)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    if !rows.is_empty() {
        sheet.autofilter(0, 0, rows.len() as u32, EXPORT_COLUMNS.len() as u16 - 1).map_err(xlsx_error)?;
    }
    book.save_to_buffer().map_err(xlsx_error)
}

/// The SMTP rules file's header row (import template and export alike), in order.
pub const RULE_COLUMNS: [&str; 5] = ["Name", "Kind", "Value", "Action", "Note"];
/// What each rules column means (the template's second sheet).
const RULE_COLUMN_HELP: [(&str, &str); 5] = [
    ("Name", "Required. A unique name for the rule (at most 64 characters); refusals are counted under it."),
    ("Kind", "Required. sender_address, sender_domain (also matches its subdomains) or client_ip."),
    (
        "Value",
        "Required. The sender address (spam@example.com), the sender domain (example.com) or the client's \
         IP address or network (192.0.2.7, 192.0.2.0/24, 2001:db8::/32).",
    ),
    ("Action", "Required. reject (refuse), discard (accept and drop) or allow (skip the other checks)."),
    ("Note", "Optional. Free text for admins (at most 500 characters)."),
];

/// One data row of a rules file, as text, with its spreadsheet row number.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleRow {
    /// Row number as the spreadsheet shows it (the header is row 1).
    pub row: u32,
    /// `Name`.
    pub name: String,
    /// `Kind`.
    pub kind: String,
    /// `Value`.
    pub value: String,
    /// `Action`.
    pub action: String,
    /// `Note`.
    pub note: String,
}

/// Reads the rules of an SMTP rules file, in file order; the same file checks as accounts.
pub fn read_rules(bytes: &[u8]) -> Result<Vec<RuleRow>> {
    let table = Table { columns: &RULE_COLUMNS, max_rows: postdesk_contract::smtp::MAX_RULES, noun: "rules" };
    Ok(read_table(bytes, &table)?
        .into_iter()
        .map(|(row, mut cells)| RuleRow {
            row,
            note: std::mem::take(&mut cells[4]),
            action: std::mem::take(&mut cells[3]),
            value: std::mem::take(&mut cells[2]),
            kind: std::mem::take(&mut cells[1]),
            name: std::mem::take(&mut cells[0]),
        })
        .collect())
}

const RULE_WIDTHS: [f64; 5] = [24.0, 16.0, 32.0, 10.0, 40.0];

/// The SMTP rules import template: the header row, column help on a second sheet.
pub fn rules_template() -> Result<Vec<u8>> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let wrap = Format::new().set_text_wrap();
    let sheet = book.add_worksheet();
    sheet.set_name("Rules").map_err(xlsx_error)?;
    for (i, column) in RULE_COLUMNS.iter().enumerate() {
        sheet.write_string_with_format(0, i as u16, *column, &bold).map_err(xlsx_error)?;
        sheet.set_column_width(i as u16, RULE_WIDTHS[i]).map_err(xlsx_error)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    let help = book.add_worksheet();
    help.set_name("Instructions").map_err(xlsx_error)?;
    help.write_string_with_format(0, 0, "Column", &bold).map_err(xlsx_error)?;
    help.write_string_with_format(0, 1, "What to enter", &bold).map_err(xlsx_error)?;
    for (i, (column, text)) in RULE_COLUMN_HELP.iter().enumerate() {
        help.write_string(i as u32 + 1, 0, *column).map_err(xlsx_error)?;
        help.write_string_with_format(i as u32 + 1, 1, *text, &wrap).map_err(xlsx_error)?;
    }
    let notes = [
        "One rule per row, in the order they are checked: the first rule that matches decides.",
        "Every row is checked before anything is written: if any row has a problem, nothing is",
        "imported and every problem is listed by row and column. An export has these same columns.",
    ];
    for (i, line) in notes.iter().enumerate() {
        help.write_string(RULE_COLUMN_HELP.len() as u32 + 2 + i as u32, 0, *line).map_err(xlsx_error)?;
    }
    help.set_column_width(0, 18).map_err(xlsx_error)?;
    help.set_column_width(1, 100).map_err(xlsx_error)?;
    book.save_to_buffer().map_err(xlsx_error)
}

/// Writes SMTP rules in the template's columns, in order, every cell a plain value, so an
/// export imports back as it is.
pub fn write_rules(rules: &[postdesk_contract::smtp::SmtpRule]) -> Result<Vec<u8>> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = book.add_worksheet();
    sheet.set_name("Rules").map_err(xlsx_error)?;
    for (i, column) in RULE_COLUMNS.iter().enumerate() {
        sheet.write_string_with_format(0, i as u16, *column, &bold).map_err(xlsx_error)?;
        sheet.set_column_width(i as u16, RULE_WIDTHS[i]).map_err(xlsx_error)?;
    }
    for (i, r) in rules.iter().enumerate() {
        let row = i as u32 + 1;
        sheet.write_string(row, 0, &r.name).map_err(xlsx_error)?;
        sheet.write_string(row, 1, r.kind.as_str()).map_err(xlsx_error)?;
        sheet.write_string(row, 2, &r.value).map_err(xlsx_error)?;
        sheet.write_string(row, 3, r.action.as_str()).map_err(xlsx_error)?;
        sheet.write_string(row, 4, &r.note).map_err(xlsx_error)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    book.save_to_buffer().map_err(xlsx_error)
}

/// Most aliases one import file may hold.
pub const MAX_ALIAS_ROWS: usize = 10_000;
/// The aliases file's header row (import template and export alike), in order.
pub const ALIAS_COLUMNS: [&str; 3] = ["Alias address", "Targets", "Description"];
const ALIAS_COLUMN_HELP: [(&str, &str); 3] = [
    (
        "Alias address",
        "Required. The alias's full address, e.g. sales@example.com, in the domain you import into. \
         It must not be taken yet by an account, an account's extra address, a mail group or an alias.",
    ),
    (
        "Targets",
        "Required. Where mail to the alias goes, separated by commas: accounts, mail groups or aliases of \
         ours (they must exist, or be another row of this file) and addresses elsewhere. At most 1000.",
    ),
    ("Description", "Optional. What the alias is for (at most 500 characters)."),
];
const ALIAS_WIDTHS: [f64; 3] = [32.0, 60.0, 40.0];

/// One data row of an aliases file, as text, with its spreadsheet row number.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AliasRow {
    /// Row number as the spreadsheet shows it (the header is row 1).
    pub row: u32,
    /// `Alias address`.
    pub address: String,
    /// `Targets`, as written (see [`split_list`]).
    pub targets: String,
    /// `Description`.
    pub description: String,
}

/// The addresses of a list cell: separated by commas, semicolons or line breaks, each
/// trimmed, empty ones dropped.
pub fn split_list(cell: &str) -> Vec<String> {
    cell.split([',', ';', '\n', '\r']).map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect()
}

/// Reads the aliases of an aliases file, in file order; the same file checks as accounts.
pub fn read_aliases(bytes: &[u8]) -> Result<Vec<AliasRow>> {
    let table = Table { columns: &ALIAS_COLUMNS, max_rows: MAX_ALIAS_ROWS, noun: "aliases" };
    Ok(read_table(bytes, &table)?
        .into_iter()
        .map(|(row, mut cells)| AliasRow {
            row,
            description: std::mem::take(&mut cells[2]),
            targets: std::mem::take(&mut cells[1]),
            address: std::mem::take(&mut cells[0]),
        })
        .collect())
}

/// A template: the header row on a first sheet named `sheet_name`, column help and notes
/// on a second.
fn template_book(
    sheet_name: &str,
    columns: &[&str],
    widths: &[f64],
    help: &[(&str, &str)],
    notes: &[&str],
) -> Result<Vec<u8>> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let wrap = Format::new().set_text_wrap();
    let sheet = book.add_worksheet();
    sheet.set_name(sheet_name).map_err(xlsx_error)?;
    for (i, column) in columns.iter().enumerate() {
        sheet.write_string_with_format(0, i as u16, *column, &bold).map_err(xlsx_error)?;
        sheet.set_column_width(i as u16, widths[i]).map_err(xlsx_error)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    let sheet = book.add_worksheet();
    sheet.set_name("Instructions").map_err(xlsx_error)?;
    sheet.write_string_with_format(0, 0, "Column", &bold).map_err(xlsx_error)?;
    sheet.write_string_with_format(0, 1, "What to enter", &bold).map_err(xlsx_error)?;
    for (i, (column, text)) in help.iter().enumerate() {
        sheet.write_string(i as u32 + 1, 0, *column).map_err(xlsx_error)?;
        sheet.write_string_with_format(i as u32 + 1, 1, *text, &wrap).map_err(xlsx_error)?;
    }
    for (i, line) in notes.iter().enumerate() {
        sheet.write_string(help.len() as u32 + 2 + i as u32, 0, *line).map_err(xlsx_error)?;
    }
    sheet.set_column_width(0, 18).map_err(xlsx_error)?;
    sheet.set_column_width(1, 100).map_err(xlsx_error)?;
    book.save_to_buffer().map_err(xlsx_error)
}

/// Writes `rows` under `columns` on one sheet, every cell a plain string value (never a
/// formula: text starting with `=`, `+`, `-` or `@` stays that text).
fn value_book(sheet_name: &str, columns: &[&str], widths: &[f64], rows: &[Vec<String>]) -> Result<Vec<u8>> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = book.add_worksheet();
    sheet.set_name(sheet_name).map_err(xlsx_error)?;
    for (i, column) in columns.iter().enumerate() {
        sheet.write_string_with_format(0, i as u16, *column, &bold).map_err(xlsx_error)?;
        sheet.set_column_width(i as u16, widths[i]).map_err(xlsx_error)?;
    }
    for (i, cells) in rows.iter().enumerate() {
        for (c, value) in cells.iter().enumerate() {
            if !value.is_empty() {
                sheet.write_string(i as u32 + 1, c as u16, value).map_err(xlsx_error)?;
            }
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    book.save_to_buffer().map_err(xlsx_error)
}

const BOTH_NOTES: [&str; 3] = [
    "Every row is checked before anything is written: if any row has a problem, nothing is",
    "imported and every problem is listed by row and column. An export has these same columns,",
    "so it imports back as it is (into a domain that does not have those rows yet).",
];

/// The aliases import template.
pub fn aliases_template() -> Result<Vec<u8>> {
    let mut notes = vec!["One alias per row, below the header row. At most 10000 aliases and 1 MB per file."];
    notes.extend(BOTH_NOTES);
    template_book("Aliases", &ALIAS_COLUMNS, &ALIAS_WIDTHS, &ALIAS_COLUMN_HELP, &notes)
}

/// Writes aliases in the template's columns, targets comma-separated, every cell a plain value.
pub fn write_aliases(aliases: &[postdesk_contract::model::Alias]) -> Result<Vec<u8>> {
    let rows: Vec<Vec<String>> =
        aliases.iter().map(|a| vec![a.address.clone(), a.targets.join(", "), a.description.clone()]).collect();
    value_book("Aliases", &ALIAS_COLUMNS, &ALIAS_WIDTHS, &rows)
}

/// The automatic-BCC rules file's header row (import template and export alike), in order.
pub const BCC_COLUMNS: [&str; 5] = ["Name", "Direction", "Sender", "Recipient", "Copy to"];
const BCC_COLUMN_HELP: [(&str, &str); 5] = [
    ("Name", "Required. The rule's name (at most 100 characters), shown by the policy explainer."),
    ("Direction", "Optional. inbound (mail received), outbound (mail sent) or both (the default when empty)."),
    ("Sender", "Optional. Only mail from this address (ann@example.com) or domain (example.org); empty: any sender."),
    ("Recipient", "Optional. Only mail to this address or domain; empty: any recipient."),
    ("Copy to", "Required. Where the blind copy goes: an account, alias or group of ours, or an address elsewhere."),
];
const BCC_WIDTHS: [f64; 5] = [24.0, 12.0, 28.0, 28.0, 32.0];

/// One data row of a BCC rules file, as text, with its spreadsheet row number.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BccRow {
    /// Row number as the spreadsheet shows it (the header is row 1).
    pub row: u32,
    /// `Name`.
    pub name: String,
    /// `Direction`.
    pub direction: String,
    /// `Sender`.
    pub sender: String,
    /// `Recipient`.
    pub recipient: String,
    /// `Copy to`.
    pub copy_to: String,
}

/// Reads the rules of a BCC rules file, in file order; the same file checks as accounts.
pub fn read_bcc_rules(bytes: &[u8]) -> Result<Vec<BccRow>> {
    let max_rows = postdesk_contract::rules::MAX_BCC_RULES as usize;
    let table = Table { columns: &BCC_COLUMNS, max_rows, noun: "rules" };
    Ok(read_table(bytes, &table)?
        .into_iter()
        .map(|(row, mut cells)| BccRow {
            row,
            copy_to: std::mem::take(&mut cells[4]),
            recipient: std::mem::take(&mut cells[3]),
            sender: std::mem::take(&mut cells[2]),
            direction: std::mem::take(&mut cells[1]),
            name: std::mem::take(&mut cells[0]),
        })
        .collect())
}

/// The automatic-BCC rules import template.
pub fn bcc_rules_template() -> Result<Vec<u8>> {
    let mut notes = vec!["One rule per row, below the header row. At most 1000 rules per domain."];
    notes.extend(BOTH_NOTES);
    template_book("BCC rules", &BCC_COLUMNS, &BCC_WIDTHS, &BCC_COLUMN_HELP, &notes)
}

/// Writes BCC rules in the template's columns (an empty condition: any), every cell a plain value.
pub fn write_bcc_rules(rules: &[postdesk_contract::rules::BccRule]) -> Result<Vec<u8>> {
    let rows: Vec<Vec<String>> = rules
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.direction.name().to_string(),
                r.sender.clone().unwrap_or_default(),
                r.recipient.clone().unwrap_or_default(),
                r.copy_to.clone(),
            ]
        })
        .collect();
    value_book("BCC rules", &BCC_COLUMNS, &BCC_WIDTHS, &rows)
}

/// The disclaimer rules file's header row (import template and export alike), in order.
pub const DISCLAIMER_COLUMNS: [&str; 10] = [
    "Name",
    "Scope",
    "Sender",
    "Recipient",
    "Department",
    "Except sender",
    "Except recipient",
    "Except department",
    "Text",
    "HTML",
];
const DISCLAIMER_COLUMN_HELP: [(&str, &str); 10] = [
    ("Name", "Required. The rule's name (at most 100 characters), shown by the policy explainer."),
    (
        "Scope",
        "Optional. any (the default when empty), internal (only when every recipient is in one of our domains) \
         or external (when a recipient is elsewhere).",
    ),
    ("Sender", "Optional. Only mail from this address (ann@example.com) or domain (example.org); empty: any sender."),
    ("Recipient", "Optional. Only mail to this address or domain; empty: any recipient."),
    (
        "Department",
        "Optional. Only mail from accounts of this department (a path such as Sales/East; sub-departments \
         included). It must exist.",
    ),
    ("Except sender", "Optional. Not for mail from this address or domain."),
    ("Except recipient", "Optional. Not when a recipient is this address or in this domain."),
    ("Except department", "Optional. Not for mail from accounts of this department (or below). It must exist."),
    ("Text", "Required. The plain-text disclaimer (at most 16384 bytes; line breaks kept)."),
    ("HTML", "Optional. The HTML disclaimer (at most 16384 bytes); empty: the text, escaped."),
];
const DISCLAIMER_WIDTHS: [f64; 10] = [20.0, 10.0, 24.0, 24.0, 18.0, 24.0, 24.0, 18.0, 48.0, 48.0];

/// One data row of a disclaimer rules file, as text, with its spreadsheet row number.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DisclaimerRow {
    /// Row number as the spreadsheet shows it (the header is row 1).
    pub row: u32,
    /// `Name`.
    pub name: String,
    /// `Scope`.
    pub scope: String,
    /// `Sender`.
    pub sender: String,
    /// `Recipient`.
    pub recipient: String,
    /// `Department`.
    pub department: String,
    /// `Except sender`.
    pub except_sender: String,
    /// `Except recipient`.
    pub except_recipient: String,
    /// `Except department`.
    pub except_department: String,
    /// `Text`.
    pub text: String,
    /// `HTML`.
    pub html: String,
}

/// Reads the rules of a disclaimer rules file, in file order (their order once imported);
/// the same file checks as accounts.
pub fn read_disclaimer_rules(bytes: &[u8]) -> Result<Vec<DisclaimerRow>> {
    let max_rows = postdesk_contract::rules::MAX_DISCLAIMER_RULES as usize;
    let table = Table { columns: &DISCLAIMER_COLUMNS, max_rows, noun: "rules" };
    Ok(read_table(bytes, &table)?
        .into_iter()
        .map(|(row, cells)| {
            let [
                name,
                scope,
                sender,
                recipient,
                department,
                except_sender,
                except_recipient,
                except_department,
                text,
                html,
            ] = <[String; 10]>::try_from(cells).unwrap_or_default();
            DisclaimerRow {
                row,
                name,
                scope,
                sender,
                recipient,
                department,
                except_sender,
                except_recipient,
                except_department,
                text,
                html,
            }
        })
        .collect())
}

/// The disclaimer rules import template.
pub fn disclaimer_rules_template() -> Result<Vec<u8>> {
    let mut notes = vec![
        "One rule per row, below the header row, in the order they are tried (after the domain's rules).",
        "At most 100 rules per domain.",
    ];
    notes.extend(BOTH_NOTES);
    template_book("Disclaimers", &DISCLAIMER_COLUMNS, &DISCLAIMER_WIDTHS, &DISCLAIMER_COLUMN_HELP, &notes)
}

/// Writes disclaimer rules in the template's columns, in the order given (an empty
/// condition: any), every cell a plain value.
pub fn write_disclaimer_rules(rules: &[postdesk_contract::rules::DisclaimerRule]) -> Result<Vec<u8>> {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let rows: Vec<Vec<String>> = rules
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.scope.name().to_string(),
                text(&r.sender),
                text(&r.recipient),
                text(&r.department),
                text(&r.except_sender),
                text(&r.except_recipient),
                text(&r.except_department),
                r.text.clone(),
                text(&r.html),
            ]
        })
        .collect();
    value_book("Disclaimers", &DISCLAIMER_COLUMNS, &DISCLAIMER_WIDTHS, &rows)
}

/// The monitoring rules file's header row (import template and export alike), in order.
pub const MONITOR_COLUMNS: [&str; 13] = [
    "Name",
    "Watch department",
    "Watch account",
    "Traffic",
    "Sender",
    "Recipient",
    "Min size (KB)",
    "Keyword",
    "Except sender",
    "Except recipient",
    "Except keyword",
    "Action",
    "Target",
];
const MONITOR_COLUMN_HELP: [(&str, &str); 13] = [
    ("Name", "Required. The rule's name (at most 100 characters), shown by the policy explainer."),
    (
        "Watch department",
        "Optional. Watch the accounts of this department (a path such as Sales/East; sub-departments included). \
         It must exist. Empty, and no account: everyone of the domain.",
    ),
    ("Watch account", "Optional. Watch this one account of the domain (not together with a department)."),
    (
        "Traffic",
        "Optional. any (the default when empty), internal (only mail between our domains) or external (to or from \
         elsewhere).",
    ),
    ("Sender", "Optional. Only mail from this address (ann@example.com) or domain (example.org); empty: any sender."),
    ("Recipient", "Optional. Only mail to this address or domain; empty: any recipient."),
    ("Min size (KB)", "Optional. Only messages of at least this many KB (a whole number, 1 to 1048576)."),
    ("Keyword", "Optional. Only messages whose subject or body says this (any case; at most 200 characters)."),
    ("Except sender", "Optional. Not for mail from this address or domain."),
    ("Except recipient", "Optional. Not when a recipient is this address or in this domain."),
    ("Except keyword", "Optional. Not when the subject or body says this."),
    (
        "Action",
        "Optional. copy (the default when empty): a copy to the monitor mailbox in Target; folder: the watched \
         recipients' copies filed into the folder named in Target.",
    ),
    (
        "Target",
        "Required. For copy, the monitor mailbox (an account, alias or group of ours); for folder, the folder's \
         name (not INBOX).",
    ),
];
const MONITOR_WIDTHS: [f64; 13] = [20.0, 18.0, 24.0, 10.0, 24.0, 24.0, 12.0, 18.0, 24.0, 24.0, 18.0, 10.0, 28.0];

/// One data row of a monitoring rules file, as text, with its spreadsheet row number.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MonitorRow {
    /// Row number as the spreadsheet shows it (the header is row 1).
    pub row: u32,
    /// `Name`.
    pub name: String,
    /// `Watch department`.
    pub scope_department: String,
    /// `Watch account`.
    pub scope_account: String,
    /// `Traffic`.
    pub traffic: String,
    /// `Sender`.
    pub sender: String,
    /// `Recipient`.
    pub recipient: String,
    /// `Min size (KB)`.
    pub min_size_kb: String,
    /// `Keyword`.
    pub keyword: String,
    /// `Except sender`.
    pub except_sender: String,
    /// `Except recipient`.
    pub except_recipient: String,
    /// `Except keyword`.
    pub except_keyword: String,
    /// `Action`.
    pub action: String,
    /// `Target`.
    pub target: String,
}

/// Reads the rules of a monitoring rules file, in file order; the same file checks as accounts.
pub fn read_monitor_rules(bytes: &[u8]) -> Result<Vec<MonitorRow>> {
    let max_rows = postdesk_contract::monitor::MAX_MONITOR_RULES as usize;
    let table = Table { columns: &MONITOR_COLUMNS, max_rows, noun: "rules" };
    Ok(read_table(bytes, &table)?
        .into_iter()
        .map(|(row, cells)| {
            let [
                name,
                scope_department,
                scope_account,
                traffic,
                sender,
                recipient,
                min_size_kb,
                keyword,
                except_sender,
                except_recipient,
                except_keyword,
                action,
                target,
            ] = <[String; 13]>::try_from(cells).unwrap_or_default();
            MonitorRow {
                row,
                name,
                scope_department,
                scope_account,
                traffic,
                sender,
                recipient,
                min_size_kb,
                keyword,
                except_sender,
                except_recipient,
                except_keyword,
                action,
                target,
            }
        })
        .collect())
}

/// The monitoring rules import template.
pub fn monitor_rules_template() -> Result<Vec<u8>> {
    let mut notes = vec!["One rule per row, below the header row. At most 100 rules per domain."];
    notes.extend(BOTH_NOTES);
    template_book("Monitoring rules", &MONITOR_COLUMNS, &MONITOR_WIDTHS, &MONITOR_COLUMN_HELP, &notes)
}

/// Writes monitoring rules in the template's columns (an empty condition: any), every cell
/// a plain value (the size as text too).
pub fn write_monitor_rules(rules: &[postdesk_contract::monitor::MonitorRule]) -> Result<Vec<u8>> {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let rows: Vec<Vec<String>> = rules
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                text(&r.scope_department),
                text(&r.scope_account),
                r.traffic.name().to_string(),
                text(&r.sender),
                text(&r.recipient),
                r.min_size_kb.map(|kb| kb.to_string()).unwrap_or_default(),
                text(&r.keyword),
                text(&r.except_sender),
                text(&r.except_recipient),
                text(&r.except_keyword),
                r.action.name().to_string(),
                r.target.clone(),
            ]
        })
        .collect();
    value_book("Monitoring rules", &MONITOR_COLUMNS, &MONITOR_WIDTHS, &rows)
}

/// Writes a table (a header row and text rows) as an XLSX workbook with one sheet named
/// `sheet`: every cell a plain string value, never a formula (a cell starting with `=` stays
/// that text; no spreadsheet runs a string cell).
pub fn write_table(sheet_name: &str, columns: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = book.add_worksheet();
    sheet.set_name(sheet_name).map_err(xlsx_error)?;
    for (i, column) in columns.iter().enumerate() {
        sheet.write_string_with_format(0, i as u16, *column, &bold).map_err(xlsx_error)?;
        sheet.set_column_width(i as u16, 24).map_err(xlsx_error)?;
    }
    for (i, cells) in rows.iter().enumerate() {
        for (c, value) in cells.iter().enumerate() {
            sheet.write_string(i as u32 + 1, c as u16, value).map_err(xlsx_error)?;
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    book.save_to_buffer().map_err(xlsx_error)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A workbook whose first sheet holds `rows` (strings) from A1.
    pub(crate) fn book(rows: &[Vec<&str>]) -> Vec<u8> {
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        for (r, cells) in rows.iter().enumerate() {
            for (c, v) in cells.iter().enumerate() {
                if !v.is_empty() {
                    sheet.write_string(r as u32, c as u16, *v).unwrap();
                }
            }
        }
        book.save_to_buffer().unwrap()
    }

    fn header() -> Vec<&'static str> {
        COLUMNS.to_vec()
    }

    #[test]
    fn the_template_is_the_header_and_reads_back_as_an_empty_import() {
        let bytes = template().unwrap();
        let err = read_accounts(&bytes).unwrap_err();
        assert!(err.message.contains("no accounts below the header"), "{}", err.message);
        let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
        assert_eq!(book.sheet_names(), ["Accounts", "Instructions"]);
        let range = book.worksheet_range("Instructions").unwrap();
        let text: Vec<String> = range.rows().map(|r| r[0].to_string()).collect();
        for column in COLUMNS {
            assert!(text.contains(&column.to_string()), "{column} explained");
        }
    }

    #[test]
    fn rows_are_read_as_text_with_spreadsheet_row_numbers() {
        let bytes = book(&[
            header(),
            vec!["ann@example.com", "Ann", "Sales/East", "Pass word 1", "=1+1"],
            vec![],
            vec!["bob@example.com"],
        ]);
        let rows = read_accounts(&bytes).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0],
            ImportRow {
                row: 2,
                address: "ann@example.com".into(),
                display_name: "Ann".into(),
                department: "Sales/East".into(),
                password: "Pass word 1".into(),
                notes: "=1+1".into(),
            }
        );
        assert_eq!((rows[1].row, rows[1].address.as_str()), (4, "bob@example.com"));
    }

    #[test]
    fn numbers_become_text_and_dates_are_refused_by_row_and_column() {
        let mut wb = Workbook::new();
        let sheet = wb.add_worksheet();
        for (i, c) in COLUMNS.iter().enumerate() {
            sheet.write_string(0, i as u16, *c).unwrap();
        }
        sheet.write_string(1, 0, "a@example.com").unwrap();
        sheet.write_number(1, 3, 12345678.0).unwrap();
        sheet.write_string(2, 0, "b@example.com").unwrap();
        let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2026, 1, 2).unwrap();
        let fmt = Format::new().set_num_format("yyyy-mm-dd");
        sheet.write_datetime_with_format(2, 4, &date, &fmt).unwrap();
        sheet.write_string(3, 6, "stray").unwrap();
        let err = read_accounts(&wb.save_to_buffer().unwrap()).unwrap_err();
        let listed: Vec<String> = err.rows.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            listed,
            [
                "row 3, Notes: holds a date or time; format the column as text",
                "row 4, G: has a value, but the template has only 5 columns (A–E)",
            ]
        );
        assert!(err.message.contains("2 problems") && err.message.contains("\nrow 3, Notes:"), "{}", err.message);
    }

    #[test]
    fn wrong_headers_are_refused_with_the_column() {
        let err = read_accounts(&book(&[vec!["Email", "Display name"], vec!["a@example.com"]])).unwrap_err();
        assert!(err.message.contains("column A is 'Email' where the template has 'Email address'"), "{}", err.message);
        let mut extra = header();
        extra.push("Quota");
        let err = read_accounts(&book(&[extra, vec!["a@example.com"]])).unwrap_err();
        assert!(err.message.contains("column F is 'Quota'"), "{}", err.message);
        let err = read_accounts(&book(&[vec![], vec!["a@example.com"]])).unwrap_err();
        assert!(err.message.contains("first row must be the header"), "{}", err.message);
        // Case and spaces around a name do not matter.
        let relaxed = vec![" email ADDRESS", "display name", "Department", "Password", "Notes "];
        assert_eq!(read_accounts(&book(&[relaxed, vec!["a@example.com"]])).unwrap().len(), 1);
    }

    #[test]
    fn files_that_are_not_xlsx_are_refused_before_parsing() {
        assert!(read_accounts(b"").unwrap_err().message.contains("empty"));
        assert!(read_accounts(b"Email address,Display name\n").unwrap_err().message.contains("not an XLSX"));
        let xls = [0xD0u8, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0];
        assert!(read_accounts(&xls).unwrap_err().message.contains(".xls"));
        let big = vec![b'P'; MAX_FILE_BYTES + 1];
        assert!(read_accounts(&big).unwrap_err().message.contains("at most 1048576 bytes"));
        // A zip that is not a workbook.
        let mut other = Vec::new();
        {
            let mut w = zip::ZipWriter::new(Cursor::new(&mut other));
            w.start_file("hello.txt", zip::write::SimpleFileOptions::default()).unwrap();
            std::io::Write::write_all(&mut w, b"hi").unwrap();
            w.finish().unwrap();
        }
        assert!(read_accounts(&other).unwrap_err().message.contains("no workbook part"));
    }

    /// Sets the uncompressed size a zip declares for `name`, in its local and central headers.
    fn declare_size(bytes: &mut [u8], name: &str, size: u32) {
        let u16_at = |b: &[u8], i: usize| u16::from_le_bytes([b[i], b[i + 1]]) as usize;
        let mut patched = 0;
        for i in 0..bytes.len().saturating_sub(46) {
            let (len_at, name_at, size_at) = match &bytes[i..i + 4] {
                b"PK\x03\x04" => (26, 30, 22),
                b"PK\x01\x02" => (28, 46, 24),
                _ => continue,
            };
            let len = u16_at(bytes, i + len_at);
            if bytes.get(i + name_at..i + name_at + len) == Some(name.as_bytes()) {
                bytes[i + size_at..i + size_at + 4].copy_from_slice(&size.to_le_bytes());
                patched += 1;
            }
        }
        assert_eq!(patched, 2, "{name} found in both headers");
    }

    #[test]
    fn an_entry_bigger_than_it_declares_fails_instead_of_expanding() {
        let mut bytes = book(&[header(), vec!["ann@example.com", "Ann"]]);
        declare_size(&mut bytes, "xl/worksheets/sheet1.xml", 10);
        let err = read_accounts(&bytes).unwrap_err();
        assert!(err.message.contains("xl/worksheets/sheet1.xml is damaged"), "{}", err.message);
    }

    #[test]
    fn declared_counts_are_read_from_any_attribute_spelling() {
        let count = |raw: &str| largest_declared_count(raw);
        assert_eq!(count(r#" xmlns="x" count="3" uniqueCount="2""#), Some(3));
        assert_eq!(count(" uniqueCount='99999999999999999999999'"), Some(u64::MAX));
        assert_eq!(count(r#" x:UNIQUECOUNT = "7000000""#), Some(7_000_000));
        assert_eq!(count(r#" t="shared" si="123456789""#), Some(123_456_789));
        assert_eq!(count(r#" a="b uniqueCount=1000000000000""#), Some(1_000_000_000_000));
        assert_eq!(count(r#" r="XFD1048576" t="s""#), None);
        assert_eq!(count(r#" count="000""#), Some(0));
    }

    /// `bytes` with the part `name` replaced by `content` (stored, not compressed).
    fn with_part(bytes: &[u8], name: &str, content: &[u8]) -> Vec<u8> {
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut out = Vec::new();
        {
            let mut w = zip::ZipWriter::new(Cursor::new(&mut out));
            let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
            let mut found = false;
            for i in 0..zip.len() {
                let mut entry = zip.by_index(i).unwrap();
                let entry_name = entry.name().unwrap().to_string();
                let mut data = Vec::new();
                entry.read_to_end(&mut data).unwrap();
                if entry_name == name {
                    data = content.to_vec();
                    found = true;
                }
                w.start_file(entry_name, options).unwrap();
                std::io::Write::write_all(&mut w, &data).unwrap();
            }
            assert!(found, "{name} is a part of the workbook");
            w.finish().unwrap();
        }
        out
    }

    const SST: &str = "xl/sharedStrings.xml";
    const HUGE: &str = "1000000000000";

    /// Crafted archives that, read without the checks, make a parser reserve memory for a
    /// trillion strings (the whole process aborts): the count behind a long comment, under a
    /// namespace prefix, in every kind of part, and items with no count at all.
    #[test]
    fn declared_counts_are_refused_wherever_they_sit_and_the_process_survives() {
        let good = book(&[header(), vec!["ann@example.com", "Ann"]]);
        assert_eq!(read_accounts(&good).unwrap().len(), 1);
        let ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
        let strings = |head: &str, tag: &str| {
            let mut xml = format!(r#"<?xml version="1.0" encoding="UTF-8"?>{head}"#);
            xml.push_str(&format!(r#"<{tag} xmlns:x="{ns}" xmlns="{ns}" count="7" uniqueCount="{HUGE}">"#));
            for text in COLUMNS.iter().chain(["ann@example.com", "Ann"].iter()) {
                xml.push_str(&format!("<si><t>{text}</t></si>"));
            }
            xml.push_str(&format!("</{tag}>"));
            xml.into_bytes()
        };
        let comment = format!("<!--{}-->", "x".repeat(8192));
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("plain", with_part(&good, SST, &strings("", "sst"))),
            ("after an 8 KB comment", with_part(&good, SST, &strings(&comment, "sst"))),
            ("after 8 KB of whitespace", with_part(&good, SST, &strings(&" ".repeat(8192), "sst"))),
            ("under a namespace prefix", with_part(&good, SST, &strings("", "x:sst"))),
            (
                "in the styles",
                with_part(&good, "xl/styles.xml", format!(r#"<styleSheet xmlns="{ns}"><numFmts count="{HUGE}"/></styleSheet>"#).as_bytes()),
            ),
            (
                "as a shared formula index in the sheet",
                with_part(
                    &good,
                    "xl/worksheets/sheet1.xml",
                    format!(r#"<worksheet xmlns="{ns}"><sheetData><row r="1"><c r="A1"><f t="shared" si="{HUGE}" ref="A1:A2">1</f></c></row></sheetData></worksheet>"#).as_bytes(),
                ),
            ),
        ];
        for (case, bytes) in cases {
            let err = read_accounts(&bytes).expect_err(case);
            assert!(err.message.contains(&format!("declares a count of {HUGE}")), "{case}: {}", err.message);
            assert_eq!(err.field.as_deref(), Some("file"), "{case}");
        }
        // No count at all, but more items than any import needs.
        let mut many = String::from("<sst>");
        for _ in 0..=MAX_SHARED_STRINGS {
            many.push_str("<si/>");
        }
        many.push_str("</sst>");
        let err = read_accounts(&with_part(&good, SST, many.as_bytes())).unwrap_err();
        assert!(err.message.contains("more than 100000 texts"), "{}", err.message);
        // The rules import goes through the same checks.
        let err = read_rules(&with_part(&good, SST, &strings(&comment, "x:sst"))).unwrap_err();
        assert!(err.message.contains("declares a count"), "{}", err.message);
    }

    proptest::proptest! {
        // `XLSX_FUZZ_CASES` runs more (longer runs: docs/BENCHMARKS.md, "Fuzzing").
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: std::env::var("XLSX_FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(256),
            ..Default::default()
        })]
        /// Any damage to a workbook (bytes changed anywhere, a part cut short, a huge count
        /// spliced in) is refused or read; the process never aborts or panics.
        #[test]
        fn any_damaged_workbook_is_refused_or_read(
            flips in proptest::collection::vec((0usize..1 << 16, proptest::prelude::any::<u8>()), 0..8),
            splice in proptest::option::of((0usize..1 << 16, 0usize..4)),
        ) {
            let good = book(&[header(), vec!["ann@example.com", "Ann", "Sales"]]);
            let mut sst = Vec::new();
            zip::ZipArchive::new(Cursor::new(&good)).unwrap().by_name(SST).unwrap().read_to_end(&mut sst).unwrap();
            if let Some((at, what)) = splice {
                let text = [" uniqueCount=\"99999999999\"", "<!-- -->", "<x:sst uniqueCount='1e99'>", "<si/>"][what];
                let at = at % sst.len();
                sst.splice(at..at, text.bytes());
            }
            let mut bytes = with_part(&good, SST, &sst);
            for (at, byte) in flips {
                let at = at % bytes.len();
                bytes[at] = byte;
            }
            let _ = read_accounts(&bytes);
        }
    }

    #[test]
    fn a_sheet_refused_for_a_far_row_names_the_row() {
        let mut wb = Workbook::new();
        let sheet = wb.add_worksheet();
        for (i, c) in COLUMNS.iter().enumerate() {
            sheet.write_string(0, i as u16, *c).unwrap();
        }
        sheet.write_string(1, 0, "a@example.com").unwrap();
        sheet.write_string(1_048_575, 0, "far@example.com").unwrap();
        let err = read_accounts(&wb.save_to_buffer().unwrap()).unwrap_err();
        assert!(err.message.contains("a value in row 1048576"), "{}", err.message);
    }

    #[test]
    fn tables_are_values_never_formulas() {
        let rows = vec![vec!["=1+1".to_string(), "ann@example.com".to_string()]];
        let bytes = write_table("Trace", &["A", "B"], &rows).unwrap();
        let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
        let formulas = book.worksheet_formula("Trace").unwrap();
        assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()), "no formulas");
        let range = book.worksheet_range("Trace").unwrap();
        let cells: Vec<String> = range.rows().nth(1).unwrap().iter().map(|c| c.to_string()).collect();
        assert_eq!(cells, ["=1+1", "ann@example.com"]);
    }

    #[test]
    fn exports_are_values_never_formulas() {
        let row = ExportRow {
            address: "ann@example.com".into(),
            display_name: "@SUM(A1)".into(),
            department: "+Sales".into(),
            notes: "=cmd|' /C calc'!A0".into(),
            status: "active".into(),
            quota_mb: 100,
            aliases: "-x@example.com".into(),
            has_password: true,
            force_password_change: false,
            created_at: "2026-01-01T00:00:00Z".into(),
        };
        let bytes = write_accounts(&[row]).unwrap();
        let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
        let formulas = book.worksheet_formula("Accounts").unwrap();
        assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()), "no formulas");
        let range = book.worksheet_range("Accounts").unwrap();
        let cells: Vec<String> = range.rows().nth(1).unwrap().iter().map(|c| c.to_string()).collect();
        assert_eq!(cells[1..4], ["@SUM(A1)", "+Sales", "=cmd|' /C calc'!A0"]);
        assert_eq!(cells[6..8], ["-x@example.com", "yes"]);
    }
}
