// The generated operations.ts names `AuditEntry` (in `Listing<AuditEntry>`) without importing
// it: the generator only imports types it visits directly, not generic arguments. Until the
// generator is fixed this global alias lets the file compile; it is shadowed by a real import
// once there is one, so it can stay harmlessly.
type AuditEntry = import("./bindings/AuditEntry").AuditEntry;
