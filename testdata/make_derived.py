#!/usr/bin/env python3
"""Writes the derived test reports in this folder.

Each report is built from facts in ../shared/reference/dml/ (real AGX crash analyses from an MPS
stress campaign on an M4 Max): process, OS build, driver image name, UUID and version, frames,
fault address, registers. They are not copies of real files; testdata/README.md marks them derived.
Run: python3 testdata/make_derived.py
"""
import json
import os

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "derived")

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

OBJC = {"source": "P", "arch": "arm64e", "base": 6576324608, "size": 274432,
        "uuid": "d4e5f6a7-b8c9-3d0e-9f1a-2b3c4d5e6f70", "path": "/usr/lib/libobjc.A.dylib",
        "name": "libobjc.A.dylib"}
IOGPU = {"source": "P", "arch": "arm64e", "base": 7034880000, "size": 368640,
         "uuid": "ea6c7de2-55da-3056-8b03-439ae1bf175f",
         "path": "/System/Library/PrivateFrameworks/IOGPU.framework/Versions/A/IOGPU", "name": "IOGPU",
         "CFBundleIdentifier": "com.apple.IOGPU", "CFBundleShortVersionString": "104.6.3",
         "CFBundleVersion": "104.6.3"}
MLX = {"source": "P", "arch": "arm64", "base": 4903141376, "size": 25165824,
       "uuid": "3f2a1b0c-9d8e-3f7a-a6b5-c4d3e2f1a0b9",
       "path": "/Users/USER/*/site-packages/mlx/lib/libmlx.dylib", "name": "libmlx.dylib"}
MPSGRAPH = {"source": "P", "arch": "arm64e", "base": 8530165760, "size": 14680064,
            "uuid": "5a6b7c8d-9e0f-3a1b-8c2d-3e4f5a6b7c8d",
            "path": "/System/Library/Frameworks/MetalPerformanceShadersGraph.framework/Versions/A/MetalPerformanceShadersGraph",
            "name": "MetalPerformanceShadersGraph", "CFBundleIdentifier": "com.apple.MetalPerformanceShadersGraph",
            "CFBundleShortVersionString": "5.4.11", "CFBundleVersion": "5.4.11"}
MOLTENVK = {"source": "P", "arch": "arm64", "base": 4379901952, "size": 4194304,
            "uuid": "7b8c9d0e-1f2a-3b4c-9d5e-6f7a8b9c0d1e",
            "path": "/usr/local/lib/libMoltenVK.dylib", "name": "libMoltenVK.dylib"}

IMAGES = [PYTHON, TORCH, AGX, METAL, DISPATCH, PTHREAD, KERNEL, LIBC, OBJC, IOGPU, MLX, MPSGRAPH, MOLTENVK]
IDX = {img["name"]: i for i, img in enumerate(IMAGES)}


def frame(image, offset, symbol=None, location=None):
    f = {"imageOffset": offset, "imageIndex": IDX[image]}
    if symbol is not None:
        f["symbol"] = symbol
        f["symbolLocation"] = location
    return f


