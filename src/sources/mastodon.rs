//! Mastodon source (placeholder).
use super::{http::Http, Page, Query, SourceError};
use std::time::Duration;
pub struct MastodonSource { http: Http, every: Duration }
impl MastodonSource {
    pub fn new(cfg: &crate::config::MastodonSource, _brands: &[crate::config::Brand]) -> MastodonSource { MastodonSource { http: Http::new("mastodon"), every: cfg.schedule.every } }
    pub fn queries(&self) -> Vec<Query> { vec![] }
    pub async fn fetch(&self, _q: &Query, _cursor: Option<&str>) -> Result<Page, SourceError> { unimplemented!() }
    pub fn every(&self) -> Duration { self.every }
    pub fn http(&self) -> &Http { &self.http }
}
