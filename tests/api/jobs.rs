//! The scheduled purge really fires, and a bad schedule stops start-up.

use rocket::local::asynchronous::Client;

use crate::helpers::{eventually, fails_to_start, figment, TestApp, TestDb};

#[rocket::async_test]
async fn the_purge_job_fires_on_its_schedule() {
    let app = TestApp::spawn_with(|f| f.merge(("purge_schedule", "* * * * * *"))).await;
    let expired = app.insert_row(-60).await;
    let live = app.insert_row(3600).await;
    let purged = eventually(10, || async { !app.row_exists(&expired).await }).await;
    assert!(purged, "the expired row was not purged within 10 s");
    assert!(app.row_exists(&live).await);
}

#[rocket::async_test]
async fn a_malformed_purge_schedule_stops_start_up() {
    let db = TestDb::new();
    for bad in ["every minute", "0 * * * *", "61 * * * * *"] {
        let rocket = jwt_blacklist::rocket_from(figment(&db).merge(("purge_schedule", bad)));
        assert!(fails_to_start(rocket).await, "`{bad}` was accepted");
    }
}

#[rocket::async_test]
async fn an_invalid_configuration_stops_start_up() {
    let db = TestDb::new();
    let cases: [(&str, rocket::figment::value::Value); 4] = [
        ("jwt_secret", "too-short".into()),
        ("cookie_same_site", "sideways".into()),
        ("token_ttl", 0.into()),
        ("database_url", ":memory:".into()),
    ];
    for (key, value) in cases {
        let rocket = jwt_blacklist::rocket_from(figment(&db).merge((key, value)));
        assert!(fails_to_start(rocket).await, "{key} accepted");
    }
}

#[rocket::async_test]
async fn the_release_profile_refuses_to_start_without_a_secret() {
    let db = TestDb::new();
    let release = |secret: Option<&str>| {
        let f = jwt_blacklist::config::defaults()
            .merge(("database_url", db.url.clone()))
            .merge(("log_level", "off"));
        let f = match secret {
            Some(s) => f.merge(("jwt_secret", s)),
            None => f,
        };
        jwt_blacklist::rocket_from(f.select("release"))
    };
    assert!(fails_to_start(release(None)).await);
    assert!(
        Client::untracked(release(Some(crate::helpers::TEST_SECRET)))
            .await
            .is_ok()
    );
}
