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
        failed_logins -> BigInt,
        failures_since -> BigInt,
        locked_until -> BigInt,
        lockouts -> BigInt,
        disabled_at -> BigInt,
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
        redirect_uris -> Text,
        post_logout_redirect_uris -> Text,
        allowed_origins -> Text,
        skip_consent -> Bool,
        require_pkce -> Bool,
        access_token_format -> Text,
        audiences -> Text,
    }
}

diesel::table! {
    resources (id) {
        id -> BigInt,
        identifier -> Text,
        name -> Text,
        scopes -> Text,
        created_at -> BigInt,
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
        audience -> Nullable<Text>,
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
        authorization_code_id -> Nullable<BigInt>,
        audience -> Nullable<Text>,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        session_hash -> Text,
        user_id -> BigInt,
        auth_time -> BigInt,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    consents (user_id, client_id) {
        user_id -> BigInt,
        client_id -> BigInt,
        scope -> Text,
        granted_at -> BigInt,
    }
}

diesel::table! {
    authorization_codes (id) {
        id -> BigInt,
        code_hash -> Text,
        client_id -> BigInt,
        user_id -> BigInt,
        redirect_uri -> Text,
        scope -> Text,
        nonce -> Nullable<Text>,
        code_challenge -> Nullable<Text>,
        auth_time -> BigInt,
        family_id -> Text,
        issued_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    signing_keys (id) {
        id -> BigInt,
        kid -> Text,
        algorithm -> Text,
        private_key_pem -> Text,
        public_jwk -> Text,
        created_at -> BigInt,
        superseded_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    revocation_events (id) {
        id -> BigInt,
        created_at -> BigInt,
        event -> Text,
    }
}

diesel::joinable!(access_tokens -> clients (client_id));
diesel::joinable!(access_tokens -> users (user_id));
diesel::joinable!(refresh_tokens -> clients (client_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(authorization_codes -> clients (client_id));
diesel::joinable!(authorization_codes -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    clients,
    refresh_tokens,
    access_tokens,
    sessions,
    consents,
    authorization_codes,
    signing_keys,
    resources,
    revocation_events
);
