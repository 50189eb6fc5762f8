//! Accounts: argon2id password hashes (computed on blocking threads, never on the
//! async runtime) and HS256 JWTs signed with a secret generated at first start and
//! kept in the data dir, readable by its owner only.

pub mod limiter;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

pub const SECRET_FILE: &str = "jwt_secret";
pub const MIN_PASSWORD_CHARS: usize = 8;

/// The JWT signing secret. Its `Debug` is redacted so it cannot leak into logs.
#[derive(Clone)]
pub struct JwtSecret(Vec<u8>);

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwtSecret(<redacted>)")
    }
}

impl JwtSecret {
    pub fn from_bytes(bytes: Vec<u8>) -> JwtSecret {
        JwtSecret(bytes)
    }

    /// Reads the secret from the data dir, creating it (64 random bytes, mode 0600)
    /// at first start. The new secret is written to a temporary file, synced, and
    /// renamed into place, so a crash never leaves a partial secret behind; an
    /// empty file (left by a crash of an older hub, which never signed anything
    /// with it) is replaced. A secret file that group or others may read or write
    /// is refused: anyone who reads it can sign a token for any account.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<JwtSecret> {
        let path = data_dir.join(SECRET_FILE);
        match std::fs::read(&path) {
            Ok(bytes) if bytes.is_empty() => {}
            Ok(bytes) => {
                check_private(&path)?;
                anyhow::ensure!(
                    bytes.len() >= 32,
                    "{} is too short to be a signing secret (move it away and restart to make a new one; every login token then ends)",
                    path.display()
                );
                return Ok(JwtSecret(bytes));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!("reading {}", path.display())))
            }
        }
        let mut bytes = vec![0u8; 64];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
        write_private_atomically(data_dir, &path, &bytes)?;
        Ok(JwtSecret(bytes))
    }
}

/// Refuses a secret file that group or others may read or write.
fn check_private(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        anyhow::ensure!(
            mode & 0o077 == 0,
            "{} may be read or written by other users of this computer (mode {:o}); \
             anyone who reads it can sign in as any account. Fix it with `chmod 600 {}` \
             and start again",
            path.display(),
            mode & 0o777,
            path.display()
        );
    }
    Ok(())
}

/// Writes `bytes` to `path` (mode 0600) so that `path` holds either nothing or
/// all of them: a temporary file in the same folder, synced, renamed into place,
/// and the folder synced so the rename survives a crash.
fn write_private_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let tmp = dir.join(format!("{SECRET_FILE}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let written = (|| -> std::io::Result<()> {
        let mut file = opts.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        #[cfg(unix)]
        std::fs::File::open(dir)?.sync_all()?;
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(|e| anyhow::Error::new(e).context(format!("writing {}", path.display())))
}

/// What a hub token says. `role` is the Postgres role (always `authenticated`, as
/// Supabase expects); the app role is `user_role`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub sub: String,
    pub shop_id: String,
    pub user_role: String,
    pub role: String,
    pub iat: i64,
    /// When the token was issued, in milliseconds (`iat` is whole seconds):
    /// what [`Claims::issued_ms`] compares with an account's deactivation.
    /// Tokens issued before it existed have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat_ms: Option<i64>,
    pub exp: i64,
    /// The account's credential stamp when the token was issued
    /// ([`credential_stamp`]): a token whose stamp no longer matches the account
    /// (its password was changed or reset since) is refused.
    pub stamp: String,
}

impl Claims {
    /// When the token was issued, in Unix milliseconds (a token without
    /// `iat_ms`: the start of its `iat` second).
    pub fn issued_ms(&self) -> i64 {
        self.iat_ms.unwrap_or(self.iat.saturating_mul(1000))
    }
}

/// A short digest of an account's current password hash. Each hash has its own
/// salt, so every password change or reset gives a new stamp (even to the same
/// password, even within the same second); the hash itself never leaves the hub.
pub fn credential_stamp(password_hash: Option<&str>) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(password_hash.unwrap_or("").as_bytes());
    hex::encode(&digest[..12])
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the token has expired; log in again")]
    Expired,
    #[error("the token is not valid")]
    Invalid,
}

pub fn issue(secret: &JwtSecret, claims: &Claims) -> anyhow::Result<String> {
    Ok(encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(&secret.0),
    )?)
}

pub fn verify(secret: &JwtSecret, token: &str) -> Result<Claims, TokenError> {
    let mut v = Validation::new(Algorithm::HS256);
    v.leeway = 0;
    v.set_required_spec_claims(&["exp", "sub"]);
    decode::<Claims>(token, &DecodingKey::from_secret(&secret.0), &v)
        .map(|d| d.claims)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
            _ => TokenError::Invalid,
        })
}

/// Most password hashes or checks computed at once. Each costs ~19 MiB and a
/// core for tens of milliseconds; login needs no account, so without a bound a
/// burst of logins would take every core and the blocking pool. Half the cores
/// (at least one, at most four); further calls wait their turn, none fails.
pub fn max_concurrent_hashes() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get().div_ceil(2))
        .unwrap_or(1)
        .clamp(1, 4)
}

fn hashing_permits() -> std::sync::Arc<tokio::sync::Semaphore> {
    static PERMITS: std::sync::OnceLock<std::sync::Arc<tokio::sync::Semaphore>> =
        std::sync::OnceLock::new();
    PERMITS
        .get_or_init(|| std::sync::Arc::new(tokio::sync::Semaphore::new(max_concurrent_hashes())))
        .clone()
}

