pub fn add(a: i32, b: i32) -> i32 { a + b }

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds() { assert_eq!(add(1, 2), 3); }

    #[test]
    fn fails_normally() { assert_eq!(add(1, 2), 4); }

    #[test]
    fn gpu_segfault() {
        std::thread::sleep(std::time::Duration::from_millis(200));
        unsafe { std::ptr::null_mut::<i32>().write_volatile(1) }
    }

    #[test]
    fn slow_ok() { std::thread::sleep(std::time::Duration::from_millis(500)); }
}

#[cfg(test)]
mod flaky {
    /// Crashes the first time it runs (no marker file yet), passes the second.
    #[test]
    fn crashes_once() {
        let marker = std::path::Path::new("/tmp/rt/crashes_once.marker");
        if !marker.exists() {
            std::fs::write(marker, b"crashed").unwrap();
            unsafe { std::ptr::null_mut::<i32>().write_volatile(1) }
        }
    }
}
