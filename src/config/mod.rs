//! Configuration: loading (file + environment), validation of every key at
//! once, and the validated types the rest of escucha uses.

mod hours;
mod load;
mod raw;
mod types;
pub use hours::{BusinessHours, Quiet};
pub use load::{default_path, default_path_in, load, load_str, load_with, state_dir_for, ConfigError, ConfigErrors, Env, SYSTEM_PATH};
pub use types::*;
