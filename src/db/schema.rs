//! Table definitions, shared by both backends' migrations.

diesel::table! {
    users (username) {
        username -> Text,
        password_hash -> Text,
        role -> Text,
        created_at -> Timestamp,
        id -> Text,
        generation -> BigInt,
        locked_at -> Nullable<Timestamp>,
        locked_until -> Nullable<Timestamp>,
        lock_reason -> Nullable<Text>,
        last_login_at -> Nullable<Timestamp>,
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
        user_id -> Text,
        access_issued_at -> Nullable<Timestamp>,
        ip -> Nullable<Text>,
        device -> Text,
        name -> Nullable<Text>,
        remember -> Bool,
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

diesel::table! {
    devices (id) {
        id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        last_login_at -> Timestamp,
    }
}

diesel::table! {
    health_probe (id) {
        id -> Integer,
        written_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        at -> Timestamp,
        kind -> Text,
        actor -> Text,
        username -> Nullable<Text>,
        user_id -> Nullable<Text>,
        session_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        detail -> Text,
        count -> BigInt,
        dedup -> Nullable<Text>,
    }
}

diesel::table! {
    mfa_totp (user_id) {
        user_id -> Text,
        secret_sealed -> Text,
        created_at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
        last_step -> Nullable<BigInt>,
    }
}

diesel::table! {
    recovery_codes (user_id, code_hash) {
        user_id -> Text,
        code_hash -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    mfa_challenges (id) {
        id -> Text,
        user_id -> Text,
        generation -> BigInt,
        failures -> Integer,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        remember -> Bool,
    }
}

diesel::table! {
    passkeys (id) {
        id -> Text,
        user_id -> Text,
        credential_id -> Text,
        name -> Text,
        credential -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webauthn_challenges (id) {
        id -> Text,
        purpose -> Text,
        user_id -> Nullable<Text>,
        mfa_challenge -> Nullable<Text>,
        state -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::joinable!(refresh_tokens -> sessions (session_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    blacklist,
    sessions,
    refresh_tokens,
    user_cutoffs,
    revocations_hourly,
    devices,
    health_probe,
    audit_events,
    mfa_totp,
    recovery_codes,
    mfa_challenges,
    passkeys,
    webauthn_challenges
);
