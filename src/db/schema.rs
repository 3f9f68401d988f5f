//! Table definitions, shared by both backends' migrations.

diesel::table! {
    users (username) {
        username -> Text,
        password_hash -> Text,
        role -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    blacklist (jti) {
        jti -> Text,
        username -> Text,
        expires_at -> Timestamp,
        blacklisted_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        username -> Text,
        created_at -> Timestamp,
        last_used_at -> Timestamp,
        expires_at -> Timestamp,
        access_until -> Timestamp,
        user_agent -> Text,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refresh_tokens (hash) {
        hash -> Text,
        session_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    user_cutoffs (username) {
        username -> Text,
        cutoff -> Text,
        cut_at -> Timestamp,
        kept_until -> Timestamp,
    }
}

diesel::table! {
    revocations_hourly (hour) {
        hour -> Timestamp,
        revoked -> BigInt,
    }
}

diesel::joinable!(refresh_tokens -> sessions (session_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    blacklist,
    sessions,
    refresh_tokens,
    user_cutoffs,
    revocations_hourly
);
