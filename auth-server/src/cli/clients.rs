//! `client ...` and `resource ...`: what may ask for tokens, and what tokens may be for.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::json;
use shared_core::config_loader::split_list;
use shared_core::db::DbPool;

use super::output::Output;
use super::{audit_admin, ClientCommand, CreateClient, ResourceCommand, UpdateClient};
use crate::db::clients::ClientRow;
use crate::service::admin::{self, ClientChanges, ClientSpec};
use crate::service::registration::ClientProfile;
use crate::settings::Settings;
use crate::startup::StartupError;

/// A client as `client list` and `client show` print it (never its secret).
#[derive(Debug, Serialize)]
struct ClientView {
    client_id: String,
    /// `confidential` (has a secret) or `public`.
    kind: &'static str,
    #[serde(flatten)]
    profile: ClientProfile,
}

impl ClientView {
    fn of(row: &ClientRow) -> Self {
        let kind = if row.secret_hash.is_some() { "confidential" } else { "public" };
        Self { client_id: row.client_id.clone(), kind, profile: admin::profile_of(row) }
    }

    /// The text lines: what is set, what is not left out.
    fn text(&self) -> String {
        let profile = &self.profile;
        let mut text = format!("{}  ({}, {})\n", self.client_id, profile.name, self.kind);
        let mut line = |name: &str, value: &str| {
            let _ = writeln!(text, "    {name}: {value}");
        };
        line("grant_types", &profile.grant_types.join(" "));
        line("scopes", &profile.scopes.join(" "));
        line("access_token_format", profile.access_token_format.as_str());
        if !profile.audiences.is_empty() {
            line("audiences", &profile.audiences.join(" "));
        }
        if !profile.redirect_uris.is_empty() {
            line("redirect_uris", &profile.redirect_uris.join(" "));
            line("pkce", if profile.require_pkce { "required" } else { "optional" });
        }
        if !profile.post_logout_redirect_uris.is_empty() {
            line("post_logout_redirect_uris", &profile.post_logout_redirect_uris.join(" "));
        }
        if !profile.allowed_origins.is_empty() {
            line("allowed_origins", &profile.allowed_origins.join(" "));
        }
        if profile.skip_consent {
            line("consent", "skipped (first-party)");
        }
        text
    }
}

pub(super) async fn client_command(
    pool: &DbPool,
    command: ClientCommand,
    out: Output,
    settings: &Settings,
) -> Result<(), StartupError> {
    let cost = settings.security.bcrypt_cost;
    let catalogue = &settings.scopes.available;
    match command {
        ClientCommand::Create(args) => {
            let created = admin::create_client(pool, spec_of(args), catalogue, cost).await?;
            audit_admin("client create", &created.client_id);
            // The secret is printed in JSON too: this is the only time it exists in clear.
            let shown = json!({ "client_id": created.client_id, "client_secret": created.secret });
            out.show(&shown, |_| {
                let id = format!("client_id: {}\n", created.client_id);
                match &created.secret {
                    Some(secret) => format!("{id}client_secret: {secret}\n(store it now: it is kept only as a hash)\n"),
                    None => format!("{id}public client: no secret\n"),
                }
            })
        }
        ClientCommand::Update(args) => {
            let client_id = args.client_id.clone();
            admin::update_client(pool, &client_id, changes_of(args), catalogue).await?;
            audit_admin("client update", &client_id);
            out.show(&json!({ "client_id": client_id, "updated": true }), |_| format!("updated client {client_id}\n"))
        }
        ClientCommand::List => {
            let views: Vec<ClientView> = admin::list_clients(pool).await?.iter().map(ClientView::of).collect();
            out.show(&views, |views| views.iter().map(ClientView::text).collect())
        }
        ClientCommand::Show { client_id } => {
            let row = admin::show_client(pool, &client_id).await?;
            out.show(&ClientView::of(&row), ClientView::text)
        }
        ClientCommand::Delete { client_id } => {
            admin::delete_client(pool, &client_id).await?;
            audit_admin("client delete", &client_id);
            let shown = json!({ "client_id": client_id, "deleted": true });
            out.show(&shown, |_| format!("deleted client {client_id} and its tokens\n"))
        }
        ClientCommand::RotateSecret { client_id } => {
            let secret = admin::rotate_secret(pool, &client_id, cost).await?;
            audit_admin("client rotate-secret", &client_id);
            let shown = json!({ "client_id": client_id, "client_secret": secret });
            out.show(&shown, |_| format!("client_secret: {secret}\n(the old secret no longer works)\n"))
        }
    }
}

fn spec_of(args: CreateClient) -> ClientSpec {
    let profile = ClientProfile {
        name: args.name,
        grant_types: split_list(&args.grant_types),
        scopes: split_list(&args.scopes),
        redirect_uris: split_list(&args.redirect_uris),
        post_logout_redirect_uris: split_list(&args.post_logout_redirect_uris),
        allowed_origins: split_list(&args.allowed_origins),
        skip_consent: args.skip_consent,
        require_pkce: !args.allow_no_pkce,
        access_token_format: args.access_token_format,
        audiences: split_list(&args.audiences),
    };
    ClientSpec { client_id: args.client_id, secret: args.client_secret, public: args.public, profile }
}

fn changes_of(args: UpdateClient) -> ClientChanges {
    let list = |value: Option<String>| value.map(|v| split_list(&v));
    ClientChanges {
        name: args.name,
        grant_types: list(args.grant_types),
        scopes: list(args.scopes),
        redirect_uris: list(args.redirect_uris),
        post_logout_redirect_uris: list(args.post_logout_redirect_uris),
        allowed_origins: list(args.allowed_origins),
        skip_consent: args.skip_consent,
        require_pkce: args.allow_no_pkce.map(|allow| !allow),
        access_token_format: args.access_token_format,
        audiences: list(args.audiences),
    }
}

pub(super) async fn resource_command(
    pool: &DbPool,
    command: ResourceCommand,
    out: Output,
    settings: &Settings,
) -> Result<(), StartupError> {
    let catalogue = &settings.scopes.available;
    match command {
        ResourceCommand::Create { identifier, scopes, name } => {
            admin::create_resource(pool, &identifier, &name, &split_list(&scopes), catalogue).await?;
            audit_admin("resource create", &identifier);
            out.show(&json!({ "identifier": identifier, "created": true }), |_| {
                format!("resource {identifier} created\n")
            })
        }
        ResourceCommand::List => {
            let resources = admin::list_resources(pool).await?;
            let shown: Vec<_> = resources
                .iter()
                .map(|r| json!({ "identifier": r.identifier, "name": r.name, "scopes": split_list(&r.scopes) }))
                .collect();
            out.show(&shown, |_| {
                resources
                    .iter()
                    .map(|r| format!("{}  ({})\n    scopes: {}\n", r.identifier, r.name, r.scopes))
                    .collect()
            })
        }
        ResourceCommand::Delete { identifier } => {
            admin::delete_resource(pool, &identifier).await?;
            audit_admin("resource delete", &identifier);
            out.show(&json!({ "identifier": identifier, "deleted": true }), |_| {
                format!("deleted resource {identifier}\n")
            })
        }
    }
}
