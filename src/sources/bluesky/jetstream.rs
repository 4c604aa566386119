//! Bluesky Jetstream for `[source.bluesky] jetstream = "wss://..."`
//! (REFERENCE-streaming.md section 2): every post of the network over one
//! WebSocket, `<base>/subscribe?wantedCollections=app.bsky.feed.post`,
//! matched here against the brands' terms, handles and DIDs (mention facets,
//! replies to the brand, the brand's own posts). Only posts that concern a
//! brand leave this module; their authors' handles and follower counts are
//! read with `getProfiles`, as search results are completed.
//!
//! Cursor: the `time_us` of the last event read, stored with each page. A
//! reconnect replays from it minus [`OVERLAP`] (Jetstream delivers at least
//! once and has no global order across repos); the store drops what it
//! already holds. Past the replay window ([`REPLAY_WINDOW`]) the daemon
//! polls search from its cursors instead ([`CatchUp::All`]).

use super::super::stream::{self as st, CatchUp, Plan, StreamError, Timeouts, WsStream};
use super::super::{Page, Query, QueryKind};
use super::{handle, post_url, to_post, Author, BlueskySource};
use crate::matcher::Role;
use crate::model::Post;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The key under which Jetstream's cursor is stored.
pub const QUERY_KEY: &str = "bluesky:jetstream";
/// How far before the stored cursor a reconnect replays.
pub const OVERLAP: Duration = Duration::from_secs(5);
/// Jetstream keeps about 24 hours (legacy default); older cursors are
/// clamped silently, so past this the gap is read by search.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(20 * 3600);
/// While nothing concerns the brands, the cursor is still stored this
/// often, so a reconnect does not replay more than this.
pub const CURSOR_EVERY: Duration = Duration::from_secs(5);

impl BlueskySource {
    /// Jetstream's plan: it stands in for every query of the source (search,
    /// notifications and the brands' feeds), which are polled only for a
    /// brand's first run, after a long outage, or while Jetstream is down.
    pub fn stream_plans(&self) -> Vec<Plan> {
        if self.jetstream.is_none() || self.queries.is_empty() {
            return Vec::new();
        }
        let mut brands: Vec<String> = self.queries.iter().flat_map(|q| q.brands.iter().cloned()).collect();
        brands.sort();
        brands.dedup();
        let query = Query { key: QUERY_KEY.into(), brands, exclusive: false, kind: QueryKind::Stream };
        vec![Plan { name: QUERY_KEY.into(), query, covers: self.queries.clone() }]
    }

    /// Connects to Jetstream, replaying from `cursor` (a stored `time_us`)
    /// minus [`OVERLAP`], or live when there is none.
    pub async fn open_jetstream(&self, cursor: Option<&str>, timeouts: Timeouts) -> Result<(Jetstream, CatchUp), StreamError> {
        let base = self.jetstream.as_deref().ok_or_else(|| StreamError::Refused("bluesky: no jetstream configured".into()))?;
        self.learn_brand_dids().await;
        let stored: Option<i64> = cursor.and_then(|c| c.trim().parse().ok()).filter(|t| *t > 0);
        let now_us = Utc::now().timestamp_micros();
        let replay = stored.map(|t| t - OVERLAP.as_micros() as i64);
        let catch_up = match stored {
            // Nothing stored: whatever happened before now is read by search.
            None => CatchUp::All,
            Some(t) if now_us - t > REPLAY_WINDOW.as_micros() as i64 => CatchUp::All,
            Some(_) => CatchUp::FirstRun,
        };
        let mut url = format!("{base}/subscribe?wantedCollections=app.bsky.feed.post");
        if let Some(r) = replay {
            url.push_str(&format!("&cursor={r}"));
        }
        let ws = st::connect_ws(&format!("bluesky jetstream {base}"), &url, &[], timeouts).await?;
        tracing::info!(jetstream = %base, cursor = ?replay, "jetstream connected");
        Ok((
            Jetstream {
                what: format!("bluesky jetstream {base}"),
                ws: Box::new(ws),
                idle: timeouts.idle,
                oversized: 0,
                last_page: Instant::now(),
                last_time: stored,
            },
            catch_up,
        ))
    }

