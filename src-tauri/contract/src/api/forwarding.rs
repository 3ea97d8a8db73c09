//! Params of an admin's look at and ending of a user's own forwarding (set in the portal).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

params!(/// A user's own forwarding (targets, keep a copy, whether `auto_forward` allows it).
GetAccountForwarding { /// The account's address.
address: String });
params!(/// Ends a user's own forwarding.
ClearAccountForwarding { /// The account's address.
address: String });
