//! Who held which partition when, read from the roles' own logs ("partitions assigned" /
//! "partitions revoked", logged by skein's consumer on each rebalance) and the lives the driver
//! gave each process. From these: how long after a member died its partitions were assigned to
//! a live member again — the take-over itself, apart from the catching up that follows (which
//! the committed offsets measure).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

/// One run of a process: from its start until it was killed or stopped (None: still running).
#[derive(Debug, Clone)]
pub struct Life {
    pub name: String,
    pub started: DateTime<Utc>,
    pub ended: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Assigned(Vec<i32>),
    Revoked(Vec<i32>),
}

/// One life of a consumer and the rebalances it logged.
#[derive(Debug, Clone)]
pub struct Timeline {
    pub started: DateTime<Utc>,
    pub ended: Option<DateTime<Utc>>,
    pub changes: Vec<(DateTime<Utc>, Change)>,
}

impl Timeline {
    fn alive_at(&self, t: DateTime<Utc>) -> bool {
        self.started <= t && self.ended.is_none_or(|end| end > t)
    }

    /// Partitions held at `t` (the assignment is eager: each assignment is the whole set).
    fn held_at(&self, t: DateTime<Utc>) -> BTreeSet<i32> {
        let mut held = BTreeSet::new();
        for (_, change) in self.changes.iter().take_while(|(at, _)| *at <= t) {
            match change {
                Change::Assigned(partitions) => held = partitions.iter().copied().collect(),
                Change::Revoked(partitions) => partitions.iter().for_each(|p| {
                    held.remove(p);
                }),
            }
        }
        held
    }
}

/// The rebalances of each life in a role's log: the driver writes a `==== <time> skein ...`
/// line before each start, so the n-th section is the n-th life. Lives without a section (the
/// log was cut short) get no changes.
pub fn timelines(log: &str, lives: &[&Life]) -> Vec<Timeline> {
    let mut sections: Vec<Vec<(DateTime<Utc>, Change)>> = Vec::new();
    for line in log.lines() {
        if line.starts_with("==== ") {
            sections.push(Vec::new());
            continue;
        }
        if let (Some(section), Some(change)) = (sections.last_mut(), parse_line(line)) {
            section.push(change);
        }
    }
    lives
        .iter()
        .enumerate()
        .map(|(i, life)| Timeline {
            started: life.started,
            ended: life.ended,
            changes: sections.get(i).cloned().unwrap_or_default(),
        })
        .collect()
}

/// A rebalance line, its colours removed: `<rfc3339>  INFO ...: ingester partitions assigned partitions=[2, 3]`.
fn parse_line(line: &str) -> Option<(DateTime<Utc>, Change)> {
    let plain = strip_ansi(line);
    let kind = if plain.contains(" partitions assigned ") {
        Change::Assigned as fn(Vec<i32>) -> Change
    } else if plain.contains(" partitions revoked ") {
        Change::Revoked
    } else {
        return None;
    };
    let at = DateTime::parse_from_rfc3339(plain.split_whitespace().next()?).ok()?.with_timezone(&Utc);
    let list = plain.split("partitions=[").nth(1)?.split(']').next()?;
    let partitions = list.split(',').filter_map(|p| p.trim().parse().ok()).collect();
    Some((at, kind(partitions)))
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI sequences end with a letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether some partition had no live holder right after `at` and, if so, the seconds until
/// every one of `partitions` was held by a live member of the group again (None: never, in
/// these logs). A fault that left every partition with a live holder needs no take-over.
pub fn assigned_again(timelines: &[Timeline], partitions: i32, at: DateTime<Utc>) -> (bool, Option<f64>) {
    let covered = |t: DateTime<Utc>| {
        let held: BTreeSet<i32> = timelines.iter().filter(|l| l.alive_at(t)).flat_map(|l| l.held_at(t)).collect();
        (0..partitions).all(|p| held.contains(&p))
    };
    if covered(at) {
        return (false, None);
    }
    let mut moments: Vec<DateTime<Utc>> =
        timelines.iter().flat_map(|l| l.changes.iter().map(|(t, _)| *t)).filter(|t| *t > at).collect();
    moments.sort();
    let found = moments.into_iter().find(|t| covered(*t));
    (true, found.map(|t| (t - at).num_milliseconds() as f64 / 1000.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_coloured_rebalance_line_reads_as_a_change() {
        let line = "\u{1b}[2m2026-12-07T14:16:07.096859Z\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m \u{1b}[2mskein_core::consumer::context\u{1b}[0m\u{1b}[2m:\u{1b}[0m ingester partitions assigned \u{1b}[3mpartitions\u{1b}[0m\u{1b}[2m=\u{1b}[0m[2, 3]";
        assert_eq!(parse_line(line), Some((t("2026-12-07T14:16:07.096859Z"), Change::Assigned(vec![2, 3]))));
        assert_eq!(parse_line("2026-12-07T14:16:07Z  INFO x: ingester consuming topic=t"), None);
    }

    #[test]
    fn a_restarted_member_takes_its_partitions_back_when_it_logs_the_assignment() {
        let log = "==== start\n\
                   2026-01-01T00:00:01Z INFO c: ingester partitions assigned partitions=[0, 1]\n\
                   ==== start again\n\
                   2026-01-01T00:00:12.500Z INFO c: ingester partitions assigned partitions=[0, 1]\n";
        let first =
            Life { name: "i".into(), started: t("2026-01-01T00:00:00Z"), ended: Some(t("2026-01-01T00:00:10Z")) };
        let second = Life { name: "i".into(), started: t("2026-01-01T00:00:10Z"), ended: None };
        let lines = timelines(log, &[&first, &second]);
        assert_eq!(assigned_again(&lines, 2, t("2026-01-01T00:00:10Z")), (true, Some(2.5)));
        assert_eq!(assigned_again(&lines, 2, t("2026-01-01T00:00:05Z")), (false, None), "nothing lost then");
    }

    #[test]
    fn partitions_of_a_member_gone_for_good_move_when_a_survivor_is_assigned_them() {
        let dead = Timeline {
            started: t("2026-01-01T00:00:00Z"),
            ended: Some(t("2026-01-01T00:00:10Z")),
            changes: vec![(t("2026-01-01T00:00:01Z"), Change::Assigned(vec![1]))],
        };
        let survivor = Timeline {
            started: t("2026-01-01T00:00:00Z"),
            ended: None,
            changes: vec![
                (t("2026-01-01T00:00:01Z"), Change::Assigned(vec![0])),
                (t("2026-01-01T00:00:16Z"), Change::Revoked(vec![0])),
                (t("2026-01-01T00:00:17Z"), Change::Assigned(vec![0, 1])),
            ],
        };
        let lines = [dead, survivor];
        assert_eq!(assigned_again(&lines, 2, t("2026-01-01T00:00:10Z")), (true, Some(7.0)));
        let cut = [lines[0].clone(), Timeline { changes: lines[1].changes[..2].to_vec(), ..lines[1].clone() }];
        assert_eq!(assigned_again(&cut, 2, t("2026-01-01T00:00:10Z")), (true, None), "never assigned again");
    }
}
