-- Trigram indexes over aliases (address, description) and mail groups (address, name), kept
-- by triggers like account_search: a filter of three or more characters finds its rows
-- without reading the whole domain. Accelerators only: the listings still check each
-- candidate with LIKE (sql/search.rs).
CREATE VIRTUAL TABLE alias_search USING fts5(
    address, description, content = 'aliases', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO alias_search(alias_search) VALUES ('rebuild');
CREATE TRIGGER alias_search_insert AFTER INSERT ON aliases BEGIN
    INSERT INTO alias_search(rowid, address, description) VALUES (NEW.id, NEW.address, NEW.description);
END;
CREATE TRIGGER alias_search_delete AFTER DELETE ON aliases BEGIN
    INSERT INTO alias_search(alias_search, rowid, address, description)
        VALUES ('delete', OLD.id, OLD.address, OLD.description);
END;
CREATE TRIGGER alias_search_update AFTER UPDATE OF address, description ON aliases BEGIN
    INSERT INTO alias_search(alias_search, rowid, address, description)
        VALUES ('delete', OLD.id, OLD.address, OLD.description);
    INSERT INTO alias_search(rowid, address, description) VALUES (NEW.id, NEW.address, NEW.description);
END;

CREATE VIRTUAL TABLE group_search USING fts5(
    address, name, content = 'mail_groups', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO group_search(group_search) VALUES ('rebuild');
CREATE TRIGGER group_search_insert AFTER INSERT ON mail_groups BEGIN
    INSERT INTO group_search(rowid, address, name) VALUES (NEW.id, NEW.address, NEW.name);
END;
CREATE TRIGGER group_search_delete AFTER DELETE ON mail_groups BEGIN
    INSERT INTO group_search(group_search, rowid, address, name) VALUES ('delete', OLD.id, OLD.address, OLD.name);
END;
CREATE TRIGGER group_search_update AFTER UPDATE OF address, name ON mail_groups BEGIN
    INSERT INTO group_search(group_search, rowid, address, name) VALUES ('delete', OLD.id, OLD.address, OLD.name);
    INSERT INTO group_search(rowid, address, name) VALUES (NEW.id, NEW.address, NEW.name);
END;

-- A domain's aliases and groups in address order (keyset paging), read from the index alone.
CREATE INDEX aliases_domain_address ON aliases(domain_id, address);
CREATE INDEX mail_groups_domain_address ON mail_groups(domain_id, address);
