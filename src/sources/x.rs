//! X API v2 source (placeholder).
use super::{http::Http, Page, Query, SourceError};
use std::time::Duration;
pub struct XSource { http: Http, every: Duration }
impl XSource {
    pub fn new(cfg: &crate::config::XSource, _brands: &[crate::config::Brand]) -> XSource { XSource { http: Http::new("x"), every: cfg.schedule.every } }
    pub fn queries(&self) -> Vec<Query> { vec![] }
    pub async fn fetch(&self, _q: &Query, _cursor: Option<&str>) -> Result<Page, SourceError> { unimplemented!() }
    pub fn every(&self) -> Duration { self.every }
    pub fn http(&self) -> &Http { &self.http }
}
