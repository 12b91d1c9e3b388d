//! The admin command line: `serve` (default), `migrate`, `client ...`, `user ...`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use shared_core::config_loader::split_list;

use crate::audit::{self, Event};
use crate::service::admin::{self, ClientChanges, ClientSpec};
use crate::service::keys::{self, KeyState};
use crate::service::registration::{AccessTokenFormat, ClientProfile};
use crate::settings::Settings;
use crate::startup::{prepare_database, StartupError};

#[derive(Debug, Parser)]
#[command(name = "auth-server", version, about = "OAuth 2.0 authorization server")]
pub struct Cli {
    /// TOML file layered over the defaults (environment variables AUTH_SERVER__* still win).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage OAuth clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the OpenID Connect signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage resources: the APIs (audiences, RFC 8707) tokens may be minted for.
    #[command(subcommand)]
    Resource(ResourceCommand),
    /// Check the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the settings, reach the database (without migrating it), print the effective settings with
    /// secrets redacted. Exit status 1 when the database cannot be used.
    Check {
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ResourceCommand {
    /// Register a resource server's API; tokens asked for it with `resource=IDENTIFIER` carry it as `aud`.
    Create {
        /// An absolute URI without a fragment: the resource server's auth.audience.
        #[arg(long)]
        identifier: String,
        /// Comma-separated: the scopes a token for it may carry.
        #[arg(long, value_name = "LIST")]
        scopes: String,
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List the registered resources.
    List,
    /// Delete a resource; tokens already issued for it keep their audience until they expire.
    Delete { identifier: String },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Show every key: the one that signs, those still published, the retired ones.
    List,
    /// Create a new key that signs from now on; the old one stays published until what it signed expires.
    /// Running servers pick it up within 30 seconds.
    Rotate,
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints its secret once.
    Create(CreateClient),
    /// List clients (never their secrets).
    List,
    /// Change a client's name, grants, scopes, redirect URIs, origins or consent; never its secret.
    Update(UpdateClient),
    /// Delete a client and all its tokens.
    Delete { client_id: String },
    /// Replace a client's secret with a new random one; prints it once.
    RotateSecret { client_id: String },
}

#[derive(Debug, Args)]
pub struct CreateClient {
    #[arg(long)]
    pub name: String,
    /// Generated (256 bits) when omitted.
    #[arg(long)]
    pub client_id: Option<String>,
    /// Generated (256 bits) when omitted.
    #[arg(long, conflicts_with = "public")]
    pub client_secret: Option<String>,
    /// A public client: no secret (cannot use client_credentials).
    #[arg(long)]
    pub public: bool,
    /// Comma-separated: authorization_code,password,refresh_token,client_credentials
    #[arg(long, value_name = "LIST")]
    pub grant_types: String,
    /// Comma-separated, from the configured catalogue, e.g. read,write,introspection
    #[arg(long, value_name = "LIST", default_value = "")]
    pub scopes: String,
    /// Comma-separated; exact strings (authorization_code). https, http on a loopback host, or a
    /// private-use scheme (com.example.app:/callback).
    #[arg(long, value_name = "URL[,URL]", default_value = "")]
    pub redirect_uris: String,
    /// Comma-separated; where /o/logout/ may send the user back.
    #[arg(long, value_name = "URL[,URL]", default_value = "")]
    pub post_logout_redirect_uris: String,
    /// Comma-separated browser origins allowed to call the token, userinfo and discovery endpoints (CORS).
    #[arg(long, value_name = "ORIGIN[,ORIGIN]", default_value = "")]
    pub allowed_origins: String,
    /// A first-party client: users are not asked for consent.
    #[arg(long)]
    pub skip_consent: bool,
    /// A confidential client that may use the code flow without PKCE (RFC 9700 §2.1.1 discourages it).
    #[arg(long, conflicts_with = "public")]
    pub allow_no_pkce: bool,
    /// opaque: random strings, checked by introspection; jwt: RFC 9068 JWTs a resource server verifies itself.
    #[arg(long, value_enum, default_value = "opaque")]
    pub access_token_format: AccessTokenFormat,
    /// Comma-separated resource identifiers (RFC 8707) it may ask tokens for; empty: any registered one.
    #[arg(long, value_name = "URI[,URI]", default_value = "")]
    pub audiences: String,
}

#[derive(Debug, Args)]
pub struct UpdateClient {
    pub client_id: String,
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long, value_name = "LIST")]
    pub grant_types: Option<String>,
    #[arg(long, value_name = "LIST")]
    pub scopes: Option<String>,
    /// Replaces the list; an empty value clears it.
    #[arg(long, value_name = "URL[,URL]")]
    pub redirect_uris: Option<String>,
    #[arg(long, value_name = "URL[,URL]")]
    pub post_logout_redirect_uris: Option<String>,
    #[arg(long, value_name = "ORIGIN[,ORIGIN]")]
    pub allowed_origins: Option<String>,
    #[arg(long, value_name = "true|false")]
    pub skip_consent: Option<bool>,
    #[arg(long, value_name = "true|false")]
    pub allow_no_pkce: Option<bool>,
    #[arg(long, value_enum)]
    pub access_token_format: Option<AccessTokenFormat>,
    /// Replaces the list; an empty value: any registered resource.
    #[arg(long, value_name = "URI[,URI]")]
    pub audiences: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; asks for the password when --password is omitted.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: Option<String>,
    },
    /// Lift an account's lock (after repeated wrong passwords) and forget its failures.
    Unlock { email: String },
    /// End every token and browser session of the account (resource servers hear of it at once).
    RevokeTokens { email: String },
}

