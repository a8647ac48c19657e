//! How every role starts: [`RoleStart::serve_admin`] serves its admin endpoints with its readiness
//! conditions; a [`Preparation`] makes what it needs on the servers (index templates, topics), each
//! step retried with [`until_ok`] until it succeeds; then the role's work runs until shutdown, and
//! [`RunningRole`] is the handle the process waits on.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::net::ListenerGroup;
use crate::retry::{until_ok, Backoff};
use crate::telemetry::{serve_admin, Readiness};

/// Why a preparation step failed this time; it is logged and the step tried again.
pub type StepError = Box<dyn std::error::Error + Send + Sync>;

type Step = Box<dyn FnMut() -> BoxFuture<'static, Result<(), StepError>> + Send>;

enum Item {
    Step { what: &'static str, run: Step },
    Ready(&'static str),
}

/// What a role makes on the servers before it can do its work: steps run in order, each retried
/// with `backoff` until it succeeds, and readiness conditions met once the steps before them are
/// done.
pub struct Preparation {
    backoff: Backoff,
    items: Vec<Item>,
}

impl Preparation {
    /// No steps yet; failed steps are retried with `backoff`.
    pub fn retrying(backoff: Backoff) -> Self {
        Self { backoff, items: Vec::new() }
    }

    /// Add a step; a failure is logged as `cannot <what> yet; retrying`.
    pub fn step<F, Fut, E>(mut self, what: &'static str, mut operation: F) -> Self
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<StepError>,
    {
        let run: Step = Box::new(move || {
            let attempt = operation();
            Box::pin(async move { attempt.await.map_err(Into::into) })
        });
        self.items.push(Item::Step { what, run });
        self
    }

    /// Meet `condition` once the steps added so far are done.
    pub fn then_ready(mut self, condition: &'static str) -> Self {
        self.items.push(Item::Ready(condition));
        self
    }

    /// Create the spans and DLQ topics, unless `kafka.create_topics` is off.
    #[cfg(feature = "kafka")]
    pub fn create_topics(self, kafka: &crate::config::KafkaConfig) -> Self {
        if !kafka.create_topics {
            return self;
        }
        let kafka = kafka.clone();
        self.step("create topics", move || {
            let kafka = kafka.clone();
            async move { crate::kafka::ensure_topics(&kafka).await }
        })
    }

    /// Install `templates`, unless `elasticsearch.create_templates` is off; `what` names them in
    /// the log (`install index templates`). Either way the log says which backend answers.
    #[cfg(feature = "elasticsearch")]
    pub fn install_templates(
        self,
        what: &'static str,
        client: &elasticsearch::Elasticsearch,
        config: &crate::config::ElasticsearchConfig,
        templates: Vec<(String, serde_json::Value)>,
    ) -> Self {
        if !config.create_templates {
            // Still say which backend answers (installing templates says it otherwise), without
            // waiting for it: without templates to install a role never did.
            let (client, url) = (client.clone(), config.url.clone());
            return self.step("identify the search backend", move || {
                let (client, url) = (client.clone(), url.clone());
                async move {
                    match crate::elasticsearch::detect_backend(&client, &url).await {
                        Ok(backend) => tracing::info!(%backend, %url, "search backend identified"),
                        Err(error) => tracing::warn!(%error, "cannot identify the search backend; going on"),
                    }
                    Ok::<_, StepError>(())
                }
            });
        }
        let (client, config, templates) = (client.clone(), config.clone(), std::sync::Arc::new(templates));
        self.step(what, move || {
            let (client, config, templates) = (client.clone(), config.clone(), templates.clone());
            async move { crate::elasticsearch::install_templates(&client, &config, &templates).await }
        })
    }

    /// Run the steps in order, meeting conditions on the way; false when shutdown came first.
    pub async fn run(self, readiness: &Readiness, shutdown: &CancellationToken) -> bool {
        for item in self.items {
            match item {
                Item::Ready(condition) => readiness.set(condition, true),
                Item::Step { what, run } => {
                    if until_ok(what, self.backoff, shutdown, run).await.is_none() {
                        return false;
                    }
                }
            }
        }
        true
    }
}

/// Why a role stopped by itself instead of because shutdown was asked for: the process exits
/// non-zero with it, so a supervisor restarts the role rather than leaving it stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RoleFailed(pub String);

/// Where a role's work says it cannot go on (the first report is kept). The work still cancels
/// shutdown itself, so that the process's other roles stop too.
#[derive(Debug, Clone, Default)]
pub struct FailureReport(Arc<Mutex<Option<String>>>);

impl FailureReport {
    /// Record why the role stopped.
    pub fn report(&self, why: impl Into<String>) {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get_or_insert_with(|| why.into());
    }

    fn take(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take()
    }
}

/// A role whose admin endpoints are up, about to start its work.
pub struct RoleStart {
    readiness: Readiness,
    shutdown: CancellationToken,
    failure: FailureReport,
}

impl RoleStart {
    /// Serve `/metrics`, `/healthz` and `/readyz` on `admin` until `shutdown`, with the TLS and
    /// limits of `group` (the `admin` listener group, [`ListenerGroup::new`]); `/readyz` answers
    /// 200 once each of `conditions` is met, and `/metrics` says the same under `role`'s name.
    /// The error is the bind failure, for the role to name its option.
    pub async fn serve_admin(
        role: &'static str,
        admin: SocketAddr,
        group: ListenerGroup,
        conditions: &[&'static str],
        shutdown: &CancellationToken,
    ) -> Result<Self, std::io::Error> {
        Self::serve_admin_with_auth(role, admin, group, conditions, None, shutdown).await
    }

    /// [`RoleStart::serve_admin`], `/metrics` checked by `auth` (`listeners.admin.auth`); the
    /// probes `/healthz` and `/readyz` stay open.
    pub async fn serve_admin_with_auth(
        role: &'static str,
        admin: SocketAddr,
        group: ListenerGroup,
        conditions: &[&'static str],
        auth: Option<crate::auth::Authenticator>,
        shutdown: &CancellationToken,
    ) -> Result<Self, std::io::Error> {
        crate::telemetry::describe();
        let readiness = Readiness::of_role(role);
        for condition in conditions {
            readiness.register(condition);
        }
        serve_admin(admin, group, readiness.clone(), auth, shutdown.clone()).await?;
        Ok(Self { readiness, shutdown: shutdown.clone(), failure: FailureReport::default() })
    }

    /// Where the work reports that it failed; [`RunningRole::join`] then returns the reason.
    pub fn failure(&self) -> FailureReport {
        self.failure.clone()
    }

    /// The conditions `/readyz` reports, for work that keeps one up to date.
    pub fn readiness(&self) -> &Readiness {
        &self.readiness
    }

    /// Run `work` (which stops by itself once shutdown is cancelled).
    pub fn spawn(self, work: impl Future<Output = ()> + Send + 'static) -> RunningRole {
        RunningRole { readiness: self.readiness, addresses: (), work: tokio::spawn(work), failure: self.failure }
    }

    /// Prepare, then run `work`; when shutdown comes during the preparation, `work` never runs.
    pub fn spawn_after(self, preparation: Preparation, work: impl Future<Output = ()> + Send + 'static) -> RunningRole {
        let (readiness, shutdown) = (self.readiness.clone(), self.shutdown.clone());
        self.spawn(async move {
            if preparation.run(&readiness, &shutdown).await {
                work.await;
            }
        })
    }

    /// Run `work` while preparing: for a role that takes requests at once and only tells load
    /// balancers it is ready when the preparation is done.
    pub fn spawn_alongside(
        self,
        preparation: Preparation,
        work: impl Future<Output = ()> + Send + 'static,
    ) -> RunningRole {
        let (readiness, shutdown) = (self.readiness.clone(), self.shutdown.clone());
        self.spawn(async move {
            tokio::join!(preparation.run(&readiness, &shutdown), work);
        })
    }
}

/// A started role: its readiness, where it listens (`A`, for roles that report their addresses),
/// and its work.
pub struct RunningRole<A = ()> {
    pub readiness: Readiness,
    pub addresses: A,
    work: JoinHandle<()>,
    failure: FailureReport,
}

impl RunningRole {
    /// The same role, reporting `addresses`.
    pub fn listening_on<A>(self, addresses: A) -> RunningRole<A> {
        RunningRole { readiness: self.readiness, addresses, work: self.work, failure: self.failure }
    }
}

impl<A> RunningRole<A> {
    /// Wait until the role has stopped and finished what it had in hand: `Ok` after a shutdown
    /// that was asked for, the reason when its work failed or panicked.
    pub async fn join(self) -> Result<(), RoleFailed> {
        let finished = self.work.await;
        if let Some(why) = self.failure.take() {
            return Err(RoleFailed(why));
        }
        match finished {
            Err(error) if error.is_panic() => Err(RoleFailed("its work panicked (see the log above)".into())),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    const QUICK: Backoff = Backoff { initial: Duration::from_millis(1), max: Duration::from_millis(1) };

    async fn start(conditions: &[&'static str], shutdown: &CancellationToken) -> RoleStart {
        RoleStart::serve_admin(
            "test",
            "127.0.0.1:0".parse().unwrap(),
            ListenerGroup::plain("admin"),
            conditions,
            shutdown,
        )
        .await
        .unwrap()
    }

    /// A step failing `failures` times before it succeeds, counting its attempts.
    fn flaky(failures: u32) -> (Arc<AtomicU32>, impl FnMut() -> futures::future::Ready<Result<(), String>>) {
        let attempts = Arc::new(AtomicU32::new(0));
        let counted = attempts.clone();
        let step = move || {
            let attempt = counted.fetch_add(1, Ordering::SeqCst);
            futures::future::ready(if attempt < failures { Err(format!("attempt {attempt} fails")) } else { Ok(()) })
        };
        (attempts, step)
    }

    #[tokio::test]
    async fn a_condition_is_met_once_the_steps_before_it_are_done() {
        let shutdown = CancellationToken::new();
        let role = start(&["index_templates"], &shutdown).await;
        let readiness = role.readiness().clone();
        let (template_attempts, templates) = flaky(2);
        let (_, topics) = flaky(u32::MAX);
        let preparation = Preparation::retrying(QUICK)
            .step("install index templates", templates)
            .then_ready("index_templates")
            .step("create topics", topics);
        let worked = Arc::new(AtomicBool::new(false));
        let flag = worked.clone();
        let running = role.spawn_after(preparation, async move { flag.store(true, Ordering::SeqCst) });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !readiness.is_ready() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(readiness.is_ready(), "met while the next step is still failing");
        assert_eq!(template_attempts.load(Ordering::SeqCst), 3, "the step was retried until it succeeded");
        shutdown.cancel();
        running.join().await.unwrap();
        assert!(!worked.load(Ordering::SeqCst), "shutdown during the preparation skips the work");
    }

    #[tokio::test]
    async fn work_runs_once_every_step_succeeded() {
        let shutdown = CancellationToken::new();
        let role = start(&["kafka_topics"], &shutdown).await;
        let (_, topics) = flaky(1);
        let preparation = Preparation::retrying(QUICK).step("create topics", topics).then_ready("kafka_topics");
        let readiness = role.readiness().clone();
        let worked = Arc::new(AtomicBool::new(false));
        let flag = worked.clone();
        let running = role.spawn_after(preparation, async move { flag.store(readiness.is_ready(), Ordering::SeqCst) });
        running.join().await.unwrap();
        assert!(worked.load(Ordering::SeqCst), "work ran, after the condition was met");
    }

    #[tokio::test]
    async fn work_alongside_runs_before_the_preparation_is_done() {
        let shutdown = CancellationToken::new();
        let role = start(&["topics"], &shutdown).await;
        let (_, never) = flaky(u32::MAX);
        let preparation = Preparation::retrying(QUICK).step("create topics", never).then_ready("topics");
        let (started, started_seen) = tokio::sync::oneshot::channel();
        let work_shutdown = shutdown.clone();
        let running = role.spawn_alongside(preparation, async move {
            let _ = started.send(());
            work_shutdown.cancelled().await;
        });
        tokio::time::timeout(Duration::from_secs(5), started_seen).await.expect("work started").unwrap();
        assert!(!running.readiness.is_ready());
        shutdown.cancel();
        running.join().await.unwrap();
    }

    #[tokio::test]
    async fn an_admin_address_in_use_is_an_error() {
        let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let shutdown = CancellationToken::new();
        let result =
            RoleStart::serve_admin("test", taken.local_addr().unwrap(), ListenerGroup::plain("admin"), &[], &shutdown)
                .await;
        assert_eq!(result.err().map(|error| error.kind()), Some(std::io::ErrorKind::AddrInUse));
    }

    #[tokio::test]
    async fn a_role_whose_work_failed_joins_with_the_reason() {
        let shutdown = CancellationToken::new();
        let role = start(&[], &shutdown).await;
        let failure = role.failure();
        let stop = shutdown.clone();
        let running = role.spawn(async move {
            failure.report("analytics cannot write its checkpoint");
            failure.report("a later reason is not kept");
            stop.cancel();
        });
        assert_eq!(running.join().await, Err(RoleFailed("analytics cannot write its checkpoint".into())));
        assert!(shutdown.is_cancelled(), "the failing work stopped the process's other roles");
    }

    #[tokio::test]
    async fn a_role_whose_work_panicked_joins_with_an_error() {
        let shutdown = CancellationToken::new();
        let running = start(&[], &shutdown).await.spawn(async { panic!("bug") });
        assert!(running.join().await.is_err());
    }
}
