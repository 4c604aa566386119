//! Alerting: who to tell and when. Planning is pure (`plan`, `oncall`);
//! `dispatch` writes pages to the outbox and delivers them; `render` and
//! `email` and `webhook` turn a page into a message and send it.

pub mod dispatch;
pub mod email;
pub mod oncall;
pub mod plan;
pub mod render;
pub mod webhook;
