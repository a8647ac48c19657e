//! Which indices `lookback` takes out of a read alias: those created before a cut-off computed
//! as Jaeger's rollover tool computes it, never the index the write alias points at.

use std::collections::BTreeSet;
use std::str::FromStr;

use chrono::{DateTime, Duration, Months, NaiveTime, TimeZone, Timelike, Utc};

/// `--unit` of `lookback`, Jaeger's units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookbackUnit {
    Seconds,
    Minutes,
    Hours,
    Days,
    Weeks,
    Months,
    Years,
}

impl FromStr for LookbackUnit {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text {
            "seconds" => Self::Seconds,
            "minutes" => Self::Minutes,
            "hours" => Self::Hours,
            "days" => Self::Days,
            "weeks" => Self::Weeks,
            "months" => Self::Months,
            "years" => Self::Years,
            other => {
                return Err(format!(
                    "unknown unit {other:?}: use seconds, minutes, hours, days, weeks, months or years"
                ))
            }
        })
    }
}

/// Indices created before this instant leave the read alias. As in Jaeger: minutes and hours
/// count back from the current minute or hour; days and weeks from the coming midnight (so
/// `days 1` keeps what was created today); months and years from the last midnight (UTC).
pub fn cutoff(now: DateTime<Utc>, unit: LookbackUnit, count: u32) -> DateTime<Utc> {
    let count_i = i64::from(count);
    let midnight = Utc.from_utc_datetime(&now.date_naive().and_time(NaiveTime::MIN));
    match unit {
        LookbackUnit::Seconds => now.with_nanosecond(0).unwrap_or(now) - Duration::seconds(count_i),
        LookbackUnit::Minutes => truncate(now, 60) - Duration::minutes(count_i),
        LookbackUnit::Hours => truncate(now, 3600) - Duration::hours(count_i),
        LookbackUnit::Days => midnight + Duration::days(1) - Duration::days(count_i),
        LookbackUnit::Weeks => midnight + Duration::days(1) - Duration::days(7 * count_i),
        LookbackUnit::Months => midnight.checked_sub_months(Months::new(count)).unwrap_or(DateTime::<Utc>::MIN_UTC),
        // 29 February minus a year lands on 28 February (Jaeger's Go arithmetic gives 1 March).
        LookbackUnit::Years => {
            midnight.checked_sub_months(Months::new(count.saturating_mul(12))).unwrap_or(DateTime::<Utc>::MIN_UTC)
        }
    }
}

fn truncate(now: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    let timestamp = now.timestamp();
    DateTime::from_timestamp(timestamp - timestamp.rem_euclid(seconds), 0).unwrap_or(now)
}

/// An index as `GET <prefix>jaeger-*` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexInfo {
    pub name: String,
    pub created_ms: i64,
    pub aliases: BTreeSet<String>,
}

/// The indices to take out of `read_alias`: in it, created before `cutoff_ms`, and not holding
/// `write_alias` (the index being written stays readable whatever its age).
pub fn indices_leaving_read_alias(
    indices: &[IndexInfo],
    read_alias: &str,
    write_alias: &str,
    cutoff_ms: i64,
) -> Vec<String> {
    indices
        .iter()
        .filter(|index| index.aliases.contains(read_alias))
        .filter(|index| !index.aliases.contains(write_alias))
        .filter(|index| index.created_ms < cutoff_ms)
        .map(|index| index.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn cutoff_follows_jaegers_time_reference() {
        let now = at("2024-03-15T13:47:21.5Z");
        assert_eq!(cutoff(now, LookbackUnit::Seconds, 30), at("2024-03-15T13:46:51Z"));
        assert_eq!(cutoff(now, LookbackUnit::Minutes, 5), at("2024-03-15T13:42:00Z"));
        assert_eq!(cutoff(now, LookbackUnit::Hours, 2), at("2024-03-15T11:00:00Z"));
        // Days and weeks count back from the coming midnight: `days 1` keeps today's indices.
        assert_eq!(cutoff(now, LookbackUnit::Days, 1), at("2024-03-15T00:00:00Z"));
        assert_eq!(cutoff(now, LookbackUnit::Days, 3), at("2024-03-13T00:00:00Z"));
        assert_eq!(cutoff(now, LookbackUnit::Weeks, 1), at("2024-03-09T00:00:00Z"));
        // Months and years from the last midnight.
        assert_eq!(cutoff(now, LookbackUnit::Months, 1), at("2024-02-15T00:00:00Z"));
        assert_eq!(cutoff(now, LookbackUnit::Years, 1), at("2023-03-15T00:00:00Z"));
    }

    #[test]
    fn units_are_jaegers_names() {
        assert_eq!("days".parse::<LookbackUnit>(), Ok(LookbackUnit::Days));
        assert_eq!("weeks".parse::<LookbackUnit>(), Ok(LookbackUnit::Weeks));
        assert!("day".parse::<LookbackUnit>().unwrap_err().contains("days"));
    }

    #[test]
    fn lookback_takes_old_read_indices_but_never_the_write_index() {
        let index = |name: &str, created_ms: i64, aliases: &[&str]| IndexInfo {
            name: name.into(),
            created_ms,
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
        };
        let indices = [
            index("p-jaeger-span-000001", 100, &["p-jaeger-span-read"]),
            index("p-jaeger-span-000002", 200, &["p-jaeger-span-read"]),
            // Old, but still written: stays.
            index("p-jaeger-span-000003", 150, &["p-jaeger-span-read", "p-jaeger-span-write"]),
            // Already out of the read alias: nothing to remove.
            index("p-jaeger-span-000000", 50, &[]),
            // Another family's alias.
            index("p-jaeger-service-000001", 100, &["p-jaeger-service-read"]),
        ];
        let leaving = indices_leaving_read_alias(&indices, "p-jaeger-span-read", "p-jaeger-span-write", 180);
        assert_eq!(leaving, ["p-jaeger-span-000001"]);
        let leaving = indices_leaving_read_alias(&indices, "p-jaeger-span-read", "p-jaeger-span-write", i64::MAX);
        assert_eq!(leaving, ["p-jaeger-span-000001", "p-jaeger-span-000002"]);
    }
}
