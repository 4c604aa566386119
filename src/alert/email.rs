//! STUB until the email branch lands.
use super::render::Rendered;
#[derive(Debug, thiserror::Error)]
pub enum NotifyError { #[error("{0}")] Retryable(String), #[error("{0}")] Rejected(String) }
pub struct Mailer;
impl Mailer {
    pub fn new(_cfg: &crate::config::Smtp) -> anyhow::Result<Mailer> { Ok(Mailer) }
    pub async fn send(&self, _to: &str, _msg: &Rendered, _id: &str) -> Result<(), NotifyError> { Ok(()) }
}
