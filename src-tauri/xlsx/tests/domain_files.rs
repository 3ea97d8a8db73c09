//! The aliases and BCC rules files: what the reader gives, what the writers write (values
//! only), and the templates.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use postdesk_contract::model::Alias;
use postdesk_contract::rules::{BccRule, RuleDirection};
use postdesk_xlsx::*;

fn book(rows: &[Vec<&str>]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
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

/// Every cell of the first sheet: its text, and whether it is a string cell (not a formula).
fn cells(bytes: Vec<u8>) -> (Vec<Vec<String>>, bool) {
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    let first = book.sheet_names()[0].clone();
    let formulas = book.worksheet_formula(&first).unwrap();
    let range = book.worksheet_range(&first).unwrap();
    let strings = range.used_cells().all(|(_, _, c)| matches!(c, Data::String(_)))
        && !formulas.used_cells().any(|(_, _, f)| !f.is_empty());
    (range.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect(), strings)
}

#[test]
fn list_cells_split_on_commas_semicolons_and_lines() {
    assert_eq!(
        split_list(" a@x.test, b@x.test;c@x.test\n\nd@x.test ,"),
        ["a@x.test", "b@x.test", "c@x.test", "d@x.test"]
    );
    assert!(split_list(" , ;").is_empty());
}

#[test]
fn alias_rows_are_read_with_their_spreadsheet_row_numbers() {
    let bytes = book(&[
        ALIAS_COLUMNS.to_vec(),
        vec!["sales@example.com", "ann@example.com, bob@example.com", "=1+1"],
        vec![],
        vec!["team@example.com", "x@far.example"],
    ]);
    let rows = read_aliases(&bytes).unwrap();
    assert_eq!(
        rows,
        [
            AliasRow {
                row: 2,
                address: "sales@example.com".into(),
                targets: "ann@example.com, bob@example.com".into(),
                description: "=1+1".into()
            },
            AliasRow {
                row: 4,
                address: "team@example.com".into(),
                targets: "x@far.example".into(),
                description: "".into()
            },
        ]
    );
    let err = read_aliases(&book(&[vec!["Alias", "Targets"], vec!["a@example.com"]])).unwrap_err();
    assert!(err.message.contains("column A is 'Alias' where the template has 'Alias address'"), "{}", err.message);
    let err = read_aliases(&book(&[ALIAS_COLUMNS.to_vec()])).unwrap_err();
    assert!(err.message.contains("no aliases below the header row"), "{}", err.message);
}

#[test]
fn more_than_ten_thousand_aliases_are_refused() {
    let mut rows = vec![ALIAS_COLUMNS.to_vec()];
    let addresses: Vec<String> = (0..=MAX_ALIAS_ROWS).map(|i| format!("a{i}@example.com")).collect();
    rows.extend(addresses.iter().map(|a| vec![a.as_str(), "b@example.com"]));
    let err = read_aliases(&book(&rows)).unwrap_err();
    assert_eq!(err.code, postdesk_contract::ErrorCode::LimitExceeded);
    assert!(err.message.contains("10001 rows of aliases; at most 10000"), "{}", err.message);
    rows.pop();
    assert_eq!(read_aliases(&book(&rows)).unwrap().len(), MAX_ALIAS_ROWS);
}

#[test]
fn alias_exports_are_string_values_that_read_back_as_rows() {
    let aliases = [Alias {
        address: "sales@example.com".into(),
        targets: vec!["ann@example.com".into(), "x@far.example".into()],
        description: "=cmd|'/C calc'!A0".into(),
    }];
    let bytes = write_aliases(&aliases).unwrap();
    let (rows, strings) = cells(bytes.clone());
    assert!(strings, "every cell a string value");
    assert_eq!(rows[1], ["sales@example.com", "ann@example.com, x@far.example", "=cmd|'/C calc'!A0"]);
    let back = read_aliases(&bytes).unwrap();
    assert_eq!(split_list(&back[0].targets), aliases[0].targets);
    assert_eq!(back[0].description, aliases[0].description);
}

#[test]
fn bcc_exports_are_string_values_and_templates_are_the_header() {
    let rule = BccRule {
        id: 7,
        domain: "example.com".into(),
        name: "+copy".into(),
        direction: RuleDirection::Inbound,
        sender: None,
        recipient: Some("@SUM(1)".into()),
        copy_to: "archive@example.com".into(),
    };
    let bytes = write_bcc_rules(&[rule]).unwrap();
    let (rows, strings) = cells(bytes.clone());
    assert!(strings);
    assert_eq!(rows[1], ["+copy", "inbound", "", "@SUM(1)", "archive@example.com"]);
    let back = read_bcc_rules(&bytes).unwrap();
    assert_eq!((back[0].row, back[0].name.as_str(), back[0].sender.as_str()), (2, "+copy", ""));
    let (rows, _) = cells(bcc_rules_template().unwrap());
    assert_eq!(rows, [BCC_COLUMNS]);
    let (rows, _) = cells(aliases_template().unwrap());
    assert_eq!(rows, [ALIAS_COLUMNS]);
}
