//! Item bodies, in the tutorial's Django REST Framework shape.

use serde::{Deserialize, Serialize};

use crate::Price;

/// `{"id": 1, "email": "..."}`: an item's owner as the tutorial's `UserSerializer` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ItemOwner {
    pub id: i64,
    pub email: String,
}

/// An item as returned by every items endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Item {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub price: Price,
    pub user: ItemOwner,
}

/// A create / update body. Values are kept raw so that each field gets its own DRF-style message
/// (`price` may be a JSON number or a string).
/// An absent field is `None`; an explicit `null` is `Some(Value::Null)` (DRF tells the two apart).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ItemInput {
    #[serde(default, deserialize_with = "present")]
    pub name: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "present")]
    pub description: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "present")]
    pub price: Option<serde_json::Value>,
}

fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(deserializer).map(Some)
}
