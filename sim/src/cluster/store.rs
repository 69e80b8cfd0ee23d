//! The simulated cluster store's data: three buckets of keys with revisions, and the liveness
//! keys' expiry by virtual time.
//!
//! Pure data, no timing: the hub (`super::hub`) decides when an operation reaches the store
//! (after a seeded delay) and applies it here at that instant, so the store is linearizable per
//! key by construction (one operation at a time, in the order the simulator fires them) and
//! "exactly one of several racing creators wins" is whichever arrives first. A liveness key
//! expires `ttl` after its last write: it is purged, with a trace line, by the first operation
//! that looks at its bucket at or after that instant (virtual time moves only in steps, so a
//! lazy purge sees exactly what a timer would have).

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use skygroup::cluster::{Bucket, Entry, StoreError};

/// One operation on the store, as issued by a node.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    Get { key: String },
    Create { key: String, value: Bytes },
    Update { key: String, value: Bytes, revision: u64 },
    Put { key: String, value: Bytes },
    Delete { key: String, revision: Option<u64> },
    Keys,
}

impl Op {
    /// The operation's name and key, for trace lines.
    pub(crate) fn describe(&self) -> String {
        match self {
            Op::Get { key } => format!("get {key}"),
            Op::Create { key, .. } => format!("create {key}"),
            Op::Update { key, revision, .. } => format!("update {key} @{revision}"),
            Op::Put { key, .. } => format!("put {key}"),
            Op::Delete { key, revision: Some(r) } => format!("delete {key} @{r}"),
            Op::Delete { key, revision: None } => format!("delete {key}"),
            Op::Keys => "keys".to_owned(),
        }
    }

    /// Whether it writes (the store counts a write's revision).
    pub(crate) fn writes(&self) -> bool {
        !matches!(self, Op::Get { .. } | Op::Keys)
    }
}

/// What the store answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    Entry(Option<Entry>),
    Revision(u64),
    Done,
    Keys(Vec<String>),
}

impl Answer {
    /// A short text for the trace.
    pub(crate) fn describe(&self) -> String {
        match self {
            Answer::Entry(Some(e)) => format!("found @{}", e.revision),
            Answer::Entry(None) => "absent".to_owned(),
            Answer::Revision(r) => format!("ok @{r}"),
            Answer::Done => "ok".to_owned(),
            Answer::Keys(keys) => format!("{} keys", keys.len()),
        }
    }
}

struct Stored {
    entry: Entry,
    /// When it was written (liveness keys expire `ttl` after).
    written: Duration,
}

/// The three buckets and their revision counters.
pub(crate) struct StoreData {
    buckets: BTreeMap<Bucket, BTreeMap<String, Stored>>,
    revisions: BTreeMap<Bucket, u64>,
    pub(crate) ttl: Duration,
    /// A broken store, for tests of the checks: `create` overwrites a key that has a value.
    pub(crate) create_overwrites: bool,
}

impl StoreData {
    pub(crate) fn new(ttl: Duration) -> StoreData {
        StoreData { buckets: BTreeMap::new(), revisions: BTreeMap::new(), ttl, create_overwrites: false }
    }

    /// Applies `op` to `bucket` at virtual time `now`. Returns the answer and the liveness keys
    /// that expired before it (for the trace).
    pub(crate) fn apply(&mut self, bucket: Bucket, op: Op, now: Duration) -> (Result<Answer, StoreError>, Vec<String>) {
        let expired = self.expire(bucket, now);
        (self.apply_live(bucket, op, now), expired)
    }

    /// Removes the liveness keys whose time is up at `now`; returns them.
    fn expire(&mut self, bucket: Bucket, now: Duration) -> Vec<String> {
        if bucket != Bucket::Liveness {
            return Vec::new();
        }
        let ttl = self.ttl;
        let keys = self.buckets.entry(bucket).or_default();
        let expired: Vec<String> =
            keys.iter().filter(|(_, s)| s.written + ttl <= now).map(|(k, _)| k.clone()).collect();
        for key in &expired {
            keys.remove(key);
        }
        expired
    }

