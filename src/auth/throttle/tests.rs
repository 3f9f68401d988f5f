//! The throttle's rules, with the clock passed in.

use std::net::Ipv6Addr;

use super::*;

const WINDOW: Duration = Duration::from_secs(60);

fn settings(capacity: usize) -> ThrottleSettings {
    ThrottleSettings {
        max_failures_per_user: 3,
        max_untrusted_failures_per_user: 6,
        max_failures_per_ip: 5,
        signup_max_per_ip: 2,
        max_trusted_failures_per_user: 8,
        max_logins_per_ip: 20,
        max_in_flight_per_ip: 2,
        window: WINDOW,
        capacity: NonZeroUsize::new(capacity).expect("non-zero"),
    }
}

fn throttle() -> LoginThrottle {
    LoginThrottle::new(settings(1000), &crate::config::tests_secret())
}

fn v4(last: u8) -> Option<IpAddr> {
    Some([192, 0, 2, last].into())
}

#[test]
fn one_client_is_locked_on_a_username_until_the_window_ends() {
    let t = throttle();
    let start = Instant::now();
    for _ in 0..3 {
        assert!(t.begin_login("bob", v4(1), None, start).is_ok());
    }
    let wait = t
        .begin_login("bob", v4(1), None, start + Duration::from_secs(10))
        .expect_err("locked");
    assert_eq!(wait, Duration::from_secs(50));
    assert!(t.begin_login("carol", v4(1), None, start).is_ok());
    assert!(t.begin_login("bob", v4(2), None, start).is_ok());
    let later = start + Duration::from_secs(61);
    assert!(t.begin_login("bob", v4(1), None, later).is_ok());
}

#[test]
fn attempts_count_before_their_outcome_is_known() {
    let t = throttle();
    let now = Instant::now();
    // Guesses in flight at once: the fourth is refused before any of them finishes.
    let admitted = (0..4)
        .filter(|_| t.begin_login("bob", None, None, now).is_ok())
        .count();
    assert_eq!(admitted, 3);
}

#[test]
fn untrusted_clients_share_one_budget_per_username_but_a_device_has_its_own() {
    let t = throttle();
    let now = Instant::now();
    let device = DeviceKey::new_nonce();
    for i in 0..6 {
        assert!(
            t.begin_login("bob", v4(i), None, now).is_ok(),
            "stranger {i}"
        );
    }
    assert!(t.begin_login("bob", v4(100), None, now).is_err());
    assert!(t.begin_login("bob", v4(100), Some(device), now).is_ok());
}

#[test]
fn only_a_cookie_signed_for_the_username_names_a_device() {
    let t = throttle();
    let nonce = DeviceKey::new_nonce();
    let cookie = t.device_cookie(&nonce, "bob");
    assert_eq!(t.device_nonce(&cookie, "bob"), Some(nonce));
    assert_eq!(
        t.device_nonce(&t.device_cookie(&nonce, "carol"), "bob"),
        None
    );
    assert_eq!(t.device_nonce(&format!("{cookie}x"), "bob"), None);
}

#[test]
fn trusted_devices_together_have_a_ceiling_per_username() {
    let t = throttle();
    let now = Instant::now();
    // Each device may fail 3 times; together the username's devices may fail 8 times.
    let mut admitted = 0;
    for _ in 0..5 {
        let device = DeviceKey::new_nonce();
        admitted += (0..3)
            .filter(|_| t.begin_login("bob", None, Some(device), now).is_ok())
            .count();
    }
    assert_eq!(
        admitted, 8,
        "twelve devices' budgets do not add up past the ceiling"
    );
    assert!(t
        .begin_login("bob", None, Some(DeviceKey::new_nonce()), now)
        .is_err());
    assert!(
        t.begin_login("carol", None, Some(DeviceKey::new_nonce()), now)
            .is_ok(),
        "per username"
    );
}

#[test]
fn every_login_of_a_client_counts_even_a_successful_one() {
    let t = throttle();
    let now = Instant::now();
    for i in 0..20 {
        let attempt = t
            .begin_login(&format!("user{i}"), v4(7), None, now)
            .expect("within the limit");
        t.succeeded(attempt);
    }
    assert!(t.begin_login("user99", v4(7), None, now).is_err());
    assert!(
        t.begin_login("user99", v4(8), None, now).is_ok(),
        "per client"
    );
}

