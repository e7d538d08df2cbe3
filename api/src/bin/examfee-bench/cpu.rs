//! CPU time spent, read from Linux's /proc: this process's (ExamFee, the sandbox and
//! the bench's own client all run in it) and the local PostgreSQL server's, whose
//! processes share the machine's cores with the hashing threads. What a login costs
//! besides its argon2 verification, or an order besides the platform's create-trade,
//! is the difference between the two.

use std::time::Duration;

/// CPU time used so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuTime {
    /// This process, every thread.
    pub own: Duration,
    /// Every process named `postgres` on this machine: none when the database is
    /// SQLite or PostgreSQL runs elsewhere.
    pub database: Duration,
}

impl CpuTime {
    pub fn now() -> CpuTime {
        let tick = clock_tick();
        let database = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter(|entry| {
                std::fs::read_to_string(entry.path().join("comm"))
                    .is_ok_and(|name| name.trim_end() == "postgres")
            })
            .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
            .filter_map(|stat| ticks(&stat))
            .sum::<u64>();
        let own = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|stat| ticks(&stat))
            .unwrap_or(0);
        CpuTime {
            own: tick * u32::try_from(own).unwrap_or(u32::MAX),
            database: tick * u32::try_from(database).unwrap_or(u32::MAX),
        }
    }

    /// What was spent since `earlier`.
    pub fn since(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            own: self.own.saturating_sub(earlier.own),
            database: self.database.saturating_sub(earlier.database),
        }
    }

    /// Milliseconds per one of `count` requests: all of it, and the database's.
    pub fn per(self, count: usize) -> (f64, f64) {
        let each = |d: Duration| d.as_secs_f64() * 1000.0 / count as f64;
        (each(self.own) + each(self.database), each(self.database))
    }

    pub fn add(self, other: CpuTime) -> CpuTime {
        CpuTime {
            own: self.own + other.own,
            database: self.database + other.database,
        }
    }
}

/// The CPU time process `pid` has used so far (zero once it is gone).
pub fn of_process(pid: u32) -> Duration {
    let ticks = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| ticks(&stat))
        .unwrap_or(0);
    clock_tick() * u32::try_from(ticks).unwrap_or(u32::MAX)
}

/// User plus system time, in clock ticks, of a `/proc/PID/stat` line. The command
/// name (field 2) is in parentheses and may hold spaces, so fields are counted from
/// its closing parenthesis: utime and stime are fields 14 and 15.
fn ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

/// The length of a clock tick (`getconf CLK_TCK`; 100 a second on every Linux
/// machine this runs on when it cannot be asked).
fn clock_tick() -> Duration {
    let per_second = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse::<u32>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(100);
    Duration::from_secs(1) / per_second
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utime_and_stime_are_read_after_a_name_with_spaces() {
        let stat = "4242 (postgres: wal writer) S 1 4242 4242 0 -1 4194624 96 0 0 0 17 5 0 0 20 0 1 0 123 0 0";
        assert_eq!(ticks(stat), Some(22));
        assert_eq!(ticks("garbage"), None);
    }
}