def regs(far, extra_symbol=None, esr=2449473542, esr_text="(Data Abort) byte read Translation fault"):
    x = [{"value": v} for v in [6080283000, 320, 0, 3, 0, 0, 1024, 9144, 0, 0, 17904, 0, 0, 31328]]
    x.append({"value": 360287990092284185, "symbolLocation": 360287970189639681,
              "symbol": extra_symbol} if extra_symbol else {"value": 71302262251569184})
    x += [{"value": v} for v in [14, 3, 17904, 0, 5771984896, 4842277008, 5637603840, 16760, 0,
                                  8297822848, 5771952128, 22, 22, 0]]
    return {"x": x, "flavor": "ARM_THREAD_STATE64", "lr": {"value": 4844502844},
            "cpsr": {"value": 2147483648}, "fp": {"value": 6271520528}, "sp": {"value": 6271520336},
            "esr": {"value": esr, "description": esr_text},
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
    frame("AGXMetalG16X", 227352, "AGX::ComputeContext<AGX::HAL200::Encoders, AGX::HAL200::Classes, AGX::HAL200::ObjClasses, AGX::HAL200::EncoderComputeServiceClasses>::prepareForEnqueue(bool)", 1268),
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


# --- One report per built-in rule, each from the facts named beside it. -----------------------

def segv(address, subtype=None):
    return {"codes": f"0x0000000000000001, {address:#018x}", "rawCodes": [1, address],
            "type": "EXC_BAD_ACCESS", "signal": "SIGSEGV",
            "subtype": subtype or f"KERN_INVALID_ADDRESS at {address:#018x}"}


def segv_term(pid):
    return {"flags": 0, "code": 11, "namespace": "SIGNAL", "indicator": "Segmentation fault: 11",
            "byProc": "exc handler", "byPid": pid}


def abort_exc():
    return {"codes": "0x0000000000000000, 0x0000000000000000", "rawCodes": [0, 0], "type": "EXC_CRASH",
            "signal": "SIGABRT"}


def abort_term(pid):
    return {"flags": 0, "code": 6, "namespace": "SIGNAL", "indicator": "Abort trap: 6",
            "byProc": "Python", "byPid": pid}


TAIL = [frame("Python", 1843200, "_PyEval_EvalFrameDefault", 468),
        frame("libsystem_pthread.dylib", 28780, "_pthread_start", 136),
        frame("libsystem_pthread.dylib", 7724, "thread_start", 8)]
ABORT_TOP = [frame("libsystem_kernel.dylib", 37768, "__pthread_kill", 8),
             frame("libsystem_pthread.dylib", 26696, "pthread_kill", 296),
             frame("libsystem_c.dylib", 494140, "abort", 124),
             frame("libsystem_c.dylib", 490520, "__assert_rtn", 284),
             frame("Metal", 1276080, "MTLReportFailure.cold.1", 48),
             frame("Metal", 1100144, "MTLReportFailure", 576)]


def one(name, incident, minute, pid, exception, termination, frames, far=0, asi=None,
        thread_name="Thread-8 (worker)", queue="metal gpu stream 8", esr=(2449473542, "(Data Abort) byte read Translation fault")):
    threads = [waiting_thread(3300000 + i) for i in range(5)]
    crashed = {"triggered": True, "id": 3300005, "name": thread_name, "queue": queue,
               "threadState": regs(far, esr=esr[0], esr_text=esr[1]), "frames": frames + TAIL}
    threads.append({k: v for k, v in crashed.items() if v is not None})
    write(name, header("Python", incident, f"2025-12-20 17:{minute:02d}:19.00 -0800"),
          body(incident, f"2025-12-20 17:{minute:02d}:18.2862 -0800", pid, exception, termination,
               threads, 5, asi=asi))


# dml__CRASH_ANALYSIS_2025-12-20_173618.md: setComputePipelineState: + 32 at 0x5c8, byte read.
one("agx-setComputePipelineState-0x5c8.ips", "79BC4A1F-C45B-45D9-BB21-94FE1DDC55A9", 36, 81920,
    segv(0x5c8), segv_term(81920),
    [frame("AGXMetalG16X", 1197056, "-[AGXG16XFamilyComputeContext setComputePipelineState:]", 32),
     frame("libtorch_cpu.dylib", 81263420, "invocation function for block in at::native::mps::MetalShaderLibrary::exec_binary_kernel(at::TensorIteratorBase&, std::__1::basic_string<char, std::__1::char_traits<char>, std::__1::allocator<char>> const&, std::__1::optional<c10::Scalar>, std::__1::optional<c10::ScalarType>)", 444),
     frame("libdispatch.dylib", 15316, "_dispatch_client_callout", 16),
     frame("libdispatch.dylib", 73432, "_dispatch_lane_barrier_sync_invoke_and_complete", 56),
     frame("libtorch_cpu.dylib", 81254128, "at::native::mps::dispatch_sync_with_rethrow(NSObject<OS_dispatch_queue>*, void () block_pointer)", 124),
     frame("libtorch_cpu.dylib", 81262004, "at::native::mps::MetalShaderLibrary::exec_binary_kernel(at::TensorIteratorBase&, std::__1::basic_string<char, std::__1::char_traits<char>, std::__1::allocator<char>> const&, std::__1::optional<c10::Scalar>, std::__1::optional<c10::ScalarType>)", 2124),
     frame("libtorch_cpu.dylib", 81270000, "at::native::mul_mps_kernel(at::TensorIteratorBase&)", 88)],
    far=0x5c8, queue="metal gpu stream 1", thread_name="Thread-2 (worker)")

# dml__CRASH_ANALYSIS_2025-12-20_174241.md: allocateUSCSpillBuffer + 192 at 0x184, byte write.
one("agx-allocateUSCSpillBuffer-0x184.ips", "9B1CCC47-4DA8-4734-BCF1-3BFA26420074", 42, 82101,
    segv(0x184), segv_term(82101),
    [frame("AGXMetalG16X", 5574680, "AGX::SpillInfoGen3<AGX::HAL200::Encoders, AGX::HAL200::Classes, AGX::HAL200::ObjClasses>::allocateUSCSpillBuffer(AGX::HAL200::Device*, unsigned int)", 192),
     frame("AGXMetalG16X", 231828, "AGX::ComputeContext<AGX::HAL200::Encoders, AGX::HAL200::Classes, AGX::HAL200::ObjClasses, AGX::HAL200::EncoderComputeServiceClasses>::performEnqueueKernel(AGX::HAL200::ComputeEncoderState const&, unsigned int, bool)", 2148),
     frame("AGXMetalG16X", 229716, "AGX::ComputeContext<AGX::HAL200::Encoders, AGX::HAL200::Classes, AGX::HAL200::ObjClasses, AGX::HAL200::EncoderComputeServiceClasses>::executeKernelWithThreadsPerGridImpl(MTLSize, MTLSize, bool)", 528),
     frame("AGXMetalG16X", 1198884, "-[AGXG16XFamilyComputeContext dispatchThreads:threadsPerThreadgroup:]", 292),
     frame("libtorch_cpu.dylib", 81263420, "invocation function for block in at::native::mps::MetalShaderLibrary::exec_binary_kernel(at::TensorIteratorBase&, std::__1::basic_string<char, std::__1::char_traits<char>, std::__1::allocator<char>> const&, std::__1::optional<c10::Scalar>, std::__1::optional<c10::ScalarType>)", 1180),
     frame("libdispatch.dylib", 15316, "_dispatch_client_callout", 16)],
    far=0x184, esr=(2449473606, "(Data Abort) byte write Translation fault"))

# dml__crash_summary.json: dispatchThreads:threadsPerThreadgroup: + 296 at 0x5f4.
one("agx-dispatchThreads-0x5f4.ips", "1C2D3E4F-5A6B-4C7D-8E9F-0A1B2C3D4E5F", 44, 82250,
    segv(0x5f4), segv_term(82250),
    [frame("AGXMetalG16X", 1198888, "-[AGXG16XFamilyComputeContext dispatchThreads:threadsPerThreadgroup:]", 296),
     frame("libtorch_cpu.dylib", 81263420, "invocation function for block in at::native::mps::MetalShaderLibrary::exec_binary_kernel(at::TensorIteratorBase&, std::__1::basic_string<char, std::__1::char_traits<char>, std::__1::allocator<char>> const&, std::__1::optional<c10::Scalar>, std::__1::optional<c10::ScalarType>)", 1180)],
    far=0x5f4)

# dml__crash_summary.json: setBuffer:offset:atIndex: + 56 at 0x3b90.
one("agx-setBuffer-0x3b90.ips", "2D3E4F5A-6B7C-4D8E-9F0A-1B2C3D4E5F6A", 45, 82311,
    segv(0x3b90), segv_term(82311),
    [frame("AGXMetalG16X", 1196544, "-[AGXG16XFamilyComputeContext setBuffer:offset:atIndex:]", 56),
     frame("libtorch_cpu.dylib", 81263000, "invocation function for block in at::native::mps::MetalShaderLibrary::exec_unary_kernel(at::TensorIteratorBase&, std::__1::basic_string<char, std::__1::char_traits<char>, std::__1::allocator<char>> const&, std::__1::optional<c10::Scalar>, std::__1::optional<c10::ScalarType>)", 312)],
    far=0x3b90)

# dml__crash_summary.json: ResourceGroupUsage<...>::bindResource(...) + 32 at 0x1e0.
one("agx-ResourceGroupUsage-0x1e0.ips", "3E4F5A6B-7C8D-4E9F-8A0B-2C3D4E5F6A7B", 46, 82402,
    segv(0x1e0), segv_term(82402),
    [frame("AGXMetalG16X", 2310144, "AGX::ResourceGroupUsage<AGX::HAL200::Encoders, AGX::HAL200::Classes, AGX::HAL200::ObjClasses>::bindResource(_IOGPUMetalResource const*, ResourceGroupBindingType, unsigned int, unsigned int)", 32),
     frame("AGXMetalG16X", 1196544, "-[AGXG16XFamilyComputeContext setBuffer:offset:atIndex:]", 148),
     frame("libtorch_cpu.dylib", 81263000, "invocation function for block in at::native::mps::MetalShaderLibrary::exec_unary_kernel(at::TensorIteratorBase&, std::__1::basic_string<char, std::__1::char_traits<char>, std::__1::allocator<char>> const&, std::__1::optional<c10::Scalar>, std::__1::optional<c10::ScalarType>)", 312)],
    far=0x1e0)

# dml__crash_summary.json: objc_msgSend + 32, "KERN_INVALID_ADDRESS at 0x00009ba36e2f2650 ->
# 0x00001ba36e2f2650 (possible pointer authentication failure)", 73 crashes of this shape.
one("objc-msgSend-uaf-pac.ips", "4F5A6B7C-8D9E-4F0A-9B1C-3D4E5F6A7B8C", 47, 82533,
    segv(0x00009ba36e2f2650, "KERN_INVALID_ADDRESS at 0x00009ba36e2f2650 -> 0x00001ba36e2f2650 (possible pointer authentication failure)"),
    segv_term(82533),
    [frame("libobjc.A.dylib", 28704, "objc_msgSend", 32),
     frame("Metal", 845312, "-[_MTLCommandBuffer didCompleteWithStartTime:endTime:error:]", 600),
     frame("IOGPU", 93492, "-[IOGPUMetalCommandBuffer didCompleteWithStartTime:endTime:error:]", 220),
     frame("Metal", 844800, "-[_MTLCommandQueue commandBufferDidComplete:startTime:completionTime:error:]", 136),
     frame("libdispatch.dylib", 15316, "_dispatch_client_callout", 16)],
    far=0x00009ba36e2f2650, queue="com.Metal.CompletionQueueDispatch", thread_name=None)

# corpus crash/dml__crash_log.txt (MLX on an M4 Max, macOS 15.7.2): the AGX coalescing assertion.
one("agx-encoder-already-encoding.ips", "5A6B7C8D-9E0F-4A1B-8C2D-4E5F6A7B8C9D", 48, 82644,
    abort_exc(), abort_term(82644),
    ABORT_TOP + [
        frame("AGXMetalG16X", 1456128, "-[AGXG16XFamilyCommandBuffer tryCoalescingPreviousComputeCommandEncoderWithConfig:nextEncoderClass:]", 1091),
        frame("AGXMetalG16X", 1460224, "-[AGXG16XFamilyCommandBuffer computeCommandEncoderWithDescriptor:]", 340),
        frame("libmlx.dylib", 8392704, "mlx::core::metal::CommandEncoder::CommandEncoder(MTL::CommandBuffer*)", 96),
        frame("libmlx.dylib", 8396800, "mlx::core::metal::Device::get_command_encoder(int)", 212)],
    asi={"Metal": ["-[AGXG16XFamilyCommandBuffer tryCoalescingPreviousComputeCommandEncoderWithConfig:nextEncoderClass:]:1091: failed assertion `A command encoder is already encoding to this command buffer'"]},
    queue=None)

# Public PyTorch MPS threads: -[IOGPUMetalCommandBuffer validate]:214 `commit an already committed
# command buffer'.
one("metal-committed-twice.ips", "6B7C8D9E-0F1A-4B2C-9D3E-5F6A7B8C9D0E", 49, 82755,
    abort_exc(), abort_term(82755),
    ABORT_TOP + [
        frame("IOGPU", 91136, "-[IOGPUMetalCommandBuffer validate]", 620),
        frame("Metal", 843776, "-[_MTLCommandBuffer commit]", 112),
        frame("libtorch_cpu.dylib", 81200000, "at::mps::MPSStream::commit()", 72)],
    asi={"libsystem_c.dylib": ["-[IOGPUMetalCommandBuffer validate]:214: failed assertion `commit an already committed command buffer'"]},
    queue="metal gpu stream 3")

# Public MLX threads: -[_MTLCommandBuffer addCompletedHandler:]:1011.
one("metal-completed-handler-after-commit.ips", "7C8D9E0F-1A2B-4C3D-8E4F-6A7B8C9D0E1F", 50, 82866,
    abort_exc(), abort_term(82866),
    ABORT_TOP + [
        frame("Metal", 846848, "-[_MTLCommandBuffer addCompletedHandler:]", 140),
        frame("libmlx.dylib", 8400896, "mlx::core::gpu::eval(mlx::core::array&)", 388)],
    asi={"libsystem_c.dylib": ["-[_MTLCommandBuffer addCompletedHandler:]:1011: failed assertion `Completed handler provided after commit call'"]},
    queue=None)

# Public MPS threads: -[_MTLCommandBuffer commit]:691 `commit command buffer with uncommitted encoder'.
one("metal-commit-uncommitted-encoder.ips", "8D9E0F1A-2B3C-4D4E-9F5A-7B8C9D0E1F2A", 51, 82977,
    abort_exc(), abort_term(82977),
    ABORT_TOP + [
        frame("Metal", 843776, "-[_MTLCommandBuffer commit]", 244),
        frame("libtorch_cpu.dylib", 81200000, "at::mps::MPSStream::commit()", 72)],
    asi={"libsystem_c.dylib": ["-[_MTLCommandBuffer commit]:691: failed assertion `commit command buffer with uncommitted encoder'"]},
    queue="metal gpu stream 2")

# wgpu#7816 (lldb backtrace of a real crash): AGX::RenderContext<...>::endRenderPassCommon at 0x20.
one("agx-other-endRenderPassCommon.ips", "9E0F1A2B-3C4D-4E5F-8A6B-8C9D0E1F2A3B", 52, 83088,
    segv(0x20), segv_term(83088),
    [frame("AGXMetalG16X", 3149176, "AGX::RenderContext<AGX::HAL200::Encoders, AGX::HAL200::Classes, AGX::HAL200::ObjClasses>::endRenderPassCommon(bool, bool, bool, bool, bool)", 376),
     frame("AGXMetalG16X", 3256908, "-[AGXG16XFamilyRenderContext deferredEndEncoding:]", 632),
     frame("AGXMetalG16X", 2195824, "-[AGXG16XFamilyCommandBuffer dealloc]", 96)],
    far=0x20, queue="com.apple.main-thread", thread_name=None)

# pytorch#166746: an MPSGraph assertion through MTLReportFailure, no driver frame: other Metal.
one("metal-other-mpsgraph-assert.ips", "0F1A2B3C-4D5E-4F6A-9B7C-9D0E1F2A3B4C", 53, 83199,
    abort_exc(), abort_term(83199),
    ABORT_TOP + [
        frame("MetalPerformanceShadersGraph", 1209160, "-[MPSGraphExecutable commonPostInit:]", 912),
        frame("MetalPerformanceShadersGraph", 1213208, "-[MPSGraphExecutable initWithGraph:device:feeds:targetTensors:targetOperations:executableDescriptor:]", 1900),
        frame("libtorch_cpu.dylib", 81300000, "at::native::mps::MPSGraphCache::CreateCachedGraph(std::__1::basic_string<char, std::__1::char_traits<char>, std::__1::allocator<char>> const&, std::__1::function<at::native::mps::MPSCachedGraph* ()>)", 96)],
    queue="metal gpu stream")

# The race's driver frame reached from MoltenVK (Vulkan on Metal), not from MPS.
one("agx-prepareForEnqueue-moltenvk.ips", "1A2B3C4D-5E6F-4A7B-8C9D-0E1F2A3B4C5D", 54, 83300,
    segv(0x98), segv_term(83300),
    [frame("AGXMetalG16X", 227352, "AGX::ComputeContext<AGX::HAL200::Encoders, AGX::HAL200::Classes, AGX::HAL200::ObjClasses, AGX::HAL200::EncoderComputeServiceClasses>::prepareForEnqueue(bool)", 1268),
     frame("AGXMetalG16X", 231828, "AGX::ComputeContext<AGX::HAL200::Encoders, AGX::HAL200::Classes, AGX::HAL200::ObjClasses, AGX::HAL200::EncoderComputeServiceClasses>::performEnqueueKernel(AGX::HAL200::ComputeEncoderState const&, unsigned int, bool)", 2148),
     frame("AGXMetalG16X", 1199104, "-[AGXG16XFamilyComputeContext dispatchThreadgroups:threadsPerThreadgroup:]", 212),
     frame("libMoltenVK.dylib", 1310720, "MVKCmdDispatch::encode(MVKCommandEncoder*)", 164),
     frame("libMoltenVK.dylib", 1314816, "MVKCommandEncoder::encode(id<MTLCommandBuffer>, MVKCommandEncodingContext*)", 332)],
    far=0x98, thread_name=None, queue=None)

# Trap: the race's frames on a thread that did not crash; the crashed thread is a Python abort.
trap_threads = [{"triggered": True, "id": 3400000, "queue": "com.apple.main-thread",
                 "threadState": regs(0), "frames": abort_frames}]
trap_threads.append({"id": 3400001, "name": "Thread-3 (worker)", "queue": "metal gpu stream 4",
                     "frames": race_frames})
write("race-frames-on-another-thread.ips",
      header("Python", "2B3C4D5E-6F7A-4B8C-9D0E-1F2A3B4C5D6E", "2025-12-20 17:55:19.00 -0800"),
      body("2B3C4D5E-6F7A-4B8C-9D0E-1F2A3B4C5D6E", "2025-12-20 17:55:18.2862 -0800", 83411,
           abort_exc(), abort_term(83411), trap_threads, 0, asi={"libsystem_c.dylib": ["abort() called"]}))

# --- Unnamed driver frames, for symbolication (testdata/symbols/out holds the matching image). ---
# The race as a report without driver symbols: the AGX image is the stand-in driver built by
# testdata/symbols/make.sh (arm64, UUID a1b2c3d4-0001-4000-8000-000000000a64); frame offsets
# point into its prepareForEnqueue (0x360), performEnqueueKernel (0x398) and
# executeKernelWithThreadsPerGridImpl (0x40c).
FIXTURE = dict(AGX, uuid="a1b2c3d4-0001-4000-8000-000000000a64", arch="arm64", size=16384)
IMAGES_FIXTURE = [FIXTURE if img is AGX else img for img in IMAGES]


def unnamed(offset):
    return {"imageOffset": offset, "imageIndex": IDX["AGXMetalG16X"]}


unnamed_frames = [unnamed(0x384), unnamed(0x3D8), unnamed(0x42C)] + race_frames[4:]
threads = [waiting_thread(3500000 + i) for i in range(3)]
threads.append({"triggered": True, "id": 3500003, "name": "Thread-5 (worker)", "queue": "metal gpu stream 5",
                "threadState": regs(152), "frames": unnamed_frames})
b = body("6C7D8E9F-0A1B-4C2D-8E3F-4A5B6C7D8E9F", "2025-12-23 17:30:06.5512 -0800", 84001, SEGV,
         segv_term(84001), threads, 3)
b["usedImages"] = IMAGES_FIXTURE
write("agx-unsymbolicated-0x98.ips",
      header("Python", "6C7D8E9F-0A1B-4C2D-8E3F-4A5B6C7D8E9F", "2025-12-23 17:30:07.00 -0800"), b)

# --- The known race as pytest leaves it (issue 11). ---------------------------------------------
# pytest enables Python's faulthandler; when a worker faults in the driver, faulthandler prints
# the Python traceback and re-raises the signal, so the crashed thread reads __pthread_kill,
# pthread_kill, raise, faulthandler_fatal_error, _sigtramp, then the race. The frames above
# _sigtramp and their offsets are those of a real report of this shape (jundot/omlx#1548, in
# testdata/field/signal-handlers/01-*); the exception is EXC_CRASH (SIGSEGV): the process died of
# the re-raised signal, so the report has no fault address (codes 0, 0).
PLATFORM = {"source": "P", "arch": "arm64e", "base": 6584066048, "size": 32768,
            "uuid": "f1e2d3c4-b5a6-3978-8a9b-0c1d2e3f4a5b", "path": "/usr/lib/system/libsystem_platform.dylib",
            "name": "libsystem_platform.dylib"}
IMAGES_FH = IMAGES + [PLATFORM]
FAULTHANDLER_TOP = [frame("libsystem_kernel.dylib", 37768, "__pthread_kill", 8),
                    frame("libsystem_pthread.dylib", 26696, "pthread_kill", 296),
                    frame("libsystem_c.dylib", 143380, "raise", 32),
                    frame("Python", 2651212, "faulthandler_fatal_error", 368),
                    {"imageOffset": 18244, "imageIndex": len(IMAGES), "symbol": "_sigtramp", "symbolLocation": 56}]
RERAISED = {"codes": "0x0000000000000000, 0x0000000000000000", "rawCodes": [0, 0],
            "type": "EXC_CRASH", "signal": "SIGSEGV"}


def reraised_term(pid):
    return {"flags": 0, "code": 11, "namespace": "SIGNAL", "indicator": "Segmentation fault: 11",
            "byProc": "Python", "byPid": pid}


# Two other threads inside the GPU stack at crash time: one encoding (a binary op on another
# stream reaching the driver), one blocked in waitUntilCompleted. The frame shapes are the
# dispatch_sync_with_rethrow pattern of the race and of exec_binary_kernel in
# dml__CRASH_ANALYSIS_2025-12-20_173618.md.
racing_thread = {"id": 3600013, "name": "Thread-3 (worker)", "queue": "metal gpu stream 4",
                 "frames": [
                     frame("AGXMetalG16X", 1197056, "-[AGXG16XFamilyComputeContext setComputePipelineState:]", 96),
                     frame("libtorch_cpu.dylib", 81263420, "invocation function for block in at::native::mps::binaryOpTensor(at::Tensor const&, at::Tensor const&, at::Tensor const&, std::__1::basic_string<char, std::__1::char_traits<char>, std::__1::allocator<char>>, void (at::native::mps::BinaryOpCachedGraph*, MPSGraphTensor*, MPSGraphTensor*) block_pointer)", 612),
                     frame("libdispatch.dylib", 15316, "_dispatch_client_callout", 16),
                     frame("libdispatch.dylib", 73432, "_dispatch_lane_barrier_sync_invoke_and_complete", 56),
                     frame("libtorch_cpu.dylib", 81254128, "at::native::mps::dispatch_sync_with_rethrow(NSObject<OS_dispatch_queue>*, void () block_pointer)", 124),
                     frame("libtorch_cpu.dylib", 81258000, "at::native::mps::binaryOpTensor(at::Tensor const&, at::Tensor const&, at::Tensor const&, std::__1::basic_string<char, std::__1::char_traits<char>, std::__1::allocator<char>>, void (at::native::mps::BinaryOpCachedGraph*, MPSGraphTensor*, MPSGraphTensor*) block_pointer)", 1836)] + TAIL}
waiting_gpu_thread = {"id": 3600014, "name": "Thread-4 (worker)", "queue": "metal gpu stream 5",
                      "frames": [
                          frame("libsystem_kernel.dylib", 16772, "__psynch_cvwait", 8),
                          frame("libsystem_pthread.dylib", 28892, "_pthread_cond_wait", 984),
                          frame("IOGPU", 96000, "-[IOGPUMetalCommandBuffer waitUntilCompleted]", 88),
                          frame("libtorch_cpu.dylib", 81205000, "at::mps::MPSStream::commitAndWait()", 120),
                          frame("libtorch_cpu.dylib", 81205400, "at::mps::MPSStream::synchronize(at::mps::SyncType)", 96)] + TAIL}


def race_report(name, incident, pid, frames, extra_threads):
    threads = [waiting_thread(3600000 + i) for i in range(11)]
    threads.append({"triggered": True, "id": 3600011, "name": "Thread-8 (worker)",
                    "queue": "metal gpu stream 8", "threadState": regs(0), "frames": frames})
    threads += extra_threads
    b = body(incident, "2026-11-20 10:12:41.3307 -0800", pid, RERAISED, reraised_term(pid), threads, 11)
    b["usedImages"] = IMAGES_FH
    # A pytest-xdist worker: its parent is the pytest controller, another Python.
    b["parentProc"] = "Python"
    b["parentPid"] = pid - 7
    hdr = header("Python", incident, "2026-11-20 10:12:42.00 -0800")
    write(name, hdr, b)
    return hdr, b


fh_hdr, fh_body = race_report("agx-prepareForEnqueue-faulthandler.ips", "A3F0C2D1-6B7E-4C8D-9E0F-1A2B3C4D5E6F",
                              86120, FAULTHANDLER_TOP + race_frames, [racing_thread, waiting_gpu_thread])

# The same report as the text Console shows and users paste ("Translated Report"): the text parser
# must find the same handler, location, trigger and racing threads.
def translated(hdr, b):
    images = b["usedImages"]
    lines = [
        "-------------------------------------",
        "Translated Report (Full Report Below)",
        "-------------------------------------",
        "",
        f"Process:               {b['procName']} [{b['pid']}]",
        f"Path:                  {b['procPath']}",
        f"Identifier:            {b['bundleInfo']['CFBundleIdentifier']}",
        f"Version:               {b['bundleInfo']['CFBundleShortVersionString']} ({b['bundleInfo']['CFBundleVersion']})",
        "Code Type:             ARM-64 (Native)",
        f"Parent Process:        {b['parentProc']} [{b['parentPid']}]",
        f"Responsible:           {b['responsibleProc']} [{b['responsiblePid']}]",
        f"User ID:               {b['userID']}",
        "",
        f"Date/Time:             {b['captureTime']}",
        f"OS Version:            {hdr['os_version']}",
        "Report Version:        12",
        f"Anonymous UUID:        {b['crashReporterKey']}",
        "",
        f"Crashed Thread:        {b['faultingThread']}  Dispatch queue: {b['threads'][b['faultingThread']]['queue']}",
        "",
        f"Exception Type:        {b['exception']['type']} ({b['exception']['signal']})",
        f"Exception Codes:       {b['exception']['codes']}",
        "",
        f"Termination Reason:    Namespace {b['termination']['namespace']}, Code {b['termination']['code']} {b['termination']['indicator']}",
        f"Terminating Process:   {b['termination']['byProc']} [{b['termination']['byPid']}]",
        "",
    ]
    for i, t in enumerate(b["threads"]):
        crashed = " Crashed" if i == b["faultingThread"] else ""
        head = f"Thread {i}{crashed}::"
        if t.get("name"):
            head += f"  {t['name']}"
        if t.get("queue"):
            head += f"  Dispatch queue: {t['queue']}"
        lines.append(head)
        for n, f in enumerate(t["frames"]):
            img = images[f["imageIndex"]]
            addr = img["base"] + f["imageOffset"]
            lines.append(f"{n:<4}{img['name']:<30}\t{addr:#18x} {f['symbol']} + {f['symbolLocation']}")
        lines.append("")
    lines.append("Binary Images:")
    for img in images:
        end = img["base"] + img["size"] - 1
        ident = img.get("CFBundleIdentifier", img["name"])
        version = img.get("CFBundleShortVersionString", "*")
        lines.append(f"{img['base']:#18x} - {end:#18x} {ident} ({version}) <{img['uuid']}> {img['path']}")
    return "\n".join(lines) + "\n"


with open(os.path.join(HERE, "agx-prepareForEnqueue-faulthandler-translated.txt"), "w") as f:
    f.write(translated(fh_hdr, fh_body))

# The race reached through dispatch_sync_with_rethrow running a lambda instead of a block: the
# trigger must still read gatherViewTensor -> dispatchThreads, never a bare operator().
lambda_frames = race_frames[:4] + [
    frame("libtorch_cpu.dylib", 81263420, "at::native::mps::gatherViewTensor(at::Tensor const&, at::Tensor&)::$_0::operator()() const", 1180),
    frame("libtorch_cpu.dylib", 81254300, "invocation function for block in at::native::mps::dispatch_sync_with_rethrow(NSObject<OS_dispatch_queue>*, void () block_pointer)", 64),
    frame("libdispatch.dylib", 15316, "_dispatch_client_callout", 16),
    frame("libdispatch.dylib", 73432, "_dispatch_lane_barrier_sync_invoke_and_complete", 56),
    frame("libtorch_cpu.dylib", 81254128, "at::native::mps::dispatch_sync_with_rethrow(NSObject<OS_dispatch_queue>*, void () block_pointer)", 124),
    frame("libtorch_cpu.dylib", 81262004, "at::native::mps::gatherViewTensor(at::Tensor const&, at::Tensor&)", 1508),
] + TAIL
race_report("agx-prepareForEnqueue-faulthandler-lambda.ips", "B4A1D3E2-7C8F-4D9E-8F1A-2B3C4D5E6F70",
            86240, FAULTHANDLER_TOP + lambda_frames, [])

# --- The race on a later release (issue 18, part 5: versions and regressions). ----------------
# The same crash as agx-prepareForEnqueue-0x98.ips on macOS 26.5, build 25F71 (the build number
# hoakley's Eclectic Light Company gives for 26.5, an update that also changed "the whole AGX
# series" of kernel extensions in version), with a later AGX driver: for rules whose fixed_in lies
# between the two, the 15.7.3 report is before the fix and this one at or after it (a
# regression). The driver version 342.3.1 is made up: no public report of the AGX driver on
# macOS 26 was found; its form is that of the real 329.2 (CFBundleShortVersionString).
AGX_26 = dict(AGX, CFBundleShortVersionString="342.3.1", CFBundleVersion="342.3.1")
threads = [waiting_thread(3700000 + i) for i in range(11)]
threads.append({"triggered": True, "id": 3700011, "name": "Thread-8 (worker)",
                "queue": "metal gpu stream 8", "threadState": regs(152), "frames": race_frames})
hdr_26 = header("Python", "8A3F5C71-2D4E-4B6A-9C8D-7E1F2A3B4C5D", "2026-11-20 10:12:44.00 -0800")
hdr_26["os_version"] = "macOS 26.5 (25F71)"
body_26 = body("8A3F5C71-2D4E-4B6A-9C8D-7E1F2A3B4C5D", "2026-11-20 10:12:43.8120 -0800", 91230,
               SEGV, segv_term(91230), threads, 11)
body_26["osVersion"] = {"train": "macOS 26.5", "build": "25F71", "releaseType": "User"}
body_26["usedImages"] = [AGX_26 if img is AGX else img for img in IMAGES]
write("agx-prepareForEnqueue-0x98-macos26.ips", hdr_26, body_26)

# --- Pastes cut short. ------------------------------------------------------------------------
# GitHub refuses an issue or comment over 65,536 characters, and a .ips body is often larger (its
# images, and before macOS 12's layout every thread's registers), so a pasted report is cut, or
# split across comments. macOS writes `threads` before `usedImages`: the first part holds the
# crashed thread, and the reading must classify it from there (src/report/salvage.rs).
with open(os.path.join(HERE, "agx-prepareForEnqueue-0x98.ips")) as f:
    race_text = f.read()
cut_at = race_text.index('"usedImages"') + 200
with open(os.path.join(HERE, "agx-prepareForEnqueue-0x98-cut-in-used-images.md"), "w") as f:
    f.write("The crash report (part 1, the rest is in the next comment):\n\n```\n"
            + race_text[:cut_at] + "\n```\n")
with open(os.path.join(HERE, "..", "real", "ips", "ips2crashlog__source.ips")) as f:
    real_text = f.read()
with open(os.path.join(HERE, "ips2crashlog-first-65536-characters.ips"), "w") as f:
    f.write(real_text[:65536])
