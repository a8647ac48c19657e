//! What a chaos run does and when: the load, and the faults on a timeline in seconds after the
//! load started. Pure data, checked by unit tests (every kill names a running ingester, the group
//! goes 1 → 3 → 1, everything happens while the load runs).

/// How an ingester killed with SIGKILL is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// The same ingester comes back: same number, same group instance id (a restarted pod).
    Same,
    /// A new ingester with the next number and its own instance id (a pod rescheduled elsewhere).
    New,
    /// Not replaced: the group shrinks.
    Gone,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Start new ingesters until this many run.
    ScaleIngestersTo(usize),
    /// SIGKILL ingester N.
    KillIngester(usize, Then),
    /// SIGKILL Kafka node N (1..3).
    KillBroker(u8),
    /// Start Kafka node N again.
    StartBroker(u8),
    /// Stop the chaos Elasticsearch (SIGTERM).
    StopElasticsearch,
    StartElasticsearch,
    /// Restart collector N: SIGTERM (a drain) or SIGKILL, then start it on the same ports.
    RestartCollector { which: usize, sigkill: bool },
    /// SIGKILL the analytics worker and start it again at once.
    KillAnalytics,
}

/// One variant of the suite.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: &'static str,
    /// Spans per second over all load generators.
    pub rate: u64,
    /// Spans sent in all.
    pub total: u64,
    /// Collectors, each fed by its own load generator.
    pub collectors: usize,
    pub faults: Vec<(u64, Fault)>,
    /// The whole run must end within this many seconds (set-up and checks included).
    pub budget_secs: u64,
}

impl Profile {
    /// Seconds the load runs at its rate.
    pub fn load_secs(&self) -> u64 {
        self.total / self.rate
    }

    /// `make chaos`: five minutes of load, every fault, a 60 s Elasticsearch outage.
    pub fn full() -> Self {
        use Fault::*;
        use Then::*;
        Profile {
            name: "full",
            rate: 2_000,
            total: 600_000,
            collectors: 2,
            faults: vec![
                (5, ScaleIngestersTo(3)),
                (15, KillIngester(2, Same)),
                (25, KillIngester(3, New)),
                (35, KillAnalytics),
                (45, KillBroker(2)),
                (65, StartBroker(2)),
                (75, KillIngester(1, Same)),
                (85, RestartCollector { which: 1, sigkill: false }),
                (95, KillIngester(4, Same)),
                (105, StopElasticsearch),
                (165, StartElasticsearch),
                (185, KillAnalytics),
                (195, KillIngester(2, Same)),
                (205, RestartCollector { which: 2, sigkill: true }),
                (215, KillIngester(1, New)),
                (230, KillIngester(4, Gone)),
                (230, KillIngester(5, Gone)),
                (245, KillAnalytics),
                (255, KillIngester(2, Same)),
                (275, KillIngester(2, Same)),
            ],
            budget_secs: 600,
        }
    }

    /// `make chaos-short` (part of `make test`): 90 s of load, one of each fault, a 20 s outage.
    pub fn short() -> Self {
        use Fault::*;
        use Then::*;
        Profile {
            name: "short",
            rate: 2_000,
            total: 180_000,
            collectors: 2,
            faults: vec![
                (5, ScaleIngestersTo(3)),
                (15, KillIngester(2, Same)),
                (22, KillBroker(2)),
                (28, KillAnalytics),
                (37, StartBroker(2)),
                (42, RestartCollector { which: 1, sigkill: true }),
                (47, StopElasticsearch),
                (67, StartElasticsearch),
                (72, KillIngester(3, New)),
                (80, KillIngester(4, Gone)),
                (80, KillIngester(2, Gone)),
                (85, KillAnalytics),
            ],
            budget_secs: 300,
        }
    }
}

/// The ingesters running after each fault of `faults`, starting from ingester 1 alone; `Err`
/// names a fault that refers to an ingester not running.
pub fn ingester_groups(faults: &[(u64, Fault)]) -> Result<Vec<Vec<usize>>, String> {
    let mut running = vec![1];
    let mut next = 2;
    let mut after = Vec::new();
    for (at, fault) in faults {
        match fault {
            Fault::ScaleIngestersTo(n) => {
                while running.len() < *n {
                    running.push(next);
                    next += 1;
                }
            }
            Fault::KillIngester(n, then) => {
                let Some(position) = running.iter().position(|r| r == n) else {
                    return Err(format!("at {at} s: ingester {n} is not running ({running:?})"));
                };
                match then {
                    Then::Same => {}
                    Then::New => {
                        running[position] = next;
                        next += 1;
                    }
                    Then::Gone => {
                        running.remove(position);
                    }
                }
            }
            _ => {}
        }
        after.push(running.clone());
    }
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(profile: &Profile) {
        let groups = ingester_groups(&profile.faults).unwrap_or_else(|e| panic!("{}: {e}", profile.name));
        let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
        assert_eq!(sizes.iter().max(), Some(&3), "{}: the group grows to 3", profile.name);
        assert_eq!(sizes.last(), Some(&1), "{}: and ends with 1", profile.name);
        assert!(sizes.iter().all(|&s| s >= 1), "{}: never without an ingester", profile.name);
        let times: Vec<u64> = profile.faults.iter().map(|(at, _)| *at).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{}: in order", profile.name);
        assert!(*times.last().unwrap() + 5 <= profile.load_secs(), "{}: every fault while the load runs", profile.name);
        for fault in [Fault::KillAnalytics, Fault::StopElasticsearch, Fault::StartElasticsearch] {
            assert!(profile.faults.iter().any(|(_, f)| *f == fault), "{}: {fault:?}", profile.name);
        }
        let kills = profile.faults.iter().filter(|(_, f)| matches!(f, Fault::KillBroker(_))).count();
        let starts = profile.faults.iter().filter(|(_, f)| matches!(f, Fault::StartBroker(_))).count();
        assert_eq!((kills, starts), (1, 1), "{}: one broker crash, restarted", profile.name);
    }

    #[test]
    fn both_profiles_take_the_group_from_one_to_three_to_one_ingester_while_the_load_runs() {
        check(&Profile::full());
        check(&Profile::short());
    }

    #[test]
    fn a_kill_of_an_ingester_that_is_not_running_is_refused() {
        let faults = vec![(1, Fault::KillIngester(1, Then::Gone)), (2, Fault::KillIngester(1, Then::Same))];
        assert!(ingester_groups(&faults).unwrap_err().contains("ingester 1 is not running"));
        let faults = vec![(1, Fault::ScaleIngestersTo(2)), (2, Fault::KillIngester(2, Then::New))];
        assert_eq!(ingester_groups(&faults).unwrap(), vec![vec![1, 2], vec![1, 3]]);
    }
}
