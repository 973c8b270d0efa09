// A stand-in for Apple's AGX GPU driver, for symbolication tests: the same C++ symbol shapes
// (templated AGX::ComputeContext<...>::prepareForEnqueue(bool), performEnqueueKernel, an inlined
// helper), none of Apple's code. Built by make.sh into Mach-O dylibs and dSYMs.

namespace AGX {
namespace HAL200 {
struct Encoders {};
struct Classes {};
struct ObjClasses {};
struct EncoderComputeServiceClasses {};
struct ComputeEncoderState {
    int kernels;
    int threads;
};
}  // namespace HAL200

struct Resources {
    int spill[128];
};

template <class E, class C, class O, class S>
struct ComputeContext {
    Resources *resources;
    int enqueued;
    __attribute__((noinline)) bool prepareForEnqueue(bool flush);
    __attribute__((noinline)) void performEnqueueKernel(const HAL200::ComputeEncoderState &state, unsigned count, bool flush);
    __attribute__((noinline)) void executeKernelWithThreadsPerGridImpl(int grid, int group, bool flush);
};

// Always inlined: a frame that exists only in the DWARF of the dSYM.
static inline __attribute__((always_inline)) int agx_mix(int a, int b) {
    return a * 31 + (b ^ 0x5a);
}

template <class E, class C, class O, class S>
bool ComputeContext<E, C, O, S>::prepareForEnqueue(bool flush) {
    // The race: `resources` is null when another thread has just released it; reading its
    // field at offset 0x98 faults at address 0x98.
    int mixed = agx_mix(enqueued, flush ? 3 : 5);
    return resources->spill[0x98 / sizeof(int)] + mixed > 0;
}

template <class E, class C, class O, class S>
void ComputeContext<E, C, O, S>::performEnqueueKernel(const HAL200::ComputeEncoderState &state, unsigned count, bool flush) {
    for (unsigned i = 0; i < count; i++) {
        enqueued += state.kernels;
        if (!prepareForEnqueue(flush)) {
            enqueued -= state.threads;
        }
    }
}

template <class E, class C, class O, class S>
void ComputeContext<E, C, O, S>::executeKernelWithThreadsPerGridImpl(int grid, int group, bool flush) {
    HAL200::ComputeEncoderState state{grid, group};
    performEnqueueKernel(state, group > 0 ? grid / group : 1, flush);
}

template struct ComputeContext<HAL200::Encoders, HAL200::Classes, HAL200::ObjClasses, HAL200::EncoderComputeServiceClasses>;

struct RenderContext {
    int passes;
    __attribute__((noinline)) void endRenderPassCommon(bool a, bool b, bool c, bool d, bool e);
};

void RenderContext::endRenderPassCommon(bool a, bool b, bool c, bool d, bool e) {
    passes += a + b + c + d + e;
}
}  // namespace AGX

// The one exported C entry point, the only symbol left in the stripped build.
extern "C" int agx_c_entry(int grid) {
    AGX::ComputeContext<AGX::HAL200::Encoders, AGX::HAL200::Classes, AGX::HAL200::ObjClasses,
                        AGX::HAL200::EncoderComputeServiceClasses> ctx{nullptr, 0};
    ctx.executeKernelWithThreadsPerGridImpl(grid, 4, true);
    return ctx.enqueued;
}
