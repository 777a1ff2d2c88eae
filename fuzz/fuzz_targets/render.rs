//! Arbitrary outside text (app name, desired and live URLs and command words, an error's
//! message, RequestId and hint) → the text, markdown, GitHub and JSON plan reports. Whatever it
//! holds, no line is a workflow command but livehook's own, no raw control or bidi character is
//! written, and markdown keeps its structure: the same checks as the hostile-string corpus.
#![no_main]

#[path = "../../tests/cli/hostile_output/invariants.rs"]
mod invariants;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    name: String,
    desired_url: String,
    live_url: String,
    desired_words: Vec<String>,
    live_words: Vec<String>,
    error: String,
    hint: String,
}

fuzz_target!(|input: Input| {
    let plans = invariants::plans(invariants::Outside {
        name: input.name,
        desired_url: input.desired_url,
        live_url: input.live_url,
        desired_words: input.desired_words,
        live_words: input.live_words,
        error: input.error,
        hint: input.hint,
    });
    if let Err(problem) = invariants::check_reports(&plans) {
        panic!("{problem}");
    }
});
