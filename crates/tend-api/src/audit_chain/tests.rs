//! The hash definition against values PostgreSQL computed with migration
//! 0011 (a trigger insert and a migrated row), and the walk's verdicts on
//! hand-built chains.

use chrono::TimeZone;
use ed25519_dalek::{Signer, SigningKey};

use super::*;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn event(id: i64, org: Option<i64>, action: &str, micros: i64) -> ChainedEvent {
    ChainedEvent {
        id,
        at: Utc.timestamp_micros(micros).unwrap(),
        actor_user_id: None,
        actor_device_id: None,
        organization_id: org,
        facility_id: None,
        action: action.to_owned(),
        resource_type: "x".to_owned(),
        resource_id: None,
        outcome: "success".to_owned(),
        cross_facility: false,
        reason: None,
        client_address: None,
        chain_seq: None,
        prev_hash: None,
        hash: None,
    }
}

fn micros(rfc3339: &str) -> i64 {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_micros()
}

#[test]
fn hashes_match_what_postgresql_computed() {
    // Migrated row: reason with a non-ASCII letter, a comma and quotes.
    let mut e = event(1, Some(1), "a", micros("2026-12-05T01:27:36.285412Z"));
    e.reason = Some("é,\"q\"".to_owned());
    assert_eq!(
        hex(&event_hash(&GENESIS, 1, 1, &e)),
        "45fa2fc5a6b09bb40be16136e5a3b6ce9bb705396553e68a8671960c6f6d3cd7"
    );
    // Inserted through the trigger, third in its chain.
    let e = event(8, Some(1), "e", micros("2026-12-05T01:27:37.085558Z"));
    let prev = unhex("0c34d611be7cc32ff7033fd843fd96a5d0df14525bc2f4b8b7d5b1a8fc7fcc61");
    assert_eq!(
        hex(&event_hash(&prev, 1, 3, &e)),
        "35dc60cb9d0a56217f5d8448ee38c9d8f5d858c0c10479d30115e0800250776f"
    );
}

#[test]
fn null_and_empty_and_shifted_fields_hash_differently() {
    let base = event(1, Some(1), "a", 0);
    let h = |e: &ChainedEvent| event_hash(&GENESIS, 1, 1, e);
    let mut empty = base.clone();
    empty.reason = Some(String::new());
    assert_ne!(h(&base), h(&empty));
    // "ab" + "" versus "a" + "b": lengths keep fields apart.
    let mut one = base.clone();
    one.action = "ab".to_owned();
    one.resource_type = String::new();
    let mut two = base.clone();
    two.action = "a".to_owned();
    two.resource_type = "b".to_owned();
    assert_ne!(h(&one), h(&two));
    assert_ne!(h(&base), event_hash(&GENESIS, 1, 2, &base), "seq");
    assert_ne!(h(&base), event_hash(&GENESIS, 2, 1, &base), "chain");
}

/// A chain of `n` events as the trigger would store it.
fn chain(n: i64) -> Vec<ChainedEvent> {
    let mut prev = GENESIS.to_vec();
    (1..=n)
        .map(|seq| {
            let mut e = event(100 + seq, Some(7), "patient.read", seq * 1_000_000);
            let hash = event_hash(&prev, 7, seq, &e);
            e.chain_seq = Some(seq);
            e.prev_hash = Some(prev.clone());
            e.hash = Some(hash.to_vec());
            prev = hash.to_vec();
            e
        })
        .collect()
}

fn key() -> (SigningKey, TrustedKey) {
    let signing = SigningKey::from_bytes(&[9; 32]);
    let public = STANDARD.encode(signing.verifying_key().to_bytes());
    (signing, TrustedKey::parse(&public).unwrap())
}

fn checkpoint(signing: &SigningKey, trusted: &TrustedKey, e: &ChainedEvent) -> Checkpoint {
    let signed_at = Utc.timestamp_micros(1_700_000_000_000_000).unwrap();
    let seq = e.chain_seq.unwrap();
    let hash = e.hash.clone().unwrap();
    let message = checkpoint_message(7, seq, &hash, signed_at, &trusted.key_id);
    Checkpoint {
        id: seq,
        seq,
        hash,
        signed_at,
        key_id: trusted.key_id.clone(),
        signature: signing.sign(&message).to_bytes().to_vec(),
    }
}

