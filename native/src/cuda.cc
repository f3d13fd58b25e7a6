// keopsc_native, CUDA part: NVRTC and the CUDA driver API, both loaded with dlopen at run time, so the
// addon builds and loads on machines without CUDA (no CUDA header or library is needed to build it).
//
//   cudaProbe(libcuda[], libnvrtc[], device) -> object  dlopen the first candidate of each list that
//                                     loads (once per process), cuInit, describe the device; never throws
//                                     for a missing driver, library or GPU: says why instead
//   nvrtcCompile(source, name, options[], cubin) -> { image: Uint8Array, log }   compile with NVRTC;
//                                     cubin false gives NUL-terminated PTX; compile errors throw
//   cudaLoad(image, layout)  -> handle  cuModuleLoadData + the kernels of the layout (src/targets/cuda.ts
//                                     CudaLayout), checked here
//   cudaRun(handle, options) -> object  validate every array against the layout (inputs: the dtype, or
//                                     Uint16Array half bits for layout.storage "float16"), then copy the inputs to
//                                     the device (buffers reused across calls), launch, copy the outputs back
//   cudaRelease()            -> number  free the reused device buffers; returns the bytes freed
//
// Every problem with the caller's arguments throws a TypeError or RangeError before any host or device
// memory is touched; CUDA failures throw an Error naming the call and the CUDA error. Everything runs on
// the calling thread under one process-wide lock, in the primary context of the probed device.

#include <napi.h>

#include <dlfcn.h>
#include <link.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "validate.h"

namespace keopsc_cuda {

using namespace keopsc_args;

// ---------------------------------------------------------------------------------------------------
// The few declarations of cuda.h and nvrtc.h we use. These are the stable C ABI of the driver (the _v2
// entry points are the ones cuda.h has mapped the plain names to since CUDA 4) and of NVRTC (11.2+).

typedef int CUresult;
typedef int CUdevice;
typedef struct CUctx_st* CUcontext;
typedef struct CUmod_st* CUmodule;
typedef struct CUfunc_st* CUfunction;
typedef struct CUstream_st* CUstream;
typedef unsigned long long CUdeviceptr;
const CUresult CUDA_SUCCESS = 0;
const int ATTR_MAX_THREADS_PER_BLOCK = 1, ATTR_MAX_SHARED_MEMORY_PER_BLOCK = 8, ATTR_MULTIPROCESSOR_COUNT = 16,
          ATTR_COMPUTE_CAPABILITY_MAJOR = 75, ATTR_COMPUTE_CAPABILITY_MINOR = 76;

typedef int nvrtcResult;
typedef struct _nvrtcProgram* nvrtcProgram;
const nvrtcResult NVRTC_SUCCESS = 0;

struct Driver {
  void* dl = nullptr;
  std::string path;
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDriverGetVersion)(int*);
  CUresult (*cuDeviceGetCount)(int*);
  CUresult (*cuDeviceGet)(CUdevice*, int);
  CUresult (*cuDeviceGetName)(char*, int, CUdevice);
  CUresult (*cuDeviceGetAttribute)(int*, int, CUdevice);
  CUresult (*cuDeviceTotalMem)(size_t*, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext*, CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuCtxSynchronize)(void);
  CUresult (*cuModuleLoadData)(CUmodule*, const void*);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction*, CUmodule, const char*);
  CUresult (*cuMemAlloc)(CUdeviceptr*, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void*, size_t);
  CUresult (*cuMemcpyDtoH)(void*, CUdeviceptr, size_t);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, CUstream, void**, void**);
  CUresult (*cuGetErrorName)(CUresult, const char**);
  CUresult (*cuGetErrorString)(CUresult, const char**);
};

struct Nvrtc {
  void* dl = nullptr;
  std::string path;
  nvrtcResult (*nvrtcVersion)(int*, int*);
  const char* (*nvrtcGetErrorString)(nvrtcResult);
  nvrtcResult (*nvrtcCreateProgram)(nvrtcProgram*, const char*, const char*, int, const char* const*, const char* const*);
  nvrtcResult (*nvrtcCompileProgram)(nvrtcProgram, int, const char* const*);
  nvrtcResult (*nvrtcGetProgramLogSize)(nvrtcProgram, size_t*);
  nvrtcResult (*nvrtcGetProgramLog)(nvrtcProgram, char*);
  nvrtcResult (*nvrtcGetPTXSize)(nvrtcProgram, size_t*);
  nvrtcResult (*nvrtcGetPTX)(nvrtcProgram, char*);
  nvrtcResult (*nvrtcGetCUBINSize)(nvrtcProgram, size_t*);  // optional (NVRTC 11.1+)
  nvrtcResult (*nvrtcGetCUBIN)(nvrtcProgram, char*);        // optional
  nvrtcResult (*nvrtcDestroyProgram)(nvrtcProgram*);
  nvrtcResult (*nvrtcGetNumSupportedArchs)(int*);           // optional (NVRTC 11.2+)
  nvrtcResult (*nvrtcGetSupportedArchs)(int*);              // optional
};

// Process-wide state (shared by every Node environment that loads the addon), guarded by gLock.
std::mutex gLock;
Driver gDrv;
Nvrtc gRtc;
bool gInit = false;        // cuInit succeeded
CUcontext gCtx = nullptr;  // primary context of gDevice
CUdevice gDevice = 0;
int gDeviceIndex = -1;
struct DevBuf {
  CUdeviceptr ptr = 0;
  size_t bytes = 0;
};
std::vector<DevBuf> gPool;  // reused device buffers, by slot (see Run)

