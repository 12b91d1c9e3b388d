//! `resource-server`: parse the command line, load settings, start logging, serve.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use resource_server::{startup, Application, Settings};

#[derive(Parser)]
#[command(name = "resource-server", version, about = "OAuth 2.0 resource server (items API)")]
struct Cli {
    /// TOML file layered over the defaults (environment variables RESOURCE_SERVER__* still win).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Check the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate the settings, reach the database (without migrating it), print the effective settings with
    /// secrets redacted. Exit status 1 when the database cannot be used.
    Check {
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn main() {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("resource-server: configuration error: {e}");
            std::process::exit(2);
        }
    };
    shared_core::logging::init(settings.log.format);
    let result: Result<(), startup::StartupError> = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => actix_web::rt::System::new().block_on(async move {
            Application::build(settings).await?.run_until_stopped().await?;
            Ok(())
        }),
        Command::Config(ConfigCommand::Check { json }) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Into::into)
            .and_then(|runtime| Ok(runtime.block_on(resource_server::db::config_check(&settings)).print(json)?)),
        Command::Migrate => {
            // One connection: see the auth server's `run_admin`.
            let mut settings = settings.clone();
            settings.database.pool_size = 1;
            tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(Into::into).and_then(|runtime| {
                runtime.block_on(startup::prepare_database(&settings)).map(|_| println!("database is up to date"))
            })
        }
    };
    if let Err(e) = result {
        eprintln!("resource-server: {}", shared_core::report::Chain(&*e));
        std::process::exit(1);
    }
}
