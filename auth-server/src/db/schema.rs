//! Diesel table definitions, valid for both backends (see `migrations/auth-server/`).

diesel::table! {
    users (id) {
        id -> BigInt,
        subject -> Text,
        email -> Text,
        email_key -> Text,
        password_hash -> Text,
        created_at -> BigInt,
        password_changed_at -> BigInt,
    }
}

diesel::table! {
    clients (id) {
        id -> BigInt,
        client_id -> Text,
        name -> Text,
        secret_hash -> Nullable<Text>,
        grant_types -> Text,
        scopes -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> BigInt,
        token_hash -> Text,
        client_id -> BigInt,
        user_id -> BigInt,
        family_id -> Text,
        scope -> Text,
        issued_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    access_tokens (id) {
        id -> BigInt,
        token_hash -> Text,
        client_id -> BigInt,
        user_id -> Nullable<BigInt>,
        refresh_token_id -> Nullable<BigInt>,
        scope -> Text,
        issued_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::joinable!(access_tokens -> clients (client_id));
diesel::joinable!(access_tokens -> users (user_id));
diesel::joinable!(refresh_tokens -> clients (client_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, clients, refresh_tokens, access_tokens);
