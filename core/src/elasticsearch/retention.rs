//! Index retention: which UTC days may have indices, which indices a clean deletes, and the clean
//! itself (list, then delete), shared by `skein indices clean` and the ingester's daily run.
//!
//! The day rule is Jaeger's es-index-cleaner's: with N days, the cut-off is tomorrow's UTC
//! midnight minus N days, so the indices of today and the N − 1 days before it stay and every
//! older day goes. Jaeger compares an index's creation time with the cut-off; skein reads the day
//! from a daily index's name (the two agree for an index created on its own day, and a name
//! cannot be changed by a late write), and uses the creation time only for Jaeger's rollover
//! indices (`<prefix>jaeger-span-000001`), whose names carry no day.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, Utc};
use elasticsearch::indices::{IndicesDeleteParts, IndicesGetAliasParts, IndicesGetSettingsParts};
use elasticsearch::params::ExpandWildcards;
use elasticsearch::Elasticsearch;
use serde_json::Value;
use skein_schemas::elasticsearch::IndexNames;

/// Errors of a clean; each says what to check.
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error("cannot reach Elasticsearch to {action}: {reason} (is it running, and is elasticsearch.url right?)")]
    Unreachable { action: &'static str, reason: String },
    #[error(
        "Elasticsearch refused to {action}: HTTP {status}: {body} (a clean needs the view_index_metadata and \
         delete_index privileges on {patterns})"
    )]
    Refused { action: &'static str, status: u16, body: String, patterns: String },
    #[error("unexpected answer from Elasticsearch to {action}: {reason}")]
    Answer { action: &'static str, reason: String },
    #[error("--older-than-days must be at least 1: 0 would delete today's indices, which are being written")]
    ZeroDays,
}

/// The UTC days indices may exist for, given `elasticsearch.retention_days`: from the oldest day
/// a clean keeps (none with 0: kept forever) to tomorrow (a span dated later comes from a wrong
/// clock, and its index would be a shard for nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetainedDays {
    first: Option<NaiveDate>,
    last: NaiveDate,
    retention_days: u32,
}

/// Why a day is outside [`RetainedDays`]; the text is the dead letter's reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutsideRetention {
    #[error(
        "span starts on {day}, before the retained days {first} to {last} (UTC, elasticsearch.retention_days = \
         {retention_days}): its index would be deleted by the next clean"
    )]
    TooOld { day: NaiveDate, first: NaiveDate, last: NaiveDate, retention_days: u32 },
    #[error(
        "span starts on {day}, after tomorrow ({last}, UTC): no index is created for a day that far ahead (check \
         the sending client's clock)"
    )]
    TooNew { day: NaiveDate, last: NaiveDate },
}

impl RetainedDays {
    /// The days retained at `now` with `retention_days` (0: no lower bound).
    pub fn at(now: DateTime<Utc>, retention_days: u32) -> Self {
        let today = now.date_naive();
        let first = match retention_days {
            0 => None,
            n => Some(cutoff_day(today, n).unwrap_or(NaiveDate::MIN)),
        };
        Self { first, last: today.checked_add_days(Days::new(1)).unwrap_or(NaiveDate::MAX), retention_days }
    }

    /// Whether an index for `day` may be created.
    pub fn check(&self, day: NaiveDate) -> Result<(), OutsideRetention> {
        if day > self.last {
            return Err(OutsideRetention::TooNew { day, last: self.last });
        }
        match self.first {
            Some(first) if day < first => {
                Err(OutsideRetention::TooOld { day, first, last: self.last, retention_days: self.retention_days })
            }
            _ => Ok(()),
        }
    }

    /// [`RetainedDays::check`] for a time in µs since the epoch.
    pub fn check_micros(&self, micros: u64) -> Result<(), OutsideRetention> {
        self.check(skein_schemas::elasticsearch::utc_day(micros))
    }

    /// [`RetainedDays::check`] for a time in ms since the epoch.
    pub fn check_millis(&self, millis: i64) -> Result<(), OutsideRetention> {
        self.check_micros(millis.max(0) as u64 * 1000)
    }
}

/// The oldest day a clean with `days` keeps: tomorrow minus `days` (Jaeger's rule). None when
/// that is before the calendar's start.
pub fn cutoff_day(today: NaiveDate, days: u32) -> Option<NaiveDate> {
    today.checked_add_days(Days::new(1))?.checked_sub_days(Days::new(u64::from(days)))
}

