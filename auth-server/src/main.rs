//! `auth-server`: parse the command line, load settings, start logging, dispatch.

use auth_server::cli::{run_admin, Cli, Command};
use auth_server::{Application, Settings};
use clap::Parser;

fn main() {
    let cli = Cli::parse();
    let json = cli.json;
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("auth-server: configuration error: {e}");
            std::process::exit(2);
        }
    };
    shared_core::logging::init(settings.log.format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => actix_web::rt::System::new().block_on(async move {
            Application::build(settings).await?.run_until_stopped().await?;
            Ok(())
        }),
        command => run_admin(command, json, &settings),
    };
    if let Err(e) = result {
        eprintln!("auth-server: {}", shared_core::report::Chain(&*e));
        std::process::exit(1);
    }
}