static HASHING_NOW: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static HASHING_PEAK: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The most password hashes or checks this process has had running at once.
pub fn peak_concurrent_hashes() -> usize {
    HASHING_PEAK.load(std::sync::atomic::Ordering::Relaxed)
}

/// Runs `f` (an argon2 computation) on a blocking thread once a hashing permit is
/// free. The permit travels with the computation: a caller that goes away while
/// it runs does not free its permit before the computation ends.
async fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> anyhow::Result<T> {
    use std::sync::atomic::Ordering;
    let permit = hashing_permits().acquire_owned().await?;
    Ok(tokio::task::spawn_blocking(move || {
        let now = HASHING_NOW.fetch_add(1, Ordering::SeqCst) + 1;
        HASHING_PEAK.fetch_max(now, Ordering::SeqCst);
        let out = f();
        HASHING_NOW.fetch_sub(1, Ordering::SeqCst);
        drop(permit);
        out
    })
    .await?)
}

/// Hashes a password with argon2id on a blocking thread.
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    bounded(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
    })
    .await?
}

/// Checks a password against a stored hash on a blocking thread. `None` (no
/// account, or no password set) still spends the time of a real check, so the
/// answer's timing does not tell which e-mails exist.
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    bounded(move || {
        let known = hash.is_some();
        let stored = match hash {
            Some(h) => h,
            None => dummy_hash().to_string(),
        };
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && known
    })
    .await
    .unwrap_or(false)
}

/// A real argon2id hash (same parameters as real ones) of a random string nobody
/// knows, made once, so checking a login for an unknown e-mail costs a real check.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        let secret = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(secret.as_str().as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

pub fn check_password_rules(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!("must be at least {MIN_PASSWORD_CHARS} characters"));
    }
    if password.len() > 1024 {
        return Err("must be at most 1024 bytes".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: "u".into(),
            shop_id: "s".into(),
            user_role: "owner".into(),
            role: "authenticated".into(),
            iat: 0,
            exp,
            stamp: credential_stamp(Some("$argon2id$x")),
            iat_ms: None,
        }
    }

    #[test]
    fn tokens_round_trip_and_expire_and_forgeries_fail() {
        let s = JwtSecret(vec![7; 64]);
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let t = issue(&s, &claims(now + 60)).expect("issue");
        assert_eq!(verify(&s, &t), Ok(claims(now + 60)));
        let old = issue(&s, &claims(now - 1)).expect("issue");
        assert_eq!(verify(&s, &old), Err(TokenError::Expired));
        let other = JwtSecret(vec![8; 64]);
        assert_eq!(verify(&other, &t), Err(TokenError::Invalid));
    }

    #[tokio::test]
    async fn passwords_verify() {
        let h = hash_password("correct horse".into()).await.expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), Some(h.clone())).await);
        assert!(!verify_password("wrong horse".into(), Some(h)).await);
        assert!(!verify_password("anything".into(), None).await);
    }

    #[test]
    fn a_new_secret_is_private_and_an_empty_one_left_by_a_crash_is_replaced() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join(SECRET_FILE);
        // What a crash between creating and writing the file used to leave.
        std::fs::write(&path, b"").expect("empty secret");
        let s = JwtSecret::load_or_create(dir.path()).expect("an empty secret is replaced");
        assert_eq!(s.0.len(), 64);
        assert_eq!(std::fs::read(&path).expect("read"), s.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary file is left beside it, and the next start reads the same.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(SECRET_FILE)]);
        let again = JwtSecret::load_or_create(dir.path()).expect("reload");
        assert_eq!(again.0, s.0);
    }

    #[cfg(unix)]
    #[test]
    fn a_secret_others_can_read_is_refused_with_the_fix() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join(SECRET_FILE);
        JwtSecret::load_or_create(dir.path()).expect("create");
        for mode in [0o644, 0o640, 0o604, 0o620] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
            let e = JwtSecret::load_or_create(dir.path())
                .expect_err("a secret others can reach is refused")
                .to_string();
            assert!(e.contains(&path.display().to_string()), "{e}");
            assert!(e.contains("chmod 600"), "{e}");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        JwtSecret::load_or_create(dir.path()).expect("0600 loads");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn password_hashing_is_bounded_and_excess_calls_wait_their_turn() {
        let hash = hash_password("correct horse".into()).await.expect("hash");
        let max = max_concurrent_hashes();
        let mut calls = tokio::task::JoinSet::new();
        for i in 0..(4 * max + 4) {
            let hash = hash.clone();
            let pw = if i % 2 == 0 { "correct horse" } else { "wrong" };
            calls.spawn(async move { (i, verify_password(pw.into(), Some(hash)).await) });
        }
        let mut answered = 0;
        while let Some(done) = calls.join_next().await {
            let (i, ok) = done.expect("a check");
            assert_eq!(ok, i % 2 == 0, "check {i}");
            answered += 1;
        }
        assert_eq!(
            answered,
            4 * max + 4,
            "every call is answered, none refused"
        );
        let peak = peak_concurrent_hashes();
        assert!(
            (1..=max).contains(&peak),
            "{peak} hashes ran at once; the bound is {max}"
        );
    }
}