// The path a library was loaded from (the file dlopen resolved a bare name to).
std::string loadedPath(void* dl, const std::string& fallback) {
  struct link_map* lm = nullptr;
  if (dlinfo(dl, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name && lm->l_name[0]) return lm->l_name;
  return fallback;
}

template <typename F>
bool sym(void* dl, const char* name, F& f, std::string& missing) {
  f = reinterpret_cast<F>(dlsym(dl, name));
  if (!f && missing.empty()) missing = name;
  return f != nullptr;
}

// dlopen the first candidate that loads; `tried` collects "name: dlerror" for the others.
void* openFirst(const std::vector<std::string>& candidates, std::string& path, std::vector<std::string>& tried) {
  for (const auto& c : candidates) {
    dlerror();
    void* dl = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (dl) {
      path = loadedPath(dl, c);
      return dl;
    }
    const char* e = dlerror();
    tried.push_back(e ? std::string(e) : c + ": dlopen failed");
  }
  return nullptr;
}

std::string joinLines(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : "; ") + x;
  return s;
}

// Load library `lib` (once) from the first candidate that opens: bind(lib, missing) looks up its
// functions, setting `missing` to the first required one absent (then the library is refused as not
// a `kind` library: "<path> lacks the <kind> function <missing><why>"). Empty string on success, else why not.
template <typename Lib, typename Bind>
std::string loadLibrary(Lib& lib, const std::vector<std::string>& candidates, const char* kind, const char* why, Bind bind) {
  if (lib.dl) return "";
  Lib l;
  std::vector<std::string> tried;
  l.dl = openFirst(candidates, l.path, tried);
  if (!l.dl) return "not found (" + joinLines(tried) + ")";
  std::string missing;
  bind(l, missing);
  if (!missing.empty()) {
    std::string p = l.path;
    dlclose(l.dl);
    return p + " lacks the " + kind + " function " + missing + why;
  }
  lib = l;
  return "";
}

// Load the driver library (once); empty string on success, else why not.
std::string loadDriver(const std::vector<std::string>& candidates) {
  return loadLibrary(gDrv, candidates, "driver", " (not a CUDA driver library, or too old)", [](Driver& d, std::string& missing) {
    sym(d.dl, "cuInit", d.cuInit, missing);
    sym(d.dl, "cuDriverGetVersion", d.cuDriverGetVersion, missing);
    sym(d.dl, "cuDeviceGetCount", d.cuDeviceGetCount, missing);
    sym(d.dl, "cuDeviceGet", d.cuDeviceGet, missing);
    sym(d.dl, "cuDeviceGetName", d.cuDeviceGetName, missing);
    sym(d.dl, "cuDeviceGetAttribute", d.cuDeviceGetAttribute, missing);
    sym(d.dl, "cuDeviceTotalMem_v2", d.cuDeviceTotalMem, missing);
    sym(d.dl, "cuDevicePrimaryCtxRetain", d.cuDevicePrimaryCtxRetain, missing);
    sym(d.dl, "cuCtxSetCurrent", d.cuCtxSetCurrent, missing);
    sym(d.dl, "cuCtxSynchronize", d.cuCtxSynchronize, missing);
    sym(d.dl, "cuModuleLoadData", d.cuModuleLoadData, missing);
    sym(d.dl, "cuModuleUnload", d.cuModuleUnload, missing);
    sym(d.dl, "cuModuleGetFunction", d.cuModuleGetFunction, missing);
    sym(d.dl, "cuMemAlloc_v2", d.cuMemAlloc, missing);
    sym(d.dl, "cuMemFree_v2", d.cuMemFree, missing);
    sym(d.dl, "cuMemcpyHtoD_v2", d.cuMemcpyHtoD, missing);
    sym(d.dl, "cuMemcpyDtoH_v2", d.cuMemcpyDtoH, missing);
    sym(d.dl, "cuLaunchKernel", d.cuLaunchKernel, missing);
    sym(d.dl, "cuGetErrorName", d.cuGetErrorName, missing);
    sym(d.dl, "cuGetErrorString", d.cuGetErrorString, missing);
  });
}

std::string loadNvrtc(const std::vector<std::string>& candidates) {
  return loadLibrary(gRtc, candidates, "NVRTC", " (not an NVRTC library)", [](Nvrtc& r, std::string& missing) {
    std::string optional;
    sym(r.dl, "nvrtcVersion", r.nvrtcVersion, missing);
    sym(r.dl, "nvrtcGetErrorString", r.nvrtcGetErrorString, missing);
    sym(r.dl, "nvrtcCreateProgram", r.nvrtcCreateProgram, missing);
    sym(r.dl, "nvrtcCompileProgram", r.nvrtcCompileProgram, missing);
    sym(r.dl, "nvrtcGetProgramLogSize", r.nvrtcGetProgramLogSize, missing);
    sym(r.dl, "nvrtcGetProgramLog", r.nvrtcGetProgramLog, missing);
    sym(r.dl, "nvrtcGetPTXSize", r.nvrtcGetPTXSize, missing);
    sym(r.dl, "nvrtcGetPTX", r.nvrtcGetPTX, missing);
    sym(r.dl, "nvrtcDestroyProgram", r.nvrtcDestroyProgram, missing);
    sym(r.dl, "nvrtcGetCUBINSize", r.nvrtcGetCUBINSize, optional);
    sym(r.dl, "nvrtcGetCUBIN", r.nvrtcGetCUBIN, optional);
    sym(r.dl, "nvrtcGetNumSupportedArchs", r.nvrtcGetNumSupportedArchs, optional);
    sym(r.dl, "nvrtcGetSupportedArchs", r.nvrtcGetSupportedArchs, optional);
  });
}

