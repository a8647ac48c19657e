//! What a chaos run does: the load, and the faults in stages. The faults of a stage are applied
//! together; the next stage starts once every partition is consumed (and written) again after
//! them, so each take-over is measured on its own. Pure data, checked by unit tests (every kill
//! names a running ingester, the group goes 1 → 3 → 1, every kind of fault is there).

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
    /// SIGKILL Kafka node N (1..3), start it again after `down_secs`.
    BrokerCrash { node: u8, down_secs: u64 },
    /// Stop the chaos Elasticsearch (SIGTERM), start it again after `secs`.
    ElasticsearchOutage { secs: u64 },
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
    pub stages: Vec<Vec<Fault>>,
    /// The whole run must end within this many seconds (set-up and checks included).
    pub budget_secs: u64,
}

impl Profile {
    /// Seconds the load runs at its rate.
    pub fn load_secs(&self) -> u64 {
        self.total / self.rate
    }

    /// `make chaos`: seven minutes of load, every fault, a 60 s Elasticsearch outage.
    pub fn full() -> Self {
        use Fault::*;
        use Then::*;
        Profile {
            name: "full",
            rate: 1_000,
            total: 420_000,
            collectors: 2,
            stages: vec![
                vec![ScaleIngestersTo(3)],
                vec![KillIngester(2, Same)],
                vec![KillIngester(3, New), KillAnalytics],
                vec![BrokerCrash { node: 2, down_secs: 20 }],
                vec![KillIngester(1, Same), RestartCollector { which: 1, sigkill: false }],
                vec![ElasticsearchOutage { secs: 60 }],
                vec![RestartCollector { which: 2, sigkill: true }, KillIngester(2, Same)],
                vec![KillIngester(4, Gone), KillIngester(1, Gone), KillAnalytics],
                vec![KillIngester(2, Same)],
            ],
            budget_secs: 600,
        }
    }

    /// `make chaos-short` (part of `make test`): two minutes of load, each kind of
    /// fault once, a 15 s outage.
    pub fn short() -> Self {
        use Fault::*;
        use Then::*;
        Profile {
            name: "short",
            rate: 1_000,
            total: 120_000,
            collectors: 2,
            stages: vec![
                vec![ScaleIngestersTo(3)],
                vec![KillIngester(2, Same), KillAnalytics, RestartCollector { which: 1, sigkill: true }],
                vec![BrokerCrash { node: 2, down_secs: 10 }],
                vec![ElasticsearchOutage { secs: 15 }],
                vec![KillIngester(3, Gone), KillIngester(2, Gone)],
            ],
            budget_secs: 330,
        }
    }

    /// Every fault, in order.
    pub fn faults(&self) -> Vec<Fault> {
        self.stages.iter().flatten().cloned().collect()
    }
}

/// The ingesters running after each fault of `faults`, starting from ingester 1 alone; `Err`
/// names a fault that refers to an ingester not running.
pub fn ingester_groups(faults: &[Fault]) -> Result<Vec<Vec<usize>>, String> {
    let mut running = vec![1];
    let mut next = 2;
    let mut after = Vec::new();
    for (index, fault) in faults.iter().enumerate() {
        match fault {
            Fault::ScaleIngestersTo(n) => {
                while running.len() < *n {
                    running.push(next);
                    next += 1;
                }
            }
            Fault::KillIngester(n, then) => {
                let Some(position) = running.iter().position(|r| r == n) else {
                    return Err(format!("fault {}: ingester {n} is not running ({running:?})", index + 1));
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
        let faults = profile.faults();
        let groups = ingester_groups(&faults).unwrap_or_else(|e| panic!("{}: {e}", profile.name));
        let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
        assert_eq!(sizes.iter().max(), Some(&3), "{}: the group grows to 3", profile.name);
        assert_eq!(sizes.last(), Some(&1), "{}: and ends with 1", profile.name);
        assert!(sizes.iter().all(|&s| s >= 1), "{}: never without an ingester", profile.name);
        let has = |wanted: fn(&Fault) -> bool| faults.iter().any(wanted);
        assert!(has(|f| matches!(f, Fault::KillAnalytics)), "{}", profile.name);
        assert!(has(|f| matches!(f, Fault::ElasticsearchOutage { .. })), "{}", profile.name);
        assert!(has(|f| matches!(f, Fault::BrokerCrash { .. })), "{}", profile.name);
        assert!(has(|f| matches!(f, Fault::RestartCollector { .. })), "{}", profile.name);
        assert!(has(|f| matches!(f, Fault::KillIngester(_, Then::Same))), "{}", profile.name);
        // A broker crash or an outage holds its stage up: alone, so its recovery is its own.
        for stage in &profile.stages {
            let slow = stage.iter().any(|f| matches!(f, Fault::BrokerCrash { .. } | Fault::ElasticsearchOutage { .. }));
            assert!(!slow || stage.len() == 1, "{}: {stage:?}", profile.name);
        }
    }

    #[test]
    fn both_profiles_take_the_group_from_one_to_three_to_one_ingester_with_every_fault() {
        check(&Profile::full());
        check(&Profile::short());
        assert!(Profile::full().faults().iter().any(|f| matches!(f, Fault::KillIngester(_, Then::New))));
    }

    #[test]
    fn a_kill_of_an_ingester_that_is_not_running_is_refused() {
        let faults = vec![Fault::KillIngester(1, Then::Gone), Fault::KillIngester(1, Then::Same)];
        assert!(ingester_groups(&faults).unwrap_err().contains("ingester 1 is not running"));
        let faults = vec![Fault::ScaleIngestersTo(2), Fault::KillIngester(2, Then::New)];
        assert_eq!(ingester_groups(&faults).unwrap(), vec![vec![1, 2], vec![1, 3]]);
    }
}