/// Runs an admin command (anything but `serve`) against the configured database, through the same pool
/// API the server uses.
pub fn run_admin(command: Command, settings: &Settings) -> Result<(), StartupError> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    if let Command::Config(ConfigCommand::Check { json }) = command {
        return Ok(runtime.block_on(crate::db::config_check(settings)).print(json)?);
    }
    // One connection: a command needs no more, and a pool that is still opening others when the process
    // exits can crash it in libpq's exit handlers (seen as a CLI that printed its answer and still failed).
    let mut settings = settings.clone();
    settings.database.pool_size = 1;
    runtime.block_on(admin(command, &settings))
}

async fn admin(command: Command, settings: &Settings) -> Result<(), StartupError> {
    let pool = prepare_database(settings).await?;
    let cost = settings.security.bcrypt_cost;
    let catalogue = &settings.scopes.available;
    match command {
        Command::Serve | Command::Config(_) => return Err("not an admin command of the database".into()),
        Command::Migrate => println!("database is up to date"),
        Command::Client(ClientCommand::Create(args)) => {
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
            let spec =
                ClientSpec { client_id: args.client_id, secret: args.client_secret, public: args.public, profile };
            let created = admin::create_client(&pool, spec, catalogue, cost).await?;
            audit_admin("client create", &created.client_id);
            println!("client_id: {}", created.client_id);
            match created.secret {
                Some(secret) => println!("client_secret: {secret}\n(store it now: it is kept only as a hash)"),
                None => println!("public client: no secret"),
            }
        }
        Command::Client(ClientCommand::Update(args)) => {
            let list = |value: Option<String>| value.map(|v| split_list(&v));
            let changes = ClientChanges {
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
            };
            admin::update_client(&pool, &args.client_id, changes, catalogue).await?;
            audit_admin("client update", &args.client_id);
            println!("updated client {}", args.client_id);
        }
        Command::Client(ClientCommand::List) => {
            for client in admin::list_clients(&pool).await? {
                let kind = if client.secret_hash.is_some() { "confidential" } else { "public" };
                let profile = admin::profile_of(&client);
                println!("{}  ({}, {kind})", client.client_id, profile.name);
                println!("    grant_types: {}", client.grant_types);
                println!("    scopes: {}", client.scopes);
                println!("    access_token_format: {}", client.access_token_format);
                if !profile.audiences.is_empty() {
                    println!("    audiences: {}", profile.audiences.join(" "));
                }
                if !profile.redirect_uris.is_empty() {
                    println!("    redirect_uris: {}", profile.redirect_uris.join(" "));
                    println!("    pkce: {}", if profile.require_pkce { "required" } else { "optional" });
                }
                if !profile.post_logout_redirect_uris.is_empty() {
                    println!("    post_logout_redirect_uris: {}", profile.post_logout_redirect_uris.join(" "));
                }
                if !profile.allowed_origins.is_empty() {
                    println!("    allowed_origins: {}", profile.allowed_origins.join(" "));
                }
                if profile.skip_consent {
                    println!("    consent: skipped (first-party)");
                }
            }
        }
        Command::Client(ClientCommand::Delete { client_id }) => {
            admin::delete_client(&pool, &client_id).await?;
            audit_admin("client delete", &client_id);
            println!("deleted client {client_id} and its tokens");
        }
        Command::Client(ClientCommand::RotateSecret { client_id }) => {
            let secret = admin::rotate_secret(&pool, &client_id, cost).await?;
            audit_admin("client rotate-secret", &client_id);
            println!("client_secret: {secret}\n(the old secret no longer works)");
        }
        Command::Keys(command) => keys_command(&pool, command, settings).await?,
        Command::Resource(command) => resource_command(&pool, command, catalogue).await?,
        Command::User(UserCommand::Create { email, password }) => {
            let password = match password {
                Some(p) => p,
                None => {
                    let first = rpassword::prompt_password("Password: ")?;
                    let again = rpassword::prompt_password("Password (again): ")?;
                    if first != again {
                        return Err("passwords do not match".into());
                    }
                    first
                }
            };
            let email = admin::create_user(&pool, &email, &password, cost).await?;
            println!("created user {email}");
            audit_admin("user create", &email);
        }
        Command::User(UserCommand::RevokeTokens { email }) => {
            admin::revoke_user_tokens(&pool, &email).await?;
            audit_admin("user revoke-tokens", &email);
            println!("revoked every token and session of {email}");
        }
        Command::User(UserCommand::Unlock { email }) => {
            let (subject, was_locked) = admin::unlock_user(&pool, &email).await?;
            println!("{}", if was_locked { "unlocked" } else { "not locked: nothing to do" });
            if was_locked {
                audit::emit(Event::AccountUnlocked { user: &subject, email: &email, by: "admin_cli" });
            }
        }
    }
    Ok(())
}