    /// The brand accounts' DIDs (for mention facets and replies), by
    /// `getProfiles`; on failure the handles still match and the next
    /// connection tries again.
    async fn learn_brand_dids(&self) {
        let known = self.brand_dids.lock().unwrap().len();
        if self.brand_handles.is_empty() || known == self.brand_handles.len() {
            return;
        }
        match self.profiles(&self.brand_handles).await {
            Ok(found) => {
                let mut dids = self.brand_dids.lock().unwrap();
                for (did, p) in found {
                    let h = handle(&p.handle);
                    if self.brand_handles.contains(&h) {
                        dids.insert(did, h);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "bluesky: could not resolve the brand accounts' DIDs; matching their handles only for now"),
        }
    }

    /// Whether an event's post concerns a brand, with the brand's handle
    /// filled in where the post names or answers a brand DID.
    fn concerns_a_brand(&self, post: &mut Post, facet_dids: &[String]) -> bool {
        let dids = self.brand_dids.lock().unwrap();
        if let Some(h) = dids.get(&post.author_id) {
            post.author = h.clone();
        }
        for did in facet_dids {
            if let Some(h) = dids.get(did) {
                if !post.mentions.contains(h) {
                    post.mentions.push(h.clone());
                }
            }
        }
        if let Some(h) = post.in_reply_to_author_id.as_ref().and_then(|d| dids.get(d)) {
            post.in_reply_to_author = Some(h.clone());
        }
        drop(dids);
        self.matchers.iter().any(|m| match m.role(post, false) {
            Some(Role::Mention) => true,
            // The brand's replies answer mentions; its other posts are nothing.
            Some(Role::Own) => post.in_reply_to_id.is_some(),
            None => false,
        })
    }

    /// Handles, follower counts and links of the authors (and of whom they
    /// reply to), read with `getProfiles`. A failure leaves the DIDs: the
    /// mention is stored now rather than held for a profile.
    async fn complete_stream_posts(&self, posts: &mut [Post]) {
        let mut wanted: Vec<String> = Vec::new();
        for p in posts.iter() {
            for did in [Some(&p.author_id), p.in_reply_to_author_id.as_ref()].into_iter().flatten() {
                if !wanted.contains(did) {
                    wanted.push(did.clone());
                }
            }
        }
        let profiles = match self.profiles(&wanted).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "bluesky: profiles of streamed posts unavailable; storing them with DIDs");
                HashMap::new()
            }
        };
        for p in posts.iter_mut() {
            if let Some(profile) = profiles.get(&p.author_id) {
                p.author_followers = profile.followers;
                if p.author.is_empty() || p.author == p.author_id {
                    p.author = handle(&profile.handle);
                }
            }
            if p.author.is_empty() {
                p.author = p.author_id.clone();
            }
            p.url = post_url(&p.author, &p.author_id, &p.platform_id);
            if p.in_reply_to_author.is_none() {
                p.in_reply_to_author = p.in_reply_to_author_id.as_ref().and_then(|d| profiles.get(d)).map(|pr| handle(&pr.handle));
            }
        }
    }
}

/// An open Jetstream connection.
pub struct Jetstream {
    what: String,
    ws: Box<WsStream>,
    idle: Duration,
    /// Frames skipped for their size.
    pub oversized: u64,
    last_page: Instant,
    /// `time_us` of the last event read.
    last_time: Option<i64>,
}

