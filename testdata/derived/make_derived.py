#!/usr/bin/env python3
"""Writes the derived test reports in this folder.

Each report is built from facts in ../shared/reference/dml/ (real AGX crash analyses from an MPS
stress campaign on an M4 Max): process, OS build, driver image name, UUID and version, frames,
fault address, registers. They are not copies of real files; testdata/README.md marks them derived.
Run: python3 testdata/derived/make_derived.py
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

AGX = {"source": "P", "arch": "arm64e", "base": 4845862912, "size": 6291456,
       "uuid": "0ce453ff-9f17-321f-bc18-383573a48221",
       "path": "/System/Library/Extensions/AGXMetalG16X.bundle/Contents/MacOS/AGXMetalG16X",
       "name": "AGXMetalG16X", "CFBundleIdentifier": "com.apple.AGXMetalG16X",
       "CFBundleShortVersionString": "329.2", "CFBundleVersion": "329.2"}
PYTHON = {"source": "P", "arch": "arm64", "base": 4332421120, "size": 16384,
          "uuid": "f82e67ce-513a-3171-9862-f52eee425d10",
          "path": "/Library/Frameworks/Python.framework/Versions/3.14/Resources/Python.app/Contents/MacOS/Python",
          "name": "Python", "CFBundleIdentifier": "org.python.python",
          "CFBundleShortVersionString": "3.14.0", "CFBundleVersion": "3.14.0"}
TORCH = {"source": "P", "arch": "arm64", "base": 4894752768, "size": 201326592,
         "uuid": "d12596d8-571e-32b2-896c-60862ffa01f3",
         "path": "/Users/USER/*/site-packages/torch/lib/libtorch_cpu.dylib", "name": "libtorch_cpu.dylib"}
METAL = {"source": "P", "arch": "arm64e", "base": 6930415616, "size": 2981888,
         "uuid": "1b375ba3-e776-36ca-888b-6b40daf42c92",
         "path": "/System/Library/Frameworks/Metal.framework/Versions/A/Metal", "name": "Metal",
         "CFBundleIdentifier": "com.apple.Metal", "CFBundleShortVersionString": "368.52", "CFBundleVersion": "368.52"}
DISPATCH = {"source": "P", "arch": "arm64e", "base": 6581641216, "size": 290816,
            "uuid": "b7bb6a2d-9b9e-3c5a-8d44-6c5f1a2b3e10", "path": "/usr/lib/system/libdispatch.dylib",
            "name": "libdispatch.dylib"}
PTHREAD = {"source": "P", "arch": "arm64e", "base": 6584012800, "size": 53248,
           "uuid": "e6c4a1f0-2b3d-3e4f-9a8b-7c6d5e4f3a21", "path": "/usr/lib/system/libsystem_pthread.dylib",
           "name": "libsystem_pthread.dylib"}
KERNEL = {"source": "P", "arch": "arm64e", "base": 6583652352, "size": 241664,
          "uuid": "a1b2c3d4-5e6f-3a7b-8c9d-0e1f2a3b4c5d", "path": "/usr/lib/system/libsystem_kernel.dylib",
          "name": "libsystem_kernel.dylib"}
LIBC = {"source": "P", "arch": "arm64e", "base": 6582435840, "size": 516096,
        "uuid": "c3d4e5f6-a7b8-3c9d-8e0f-1a2b3c4d5e6f", "path": "/usr/lib/system/libsystem_c.dylib",
        "name": "libsystem_c.dylib"}

IMAGES = [PYTHON, TORCH, AGX, METAL, DISPATCH, PTHREAD, KERNEL, LIBC]
IDX = {img["name"]: i for i, img in enumerate(IMAGES)}


def frame(image, offset, symbol=None, location=None):
    f = {"imageOffset": offset, "imageIndex": IDX[image]}
    if symbol is not None:
        f["symbol"] = symbol
        f["symbolLocation"] = location
    return f


def regs(far, extra_symbol=None):
    x = [{"value": v} for v in [6080283000, 320, 0, 3, 0, 0, 1024, 9144, 0, 0, 17904, 0, 0, 31328]]
    x.append({"value": 360287990092284185, "symbolLocation": 360287970189639681,
              "symbol": extra_symbol} if extra_symbol else {"value": 71302262251569184})
    x += [{"value": v} for v in [14, 3, 17904, 0, 5771984896, 4842277008, 5637603840, 16760, 0,
                                  8297822848, 5771952128, 22, 22, 0]]
    return {"x": x, "flavor": "ARM_THREAD_STATE64", "lr": {"value": 4844502844},
            "cpsr": {"value": 2147483648}, "fp": {"value": 6271520528}, "sp": {"value": 6271520336},
            "esr": {"value": 2449473542, "description": "(Data Abort) byte read Translation fault"},
            "pc": {"value": 4846090264, "matchesCrashFrame": 1}, "far": {"value": far}}


def waiting_thread(tid):
    return {"id": tid, "frames": [frame("libsystem_kernel.dylib", 16772, "__psynch_cvwait", 8),
                                  frame("libsystem_pthread.dylib", 28892, "_pthread_cond_wait", 984),
                                  frame("Python", 1843200, "take_gil", 344)]}


def header(name, incident, ts):
    return {"app_name": name, "timestamp": ts, "app_version": "3.14.0",
            "slice_uuid": PYTHON["uuid"], "build_version": "3.14.0", "platform": 1,
            "bundleID": "org.python.python", "share_with_app_devs": 0, "is_first_party": 0,
            "bug_type": "309", "os_version": "macOS 15.7.3 (24G419)", "roots_installed": 0,
            "name": name, "incident_id": incident}


def body(incident, capture, pid, exception, termination, threads, faulting, asi=None):
    b = {"uptime": 1800, "procRole": "Background", "version": 2, "userID": 501, "deployVersion": 210,
         "modelCode": "Mac16,5", "coalitionID": 1467, "osVersion": {"train": "macOS 15.7.3",
         "build": "24G419", "releaseType": "User"}, "captureTime": capture, "codeSigningMonitor": 2,
         "incident": incident, "pid": pid, "translated": False, "cpuType": "ARM-64",
         "roots_installed": 0, "bug_type": "309", "procLaunch": capture,
         "procName": "Python", "procPath": PYTHON["path"],
         "bundleInfo": {"CFBundleShortVersionString": "3.14.0", "CFBundleVersion": "3.14.0",
                        "CFBundleIdentifier": "org.python.python"},
         "parentProc": "zsh", "parentPid": 81852, "coalitionName": "com.googlecode.iterm2",
         "crashReporterKey": "5C3A8E21-7D4B-4E0F-9A6C-2B1D3E5F7A90", "responsiblePid": 1357,
         "responsibleProc": "iTerm2", "sip": "enabled", "isCorpse": 1,
         "exception": exception, "termination": termination}
    if asi:
        b["asi"] = asi
    b.update({"faultingThread": faulting, "threads": threads, "usedImages": IMAGES,
              "sharedCache": {"base": 6576324608, "size": 5040898048,
                              "uuid": "d7397d7f-8df9-3920-81a7-c0a144be9c51"},
              "vmSummary": "ReadOnly portion of Libraries: Total=1.7G resident=0K(0%)"})
    return b


def write(name, hdr, bdy):
    text = json.dumps(hdr, separators=(",", ":")) + "\n" + json.dumps(bdy, indent=2) + "\n"
    with open(os.path.join(HERE, name), "w") as f:
        f.write(text)


SEGV = {"codes": "0x0000000000000001, 0x0000000000000098", "rawCodes": [1, 152],
        "type": "EXC_BAD_ACCESS", "signal": "SIGSEGV",
        "subtype": "KERN_INVALID_ADDRESS at 0x0000000000000098"}
SEGV_TERM = {"flags": 0, "code": 11, "namespace": "SIGNAL", "indicator": "Segmentation fault: 11",
             "byProc": "exc handler", "byPid": 81920}

# The known race: frame 0 prepareForEnqueue(bool) + 1268, fault at 0x98, reached from PyTorch MPS
# gatherViewTensor -> dispatchThreads (reference/000_19a3cf7323aac993.txt, dml crash_summary.json:
# 95 of 274 crashes faulted at 0x98 in AGX::ComputeContext<AGX::HAL200::...>).
race_frames = [
    frame("AGXMetalG16X", 227352, "AGX::ComputeContext<AGX::HAL200::Encoders, AGX::HAL200::Classes, AGX::HAL200::ObjClasses>::prepareForEnqueue(bool)", 1268),
    frame("AGXMetalG16X", 231828, "AGX::ComputeContext<AGX::HAL200::Encoders, AGX::HAL200::Classes, AGX::HAL200::ObjClasses>::performEnqueueKernel(AGX::HAL200::ComputeEncoderState const&, unsigned int, bool)", 2148),
    frame("AGXMetalG16X", 229716, "AGX::ComputeContext<AGX::HAL200::Encoders, AGX::HAL200::Classes, AGX::HAL200::ObjClasses>::executeKernelWithThreadsPerGridImpl(MTLSize, MTLSize, bool)", 528),
    frame("AGXMetalG16X", 1198884, "-[AGXG16XFamilyComputeContext dispatchThreads:threadsPerThreadgroup:]", 292),
    frame("libtorch_cpu.dylib", 81263420, "invocation function for block in at::native::mps::gatherViewTensor(at::Tensor const&, at::Tensor&)", 1180),
    frame("libdispatch.dylib", 15316, "_dispatch_client_callout", 16),
    frame("libdispatch.dylib", 73432, "_dispatch_lane_barrier_sync_invoke_and_complete", 56),
    frame("libtorch_cpu.dylib", 81254128, "at::native::mps::dispatch_sync_with_rethrow(NSObject<OS_dispatch_queue>*, void () block_pointer)", 124),
    frame("libtorch_cpu.dylib", 81262004, "at::native::mps::gatherViewTensor(at::Tensor const&, at::Tensor&)", 1508),
    frame("Python", 1843200, "_PyEval_EvalFrameDefault", 468),
    frame("libsystem_pthread.dylib", 28780, "_pthread_start", 136),
    frame("libsystem_pthread.dylib", 7724, "thread_start", 8),
]
threads = [waiting_thread(3100000 + i) for i in range(11)]
threads.append({"triggered": True, "id": 3100011, "name": "Thread-8 (worker)",
                "queue": "metal gpu stream 8", "threadState": regs(152), "frames": race_frames})
write("agx-prepareForEnqueue-0x98.ips",
      header("Python", "5E0C2B1A-7F3D-4A9B-8C6E-1D2F3A4B5C6D", "2025-12-23 16:41:07.00 -0800"),
      body("5E0C2B1A-7F3D-4A9B-8C6E-1D2F3A4B5C6D", "2025-12-23 16:41:06.5512 -0800", 81920, SEGV,
           SEGV_TERM, threads, 11))

# Trap: Python aborts (os.abort()) in a process with Metal and the AGX driver loaded, and a register
# of the crashed thread points at an AGX class. Neither makes it an AGX crash.
abort_frames = [
    frame("libsystem_kernel.dylib", 37768, "__pthread_kill", 8),
    frame("libsystem_pthread.dylib", 26696, "pthread_kill", 296),
    frame("libsystem_c.dylib", 494140, "abort", 124),
    frame("Python", 2412544, "os_abort", 12),
    frame("Python", 1032192, "cfunction_vectorcall_NOARGS", 96),
    frame("Python", 1843200, "_PyEval_EvalFrameDefault", 8264),
    frame("Python", 1900544, "PyEval_EvalCode", 184),
    frame("Python", 2101248, "Py_RunMain", 1244),
    frame("Python", 2109440, "pymain_main", 304),
]
abort_threads = [{"triggered": True, "id": 3200000, "queue": "com.apple.main-thread",
                  "threadState": regs(0, "OBJC_CLASS_$_AGXG16XFamilyCommandBuffer"), "frames": abort_frames}]
abort_threads += [waiting_thread(3200001 + i) for i in range(4)]
write("python-abort-agx-loaded.ips",
      header("Python", "0A9B8C7D-6E5F-4A3B-9C2D-1E0F9A8B7C6D", "2025-12-23 17:02:44.00 -0800"),
      body("0A9B8C7D-6E5F-4A3B-9C2D-1E0F9A8B7C6D", "2025-12-23 17:02:43.9021 -0800", 82011,
           {"codes": "0x0000000000000000, 0x0000000000000000", "rawCodes": [0, 0], "type": "EXC_CRASH",
            "signal": "SIGABRT"},
           {"flags": 0, "code": 6, "namespace": "SIGNAL", "indicator": "Abort trap: 6",
            "byProc": "Python", "byPid": 82011},
           abort_threads, 0, asi={"libsystem_c.dylib": ["abort() called"]}))