// "CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)"
std::string cuErr(CUresult r) {
  const char* name = nullptr;
  const char* text = nullptr;
  if (gDrv.cuGetErrorName) gDrv.cuGetErrorName(r, &name);
  if (gDrv.cuGetErrorString) gDrv.cuGetErrorString(r, &text);
  std::string s = name ? name : "CUDA error " + std::to_string(r);
  if (text) s += std::string(" (") + text + ")";
  return s;
}

struct CudaError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void check(CUresult r, const std::string& call) {
  if (r != CUDA_SUCCESS) throw CudaError("cuda: " + call + " failed: " + cuErr(r));
}

// cuInit and the primary context of device `index` (once; a later request for another device throws).
void ensureContext(int index) {
  if (!gDrv.dl) throw CudaError("cuda: the driver library is not loaded (call cudaProbe first)");
  if (!gInit) {
    check(gDrv.cuInit(0), "cuInit");
    gInit = true;
  }
  if (gCtx) {
    if (index != gDeviceIndex)
      throw CudaError("cuda: this process already uses device " + std::to_string(gDeviceIndex) + "; it cannot switch to device " + std::to_string(index));
    check(gDrv.cuCtxSetCurrent(gCtx), "cuCtxSetCurrent");
    return;
  }
  int n = 0;
  check(gDrv.cuDeviceGetCount(&n), "cuDeviceGetCount");
  if (index >= n) throw CudaError("cuda: device " + std::to_string(index) + " does not exist (" + std::to_string(n) + " CUDA device" + (n == 1 ? "" : "s") + ")");
  CUdevice dev;
  check(gDrv.cuDeviceGet(&dev, index), "cuDeviceGet");
  CUcontext ctx;
  check(gDrv.cuDevicePrimaryCtxRetain(&ctx, dev), "cuDevicePrimaryCtxRetain");
  check(gDrv.cuCtxSetCurrent(ctx), "cuCtxSetCurrent");
  gCtx = ctx;
  gDevice = dev;
  gDeviceIndex = index;
}

// ---------------------------------------------------------------------------------------------------
// Argument helpers of the CUDA part only (those shared with the CPU part are in validate.h)

std::string str(Napi::Env env, Napi::Value v, const std::string& what) {
  if (!v.IsString()) throw Napi::TypeError::New(env, what + " must be a string, got " + describe(env, v));
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s.find('\0') != std::string::npos) throw Napi::TypeError::New(env, what + " holds a NUL character");
  return s;
}

std::vector<std::string> strings(Napi::Env env, Napi::Value v, const std::string& what) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, what + " must be an Array of strings, got " + describe(env, v));
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t k = 0; k < a.Length(); k++) out.push_back(str(env, a.Get(k), what + "[" + std::to_string(k) + "]"));
  return out;
}

// ---------------------------------------------------------------------------------------------------
// cudaProbe

Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3) throw Napi::TypeError::New(env, "cudaProbe(libcudaCandidates, libnvrtcCandidates, device) needs 3 arguments");
  std::vector<std::string> cuNames = strings(env, info[0], "cudaProbe: libcudaCandidates");
  std::vector<std::string> rtcNames = strings(env, info[1], "cudaProbe: libnvrtcCandidates");
  int device = int(count(env, info[2], "cudaProbe: device", 1023));
  std::lock_guard<std::mutex> lk(gLock);
  Napi::Object out = Napi::Object::New(env);

  Napi::Object drv = Napi::Object::New(env);
  std::string why = loadDriver(cuNames);
  if (!why.empty()) {
    drv.Set("ok", false);
    drv.Set("stage", "load");
    drv.Set("error", why);
  } else {
    drv.Set("path", gDrv.path);
    int version = 0;
    if (gDrv.cuDriverGetVersion(&version) == CUDA_SUCCESS) drv.Set("version", version);
    try {
      ensureContext(device);
      char name[256] = {0};
      check(gDrv.cuDeviceGetName(name, sizeof name - 1, gDevice), "cuDeviceGetName");
      auto attr = [&](int a, const char* what) {
        int v = 0;
        check(gDrv.cuDeviceGetAttribute(&v, a, gDevice), std::string("cuDeviceGetAttribute(") + what + ")");
        return v;
      };
      int n = 0;
      check(gDrv.cuDeviceGetCount(&n), "cuDeviceGetCount");
      size_t mem = 0;
      check(gDrv.cuDeviceTotalMem(&mem, gDevice), "cuDeviceTotalMem");
      Napi::Object d = Napi::Object::New(env);
      d.Set("index", gDeviceIndex);
      d.Set("name", std::string(name));
      d.Set("major", attr(ATTR_COMPUTE_CAPABILITY_MAJOR, "compute capability major"));
      d.Set("minor", attr(ATTR_COMPUTE_CAPABILITY_MINOR, "compute capability minor"));
      d.Set("multiprocessors", attr(ATTR_MULTIPROCESSOR_COUNT, "multiprocessors"));
      d.Set("maxThreadsPerBlock", attr(ATTR_MAX_THREADS_PER_BLOCK, "max threads per block"));
      d.Set("sharedMemPerBlock", attr(ATTR_MAX_SHARED_MEMORY_PER_BLOCK, "shared memory per block"));
      d.Set("memory", double(mem));
      drv.Set("ok", true);
      drv.Set("devices", n);
      drv.Set("device", d);
    } catch (const CudaError& e) {
      drv.Set("ok", false);
      drv.Set("stage", gInit ? "device" : "init");
      drv.Set("error", e.what());
    }
  }
  out.Set("driver", drv);

  Napi::Object rtc = Napi::Object::New(env);
  why = loadNvrtc(rtcNames);
  if (!why.empty()) {
    rtc.Set("ok", false);
    rtc.Set("error", why);
  } else {
    rtc.Set("ok", true);
    rtc.Set("path", gRtc.path);
    int major = 0, minor = 0;
    gRtc.nvrtcVersion(&major, &minor);
    Napi::Array v = Napi::Array::New(env, 2);
    v.Set(0u, major);
    v.Set(1u, minor);
    rtc.Set("version", v);
    rtc.Set("cubin", gRtc.nvrtcGetCUBIN != nullptr && gRtc.nvrtcGetCUBINSize != nullptr);
    int na = 0;
    Napi::Array archs = Napi::Array::New(env);
    if (gRtc.nvrtcGetNumSupportedArchs && gRtc.nvrtcGetSupportedArchs && gRtc.nvrtcGetNumSupportedArchs(&na) == NVRTC_SUCCESS && na > 0 && na < 4096) {
      std::vector<int> a(size_t(na), 0);
      if (gRtc.nvrtcGetSupportedArchs(a.data()) == NVRTC_SUCCESS)
        for (int k = 0; k < na; k++) archs.Set(uint32_t(k), a[size_t(k)]);
    }
    rtc.Set("archs", archs);
  }
  out.Set("nvrtc", rtc);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// nvrtcCompile

