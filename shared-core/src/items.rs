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

/// A create / update body. In the OpenAPI document, a name is something besides spaces, without control
/// characters; a description may also hold line breaks and tabs. Values are kept raw so that each field gets its own DRF-style message
/// (`price` may be a JSON number or a string).
/// An absent field is `None`; an explicit `null` is `Some(Value::Null)` (DRF tells the two apart).
/// Its schema is the full body of `POST` and `PUT`; `PATCH` takes the same fields, each optional
/// ([`ItemPatch`]).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ItemInput {
    /// Unique; 1-50 characters once surrounding spaces are trimmed; no control characters.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = String, required = true, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$", max_length = 50, example = "Lamp")
    )]
    pub name: Option<serde_json::Value>,
    /// 1-250 characters once surrounding spaces are trimmed; line breaks and tabs allowed, no other controls.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = String, required = true, pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$", max_length = 250, example = "A desk lamp")
    )]
    pub description: Option<serde_json::Value>,
    /// A JSON number or a string; at most 12 digits before the point and 2 after; not negative.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(schema_with = price_schema, required = true))]
    pub price: Option<serde_json::Value>,
}

/// `PATCH /items/<id>/`: any subset of [`ItemInput`]'s fields; those given follow the same rules.
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[allow(dead_code, reason = "describes the PATCH body in the OpenAPI document only")]
pub struct ItemPatch {
    #[schema(value_type = String, required = false, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$", max_length = 50, example = "Lamp")]
    name: Option<String>,
    #[schema(value_type = String, required = false, pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$", max_length = 250)]
    description: Option<String>,
    #[schema(schema_with = price_schema, required = false)]
    price: Option<String>,
}

/// What the server accepts as a price: a JSON number, or a string (spaces around it ignored) with at most
/// 12 significant digits before the point and 2 after; not negative, though "-0" is zero.
#[cfg(feature = "openapi")]
fn price_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    const AS_TEXT: &str =
        r"^\s*(\+?(0*[1-9][0-9]{0,11}(\.[0-9]{0,2}0*)?|0+(\.[0-9]{0,2}0*)?|\.[0-9]{1,2}0*)|-(0+(\.0*)?|\.0+))\s*$";
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String).pattern(Some(AS_TEXT)).examples(["19.90"]))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Number)
                .minimum(Some(0.0))
                .maximum(Some(999_999_999_999.99))
                .multiple_of(Some(0.01))
                .examples([19.9]),
        )
        .build()
        .into()
}

fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(deserializer).map(Some)
}
