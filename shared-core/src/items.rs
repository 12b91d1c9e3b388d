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
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ItemInput {
    #[serde(default)]
    pub name: Option<serde_json::Value>,
    #[serde(default)]
    pub description: Option<serde_json::Value>,
    #[serde(default)]
    pub price: Option<serde_json::Value>,
}