/// An index a clean may look at: its name, creation time and aliases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexInfo {
    pub name: String,
    /// `index.creation_date`, ms since the epoch.
    pub created_ms: Option<i64>,
    pub aliases: Vec<String>,
}

/// Why an index is deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// A daily index of a day before the cut-off.
    Day(NaiveDate),
    /// A rollover index created before the cut-off, not behind a write alias.
    Created(DateTime<Utc>),
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Day(day) => write!(f, "day {day}"),
            Reason::Created(at) => write!(f, "rollover index created {}", at.format("%Y-%m-%dT%H:%M:%SZ")),
        }
    }
}

/// An index a clean deletes, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doomed {
    pub index: String,
    pub reason: Reason,
}

/// What a clean decides and does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanPlan {
    /// The oldest UTC day kept.
    pub keep_from: NaiveDate,
    /// The indices to delete, by name.
    pub doomed: Vec<Doomed>,
}

/// Which indices of `names`' prefix a clean keeping `days` days deletes at `now`: daily indices of
/// the four families whose day is before the cut-off; with `rollover`, also Jaeger's rollover
/// indices created before it, except one behind a write alias. Nothing else: not another prefix's
/// indices, not the checkpoint index, not a name that only looks like ours.
pub fn plan(names: &IndexNames, indices: &[IndexInfo], days: u32, rollover: bool, now: DateTime<Utc>) -> CleanPlan {
    let keep_from = cutoff_day(now.date_naive(), days).unwrap_or(NaiveDate::MIN);
    let cutoff_ms = keep_from.and_hms_opt(0, 0, 0).map_or(i64::MIN, |t| t.and_utc().timestamp_millis());
    let write_aliases = names.write_aliases();
    let mut doomed: Vec<Doomed> = indices
        .iter()
        .filter_map(|index| {
            if let Some((_, day)) = names.daily_index_day(&index.name) {
                return (day < keep_from).then(|| Doomed { index: index.name.clone(), reason: Reason::Day(day) });
            }
            if !rollover || names.rollover_index_family(&index.name).is_none() {
                return None;
            }
            if index.aliases.iter().any(|alias| write_aliases.contains(alias)) {
                return None;
            }
            let created = index.created_ms.filter(|ms| *ms < cutoff_ms)?;
            let at = DateTime::from_timestamp_millis(created)?;
            Some(Doomed { index: index.name.clone(), reason: Reason::Created(at) })
        })
        .collect();
    doomed.sort_by(|a, b| a.index.cmp(&b.index));
    CleanPlan { keep_from, doomed }
}

/// The indices a clean of `names`' prefix looks at, open or closed, with their creation time and
/// aliases.
pub async fn list_indices(client: &Elasticsearch, names: &IndexNames) -> Result<Vec<IndexInfo>, RetentionError> {
    let patterns = names.clean_patterns();
    let patterns: Vec<&str> = patterns.iter().map(String::as_str).collect();
    let wildcards = [ExpandWildcards::Open, ExpandWildcards::Closed];
    let action = "list indices";
    let settings = client
        .indices()
        .get_settings(IndicesGetSettingsParts::IndexName(&patterns, &["index.creation_date"]))
        .expand_wildcards(&wildcards)
        .allow_no_indices(true)
        .ignore_unavailable(true)
        .send()
        .await;
    let settings = answer(action, &patterns, settings).await?;
    let aliases = client
        .indices()
        .get_alias(IndicesGetAliasParts::Index(&patterns))
        .expand_wildcards(&wildcards)
        .allow_no_indices(true)
        .ignore_unavailable(true)
        .send()
        .await;
    let aliases = answer("list index aliases", &patterns, aliases).await?;
    indices_from_answers(&settings, &aliases).map_err(|reason| RetentionError::Answer { action, reason })
}

/// Indices from `GET <patterns>/_settings/index.creation_date` and `GET <patterns>/_alias`.
fn indices_from_answers(settings: &Value, aliases: &Value) -> Result<Vec<IndexInfo>, String> {
    let settings = settings.as_object().ok_or_else(|| format!("settings are not an object: {settings}"))?;
    let mut out: BTreeMap<&str, IndexInfo> = BTreeMap::new();
    for (name, body) in settings {
        // A string of ms since the epoch.
        let created_ms = body["settings"]["index"]["creation_date"].as_str().and_then(|ms| ms.parse().ok());
        out.insert(name, IndexInfo { name: name.clone(), created_ms, aliases: Vec::new() });
    }
    if let Some(aliases) = aliases.as_object() {
        for (name, body) in aliases {
            if let (Some(info), Some(names)) = (out.get_mut(name.as_str()), body["aliases"].as_object()) {
                info.aliases = names.keys().cloned().collect();
            }
        }
    }
    Ok(out.into_values().collect())
}

