-- A new password (set by an admin, a batch reset or the user) and an admin's unlock end
-- every client lockout of the account: the owner gets back in from anywhere at once.
CREATE TRIGGER login_failures_new_password AFTER UPDATE OF password_hash ON accounts
BEGIN
    DELETE FROM login_failures WHERE account_id = NEW.id;
END;
CREATE TRIGGER login_failures_unlocked AFTER UPDATE OF status ON accounts
WHEN OLD.status = 'locked' AND NEW.status = 'active'
BEGIN
    DELETE FROM login_failures WHERE account_id = NEW.id;
END;
