//! Alerting: who to tell and when. Planning is pure (`plan`, `oncall`,
//! `hours` for business and quiet hours, `silence`, `digest` rendering);
//! `dispatch` writes pages to the outbox and delivers them; `render` and
//! `email` and `webhook` turn a page into a message and send it.

pub mod digest;
pub mod dispatch;
pub mod email;
pub mod hours;
pub mod oncall;
pub mod plan;
pub mod render;
pub mod silence;
pub mod webhook;