#[test]
fn a_client_may_have_only_a_few_password_checks_in_flight() {
    let t = throttle();
    let first = t.in_flight(v4(1)).expect("one");
    let second = t.in_flight(v4(1)).expect("two");
    assert!(t.in_flight(v4(1)).is_err(), "a third waits for one to end");
    assert!(t.in_flight(v4(2)).is_ok(), "another client is not held up");
    drop(first);
    let third = t.in_flight(v4(1)).expect("a slot came back");
    drop((second, third));
    assert!(
        t.in_flight.counts.lock().expect("lock").is_empty(),
        "nothing kept"
    );
    for _ in 0..10 {
        let _untracked = t.in_flight(None).expect("no address: not counted");
    }
}

#[test]
fn a_device_that_fails_too_often_is_locked_and_its_success_clears_it() {
    let t = throttle();
    let now = Instant::now();
    let device = DeviceKey::new_nonce();
    for _ in 0..2 {
        let _failed = t.begin_login("bob", None, Some(device), now).expect("ok");
    }
    let right = t.begin_login("bob", None, Some(device), now).expect("ok");
    t.succeeded(right);
    for _ in 0..3 {
        let _failed = t.begin_login("bob", None, Some(device), now).expect("ok");
    }
    assert!(t.begin_login("bob", None, Some(device), now).is_err());
    // The untrusted path is its own.
    assert!(t.begin_login("bob", v4(1), None, now).is_ok());
}

#[test]
fn one_address_is_locked_across_usernames_and_a_success_gives_back_only_itself() {
    let t = throttle();
    let now = Instant::now();
    for i in 0..4 {
        let _failed = t
            .begin_login(&format!("user{i}"), v4(1), None, now)
            .expect("ok");
    }
    let right = t.begin_login("carol", v4(1), None, now).expect("ok");
    t.succeeded(right);
    let _failed = t.begin_login("dave", v4(1), None, now).expect("ok");
    assert!(t.begin_login("erin", v4(1), None, now).is_err());
    assert!(t.begin_login("erin", v4(2), None, now).is_ok());
}

#[test]
fn an_ipv6_64_is_one_client_and_an_ipv4_mapped_address_is_its_ipv4_address() {
    let a: IpAddr = "2001:db8:0:1::1".parse().expect("ip");
    let b: IpAddr = "2001:db8:0:1:ffff:ffff:ffff:ffff".parse().expect("ip");
    let c: IpAddr = "2001:db8:0:2::1".parse().expect("ip");
    assert_eq!(ClientKey::of(a), ClientKey::of(b));
    assert_ne!(ClientKey::of(a), ClientKey::of(c));
    let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("ip");
    assert_eq!(ClientKey::of(mapped), ClientKey::of([192, 0, 2, 7].into()));
}

#[test]
fn password_change_failures_count_per_session_never_on_the_username() {
    let t = throttle();
    let now = Instant::now();
    let session = Uuid::new_v4();
    for _ in 0..3 {
        let _failed = t.begin_password_change(session, None, now).expect("ok");
    }
    assert!(t.begin_password_change(session, None, now).is_err());
    assert!(t.begin_password_change(Uuid::new_v4(), None, now).is_ok());
    assert!(t.begin_login("bob", None, None, now).is_ok());
}

#[test]
fn every_sign_up_counts_per_address_and_a_cancelled_one_is_given_back() {
    let t = throttle();
    let now = Instant::now();
    t.succeeded(t.begin_sign_up(v4(1), now).expect("first"));
    let busy = t.begin_sign_up(v4(1), now).expect("second");
    t.cancel(busy);
    t.succeeded(t.begin_sign_up(v4(1), now).expect("second again"));
    assert!(t.begin_sign_up(v4(1), now).is_err());
    assert!(t.begin_sign_up(v4(2), now).is_ok());
    assert!(t.begin_sign_up(None, now).is_ok());
}

#[test]
fn a_million_distinct_64s_leave_the_table_at_its_capacity() {
    let t = LoginThrottle::new(settings(1000), &crate::config::tests_secret());
    let now = Instant::now();
    for i in 0..1_000_000_u128 {
        let addr = IpAddr::V6(Ipv6Addr::from((0x2001_0db8_u128 << 96) | (i << 64) | 1));
        assert!(t.clients.admit(ClientKey::of(addr), WINDOW, now).is_ok());
        // No sweep ever runs: once full, each new key drops the least recently used one.
        assert!(t.clients.len() <= 1000);
    }
    assert_eq!(t.clients.len(), 1000);
    // What a login adds to the tables is one key each, through the same bounded tables.
    let _failed = t.begin_login("bob", Some("2001:db8::1".parse().expect("ip")), None, now);
    assert_eq!(t.clients.len(), 1000);
    assert_eq!((t.user_clients.len(), t.untrusted.len()), (1, 1));
}
