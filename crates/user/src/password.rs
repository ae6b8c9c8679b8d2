//! Argon2id password hashes. Hashing is deliberately slow, so it runs on the
//! blocking pool behind a semaphore: a burst of log-ins queues instead of
//! spawning hundreds of threads that each take the configured memory.

use std::sync::Arc;

use argon2::password_hash::SaltString;
use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokio::sync::Semaphore;

use crate::error::{Error, Result};

/// Hashes and verifies passwords with the configured Argon2id cost.
#[derive(Clone)]
pub(crate) struct Passwords {
    argon: Argon2<'static>,
    /// A hash of nothing anybody knows, verified when an email is unknown so a
    /// log-in takes as long whether or not the account exists.
    decoy: Arc<str>,
    permits: Arc<Semaphore>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("params", self.argon.params())
            .finish_non_exhaustive()
    }
}

impl Passwords {
    /// Argon2id with `memory_kib`, `iterations` and `parallelism`.
    pub(crate) fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self> {
        let params = Params::new(memory_kib, iterations, parallelism, None)
            .map_err(|e| Error::Hashing(format!("argon2 parameters: {e}")))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let secret = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>());
        let decoy = hash_with(&argon, &secret)?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self {
            argon,
            decoy: decoy.into(),
            permits: Arc::new(Semaphore::new(cores * 2)),
        })
    }

    /// The PHC string of `password` under a fresh random salt.
    pub(crate) async fn hash(&self, password: String) -> Result<String> {
        let argon = self.argon.clone();
        self.blocking(move || hash_with(&argon, &password)).await?
    }

    /// Whether `password` matches `hash`; with no hash (unknown account) it
    /// spends the same time on the decoy and answers false.
    pub(crate) async fn verify(&self, password: String, hash: Option<String>) -> Result<bool> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.decoy.to_string());
        let argon = self.argon.clone();
        let matched = self
            .blocking(move || {
                let parsed = PasswordHash::new(&hash)
                    .map_err(|e| Error::Hashing(format!("stored hash: {e}")))?;
                Ok::<_, Error>(argon.verify_password(password.as_bytes(), &parsed).is_ok())
            })
            .await??;
        Ok(known && matched)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| Error::Hashing(e.to_string()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| Error::Hashing(format!("hashing task: {e}")))
    }
}

fn hash_with(argon: &Argon2<'_>, password: &str) -> Result<String> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| Error::Hashing(format!("salt: {e}")))?;
    argon
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| Error::Hashing(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_only_their_password() {
        let passwords = Passwords::new(64, 1, 1).expect("params");
        let hash = passwords
            .hash("correct horse 1".into())
            .await
            .expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{hash}");
        let again = passwords
            .hash("correct horse 1".into())
            .await
            .expect("hash");
        assert_ne!(hash, again, "every hash has its own salt");
        assert!(
            passwords
                .verify("correct horse 1".into(), Some(hash.clone()))
                .await
                .expect("verify")
        );
        assert!(
            !passwords
                .verify("correct horse 2".into(), Some(hash))
                .await
                .expect("verify")
        );
        assert!(
            !passwords
                .verify("anything".into(), None)
                .await
                .expect("decoy")
        );
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(Passwords::new(1, 1, 1).is_err());
    }
}
