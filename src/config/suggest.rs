//! "Did you mean …?" for misspelt field names, regions and command words.

/// The candidate closest to `given`, if it is close enough to be a plausible typo.
pub fn did_you_mean<'a>(
    given: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let given_lower = given.to_lowercase();
    candidates
        .into_iter()
        .filter_map(|candidate| {
            let candidate_lower = candidate.to_lowercase();
            let score = strsim::jaro_winkler(&given_lower, &candidate_lower);
            // Jaro-Winkler alone rates any two command words as close, since they share the long
            // `Live.Callback` prefix (`Live.CallbackOnUserEnter` scored 0.88 against
            // `Live.CallbackAfterCreateRoom`); a typo also needs few edits for its length.
            let edits = strsim::damerau_levenshtein(&given_lower, &candidate_lower);
            let longest = given_lower
                .chars()
                .count()
                .max(candidate_lower.chars().count());
            Some((score, candidate)).filter(|_| edits <= (longest / 4).max(2))
        })
        // 0.8 accepts a dropped, doubled or swapped letter or a wrong case.
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
        assert_eq!(did_you_mean("us", ["usa", "seoul"]), Some("usa"));
        // Sharing `Live.Callback` does not make two words close.
        for unrelated in [
            "Live.CallbackSomethingElseEntirely",
            "Live.CallbackFoo",
            "Live.CallbackOnUserEnter",
            "Live.CallbackAfterPinMessage",
        ] {
            assert_eq!(
                did_you_mean(unrelated, KNOWN.iter().copied()),
                None,
                "{unrelated}"
            );
        }
    }
}
