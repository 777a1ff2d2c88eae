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
    if n == 1 {
        "1 app".into()
    } else {
        format!("{n} apps")
    }
}
