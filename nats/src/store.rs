//! The cluster's store on JetStream key-value buckets.
//!
//! One bucket per [`Bucket`], named `skygroup_<cluster>_<bucket>`. Each bucket's backing stream
//! (`KV_<name>`, subjects `$KV.<name>.>`, one message per subject, roll-ups allowed, deletes
//! denied, direct gets allowed) is created here by hand rather than with async-nats'
//! `create_key_value`, which fails against nats-server 2.9 (the Debian package); the bucket is
//! then opened with `get_key_value`. The liveness bucket's stream has `max_age` = the liveness
//! TTL, which is how a key nobody refreshes disappears.
//!
//! Compare-and-set is JetStream's: a write carries the expected last sequence of its subject (0
//! for "absent"), so [`Store::create`] wins for exactly one racer and [`Store::update`] /
//! [`Store::delete`] fail with [`StoreError::Conflict`] once the key moved on. A revision is the
//! stream sequence of the write. Every operation runs on the transport's tokio runtime and fails
//! as [`StoreError::Unreachable`] after [`NatsOptions::store_timeout`](crate::NatsOptions).

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::kv::{self, CreateErrorKind, Operation, UpdateErrorKind};
use async_nats::jetstream::stream::{self, DiscardPolicy, StorageType};
use bytes::Bytes;
use futures::TryStreamExt;
use skygroup::cluster::{Bucket, Entry, Store, StoreError, StoreFuture};
use tokio::runtime::Handle;

/// The three buckets of one cluster, opened.
pub(crate) struct NatsStore {
    bindings: kv::Store,
    liveness: kv::Store,
    directory: kv::Store,
    runtime: Handle,
    timeout: Duration,
    liveness_ttl: Duration,
}

/// A bucket's NATS name.
pub(crate) fn bucket_name(cluster: &str, bucket: Bucket) -> String {
    format!("skygroup_{cluster}_{}", bucket.name())
}

/// The backing stream of a key-value bucket, as async-nats' `create_key_value` would make it
/// for one value per key; `ttl` is zero for "never expires".
fn kv_stream_config(name: &str, ttl: Duration) -> stream::Config {
    stream::Config {
        name: format!("KV_{name}"),
        subjects: vec![format!("$KV.{name}.>")],
        max_messages_per_subject: 1,
        max_age: ttl,
        // The server refuses a duplicate window longer than max_age (default 2 min).
        duplicate_window: if ttl.is_zero() { Duration::ZERO } else { ttl.min(Duration::from_secs(120)) },
        storage: StorageType::File,
        num_replicas: 1,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: DiscardPolicy::New,
        ..Default::default()
    }
}

/// Creates (if absent) and opens one bucket.
async fn open_bucket(js: &async_nats::jetstream::Context, name: &str, ttl: Duration) -> Result<kv::Store, String> {
    js.get_or_create_stream(kv_stream_config(name, ttl)).await.map_err(|err| format!("creating its stream: {err}"))?;
    js.get_key_value(name).await.map_err(|err| format!("opening it: {err}"))
}

impl NatsStore {
    /// Creates (if absent) and opens the buckets of `cluster`.
    pub(crate) async fn open(
        js: async_nats::jetstream::Context,
        cluster: &str,
        liveness_ttl: Duration,
        timeout: Duration,
    ) -> Result<NatsStore, crate::NatsError> {
        let open = |bucket: Bucket, ttl: Duration| {
            let js = js.clone();
            let name = bucket_name(cluster, bucket);
            async move {
                open_bucket(&js, &name, ttl).await.map_err(|reason| crate::NatsError::Bucket {
                    cluster: cluster.to_owned(),
                    bucket: name.clone(),
                    reason,
                })
            }
        };
        let bindings = open(Bucket::Bindings, Duration::ZERO).await?;
        let liveness = open(Bucket::Liveness, liveness_ttl).await?;
        let directory = open(Bucket::Directory, Duration::ZERO).await?;
        // A bucket made by an earlier node keeps its TTL: that one is in force.
        let liveness_ttl = liveness.stream.cached_info().config.max_age;
        Ok(NatsStore { bindings, liveness, directory, runtime: Handle::current(), timeout, liveness_ttl })
    }

    fn bucket(&self, bucket: Bucket) -> kv::Store {
        match bucket {
            Bucket::Bindings => self.bindings.clone(),
            Bucket::Liveness => self.liveness.clone(),
            Bucket::Directory => self.directory.clone(),
        }
    }

