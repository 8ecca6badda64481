//! A real `redis-server` for the store suite: started on a free loopback
//! port (plain, TLS with its own CA, or as a cluster node), killed on drop.
use std::time::Duration;

use super::*;

/// A real `redis-server` on a free loopback port, killed on drop. No
/// persistence, its own working directory.
pub(crate) struct RedisServer {
    child: Option<std::process::Child>,
    port: u16,
    dir: std::path::PathBuf,
    extra: Vec<String>,
    /// Serves TLS only, with certificates made by [`make_certificates`].
    tls: bool,
}

pub(super) fn redis_url(raw: &str) -> RedisUrl {
    RedisUrl::parse(raw).unwrap()
}

pub(super) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl RedisServer {
    pub(crate) fn start() -> RedisServer {
        RedisServer::start_with(&[], false, false)
    }

    /// A server that speaks TLS only, with a certificate for 127.0.0.1 from
    /// its own CA ([`RedisServer::ca_pem`]).
    pub(crate) fn start_tls() -> RedisServer {
        RedisServer::start_with(&[], false, true)
    }

    /// A node for a Redis Cluster (not yet joined to one).
    pub(crate) fn start_cluster_node() -> RedisServer {
        RedisServer::start_with(
            &[
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                "2000",
            ],
            true,
            false,
        )
    }

    /// A replica of the plain server on `master_port`, its link up.
    pub(crate) fn start_replica_of(master_port: u16) -> RedisServer {
        let port = master_port.to_string();
        let replica = RedisServer::start_with(&["--replicaof", "127.0.0.1", &port], false, false);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let info: String = ::redis::Client::open(replica.url())
                .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(1)))
                .and_then(|mut c| ::redis::cmd("INFO").arg("replication").query(&mut c))
                .unwrap_or_default();
            if info.contains("master_link_status:up") {
                return replica;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "replica of {master_port} not linked within 10 s: {info}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Started with extra `redis-server` arguments.
    fn start_with(extra: &[&str], cluster: bool, tls: bool) -> RedisServer {
        // A free port can be taken by someone else before redis binds it: retry.
        let mut last_error = String::new();
        for _ in 0..5 {
            let dir = std::env::temp_dir().join(format!(
                "otp-redis-{}-{}",
                std::process::id(),
                ChallengeId::generate()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let mut server = RedisServer {
                child: None,
                port: free_port(),
                dir,
                extra: extra.iter().map(|s| (*s).to_owned()).collect(),
                tls,
            };
            if tls {
                make_certificates(&server.dir);
            }
            // Cluster mode: the bus port is picked along with the port.
            if cluster {
                server.extra.push("--cluster-port".into());
                server.extra.push(free_port().to_string());
            }
            match server.launch() {
                Ok(()) => return server,
                Err(e) => last_error = e,
            }
        }
        panic!("could not start redis-server: {last_error}");
    }

    fn launch(&mut self) -> Result<(), String> {
        let mut cmd = std::process::Command::new("redis-server");
        if self.tls {
            let file = |name: &str| self.dir.join(name).display().to_string();
            cmd.args(["--port", "0", "--tls-port", &self.port.to_string()])
                .args(["--tls-cert-file", &file("server.crt")])
                .args(["--tls-key-file", &file("server.key")])
                .args(["--tls-ca-cert-file", &file("ca.crt")])
                .args(["--tls-auth-clients", "no"]);
        } else {
            cmd.args(["--port", &self.port.to_string()]);
        }
        cmd.args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--dir", &self.dir.display().to_string()])
            .args(&self.extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "redis-server is not installed; the store tests need a real one \
                 (apt-get install redis-server; scripts/test-all.sh does this)"
            ),
            Err(e) => panic!("cannot run redis-server: {e}"),
        };
        self.child = Some(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                return Err(format!("redis-server exited with {status}"));
            }
            if self.answers_ping() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop();
        Err("redis-server did not answer PING within 10 s".into())
    }

    /// True when *our* child answers on the port: a free port can be grabbed
    /// by another test's server before ours binds it, so the pid must match.
    fn answers_ping(&self) -> bool {
        let Some(pid) = self.child.as_ref().map(std::process::Child::id) else {
            return false;
        };
        let client = if self.tls {
            ::redis::Client::build_with_tls(
                self.url(),
                ::redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(self.ca_pem()),
                },
            )
        } else {
            ::redis::Client::open(self.url())
        };
        let info: Option<String> = client
            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(1)))
            .and_then(|mut c| ::redis::cmd("INFO").arg("server").query(&mut c))
            .ok();
        info.is_some_and(|info| info.contains(&format!("process_id:{pid}\r\n")))
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    pub(crate) fn url(&self) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The CA certificate (PEM) of a TLS server.
    pub(crate) fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("ca.crt")).unwrap()
    }

    /// Kills the server (like a crash) and waits for it to be gone.
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, empty.
    pub(crate) fn restart(&mut self) {
        self.stop();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            match self.launch() {
                Ok(()) => return,
                Err(e) if std::time::Instant::now() > deadline => {
                    panic!("redis-server did not come back on port {}: {e}", self.port)
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

/// A CA and a server certificate for 127.0.0.1 signed by it, in `dir`.
fn make_certificates(dir: &std::path::Path) {
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "the TLS store test needs the openssl command (apt-get install openssl): {e}"
                )
            });
        assert!(
            out.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run(&[
        &["req", "-x509"][..],
        &ec[..],
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=otp-sidecar test CA",
        ],
    ]
    .concat());
    run(&[
        &["req", "-new"][..],
        &ec[..],
        &[
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    ]
    .concat());
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
