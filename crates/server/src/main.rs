//! `latchkey serve | migrate | apps create`.

use adapters_http::CreatedApplicationResponse;
use anyhow::Context as _;
use clap::{Parser, Subcommand};
use domain::application::ApplicationName;
use domain::services::OperatorApi;
use server::settings::Settings;
use server::{Server, connect_and_migrate, service, telemetry};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "latchkey",
    version,
    about = "Self-hosted licensing and user authentication"
)]
struct Cli {
    /// A TOML configuration file; `LATCHKEY__SECTION__KEY` environment variables override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations, then serve.
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Manage applications.
    Apps {
        #[command(subcommand)]
        command: AppsCommand,
    },
}

#[derive(Subcommand)]
enum AppsCommand {
    /// Create an application and print its credentials (shown only once) as JSON.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        device_authentication: bool,
    },
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref())?;
    telemetry::init(&settings.log.format, &settings.log.level);
    match cli.command {
        Command::Serve => {
            let server = Server::build(&settings).await?;
            tracing::info!(bind = %settings.http.bind, port = server.port(), "serving");
            server.run().await.context("serving")
        }
        Command::Migrate => {
            connect_and_migrate(&settings).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Apps {
            command:
                AppsCommand::Create {
                    name,
                    device_authentication,
                },
        } => {
            let name = ApplicationName::parse(&name).context("--name")?;
            let store = connect_and_migrate(&settings).await?;
            let created = service(&store, &settings)
                .await?
                .create_application(name, device_authentication)
                .await?;
            let json = serde_json::to_string_pretty(&CreatedApplicationResponse::from(created))?;
            println!("{json}");
            Ok(())
        }
    }
}
