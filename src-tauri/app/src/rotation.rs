//! When a remote backend's API token is rotated (issue 15, item 8): the pure rule, apart
//! from the keyring and the network so it is tested alone. The steps themselves are
//! [`Backends::rotate_token`](crate::backends::Backends::rotate_token).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How often the app looks at its remote tokens' expiry (and once at launch).
pub const CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// Whether a token made at `created_at` that ends at `expires_at` (RFC 3339) is due for
/// rotation at `now`: when a third of its lifetime or less is left (a 30-day token with 10
/// days to go, a 3-day token with a day to go), so a machine that sleeps for a while still
/// finds it working. A token that never ends is never due; an unreadable time is due (a
/// successor with the server's own dates is the way out).
pub fn rotation_due(created_at: &str, expires_at: Option<&str>, now: OffsetDateTime) -> bool {
    let Some(expires_at) = expires_at else { return false };
    let (Ok(created), Ok(expires)) =
        (OffsetDateTime::parse(created_at, &Rfc3339), OffsetDateTime::parse(expires_at, &Rfc3339))
    else {
        return true;
    };
    let left = expires - now;
    left * 3 <= expires - created
}

/// The public id of a token secret `pd_<id>_<random>`, as `list_tokens` and
/// `rotate_own_token` name it.
pub fn token_id(secret: &str) -> Option<&str> {
    let rest = secret.strip_prefix("pd_")?;
    let (id, random) = rest.split_once('_')?;
    (!id.is_empty() && !random.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some(id)
}

/// What one rotation check did for a remote backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// Nothing to do yet: the token ends at this time (`None`: never).
    NotDue {
        /// When the current token ends.
        expires_at: Option<String>,
    },
    /// A successor is in the keyring and in use; the old token was revoked unless
    /// `old_revoked` is false (then it still ends on its own at its expiry).
    Rotated {
        /// The old token's id.
        old: String,
        /// The new token's id.
        new: String,
        /// When the new token ends.
        expires_at: Option<String>,
        /// Whether revoking the old token succeeded.
        old_revoked: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> OffsetDateTime {
        OffsetDateTime::parse(s, &Rfc3339).unwrap()
    }

    #[test]
    fn a_token_is_due_when_a_third_of_its_life_is_left() {
        let (made, ends) = ("2026-01-01T00:00:00Z", Some("2026-01-31T00:00:00Z"));
        assert!(!rotation_due(made, ends, at("2026-01-02T00:00:00Z")));
        assert!(!rotation_due(made, ends, at("2026-01-20T23:59:59Z")));
        assert!(rotation_due(made, ends, at("2026-01-21T00:00:00Z")));
        assert!(rotation_due(made, ends, at("2026-01-30T00:00:00Z")));
        // Already over: still due (the server refuses it, but the attempt says why).
        assert!(rotation_due(made, ends, at("2026-02-05T00:00:00Z")));
        // Never ends: never due.
        assert!(!rotation_due(made, None, at("2099-01-01T00:00:00Z")));
        // Unreadable: due.
        assert!(rotation_due("yesterday", ends, at("2026-01-02T00:00:00Z")));
    }

    #[test]
    fn the_id_is_read_from_the_secret() {
        assert_eq!(token_id("pd_0a1b2c3d4e5f_9f8e7d"), Some("0a1b2c3d4e5f"));
        assert_eq!(token_id("pd_0a1b_"), None);
        assert_eq!(token_id("pd__abc"), None);
        assert_eq!(token_id("xx_0a1b_abc"), None);
        assert_eq!(token_id("pd_../x_abc"), None);
    }
}
