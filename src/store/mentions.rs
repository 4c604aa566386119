//! Mentions and the brand's replies that answer them: what a page of a
//! source commits, and every read of stored mentions.

use super::db::{self, Conn, Param, Row};
use super::outbox::{enqueue_resolutions, OutboxKind};
use super::{from_ms, to_ms, Result, Store};
use crate::model::{Class, ConversationRoot, Mention, Platform, Status};
use chrono::{DateTime, Utc};

/// How `commit_page` inserts a mention (parameters in column order); public
/// so that the ingest benchmark's raw insert runs the very same statement.
pub const INSERT_MENTION: &str = "INSERT INTO mentions (brand, platform, platform_id, url, author, author_id, author_followers,
    text, lang, class, score, reasons, created_at, seen_at, deadline, history, reposts,
    conversation_id, in_reply_to_id, query_key)
 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
 ON CONFLICT (platform, platform_id, brand) DO NOTHING";

/// A mention ready to insert: everything but the store's own columns.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMention {
    pub brand: String,
    pub platform: Platform,
    pub platform_id: String,
    pub url: String,
    pub author: String,
    pub author_id: String,
    pub author_followers: Option<u64>,
    pub text: String,
    pub lang: Option<String>,
    pub class: Class,
    pub score: f64,
    pub reasons: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub deadline: Option<DateTime<Utc>>,
    pub history: bool,
    pub reposts: u64,
    pub conversation_id: Option<String>,
    pub in_reply_to_id: Option<String>,
    /// A review's star rating, 1-5.
    pub rating: Option<u8>,
}

/// The new mention unit tests start from: a complaint "mal" by ana on X for
/// interjet, created at `created`, with no deadline.
#[cfg(test)]
impl NewMention {
    pub(crate) fn example(platform_id: &str, created: DateTime<Utc>) -> NewMention {
        NewMention {
            brand: "interjet".into(),
            platform: Platform::X,
            platform_id: platform_id.into(),
            url: String::new(),
            author: "ana".into(),
            author_id: "1".into(),
            author_followers: None,
            text: "mal".into(),
            lang: None,
            class: Class::Complaint,
            score: 0.9,
            reasons: vec![],
            created_at: created,
            deadline: None,
            history: false,
            reposts: 0,
            conversation_id: None,
            in_reply_to_id: None,
            rating: None,
        }
    }
}

/// A post by the brand's own account that replies to something.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub brand: String,
    pub platform: Platform,
    pub platform_id: String,
    pub in_reply_to_id: Option<String>,
    pub in_reply_to_author_id: Option<String>,
    pub conversation_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageOutcome {
    pub inserted: Vec<i64>,
    pub duplicates: usize,
    /// Mentions that this page showed answered (they may have been alerted).
    pub answered: Vec<i64>,
    /// Answered reviews whose rating an edit dropped to 1-2: open again,
    /// with a new deadline.
    pub reopened: Vec<i64>,
    /// (brand, platform, class) of each mention inserted, for the
    /// `escucha_mentions_ingested_total` counter.
    pub stored: Vec<(String, Platform, Class)>,
}

#[derive(Debug, Clone, Default)]
pub struct MentionFilter {
    pub brand: Option<String>,
    pub class: Option<Class>,
    pub open_only: bool,
    pub limit: Option<usize>,
}

/// An open complaint not yet paged: id, class, created_at, deadline.
pub type Unpaged = (i64, Class, DateTime<Utc>, Option<DateTime<Utc>>);

pub(super) const MENTION_COLUMNS: &str = "id, brand, platform, platform_id, url, author, author_id, author_followers, text, lang,
    class, score, reasons, created_at, seen_at, deadline, history, status, answered_at, acked_by, acked_at, alerted_at, reposts,
    corrected_by, corrected_at, rating, assigned_to";

/// How many columns MENTION_COLUMNS lists: the index of a column selected after them.
pub(super) const MENTION_COLUMN_COUNT: usize = 27;

