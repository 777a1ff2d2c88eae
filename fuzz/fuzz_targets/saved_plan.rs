//! Arbitrary bytes → (when UTF-8) saved-plan loading, exactly as `apply --plan` parses a file.
//! Nothing may panic: a plan file is written by whoever can edit a CI artifact, and every answer
//! must be a plan or an error naming the file. A forger can recompute the checksum, so an input
//! that has a plan's shape is also loaded with its checksum made right: that is what carries the
//! fuzzer past the checksum into the checks behind it.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use livehook::plan::saved::{SavedPlan, checksum};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    load(text);
    if let Ok(mut plan) = serde_json::from_str::<SavedPlan>(text) {
        plan.checksum = checksum(&plan);
        if let Ok(resealed) = serde_json::to_string(&plan) {
            load(&resealed);
        }
    }
});

/// Loads `text` as `apply --plan` does, then does what apply does next with a plan that loads:
/// turns each app back into an app and builds the record its MAC covers.
fn load(text: &str) {
    let path = Path::new("fuzz.json");
    match SavedPlan::parse(text, path) {
        Err(error) => assert!(error.to_string().contains("fuzz.json"), "{error}"),
        Ok(plan) => {
            for (index, app) in plan.apps.iter().enumerate() {
                let _ = app.to_app(path);
                let _ = plan.mac_record(index);
            }
        }
    }
}
