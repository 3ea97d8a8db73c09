//! The aliases, BCC, disclaimer and monitoring rules files: what the reader gives, what the
//! writers write (values only), and the templates.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use postdesk_contract::model::Alias;
use postdesk_contract::monitor::{MonitorAction, MonitorRule, MonitorTraffic};
use postdesk_contract::rules::{BccRule, DisclaimerRule, DisclaimerScope, RuleDirection};
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

#[test]
fn disclaimer_exports_are_string_values_in_order_that_read_back_as_rows() {
    let rule = |id, position, name: &str, html: Option<&str>| DisclaimerRule {
        id,
        domain: "example.com".into(),
        position,
        name: name.into(),
        scope: DisclaimerScope::External,
        sender: None,
        recipient: Some("far.example".into()),
        department: Some("Sales/East".into()),
        except_sender: Some("ceo@example.com".into()),
        except_recipient: None,
        except_department: Some("Legal".into()),
        text: "=cmd|'/C calc'!A0\nSecond line".into(),
        html: html.map(String::from),
    };
    let rules = [rule(9, 1, "+first", Some("<p>-x</p>")), rule(3, 2, "second", None)];
    let bytes = write_disclaimer_rules(&rules).unwrap();
    let (rows, strings) = cells(bytes.clone());
    assert!(strings, "every cell a string value");
    assert_eq!(rows[0], DISCLAIMER_COLUMNS);
    assert_eq!(
        rows[1],
        [
            "+first",
            "external",
            "",
            "far.example",
            "Sales/East",
            "ceo@example.com",
            "",
            "Legal",
            "=cmd|'/C calc'!A0\nSecond line",
            "<p>-x</p>"
        ]
    );
    assert_eq!(rows[2][0], "second", "in the order given");
    assert_eq!(rows[2][9], "", "no HTML: an empty cell");
    let back = read_disclaimer_rules(&bytes).unwrap();
    assert_eq!(back.len(), 2);
    assert_eq!(
        back[0],
        DisclaimerRow {
            row: 2,
            name: "+first".into(),
            scope: "external".into(),
            sender: "".into(),
            recipient: "far.example".into(),
            department: "Sales/East".into(),
            except_sender: "ceo@example.com".into(),
            except_recipient: "".into(),
            except_department: "Legal".into(),
            text: "=cmd|'/C calc'!A0\nSecond line".into(),
            html: "<p>-x</p>".into(),
        }
    );
    let (rows, _) = cells(disclaimer_rules_template().unwrap());
    assert_eq!(rows, [DISCLAIMER_COLUMNS]);
    let err = read_disclaimer_rules(&disclaimer_rules_template().unwrap()).unwrap_err();
    assert!(err.message.contains("no rules below the header row"), "{}", err.message);
    let err = read_disclaimer_rules(&book(&[BCC_COLUMNS.to_vec(), vec!["x"]])).unwrap_err();
    assert!(err.message.contains("column B is 'Direction' where the template has 'Scope'"), "{}", err.message);
}

#[test]
fn monitor_exports_are_string_values_that_read_back_as_rows() {
    let rule = MonitorRule {
        id: 4,
        domain: "example.com".into(),
        name: "@watch".into(),
        scope_department: None,
        scope_account: Some("ann@example.com".into()),
        traffic: MonitorTraffic::Internal,
        sender: None,
        recipient: Some("example.org".into()),
        min_size_kb: Some(20),
        keyword: Some("=1+1".into()),
        except_sender: None,
        except_recipient: None,
        except_keyword: Some("newsletter".into()),
        action: MonitorAction::Folder,
        target: "-Large".into(),
    };
    let bytes = write_monitor_rules(std::slice::from_ref(&rule)).unwrap();
    let (rows, strings) = cells(bytes.clone());
    assert!(strings, "every cell a string value, the size too");
    assert_eq!(rows[0], MONITOR_COLUMNS);
    assert_eq!(
        rows[1],
        [
            "@watch",
            "",
            "ann@example.com",
            "internal",
            "",
            "example.org",
            "20",
            "=1+1",
            "",
            "",
            "newsletter",
            "folder",
            "-Large"
        ]
    );
    let back = read_monitor_rules(&bytes).unwrap();
    assert_eq!(
        back,
        [MonitorRow {
            row: 2,
            name: "@watch".into(),
            scope_account: "ann@example.com".into(),
            traffic: "internal".into(),
            recipient: "example.org".into(),
            min_size_kb: "20".into(),
            keyword: "=1+1".into(),
            except_keyword: "newsletter".into(),
            action: "folder".into(),
            target: "-Large".into(),
            ..Default::default()
        }]
    );
    let (rows, _) = cells(monitor_rules_template().unwrap());
    assert_eq!(rows, [MONITOR_COLUMNS]);
}

#[test]
fn more_than_a_hundred_disclaimer_or_monitoring_rules_are_refused() {
    let names: Vec<String> = (0..=100).map(|i| format!("r{i}")).collect();
    let mut rows = vec![DISCLAIMER_COLUMNS.to_vec()];
    rows.extend(names.iter().map(|n| vec![n.as_str(), "", "", "", "", "", "", "", "text"]));
    let err = read_disclaimer_rules(&book(&rows)).unwrap_err();
    assert_eq!(err.code, postdesk_contract::ErrorCode::LimitExceeded);
    assert!(err.message.contains("101 rows of rules; at most 100"), "{}", err.message);
    rows.pop();
    assert_eq!(read_disclaimer_rules(&book(&rows)).unwrap().len(), 100);

    let mut rows = vec![MONITOR_COLUMNS.to_vec()];
    rows.extend(names.iter().map(|n| vec![n.as_str(), "", "", "", "", "", "", "", "", "", "", "", "m@example.com"]));
    let err = read_monitor_rules(&book(&rows)).unwrap_err();
    assert!(err.message.contains("101 rows of rules; at most 100"), "{}", err.message);
    rows.pop();
    assert_eq!(read_monitor_rules(&book(&rows)).unwrap().len(), 100);
}

#[test]
fn a_number_cell_reads_as_its_whole_number() {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in MONITOR_COLUMNS.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    sheet.write_string(1, 0, "big").unwrap();
    sheet.write_number(1, 6, 512.0).unwrap();
    sheet.write_string(1, 12, "m@example.com").unwrap();
    let rows = read_monitor_rules(&book.save_to_buffer().unwrap()).unwrap();
    assert_eq!(rows[0].min_size_kb, "512");
}
