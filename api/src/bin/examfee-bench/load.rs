//! Load: closed-loop (`concurrency` clients each send their next request as soon as the
//! previous one answers) to find how much the server takes, and paced (requests sent
//! on a clock whatever the answers) to see its latency at a chosen load.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct Sample {
    pub ok: usize,
    pub errors: usize,
    pub elapsed: Duration,
    /// Sorted.
    pub latencies: Vec<Duration>,
}

impl Sample {
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    /// Adds another round of the same measurement.
    pub fn absorb(&mut self, other: Sample) {
        self.ok += other.ok;
        self.errors += other.errors;
        self.elapsed += other.elapsed;
        self.latencies.extend(other.latencies);
        self.latencies.sort();
    }

    /// The answers of a load: (whether it was the expected one, its latency).
    fn of(answers: impl IntoIterator<Item = (bool, Duration)>, elapsed: Duration) -> Sample {
        let mut sample = Sample {
            elapsed,
            ..Sample::default()
        };
        for (ok, latency) in answers {
            if ok {
                sample.latencies.push(latency);
            } else {
                sample.errors += 1;
            }
        }
        sample.ok = sample.latencies.len();
        sample.latencies.sort();
        sample
    }

    pub fn mean(&self) -> Duration {
        match self.latencies.len() {
            0 => Duration::ZERO,
            n => self.latencies.iter().sum::<Duration>() / n as u32,
        }
    }

    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * (self.latencies.len() - 1) as f64).round() as usize;
        self.latencies[rank]
    }
}

/// Runs `request(i)` for i in 0..total on `concurrency` tasks; `request` says whether
/// the answer was the expected one.
pub async fn drive<F, Fut>(concurrency: usize, total: usize, request: F) -> Sample
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let request = Arc::new(request);
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let next = next.clone();
            let request = request.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        return seen;
                    }
                    let sent = Instant::now();
                    let ok = request(i).await;
                    seen.push((ok, sent.elapsed()));
                }
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(total);
    for worker in workers {
        answers.extend(joined(worker).await);
    }
    Sample::of(answers, started.elapsed())
}

/// What a load task returned; its panic goes on in the caller, as a thread's does when
/// joined. The tasks are never aborted, so a panic is the only way they fail.
async fn joined<T>(task: tokio::task::JoinHandle<T>) -> T {
    match task.await {
        Ok(answers) => answers,
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    }
}

/// Sends `request(i)` for i in 0..total at `rate` a second over `concurrency` clients,
/// request i due at i / rate seconds. A latency counts from when the request was due,
/// not sent: a client still waiting for its previous answer sends late, and that wait
/// is the server's, so a stalled server cannot hide behind a stalled client.
pub async fn pace<F, Fut>(concurrency: usize, rate: f64, total: usize, request: F) -> Sample
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    let request = Arc::new(request);
    let started = tokio::time::Instant::now();
    let clients: Vec<_> = (0..concurrency)
        .map(|client| {
            let request = request.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                for i in (client..total).step_by(concurrency) {
                    let due = started + Duration::from_secs_f64(i as f64 / rate);
                    tokio::time::sleep_until(due).await;
                    let ok = request(i).await;
                    seen.push((ok, due.elapsed()));
                }
                seen
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(total);
    for client in clients {
        answers.extend(joined(client).await);
    }
    Sample::of(answers, started.elapsed())
}

/// Runs `work` `total` times spread over `threads` OS threads: the ceiling of CPU-bound
/// work done without any server around it.
pub fn on_threads(threads: usize, total: usize, work: impl Fn() + Send + Sync + 'static) -> f64 {
    let work = Arc::new(work);
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let work = work.clone();
            let share = total / threads + usize::from(t < total % threads);
            std::thread::spawn(move || (0..share).for_each(|_| work()))
        })
        .collect();
    handles.into_iter().for_each(|h| {
        h.join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    total as f64 / started.elapsed().as_secs_f64()
}