    /// Runs `op` on the transport's runtime, bounded by the store timeout.
    fn run<T, F>(&self, bucket: Bucket, key: &str, what: &'static str, op: F) -> StoreFuture<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        if let Err(err) = check_key(bucket, key) {
            return Box::pin(async move { Err(err) });
        }
        let timeout = self.timeout;
        let key = key.to_owned();
        let task = self.runtime.spawn(async move {
            match tokio::time::timeout(timeout, op).await {
                Ok(answer) => answer,
                Err(_) => Err(StoreError::Unreachable(format!(
                    "{what} of key `{key}` in bucket `{}`: no answer within {timeout:?}",
                    bucket.name()
                ))),
            }
        });
        Box::pin(async move {
            task.await.unwrap_or_else(|err| Err(StoreError::Unreachable(format!("the NATS transport stopped: {err}"))))
        })
    }
}

/// Keys are NATS key-value keys: a non-empty dot-separated list of tokens of `[A-Za-z0-9-_=]`.
/// `keys()` passes an empty key, which is not checked.
fn check_key(bucket: Bucket, key: &str) -> Result<(), StoreError> {
    let valid = key.is_empty()
        || (!key.starts_with('.')
            && !key.ends_with('.')
            && !key.contains("..")
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'=' | b'.')));
    if valid {
        Ok(())
    } else {
        Err(StoreError::Unreachable(format!(
            "key `{key}` is not a valid key for bucket `{}` (letters, digits, `-_=`, dots between)",
            bucket.name()
        )))
    }
}

fn unreachable(what: &str, bucket: Bucket, key: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Unreachable(format!("{what} of key `{key}` in bucket `{}`: {err}", bucket.name()))
}

impl Store for NatsStore {
    fn get(&self, bucket: Bucket, key: &str) -> StoreFuture<Option<Entry>> {
        let kv = self.bucket(bucket);
        let name = key.to_owned();
        self.run(bucket, key, "get", async move {
            match kv.entry(name.as_str()).await {
                Ok(Some(entry)) if entry.operation == Operation::Put => {
                    Ok(Some(Entry { value: entry.value, revision: entry.revision }))
                }
                Ok(_) => Ok(None),
                Err(err) => Err(unreachable("get", bucket, &name, err)),
            }
        })
    }

    fn create(&self, bucket: Bucket, key: &str, value: Bytes) -> StoreFuture<u64> {
        let kv = self.bucket(bucket);
        let name = key.to_owned();
        self.run(bucket, key, "create", async move {
            kv.create(name.as_str(), value).await.map_err(|err| match err.kind() {
                CreateErrorKind::AlreadyExists => StoreError::Exists { bucket: bucket.name(), key: name.clone() },
                _ => unreachable("create", bucket, &name, err),
            })
        })
    }

    fn update(&self, bucket: Bucket, key: &str, value: Bytes, revision: u64) -> StoreFuture<u64> {
        let kv = self.bucket(bucket);
        let name = key.to_owned();
        self.run(bucket, key, "update", async move {
            kv.update(name.as_str(), value, revision).await.map_err(|err| match err.kind() {
                UpdateErrorKind::WrongLastRevision => {
                    StoreError::Conflict { bucket: bucket.name(), key: name.clone(), expected: revision }
                }
                _ => unreachable("update", bucket, &name, err),
            })
        })
    }

    fn put(&self, bucket: Bucket, key: &str, value: Bytes) -> StoreFuture<u64> {
        let kv = self.bucket(bucket);
        let name = key.to_owned();
        self.run(bucket, key, "put", async move {
            kv.put(name.as_str(), value).await.map_err(|err| unreachable("put", bucket, &name, err))
        })
    }

    fn delete(&self, bucket: Bucket, key: &str, revision: Option<u64>) -> StoreFuture<()> {
        let kv = self.bucket(bucket);
        let name = key.to_owned();
        self.run(bucket, key, "delete", async move {
            kv.delete_expect_revision(name.as_str(), revision).await.map_err(|err| match (err.kind(), revision) {
                (UpdateErrorKind::WrongLastRevision, Some(expected)) => {
                    StoreError::Conflict { bucket: bucket.name(), key: name.clone(), expected }
                }
                _ => unreachable("delete", bucket, &name, err),
            })
        })
    }

    fn keys(&self, bucket: Bucket) -> StoreFuture<Vec<String>> {
        let kv = self.bucket(bucket);
        self.run(bucket, "", "keys", async move {
            let keys = kv.keys().await.map_err(|err| unreachable("keys", bucket, "*", err))?;
            let mut keys: Vec<String> =
                keys.try_collect().await.map_err(|err| unreachable("keys", bucket, "*", err))?;
            keys.sort();
            Ok(keys)
        })
    }

    fn liveness_ttl(&self) -> Duration {
        self.liveness_ttl
    }
}