pub(super) fn mention_from_row(r: &Row) -> Result<Mention> {
    Ok(Mention {
        id: r.get(0)?,
        brand: r.get(1)?,
        platform: Platform::parse(r.str(2)).unwrap_or(Platform::X),
        platform_id: r.get(3)?,
        url: r.get(4)?,
        author: r.get(5)?,
        author_id: r.get(6)?,
        author_followers: r.get::<Option<i64>>(7)?.map(|f| f as u64),
        text: r.get(8)?,
        lang: r.get(9)?,
        class: Class::parse(r.str(10)).unwrap_or(Class::Neutral),
        score: r.get(11)?,
        reasons: serde_json::from_str(r.str(12)).unwrap_or_default(),
        created_at: from_ms(r.get(13)?),
        seen_at: from_ms(r.get(14)?),
        deadline: r.get::<Option<i64>>(15)?.map(from_ms),
        history: r.get(16)?,
        status: Status::parse(r.str(17)).unwrap_or(Status::Open),
        answered_at: r.get::<Option<i64>>(18)?.map(from_ms),
        acked_by: r.get(19)?,
        acked_at: r.get::<Option<i64>>(20)?.map(from_ms),
        alerted_at: r.get::<Option<i64>>(21)?.map(from_ms),
        reposts: r.get::<i64>(22)? as u64,
        corrected_by: r.get(23)?,
        corrected_at: r.get::<Option<i64>>(24)?.map(from_ms),
        rating: r.get::<Option<i64>>(25)?.and_then(|v| u8::try_from(v).ok()),
        assigned_to: r.get(26)?,
    })
}

fn mentions_from(rows: Vec<Row>) -> Result<Vec<Mention>> {
    rows.iter().map(mention_from_row).collect()
}

fn reply_from_row(row: &Row) -> Result<Reply> {
    Ok(Reply {
        brand: row.get(0)?,
        platform: Platform::parse(row.str(1)).unwrap_or(Platform::X),
        platform_id: row.get(2)?,
        in_reply_to_id: row.get(3)?,
        in_reply_to_author_id: row.get(4)?,
        conversation_id: row.get(5)?,
        created_at: from_ms(row.get(6)?),
    })
}

