//! Configuration: loading (file + environment), validation of every key at
//! once, and the validated types the rest of escucha uses.

mod types;
pub use types::*;
mod load;
pub use load::{default_path, load, ConfigErrors};
