//! The `CallbackCommandList` words Tencent documents for live rooms (647/64413).

use std::sync::LazyLock;

use regex::Regex;

/// Every documented command word. Words Tencent adds later are admitted through the desired-state
/// file's `extra_commands`.
pub const KNOWN: &[&str] = &[
    // room
    "Live.CallbackAfterCreateRoom",
    "Live.CallbackAfterDestroyRoom",
    "Live.CallbackAfterUpdateRoomInfo",
    "Live.CallbackAfterSetMetadata",
    "Live.CallbackAfterDelMetadata",
    "Live.CallbackAfterCreateRoomReachingThreshold",
    // cloud recording
    "Live.CallbackAfterCloudRecordingChanged",
    // member
    "Live.CallbackAfterMemberStateChanged",
    "Live.CallbackAfterChangeOwner",
    "Live.CallbackAfterModifyAdmin",
    // mic seats
    "Mic.CallbackAfterSeatInfoChanged",
    // battle (PK)
    "Live.CallbackAfterCreateBattle",
    "Live.CallbackAfterStartBattle",
    "Live.CallbackAfterEndBattle",
    // gift
    "Live.CallbackBeforeSendGift",
    "Live.CallbackBeforeCallBackNotBlock",
    // group message; whether set_callback accepts these is unconfirmed upstream, so they are
    // admitted and the API has the last word.
    "Group.CallbackAfterSendMsg",
    "Group.CallbackBeforeSendMsg",
    // follow
    "Follow.CallbackAfterFollowAdd",
    "Follow.CallbackAfterFollowDelete",
];

/// The shape every command word has, for words not in [`KNOWN`] (used by the JSON Schema so that
/// editors accept `extra_commands` words while still completing the known ones).
pub const PATTERN: &str = r"^[A-Z][A-Za-z]*\.Callback[A-Za-z]+$";

/// Whether `word` has [`PATTERN`]'s shape (the same expression the schema checks with).
pub fn has_shape(word: &str) -> bool {
    static SHAPE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(PATTERN).expect("PATTERN is a valid expression"));
    SHAPE.is_match(word)
}

pub fn is_known(word: &str) -> bool {
    KNOWN.contains(&word)
}
