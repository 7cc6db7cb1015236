//! A private PostgreSQL server for tests: Debian's binaries, a fresh cluster in a scratch
//! directory, TCP on 127.0.0.1 only (no Unix socket), SCRAM password authentication, stopped
//! and removed when dropped. PostgreSQL refuses to run as root, so as root the cluster is
//! created and run as the `postgres` user the package installs.
#![allow(dead_code)] // each user takes its own part

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const USER: &str = "nodecheck";
pub const PASSWORD: &str = "s3cret-for-tests";

pub struct Postgres {
    server: Child,
    port: u16,
    log: PathBuf,
    bin: PathBuf,
    data: PathBuf,
    user: Option<&'static str>,
    // Dropped last: the directory (a drop guard of the caller's) goes once the server has
    // stopped.
    _dir: Box<dyn AsRef<Path>>,
}

/// The newest installed PostgreSQL's `bin` directory.
fn binaries() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// The command, run as `postgres` when we are root.
fn as_server_user(program: &Path, user: Option<&str>) -> Command {
    match user {
        Some(user) => {
            let mut command = Command::new("setpriv");
            command
                .arg(format!("--reuid={user}"))
                .arg(format!("--regid={user}"))
                .arg("--init-groups")
                .arg("--")
                .arg(program);
            command
        }
        None => Command::new(program),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(55432)
}

impl Postgres {
    /// Starts a server with its files in `dir` (an empty directory that removes itself when
    /// dropped), or says why it cannot.
    pub fn start_in(dir: impl AsRef<Path> + 'static) -> Result<Postgres, String> {
        let bin = binaries().ok_or("PostgreSQL is not installed (/usr/lib/postgresql/*/bin)")?;
        let root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let user = root.then_some("postgres");
        let data = dir.as_ref().join("data");
        std::fs::create_dir(&data).map_err(|e| e.to_string())?;
        let password_file = dir.as_ref().join("password");
        std::fs::write(&password_file, PASSWORD).map_err(|e| e.to_string())?;
        if let Some(user) = user {
            // The server user must own its data directory and read the password file.
            let status = Command::new("chown")
                .arg("-R")
                .arg(format!("{user}:{user}"))
                .arg(dir.as_ref())
                .status()
                .map_err(|e| format!("chown: {e}"))?;
            if !status.success() {
                return Err(format!("cannot give {} to {user}", dir.as_ref().display()));
            }
        }
        let output = as_server_user(&bin.join("initdb"), user)
            .arg("-D")
            .arg(&data)
            .args(["-U", USER, "--auth=scram-sha-256", "--encoding=UTF8"])
            .arg("--locale=C.UTF-8")
            .arg(format!("--pwfile={}", password_file.display()))
            .output()
            .map_err(|e| format!("initdb: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let port = free_port();
        let log = dir.as_ref().join("server.log");
        let server = spawn_server(&bin, &data, user, port, &log)?;
        let mut postgres = Postgres {
            server,
            port,
            log,
            bin,
            data,
            user,
            _dir: Box::new(dir),
        };
        postgres.wait_ready()?;
        Ok(postgres)
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.server.try_wait() {
                return Err(format!(
                    "postgres exited ({status}): {}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                ));
            }
            if postgres::Client::connect(&self.url("postgres"), postgres::NoTls).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "postgres did not accept connections in 60 s: {}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the server (every client is disconnected) and starts it again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.server = spawn_server(&self.bin, &self.data, self.user, self.port, &self.log)
            .expect("restart postgres");
        self.wait_ready().expect("postgres back");
    }

    fn stop(&mut self) {
        // SIGINT is PostgreSQL's fast shutdown: clients are disconnected, the server stops.
        let pid = self.server.id().to_string();
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.server.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.server.kill();
        let _ = self.server.wait();
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The address of `database`, password included.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{USER}:{PASSWORD}@127.0.0.1:{}/{database}",
            self.port
        )
    }

    /// Creates an empty database and returns its address.
    pub fn create_database(&self, name: &str) -> String {
        let mut client =
            postgres::Client::connect(&self.url("postgres"), postgres::NoTls).expect("connect");
        client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .expect("create database");
        self.url(name)
    }

    /// Runs SQL as the superuser in `database` (to look behind the store's back).
    pub fn client(&self, database: &str) -> postgres::Client {
        postgres::Client::connect(&self.url(database), postgres::NoTls).expect("connect")
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

fn spawn_server(
    bin: &Path,
    data: &Path,
    user: Option<&str>,
    port: u16,
    log: &Path,
) -> Result<Child, String> {
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| e.to_string())?;
    as_server_user(&bin.join("postgres"), user)
        .arg("-D")
        .arg(data)
        .args(["-c", "listen_addresses=127.0.0.1"])
        .args(["-c", "unix_socket_directories="])
        .args(["-c", &format!("port={port}")])
        // Tests check behaviour, not the disk: no fsync, small memory.
        .args(["-c", "fsync=off", "-c", "shared_buffers=32MB"])
        .args(["-c", "max_connections=60"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .map_err(|e| format!("postgres: {e}"))
}
