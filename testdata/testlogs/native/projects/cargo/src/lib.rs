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
