//! A throwaway PostgreSQL server for tests (not used by escucha itself):
//! `initdb` into a temporary directory, `pg_ctl start` on a free loopback
//! port, trust authentication, fsync off. Tests that run a store against
//! PostgreSQL each get a new database in one cluster per test process
//! ([`database`]); tests that stop and start the server make their own
//! [`Cluster`]. With `ESCUCHA_TEST_POSTGRES=postgres://user@host:port/db` a
//! running server is used instead (it must let that user create
//! databases). Without either, tests fail and say what to install.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// A PostgreSQL cluster in a temporary directory, stopped when dropped.
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    /// PostgreSQL's defaults (fsync, synchronous commit) rather than the
    /// tests' fast settings: for benchmarks.
    durable: bool,
    /// Root may not run PostgreSQL: it runs as this user then.
    run_as: Option<String>,
}

fn bindir() -> PathBuf {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return dir;
        }
    }
    let mut found: Vec<PathBuf> =
        std::fs::read_dir("/usr/lib/postgresql").into_iter().flatten().flatten().map(|e| e.path().join("bin")).filter(|b| b.join("initdb").exists()).collect();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!(
            "PostgreSQL's server (initdb, pg_ctl) is not installed: the store tests run against SQLite and PostgreSQL. \
             Install it (`apt-get install -y postgresql`, as .ci/run does) or set ESCUCHA_TEST_POSTGRES to a server's URL"
        )
    })
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

impl Cluster {
    /// A cluster for tests: fsync and synchronous commit off.
    pub fn start() -> Cluster {
        Cluster::start_with(false)
    }

    /// A cluster with PostgreSQL's durable defaults, for benchmarks.
    pub fn start_durable() -> Cluster {
        Cluster::start_with(true)
    }

    /// initdb, not started.
    fn init(durable: bool) -> Cluster {
        let bin = bindir();
        let base = std::env::temp_dir().join(format!("escucha-pg-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst)));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).expect("cluster directory");
        let run_as = is_root().then(|| "postgres".to_string());
        if let Some(user) = &run_as {
            let status = Command::new("chown").arg("-R").arg(format!("{user}:")).arg(&base).status().expect("chown");
            assert!(status.success(), "chown {} to {user} (is Debian's postgresql package installed?)", base.display());
        }
        let cluster = Cluster { dir: base, bin, port: free_port(), run_as, durable };
        let data = cluster.dir.join("data");
        cluster.run("initdb", &["-D", data.to_str().unwrap(), "-U", "escucha", "-A", "trust", "-E", "UTF8", "--no-sync"]);
        cluster
    }

    fn start_with(durable: bool) -> Cluster {
        let cluster = Cluster::init(durable);
        cluster.start_server();
        cluster
    }

    /// A cluster that takes TCP connections over TLS only (`hostssl`),
    /// serving this certificate and key (PEM).
    pub fn start_tls(cert: &Path, key: &Path) -> Cluster {
        let cluster = Cluster::init(false);
        let data = cluster.dir.join("data");
        std::fs::copy(cert, data.join("server.pem")).expect("server certificate");
        std::fs::copy(key, data.join("server.key")).expect("server key");
        // PostgreSQL refuses a key others may read.
        let status = Command::new("chmod").arg("600").arg(data.join("server.key")).status().expect("chmod");
        assert!(status.success());
        if let Some(user) = &cluster.run_as {
            let status = Command::new("chown").arg(format!("{user}:")).arg(data.join("server.pem")).arg(data.join("server.key")).status().expect("chown");
            assert!(status.success());
        }
        let mut conf = std::fs::read_to_string(data.join("postgresql.conf")).expect("postgresql.conf");
        conf.push_str("\nssl = on\nssl_cert_file = 'server.pem'\nssl_key_file = 'server.key'\n");
        std::fs::write(data.join("postgresql.conf"), conf).expect("postgresql.conf");
        std::fs::write(data.join("pg_hba.conf"), "local all all trust\nhostssl all all 127.0.0.1/32 trust\n").expect("pg_hba.conf");
        cluster.start_server();
        cluster
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.arg("-u").arg(user).arg("--").arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = self.command(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
        assert!(out.status.success(), "{program} {args:?} failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }

    /// Starts the server (again, after [`Cluster::stop`]) and waits until it
    /// takes connections.
    pub fn start_server(&self) {
        let data = self.dir.join("data");
        let log = self.dir.join("server.log");
        let fast = if self.durable { "" } else { " -c fsync=off -c synchronous_commit=off -c full_page_writes=off" };
        let opts = format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300{fast}", self.port, self.dir.display());
        self.run("pg_ctl", &["-D", data.to_str().unwrap(), "-l", log.to_str().unwrap(), "-o", &opts, "-w", "-t", "60", "start"]);
    }

    /// Stops the server, cutting every connection (`pg_ctl stop -m fast`).
    pub fn stop(&self) {
        let data = self.dir.join("data");
        self.run("pg_ctl", &["-D", data.to_str().unwrap(), "-m", "fast", "-w", "stop"]);
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `db` on this cluster.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://escucha@127.0.0.1:{}/{db}", self.port)
    }

    /// A new, empty database; its URL.
    pub fn database(&self) -> String {
        create_database(&self.url("postgres"))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = self.command("pg_ctl").args(["-D", data.to_str().unwrap(), "-m", "immediate", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Creates a database named for this process and a counter on the server
/// that `admin` (a URL) reaches; returns its URL.
pub fn create_database(admin: &str) -> String {
    let name = format!("escucha_test_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst));
    let pool = super::db::PgPool::new(admin).expect("PostgreSQL URL");
    pool.run(false, |c| c.batch(&format!("CREATE DATABASE {name}"))).unwrap_or_else(|e| panic!("creating a test database on {admin}: {e}"));
    let mut url = url::Url::parse(admin).expect("PostgreSQL URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// A new, empty database for one test: on `ESCUCHA_TEST_POSTGRES`'s server
/// when set, else on a cluster this test process starts once and stops when
/// it exits.
pub fn database() -> String {
    if let Ok(url) = std::env::var("ESCUCHA_TEST_POSTGRES") {
        return create_database(&url);
    }
    static SHARED: OnceLock<Cluster> = OnceLock::new();
    let cluster = SHARED.get_or_init(|| {
        let c = Cluster::start();
        // A static is never dropped: a watcher stops the server once this
        // process has exited.
        let data = c.dir.join("data");
        let stop = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {runas}{pg_ctl} -D {data} -m immediate stop >/dev/null 2>&1; rm -rf {dir}",
            pid = std::process::id(),
            runas = c.run_as.as_ref().map(|u| format!("runuser -u {u} -- ")).unwrap_or_default(),
            pg_ctl = c.bin.join("pg_ctl").display(),
            data = data.display(),
            dir = c.dir.display(),
        );
        let _ = Command::new("sh")
            .arg("-c")
            .arg(stop)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        c
    });
    cluster.database()
}
