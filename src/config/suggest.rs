//! "Did you mean …?" for misspelt field names, regions and command words.

/// The candidate closest to `given`, if it is close enough to be a plausible typo.
pub fn did_you_mean<'a>(
    given: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let given_lower = given.to_lowercase();
    candidates
        .into_iter()
        .map(|candidate| {
            let score = strsim::jaro_winkler(&given_lower, &candidate.to_lowercase());
            (score, candidate)
        })
        // 0.8 accepts a dropped, doubled or swapped letter or a wrong case, and rejects words
        // that merely share a prefix such as `Live.Callback`.
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tim::command_words::KNOWN;

    #[test]
    fn suggests_close_words_only() {
        assert_eq!(
            did_you_mean("calback", ["callback", "token", "region"]),
            Some("callback")
        );
        assert_eq!(
            did_you_mean("singapur", ["china", "singapore"]),
            Some("singapore")
        );
        assert_eq!(
            did_you_mean("Live.CallbackMemberStateChanged", KNOWN.iter().copied()),
            Some("Live.CallbackAfterMemberStateChanged")
        );
        assert_eq!(
            did_you_mean("live.callbackaftercreateroom", KNOWN.iter().copied()),
            Some("Live.CallbackAfterCreateRoom")
        );
        assert_eq!(did_you_mean("zzz", ["callback", "token"]), None);
    }
}
