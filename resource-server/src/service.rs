//! The items API as plain functions: validation in Django REST Framework's terms, ownership rules, paging.

use serde_json::Value;
use shared_core::field_errors::messages;
use shared_core::items::{Item, ItemInput, ItemOwner};
use shared_core::{clock, FieldErrors, Price};

use crate::db;
use crate::db::items::{self, ItemRow, ItemValues, NameTaken};
use crate::error::Error;
use crate::introspection::LocalUser;
use crate::state::AppState;

pub const NAME_MAX_CHARS: usize = 50;
pub const DESCRIPTION_MAX_CHARS: usize = 250;
pub const NAME_TAKEN: &str = "item with this name already exists.";

fn to_item(row: ItemRow) -> Item {
    Item {
        id: row.id,
        name: row.name,
        description: row.description,
        // Rows hold only validated prices; a corrupted one shows as 0.00 rather than failing the request.
        price: Price::from_cents(row.price_cents).unwrap_or(Price::ZERO),
        user: ItemOwner { id: row.user_id, email: row.owner_email },
    }
}

/// A DRF `CharField(max_length)`: a string, trimmed, not blank, at most `max` characters (not bytes).
/// A text field's shape: a name is one line; a description may hold line breaks and tabs.
#[derive(Clone, Copy)]
enum Lines {
    One,
    Many,
}

/// A DRF `CharField(max_length)`: a string, trimmed, not blank, at most `max` characters (not bytes), without
/// NUL (DRF's own rule; PostgreSQL cannot store it) or other control characters.
fn text(value: Option<&Value>, field: &str, max: usize, lines: Lines, errors: &mut FieldErrors) -> Option<String> {
    let allowed = |c: char| matches!(lines, Lines::Many) && matches!(c, '\n' | '\r' | '\t');
    let message = match value {
        None => messages::REQUIRED.to_owned(),
        Some(Value::Null) => "This field may not be null.".to_owned(),
        Some(Value::String(s)) => {
            let trimmed = s.trim();
            if trimmed.is_empty() {
                messages::BLANK.to_owned()
            } else if trimmed.contains('\0') {
                messages::NULL_CHARACTER.to_owned()
            } else if trimmed.chars().any(|c| c.is_control() && !allowed(c)) {
                messages::CONTROL_CHARACTER.to_owned()
            } else if trimmed.chars().count() > max {
                format!("Ensure this field has no more than {max} characters.")
            } else {
                return Some(trimmed.to_owned());
            }
        }
        Some(_) => messages::NOT_A_STRING.to_owned(),
    };
    errors.add(field, message);
    None
}

fn price(value: Option<&Value>, errors: &mut FieldErrors) -> Option<Price> {
    match value {
        None => errors.add("price", messages::REQUIRED),
        Some(Value::Null) => errors.add("price", "This field may not be null."),
        Some(value) => match Price::from_json(value) {
            Ok(price) => return Some(price),
            Err(e) => errors.add("price", e.to_string()),
        },
    }
    None
}

/// Validates a body. With `current`, absent fields keep their current values (PATCH).
pub fn validate(input: &ItemInput, current: Option<&ItemRow>) -> Result<ItemValues, FieldErrors> {
    let mut errors = FieldErrors::new();
    let keep = |field: &Option<Value>| current.is_some() && field.is_none();
    let name = if keep(&input.name) {
        current.map(|c| c.name.clone())
    } else {
        text(input.name.as_ref(), "name", NAME_MAX_CHARS, Lines::One, &mut errors)
    };
    let description = if keep(&input.description) {
        current.map(|c| c.description.clone())
    } else {
        text(input.description.as_ref(), "description", DESCRIPTION_MAX_CHARS, Lines::Many, &mut errors)
    };
    let price = if keep(&input.price) {
        current.and_then(|c| Price::from_cents(c.price_cents))
    } else {
        price(input.price.as_ref(), &mut errors)
    };
    match (name, description, price) {
        (Some(name), Some(description), Some(price)) if errors.is_empty() => {
            Ok(ItemValues { name, description, price })
        }
        _ => Err(errors),
    }
}

pub struct Page {
    pub items: Vec<Item>,
    pub total: i64,
}

pub async fn list(state: &AppState, limit: i64, offset: i64) -> Result<Page, Error> {
    db::read(&state.pool, move |c| {
        let (rows, total) = items::page_and_total(c, limit, offset)?;
        Ok(Page { items: rows.into_iter().map(to_item).collect(), total })
    })
    .await
}

pub async fn get(state: &AppState, id: i64) -> Result<Item, Error> {
    let row = db::read(&state.pool, move |c| Ok(items::find(c, id)?)).await?;
    row.map(to_item).ok_or(Error::NotFound)
}

