-- A trigram index over every account's address and display name: a substring filter of
-- three or more characters finds its accounts without reading the whole domain. It is an
-- accelerator only: the listing still checks each candidate with the same LIKE as before,
-- so what a filter finds is unchanged (trigrams fold case beyond ASCII; LIKE decides).
CREATE VIRTUAL TABLE account_search USING fts5(
    address, display_name, content = 'accounts', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO account_search(account_search) VALUES ('rebuild');

CREATE TRIGGER account_search_insert AFTER INSERT ON accounts BEGIN
    INSERT INTO account_search(rowid, address, display_name) VALUES (NEW.id, NEW.address, NEW.display_name);
END;
CREATE TRIGGER account_search_delete AFTER DELETE ON accounts BEGIN
    INSERT INTO account_search(account_search, rowid, address, display_name)
        VALUES ('delete', OLD.id, OLD.address, OLD.display_name);
END;
CREATE TRIGGER account_search_update AFTER UPDATE OF address, display_name ON accounts BEGIN
    INSERT INTO account_search(account_search, rowid, address, display_name)
        VALUES ('delete', OLD.id, OLD.address, OLD.display_name);
    INSERT INTO account_search(rowid, address, display_name) VALUES (NEW.id, NEW.address, NEW.display_name);
END;

-- Deep pages of the unfiltered list step over index entries only: the status each row's
-- filter reads is in the index (and the department, for the department order), so no row
-- is fetched until the page itself.
CREATE INDEX accounts_domain_address_status ON accounts(domain_id, address, status, department_id);
DROP INDEX accounts_domain_address;
CREATE INDEX accounts_domain_name ON accounts(domain_id, display_name COLLATE NOCASE, address, status);
-- The other sorts read their order from an index too (ties by address, as the listing asks).
CREATE INDEX accounts_domain_created ON accounts(domain_id, created_at, address, status);
CREATE INDEX accounts_domain_status ON accounts(domain_id, status, address);
