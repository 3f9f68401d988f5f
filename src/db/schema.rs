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

diesel::allow_tables_to_appear_in_same_query!(users, blacklist);