    fn apply_live(&mut self, bucket: Bucket, op: Op, now: Duration) -> Result<Answer, StoreError> {
        let name = bucket.name();
        let current =
            |data: &StoreData, key: &str| data.buckets.get(&bucket).and_then(|b| b.get(key)).map(|s| s.entry.revision);
        match op {
            Op::Get { key } => {
                Ok(Answer::Entry(self.buckets.get(&bucket).and_then(|b| b.get(&key)).map(|s| s.entry.clone())))
            }
            Op::Keys => {
                Ok(Answer::Keys(self.buckets.get(&bucket).map(|b| b.keys().cloned().collect()).unwrap_or_default()))
            }
            Op::Create { key, value } => match current(self, &key) {
                Some(_) if !self.create_overwrites => Err(StoreError::Exists { bucket: name, key }),
                _ => Ok(Answer::Revision(self.write(bucket, key, value, now))),
            },
            Op::Update { key, value, revision } => match current(self, &key) {
                Some(r) if r == revision => Ok(Answer::Revision(self.write(bucket, key, value, now))),
                _ => Err(StoreError::Conflict { bucket: name, key, expected: revision }),
            },
            Op::Put { key, value } => Ok(Answer::Revision(self.write(bucket, key, value, now))),
            Op::Delete { key, revision } => match (current(self, &key), revision) {
                (Some(r), Some(expected)) if r != expected => Err(StoreError::Conflict { bucket: name, key, expected }),
                // NATS key-value refuses a revision-checked delete of an absent key too.
                (None, Some(expected)) => Err(StoreError::Conflict { bucket: name, key, expected }),
                (None, None) => Ok(Answer::Done),
                (Some(_), _) => {
                    self.next_revision(bucket);
                    self.buckets.entry(bucket).or_default().remove(&key);
                    Ok(Answer::Done)
                }
            },
        }
    }

    fn next_revision(&mut self, bucket: Bucket) -> u64 {
        let revision = self.revisions.entry(bucket).or_default();
        *revision += 1;
        *revision
    }

    fn write(&mut self, bucket: Bucket, key: String, value: Bytes, now: Duration) -> u64 {
        let revision = self.next_revision(bucket);
        self.buckets.entry(bucket).or_default().insert(key, Stored { entry: Entry { value, revision }, written: now });
        revision
    }

    /// The value of `key` as the store holds it now (for tests and the oracle; no expiry).
    pub(crate) fn peek(&self, bucket: Bucket, key: &str, now: Duration) -> Option<Entry> {
        let stored = self.buckets.get(&bucket)?.get(key)?;
        let expired = bucket == Bucket::Liveness && stored.written + self.ttl <= now;
        (!expired).then(|| stored.entry.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(1);

    fn create(data: &mut StoreData, bucket: Bucket, key: &str, at: Duration) -> Result<Answer, StoreError> {
        data.apply(bucket, Op::Create { key: key.into(), value: Bytes::from_static(b"v") }, at).0
    }

    #[test]
    fn create_wins_once_and_revisions_grow_per_bucket() {
        let mut data = StoreData::new(TTL);
        assert_eq!(create(&mut data, Bucket::Bindings, "login", Duration::ZERO), Ok(Answer::Revision(1)));
        assert!(matches!(create(&mut data, Bucket::Bindings, "login", Duration::ZERO), Err(StoreError::Exists { .. })));
        assert_eq!(create(&mut data, Bucket::Bindings, "chat", Duration::ZERO), Ok(Answer::Revision(2)));
        assert_eq!(create(&mut data, Bucket::Directory, "node.1", Duration::ZERO), Ok(Answer::Revision(1)));
    }

    #[test]
    fn update_and_delete_check_the_revision() {
        let mut data = StoreData::new(TTL);
        let now = Duration::ZERO;
        create(&mut data, Bucket::Bindings, "k", now).unwrap();
        let update = |revision| Op::Update { key: "k".into(), value: Bytes::from_static(b"w"), revision };
        assert!(matches!(
            data.apply(Bucket::Bindings, update(7), now).0,
            Err(StoreError::Conflict { expected: 7, .. })
        ));
        assert_eq!(data.apply(Bucket::Bindings, update(1), now).0, Ok(Answer::Revision(2)));
        let delete = |revision| Op::Delete { key: "k".into(), revision };
        assert!(matches!(data.apply(Bucket::Bindings, delete(Some(1)), now).0, Err(StoreError::Conflict { .. })));
        assert_eq!(data.apply(Bucket::Bindings, delete(Some(2)), now).0, Ok(Answer::Done));
        assert_eq!(data.apply(Bucket::Bindings, delete(None), now).0, Ok(Answer::Done));
        assert_eq!(data.apply(Bucket::Bindings, Op::Get { key: "k".into() }, now).0, Ok(Answer::Entry(None)));
    }

    #[test]
    fn liveness_keys_expire_ttl_after_their_last_write_and_others_never() {
        let mut data = StoreData::new(TTL);
        create(&mut data, Bucket::Liveness, "node.1", Duration::ZERO).unwrap();
        create(&mut data, Bucket::Bindings, "login", Duration::ZERO).unwrap();
        let put = Op::Put { key: "node.1".into(), value: Bytes::new() };
        data.apply(Bucket::Liveness, put, Duration::from_millis(900)).0.unwrap();
        let get = || Op::Get { key: "node.1".into() };
        assert!(matches!(
            data.apply(Bucket::Liveness, get(), Duration::from_millis(1800)).0,
            Ok(Answer::Entry(Some(_)))
        ));
        let (answer, expired) = data.apply(Bucket::Liveness, get(), Duration::from_millis(1900));
        assert_eq!((answer, expired), (Ok(Answer::Entry(None)), vec!["node.1".to_owned()]));
        assert!(data.peek(Bucket::Bindings, "login", Duration::from_secs(3600)).is_some());
    }
}
