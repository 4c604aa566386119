//! App Store Connect customer reviews (`[source.app_store]`):
//! `GET /v1/apps/{id}/customerReviews?sort=-createdDate&include=response`,
//! 200 a page, `links.next` paging; an ES256 JSON Web Token signed with the
//! team's API key (`.p8`), reused until shortly before it expires; the
//! `X-Rate-Limit` header is read by `http`. REFERENCE-reviews.md §2.
//! A response answers a review once it is `PUBLISHED`.

use super::http::Http;
use super::reviews::{check, time, Listing, Review, TokenCache};
use super::SourceError;
use crate::config::{AppStoreSource, Secret};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The documented maximum `limit`.
pub const PAGE_SIZE: u32 = 200;

/// Apple refuses tokens that expire more than 20 minutes ahead.
const TOKEN_LIFETIME: chrono::Duration = chrono::Duration::minutes(15);

pub const AUDIENCE: &str = "appstoreconnect-v1";

/// The signing key in a `.p8` file, or why it is not one. The message never
/// quotes the file.
pub fn signing_key(pem: &Secret) -> Result<jsonwebtoken::EncodingKey, String> {
    jsonwebtoken::EncodingKey::from_ec_pem(pem.expose().as_bytes()).map_err(|e| format!("is not an EC P-256 private key in PEM ({e})"))
}

#[derive(Debug, Serialize)]
struct Claims<'a> {
    iss: &'a str,
    iat: i64,
    exp: i64,
    aud: &'a str,
}

pub struct Api {
    api_base: String,
    issuer_id: String,
    key_id: String,
    key: Result<jsonwebtoken::EncodingKey, String>,
    token: TokenCache,
}

#[derive(Deserialize)]
struct ListResponse {
    #[serde(default)]
    data: Vec<Resource>,
    #[serde(default)]
    included: Vec<Resource>,
    #[serde(default)]
    links: Option<Links>,
}

#[derive(Deserialize)]
struct Links {
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct Resource {
    #[serde(rename = "type")]
    kind: String,
    id: String,
    #[serde(default)]
    attributes: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    relationships: Option<Relationships>,
}

#[derive(Deserialize)]
struct Relationships {
    #[serde(default)]
    response: Option<Relationship>,
}

#[derive(Deserialize)]
struct Relationship {
    #[serde(default)]
    data: Option<Linkage>,
}

#[derive(Deserialize)]
struct Linkage {
    id: String,
}

impl Api {
    pub fn new(c: &AppStoreSource) -> Api {
        Api {
            api_base: c.api_base.trim_end_matches('/').to_string(),
            issuer_id: c.issuer_id.clone(),
            key_id: c.key_id.clone(),
            key: signing_key(&c.private_key),
            token: TokenCache::default(),
        }
    }

    fn credential(&self) -> String {
        format!(
            "the API key {} of issuer {} (key_id, issuer_id, private_key_file): check them in App Store Connect, Users and Access, Integrations; a revoked key needs a new .p8",
            self.key_id, self.issuer_id
        )
    }

    /// The bearer token: signed locally, no request.
    fn jwt(&self, http: &Http) -> Result<String, SourceError> {
        let now = http.now();
        if let Some(t) = self.token.get(now) {
            return Ok(t);
        }
        let key = self.key.as_ref().map_err(|e| SourceError::Unauthorized(format!("app_store: private_key {e}")))?;
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(self.key_id.clone());
        header.typ = Some("JWT".into());
        let exp = now + TOKEN_LIFETIME;
        let claims = Claims { iss: &self.issuer_id, iat: now.timestamp(), exp: exp.timestamp(), aud: AUDIENCE };
        let jwt =
            jsonwebtoken::encode(&header, &claims, key).map_err(|e| SourceError::Unauthorized(format!("app_store: cannot sign with the private key: {e}")))?;
        self.token.set(jwt.clone(), exp);
        Ok(jwt)
    }