/// The audit line of an admin command that changed something.
fn audit_admin(command: &str, target: &str) {
    audit::emit(Event::AdminAction { command, target });
}

async fn resource_command(
    pool: &shared_core::db::DbPool,
    command: ResourceCommand,
    catalogue: &[String],
) -> Result<(), StartupError> {
    match command {
        ResourceCommand::Create { identifier, scopes, name } => {
            admin::create_resource(pool, &identifier, &name, &split_list(&scopes), catalogue).await?;
            audit_admin("resource create", &identifier);
            println!("resource {identifier} created");
        }
        ResourceCommand::List => {
            for resource in admin::list_resources(pool).await? {
                println!("{}  ({})", resource.identifier, resource.name);
                println!("    scopes: {}", resource.scopes);
            }
        }
        ResourceCommand::Delete { identifier } => {
            admin::delete_resource(pool, &identifier).await?;
            audit_admin("resource delete", &identifier);
            println!("deleted resource {identifier}");
        }
    }
    Ok(())
}

async fn keys_command(
    pool: &shared_core::db::DbPool,
    command: KeysCommand,
    settings: &Settings,
) -> Result<(), StartupError> {
    let now = shared_core::clock::now();
    let published_for = settings.tokens.longest_signed_lifetime();
    if matches!(command, KeysCommand::Rotate) {
        let kid = keys::rotate(pool, now).await?;
        audit_admin("keys rotate", &kid);
        println!("new signing key {kid}; the previous one stays published for {published_for} s");
    }
    // The first key is made by the server's first start; `keys list` before that shows none.
    let when = |epoch: i64| {
        chrono::DateTime::from_timestamp(epoch, 0)
            .map_or_else(|| epoch.to_string(), |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
    };
    for key in keys::list(pool, published_for, now).await? {
        let state = match key.state {
            KeyState::Active => "active (signs)".to_owned(),
            KeyState::Published { until } => format!("published until {}", when(until)),
            KeyState::Retired => "retired".to_owned(),
        };
        println!("{}  {}  created {}  {state}", key.kid, key.algorithm, when(key.created_at));
    }
    Ok(())
}
