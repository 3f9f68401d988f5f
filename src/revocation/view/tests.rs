//! The view's rules: what is refused, and when an entry can go.

use super::*;

fn presented(jti: Uuid) -> Presented<'static> {
    Presented {
        jti,
        sid: Uuid::new_v4(),
        username: "alice",
    }
}

fn token(exp: i64) -> (Uuid, Entry) {
    let jti = Uuid::new_v4();
    (jti, Entry::Token { jti, exp })
}

#[test]
fn an_applied_token_is_revoked_and_another_is_not() {
    let view = View::default();
    let (jti, entry) = token(2_000_000_000);
    view.apply(entry);
    assert!(view.is_revoked(&presented(jti)));
    assert!(!view.is_revoked(&presented(Uuid::new_v4())));
}

#[test]
fn applying_twice_keeps_one_entry_with_the_later_expiry() {
    let view = View::default();
    let jti = Uuid::new_v4();
    view.apply(Entry::Token { jti, exp: 100 });
    view.apply(Entry::Token { jti, exp: 50 });
    assert_eq!(view.len(), 1);
    assert_eq!(view.trim(60), 0, "the later expiry (100) was kept");
    assert_eq!(view.trim(101), 1);
}

#[test]
fn trim_drops_only_entries_that_expired_before_the_cutoff() {
    let view = View::with_capacity(1000);
    let (old, e) = token(999);
    view.apply(e);
    let (edge, e) = token(1000);
    view.apply(e);
    let (live, e) = token(5000);
    view.apply(e);
    assert_eq!(view.trim(1000), 1);
    assert!(!view.is_revoked(&presented(old)));
    assert!(view.is_revoked(&presented(edge)));
    assert!(view.is_revoked(&presented(live)));
}

#[test]
fn an_entry_announced_after_a_trim_that_covers_it_is_not_kept() {
    let view = View::default();
    view.trim(1000);
    let (late, e) = token(999);
    view.apply(e);
    let (live, e) = token(1000);
    view.apply(e);
    assert!(!view.is_revoked(&presented(late)));
    assert!(view.is_revoked(&presented(live)));
}

#[test]
fn out_of_range_expiries_saturate_instead_of_wrapping() {
    let view = View::default();
    let (far, e) = token(i64::MAX);
    view.apply(e);
    assert_eq!(view.trim(i64::from(u32::MAX) - 1), 0);
    assert!(view.is_revoked(&presented(far)));
}

fn cutoff_for(username: &str, cutoff: Uuid) -> Entry {
    Entry::UserCutoff {
        username: username.into(),
        issued_before: cutoff,
        exp: 2_000_000_000,
    }
}

#[test]
fn a_revoked_session_refuses_every_token_that_names_it() {
    let view = View::default();
    let sid = Uuid::new_v4();
    view.apply(Entry::Session {
        sid,
        exp: 2_000_000_000,
    });
    let in_session = Presented {
        sid,
        ..presented(Uuid::now_v7())
    };
    assert!(view.is_revoked(&in_session));
    let other_session = Presented {
        sid: Uuid::new_v4(),
        ..presented(Uuid::now_v7())
    };
    assert!(!view.is_revoked(&other_session));
}

#[test]
fn a_cutoff_refuses_its_users_tokens_issued_up_to_it_and_no_later_ones() {
    let view = View::default();
    let before = Uuid::now_v7();
    let cutoff = Uuid::now_v7();
    let after = Uuid::now_v7();
    view.apply(cutoff_for("alice", cutoff));
    assert!(view.is_revoked(&presented(before)));
    assert!(view.is_revoked(&presented(cutoff)), "a tie is refused");
    assert!(
        !view.is_revoked(&presented(after)),
        "issued after the cut-off"
    );
    let bob = Presented {
        username: "bob",
        ..presented(before)
    };
    assert!(!view.is_revoked(&bob), "another user is untouched");
}

#[test]
fn a_later_cutoff_wins_and_cutoffs_are_trimmed_when_they_expire() {
    let view = View::default();
    let first = Uuid::now_v7();
    let between = Uuid::now_v7();
    let second = Uuid::now_v7();
    view.apply(cutoff_for("alice", second));
    view.apply(cutoff_for("alice", first));
    assert!(
        view.is_revoked(&presented(between)),
        "the older cut-off did not win"
    );
    assert_eq!(view.len(), 1);
    view.apply(Entry::UserCutoff {
        username: "carol".into(),
        issued_before: second,
        exp: 100,
    });
    assert_eq!(view.trim(101), 1);
    let carol = Presented {
        username: "carol",
        ..presented(first)
    };
    assert!(!view.is_revoked(&carol));
    assert!(view.is_revoked(&presented(first)));
}

#[test]
fn a_large_view_is_sized_to_whole_tables_with_a_tenth_to_spare() {
    // Eleven million ids (the benchmark's ten million tokens and one million sessions).
    let expected = 11_000_000;
    let (shards, per_shard) = layout(expected);
    assert!(
        per_shard <= FULL_SHARD,
        "each shard fits one 16 384-bucket table"
    );
    assert!(shards * per_shard >= expected + expected / 10);
    // Buckets in all: the headroom and the 7/8 fill (1.26 buckets an id); a fixed 64 shards
    // would round up to 16.7 million (1.52 an id).
    assert!(shards * 16_384 <= expected * 13 / 10, "{shards} shards");
    assert_eq!(layout(0), (MIN_SHARDS, 0));
    assert_eq!(layout(1000).0, MIN_SHARDS);
}

#[test]
fn ids_are_found_in_whichever_of_many_shards_they_land() {
    let view = View::with_capacity(5_000_000);
    assert!(view.ids.len() > MIN_SHARDS);
    let ids: Vec<Uuid> = (0..20_000)
        .map(|i| {
            if i % 2 == 0 {
                Uuid::new_v4()
            } else {
                Uuid::now_v7()
            }
        })
        .collect();
    for &jti in &ids {
        view.apply(Entry::Token { jti, exp: 5000 });
    }
    assert_eq!(view.len(), ids.len());
    assert!(ids.iter().all(|&jti| view.is_revoked(&presented(jti))));
    assert!(!view.is_revoked(&presented(Uuid::now_v7())));
    let used = view.ids.iter().filter(|s| !read(s).is_empty()).count();
    assert!(
        used > view.ids.len() * 9 / 10,
        "ids spread over the shards: {used}"
    );
    assert_eq!(view.trim(5001), ids.len());
}