Napi::Value Compile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4) throw Napi::TypeError::New(env, "nvrtcCompile(source, name, options, cubin) needs 4 arguments");
  std::string source = str(env, info[0], "nvrtcCompile: source");
  std::string name = str(env, info[1], "nvrtcCompile: name");
  std::vector<std::string> opts = strings(env, info[2], "nvrtcCompile: options");
  if (!info[3].IsBoolean()) throw Napi::TypeError::New(env, "nvrtcCompile: cubin must be a boolean, got " + describe(env, info[3]));
  bool cubin = info[3].As<Napi::Boolean>().Value();
  std::lock_guard<std::mutex> lk(gLock);
  if (!gRtc.dl) throw Napi::Error::New(env, "nvrtcCompile: NVRTC is not loaded (cudaProbe did not find libnvrtc)");
  if (cubin && !(gRtc.nvrtcGetCUBIN && gRtc.nvrtcGetCUBINSize)) throw Napi::Error::New(env, "nvrtcCompile: this NVRTC (" + gRtc.path + ") cannot produce cubin; ask for PTX");
  auto fail = [&](nvrtcResult r, const char* call) { return std::string("nvrtc: ") + call + " failed: " + gRtc.nvrtcGetErrorString(r); };
  nvrtcProgram prog = nullptr;
  nvrtcResult r = gRtc.nvrtcCreateProgram(&prog, source.c_str(), name.c_str(), 0, nullptr, nullptr);
  if (r != NVRTC_SUCCESS) throw Napi::Error::New(env, fail(r, "nvrtcCreateProgram"));
  struct Destroy {
    nvrtcProgram* p;
    ~Destroy() { gRtc.nvrtcDestroyProgram(p); }
  } destroy{&prog};
  std::vector<const char*> argv;
  for (const auto& o : opts) argv.push_back(o.c_str());
  nvrtcResult cr = gRtc.nvrtcCompileProgram(prog, int(argv.size()), argv.empty() ? nullptr : argv.data());
  std::string log;
  size_t logSize = 0;
  if (gRtc.nvrtcGetProgramLogSize(prog, &logSize) == NVRTC_SUCCESS && logSize > 1) {
    log.resize(logSize);
    if (gRtc.nvrtcGetProgramLog(prog, &log[0]) != NVRTC_SUCCESS) log.clear();
    while (!log.empty() && (log.back() == '\0' || log.back() == '\n')) log.pop_back();
  }
  if (cr != NVRTC_SUCCESS) throw Napi::Error::New(env, fail(cr, "nvrtcCompileProgram") + (log.empty() ? "" : ":\n" + log));
  size_t size = 0;
  r = cubin ? gRtc.nvrtcGetCUBINSize(prog, &size) : gRtc.nvrtcGetPTXSize(prog, &size);
  if (r != NVRTC_SUCCESS) throw Napi::Error::New(env, fail(r, cubin ? "nvrtcGetCUBINSize" : "nvrtcGetPTXSize"));
  Napi::Uint8Array image = Napi::Uint8Array::New(env, size);
  if (size) {
    r = cubin ? gRtc.nvrtcGetCUBIN(prog, reinterpret_cast<char*>(image.Data())) : gRtc.nvrtcGetPTX(prog, reinterpret_cast<char*>(image.Data()));
    if (r != NVRTC_SUCCESS) throw Napi::Error::New(env, fail(r, cubin ? "nvrtcGetCUBIN" : "nvrtcGetPTX"));
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("image", image);
  out.Set("log", log);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// cudaLoad: a module and its layout

struct ArgInfo {
  int64_t index, dim, cat;
};
struct OutInfo {
  bool index;
  int64_t width;
};
struct Kernel {
  std::string name;
  bool f64 = false;
  bool half = false;  // float16 storage: the inputs are Uint16Array half bits (float32 kernels only)
  int tag = 0;
  int64_t nIn = 0;
  std::vector<ArgInfo> args;
  std::vector<OutInfo> outputs;
  int64_t blockRows = 0, sharedBytes = 0;
  CUmodule module = nullptr;
  CUfunction dense = nullptr, fill = nullptr, ranges = nullptr, denseBatched = nullptr;
};

const napi_type_tag kCudaKernelTag = {0x6b656f7073632d63ULL, 0x7564612d6b65726eULL};

void finalizeKernel(napi_env, void* data, void*) {
  Kernel* k = static_cast<Kernel*>(data);
  {
    std::lock_guard<std::mutex> lk(gLock);
    if (k->module && gCtx && gDrv.cuCtxSetCurrent(gCtx) == CUDA_SUCCESS) gDrv.cuModuleUnload(k->module);
  }
  delete k;
}

// f(element, "what[q]") for each element of the Array `a` (named `what`), which must be an object `shape`.
template <typename F>
void eachObject(Napi::Env env, Napi::Array a, const std::string& what, const char* shape, F f) {
  for (uint32_t q = 0; q < a.Length(); q++) {
    std::string w = what + "[" + std::to_string(q) + "]";
    Napi::Value e = a.Get(q);
    if (!e.IsObject()) throw Napi::TypeError::New(env, w + " must be an object " + shape + ", got " + describe(env, e));
    f(e.As<Napi::Object>(), w);
  }
}

// Read and check the layout object (src/targets/cuda.ts CudaLayout) into k; TypeError/RangeError.
void readLayout(Napi::Env env, Napi::Value v, Kernel& k) {
  const std::string pre = "cudaLoad: layout";
  if (!v.IsObject()) throw Napi::TypeError::New(env, pre + " must be an object, got " + describe(env, v));
  Napi::Object o = v.As<Napi::Object>();
  k.name = str(env, o.Get("name"), pre + ".name");
  std::string dtype = str(env, o.Get("dtype"), pre + ".dtype");
  if (dtype != "float32" && dtype != "float64") throw Napi::RangeError::New(env, pre + ".dtype must be \"float32\" or \"float64\", got \"" + dtype + "\"");
  k.f64 = dtype == "float64";
  Napi::Value sv = o.Get("storage");
  if (!sv.IsUndefined()) {
    std::string storage = str(env, sv, pre + ".storage");
    if (storage != "float32" && storage != "float16") throw Napi::RangeError::New(env, pre + ".storage must be \"float32\" or \"float16\", got \"" + storage + "\"");
    k.half = storage == "float16";
    if (k.half && k.f64) throw Napi::RangeError::New(env, pre + ".storage \"float16\" needs dtype \"float32\"");
  }
  k.tag = int(count(env, o.Get("tag"), pre + ".tag", 1));
  k.nIn = count(env, o.Get("nIn"), pre + ".nIn", 65536);
  k.blockRows = count(env, o.Get("blockRows"), pre + ".blockRows", 1024, 1);
  k.sharedBytes = count(env, o.Get("sharedBytes"), pre + ".sharedBytes", 49152);
  Napi::Value args = o.Get("args");
  if (!args.IsArray()) throw Napi::TypeError::New(env, pre + ".args must be an Array, got " + describe(env, args));
  eachObject(env, args.As<Napi::Array>(), pre + ".args", "{ index, dim, cat }", [&](Napi::Object eo, const std::string& w) {
    ArgInfo ai{count(env, eo.Get("index"), w + ".index", double(k.nIn) - 1), count(env, eo.Get("dim"), w + ".dim", 1 << 30, 1), count(env, eo.Get("cat"), w + ".cat", 2)};
    for (const auto& p : k.args)
      if (p.index == ai.index) throw Napi::RangeError::New(env, w + " repeats index " + std::to_string(ai.index));
    k.args.push_back(ai);
  });
  Napi::Value outs = o.Get("outputs");
  if (!outs.IsArray() || outs.As<Napi::Array>().Length() < 1 || outs.As<Napi::Array>().Length() > 2)
    throw Napi::TypeError::New(env, pre + ".outputs must be an Array of 1 or 2 outputs, got " + describe(env, outs));
  eachObject(env, outs.As<Napi::Array>(), pre + ".outputs", "{ kind, width }", [&](Napi::Object eo, const std::string& w) {
    std::string kind = str(env, eo.Get("kind"), w + ".kind");
    if (kind != "float" && kind != "index") throw Napi::RangeError::New(env, w + ".kind must be \"float\" or \"index\", got \"" + kind + "\"");
    k.outputs.push_back(OutInfo{kind == "index", count(env, eo.Get("width"), w + ".width", 1 << 30, 1)});
  });
}

Napi::Value Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3) throw Napi::TypeError::New(env, "cudaLoad(image, layout, device) needs 3 arguments");
  Arr image = typed(env, info[0], napi_uint8_array, "cudaLoad: image");
  if (image.length == 0) throw Napi::RangeError::New(env, "cudaLoad: image is empty");
  std::unique_ptr<Kernel> k(new Kernel());
  readLayout(env, info[1], *k);
  int device = int(count(env, info[2], "cudaLoad: device", 1023));
  Napi::Object layout = info[1].As<Napi::Object>();
  Napi::Value kv = layout.Get("kernels");
  if (!kv.IsObject()) throw Napi::TypeError::New(env, "cudaLoad: layout.kernels must be an object { dense, fill, ranges, denseBatched }, got " + describe(env, kv));
  Napi::Object ko = kv.As<Napi::Object>();
  std::string names[4] = {str(env, ko.Get("dense"), "cudaLoad: layout.kernels.dense"), str(env, ko.Get("fill"), "cudaLoad: layout.kernels.fill"),
                          str(env, ko.Get("ranges"), "cudaLoad: layout.kernels.ranges"), str(env, ko.Get("denseBatched"), "cudaLoad: layout.kernels.denseBatched")};
  // a PTX image must end with its NUL; copy it so that no JS code can change it while the driver reads it
  std::vector<unsigned char> bytes(static_cast<unsigned char*>(image.data), static_cast<unsigned char*>(image.data) + image.length);
  bool elf = bytes.size() >= 4 && bytes[0] == 0x7f && bytes[1] == 'E' && bytes[2] == 'L' && bytes[3] == 'F';
  if (!elf && bytes.back() != 0) bytes.push_back(0);
  std::lock_guard<std::mutex> lk(gLock);
  try {
    ensureContext(device);
    check(gDrv.cuModuleLoadData(&k->module, bytes.data()), "cuModuleLoadData (kernel '" + k->name + "')");
    CUfunction* fs[4] = {&k->dense, &k->fill, &k->ranges, &k->denseBatched};
    for (int f = 0; f < 4; f++) {
      CUresult r = gDrv.cuModuleGetFunction(fs[f], k->module, names[f].c_str());
      if (r != CUDA_SUCCESS) {
        gDrv.cuModuleUnload(k->module);
        k->module = nullptr;
        check(r, "cuModuleGetFunction(" + names[f] + ")");
      }
    }
  } catch (const CudaError& e) {
    throw Napi::Error::New(env, e.what());
  }
  Napi::Object h = Napi::Object::New(env);
  h.Set("name", k->name);
  if (napi_type_tag_object(env, h, &kCudaKernelTag) != napi_ok) throw Napi::Error::New(env, "cudaLoad: internal: cannot tag the handle");
  Kernel* raw = k.release();
  if (napi_wrap(env, h, raw, finalizeKernel, nullptr, nullptr) != napi_ok) {
    if (raw->module && gDrv.cuModuleUnload) gDrv.cuModuleUnload(raw->module);
    delete raw;
    throw Napi::Error::New(env, "cudaLoad: internal: cannot wrap the handle");
  }
  return h;
}

