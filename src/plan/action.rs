//! What happens to an app or one managed part of it, on its own so that the parts of a plan
//! (the token's, the callback's) can name it without depending on the whole plan.

use serde::{Deserialize, Serialize};

/// What happens to an app (or one managed part of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Update,
    Delete,
    NoOp,
}

/// How reports name the action of an app that could not be read (it has none).
pub const UNREAD: &str = "error";

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::NoOp => "no-op",
        }
    }

    /// The name of an app's action in reports: [`UNREAD`] for an app that could not be read.
    pub fn name_of(action: Option<Action>) -> &'static str {
        action.map_or(UNREAD, Action::as_str)
    }

    pub fn is_change(self) -> bool {
        matches!(self, Action::Create | Action::Update | Action::Delete)
    }
}