    /// One page of `app`'s reviews; `next` is the previous page's
    /// `links.next`.
    pub async fn list(&self, http: &Http, app: &str, next: Option<&str>) -> Result<Listing, SourceError> {
        let req = |token: &str| match next {
            // Follow the link on the configured host only: the token must
            // not go anywhere else.
            Some(link) => http.client().get(next_url(&self.api_base, link)).bearer_auth(token),
            None => http
                .client()
                .get(format!("{}/v1/apps/{app}/customerReviews", self.api_base))
                .query(&[("sort", "-createdDate"), ("include", "response"), ("limit", &PAGE_SIZE.to_string())])
                .bearer_auth(token),
        };
        let mut retried = false;
        let resp = loop {
            let token = self.jwt(http)?;
            let resp = http.exchange(req(&token).header("accept", "application/json")).await?;
            if resp.status.as_u16() == 401 && !retried {
                self.token.clear();
                retried = true;
                continue;
            }
            break check(http, resp, &self.credential())?;
        };
        let body: ListResponse = resp.json("app_store: customerReviews")?;
        Ok(listing(app, body))
    }
}

/// `links.next` on the configured host (the token must not go anywhere
/// else), keeping the sort and the included responses should the link
/// leave them out.
fn next_url(api_base: &str, link: &str) -> String {
    let Ok(mut u) = url::Url::parse(link).or_else(|_| url::Url::parse(&format!("{api_base}{link}"))) else { return link.to_string() };
    let has = |k: &str| u.query_pairs().any(|(name, _)| name == k);
    let (sort, include) = (has("sort"), has("include"));
    {
        let mut q = u.query_pairs_mut();
        if !sort {
            q.append_pair("sort", "-createdDate");
        }
        if !include {
            q.append_pair("include", "response");
        }
    }
    format!("{api_base}{}?{}", u.path(), u.query().unwrap_or_default())
}

fn listing(app: &str, body: ListResponse) -> Listing {
    let published: HashMap<&str, Option<chrono::DateTime<chrono::Utc>>> = body
        .included
        .iter()
        .filter(|r| r.kind == "customerReviewResponses" && r.attributes.get("state").and_then(|s| s.as_str()) == Some("PUBLISHED"))
        .map(|r| (r.id.as_str(), r.attributes.get("lastModifiedDate").and_then(|d| d.as_str()).and_then(time)))
        .collect();
    let reviews = body
        .data
        .iter()
        .filter(|r| r.kind == "customerReviews")
        .filter_map(|r| {
            let a = &r.attributes;
            let s = |k: &str| a.get(k).and_then(|v| v.as_str()).map(str::trim).filter(|v| !v.is_empty());
            // An edit keeps the id; whether it moves createdDate is not
            // documented (REFERENCE-reviews.md §2.4): a moved date is an edit.
            let created = s("createdDate").and_then(time)?;
            let response = r.relationships.as_ref().and_then(|x| x.response.as_ref()).and_then(|x| x.data.as_ref()).map(|d| d.id.as_str());
            let text = [s("title"), s("body")].into_iter().flatten().collect::<Vec<_>>().join("\n");
            let author = s("reviewerNickname").unwrap_or("anonymous").to_string();
            Some(Review {
                id: r.id.clone(),
                url: format!("https://apps.apple.com/app/id{app}?see-all=reviews"),
                author_id: author.to_lowercase(),
                author,
                text,
                lang: None,
                rating: a.get("rating").and_then(|v| v.as_u64()).and_then(|v| u8::try_from(v).ok()).filter(|v| (1..=5).contains(v)),
                at: created,
                sort_at: created,
                reply_at: response.and_then(|id| published.get(id).copied().flatten()),
            })
        })
        .collect();
    Listing { reviews, next: body.links.and_then(|l| l.next).filter(|n| !n.is_empty()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorded_page_reads_with_its_published_response() {
        let body = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/reviews/app_store_customer_reviews.json")).unwrap();
        let l = listing("682658836", serde_json::from_slice(&body).unwrap());
        assert_eq!(l.reviews.len(), 1);
        let r = &l.reviews[0];
        assert_eq!(r.rating, Some(1));
        assert!(r.text.starts_with("Se cierra sola\nDesde la actualización"));
        assert_eq!(r.at, time("2017-11-15T16:10:34Z").unwrap(), "the local offset is read");
        assert_eq!(r.reply_at, time("2017-11-16T17:01:02Z"));
        assert!(l.next.unwrap().contains("cursor=AQ.AMt2C-U"));
    }

    #[test]
    fn the_next_link_goes_to_the_configured_host_with_the_responses_included() {
        let next = next_url("http://127.0.0.1:9", "https://api.appstoreconnect.apple.com/v1/apps/682658836/customerReviews?cursor=AQ.AMt2C-U&limit=1");
        assert_eq!(next, "http://127.0.0.1:9/v1/apps/682658836/customerReviews?cursor=AQ.AMt2C-U&limit=1&sort=-createdDate&include=response");
        let kept = next_url("https://a.example", "https://a.example/v1/apps/1/customerReviews?cursor=x&sort=-createdDate&include=response");
        assert_eq!(kept, "https://a.example/v1/apps/1/customerReviews?cursor=x&sort=-createdDate&include=response");
    }

    #[test]
    fn a_response_not_yet_published_does_not_answer() {
        let body = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/reviews/app_store_customer_reviews.json")).unwrap();
        let body = body.replace("\"PUBLISHED\"", "\"PENDING_PUBLISH\"");
        let l = listing("1", serde_json::from_str(&body).unwrap());
        assert_eq!(l.reviews[0].reply_at, None);
    }
}
