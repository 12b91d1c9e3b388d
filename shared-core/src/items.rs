//! Item bodies, in the tutorial's Django REST Framework shape.

use serde::{Deserialize, Serialize};

use crate::Price;

/// `{"id": 1, "email": "..."}`: an item's owner as the tutorial's `UserSerializer` shows it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ItemOwner {
    pub id: i64,
    pub email: String,
}

/// An item as returned by every items endpoint.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Item {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// Always a string with two decimals.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "12.50"))]
    pub price: Price,
    pub user: ItemOwner,
}

/// A create / update body. Values are kept raw so that each field gets its own DRF-style message
/// (`price` may be a JSON number or a string).
/// An absent field is `None`; an explicit `null` is `Some(Value::Null)` (DRF tells the two apart).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ItemInput {
    /// Unique, 1-50 characters.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "Lamp"))]
    pub name: Option<serde_json::Value>,
    /// 1-250 characters.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "A desk lamp"))]
    pub description: Option<serde_json::Value>,
    /// A JSON number or a string; at most 12 digits before the point and 2 after; not negative.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "19.90"))]
    pub price: Option<serde_json::Value>,
}

fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(deserializer).map(Some)
}