// ---------------------------------------------------------------------------------------------------
// cudaRun

// A device buffer of at least `bytes` in pool slot `slot` (grown, never shrunk); 0 for 0 bytes.
CUdeviceptr deviceBuffer(size_t slot, size_t bytes, double& allocated) {
  if (bytes == 0) return 0;
  if (gPool.size() <= slot) gPool.resize(slot + 1);
  DevBuf& b = gPool[slot];
  if (b.bytes >= bytes) return b.ptr;
  if (b.ptr) {
    check(gDrv.cuMemFree(b.ptr), "cuMemFree");
    b = DevBuf();
  }
  check(gDrv.cuMemAlloc(&b.ptr, bytes), "cuMemAlloc(" + std::to_string(bytes) + " bytes)");
  b.bytes = bytes;
  allocated += double(bytes);
  return b.ptr;
}

Napi::Value Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Value hv = info.Length() ? info[0] : env.Undefined();
  bool tagged = false;
  if (hv.IsObject()) napi_check_object_type_tag(env, hv, &kCudaKernelTag, &tagged);
  if (!tagged) throw Napi::TypeError::New(env, "cudaRun: the first argument must be a handle returned by cudaLoad()");
  void* p = nullptr;
  if (napi_unwrap(env, hv, &p) != napi_ok || !p) throw Napi::TypeError::New(env, "cudaRun: the kernel handle is not valid");
  Kernel* k = static_cast<Kernel*>(p);
  const std::string pre = "kernel '" + k->name + "': ";
  if (info.Length() < 2 || !info[1].IsObject()) throw Napi::TypeError::New(env, pre + "cudaRun needs an options object { inputs, outputs, M, N, ranges? }");
  Napi::Object opt = info[1].As<Napi::Object>();

  // Phase 1: every property read (which may run user getters) happens before any pointer is taken.
  const RunArgs ro = readRunArgs(env, opt, k->args, k->outputs.size(), {"slices", "red", "table"}, {"batchShape", "batchStrides"});
  Napi::Value rSl = ro.rangeVals[0], rRed = ro.rangeVals[1], rTab = ro.rangeVals[2];

  // Phase 2: validation (no JS runs from here on)
  const RunSize size = runSize(env, ro.M, ro.N, k->tag, pre);
  const int64_t M = size.M, N = size.N, rows = size.rows, redLen = size.redLen;
  napi_typedarray_type ft = k->f64 ? napi_float64_array : napi_float32_array;
  const char* dtype = k->f64 ? "float64" : "float32";
  // batch dims (ABI.md): one launch of the batched kernel, entry t = blockIdx.y (+ a base per 65535)
  const Batch bt = readBatch(env, ro.extra[0], ro.extra[1], size_t(std::max<int64_t>(k->nIn, 1)), rows, ro.hasRanges, pre);
  const int64_t B = bt.B;
  if (!ro.inputs.IsArray()) throw Napi::TypeError::New(env, pre + "inputs must be an Array of typed arrays by variable index, got " + describe(env, ro.inputs));
  std::vector<Arr> inArrs;
  for (size_t i = 0; i < k->args.size(); i++) {
    const ArgInfo& a = k->args[i];
    std::string what = pre + "input " + std::to_string(a.index);
    if (ro.inVals[i].IsUndefined() || ro.inVals[i].IsNull()) throw Napi::TypeError::New(env, what + " (dim " + std::to_string(a.dim) + ") is missing: the kernel reads it");
    Arr arr = k->half ? typed(env, ro.inVals[i], napi_uint16_array, what + " (the kernel stores float16: half bits)") : typed(env, ro.inVals[i], ft, what + " (the kernel is " + dtype + ")");
    if (bt.on) expectBatchedLength(env, bt, arr, what, a.index, a.cat == 0 ? M : a.cat == 1 ? N : 1, a.dim);
    else expectLength(env, arr, what, std::string(a.cat == 0 ? "M" : a.cat == 1 ? "N" : "1") + " x dim", a.cat == 0 ? M : a.cat == 1 ? N : 1, a.dim);
    inArrs.push_back(arr);
  }
  if (!ro.outputs.IsArray()) throw Napi::TypeError::New(env, pre + "outputs must be an Array of typed arrays, got " + describe(env, ro.outputs));
  if (ro.outLen != k->outputs.size()) throw Napi::RangeError::New(env, pre + "outputs has " + std::to_string(ro.outLen) + " arrays, the kernel writes " + std::to_string(k->outputs.size()));
  std::vector<Arr> outArrs;
  for (size_t o = 0; o < k->outputs.size(); o++) {
    const OutInfo& oi = k->outputs[o];
    std::string what = pre + "output " + std::to_string(o);
    Arr arr = typed(env, ro.outVals[o], oi.index ? napi_bigint64_array : ft, what);
    expectLength(env, arr, what, bt.on ? "batch entries x rows x width" : "rows x width", B * rows, oi.width);
    outArrs.push_back(arr);
  }
  Arr sl, red, tab;
  if (ro.hasRanges) {
    if (!ro.ranges.IsObject()) throw Napi::TypeError::New(env, pre + "ranges must be an object { slices, red, table } of Int32Arrays, got " + describe(env, ro.ranges));
    sl = typed(env, rSl, napi_int32_array, pre + "ranges.slices");
    red = typed(env, rRed, napi_int32_array, pre + "ranges.red");
    tab = typed(env, rTab, napi_int32_array, pre + "ranges.table");
    if (red.length % 2) throw Napi::RangeError::New(env, pre + "ranges.red has " + std::to_string(red.length) + " values; it must hold [start, end) pairs");
    if (tab.length % 3) throw Napi::RangeError::New(env, pre + "ranges.table has " + std::to_string(tab.length) + " values; it must hold (cluster, start, end) triples");
    const int32_t* ps = static_cast<const int32_t*>(sl.data);
    const int32_t* pr = static_cast<const int32_t*>(red.data);
    const int32_t* pt = static_cast<const int32_t*>(tab.data);
    int64_t nc = int64_t(sl.length), nr = int64_t(red.length / 2);
    for (int64_t l = 0; l < nr; l++) {
      int32_t s = pr[2 * l], e = pr[2 * l + 1];
      std::string at = pre + "ranges.red[" + std::to_string(l) + "] = [" + std::to_string(s) + ", " + std::to_string(e) + ")";
      if (s < 0 || s > e) throw Napi::RangeError::New(env, at + " is not an interval (0 <= start <= end)");
      if (e > redLen) throw Napi::RangeError::New(env, at + " is out of bounds for " + (k->tag == 0 ? "N" : "M") + " = " + std::to_string(redLen));
    }
    int32_t prev = 0;
    for (int64_t c = 0; c < nc; c++) {
      if (ps[c] < prev || ps[c] > nr)
        throw Napi::RangeError::New(env, pre + "ranges.slices[" + std::to_string(c) + "] = " + std::to_string(ps[c]) + " must be non-decreasing and at most the " + std::to_string(nr) + " intervals of ranges.red");
      prev = ps[c];
    }
    for (int64_t b = 0; b < int64_t(tab.length / 3); b++) {
      int32_t c = pt[3 * b], s = pt[3 * b + 1], e = pt[3 * b + 2];
      std::string at = pre + "ranges.table[" + std::to_string(b) + "] = (" + std::to_string(c) + ", " + std::to_string(s) + ", " + std::to_string(e) + ")";
      if (c < 0 || c >= nc) throw Napi::RangeError::New(env, at + " names a cluster outside [0, " + std::to_string(nc) + ")");
      if (s < 0 || s >= e || e > rows) throw Napi::RangeError::New(env, at + " is not a non-empty run of rows in [0, " + std::to_string(rows) + ")");
      if (e - s > k->blockRows) throw Napi::RangeError::New(env, at + " holds more than the " + std::to_string(k->blockRows) + " rows of a block");
    }
  }
  int64_t grid = rows == 0 ? 0 : (rows + k->blockRows - 1) / k->blockRows;
  if (grid > 2147483647 || (rows + 255) / 256 > 2147483647) throw Napi::RangeError::New(env, pre + std::to_string(rows) + " output rows need more CUDA blocks than a grid holds");

  // Phase 3: device work, on raw pointers only
  std::lock_guard<std::mutex> lk(gLock);
  double allocated = 0;
  try {
    ensureContext(gDeviceIndex < 0 ? 0 : gDeviceIndex);
    // the Args struct of the kernels: nIn input pointers, the output pointers, M, N (8 bytes each)
    std::vector<uint64_t> args(size_t(k->nIn) + k->outputs.size() + 2, 0);
    size_t slot = 0;
    for (size_t i = 0; i < inArrs.size(); i++, slot++) {
      CUdeviceptr d = deviceBuffer(slot, inArrs[i].bytes, allocated);
      if (inArrs[i].bytes) check(gDrv.cuMemcpyHtoD(d, inArrs[i].data, inArrs[i].bytes), "cuMemcpyHtoD (input " + std::to_string(k->args[i].index) + ")");
      args[size_t(k->args[i].index)] = d;
    }
    std::vector<CUdeviceptr> outDev;
    for (size_t o = 0; o < outArrs.size(); o++, slot++) {
      outDev.push_back(deviceBuffer(slot, outArrs[o].bytes, allocated));
      args[size_t(k->nIn) + o] = outDev.back();
    }
    std::memcpy(&args[args.size() - 2], &M, 8);
    std::memcpy(&args[args.size() - 1], &N, 8);
    void* structParam[] = {args.data()};
    if (bt.on) {
      if (rows > 0 && B > 0) {
        // the offset table: entry t, input slot q at boff[t * nIn + q] (elements)
        const size_t slots = size_t(std::max<int64_t>(k->nIn, 1));
        std::vector<int64_t> boff(size_t(B) * slots, 0);
        for (int64_t t = 0; t < B; t++)
          for (const ArgInfo& a : k->args) boff[size_t(t) * slots + size_t(a.index)] = batchOffset(bt, size_t(a.index), t);
        CUdeviceptr dOff = deviceBuffer(slot++, boff.size() * 8, allocated);
        check(gDrv.cuMemcpyHtoD(dOff, boff.data(), boff.size() * 8), "cuMemcpyHtoD (batch offsets)");
        for (int64_t b0 = 0; b0 < B; b0 += 65535) {
          unsigned gy = unsigned(std::min<int64_t>(65535, B - b0));
          void* batchParams[] = {args.data(), &dOff, &b0};
          check(gDrv.cuLaunchKernel(k->denseBatched, unsigned(grid), gy, 1, unsigned(k->blockRows), 1, 1, unsigned(k->sharedBytes), nullptr, batchParams, nullptr), "cuLaunchKernel(dense_batched)");
        }
      }
    } else if (rows > 0 && !ro.hasRanges) {
      check(gDrv.cuLaunchKernel(k->dense, unsigned(grid), 1, 1, unsigned(k->blockRows), 1, 1, unsigned(k->sharedBytes), nullptr, structParam, nullptr), "cuLaunchKernel(dense)");
    } else if (rows > 0) {
      CUdeviceptr dSl = deviceBuffer(slot++, sl.bytes, allocated), dRed = deviceBuffer(slot++, red.bytes, allocated), dTab = deviceBuffer(slot++, tab.bytes, allocated);
      if (sl.bytes) check(gDrv.cuMemcpyHtoD(dSl, sl.data, sl.bytes), "cuMemcpyHtoD (ranges.slices)");
      if (red.bytes) check(gDrv.cuMemcpyHtoD(dRed, red.data, red.bytes), "cuMemcpyHtoD (ranges.red)");
      if (tab.bytes) check(gDrv.cuMemcpyHtoD(dTab, tab.data, tab.bytes), "cuMemcpyHtoD (ranges.table)");
      check(gDrv.cuLaunchKernel(k->fill, unsigned((rows + 255) / 256), 1, 1, 256, 1, 1, 0, nullptr, structParam, nullptr), "cuLaunchKernel(fill)");
      unsigned nblocks = unsigned(tab.length / 3);
      void* rangesParams[] = {args.data(), &dSl, &dRed, &dTab};
      if (nblocks) check(gDrv.cuLaunchKernel(k->ranges, nblocks, 1, 1, unsigned(k->blockRows), 1, 1, unsigned(k->sharedBytes), nullptr, rangesParams, nullptr), "cuLaunchKernel(ranges)");
    }
    check(gDrv.cuCtxSynchronize(), "cuCtxSynchronize (running kernel '" + k->name + "')");
    for (size_t o = 0; o < outArrs.size(); o++)
      if (outArrs[o].bytes) check(gDrv.cuMemcpyDtoH(outArrs[o].data, outDev[o], outArrs[o].bytes), "cuMemcpyDtoH (output " + std::to_string(o) + ")");
  } catch (const CudaError& e) {
    throw Napi::Error::New(env, pre + e.what());
  }
  Napi::Object res = Napi::Object::New(env);
  res.Set("allocated", allocated);
  return res;
}

Napi::Value Release(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lk(gLock);
  double freed = 0;
  if (gCtx && gDrv.cuCtxSetCurrent(gCtx) == CUDA_SUCCESS)
    for (auto& b : gPool)
      if (b.ptr && gDrv.cuMemFree(b.ptr) == CUDA_SUCCESS) freed += double(b.bytes);
  gPool.clear();
  return Napi::Number::New(info.Env(), freed);
}

}  // namespace keopsc_cuda

// Called by Init in addon.cc.
void keopscRegisterCuda(Napi::Env env, Napi::Object exports) {
  using namespace keopsc_cuda;
  exports.Set("cudaProbe", Napi::Function::New(env, Probe, "cudaProbe"));
  exports.Set("nvrtcCompile", Napi::Function::New(env, Compile, "nvrtcCompile"));
  exports.Set("cudaLoad", Napi::Function::New(env, Load, "cudaLoad"));
  exports.Set("cudaRun", Napi::Function::New(env, Run, "cudaRun"));
  exports.Set("cudaRelease", Napi::Function::New(env, Release, "cudaRelease"));
}
