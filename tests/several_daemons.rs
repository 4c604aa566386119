//! Three real `escucha` daemons with one config on one real PostgreSQL
//! server (a throwaway cluster), against the fake Hacker News API and an
//! SMTP server: the source is polled by one daemon at a time (the fake
//! counts requests answered at once), every complaint is paged exactly once
//! through a `kill -9` of the daemon polling the source and a stop of the
//! database, and the source passes to another daemon within `lease` +
//! `every` of the kill. A second source (a feed) shows the sources spread
//! over the daemons. One scenario, run once: it takes about a minute.

#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/fake_feed.rs"]
mod fake_feed;
#[path = "support/fake_hackernews.rs"]
mod fake_hackernews;
#[path = "support/smtp.rs"]
mod smtp;
#[path = "support/world.rs"]
mod world;

use daemon::Daemon;
use escucha::store::testdb::Cluster;
use escucha::store::Store;
use fake_hackernews::FakeHackerNews;
use smtp::SmtpServer;
use std::time::{Duration, Instant};
use world::{q, ConfigToml};

const LEASE_SECS: u64 = 3;
const EVERY_SECS: u64 = 1;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls `f` every 100 ms until it answers, or fails the test with the
/// daemons' logs.
async fn until<T>(limit: Duration, what: &str, daemons: &[Daemon], mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        if start.elapsed() > limit {
            let logs: Vec<String> = daemons.iter().map(|d| d.log()).collect();
            panic!("timed out after {limit:?} waiting for {what}\n--- daemon logs ---\n{}", logs.join("\n-----\n"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Who holds lease `name` now: the holder's process id.
fn holder_pid(store: &Store, name: &str) -> Option<u32> {
    let leases = store.leases(chrono::Utc::now()).ok()?;
    let l = leases.into_iter().find(|l| l.name == name)?;
    l.holder.split(':').nth(1)?.parse().ok()
}

/// How many SMTP messages mention `token`.
fn pages_with(smtp: &SmtpServer, token: &str) -> usize {
    smtp.messages().iter().filter(|m| m.text_body().unwrap_or_default().contains(token)).count()
}

async fn healthz(port: u16) -> Option<(u16, String)> {
    let r = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await.ok()?;
    let status = r.status().as_u16();
    Some((status, r.text().await.unwrap_or_default()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_daemons_on_one_postgres_poll_once_and_page_each_complaint_once_through_a_kill_and_an_outage() {
    let pg = Cluster::start();
    let url = pg.database();
    let hn = FakeHackerNews::start().await;
    // Long enough that two daemons polling at once would overlap.
    hn.set_latency(Duration::from_millis(150));
    let smtp = SmtpServer::start().await;
    let feeds = fake_feed::FakeFeed::start().await;
    let feed_url = feeds.add_feed(fake_feed::Kind::GoogleAlerts, "AcmeCoffee");
    let dir = tempfile::tempdir().unwrap();
    let ports = [free_port(), free_port(), free_port()];
    // The same config on every "host"; only the HTTP port differs, since
    // the three share one machine.
    let configs: Vec<std::path::PathBuf> = ports
        .iter()
        .enumerate()
        .map(|(i, port)| {
            let text = ConfigToml::new()
                .daemon(&url)
                .set("daemon", "timezone", "UTC")
                .set("daemon", "lease", &format!("{LEASE_SECS}s"))
                .set("daemon", "http", &format!("127.0.0.1:{port}"))
                .brand("acme", "AcmeCoffee", "acmecoffee", "4s", "3s")
                .accounts(&[("hackernews", "AcmeCoffeeHQ")])
                .hackernews(&hn.base_url())
                .feed(&feed_url, "acme")
                .smtp(smtp.port())
                .oncall(&["guardia@example.com"])
                .render();
            assert!(text.contains(&q(&url)));
            let path = dir.path().join(format!("escucha-{i}.toml"));
            std::fs::write(&path, text).unwrap();
            path
        })
        .collect();
    let mut daemons: Vec<Daemon> = configs.iter().map(|c| Daemon::start(dir.path(), c, &[])).collect();
    let store = Store::open_postgres(&url).unwrap();
    let keys = ["hackernews:search:acme", "hackernews:account:acme"];
    until(Duration::from_secs(60), "the first polls", &daemons, || keys.iter().all(|k| store.cursor(k).ok().flatten().is_some()).then_some(())).await;
    // Two sources, three daemons: each source on its own daemon, whichever
    // started first (a daemon that took both hands one over once it sees
    // the others).
    until(Duration::from_secs(20), "the two sources on two daemons", &daemons, || {
        let (a, b) = (holder_pid(&store, "source:hackernews")?, holder_pid(&store, "source:feed")?);
        (a != b).then_some(())
    })
    .await;
    let story = hn.story("pg", "Ask HN: which coffee subscription?", None);

    // Three complaints: each paged once, by whichever daemon pages.
    for n in 1..=3 {
        hn.comment(&format!("user{n}"), &story, &format!("My AcmeCoffee grinder broke after a week (order Z{n}00) and support never replied, awful"));
    }
    until(Duration::from_secs(40), "three pages", &daemons, || (1..=3).all(|n| pages_with(&smtp, &format!("Z{n}00")) >= 1).then_some(())).await;
    let holders: Vec<u32> = ["source:hackernews", "alerts"].iter().filter_map(|l| holder_pid(&store, l)).collect();
    assert_eq!(holders.len(), 2, "one daemon holds each lease: {:?}", store.leases(chrono::Utc::now()));

    // kill -9 the daemon polling the source: another takes it over within
    // lease + every (and some slack for the test's own polling).
    let pid = holder_pid(&store, "source:hackernews").unwrap();
    let victim = daemons.iter().position(|d| d.child.as_ref().map(|c| c.id()) == Some(pid)).expect("the holder is one of ours");
    daemons[victim].kill9();
    let killed_at = Instant::now();
    hn.comment("user4", &story, "AcmeCoffee charged me twice (order Z400) and nobody answers, terrible service");
    let new_holder =
        until(Duration::from_secs(30), "another daemon polling the source", &daemons, || holder_pid(&store, "source:hackernews").filter(|p| *p != pid)).await;
    let requests_before = hn.requests().len();
    until(Duration::from_secs(30), "a poll by the new holder", &daemons, || (hn.requests().len() > requests_before).then_some(())).await;
    let took = killed_at.elapsed();
    assert!(
        took <= Duration::from_secs(LEASE_SECS + EVERY_SECS + 3),
        "the source was taken over {took:?} after the kill (lease {LEASE_SECS} s + every {EVERY_SECS} s)"
    );
    assert_ne!(new_holder, pid);
    until(Duration::from_secs(40), "the page for Z400", &daemons, || (pages_with(&smtp, "Z400") >= 1).then_some(())).await;
    daemons[victim] = Daemon::start(dir.path(), &configs[victim], &[]);
    until(Duration::from_secs(30), "the restarted daemon serving", &daemons, || futures_lite_block(healthz(ports[victim])).filter(|(s, _)| *s == 200)).await;

    // The database stops for a while: the daemons keep running and say
    // they are unhealthy; complaints made meanwhile are paged once after.
    pg.stop();
    hn.comment("user5", &story, "AcmeCoffee lost my parcel (order Z500) and support never replied, awful");
    hn.comment("user6", &story, "AcmeCoffee refund never arrived (order Z600), no answer for weeks, terrible");
    let unhealthy = until(Duration::from_secs(30), "a daemon reporting the database down", &daemons, || {
        let h = futures_lite_block(healthz(ports[(victim + 1) % 3]));
        h.filter(|(status, _)| *status == 503)
    })
    .await;
    assert!(unhealthy.1.contains("database"), "/healthz says why: {}", unhealthy.1);
    tokio::time::sleep(Duration::from_secs(6)).await;
    for d in daemons.iter_mut() {
        assert!(d.running(), "a daemon exited while the database was down:\n{}", d.log());
    }
    pg.start_server();
    until(Duration::from_secs(60), "the pages for Z500 and Z600", &daemons, || {
        (pages_with(&smtp, "Z500") >= 1 && pages_with(&smtp, "Z600") >= 1).then_some(())
    })
    .await;
    until(Duration::from_secs(30), "healthy daemons again", &daemons, || {
        ports.iter().all(|p| futures_lite_block(healthz(*p)).is_some_and(|(s, _)| s == 200)).then_some(())
    })
    .await;

    // Time for a duplicate to show, if there were one.
    tokio::time::sleep(Duration::from_secs(LEASE_SECS + 2)).await;
    for n in 1..=6 {
        let token = format!("Z{n}00");
        assert_eq!(pages_with(&smtp, &token), 1, "complaint {token} paged exactly once");
    }
    assert_eq!(hn.max_in_flight(), 1, "two daemons polled Hacker News at the same time");
    let stored = store.mentions(&Default::default()).unwrap();
    assert_eq!(stored.iter().filter(|m| m.text.contains("(order Z")).count(), 6, "each complaint stored once");
    for mut d in daemons {
        assert!(d.running(), "{}", d.log());
        assert_eq!(d.terminate(Duration::from_secs(10)), Some(0));
    }
    // A clean stop gives the leases back.
    until(Duration::from_secs(5), "leases released", &[], || store.leases(chrono::Utc::now()).ok().filter(|l| l.is_empty())).await;
}

/// Runs a small future to completion from a synchronous closure.
fn futures_lite_block<F: std::future::Future>(f: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(f))
}
