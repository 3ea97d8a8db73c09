-- Mail groups that take whole departments as members (issue 20.4): every account of the
-- department and of the departments below it, at the time a message arrives.
CREATE TABLE group_departments (
    group_id       INTEGER NOT NULL REFERENCES mail_groups(id) ON DELETE CASCADE,
    department_id  INTEGER NOT NULL REFERENCES departments(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, department_id)
) WITHOUT ROWID;
CREATE INDEX group_departments_department ON group_departments(department_id);
