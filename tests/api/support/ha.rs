//! Redis in production shapes, as real processes on loopback: a Sentinel
//! group (one master, one replica, three sentinels) and a Redis Cluster of
//! three masters with a replica each, with short failure detection so a
//! failover takes seconds. Every process is killed on drop.
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The name the sentinels monitor the master under.
pub const MASTER_NAME: &str = "otp";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One `redis-server` (data node or sentinel) on a free loopback port.
pub struct Node {
    pub port: u16,
    child: Option<Child>,
    /// Its own directory (nodes.conf of a cluster node, a sentinel's file).
    dir: PathBuf,
    args: Vec<String>,
    sentinel: bool,
}

impl Node {
    /// `redis-server` with `args` (after the port) in its own directory under
    /// `dir`, a sentinel when `sentinel_config` is given, a cluster node
    /// with a bus port of its own when `cluster_bus`; waits until it answers
    /// as itself (at most 10 s), retrying on other ports when a port was
    /// taken meanwhile (redis-server cannot bind port 0 and say which it got).
    fn start(dir: &Path, sentinel_config: Option<&str>, args: &[&str], cluster_bus: bool) -> Node {
        for _ in 0..5 {
            let port = free_port();
            let mut args: Vec<String> = args.iter().map(|a| (*a).to_string()).collect();
            if cluster_bus {
                args.extend(["--cluster-port".to_string(), free_port().to_string()]);
            }
            let own = dir.join(port.to_string());
            std::fs::create_dir_all(&own).unwrap();
            // A sentinel needs its configuration as a writable file.
            if let Some(text) = sentinel_config {
                std::fs::write(own.join("sentinel.conf"), text).unwrap();
            }
            let mut node = Node {
                port,
                child: None,
                dir: own,
                args,
                sentinel: sentinel_config.is_some(),
            };
            if node.launch() {
                return node;
            }
        }
        panic!("redis-server did not start on a free port in 5 tries");
    }

