//! What the timed phase cost this process in CPU.

/// utime + stime of this process from `/proc/self/stat` (Linux), in clock ticks.
pub(crate) fn process_cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may contain spaces; fields after it start with the state (field 3).
    let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn cpu_ticks_are_read_on_linux_and_never_go_back() {
        let before = process_cpu_ticks().expect("/proc/self/stat has utime and stime");
        assert!(process_cpu_ticks().expect("read again") >= before);
    }
}
