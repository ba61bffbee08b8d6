/*
 * A stand-in for the NVIDIA driver's libcuda.so.1, built by the tests with gcc (FakeDriver.java) once per
 * scenario, each answering with the values of its -D options:
 *   INIT_RESULT     what cuInit returns (0 = CUDA_SUCCESS, 100 = CUDA_ERROR_NO_DEVICE, 35 = ..._INSUFFICIENT_DRIVER)
 *   DRIVER_VERSION  what cuDriverGetVersion reports (1000 * major + 10 * minor)
 *   DEVICE_COUNT    what cuDeviceGetCount reports after a successful cuInit
 *   OMIT_ALLOC      leave out cuMemAllocAsync, as a driver older than CUDA 11.2 does
 * Every other function the bindings bind answers CUDA_ERROR_NOT_SUPPORTED: the probe must not call them.
 */
#include <stdio.h>

#ifndef INIT_RESULT
#define INIT_RESULT 0
#endif
#ifndef DRIVER_VERSION
#define DRIVER_VERSION 13000
#endif
#ifndef DEVICE_COUNT
#define DEVICE_COUNT 0
#endif

enum { SUCCESS = 0, INVALID_VALUE = 1, INSUFFICIENT_DRIVER = 35, NO_DEVICE = 100, INVALID_DEVICE = 101,
       NOT_SUPPORTED = 801 };

int cuDriverGetVersion(int *version) {
    *version = DRIVER_VERSION;
    return SUCCESS;
}

int cuInit(unsigned int flags) {
    return flags == 0 ? INIT_RESULT : INVALID_VALUE;
}

int cuDeviceGetCount(int *count) {
    *count = DEVICE_COUNT;
    return SUCCESS;
}

int cuDeviceGet(int *device, int ordinal) {
    if (ordinal < 0 || ordinal >= DEVICE_COUNT) {
        return INVALID_DEVICE;
    }
    *device = ordinal;
    return SUCCESS;
}

int cuDeviceGetName(char *name, int length, int device) {
    snprintf(name, (size_t) length, "Fake GPU %d", device);
    return SUCCESS;
}

int cuGetErrorName(int error, const char **name) {
    switch (error) {
        case SUCCESS: *name = "CUDA_SUCCESS"; return SUCCESS;
        case INVALID_VALUE: *name = "CUDA_ERROR_INVALID_VALUE"; return SUCCESS;
        case INSUFFICIENT_DRIVER: *name = "CUDA_ERROR_INSUFFICIENT_DRIVER"; return SUCCESS;
        case NO_DEVICE: *name = "CUDA_ERROR_NO_DEVICE"; return SUCCESS;
        case INVALID_DEVICE: *name = "CUDA_ERROR_INVALID_DEVICE"; return SUCCESS;
        case NOT_SUPPORTED: *name = "CUDA_ERROR_NOT_SUPPORTED"; return SUCCESS;
        default: return INVALID_VALUE;
    }
}

/* Bound but never called by the probe; the arguments do not matter to a function that ignores them. */
#define UNSUPPORTED(name) int name(void) { return NOT_SUPPORTED; }
UNSUPPORTED(cuDevicePrimaryCtxRetain)
UNSUPPORTED(cuCtxSetCurrent)
UNSUPPORTED(cuStreamCreate)
UNSUPPORTED(cuStreamSynchronize)
#ifndef OMIT_ALLOC
UNSUPPORTED(cuMemAllocAsync)
#endif
UNSUPPORTED(cuMemFreeAsync)
UNSUPPORTED(cuMemcpyHtoDAsync_v2)
UNSUPPORTED(cuMemcpyDtoHAsync_v2)
UNSUPPORTED(cuModuleLoadData)
UNSUPPORTED(cuModuleGetFunction)
UNSUPPORTED(cuLaunchKernel)
