//! Arbitrary bytes → (when UTF-8) saved-plan loading, exactly as `apply --plan` parses a file.
//! Nothing may panic: a plan file is written by whoever can edit a CI artifact, and every answer
//! must be a plan or an error naming the file.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use livehook::plan::saved::SavedPlan;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(error) = SavedPlan::parse(text, Path::new("fuzz.json")) {
        assert!(error.to_string().contains("fuzz.json"), "{error}");
    }
});