    /// Spawns the process; true once it answers on its port as itself (the
    /// pid in `INFO server` is its own), false when it exited.
    fn launch(&mut self) -> bool {
        let mut cmd = Command::new("redis-server");
        if self.sentinel {
            cmd.arg(self.dir.join("sentinel.conf")).arg("--sentinel");
        }
        cmd.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.child = Some(
            cmd.spawn()
                .expect("redis-server must be installed (make test installs it)"),
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.exited() {
                return false;
            }
            let pid = self.child.as_ref().map(Child::id);
            if pid.is_some_and(|pid| {
                self.info("server")
                    .contains(&format!("process_id:{pid}\r\n"))
            }) {
                return true;
            }
            if Instant::now() > deadline {
                panic!(
                    "redis-server on port {} did not answer within 10 s",
                    self.port
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the killed process again on its port, with its directory
    /// (no data: no persistence) and `extra` arguments, as a supervisor would.
    pub fn restart(&mut self, extra: &[&str]) {
        self.kill();
        self.args.extend(extra.iter().map(|a| (*a).to_string()));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.launch() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not come back on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends `signal` (`STOP`, `CONT`) to the process.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("a live node").id();
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} {pid} failed");
    }

    pub fn alive(&self) -> bool {
        self.child.is_some()
    }

    fn exited(&mut self) -> bool {
        match self.child.as_mut().map(|c| c.try_wait()) {
            Some(Ok(Some(_))) => {
                self.child = None;
                true
            }
            _ => false,
        }
    }

    /// One command on a fresh connection (1 s timeouts).
    pub fn query<T: redis::FromRedisValue>(&self, cmd: &mut redis::Cmd) -> redis::RedisResult<T> {
        let client = redis::Client::open(format!("redis://127.0.0.1:{}", self.port))?;
        let mut conn = client.get_connection_with_timeout(Duration::from_secs(1))?;
        conn.set_read_timeout(Some(Duration::from_secs(2)))?;
        cmd.query(&mut conn)
    }

    /// `INFO section` as text (empty when the node does not answer).
    pub fn info(&self, section: &str) -> String {
        self.query(redis::cmd("INFO").arg(section))
            .unwrap_or_default()
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `ready` every 50 ms until it holds; panics with `what` after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut ready: impl FnMut() -> Option<String>) {
    let deadline = Instant::now() + limit;
    loop {
        match ready() {
            None => return,
            Some(state) if Instant::now() > deadline => {
                panic!("{what} not within {limit:?}: {state}")
            }
            Some(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// A data node; `cluster_bus`: a cluster node, with a bus port of its own.
fn data_node(dir: &Path, extra: &[&str], cluster_bus: bool) -> Node {
    // A returning node syncs at once (the default waits 5 s for more replicas).
    let mut args = vec![
        "--save",
        "",
        "--appendonly",
        "no",
        "--repl-diskless-sync-delay",
        "0",
    ];
    args.extend_from_slice(extra);
    Node::start(dir, None, &args, cluster_bus)
}

/// One master, one replica, three sentinels (quorum 2), failure detection
/// after 1 s.
pub struct SentinelGroup {
    pub master: Node,
    pub replica: Node,
    pub sentinels: Vec<Node>,
    _dir: tempfile::TempDir,
}

impl SentinelGroup {
    pub fn start() -> SentinelGroup {
        let dir = tempfile::tempdir().unwrap();
        let master = data_node(dir.path(), &[], false);
        let master_port = master.port.to_string();
        let replica = data_node(
            dir.path(),
            &["--replicaof", "127.0.0.1", &master_port],
            false,
        );
        wait_until(Duration::from_secs(10), "replica linked", || {
            let info = replica.info("replication");
            (!info.contains("master_link_status:up")).then_some(info)
        });
        let sentinels: Vec<Node> = (0..3)
            .map(|_| {
                let monitor = format!(
                    "sentinel monitor {MASTER_NAME} 127.0.0.1 {} 2\n\
                     sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
                     sentinel failover-timeout {MASTER_NAME} 5000\n\
                     sentinel parallel-syncs {MASTER_NAME} 1\n",
                    master.port
                );
                Node::start(dir.path(), Some(&monitor), &[], false)
            })
            .collect();
        // Each sentinel knows the replica and the two other sentinels, so a
        // failover can be voted.
        for sentinel in &sentinels {
            wait_until(Duration::from_secs(20), "sentinels acquainted", || {
                let fields: Vec<String> = sentinel
                    .query(redis::cmd("SENTINEL").arg("MASTER").arg(MASTER_NAME))
                    .unwrap_or_default();
                let field = |name: &str| {
                    fields
                        .chunks(2)
                        .find(|kv| kv[0] == name)
                        .map(|kv| kv[1].clone())
                        .unwrap_or_default()
                };
                let ok = field("num-slaves") == "1" && field("num-other-sentinels") == "2";
                (!ok).then(|| format!("{fields:?}"))
            });
        }
        SentinelGroup {
            master,
            replica,
            sentinels,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        let list: Vec<String> = self
            .sentinels
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.port))
            .collect();
        format!("redis+sentinel://{}/{MASTER_NAME}", list.join(","))
    }

    /// The master's port as the sentinels name it now.
    pub fn named_master_port(&self) -> Option<u16> {
        self.sentinels.iter().find_map(|s| {
            s.query::<(String, String)>(
                redis::cmd("SENTINEL")
                    .arg("GET-MASTER-ADDR-BY-NAME")
                    .arg(MASTER_NAME),
            )
            .ok()
            .and_then(|(_, port)| port.parse().ok())
        })
    }
}

/// Three masters with one replica each, node timeout 1 s.
pub struct Cluster {
    pub nodes: Vec<Node>,
    /// The node [`Topology::kill_master`] killed, and the key it held.
    pub killed: Option<(usize, String)>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    pub fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let nodes: Vec<Node> = (0..6)
            .map(|_| {
                data_node(
                    dir.path(),
                    &[
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-node-timeout",
                        "1000",
                    ],
                    true,
                )
            })
            .collect();
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for node in &nodes {
            create.arg(format!("127.0.0.1:{}", node.port));
        }
        let out = create
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli must be installed (make test installs redis-tools)");
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let cluster = Cluster {
            nodes,
            killed: None,
            _dir: dir,
        };
        wait_until(Duration::from_secs(30), "cluster formed", || {
            let states: Vec<String> = cluster
                .nodes
                .iter()
                .map(|n| {
                    n.info("replication")
                        + &n.query::<String>(redis::cmd("CLUSTER").arg("INFO"))
                            .unwrap_or_default()
                })
                .collect();
            let ok = states.iter().all(|s| {
                s.contains("cluster_state:ok")
                    && s.contains("cluster_known_nodes:6")
                    && (s.contains("role:master") && s.contains("connected_slaves:1")
                        || s.contains("master_link_status:up"))
            });
            (!ok).then(|| states.join("\n"))
        });
        cluster
    }

    pub fn url(&self) -> String {
        let list: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        format!("redis+cluster://{}", list.join(","))
    }

    /// The index of the node that is master of `key`'s slot now (`None`
    /// while no live master owns it).
    pub fn master_of(&self, key: &str) -> Option<usize> {
        let live = self.nodes.iter().find(|n| n.alive()).expect("a live node");
        let slot: i64 = live
            .query(redis::cmd("CLUSTER").arg("KEYSLOT").arg(key))
            .ok()?;
        let table: String = live.query(redis::cmd("CLUSTER").arg("NODES")).ok()?;
        for line in table.lines() {
            let parts: Vec<&str> = line.split_whitespace().collect();
            if parts.len() < 9 || !parts[2].contains("master") || parts[2].contains("fail") {
                continue;
            }
            let port: u16 = parts[1]
                .split(['@', ':'])
                .nth(1)
                .and_then(|p| p.parse().ok())
                .unwrap();
            let owns = parts[8..].iter().any(|range| {
                let mut ends = range.split('-').map(|e| e.parse::<i64>().unwrap_or(-1));
                let lo = ends.next().unwrap_or(-1);
                let hi = ends.next().unwrap_or(lo);
                (lo..=hi).contains(&slot)
            });
            if owns {
                return self.nodes.iter().position(|n| n.port == port);
            }
        }
        None
    }

    /// True when every live node says the cluster is ok.
    pub fn healthy(&self) -> bool {
        self.nodes.iter().filter(|n| n.alive()).all(|n| {
            n.query::<String>(redis::cmd("CLUSTER").arg("INFO"))
                .is_ok_and(|i| i.contains("cluster_state:ok"))
        })
    }
}

/// What a failover test does to a topology.
pub trait Topology {
    /// Kills (SIGKILL) the master of the first of `verified` challenge ids.
    fn kill_master(&mut self, verified: &[String]);
    /// True once a replica has taken over from the killed master.
    fn failed_over(&self) -> bool;
    /// Starts the killed node again; it rejoins as a replica.
    fn restart_killed(&mut self);
}

impl Topology for SentinelGroup {
    fn kill_master(&mut self, _verified: &[String]) {
        self.master.kill();
    }

    fn failed_over(&self) -> bool {
        self.named_master_port() == Some(self.replica.port)
            && self.replica.info("replication").contains("role:master")
    }

    /// As the usual container set-ups do: a returning node asks the
    /// sentinels for the master and starts as its replica (Sentinel would
    /// convert a node that comes back as master only after some seconds).
    fn restart_killed(&mut self) {
        let master = self
            .named_master_port()
            .expect("a master named")
            .to_string();
        self.master.restart(&["--replicaof", "127.0.0.1", &master]);
    }
}

impl Topology for Cluster {
    fn kill_master(&mut self, verified: &[String]) {
        let key = format!("{{ch:{}}}", verified[0]);
        let i = self.master_of(&key).expect("a master for the challenge");
        self.nodes[i].kill();
        self.killed = Some((i, key));
    }

    fn failed_over(&self) -> bool {
        let Some((killed, key)) = &self.killed else {
            return false;
        };
        self.master_of(key).is_some_and(|i| i != *killed) && self.healthy()
    }

    fn restart_killed(&mut self) {
        if let Some((i, _)) = self.killed {
            self.nodes[i].restart(&[]);
        }
    }
}
