//! The admin command line: `serve` (default), `migrate`, `client ...`, `user ...`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use shared_core::config_loader::split_list;

use crate::service::admin::{self, ClientSpec};
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
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints its secret once.
    Create(CreateClient),
    /// List clients (never their secrets).
    List,
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
    /// Comma-separated: password,refresh_token,client_credentials
    #[arg(long, value_name = "LIST")]
    pub grant_types: String,
    /// Comma-separated, from the configured catalogue, e.g. read,write,introspection
    #[arg(long, value_name = "LIST", default_value = "")]
    pub scopes: String,
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
}

/// Runs an admin command (anything but `serve`) against the configured database, through the same pool
/// API the server uses.
pub fn run_admin(command: Command, settings: &Settings) -> Result<(), StartupError> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(admin(command, settings))
}

async fn admin(command: Command, settings: &Settings) -> Result<(), StartupError> {
    let pool = prepare_database(settings).await?;
    let cost = settings.security.bcrypt_cost;
    let catalogue = &settings.scopes.available;
    match command {
        Command::Serve => return Err("serve is not an admin command".into()),
        Command::Migrate => println!("database is up to date"),
        Command::Client(ClientCommand::Create(args)) => {
            let spec = ClientSpec {
                client_id: args.client_id,
                name: args.name,
                secret: args.client_secret,
                public: args.public,
                grant_types: split_list(&args.grant_types),
                scopes: split_list(&args.scopes),
            };
            let created = admin::create_client(&pool, spec, catalogue, cost).await?;
            println!("client_id: {}", created.client_id);
            match created.secret {
                Some(secret) => println!("client_secret: {secret}\n(store it now: it is kept only as a hash)"),
                None => println!("public client: no secret"),
            }
        }
        Command::Client(ClientCommand::List) => {
            println!("{:<45} {:<20} {:<13} {:<45} scopes", "client_id", "name", "type", "grant_types");
            for client in admin::list_clients(&pool).await? {
                let kind = if client.secret_hash.is_some() { "confidential" } else { "public" };
                println!(
                    "{:<45} {:<20} {:<13} {:<45} {}",
                    client.client_id, client.name, kind, client.grant_types, client.scopes
                );
            }
        }
        Command::Client(ClientCommand::Delete { client_id }) => {
            admin::delete_client(&pool, &client_id).await?;
            println!("deleted client {client_id} and its tokens");
        }
        Command::Client(ClientCommand::RotateSecret { client_id }) => {
            let secret = admin::rotate_secret(&pool, &client_id, cost).await?;
            println!("client_secret: {secret}\n(the old secret no longer works)");
        }
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
        }
    }
    Ok(())
}
