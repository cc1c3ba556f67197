//! Writes a throwaway test CA and a server certificate for 127.0.0.1 into a
//! directory: `ca.pem`, `server.pem`, `server.key`. The Python and Kotlin
//! HTTPS tests run it (`scripts/test-mobile.sh` builds it).
//!
//! Usage: `cargo run -p rapport-e2e --example test_ca -- DIR`

#[path = "../tests/support/test_ca.rs"]
mod test_ca;

fn main() -> std::process::ExitCode {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: test_ca DIR");
        return std::process::ExitCode::from(2);
    };
    match test_ca::write(std::path::Path::new(&dir)) {
        Ok(files) => {
            println!("{}", files.ca_cert.display());
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("test_ca: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