fn walk(events: &[ChainedEvent], checkpoints: Vec<Checkpoint>, key: &TrustedKey) -> Option<Break> {
    let mut w = Walk {
        chain: 7,
        key: Some(key),
        checkpoints: checkpoints.into_iter().peekable(),
        prev: GENESIS.to_vec(),
        expected: 1,
        events: 0,
        checkpoints_checked: 0,
        last: None,
    };
    for e in events {
        if let Some(b) = w.step(e) {
            return Some(b);
        }
    }
    let head = events
        .last()
        .map(|e| (e.chain_seq.unwrap(), e.hash.clone().unwrap()));
    w.finish(head)
}

#[test]
fn an_intact_chain_with_checkpoints_passes() {
    let (signing, trusted) = key();
    let events = chain(10);
    let cps = vec![
        checkpoint(&signing, &trusted, &events[4]),
        checkpoint(&signing, &trusted, &events[9]),
    ];
    assert_eq!(walk(&events, cps, &trusted), None);
}

#[test]
fn an_edit_a_gap_and_a_swap_name_the_first_broken_event() {
    let (_, trusted) = key();
    let mut edited = chain(5);
    edited[2].reason = Some("nothing to see".to_owned());
    let b = walk(&edited, vec![], &trusted).unwrap();
    assert_eq!(
        (b.seq, b.event_id, b.problem),
        (3, Some(103), Problem::Content)
    );

    let mut gap = chain(5);
    gap.remove(1);
    let b = walk(&gap, vec![], &trusted).unwrap();
    assert_eq!(
        (b.seq, b.event_id, b.problem),
        (2, None, Problem::Missing { found_seq: 3 })
    );

    let mut swapped = chain(5);
    // Two events' content exchanged, each keeping its id and place.
    let (a, c) = (swapped[1].at, swapped[3].at);
    swapped[1].at = c;
    swapped[3].at = a;
    let b = walk(&swapped, vec![], &trusted).unwrap();
    assert_eq!((b.seq, b.event_id), (2, Some(102)));
}

#[test]
fn a_rewrite_a_cut_off_end_and_a_forged_checkpoint_are_caught() {
    let (signing, trusted) = key();
    let original = chain(6);
    let cps = || vec![checkpoint(&signing, &trusted, &original[5])];

    // Rewritten with recomputed hashes: only the checkpoint knows.
    let mut rewritten = original.clone();
    rewritten[1].action = "patient.list".to_owned();
    let mut prev = rewritten[0].hash.clone().unwrap();
    for e in rewritten.iter_mut().skip(1) {
        let h = event_hash(&prev, 7, e.chain_seq.unwrap(), e);
        e.prev_hash = Some(prev.clone());
        e.hash = Some(h.to_vec());
        prev = h.to_vec();
    }
    let b = walk(&rewritten, cps(), &trusted).unwrap();
    assert_eq!(b.problem, Problem::Rewritten { checkpoint_id: 6 });
    assert_eq!(b.event_id, Some(106));

    // The last two events deleted (and the head moved back with them).
    let cut = &original[..4];
    let b = walk(cut, cps(), &trusted).unwrap();
    assert_eq!(
        (b.seq, b.event_id, b.problem),
        (
            5,
            None,
            Problem::CutOff {
                checkpoint_id: 6,
                checkpoint_seq: 6
            }
        )
    );

    // A checkpoint signed by another key.
    let other = SigningKey::from_bytes(&[3; 32]);
    let mut forged = checkpoint(&other, &trusted, &original[2]);
    forged.key_id = trusted.key_id.clone();
    let b = walk(&original, vec![forged], &trusted).unwrap();
    assert_eq!(b.problem, Problem::ForgedCheckpoint { checkpoint_id: 3 });
}
