//! Bench support (`scripts/bench.sh`, scenario `rs_first_seen_jwt`): writes COUNT distinct JWT access
//! tokens, one a line, signed with the auth server's current key by its own signer, for the given users in
//! turn, as the token endpoint would issue them to CLIENT_ID. Reads the database from the auth server's
//! settings (`AUTH_SERVER__*`). Like the SQL-seeded opaque tokens of `rs_first_seen`, they are not issued
//! over HTTP: minting hundreds of thousands of user tokens that way would take minutes.
//!
//! usage: cargo run --release --bin mint_access_jwts -- ISSUER CLIENT_ID COUNT OUT_FILE SUBJECT...

use std::io::Write;
use std::sync::Arc;

use auth_server::service::access_jwt::{AccessTokenSigner, Subject};
use auth_server::startup::{prepare_database, start_signing_keys};
use auth_server::Settings;

type Failure = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [issuer, client_id, count, out, subjects @ ..] = args.as_slice() else {
        return Err("usage: mint_access_jwts ISSUER CLIENT_ID COUNT OUT_FILE SUBJECT...".into());
    };
    if subjects.is_empty() {
        return Err("name at least one user's subject".into());
    }
    let count: usize = count.parse()?;
    let settings = Settings::load(None)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let keys = runtime.block_on(async {
        let pool = prepare_database(&settings).await?;
        start_signing_keys(&settings, &pool).await
    })?;
    let signer = Arc::new(AccessTokenSigner { issuer: issuer.clone(), audience: issuer.clone(), lifetime: 3600, keys });
    let now = shared_core::clock::now();
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let minted: Vec<Vec<String>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|worker| {
                let signer = signer.clone();
                scope.spawn(move || {
                    (worker..count)
                        .step_by(threads)
                        .map(|n| {
                            let subject = Subject {
                                client_id,
                                user: Some(&subjects[n % subjects.len()]),
                                scope: "read write",
                                auth_time: None,
                                audience: None,
                            };
                            signer.mint(&subject, now).map_err(|e| e.to_string())
                        })
                        .collect::<Result<Vec<String>, String>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| Err("a minting thread panicked".to_owned())))
            .collect::<Result<_, _>>()
    })?;
    let mut file = std::io::BufWriter::new(std::fs::File::create(out)?);
    for token in minted.iter().flatten() {
        writeln!(file, "{token}")?;
    }
    file.flush()?;
    Ok(())
}
