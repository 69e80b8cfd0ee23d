//! The store promises of `skygroup::cluster::Store` on a real nats-server: create exactly once,
//! compare-and-set on update and delete, liveness keys that expire, sorted keys.

mod common;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use bytes::Bytes;
use common::{server, transport, transport_with, wait};
use skygroup::cluster::{Bucket, StoreError, Transport};
use skygroup_nats::{NatsError, NatsOptions, NatsTransport};

// checks G2 across nodes (the store half): of 8 racing creators of one absent key, on 8
// connections as 8 nodes would be, exactly one wins and the key holds its value.
#[test]
fn create_wins_exactly_once_among_eight_racers() {
    let server = server();
    let transports: Vec<Arc<NatsTransport>> = (0..8).map(|_| Arc::new(transport(&server, "race"))).collect();
    let start = Arc::new(Barrier::new(8));
    let racers: Vec<_> = transports
        .iter()
        .enumerate()
        .map(|(i, transport)| {
            let (transport, start) = (transport.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                let value = Bytes::from(format!("racer-{i}"));
                wait(transport.store().create(Bucket::Bindings, "login-center", value))
            })
        })
        .collect();
    let answers: Vec<_> = racers.into_iter().map(|r| r.join().unwrap()).collect();
    let winners: Vec<usize> = (0..8).filter(|&i| answers[i].is_ok()).collect();
    assert_eq!(winners.len(), 1, "exactly one creator wins: {answers:?}");
    for answer in answers.iter().filter(|a| a.is_err()) {
        assert!(
            matches!(answer, Err(StoreError::Exists { bucket: "bindings", key }) if key == "login-center"),
            "the losers are told the key exists: {answer:?}"
        );
    }
    let entry = wait(transports[3].store().get(Bucket::Bindings, "login-center"))
        .unwrap()
        .expect("the winner's value is there");
    assert_eq!(entry.value, Bytes::from(format!("racer-{}", winners[0])));
    assert_eq!(Ok(entry.revision), answers[winners[0]]);
}

// checks the store's compare-and-set (G9's release of a dead owner's binding rests on it).
#[test]
fn update_and_delete_with_a_stale_revision_conflict() {
    let server = server();
    let transport = transport(&server, "cas");
    let store = transport.store();
    let first = wait(store.create(Bucket::Bindings, "svc", Bytes::from("starting"))).unwrap();
    let second = wait(store.update(Bucket::Bindings, "svc", Bytes::from("bound"), first)).unwrap();
    assert!(second > first, "revisions increase: {first} then {second}");
    assert_eq!(
        wait(store.update(Bucket::Bindings, "svc", Bytes::from("late"), first)),
        Err(StoreError::Conflict { bucket: "bindings", key: "svc".into(), expected: first })
    );
    assert_eq!(
        wait(store.delete(Bucket::Bindings, "svc", Some(first))),
        Err(StoreError::Conflict { bucket: "bindings", key: "svc".into(), expected: first })
    );
    let entry = wait(store.get(Bucket::Bindings, "svc")).unwrap().unwrap();
    assert_eq!((entry.value, entry.revision), (Bytes::from("bound"), second));

    wait(store.delete(Bucket::Bindings, "svc", Some(second))).unwrap();
    assert_eq!(wait(store.get(Bucket::Bindings, "svc")).unwrap(), None);
    // A deleted key can be created again (a fresh instance elsewhere, G9), once.
    let again = wait(store.create(Bucket::Bindings, "svc", Bytes::from("again"))).unwrap();
    assert!(again > second);
    assert!(matches!(
        wait(store.create(Bucket::Bindings, "svc", Bytes::from("twice"))),
        Err(StoreError::Exists { .. })
    ));
    // Removing an absent key is not an error; `put` writes whatever was there.
    wait(store.delete(Bucket::Bindings, "never-there", None)).unwrap();
    let put = wait(store.put(Bucket::Bindings, "svc", Bytes::from("put"))).unwrap();
    assert!(put > again);
}

