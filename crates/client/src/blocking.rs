//! The same client without async (feature `blocking`): each call runs the async client on a
//! current-thread Tokio runtime owned by this client. Do not call it from inside an async
//! runtime; use [`crate::Client`] there.

use crate::{Activation, AppContext, Credentials, Error, Session, User, UserVariable};
use std::sync::Arc;

/// A blocking [`crate::Client`]. Cheap to clone; clones share the session and the runtime.
#[derive(Debug, Clone)]
pub struct Client {
    inner: crate::Client,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl Client {
    /// Wraps an async client, built with [`crate::Client::builder`].
    ///
    /// # Errors
    /// [`Error::Configuration`] when the runtime cannot be made.
    pub fn from_async(inner: crate::Client) -> Result<Self, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Configuration(format!("runtime: {e}")))?;
        Ok(Self {
            inner,
            runtime: Arc::new(runtime),
        })
    }

    /// As [`crate::Client::new`].
    ///
    /// # Errors
    /// As [`crate::ClientBuilder::build`].
    pub fn new(
        base_url: impl Into<String>,
        api_key: impl Into<String>,
        api_secret: impl Into<String>,
    ) -> Result<Self, Error> {
        Self::from_async(crate::Client::new(base_url, api_key, api_secret)?)
    }

    /// As [`crate::Client::sign_up`].
    ///
    /// # Errors
    /// As [`crate::Client::sign_up`].
    pub fn sign_up(&self, username: &str, password: &str) -> Result<User, Error> {
        self.runtime
            .block_on(self.inner.sign_up(username, password))
    }

    /// As [`crate::Client::sign_up_with_license_code`].
    ///
    /// # Errors
    /// As [`crate::Client::sign_up_with_license_code`].
    pub fn sign_up_with_license_code(&self, code: &str) -> Result<User, Error> {
        self.runtime
            .block_on(self.inner.sign_up_with_license_code(code))
    }

    /// As [`crate::Client::login`].
    ///
    /// # Errors
    /// As [`crate::Client::login`].
    pub fn login(&self, credentials: Credentials) -> Result<Session, Error> {
        self.runtime.block_on(self.inner.login(credentials))
    }

    /// As [`crate::Client::activate_license`].
    ///
    /// # Errors
    /// As [`crate::Client::activate_license`].
    pub fn activate_license(
        &self,
        code: &str,
        username: &str,
        password: &str,
    ) -> Result<Activation, Error> {
        self.runtime
            .block_on(self.inner.activate_license(code, username, password))
    }

    /// As [`crate::Client::app_context`].
    ///
    /// # Errors
    /// As [`crate::Client::app_context`].
    pub fn app_context(&self) -> Result<AppContext, Error> {
        self.runtime.block_on(self.inner.app_context())
    }

    /// As [`crate::Client::user_variables`].
    ///
    /// # Errors
    /// As [`crate::Client::user_variables`].
    pub fn user_variables(&self) -> Result<Vec<UserVariable>, Error> {
        self.runtime.block_on(self.inner.user_variables())
    }

    /// As [`crate::Client::set_user_variable`].
    ///
    /// # Errors
    /// As [`crate::Client::set_user_variable`].
    pub fn set_user_variable(&self, name: &str, value: &str) -> Result<UserVariable, Error> {
        self.runtime
            .block_on(self.inner.set_user_variable(name, value))
    }

    /// As [`crate::Client::delete_user_variable`].
    ///
    /// # Errors
    /// As [`crate::Client::delete_user_variable`].
    pub fn delete_user_variable(&self, name: &str) -> Result<(), Error> {
        self.runtime.block_on(self.inner.delete_user_variable(name))
    }
}