fn json(v: &[&str]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// Marks answered the mentions reply `r` answers; returns their ids.
fn apply_reply(c: &mut dyn Conn, r: &Reply, out: &mut PageOutcome) -> Result<()> {
    let ids: Vec<i64> = db::column(
        c,
        "UPDATE mentions SET status = 'answered', answered_at = $4, answer_id = $5, next_page_at = NULL
         WHERE brand = $1 AND platform = $2 AND status != 'answered'
           AND (platform_id = $3
                OR (CAST($6 AS TEXT) IS NOT NULL AND conversation_id = $6 AND author_id = $7 AND created_at < $4))
         RETURNING id",
        &[
            &r.brand,
            &r.platform.as_str(),
            &r.in_reply_to_id.as_deref().unwrap_or(""),
            &to_ms(r.created_at),
            &r.platform_id,
            &r.conversation_id,
            &r.in_reply_to_author_id.as_deref().unwrap_or(""),
        ],
    )?;
    out.answered.extend(ids);
    Ok(())
}

/// Commits one page (see [`Store::commit_page`]) inside `c`.
#[allow(clippy::too_many_arguments)]
fn commit_page_in(
    c: &mut dyn Conn,
    query_key: &str,
    first_polled_at: DateTime<Utc>,
    mentions: &[NewMention],
    replies: &[Reply],
    cursor: &str,
    now: DateTime<Utc>,
) -> Result<PageOutcome> {
    let mut out = PageOutcome::default();
    let mut inserted_mentions: Vec<&NewMention> = Vec::new();
    for m in mentions {
        let reasons = serde_json::to_string(&m.reasons).unwrap_or_else(|_| "[]".into());
        let params: [&dyn Param; 20] = [
            &m.brand,
            &m.platform.as_str(),
            &m.platform_id,
            &m.url,
            &m.author,
            &m.author_id,
            &m.author_followers.map(|f| f as i64),
            &m.text,
            &m.lang,
            &m.class.as_str(),
            &m.score,
            &reasons,
            &to_ms(m.created_at),
            &to_ms(now),
            &m.deadline.map(to_ms),
            &m.history,
            &(m.reposts as i64),
            &m.conversation_id,
            &m.in_reply_to_id,
            &query_key,
        ];
        let returning = format!("{INSERT_MENTION} RETURNING id");
        match c.row(&returning, &params)? {
            Some(row) => {
                let id: i64 = row.get(0)?;
                if let Some(r) = m.rating {
                    c.exec("UPDATE mentions SET rating = $2 WHERE id = $1", &[&id, &i64::from(r)])?;
                }
                out.inserted.push(id);
                out.stored.push((m.brand.clone(), m.platform, m.class));
                inserted_mentions.push(m);
            }
            None => {
                let rating = m.rating.map(i64::from);
                // A review whose rating an edit drops to 1-2 (below what it
                // was) after it was answered, or before it was ever judged
                // to need an answer, is judged again: new class, reasons and
                // deadline, dated by the edit, open and unpaged. Runs before
                // the refresh below, while `rating` is still the old one.
                if let (Some(r), Some(deadline)) = (rating.filter(|r| *r <= 2), m.deadline.filter(|_| m.class.needs_answer())) {
                    let ids: Vec<i64> = db::column(
                        c,
                        "UPDATE mentions SET status = 'open', answered_at = NULL, answer_id = NULL, alerted_at = NULL,
                            page_step = 0, next_page_at = NULL, history = 0,
                            class = $5, score = $6, reasons = $7, deadline = $8, created_at = $9
                         WHERE platform = $1 AND platform_id = $2 AND brand = $3
                           AND rating IS NOT NULL AND rating > $4
                           AND (status = 'answered' OR (status = 'open' AND deadline IS NULL AND alerted_at IS NULL))
                         RETURNING id",
                        &[&m.platform.as_str(), &m.platform_id, &m.brand, &r, &m.class.as_str(), &m.score, &reasons, &to_ms(deadline), &to_ms(m.created_at)],
                    )?;
                    out.reopened.extend(ids);
                }
                // A post fetched again may have been edited since: keep its
                // newest text, reach and rating, but never its class,
                // deadline or status (it was judged and maybe paged already;
                // an edit is not news, but for the reopening above).
                c.exec(
                    "UPDATE mentions SET text = $4,
                        author_followers = COALESCE($5, author_followers),
                        reposts = CASE WHEN reposts < $6 THEN $6 ELSE reposts END,
                        rating = COALESCE($7, rating)
                     WHERE platform = $1 AND platform_id = $2 AND brand = $3
                       AND (text != $4 OR author_followers IS DISTINCT FROM COALESCE($5, author_followers) OR reposts < $6
                            OR rating IS DISTINCT FROM COALESCE($7, rating))",
                    &[&m.platform.as_str(), &m.platform_id, &m.brand, &m.text, &m.author_followers.map(|f| f as i64), &(m.reposts as i64), &rating],
                )?;
                out.duplicates += 1;
            }
        }
    }
    for r in replies {
        c.exec(
            "INSERT INTO replies (brand, platform, platform_id, in_reply_to_id, in_reply_to_author_id, conversation_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            &[&r.brand, &r.platform.as_str(), &r.platform_id, &r.in_reply_to_id, &r.in_reply_to_author_id, &r.conversation_id, &to_ms(r.created_at)],
        )?;
    }
    // Apply every known reply to the mentions this page touched and to the
    // replies it brought: order of arrival must not matter.
    for r in replies {
        apply_reply(c, r, &mut out)?;
    }
    // Replies seen earlier that answer mentions inserted now: two queries
    // per brand and platform on the page (one through each reply index,
    // keyed by the page's post and conversation ids), matched here against
    // the mentions' own values rather than re-reading the rows just written.
    // (A join on the OR of both conditions, once per mention, walked every
    // reply of the brand.)
    let mut found = Vec::new();
    let mut groups: Vec<(&str, Platform)> = inserted_mentions.iter().map(|m| (m.brand.as_str(), m.platform)).collect();
    groups.sort_unstable_by(|a, b| (a.0, a.1.as_str()).cmp(&(b.0, b.1.as_str())));
    groups.dedup();
    let backend = c.backend();
    let to_ids = format!(
        "SELECT brand, platform, platform_id, in_reply_to_id, in_reply_to_author_id, conversation_id, created_at
         FROM replies WHERE brand = $1 AND platform = $2 AND in_reply_to_id IN ({})",
        backend.json_strings(3)
    );
    let in_conversations = format!(
        "SELECT brand, platform, platform_id, in_reply_to_id, in_reply_to_author_id, conversation_id, created_at
         FROM replies WHERE brand = $1 AND platform = $2 AND conversation_id IN ({})",
        backend.json_strings(3)
    );
    for (brand, platform) in groups {
        let group: Vec<&NewMention> = inserted_mentions.iter().copied().filter(|m| m.brand == brand && m.platform == platform).collect();
        let mut ids: Vec<&str> = group.iter().map(|m| m.platform_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut conversations: Vec<&str> = group.iter().filter_map(|m| m.conversation_id.as_deref()).collect();
        conversations.sort_unstable();
        conversations.dedup();
        let by_id: Vec<Reply> = c.rows(&to_ids, &[&brand, &platform.as_str(), &json(&ids)])?.iter().map(reply_from_row).collect::<Result<_>>()?;
        let by_conversation: Vec<Reply> = if conversations.is_empty() {
            Vec::new()
        } else {
            c.rows(&in_conversations, &[&brand, &platform.as_str(), &json(&conversations)])?.iter().map(reply_from_row).collect::<Result<_>>()?
        };
        if by_id.is_empty() && by_conversation.is_empty() {
            continue;
        }
        for m in group {
            let created = to_ms(m.created_at);
            found.extend(by_id.iter().filter(|r| r.in_reply_to_id.as_deref() == Some(m.platform_id.as_str())).cloned());
            // Same conversation, to the mention's author, after it (and not
            // already found above by its id).
            found.extend(
                by_conversation
                    .iter()
                    .filter(|r| {
                        m.conversation_id.is_some()
                            && r.conversation_id == m.conversation_id
                            && r.in_reply_to_author_id.as_deref() == Some(m.author_id.as_str())
                            && to_ms(r.created_at) > created
                            && r.in_reply_to_id.as_deref() != Some(m.platform_id.as_str())
                    })
                    .cloned(),
            );
        }
    }
    for r in &found {
        apply_reply(c, r, &mut out)?;
    }
    out.answered.sort_unstable();
    out.answered.dedup();
    enqueue_resolutions(c, &out.answered, OutboxKind::Resolve, now)?;
    // Answered mentions need no more pages (the UPDATE above clears
    // next_page_at; enqueue_pages never sets it on a closed one); pending
    // outbox rows made only of answered or acked mentions are resolved
    // before sending.
    super::cursors::set_cursor(c, query_key, cursor, first_polled_at, now)?;
    Ok(out)
}

impl Store {
    /// Commits one page: its mentions, the brand replies it showed, and the
    /// query's new cursor, in one transaction. A mention already stored for
    /// the same (platform, platform id, brand) is a duplicate: only its
    /// text, followers, reposts and rating are refreshed (an edited post),
    /// except that a review whose rating an edit drops to 1-2 (below what it
    /// was) after it was answered, or before it was ever judged to need an
    /// answer, is judged again: it takes the new class, reasons and deadline,
    /// its `created_at` becomes the edit's (the text customers now read, and
    /// what a restart recomputes the deadline from), and it is open and
    /// unpaged again.
    pub fn commit_page(
        &self,
        query_key: &str,
        first_polled_at: DateTime<Utc>,
        mentions: &[NewMention],
        replies: &[Reply],
        cursor: &str,
        now: DateTime<Utc>,
    ) -> Result<PageOutcome> {
        self.write(|c| commit_page_in(c, query_key, first_polled_at, mentions, replies, cursor, now))
    }

    /// Complaints (and escalations) by this author about this brand on this
    /// platform created at or after `since`.
    pub fn recent_complaints(&self, brand: &str, platform: Platform, author_id: &str, since: DateTime<Utc>) -> Result<u32> {
        self.read(|c| {
            db::one(
                c,
                "SELECT COUNT(*) FROM mentions WHERE brand = $1 AND platform = $2 AND author_id = $3
                   AND created_at >= $4 AND class IN ('complaint', 'escalation')",
                &[&brand, &platform.as_str(), &author_id, &to_ms(since)],
            )
        })
    }

    /// When each of these authors complained (complaints and escalations)
    /// about this brand on this platform at or after `since_ms`: (author id,
    /// created_at in ms). Ingest asks once per page and counts per mention
    /// from these, instead of one `recent_complaints` query per mention.
    pub fn complaint_times(&self, brand: &str, platform: Platform, author_ids: &[&str], since_ms: i64) -> Result<Vec<(String, i64)>> {
        if author_ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|c| {
            // Same conditions as `recent_complaints`, so the same partial
            // index (mentions_author_complaints) answers, one probe per author.
            let sql = format!(
                "SELECT author_id, created_at FROM mentions WHERE brand = $1 AND platform = $2
                   AND author_id IN ({}) AND created_at >= $4 AND class IN ('complaint', 'escalation')",
                c.backend().json_strings(3)
            );
            c.rows(&sql, &[&brand, &platform.as_str(), &json(author_ids), &since_ms])?.iter().map(|r| Ok((r.get(0)?, r.get(1)?))).collect()
        })
    }

    /// Open complaints and escalations of a brand that still await an answer
    /// (history excluded).
    pub fn open_complaints(&self, brand: &str) -> Result<u64> {
        self.read(|c| {
            db::one(
                c,
                "SELECT COUNT(*) FROM mentions WHERE brand = $1 AND status = 'open' AND history = 0
                   AND class IN ('complaint', 'escalation')",
                &[&brand],
            )
        })
    }

    pub fn mentions_by_ids(&self, ids: &[i64]) -> Result<Vec<Mention>> {
        self.read(|c| {
            let sql = format!("SELECT {MENTION_COLUMNS} FROM mentions WHERE id = $1");
            let mut out = Vec::new();
            for id in ids {
                if let Some(r) = c.row(&sql, &[id])? {
                    out.push(mention_from_row(&r)?);
                }
            }
            Ok(out)
        })
    }

    pub fn mention(&self, id: i64) -> Result<Option<Mention>> {
        Ok(self.mentions_by_ids(&[id])?.pop())
    }

    pub fn mentions(&self, filter: &MentionFilter) -> Result<Vec<Mention>> {
        let mut sql = format!("SELECT {MENTION_COLUMNS} FROM mentions WHERE 1 = 1");
        let mut args: Vec<String> = Vec::new();
        if let Some(b) = &filter.brand {
            args.push(b.clone());
            sql.push_str(&format!(" AND brand = ${}", args.len()));
        }
        if let Some(c) = filter.class {
            args.push(c.as_str().to_string());
            sql.push_str(&format!(" AND class = ${}", args.len()));
        }
        if filter.open_only {
            sql.push_str(" AND status = 'open'");
        }
        sql.push_str(" ORDER BY created_at, id");
        if let Some(l) = filter.limit {
            sql.push_str(&format!(" LIMIT {l}"));
        }
        let params: Vec<&dyn Param> = args.iter().map(|a| a as &dyn Param).collect();
        self.read(|c| mentions_from(c.rows(&sql, &params)?))
    }

    /// A brand's mentions created in `[from, to)`, oldest first.
    pub fn mentions_between(&self, brand: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Mention>> {
        let sql = format!("SELECT {MENTION_COLUMNS} FROM mentions WHERE brand = $1 AND created_at >= $2 AND created_at < $3 ORDER BY created_at, id");
        self.read(|c| mentions_from(c.rows(&sql, &[&brand, &to_ms(from), &to_ms(to)])?))
    }

    /// Mentions of a brand answered or acknowledged in `[from, to)`.
    pub fn resolved_between(&self, brand: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Mention>> {
        let sql = format!(
            "SELECT {MENTION_COLUMNS} FROM mentions WHERE brand = $1
               AND COALESCE(answered_at, acked_at) >= $2 AND COALESCE(answered_at, acked_at) < $3
               AND class IN ('complaint', 'escalation') ORDER BY created_at, id"
        );
        self.read(|c| mentions_from(c.rows(&sql, &[&brand, &to_ms(from), &to_ms(to)])?))
    }

    /// The conversations to follow on `platform`: the platform ids of the
    /// mentions that began one (their own conversation) created at or
    /// after `since`, once each however many brands they mention, with
    /// their creation time; newest first.
    pub fn conversation_roots(&self, platform: Platform, since: DateTime<Utc>) -> Result<Vec<ConversationRoot>> {
        self.read(|c| {
            c.rows(
                "SELECT platform_id, MIN(created_at), MIN(history), MIN(seen_at) FROM mentions
                 WHERE platform = $1 AND created_at >= $2 AND conversation_id = platform_id
                 GROUP BY platform_id ORDER BY 2 DESC, 1",
                &[&platform.as_str(), &to_ms(since)],
            )?
            .iter()
            .map(|r| {
                let history: i64 = r.get(2)?;
                Ok(ConversationRoot {
                    platform_id: r.get(0)?,
                    created_at: from_ms(r.get(1)?),
                    history_seen_at: if history != 0 { Some(from_ms(r.get(3)?)) } else { None },
                })
            })
            .collect()
        })
    }

    /// When escucha last stored a mention from this platform.
    pub fn newest_seen(&self, platform: Platform) -> Result<Option<DateTime<Utc>>> {
        let ms: Option<i64> = self.read(|c| db::one(c, "SELECT MAX(seen_at) FROM mentions WHERE platform = $1", &[&platform.as_str()]))?;
        Ok(ms.map(from_ms))
    }

    /// Stored mentions by (brand, platform, class), for `/metrics`.
    pub fn mention_counts(&self) -> Result<Vec<(String, String, String, u64)>> {
        self.read(|c| {
            c.rows("SELECT brand, platform, class, COUNT(*) FROM mentions GROUP BY brand, platform, class ORDER BY 1, 2, 3", &[])?
                .iter()
                .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .collect()
        })
    }

    /// Per brand, when its oldest unanswered complaint or escalation (open
    /// or acknowledged, not history) was posted, for `/metrics`.
    pub fn oldest_unanswered(&self) -> Result<Vec<(String, DateTime<Utc>)>> {
        self.read(|c| {
            c.rows(
                "SELECT brand, MIN(created_at) FROM mentions
                 WHERE status != 'answered' AND history = 0 AND class IN ('complaint', 'escalation')
                 GROUP BY brand ORDER BY brand",
                &[],
            )?
            .iter()
            .map(|r| Ok((r.get(0)?, from_ms(r.get(1)?))))
            .collect()
        })
    }

    /// Per brand, when its oldest complaint or escalation that nobody has
    /// acknowledged or answered was posted (history excluded), for
    /// `/metrics`.
    pub fn oldest_open(&self) -> Result<Vec<(String, DateTime<Utc>)>> {
        self.read(|c| {
            c.rows(
                "SELECT brand, MIN(created_at) FROM mentions
                 WHERE status = 'open' AND history = 0 AND class IN ('complaint', 'escalation')
                 GROUP BY brand ORDER BY brand",
                &[],
            )?
            .iter()
            .map(|r| Ok((r.get(0)?, from_ms(r.get(1)?))))
            .collect()
        })
    }

    /// A brand's open complaints and escalations not yet paged (their
    /// deadline may still move).
    pub fn open_unpaged(&self, brand: &str) -> Result<Vec<Unpaged>> {
        self.read(|c| {
            c.rows(
                "SELECT id, class, created_at, deadline FROM mentions
                 WHERE brand = $1 AND status = 'open' AND alerted_at IS NULL AND history = 0
                   AND class IN ('complaint', 'escalation') ORDER BY id",
                &[&brand],
            )?
            .iter()
            .map(|r| Ok((r.get(0)?, Class::parse(r.str(1)).unwrap_or(Class::Complaint), from_ms(r.get(2)?), r.get::<Option<i64>>(3)?.map(from_ms))))
            .collect()
        })
    }

    /// Sets deadlines of mentions not yet paged. Returns how many changed.
    pub fn set_deadlines(&self, deadlines: &[(i64, DateTime<Utc>)]) -> Result<usize> {
        self.write(|c| {
            let mut n = 0;
            for (id, d) in deadlines {
                n += c.exec("UPDATE mentions SET deadline = $2 WHERE id = $1 AND alerted_at IS NULL", &[id, &to_ms(*d)])? as usize;
            }
            Ok(n)
        })
    }
}