// checks G11's listing order: keys come back sorted, without the deleted ones, per bucket.
#[test]
fn keys_are_sorted_and_skip_deleted_keys() {
    let server = server();
    let transport = transport(&server, "keys");
    let store = transport.store();
    assert_eq!(wait(store.keys(Bucket::Directory)).unwrap(), Vec::<String>::new());
    for key in ["group.2.7", "group.1.3", "node.1", "group.1.10", "node.2"] {
        wait(store.put(Bucket::Directory, key, Bytes::from("x"))).unwrap();
    }
    wait(store.delete(Bucket::Directory, "node.2", None)).unwrap();
    wait(store.put(Bucket::Bindings, "elsewhere", Bytes::from("x"))).unwrap();
    assert_eq!(wait(store.keys(Bucket::Directory)).unwrap(), ["group.1.10", "group.1.3", "group.2.7", "node.1"]);
}

// checks the liveness promise (G9 rests on it): a key nobody refreshes is gone about one TTL
// after its last write; a refreshed key stays.
#[test]
fn liveness_keys_expire_unless_refreshed() {
    let server = server();
    let options = NatsOptions::default().liveness_ttl(Duration::from_secs(1));
    let transport = transport_with(&server, "ttl", options);
    let store = transport.store();
    assert_eq!(store.liveness_ttl(), Duration::from_secs(1));
    wait(store.put(Bucket::Bindings, "kept", Bytes::from("x"))).unwrap();
    let node1_revision = wait(store.put(Bucket::Liveness, "node.1", Bytes::from("a"))).unwrap();
    wait(store.put(Bucket::Liveness, "node.2", Bytes::from("b"))).unwrap();
    assert!(wait(store.get(Bucket::Liveness, "node.1")).unwrap().is_some());
    // Refresh node.2 every 250 ms for 2.5 s: it must outlive node.1.
    let mut node1_gone_after = None;
    for step in 1..=10 {
        std::thread::sleep(Duration::from_millis(250));
        wait(store.put(Bucket::Liveness, "node.2", Bytes::from("b"))).unwrap();
        if node1_gone_after.is_none() && wait(store.get(Bucket::Liveness, "node.1")).unwrap().is_none() {
            node1_gone_after = Some(step * 250);
        }
    }
    let gone = node1_gone_after.expect("node.1 expired within 2.5 s of a 1 s TTL");
    assert!(gone >= 750, "node.1 did not expire before its TTL (gone after {gone} ms)");
    assert!(wait(store.get(Bucket::Liveness, "node.2")).unwrap().is_some(), "the refreshed key lives");
    assert_eq!(wait(store.keys(Bucket::Liveness)).unwrap(), ["node.2"]);
    // checks K9 (the lease): a node refreshing its expired key by compare-and-set learns it was
    // declared dead: the update conflicts instead of bringing the key back.
    let refresh = wait(store.update(Bucket::Liveness, "node.1", Bytes::from("a"), node1_revision));
    assert!(matches!(refresh, Err(StoreError::Conflict { .. })), "an expired key's update must conflict: {refresh:?}");
    assert!(wait(store.get(Bucket::Liveness, "node.1")).unwrap().is_none());
    // Other buckets never expire: a binding written 2.5 s (2.5 TTLs) ago is still there.
    assert!(wait(store.get(Bucket::Bindings, "kept")).unwrap().is_some());
}

// The first node makes the buckets; a later node asking for another TTL gets the bucket's.
#[test]
fn a_later_node_gets_the_clusters_liveness_ttl() {
    let server = server();
    let first = transport_with(&server, "ttl2", NatsOptions::default().liveness_ttl(Duration::from_secs(3)));
    let later = transport_with(&server, "ttl2", NatsOptions::default().liveness_ttl(Duration::from_secs(9)));
    assert_eq!(first.store().liveness_ttl(), Duration::from_secs(3));
    assert_eq!(later.store().liveness_ttl(), Duration::from_secs(3));
}

#[test]
fn connect_fails_clearly_on_a_bad_name_or_no_server() {
    assert_eq!(
        NatsTransport::connect("nats://127.0.0.1:1", "a.b", NatsOptions::default()).unwrap_err(),
        NatsError::InvalidClusterName("a.b".into())
    );
    let started = std::time::Instant::now();
    let options = NatsOptions::default().connect_timeout(Duration::from_secs(1));
    let err = NatsTransport::connect("nats://127.0.0.1:1", "nobody", options).unwrap_err();
    assert!(matches!(&err, NatsError::Connect { cluster, .. } if cluster == "nobody"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5), "connect gave up in bounded time");
}
