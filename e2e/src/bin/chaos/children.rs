//! The `skein` processes of a run, each a separate OS process with its output in a log file.
//! Every one is killed when the run ends, however it ends: by `Drop` (a normal end, an error or a
//! panic unwinding) and, should the driver itself be killed, by the kernel
//! (`PR_SET_PDEATHSIG`).

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::assignments::Life;

pub struct Children {
    binary: PathBuf,
    logs: PathBuf,
    running: BTreeMap<String, Child>,
    /// Every process started, in order, with when it started and ended.
    lives: Vec<Life>,
}

impl Children {
    pub fn new(binary: &Path, logs: &Path) -> Self {
        Self { binary: binary.to_path_buf(), logs: logs.to_path_buf(), running: BTreeMap::new(), lives: Vec::new() }
    }

    pub fn log_path(&self, name: &str) -> PathBuf {
        self.logs.join(format!("{name}.log"))
    }

    /// Start `skein ARGS` as `name`, with `env` added; its output is appended to `<name>.log`.
    pub fn spawn(&mut self, name: &str, args: &[&str], env: &[(String, String)]) -> Result<u32> {
        if self.running.contains_key(name) {
            bail!("{name} is already running");
        }
        let path = self.log_path(name);
        let mut log = OpenOptions::new().create(true).append(true).open(&path).context("open a role's log")?;
        writeln!(log, "==== {} skein {} ====", chrono::Utc::now().to_rfc3339(), args.join(" "))?;
        let mut command = Command::new(&self.binary);
        command.args(args).envs(env.iter().map(|(k, v)| (k, v))).stdin(Stdio::null());
        command.stdout(log.try_clone()?).stderr(log);
        // SAFETY: prctl is async-signal-safe and touches only the child being created. The
        // signal comes when the thread that spawned the child ends: the driver's runtime is a
        // current-thread one, so that is the main thread, alive until the process exits.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().with_context(|| format!("start {} {}", self.binary.display(), args.join(" ")))?;
        let pid = child.id();
        self.running.insert(name.to_string(), child);
        self.lives.push(Life { name: name.to_string(), started: chrono::Utc::now(), ended: None });
        Ok(pid)
    }

    /// The lives of the process called `name`, oldest first.
    pub fn lives_of(&self, name: &str) -> Vec<&Life> {
        self.lives.iter().filter(|l| l.name == name).collect()
    }

    /// Names of every process started whose name starts with `prefix`.
    pub fn names(&self, prefix: &str) -> std::collections::BTreeSet<String> {
        self.lives.iter().filter(|l| l.name.starts_with(prefix)).map(|l| l.name.clone()).collect()
    }

    fn ended(&mut self, name: &str) {
        if let Some(life) = self.lives.iter_mut().rev().find(|l| l.name == name && l.ended.is_none()) {
            life.ended = Some(chrono::Utc::now());
        }
    }

    /// Whether `name` was started and has not exited yet.
    pub fn alive(&mut self, name: &str) -> bool {
        self.running.get_mut(name).is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// SIGKILL `name` and reap it.
    pub fn kill(&mut self, name: &str) -> Result<()> {
        let mut child = self.running.remove(name).with_context(|| format!("{name} is not running"))?;
        child.kill().with_context(|| format!("SIGKILL {name}"))?; // std's kill is SIGKILL on Unix
        self.ended(name);
        child.wait()?;
        Ok(())
    }

    /// SIGTERM `name` (a drain) and wait up to `grace` for it to exit, then SIGKILL it.
    pub async fn terminate(&mut self, name: &str, grace: Duration) -> Result<Option<ExitStatus>> {
        let mut child = self.running.remove(name).with_context(|| format!("{name} is not running"))?;
        // SAFETY: kill(2) on the pid of a child not reaped yet, so it cannot be another process.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait()? {
                self.ended(name);
                return Ok(Some(status));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        child.kill()?;
        self.ended(name);
        child.wait()?;
        Ok(None)
    }

    /// Wait up to `timeout` for `name` to exit by itself.
    pub async fn wait_exit(&mut self, name: &str, timeout: Duration) -> Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            let child = self.running.get_mut(name).with_context(|| format!("{name} is not running"))?;
            if let Some(status) = child.try_wait()? {
                self.running.remove(name);
                self.ended(name);
                return Ok(status);
            }
            if Instant::now() > deadline {
                bail!("{name} did not finish within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Processes that exited although nobody stopped them (a role that failed by itself), with
    /// their status; they are forgotten. Load generators finishing is expected: `except` them.
    pub fn exited_by_themselves(&mut self, except: &str) -> Vec<(String, ExitStatus)> {
        let mut exited = Vec::new();
        for (name, child) in &mut self.running {
            if name.starts_with(except) {
                continue;
            }
            if let Ok(Some(status)) = child.try_wait() {
                exited.push((name.clone(), status));
            }
        }
        for (name, _) in &exited {
            self.running.remove(name);
            self.ended(name);
        }
        exited
    }

    pub fn kill_all(&mut self) {
        for (name, mut child) in std::mem::take(&mut self.running) {
            let _ = child.kill();
            self.ended(&name);
            let _ = child.wait();
        }
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        self.kill_all();
    }
}