impl Jetstream {
    /// The next page: the posts of one event that concern a brand (at
    /// once), or none with the cursor moved (every [`CURSOR_EVERY`] while
    /// nothing concerns a brand). Ok(None): the server closed the stream.
    pub async fn next(&mut self, source: &BlueskySource) -> Result<Option<Page>, StreamError> {
        loop {
            let Some(text) = st::next_text(&self.what, &mut self.ws, self.idle, &mut self.oversized).await? else { return Ok(None) };
            let event = match parse_event(&text) {
                Ok(e) => e,
                Err(why) => {
                    tracing::warn!(stream = %self.what, error = %why, "unreadable jetstream event; skipped");
                    continue;
                }
            };
            if let Some(t) = event.time_us {
                self.last_time = Some(self.last_time.map_or(t, |l| l.max(t)));
            }
            let cursor = self.last_time.map(|t| t.to_string()).unwrap_or_default();
            if let Some((mut post, facet_dids)) = event.post {
                if source.concerns_a_brand(&mut post, &facet_dids) {
                    let mut posts = vec![post];
                    source.complete_stream_posts(&mut posts).await;
                    self.last_page = Instant::now();
                    return Ok(Some(st::page(posts, cursor)));
                }
            }
            if !cursor.is_empty() && self.last_page.elapsed() >= CURSOR_EVERY {
                self.last_page = Instant::now();
                return Ok(Some(st::page(Vec::new(), cursor)));
            }
        }
    }
}

/// What one Jetstream message carries for us.
#[derive(Debug)]
pub struct Event {
    pub time_us: Option<i64>,
    /// A created (or updated) post, and the DIDs its mention facets name.
    pub post: Option<(Post, Vec<String>)>,
}

