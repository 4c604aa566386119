//! Reddit source: placeholder until its branch lands (no queries, so the
//! daemon never polls it).
use super::{http::Http, Page, Query, SourceError};
use std::time::Duration;

pub struct RedditSource {
    http: Http,
    every: Duration,
}

impl RedditSource {
    pub fn new(cfg: &crate::config::RedditSource, _brands: &[crate::config::Brand]) -> RedditSource {
        RedditSource { http: Http::new("reddit"), every: cfg.schedule.every }
    }
    pub fn queries(&self) -> Vec<Query> {
        vec![]
    }
    pub async fn fetch(&self, _q: &Query, _cursor: Option<&str>) -> Result<Page, SourceError> {
        Err(SourceError::Malformed("reddit: not implemented yet".into()))
    }
    pub fn every(&self) -> Duration {
        self.every
    }
    pub fn http(&self) -> &Http {
        &self.http
    }
}
