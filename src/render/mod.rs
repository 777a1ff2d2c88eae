//! Plan and apply reports: human text (Terraform-shaped), the versioned JSON document, markdown and
//! GitHub annotations. Renderers write into a `String`; the CLI decides which stream it goes to
//! and whether colour survives.

pub mod apply;
pub mod github;
pub mod json;
pub mod markdown;
pub mod text;

/// "1 app", "5 apps".
pub fn apps(n: usize) -> String {
    plural(n, "app")
}

/// "1 error", "3 errors": every noun livehook counts takes a plain `s`.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
