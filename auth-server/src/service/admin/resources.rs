//! Resources (RFC 8707 audiences), as the operator manages them: registered with the scopes a token for
//! them may carry, listed, deleted, and the configured ones brought back to their definition at every start.

use shared_core::clock;
use shared_core::db::DbPool;

use super::AdminError;
use crate::db::resources::{self, NewResource, ResourceRow};
use crate::service::registration::{self, check_resource_identifier};
use crate::settings::BootstrapResource;

/// Registers a resource; its scopes must be in the catalogue.
pub async fn create_resource(
    pool: &DbPool,
    identifier: &str,
    name: &str,
    scopes: &[String],
    catalogue: &[String],
) -> Result<(), AdminError> {
    let (name, scopes) = checked(identifier, name, scopes, catalogue)?;
    let identifier_owned = identifier.to_owned();
    let inserted = pool
        .write(move |c| -> Result<bool, AdminError> {
            let row =
                NewResource { identifier: &identifier_owned, name: &name, scopes: &scopes, created_at: clock::now() };
            Ok(resources::insert(c, &row)?)
        })
        .await?;
    if !inserted {
        return Err(AdminError::ResourceExists(identifier.to_owned()));
    }
    Ok(())
}

/// The name (the identifier when empty) and the stored scope list, once the definition is known valid.
fn checked(
    identifier: &str,
    name: &str,
    scopes: &[String],
    catalogue: &[String],
) -> Result<(String, String), AdminError> {
    check_resource_identifier(identifier)?;
    if scopes.is_empty() {
        return Err(registration::Invalid("a resource needs at least one scope".into()).into());
    }
    if let Some(unknown) = scopes.iter().find(|scope| !catalogue.contains(scope)) {
        return Err(
            registration::Invalid(format!("unknown scope {unknown:?}; available: {}", catalogue.join(", "))).into()
        );
    }
    let mut sorted: Vec<&str> = scopes.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let name = if name.is_empty() { identifier } else { name };
    Ok((name.to_owned(), sorted.join(" ")))
}

pub async fn list_resources(pool: &DbPool) -> Result<Vec<ResourceRow>, AdminError> {
    pool.read(|c| Ok(resources::list(c)?)).await
}

/// Deletes the resource. Tokens already issued for it keep their audience until they expire.
pub async fn delete_resource(pool: &DbPool, identifier: &str) -> Result<(), AdminError> {
    let id = identifier.to_owned();
    match pool.write(move |c| -> Result<usize, AdminError> { Ok(resources::delete(c, &id)?) }).await? {
        0 => Err(AdminError::NoSuchResource(identifier.to_owned())),
        _ => Ok(()),
    }
}

/// Creates the configured resource, or brings an existing one back to the configuration.
pub async fn bootstrap_resource(
    pool: &DbPool,
    config: &BootstrapResource,
    catalogue: &[String],
) -> Result<(), AdminError> {
    let name = config.name.clone().unwrap_or_default();
    let (name, scopes) = checked(&config.identifier, &name, &config.scopes, catalogue)?;
    let identifier = config.identifier.clone();
    pool.write(move |c| -> Result<(), AdminError> {
        let row = NewResource { identifier: &identifier, name: &name, scopes: &scopes, created_at: clock::now() };
        if !resources::insert(c, &row)? {
            resources::update(c, &identifier, &name, &scopes)?;
        }
        Ok(())
    })
    .await
}
