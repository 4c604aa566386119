//! STUB until the config branch lands.
use super::Config;
use std::path::{Path, PathBuf};
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<String>);
impl std::fmt::Display for ConfigErrors { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "{}", self.0.join("\n")) } }
pub fn load(_p: &Path) -> Result<Config, ConfigErrors> { Err(ConfigErrors(vec!["stub".into()])) }
pub fn default_path(cli: Option<&Path>) -> PathBuf { cli.map(Path::to_path_buf).unwrap_or_else(|| "/etc/escucha/escucha.toml".into()) }
