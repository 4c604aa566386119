//! The deployment's classifier: the shipped model refit with the labels
//! the team stored (`escucha learn`, `escucha correct`, "not a complaint"
//! links), kept current in the running daemon. Between the store (which
//! holds the labels) and `classify` (which fits, knowing no I/O).

use crate::classify::learned::{Labelled, Model};
use crate::classify::Classifier;
use crate::config::{ClassifierKind, Config};
use crate::store::Store;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

/// How often the daemon asks the store whether labels changed: a
/// correction reaches the model within a minute, as issue 12 asks.
pub const CHECK_EVERY: Duration = Duration::from_secs(15);

/// The labels stored in the database, as the classifier reads them.
pub fn local_labels(store: &Store) -> anyhow::Result<Vec<Labelled>> {
    Ok(store.labels()?.into_iter().map(|l| Labelled { text: l.text, class: l.class, lang: l.lang }).collect())
}

/// The classifier `cfg` asks for, fitted to the labels in `store`.
pub fn classifier(cfg: &Config, store: &Store) -> anyhow::Result<Classifier> {
    if cfg.daemon.classifier == ClassifierKind::Rules {
        return Ok(Classifier::rules_only());
    }
    Ok(fit(&local_labels(store)?))
}

/// The classifier `cfg` asks for when no labels can be read: the rules
/// alone, or the shipped fit.
pub fn without_labels(cfg: &Config) -> Classifier {
    match cfg.daemon.classifier {
        ClassifierKind::Rules => Classifier::rules_only(),
        ClassifierKind::Learned => Classifier::shipped(),
    }
}

/// The shipped model when there are no local labels (fitted once per
/// process), otherwise a refit.
pub fn fit(local: &[Labelled]) -> Classifier {
    if local.is_empty() {
        Classifier::shipped()
    } else {
        Classifier::with_model(Arc::new(Model::fit(local)))
    }
}

/// The classifier the daemon's sources use now, swapped whole when a refit
/// is ready (readers clone the `Classifier`, an `Arc`, and never wait for a
/// fit).
pub struct Live {
    current: RwLock<Classifier>,
    /// The labels' (count, max id) the current classifier was fitted to.
    version: RwLock<(u64, i64)>,
}

impl Live {
    pub fn new(classifier: Classifier, version: (u64, i64)) -> Live {
        Live { current: RwLock::new(classifier), version: RwLock::new(version) }
    }

    /// What `cfg` asks for without the labels (the shipped fit), to be
    /// refit at the next check.
    pub fn fallback(cfg: &Config) -> Live {
        Live::new(without_labels(cfg), (0, 0))
    }

    /// Fitted to `store`'s labels now (the daemon's start).
    pub fn load(cfg: &Config, store: &Store) -> anyhow::Result<Live> {
        let version = store.labels_version()?;
        Ok(Live::new(classifier(cfg, store)?, version))
    }

    pub fn current(&self) -> Classifier {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, c: Classifier, version: (u64, i64)) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = c;
        *self.version.write().unwrap_or_else(|e| e.into_inner()) = version;
    }

    fn version(&self) -> (u64, i64) {
        *self.version.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Refits when the stored labels changed since the last fit. Blocking
    /// (SQL and arithmetic): call it off the async workers.
    pub fn refresh(&self, cfg: &Config, store: &Store) -> anyhow::Result<bool> {
        if cfg.daemon.classifier == ClassifierKind::Rules {
            return Ok(false);
        }
        let version = store.labels_version()?;
        if version == self.version() {
            return Ok(false);
        }
        let started = Instant::now();
        let labels = local_labels(store)?;
        let c = fit(&labels);
        self.set(c, version);
        info!(labels = labels.len(), seconds = format!("{:.2}", started.elapsed().as_secs_f64()), "classifier refit with the team's labels");
        Ok(true)
    }
}

/// Until `cancel`: every `CHECK_EVERY`, refits when labels changed.
pub async fn run(live: Arc<Live>, cfg: Arc<Config>, store: Arc<Store>, cancel: CancellationToken) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(CHECK_EVERY) => {}
        }
        let (live, cfg, store) = (live.clone(), cfg.clone(), store.clone());
        match tokio::task::spawn_blocking(move || live.refresh(&cfg, &store)).await {
            Ok(Ok(_)) => {}
            // The old fit keeps classifying; the next check tries again.
            Ok(Err(e)) => error!("reading the team's labels failed; the classifier keeps its previous fit: {e:#}"),
            Err(e) => error!("the classifier refit stopped unexpectedly: {e}"),
        }
    }
}
