//! STUB until the email branch lands.
use crate::model::Mention;
use chrono::{DateTime, Utc};
pub struct Rendered { pub subject: String, pub text: String, pub html: String }
pub struct AlertContext<'a> { pub brand_name: &'a str, pub now: DateTime<Utc>, pub ack: &'a dyn Fn(&Mention) -> AckHow }
pub struct AckHow { pub command: String, pub link: Option<String> }
pub fn render_alert(m: &[Mention], ctx: &AlertContext) -> Rendered { Rendered { subject: format!("{} {}", m.len(), ctx.brand_name), text: String::new(), html: String::new() } }
