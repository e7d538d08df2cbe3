//! The two processes of a chaos or peak run: the payment-platform sandbox, which lives
//! through the whole run, and ExamFee, which a chaos run kills with SIGKILL and starts
//! again. Each writes its log to a file in the run's folder. On their own, ExamFee's
//! memory is ExamFee's alone.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::setup::{ADMIN, CAPTCHA};

/// A free port on loopback: bound and let go at once. Another process could take it
/// in between; on a machine running one bench at a time that does not happen.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A binary built beside this one (`target/<profile>/`), unless `given`.
pub fn sibling_binary(given: Option<PathBuf>, name: &str) -> anyhow::Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path);
    }
    let me = std::env::current_exe().context("finding the bench's own path")?;
    let path = me
        .parent()
        .context("the bench's binary has no folder")?
        .join(name);
    if !path.exists() {
        bail!(
            "{} is missing: build it first (cargo build [--release] -p {} --bin {name})",
            path.display(),
            if name == "examfee" {
                "examfee"
            } else {
                "examfee-sandbox"
            }
        );
    }
    Ok(path)
}

/// The processes' log filter: the bench's own `RUST_LOG` when it has one, so that a
/// run can be traced in the processes' log files; warnings and errors otherwise.
fn log_filter() -> String {
    std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".to_owned())
}

fn log_file(path: &Path) -> anyhow::Result<(Stdio, Stdio)> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    Ok((Stdio::from(file.try_clone()?), Stdio::from(file)))
}

/// A child process that is killed when dropped, so that a failing run leaves nothing
/// behind.
pub struct Process {
    name: &'static str,
    binary: PathBuf,
    env: Vec<(String, String)>,
    args: Vec<String>,
    log: PathBuf,
    child: Option<Child>,
    pub base: String,
}

impl Process {
    /// The sandbox on `port`, its store in `dir`, with ExamFee as its one merchant.
    /// Notification retries run at a hundredth of WeChat Pay's schedule (15 s becomes
    /// 150 ms): a run of minutes sees the whole schedule.
    pub fn sandbox(binary: PathBuf, dir: &Path, port: u16, secret: &str) -> Process {
        let env = [
            ("SANDBOX_LISTEN", format!("127.0.0.1:{port}")),
            (
                "SANDBOX_DB_PATH",
                dir.join("sandbox.db").display().to_string(),
            ),
            ("SANDBOX_MERCHANTS", format!("examfee:{secret}:ExamFee")),
            ("SANDBOX_NOTIFY_SCALE", "0.01".to_owned()),
            ("SANDBOX_TEST_MODE", "1".to_owned()),
            ("SANDBOX_PREFIX", String::new()),
            ("RUST_LOG", log_filter()),
        ];
        Process {
            name: "sandbox",
            binary,
            env: env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            args: Vec::new(),
            log: dir.join("sandbox.log"),
            child: None,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// ExamFee on `port` against `database_url`, paid through the sandbox at
    /// `platform`. The worker looks at open orders and refunds every second, as in
    /// the tests, so that the run's end is not spent waiting for it.
    pub fn examfee(
        binary: PathBuf,
        dir: &Path,
        port: u16,
        database_url: &str,
        platform: &str,
        secret: &str,
    ) -> Process {
        let env = [
            ("DATABASE_URL", database_url.to_owned()),
            ("EXAMFEE_LISTEN", format!("127.0.0.1:{port}")),
            ("EXAMFEE_PLATFORM_URL", platform.to_owned()),
            ("EXAMFEE_PLATFORM_MERCHANT_ID", "examfee".to_owned()),
            ("EXAMFEE_PLATFORM_SECRET", secret.to_owned()),
            ("EXAMFEE_CAPTCHA_TEST_ANSWER", CAPTCHA.to_owned()),
            (
                "EXAMFEE_BOOTSTRAP_ADMIN",
                format!("{}:{}", ADMIN.0, ADMIN.1),
            ),
            ("EXAMFEE_RATE_LIMIT_PER_IP", "0".to_owned()),
            ("EXAMFEE_SYNC_INTERVAL_SECS", "1".to_owned()),
            (
                "EXAMFEE_SANDBOX_DB",
                dir.join("unused-sandbox.db").display().to_string(),
            ),
            ("RUST_LOG", log_filter()),
        ];
        Process {
            name: "examfee",
            binary,
            env: env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            args: vec!["serve".to_owned()],
            log: dir.join("examfee.log"),
            child: None,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// This process with one more environment variable (set over an earlier one).
    pub fn with_env(mut self, name: &str, value: impl Into<String>) -> Process {
        self.env.retain(|(k, _)| k != name);
        self.env.push((name.to_owned(), value.into()));
        self
    }

    /// The running process's id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn start(&mut self) -> anyhow::Result<()> {
        let (stdout, stderr) = log_file(&self.log)?;
        let child = Command::new(&self.binary)
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))?;
        self.child = Some(child);
        Ok(())
    }

    /// SIGKILL (what `Child::kill` sends on Unix): no shutdown of any kind, requests
    /// in flight are cut wherever they are.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// Waits until `path` answers 200, at most `limit`; fails early if the process
    /// ended (a port taken, a bad setting), pointing at its log.
    pub async fn wait_ready(
        &mut self,
        http: &reqwest::Client,
        path: &str,
        limit: Duration,
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!(
                    "{} exited with {status} while starting; see {}",
                    self.name,
                    self.log.display()
                );
            }
            let url = format!("{}{path}", self.base);
            if http
                .get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "{} was not ready after {limit:?}; see {}",
            self.name,
            self.log.display()
        )
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Err(error) = self.kill() {
            eprintln!("stopping {} failed: {error}", self.name);
        }
    }
}
