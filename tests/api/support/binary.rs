//! The real `otp-sidecar` binary as a child process, ready when `start`
//! returns, killed on drop.
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Sidecar {
    pub child: Child,
}

impl Sidecar {
    /// `otp-sidecar --config CONFIG run`, waited for until `/readyz` on
    /// `port` answers 200 (at most 20 s).
    pub async fn start(config: &Path, port: u16, stdout: Stdio) -> Sidecar {
        let child = Command::new(env!("CARGO_BIN_EXE_otp-sidecar"))
            .arg("--config")
            .arg(config)
            .arg("run")
            .env_remove("RUST_LOG")
            .stdout(stdout)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let sidecar = Sidecar { child };
        // reqwest is built without a default TLS provider (the service picks ring).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = client
                .get(format!("http://127.0.0.1:{port}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return sidecar;
            }
            assert!(Instant::now() < deadline, "not ready in time");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
