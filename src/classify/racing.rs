//! The threads a GPU crash raced with.
//!
//! The known AGX faults are races: `prepareForEnqueue` dereferences state that another thread is
//! changing while it encodes into the same command queue (reference/dml: the crash goes away when
//! MPS encoding is serialised). A person reading such a report by hand looks first for the other
//! threads that were inside Metal, MPS, MPSGraph or the driver at the moment of the crash, and
//! for which of the program's own functions put them there. This module lists them: for each
//! thread, its topmost frame in the GPU stack and the program's frame under it, and whether it
//! was working there or blocked waiting (a thread parked in `__psynch_cvwait` under
//! `waitUntilCompleted` is in Metal, but not encoding).

use serde::Serialize;

use super::normalize;
use crate::report::{Frame, Report, Skim, image_name_of};

/// Another thread inside the GPU stack when the crash happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Racing {
    /// "Thread N" of the report.
    pub thread: usize,
    /// The thread's name, when the report gives one (`Thread-12 (mlx_worker)`).
    pub name: Option<String>,
    /// The dispatch queue it was running (`metal gpu stream 12`), when the report gives one.
    pub queue: Option<String>,
    /// `working`, or `waiting` when its top frame is a wait in the kernel.
    pub state: &'static str,
    /// The wait it was blocked in (`__psynch_cvwait`), when waiting.
    pub waiting_in: Option<String>,
    /// Its topmost frame in Metal, MPS, MPSGraph, IOGPU or the driver, normalised.
    pub gpu_frame: String,
    /// That frame's image (`MetalPerformanceShadersGraph`, `AGXMetalG16X`).
    pub gpu_image: Option<String>,
    /// The program's own function under it (`at::native::mps::binaryOpTensor`).
    pub program_frame: Option<String>,
}

/// Kernel waits: a thread whose top frame is one of these is blocked, not running.
const WAITS: &[&str] = &[
    "__psynch_cvwait",
    "__psynch_mutexwait",
    "__psynch_rw_rdlock",
    "__psynch_rw_wrlock",
    "mach_msg_trap",
    "mach_msg2_trap",
    "mach_msg_overwrite",
    "semaphore_wait_trap",
    "semaphore_timedwait_trap",
    "__ulock_wait",
    "__ulock_wait2",
    "__workq_kernreturn",
    "__semwait_signal",
    "kevent",
    "kevent64",
    "kevent_id",
    "kevent_qos",
    "__select",
    "__select_nocancel",
    "poll",
    "__sigsuspend_nocancel",
    "__accept",
    "__recvfrom",
    "read",
    "__read_nocancel",
];

fn is_gpu(report: &Report, frame: &Frame) -> bool {
    let (name, path) = super::frame_image(report, frame);
    is_gpu_image(name, path)
}

fn is_gpu_image(name: Option<&str>, path: Option<&str>) -> bool {
    normalize::is_agx_image(name, path) || normalize::is_metal_image(name, path)
}

/// What `racing` reads of the threads that did not crash: frames in a GPU image, and frames
/// whose image is unknown but whose symbol is the driver's (`AGX::`, `-[AGX...`; `frame_image`
/// names their image `AGX`). Frames in an image the report names neither by name nor by path
/// are read too: symbols found later (`--symbols`, `atos`) may name them the driver's. A parse
/// that skims with this gives `racing` every thread it would list (tests/skim.rs).
pub const SKIM: Skim = Skim {
    image: |image| {
        let (name, path) = (image.name.as_deref(), image.path.as_deref());
        (name.is_none() && path.is_none()) || is_gpu_image(name, path)
    },
    needles: &["AGX"],
};

/// The other threads of `report` that were inside the GPU stack: working ones first, then
/// waiting ones, each in thread order.
pub fn racing(report: &Report) -> Vec<Racing> {
    let crashed = report.crashed_thread;
    let mut out: Vec<Racing> = report
        .threads
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != crashed)
        .filter_map(|(_, t)| {
            let gpu_at = t.frames.iter().position(|f| is_gpu(report, f))?;
            let gpu = t.frames.get(gpu_at)?;
            let top = t.frames.first()?;
            let waiting_in = top
                .symbol
                .as_deref()
                .map(str::trim)
                .filter(|s| WAITS.contains(s))
                .map(str::to_owned);
            let program = t
                .frames
                .iter()
                .skip(gpu_at + 1)
                .find(|f| super::is_program_code(report, f));
            Some(Racing {
                thread: t.index,
                name: t.name.clone(),
                queue: t.queue.clone(),
                state: if waiting_in.is_some() {
                    "waiting"
                } else {
                    "working"
                },
                waiting_in,
                gpu_frame: name_of(report, gpu),
                gpu_image: image_name_of(report, gpu).map(str::to_owned),
                program_frame: program.map(|f| name_of(report, f)),
            })
        })
        .collect();
    out.sort_by_key(|r| (r.state == "waiting", r.thread));
    out
}

/// A frame's function, or `image + 0xoffset` when it has no symbol.
fn name_of(report: &Report, frame: &Frame) -> String {
    match &frame.symbol {
        Some(symbol) => normalize::function_name(symbol),
        None => super::unnamed(report, frame),
    }
}