async fn answer(
    action: &'static str,
    patterns: &[&str],
    sent: Result<elasticsearch::http::response::Response, elasticsearch::Error>,
) -> Result<Value, RetentionError> {
    let response = sent.map_err(|error| RetentionError::Unreachable { action, reason: error.to_string() })?;
    let status = response.status_code().as_u16();
    if status >= 300 {
        let body = response.text().await.unwrap_or_default();
        return Err(RetentionError::Refused { action, status, body, patterns: patterns.join(",") });
    }
    response.json().await.map_err(|error| RetentionError::Answer { action, reason: error.to_string() })
}

/// Index names per `DELETE` request, so the URL stays short.
const DELETE_CHUNK: usize = 20;

/// Delete indices by name (never a wildcard). One already gone (another instance's clean) is no
/// error.
pub async fn delete_indices(client: &Elasticsearch, indices: &[String]) -> Result<(), RetentionError> {
    for chunk in indices.chunks(DELETE_CHUNK) {
        let chunk: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let sent = client.indices().delete(IndicesDeleteParts::Index(&chunk)).ignore_unavailable(true).send().await;
        answer("delete indices", &chunk, sent).await?;
    }
    Ok(())
}

/// List, decide and (unless `dry_run`) delete: the clean `skein indices clean` and the daily run
/// perform. Returns what was (or would be) deleted.
pub async fn clean(
    client: &Elasticsearch,
    names: &IndexNames,
    days: u32,
    rollover: bool,
    dry_run: bool,
    now: DateTime<Utc>,
) -> Result<CleanPlan, RetentionError> {
    if days == 0 {
        return Err(RetentionError::ZeroDays);
    }
    let indices = list_indices(client, names).await?;
    let plan = plan(names, &indices, days, rollover, now);
    if !dry_run {
        let doomed: Vec<String> = plan.doomed.iter().map(|d| d.index.clone()).collect();
        delete_indices(client, &doomed).await?;
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn daily(name: &str) -> IndexInfo {
        IndexInfo { name: name.into(), created_ms: None, aliases: Vec::new() }
    }

    fn doomed(plan: &CleanPlan) -> Vec<&str> {
        plan.doomed.iter().map(|d| d.index.as_str()).collect()
    }

    #[test]
    fn keeping_n_days_keeps_today_and_the_n_minus_1_days_before_as_jaeger_does() {
        // Jaeger: cut-off = tomorrow's midnight − N days; indices before it go.
        let now = at("2024-03-10T23:59:59Z");
        assert_eq!(cutoff_day(now.date_naive(), 1), Some(date("2024-03-10")));
        assert_eq!(cutoff_day(now.date_naive(), 3), Some(date("2024-03-08")));
        let indices: Vec<IndexInfo> = ["2024-03-07", "2024-03-08", "2024-03-09", "2024-03-10", "2024-03-11"]
            .iter()
            .map(|day| daily(&format!("jaeger-span-{day}")))
            .collect();
        let names = IndexNames::new("");
        let plan = plan(&names, &indices, 3, false, now);
        assert_eq!(plan.keep_from, date("2024-03-08"));
        assert_eq!(doomed(&plan), vec!["jaeger-span-2024-03-07"]);
        assert_eq!(plan.doomed[0].reason, Reason::Day(date("2024-03-07")));
        let one_day = super::plan(&names, &indices, 1, false, at("2024-03-10T00:00:00Z"));
        assert_eq!(
            doomed(&one_day),
            vec!["jaeger-span-2024-03-07", "jaeger-span-2024-03-08", "jaeger-span-2024-03-09"]
        );
    }

    #[test]
    fn a_clean_deletes_only_its_prefixes_four_daily_families() {
        let now = at("2024-03-10T12:00:00Z");
        let indices: Vec<IndexInfo> = [
            "jaeger-span-2024-01-01",
            "jaeger-service-2024-01-01",
            "jaeger-dependencies-2024-01-01",
            "skein-metrics-2024-01-01",
            "foo-jaeger-span-2024-01-01",
            "foo-skein-metrics-2024-01-01",
            "skein-analytics-state",
            "foo-skein-analytics-state",
            "jaeger-sampling-2024-01-01",
            "jaeger-span-000001",
        ]
        .iter()
        .map(|name| daily(name))
        .collect();
        let plan = plan(&IndexNames::new(""), &indices, 7, false, now);
        assert_eq!(
            doomed(&plan),
            vec![
                "jaeger-dependencies-2024-01-01",
                "jaeger-service-2024-01-01",
                "jaeger-span-2024-01-01",
                "skein-metrics-2024-01-01"
            ]
        );
        let plan = super::plan(&IndexNames::new("foo"), &indices, 7, false, now);
        assert_eq!(doomed(&plan), vec!["foo-jaeger-span-2024-01-01", "foo-skein-metrics-2024-01-01"]);
    }

    #[test]
    fn rollover_indices_go_by_creation_time_except_behind_a_write_alias() {
        let now = at("2024-03-10T12:00:00Z");
        let old = at("2024-02-01T00:00:00Z").timestamp_millis();
        let recent = at("2024-03-09T00:00:00Z").timestamp_millis();
        let index = |name: &str, created_ms: i64, aliases: &[&str]| IndexInfo {
            name: name.into(),
            created_ms: Some(created_ms),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
        };
        let indices = vec![
            index("p-jaeger-span-000001", old, &["p-jaeger-span-read"]),
            index("p-jaeger-span-000002", old, &["p-jaeger-span-read", "p-jaeger-span-write"]),
            index("p-jaeger-service-000001", recent, &["p-jaeger-service-read"]),
            index("q-jaeger-span-000001", old, &[]),
        ];
        let names = IndexNames::new("p");
        let plan = plan(&names, &indices, 7, true, now);
        assert_eq!(doomed(&plan), vec!["p-jaeger-span-000001"]);
        assert_eq!(plan.doomed[0].reason, Reason::Created(at("2024-02-01T00:00:00Z")));
        assert!(super::plan(&names, &indices, 7, false, now).doomed.is_empty(), "only in rollover mode");
    }

    #[test]
    fn retained_days_run_from_the_cutoff_to_tomorrow() {
        let now = at("2024-03-10T08:00:00Z");
        let days = RetainedDays::at(now, 3);
        assert_eq!(days.check(date("2024-03-08")), Ok(()));
        assert_eq!(days.check(date("2024-03-11")), Ok(()));
        let old = days.check(date("2024-03-07")).unwrap_err();
        assert!(matches!(old, OutsideRetention::TooOld { .. }));
        assert!(old.to_string().contains("2024-03-08 to 2024-03-11"), "{old}");
        assert!(old.to_string().contains("retention_days = 3"), "{old}");
        let new = days.check(date("2024-03-12")).unwrap_err();
        assert!(new.to_string().contains("after tomorrow (2024-03-11"), "{new}");
        let forever = RetainedDays::at(now, 0);
        assert_eq!(forever.check(date("1970-01-01")), Ok(()));
        assert!(forever.check(date("2024-03-12")).is_err(), "nothing after tomorrow, whatever the retention");
        // A day's last µs and the next day's first.
        let micros = |t: &str| at(t).timestamp_micros() as u64;
        assert_eq!(days.check_micros(micros("2024-03-08T00:00:00Z")), Ok(()));
        assert!(days.check_micros(micros("2024-03-07T23:59:59.999999Z")).is_err());
        assert!(days.check_millis(at("2024-03-12T00:00:00Z").timestamp_millis()).is_err());
        assert_eq!(RetainedDays::at(now, u32::MAX).check(date("1970-01-01")), Ok(()));
    }

    #[test]
    fn indices_are_read_from_the_settings_and_alias_answers() {
        let settings = json!({
            "p-jaeger-span-000001": {"settings": {"index": {"creation_date": "1706745600000"}}},
            "p-jaeger-span-2024-01-01": {"settings": {"index": {"creation_date": "1704067200000"}}}
        });
        let aliases = json!({
            "p-jaeger-span-000001": {"aliases": {"p-jaeger-span-write": {}, "p-jaeger-span-read": {}}},
            "p-jaeger-span-2024-01-01": {"aliases": {}}
        });
        let indices = indices_from_answers(&settings, &aliases).unwrap();
        assert_eq!(indices.len(), 2);
        assert_eq!(indices[0].name, "p-jaeger-span-000001");
        assert_eq!(indices[0].created_ms, Some(1_706_745_600_000));
        assert_eq!(indices[0].aliases, vec!["p-jaeger-span-read", "p-jaeger-span-write"]);
        assert!(indices[1].aliases.is_empty());
        assert!(indices_from_answers(&json!([]), &json!({})).is_err());
    }
}