/// Reads one Jetstream message (REFERENCE-streaming 2.5): `commit` events
/// of `app.bsky.feed.post` with `operation` `create` or `update` become
/// posts keyed by AT-URI, as search returns them (so either path stores a
/// post once). Deletes, other collections, `identity` and `account` events
/// only move the cursor. Err: not a Jetstream event at all.
pub fn parse_event(text: &str) -> Result<Event, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let did = v.get("did").and_then(|d| d.as_str()).ok_or("no did")?;
    let time_us = v.get("time_us").and_then(|t| t.as_i64());
    let mut event = Event { time_us, post: None };
    if v.get("kind").and_then(|k| k.as_str()) != Some("commit") {
        return Ok(event);
    }
    let commit = v.get("commit").ok_or("a commit event without commit")?;
    let field = |k: &str| commit.get(k).and_then(|x| x.as_str()).unwrap_or_default();
    if field("collection") != "app.bsky.feed.post" || !matches!(field("operation"), "create" | "update") {
        return Ok(event);
    }
    let rkey = field("rkey");
    let record = commit.get("record").ok_or("a post commit without record")?;
    if rkey.is_empty() {
        return Err("a post commit without rkey".into());
    }
    let uri = format!("at://{did}/app.bsky.feed.post/{rkey}");
    // Jetstream saw it then: the stand-in for search's `indexedAt`.
    let seen = time_us.and_then(DateTime::<Utc>::from_timestamp_micros).map(|t| t.to_rfc3339());
    let author = Author { did: did.to_string(), handle: String::new() };
    let facet_dids: Vec<String> = record
        .get("facets")
        .and_then(|f| f.as_array())
        .into_iter()
        .flatten()
        .flat_map(|f| f.get("features").and_then(|x| x.as_array()).into_iter().flatten())
        .filter(|x| x.get("$type").and_then(|t| t.as_str()).is_some_and(|t| t.ends_with("#mention")))
        .filter_map(|x| x.get("did").and_then(|d| d.as_str()).map(str::to_string))
        .collect();
    event.post = to_post(uri, &author, record, seen.as_deref(), (0, 0), false).map(|p| (p, facet_dids));
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_reply_commit_becomes_a_post_keyed_by_at_uri() {
        // Verbatim from the 2026-07-04 production capture (REFERENCE-streaming 2.5).
        let line = r#"{"did":"did:plc:o2rolxey6s5k7d4lxcz3inl4","time_us":1783175888130414,"kind":"commit","commit":{"rev":"3mptbypnxeq2i","operation":"create","collection":"app.bsky.feed.post","rkey":"3mptbyp7lu223","record":{"$type":"app.bsky.feed.post","createdAt":"2026-07-04T14:38:07.112Z","langs":["ko"],"reply":{"parent":{"cid":"bafyreifzanogmt75wega3mdkjqiv5rg6usowy6hr3nrlvioezvu7jur3cq","uri":"at://did:plc:i5y2f3gtpjxs3qg6fwgb6jb4/app.bsky.feed.post/3mpt7u2vlgs2c"},"root":{"cid":"bafyreifzanogmt75wega3mdkjqiv5rg6usowy6hr3nrlvioezvu7jur3cq","uri":"at://did:plc:i5y2f3gtpjxs3qg6fwgb6jb4/app.bsky.feed.post/3mpt7u2vlgs2c"}},"text":"이쁘시네용~~~"},"cid":"bafyreifq66rnqqmr62ussjdhneebgoeaci5extyyjyqymkqwgtr4667gsi"}}"#;
        let e = parse_event(line).unwrap();
        assert_eq!(e.time_us, Some(1783175888130414));
        let (p, dids) = e.post.unwrap();
        assert_eq!(p.platform_id, "at://did:plc:o2rolxey6s5k7d4lxcz3inl4/app.bsky.feed.post/3mptbyp7lu223");
        assert_eq!(p.author_id, "did:plc:o2rolxey6s5k7d4lxcz3inl4");
        assert_eq!(p.in_reply_to_author_id.as_deref(), Some("did:plc:i5y2f3gtpjxs3qg6fwgb6jb4"));
        assert_eq!(p.lang.as_deref(), Some("ko"));
        assert_eq!(p.created_at.to_rfc3339(), "2026-07-04T14:38:07.112+00:00", "the earlier of createdAt and the time Jetstream saw it");
        assert!(dids.is_empty());
    }

    #[test]
    fn deletes_identity_and_account_events_only_move_the_cursor() {
        for line in [
            r#"{"did":"did:plc:ux2eeflheratfrvp3xfbp4zi","time_us":1783175888112407,"kind":"commit","commit":{"rev":"3mptbyp63ih2m","operation":"delete","collection":"app.bsky.graph.follow","rkey":"3m3q3ut7jsm2m"}}"#,
            r#"{"did":"did:plc:hqvhxrowqbemo5e4wjnj6zao","time_us":1783175888384849,"kind":"identity","identity":{"did":"did:plc:hqvhxrowqbemo5e4wjnj6zao","seq":31527015470,"time":"2026-07-04T14:38:07.877Z"}}"#,
            r#"{"did":"did:plc:hqvhxrowqbemo5e4wjnj6zao","time_us":1783175888390226,"kind":"account","account":{"active":true,"did":"did:plc:hqvhxrowqbemo5e4wjnj6zao","seq":31527015471,"time":"2026-07-04T14:38:07.877Z"}}"#,
            r#"{"did":"did:plc:a","time_us":1783175888390227,"kind":"commit","commit":{"operation":"delete","collection":"app.bsky.feed.post","rkey":"3k"}}"#,
        ] {
            let e = parse_event(line).unwrap();
            assert!(e.time_us.is_some() && e.post.is_none(), "{line}");
        }
    }

    #[test]
    fn mention_facets_give_their_dids_and_garbage_is_an_error() {
        let line = r#"{"did":"did:plc:a","time_us":5,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"3k","record":{"$type":"app.bsky.feed.post","text":"@acme.com love it","createdAt":"2026-07-04T14:38:07.112Z","facets":[{"index":{"byteStart":0,"byteEnd":9},"features":[{"$type":"app.bsky.richtext.facet#mention","did":"did:plc:brand"}]}]}}}"#;
        let (p, dids) = parse_event(line).unwrap().post.unwrap();
        assert_eq!(dids, ["did:plc:brand"]);
        assert_eq!(p.mentions, ["acme.com"]);
        assert!(parse_event("{\"did\": ").is_err());
        assert!(parse_event(r#"{"time_us": 1}"#).is_err());
    }
}
