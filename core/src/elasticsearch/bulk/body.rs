//! The NDJSON body of a `_bulk` request: an action line per action, followed by the document's
//! source line for an index action.

/// One `_bulk` action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkAction<'a> {
    /// Create or overwrite document `id` of `index` with `source` (one line of JSON).
    Index { index: &'a str, id: &'a str, source: &'a [u8] },
    /// Like `Index`, but only over a stored version no higher than `version` (Elasticsearch's
    /// `external_gte` versioning); the document then has `version`. A document stored at a
    /// higher version refuses it with a version conflict (409), which is how a writer that lost
    /// its turn is kept from overwriting its successor.
    IndexAtVersion { index: &'a str, id: &'a str, source: &'a [u8], version: u64 },
    /// Remove document `id` of `index`; a document already absent counts as removed.
    Delete { index: &'a str, id: &'a str },
}

/// Something a role sends through `_bulk`: the action it stands for.
pub trait BulkItem {
    /// The action that makes this item durable in Elasticsearch.
    fn action(&self) -> BulkAction<'_>;
}

impl BulkItem for BulkAction<'_> {
    fn action(&self) -> BulkAction<'_> {
        *self
    }
}

/// A `_bulk` request body being built, and how many actions it holds (the answer has one item
/// per action, in this order).
#[derive(Debug, Default)]
pub struct BulkBody {
    bytes: Vec<u8>,
    actions: usize,
}

impl BulkBody {
    /// A body of these actions, in order.
    pub fn of<'a>(actions: impl IntoIterator<Item = BulkAction<'a>>) -> Self {
        let mut body = Self::default();
        for action in actions {
            body.push(action);
        }
        body
    }

    /// Append an action.
    pub fn push(&mut self, action: BulkAction<'_>) {
        let (verb, index, id, source, version) = match action {
            BulkAction::Index { index, id, source } => ("index", index, id, Some(source), None),
            BulkAction::IndexAtVersion { index, id, source, version } => {
                ("index", index, id, Some(source), Some(version))
            }
            BulkAction::Delete { index, id } => ("delete", index, id, None, None),
        };
        self.bytes.reserve(index.len() + id.len() + source.map_or(0, <[u8]>::len) + 32);
        self.bytes.extend_from_slice(b"{\"");
        self.bytes.extend_from_slice(verb.as_bytes());
        self.bytes.extend_from_slice(b"\":{\"_index\":");
        serde_json::to_writer(&mut self.bytes, index).expect("a string serializes");
        self.bytes.extend_from_slice(b",\"_id\":");
        serde_json::to_writer(&mut self.bytes, id).expect("a string serializes");
        // A missing write alias must fail the item (404 index_not_found_exception, which the
        // writer treats as denied and retries) rather than let Elasticsearch create an index named
        // like the alias, which would take the alias's name for good.
        if skein_schemas::elasticsearch::is_write_alias(index) {
            self.bytes.extend_from_slice(b",\"require_alias\":true");
        }
        if let Some(version) = version {
            self.bytes.extend_from_slice(b",\"version\":");
            self.bytes.extend_from_slice(version.to_string().as_bytes());
            self.bytes.extend_from_slice(b",\"version_type\":\"external_gte\"");
        }
        self.bytes.extend_from_slice(b"}}\n");
        if let Some(source) = source {
            self.bytes.extend_from_slice(source);
            self.bytes.push(b'\n');
        }
        self.actions += 1;
    }

    /// Actions in the body.
    pub fn actions(&self) -> usize {
        self.actions
    }

    /// True when the body holds no action (Elasticsearch refuses an empty `_bulk` request).
    pub fn is_empty(&self) -> bool {
        self.actions == 0
    }

    /// The NDJSON bytes to send with `Content-Type: application/x-ndjson`.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_action_pairs_action_and_source_lines() {
        let body =
            BulkBody::of([BulkAction::Index { index: "p-jaeger-span-2023-11-14", id: "a\"b", source: br#"{"x":1}"# }]);
        assert_eq!(body.actions(), 1);
        let text = String::from_utf8(body.into_bytes()).unwrap();
        assert_eq!(text, "{\"index\":{\"_index\":\"p-jaeger-span-2023-11-14\",\"_id\":\"a\\\"b\"}}\n{\"x\":1}\n");
    }

    #[test]
    fn delete_action_has_no_source_line() {
        let body = BulkBody::of([
            BulkAction::Delete { index: "skein-analytics-state", id: "g:t:0:10" },
            BulkAction::Index { index: "i", id: "1", source: b"{}" },
        ]);
        assert_eq!(body.actions(), 2);
        let text = String::from_utf8(body.into_bytes()).unwrap();
        assert_eq!(
            text,
            "{\"delete\":{\"_index\":\"skein-analytics-state\",\"_id\":\"g:t:0:10\"}}\n{\"index\":{\"_index\":\"i\",\"_id\":\"1\"}}\n{}\n"
        );
    }

    #[test]
    fn versioned_index_action_names_its_version_and_external_gte() {
        let body = BulkBody::of([BulkAction::IndexAtVersion { index: "i", id: "d", source: b"{}", version: 1 << 32 }]);
        let text = String::from_utf8(body.into_bytes()).unwrap();
        assert_eq!(
            text,
            "{\"index\":{\"_index\":\"i\",\"_id\":\"d\",\"version\":4294967296,\"version_type\":\"external_gte\"}}\n{}\n"
        );
    }

    #[test]
    fn writes_to_a_write_alias_require_the_alias() {
        let body = BulkBody::of([
            BulkAction::Index { index: "p-jaeger-span-write", id: "a", source: b"{}" },
            BulkAction::IndexAtVersion { index: "p-jaeger-dependencies-write", id: "d", source: b"{}", version: 2 },
            BulkAction::Index { index: "p-jaeger-span-2023-11-14", id: "b", source: b"{}" },
        ]);
        let text = String::from_utf8(body.into_bytes()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], r#"{"index":{"_index":"p-jaeger-span-write","_id":"a","require_alias":true}}"#);
        assert_eq!(
            lines[2],
            r#"{"index":{"_index":"p-jaeger-dependencies-write","_id":"d","require_alias":true,"version":2,"version_type":"external_gte"}}"#
        );
        assert_eq!(lines[4], r#"{"index":{"_index":"p-jaeger-span-2023-11-14","_id":"b"}}"#);
    }

    #[test]
    fn empty_body_is_reported_empty() {
        let body = BulkBody::default();
        assert!(body.is_empty());
        assert!(body.into_bytes().is_empty());
    }
}
