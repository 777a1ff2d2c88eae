//! What a probe sends: the query and body of a callback exactly as Tencent delivers one, with
//! identifiers no real event has, so a receiver's owner can recognise a probe and ignore it.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::Url;

use crate::tim::client::Secret;

/// `ClientIP` of every probe: an address reserved for documentation (RFC 5737), never a real
/// client's.
pub const CLIENT_IP: &str = "192.0.2.1";

/// `OptPlatform` of every probe: a callback caused by a REST API call, as a server-side test is.
pub const OPT_PLATFORM: &str = "RESTAPI";

/// `Operator_Account` of every probe's body.
pub const OPERATOR: &str = "livehook-probe";

/// Every probe's `RoomId` starts with this, followed by 16 random hex digits.
pub const ROOM_ID_PREFIX: &str = "livehook-probe-";

/// `Sign` of a signed callback: lowercase hex SHA-256 of the token immediately followed by
/// `RequestTime` in decimal, as Tencent computes it (no separator, no key).
pub fn sign(token: &str, request_time: u64) -> String {
    let digest = Sha256::digest(format!("{token}{request_time}").as_bytes());
    format!("{digest:x}")
}

/// The command word a probe sends when none is named: the app's first after-callback word.
/// After-callbacks only inform the receiver; a before-callback (a gift check, say) steers what
/// Tencent does next, so it is sent only when named with `--command`.
pub fn default_command(words: &[String]) -> Option<&str> {
    words
        .iter()
        .map(String::as_str)
        .find(|w| w.contains(".CallbackAfter"))
}

/// One probe, ready to send: the URL with Tencent's query, and the JSON body.
pub struct ProbeRequest {
    /// Holds the `Sign` when the app's token is enabled: never shown or logged.
    pub url: Url,
    pub body: String,
}

/// What a probe of one URL is built from.
pub struct Parts<'a> {
    pub url: &'a str,
    pub sdkappid: u64,
    pub command: &'a str,
    /// The enabled webhook token the callback is signed with.
    pub token: Option<&'a Secret>,
    /// Unix seconds (`RequestTime`, `CreateTime`).
    pub now_secs: u64,
}

impl ProbeRequest {
    /// The request Tencent would send for `parts`, with a fresh random `RoomId`.
    pub fn build(parts: &Parts<'_>) -> Result<ProbeRequest, url::ParseError> {
        let room_id = format!("{ROOM_ID_PREFIX}{:016x}", rand::random::<u64>());
        let mut url = Url::parse(parts.url)?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("SdkAppid", &parts.sdkappid.to_string())
                .append_pair("CallbackCommand", parts.command)
                .append_pair("contenttype", "json")
                .append_pair("ClientIP", CLIENT_IP)
                .append_pair("OptPlatform", OPT_PLATFORM);
            if let Some(token) = parts.token {
                query
                    .append_pair("Sign", &sign(token.expose(), parts.now_secs))
                    .append_pair("RequestTime", &parts.now_secs.to_string());
            }
        }
        let body = body(parts.command, &room_id, parts.now_secs);
        Ok(ProbeRequest {
            url,
            body: body.to_string(),
        })
    }
}

/// The body for `command`. The two room events Tencent documents get their documented shape;
/// every other word gets the fields all live-room callbacks share (`CallbackCommand`,
/// `Operator_Account`, `RoomId`, `EventTime`).
pub fn body(command: &str, room_id: &str, now_secs: u64) -> Value {
    let event_time_ms = now_secs * 1000;
    let room_info = || {
        json!({
            "RoomId": room_id,
            "RoomName": "livehook probe",
            "RoomType": "Live",
            "Owner_Account": OPERATOR,
            "MaxMemberCount": 300,
            "IsMessageDisabled": false,
            "CustomInfo": "",
            "IsSeatEnabled": true,
            "TakeSeatMode": "ApplyToTake",
            "MaxSeatCount": 16,
            "CreateTime": now_secs,
            "IsPublicVisible": true,
            "CoverURL": "",
            "Category": [],
        })
    };
    match command {
        "Live.CallbackAfterCreateRoom" => json!({
            "CallbackCommand": command,
            "Operator_Account": OPERATOR,
            "RoomInfo": room_info(),
            "EventTime": event_time_ms,
        }),
        "Live.CallbackAfterDestroyRoom" => json!({
            "CallbackCommand": command,
            "Operator_Account": OPERATOR,
            "RoomId": room_id,
            "EventType": "DestroyByUser",
            "RoomInfo": room_info(),
            "Statistic": {
                "TotalViewers": 0,
                "TotalGiftsSent": 0,
                "TotalGiftCoins": 0,
                "TotalUniqueGiftSenders": 0,
                "TotalLikesReceived": 0,
            },
            "EventTime": event_time_ms,
        }),
        _ => json!({
            "CallbackCommand": command,
            "Operator_Account": OPERATOR,
            "RoomId": room_id,
            "EventTime": event_time_ms,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_matches_tencents_test_vectors() {
        assert_eq!(
            sign("xxxxyyyy", 1669872112),
            "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061"
        );
        assert_eq!(
            sign("e10adc3949ba59abbe56e057f20f883e", 1676091353),
            "a5d271b35bd72858cdf1ad0b9dfbf037d19146062c0ecb712a0a3235489d6021"
        );
    }

    #[test]
    fn the_default_word_is_the_first_after_callback() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let gift_then_room = words(&["Live.CallbackBeforeSendGift", "Live.CallbackAfterEndBattle"]);
        assert_eq!(
            default_command(&gift_then_room),
            Some("Live.CallbackAfterEndBattle")
        );
        assert_eq!(
            default_command(&words(&["Live.CallbackBeforeSendGift"])),
            None
        );
    }

    #[test]
    fn the_query_is_tencents_and_keeps_the_urls_own() {
        let token = Secret::new("xxxxyyyy".into());
        let request = ProbeRequest::build(&Parts {
            url: "https://hooks.example.com/tim?tenant=a",
            sdkappid: 1400000001,
            command: "Live.CallbackAfterCreateRoom",
            token: Some(&token),
            now_secs: 1669872112,
        })
        .unwrap();
        let query: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        let expected = [
            ("tenant", "a"),
            ("SdkAppid", "1400000001"),
            ("CallbackCommand", "Live.CallbackAfterCreateRoom"),
            ("contenttype", "json"),
            ("ClientIP", CLIENT_IP),
            ("OptPlatform", "RESTAPI"),
            (
                "Sign",
                "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061",
            ),
            ("RequestTime", "1669872112"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(query, expected);
        let body: Value = serde_json::from_str(&request.body).unwrap();
        let room_id = body["RoomInfo"]["RoomId"].as_str().unwrap();
        assert!(room_id.starts_with(ROOM_ID_PREFIX), "{room_id}");
        assert_eq!(room_id.len(), ROOM_ID_PREFIX.len() + 16);
        assert_eq!(body["EventTime"], 1669872112000u64);
    }

    #[test]
    fn an_unsigned_probe_has_no_sign_or_request_time() {
        let request = ProbeRequest::build(&Parts {
            url: "http://127.0.0.1:1/hook",
            sdkappid: 1,
            command: "Live.CallbackAfterDestroyRoom",
            token: None,
            now_secs: 1,
        })
        .unwrap();
        assert!(
            request
                .url
                .query_pairs()
                .all(|(k, _)| k != "Sign" && k != "RequestTime")
        );
        let body: Value = serde_json::from_str(&request.body).unwrap();
        assert_eq!(body["EventType"], "DestroyByUser");
        assert_eq!(body["Statistic"]["TotalLikesReceived"], 0);
    }
}
