pub mod email;
pub mod render;
