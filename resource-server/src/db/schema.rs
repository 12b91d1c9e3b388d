//! Diesel table definitions, valid for both backends (see `migrations/resource-server/`).

diesel::table! {
    users (id) {
        id -> BigInt,
        subject -> Text,
        email -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    items (id) {
        id -> BigInt,
        name -> Text,
        description -> Text,
        price_cents -> BigInt,
        user_id -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::joinable!(items -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, items);
