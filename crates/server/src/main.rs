//! `latchkey serve | migrate | apps create | operators create`.

use adapters_http::CreatedApplicationResponse;
use anyhow::Context as _;
use clap::{Parser, Subcommand};
use domain::application::ApplicationName;
use domain::operator_account::{OperatorEmail, OperatorRole};
use domain::ports::NoLimits;
use domain::services::{CreateAccountError, OperatorApi};
use domain::values::Password;
use server::settings::Settings;
use server::{Server, connect_and_migrate, hasher, operator_accounts, service, telemetry};
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
    /// Manage the console's operator accounts.
    Operators {
        #[command(subcommand)]
        command: OperatorsCommand,
    },
}

#[derive(Subcommand)]
enum OperatorsCommand {
    /// Create an operator account for the console; the password is read from standard input
    /// (so it stays out of the shell history and the process list).
    Create {
        #[arg(long)]
        email: String,
        /// Read the password from standard input (its first line). Required.
        #[arg(long, required = true)]
        password_stdin: bool,
        /// `owner` (everything) or `support` (read, adjust memberships, reset devices).
        #[arg(long, default_value = "owner")]
        role: String,
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
        Command::Operators {
            command:
                OperatorsCommand::Create {
                    email,
                    password_stdin: _,
                    role,
                },
        } => {
            let email = OperatorEmail::parse(&email).context("--email")?;
            let role = OperatorRole::parse(&role).context("--role")?;
            let mut line = zeroize::Zeroizing::new(String::new());
            std::io::stdin()
                .read_line(&mut line)
                .context("reading the password from standard input")?;
            let password = Password::parse(line.trim_end_matches(['\r', '\n']))
                .context("the password on standard input")?;
            let store = connect_and_migrate(&settings).await?;
            let master_key = std::sync::Arc::new(server::master_key::load(&settings.secrets)?);
            let accounts = operator_accounts(
                &store,
                hasher(&settings)?,
                std::sync::Arc::new(NoLimits),
                master_key,
            );
            let account = match accounts.create_account(email, &password, role).await {
                Ok(account) => account,
                Err(CreateAccountError::EmailTaken) => {
                    anyhow::bail!("an operator with this e-mail address exists already")
                }
                Err(error) => return Err(error.into()),
            };
            println!(
                "{}",
                serde_json::json!({
                    "id": account.id.to_string(),
                    "email": account.email.as_str(),
                    "role": account.role.as_str(),
                })
            );
            Ok(())
        }
    }
}
