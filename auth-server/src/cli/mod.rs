//! The admin command line: `serve` (default), `migrate`, `client ...`, `user ...`, `token ...`, `keys ...`,
//! `resource ...`, `config check`. Every command prints text for a person, or with `--json` one JSON
//! document (an object or an array) for a script; errors go to stderr with a non-zero exit status.

mod clients;
mod keys;
mod output;
mod users;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use self::output::Output;
use crate::audit::{self, Event};
use crate::service::registration::AccessTokenFormat;
use crate::settings::Settings;
use crate::startup::{prepare_database, StartupError};

#[derive(Debug, Parser)]
#[command(name = "auth-server", version, about = "OAuth 2.0 authorization server")]
pub struct Cli {
    /// TOML file layered over the defaults (environment variables AUTH_SERVER__* still win).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Admin commands print one JSON document (an object or an array) instead of text.
    #[arg(long, global = true)]
    pub json: bool,
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
    /// End single tokens.
    #[command(subcommand)]
    Token(TokenCommand),
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
    /// secrets redacted. Exit status 1 when the database cannot be used. `--json`: one JSON object.
    Check,
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
    /// Show one client as `client list` does.
    Show {
        /// Client ids may start with '-' (generated ones did, once in 64, before 2026-11-28).
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    /// Change a client's name, grants, scopes, redirect URIs, origins or consent; never its secret.
    Update(UpdateClient),
    /// Delete a client and all its tokens.
    Delete {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    /// Replace a client's secret with a new random one; prints it once.
    RotateSecret {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
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
    #[arg(allow_hyphen_values = true)]
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
    /// List users: email, subject, created, state (active, disabled, locked until ...).
    List {
        /// Only those whose email contains TEXT, whatever its case.
        #[arg(long, value_name = "TEXT")]
        email_like: Option<String>,
    },
    /// Show a user: subject, times, state, wrong passwords, live tokens.
    Show { email: String },
    /// Lift an account's lock (after repeated wrong passwords) and forget its failures.
    Unlock { email: String },
    /// End every token and browser session of the account (resource servers hear of it at once).
    RevokeTokens { email: String },
    /// Refuse the account's sign-ins (answered as a wrong password) and end its tokens, sessions and codes.
    Disable { email: String },
    /// Let a disabled account sign in again.
    Enable { email: String },
    /// Delete the account after ending its tokens; resource servers keep what they store under its subject.
    Delete { email: String },
    /// Set the account's password (asks twice when --password is omitted) and end its tokens and sessions.
    SetPassword {
        email: String,
        #[arg(long)]
        password: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Revoke an access or refresh token by its value (opaque or JWT), as RFC 7009 revocation by its
    /// client would; exit status 1 when this server does not know the token.
    Revoke {
        /// Opaque tokens may start with '-'.
        #[arg(allow_hyphen_values = true)]
        token: String,
    },
}

/// Runs an admin command (anything but `serve`) against the configured database, through the same pool
/// API the server uses; `json` chooses the output.
pub fn run_admin(command: Command, json: bool, settings: &Settings) -> Result<(), StartupError> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    if let Command::Config(ConfigCommand::Check) = command {
        return Ok(runtime.block_on(crate::db::config_check(settings)).print(json)?);
    }
    // One connection: a command needs no more, and a pool that is still opening others when the process
    // exits can crash it in libpq's exit handlers (seen as a CLI that printed its answer and still failed).
    let mut settings = settings.clone();
    settings.database.pool_size = 1;
    runtime.block_on(admin(command, Output { json }, &settings))
}

async fn admin(command: Command, out: Output, settings: &Settings) -> Result<(), StartupError> {
    let pool = prepare_database(settings).await?;
    match command {
        Command::Serve | Command::Config(_) => Err("not an admin command of the database".into()),
        Command::Migrate => {
            out.show(&serde_json::json!({ "database": "up to date" }), |_| "database is up to date\n".to_owned())
        }
        Command::Client(command) => clients::client_command(&pool, command, out, settings).await,
        Command::Resource(command) => clients::resource_command(&pool, command, out, settings).await,
        Command::Keys(command) => keys::keys_command(&pool, command, out, settings).await,
        Command::User(command) => users::user_command(&pool, command, out, settings).await,
        Command::Token(TokenCommand::Revoke { token }) => users::revoke_token(&pool, &token, out).await,
    }
}

/// The audit line of an admin command that changed something.
fn audit_admin(command: &str, target: &str) {
    audit::emit(Event::AdminAction { command, target });
}