pub async fn create(state: &AppState, owner: &LocalUser, input: ItemInput) -> Result<Item, Error> {
    let values = validate(&input, None)?;
    let owner = owner.clone();
    db::write(&state.pool, move |c| match items::insert(c, owner.id, &values, clock::now())? {
        Ok(id) => Ok(Item {
            id,
            name: values.name,
            description: values.description,
            price: values.price,
            user: ItemOwner { id: owner.id, email: owner.email },
        }),
        Err(NameTaken) => Err(FieldErrors::single("name", NAME_TAKEN).into()),
    })
    .await
}

/// PUT (`partial == false`) or PATCH. DRF's order: 404, then 403 for a non-owner, then 400.
pub async fn update(
    state: &AppState,
    owner: &LocalUser,
    id: i64,
    input: ItemInput,
    partial: bool,
) -> Result<Item, Error> {
    let owner_id = owner.id;
    db::write(&state.pool, move |c| {
        let current = items::find(c, id)?.ok_or(Error::NotFound)?;
        if current.user_id != owner_id {
            return Err(Error::NotOwner);
        }
        let values = validate(&input, partial.then_some(&current))?;
        match items::update(c, id, owner_id, &values, clock::now())? {
            Ok(true) => Ok(to_item(ItemRow {
                name: values.name,
                description: values.description,
                price_cents: values.price.cents(),
                ..current
            })),
            // Deleted by its owner between the read and the write.
            Ok(false) => Err(Error::NotFound),
            Err(NameTaken) => Err(FieldErrors::single("name", NAME_TAKEN).into()),
        }
    })
    .await
}

pub async fn delete(state: &AppState, owner: &LocalUser, id: i64) -> Result<(), Error> {
    let owner_id = owner.id;
    db::write(&state.pool, move |c| {
        if items::delete(c, id, owner_id)? {
            return Ok(());
        }
        match items::owner_of(c, id)? {
            Some(_) => Err(Error::NotOwner),
            None => Err(Error::NotFound),
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(value: Value) -> ItemInput {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_full_body_is_trimmed_and_priced_in_cents() {
        let values = validate(&input(json!({"name": " Mug ", "description": "Blue", "price": "12.5"})), None).unwrap();
        assert_eq!((values.name.as_str(), values.description.as_str(), values.price.cents()), ("Mug", "Blue", 1250));
    }

    #[test]
    fn every_field_gets_drfs_message() {
        let errors = validate(&input(json!({"name": "", "description": 5, "price": "1.234"})), None).unwrap_err();
        assert_eq!(errors.messages("name"), [messages::BLANK]);
        assert_eq!(errors.messages("description"), [messages::NOT_A_STRING]);
        assert_eq!(errors.messages("price"), ["Ensure that there are no more than 2 decimal places."]);
        let errors = validate(&input(json!({})), None).unwrap_err();
        for field in ["name", "description", "price"] {
            assert_eq!(errors.messages(field), [messages::REQUIRED]);
        }
    }

    #[test]
    fn nul_and_control_characters_are_refused_but_a_description_keeps_its_lines() {
        let errors = validate(&input(json!({"name": "a\0b", "description": "x\u{7}", "price": 1})), None).unwrap_err();
        assert_eq!(errors.messages("name"), [messages::NULL_CHARACTER]);
        assert_eq!(errors.messages("description"), [messages::CONTROL_CHARACTER]);
        let errors = validate(&input(json!({"name": "two\nlines", "description": "d", "price": 1})), None).unwrap_err();
        assert_eq!(errors.messages("name"), [messages::CONTROL_CHARACTER]);
        let values = validate(&input(json!({"name": "n", "description": "one\n\ttwo", "price": 1})), None).unwrap();
        assert_eq!(values.description, "one\n\ttwo");
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        let name = "é".repeat(50);
        assert!(validate(&input(json!({"name": name, "description": "d", "price": 1})), None).is_ok());
        let errors =
            validate(&input(json!({"name": "é".repeat(51), "description": "d", "price": 1})), None).unwrap_err();
        assert_eq!(errors.messages("name"), ["Ensure this field has no more than 50 characters."]);
    }

    #[test]
    fn a_partial_body_keeps_the_other_fields() {
        let current = ItemRow {
            id: 1,
            name: "Mug".into(),
            description: "Blue".into(),
            price_cents: 100,
            user_id: 1,
            owner_email: "a@b.co".into(),
        };
        let values = validate(&input(json!({"price": 2})), Some(&current)).unwrap();
        assert_eq!((values.name.as_str(), values.price.cents()), ("Mug", 200));
        assert!(validate(&input(json!({"name": null})), Some(&current)).is_err());
    }
}
