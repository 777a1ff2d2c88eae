//! Plan and apply reports: human text (Terraform-shaped) and the versioned JSON document. Renderers write
//! into a `String`; the CLI decides which stream it goes to and whether colour survives.

pub mod apply;
pub mod json;
pub mod text;
