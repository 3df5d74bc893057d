//! Signs in with a license code, prints the membership and reads a variable.
//!
//! ```sh
//! LATCHKEY_URL=http://127.0.0.1:8080 LATCHKEY_API_KEY=lk_app_… LATCHKEY_API_SECRET=lk_sec_… \
//! LATCHKEY_PUBLIC_KEY=… cargo run -p latchkey-client --example license_sign_in -- CODE [VARIABLE]
//! ```
//! `LATCHKEY_PUBLIC_KEY` (the application's `response_signing_public_key`) is optional here;
//! a shipped program pins it at build time. `LATCHKEY_HARDWARE_ID` and
//! `LATCHKEY_REQUEST_KEY` (the request-signing private key) are optional too.

use latchkey_client::{Client, Credentials};
use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let env = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));
    let mut args = std::env::args().skip(1);
    let code = args
        .next()
        .ok_or("usage: license_sign_in CODE [VARIABLE]")?;
    let variable = args.next();

    let mut builder = Client::builder(
        env("LATCHKEY_URL")?,
        env("LATCHKEY_API_KEY")?,
        env("LATCHKEY_API_SECRET")?,
    );
    if let Ok(key) = env("LATCHKEY_PUBLIC_KEY") {
        builder = builder.response_signing_public_key(key);
    }
    if let Ok(key) = env("LATCHKEY_REQUEST_KEY") {
        builder = builder.request_signing_private_key(key);
    }
    if let Ok(hardware_id) = env("LATCHKEY_HARDWARE_ID") {
        builder = builder.hardware_id(hardware_id);
    }
    let client = builder.build()?;

    // A new code signs a user up first; a used one just signs in.
    match client.sign_up_with_license_code(&code).await {
        Ok(user) => println!("signed up as {}", user.username),
        Err(latchkey_client::Error::InvalidLicenseCode { .. }) => {}
        Err(error) => return Err(error.into()),
    }
    let session = client.login(Credentials::license_code(code)).await?;
    println!("session until {}", session.expires_at);
    let context = client.app_context().await?;
    if let Some(user) = &context.user {
        println!("user {}: {:?}", user.username, user.membership);
    }
    if let Some(name) = variable {
        match context.variable(&name) {
            Some(value) => println!("{name} = {value}"),
            None => println!("{name} is not set"),
        }
    }
    Ok(())
}
