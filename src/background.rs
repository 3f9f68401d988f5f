//! Work that can wait (password hashing, the purge) runs below the priority of requests, so that
//! when the CPU is short the guard's answers go first and the background work takes longer.

/// Lower than request handling (nice 0); not the lowest, so that the work still progresses while
/// the server is busy. Maps to nice +10 on Linux.
const BACKGROUND_PRIORITY: u8 = 22;

/// Lowers the calling thread's scheduling priority. Best effort: where the system refuses, the
/// work runs at normal priority. Only for threads that do nothing but background work.
pub fn lower_current_thread_priority() {
    let priority = thread_priority::ThreadPriorityValue::try_from(BACKGROUND_PRIORITY)
        .map(thread_priority::ThreadPriority::Crossplatform);
    if let Ok(priority) = priority {
        let _ = thread_priority::set_current_thread_priority(priority);
    }
}

/// Runs `f` on a new thread of its own at background priority and waits for its result.
pub async fn run<R: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> R + Send + 'static,
) -> Result<R, String> {
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            lower_current_thread_priority();
            let _ = done.send(f());
        })
        .map_err(|e| format!("cannot start the {name} thread: {e}"))?;
    result
        .await
        .map_err(|_| format!("the {name} thread failed"))
}

#[cfg(all(test, target_os = "linux"))]
pub(crate) mod tests {
    /// The calling thread's nice value, as the kernel reports it.
    pub fn nice() -> Option<i64> {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
        // Fields after the command name (in parentheses): state is the 3rd field, nice the 19th.
        let rest = stat.rsplit_once(')')?.1;
        rest.split_whitespace().nth(16)?.parse().ok()
    }

    #[tokio::test]
    async fn background_work_runs_at_a_lower_priority_than_its_caller() {
        let caller = nice().expect("caller's nice value");
        let background = super::run("test-background", nice)
            .await
            .expect("ran")
            .expect("nice value");
        assert!(background > caller, "{background} <= {caller}");
    }
}
