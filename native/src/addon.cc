// keopsc_native: loads kernels compiled by the C++ target (native/ABI.md) and runs them.
//
//   load(path, key?)       -> handle   dlopen(RTLD_NOW | RTLD_LOCAL), dlsym keopsc_run / keopsc_info,
//                                      check the info struct (and, when given, that its key is `key`)
//   info(handle)           -> object   the info struct as an object
//   run(handle, options)   -> number   validate every array against the info, then run keopsc_run on
//                                      blocks of output rows on a persistent thread pool; returns the
//                                      number of threads used
//   poolSize()             -> number   worker threads started so far (the calling thread not included)
//
// Every problem with the caller's arguments throws a TypeError or RangeError before any memory is
// touched; problems with a library throw an Error. The generated code trusts its inputs (ABI.md).

#include <napi.h>

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <unistd.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "validate.h"

// The CUDA part (native/src/cuda.cc): NVRTC and the driver API, loaded with dlopen when first used.
void keopscRegisterCuda(Napi::Env env, Napi::Object exports);
// The per-point passes of the clustering library (native/src/cluster.cc).
void keopscRegisterCluster(Napi::Env env, Napi::Object exports);

namespace {

using namespace keopsc_args;

// ---------------------------------------------------------------------------------------------------
// The ABI (native/ABI.md)

struct keopsc_call {
  const void* const* in;
  void* const* out;
  int64_t M, N;
  int64_t r0, r1;
  const int32_t* ranges_out;
  const int32_t* slices;
  const int32_t* red;
  int64_t n_clusters, n_red;
};
struct keopsc_arg {
  int32_t index, dim, cat;
};
struct keopsc_output {
  const char* name;
  int32_t kind;
  int32_t width;
};
struct keopsc_kernel_info {
  int32_t abi;
  int32_t f64;
  int32_t tag;
  int32_t n_args;
  int32_t n_outputs;
  const char* name;
  const keopsc_arg* args;
  const keopsc_output* outputs;
  const char* key;
};
constexpr int32_t kAbi = 2;
typedef int (*run_fn)(const keopsc_call*);
typedef const keopsc_kernel_info* (*info_fn)(void);

// ---------------------------------------------------------------------------------------------------
// Kernel metadata and handles

struct ArgInfo {
  int64_t index, dim, cat;
};
struct OutInfo {
  std::string name;
  bool index;  // int64 indices (else values of the dtype)
  int64_t width;
};
struct Kernel {
  void* dl = nullptr;
  run_fn run = nullptr;
  std::string path;
  std::string name;
  bool f64 = false;
  int tag = 0;
  std::vector<ArgInfo> args;
  std::vector<OutInfo> outputs;
  int64_t nIn = 0;  // size of the `in` pointer array: max index + 1
  std::string key;   // the cache key the library was built under ("" when built without one)
  ~Kernel() {
    if (dl) dlclose(dl);
  }
};

const napi_type_tag kKernelTag = {0x6b656f7073632d6bULL, 0x65726e656c2d7631ULL};

// A C string of at most `max` bytes at `p` (which the library owns), or throws naming `what`.
std::string cString(const char* p, size_t max, const std::string& what) {
  if (!p) throw std::runtime_error(what + " is a null pointer");
  size_t n = strnlen(p, max + 1);
  if (n > max) throw std::runtime_error(what + " is longer than " + std::to_string(max) + " bytes");
  return std::string(p, n);
}

// Check the info struct's fields (native/ABI.md); throws std::runtime_error naming the first bad one.
void readInfo(Kernel& k, const keopsc_kernel_info* in) {
  auto bad = [](const std::string& what) { throw std::runtime_error(what); };
  if (!in) bad("keopsc_info returned a null pointer");
  if (in->abi != kAbi) {
    // ABI 1 returned a JSON text: its first bytes read as a number here
    if (std::memcmp(&in->abi, "{\"ab", 4) == 0) bad("the kernel has ABI version 1 (JSON info), this addon supports 2 (recompile the kernel)");
    bad("the kernel has ABI version " + std::to_string(in->abi) + ", this addon supports 2 (recompile the kernel)");
  }
  k.name = cString(in->name, 4096, "the info's name");
  if (in->f64 != 0 && in->f64 != 1) bad("the info's f64 must be 0 (float32) or 1 (float64)");
  k.f64 = in->f64 == 1;
  if (in->tag != 0 && in->tag != 1) bad("the info's tag must be 0 or 1");
  k.tag = in->tag;
  if (in->n_args < 0 || in->n_args > 65536 || (in->n_args > 0 && !in->args)) bad("the info's args must be an array of n_args in [0, 65536] arguments");
  for (int32_t a = 0; a < in->n_args; a++) {
    const keopsc_arg& e = in->args[a];
    std::string where = "the info's args[" + std::to_string(a) + "]";
    if (e.index < 0 || e.index > 65535) bad(where + " needs an index in [0, 65535]");
    if (e.dim < 1 || e.dim > (1 << 30)) bad(where + " needs a dim >= 1");
    if (e.cat < 0 || e.cat > 2) bad(where + " needs cat 0, 1 or 2");
    ArgInfo ai{e.index, e.dim, e.cat};
    for (const auto& o : k.args)
      if (o.index == ai.index) bad(where + " repeats index " + std::to_string(ai.index));
    k.args.push_back(ai);
    k.nIn = std::max(k.nIn, ai.index + 1);
  }
  if (in->n_outputs < 1 || in->n_outputs > 2 || !in->outputs) bad("the info's outputs must be an array of 1 or 2 outputs");
  for (int32_t o = 0; o < in->n_outputs; o++) {
    const keopsc_output& e = in->outputs[o];
    std::string where = "the info's outputs[" + std::to_string(o) + "]";
    if (e.kind != 0 && e.kind != 1) bad(where + " needs kind 0 (values) or 1 (indices)");
    if (e.width < 1 || e.width > (1 << 30)) bad(where + " needs a width >= 1");
    std::string oname = e.name ? cString(e.name, 64, where + ".name") : std::string(e.kind == 1 ? "indices" : "values");
    k.outputs.push_back(OutInfo{oname, e.kind == 1, int64_t(e.width)});
  }
  k.key = cString(in->key ? in->key : "", 256, "the info's key");
}

void finalizeKernel(napi_env, void* data, void*) { delete static_cast<Kernel*>(data); }

// dlopen maps segments without checking them against the file's size, so a truncated library makes
// it fault (SIGBUS) instead of failing. Check the ELF header, program headers and section header
// table against the file first; returns an empty string when the file looks whole, else what is wrong.
std::string checkElf(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::strerror(errno);
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  struct stat st;
  if (fstat(fd, &st) != 0) return std::strerror(errno);
  uint64_t size = uint64_t(st.st_size);
  auto readAt = [&](void* buf, size_t n, uint64_t off) { return pread(fd, buf, n, off_t(off)) == ssize_t(n); };
  ElfW(Ehdr) eh;
  if (size < sizeof eh || !readAt(&eh, sizeof eh, 0)) return "file too short to be a shared library";
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) return "not an ELF file (invalid ELF header)";
#if __SIZEOF_POINTER__ == 8
  if (eh.e_ident[EI_CLASS] != ELFCLASS64) return "not a 64-bit ELF library";
#else
  if (eh.e_ident[EI_CLASS] != ELFCLASS32) return "not a 32-bit ELF library";
#endif
  if (eh.e_type != ET_DYN) return "not a shared library (ELF type is not ET_DYN)";
  if (eh.e_phentsize != sizeof(ElfW(Phdr)) || eh.e_phnum == 0) return "bad ELF program header table";
  uint64_t phEnd = uint64_t(eh.e_phoff) + uint64_t(eh.e_phnum) * eh.e_phentsize;
  if (phEnd > size) return "truncated file (program headers past the end)";
  std::vector<ElfW(Phdr)> ph(eh.e_phnum);
  if (!readAt(ph.data(), ph.size() * sizeof(ElfW(Phdr)), eh.e_phoff)) return "cannot read the program headers";
  for (const auto& p : ph)
    if ((p.p_type == PT_LOAD || p.p_type == PT_DYNAMIC) && uint64_t(p.p_offset) + uint64_t(p.p_filesz) > size)
      return "truncated file (a segment ends past the end of the file)";
  if (eh.e_shoff != 0 && uint64_t(eh.e_shoff) + uint64_t(eh.e_shnum) * eh.e_shentsize > size) return "truncated file (section headers past the end)";
  return "";
}

Napi::Value Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "load: expected the path of a compiled kernel library (a string)");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  if (path.empty() || path.find('\0') != std::string::npos) throw Napi::TypeError::New(env, "load: the path is empty or holds a NUL character");
  std::string expectKey;
  if (info.Length() >= 2 && !info[1].IsUndefined()) {
    if (!info[1].IsString()) throw Napi::TypeError::New(env, "load: the expected key must be a string, got " + describe(env, info[1]));
    expectKey = info[1].As<Napi::String>().Utf8Value();
  }
  struct stat st;
  if (stat(path.c_str(), &st) != 0) throw Napi::Error::New(env, "load: cannot load kernel library '" + path + "': " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw Napi::Error::New(env, "load: cannot load kernel library '" + path + "': not a regular file");
  std::string bad = checkElf(path);
  if (!bad.empty()) throw Napi::Error::New(env, "load: cannot load kernel library '" + path + "': " + bad);
  // dlopen searches the library path for names without a slash: make it a path
  std::string open = path.find('/') == std::string::npos ? "./" + path : path;
  dlerror();
  void* dl = dlopen(open.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!dl) {
    const char* e = dlerror();
    throw Napi::Error::New(env, "load: cannot load kernel library '" + path + "': " + (e ? e : "dlopen failed"));
  }
  std::unique_ptr<Kernel> k(new Kernel());
  k->dl = dl;
  k->path = path;
  k->run = reinterpret_cast<run_fn>(dlsym(dl, "keopsc_run"));
  if (!k->run) throw Napi::Error::New(env, "load: '" + path + "' is not a keopsc kernel: it has no symbol keopsc_run");
  info_fn inf = reinterpret_cast<info_fn>(dlsym(dl, "keopsc_info"));
  if (!inf) throw Napi::Error::New(env, "load: '" + path + "' is not a keopsc kernel: it has no symbol keopsc_info");
  try {
    readInfo(*k, inf());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string("load: '") + path + "': " + e.what());
  }
  // the library is closed (k's destructor) before a mismatch throws, so that the caller can replace the
  // file and load the same path again (dlopen would otherwise hand back the library still mapped)
  if (!expectKey.empty() && k->key != expectKey)
    throw Napi::Error::New(env, "load: '" + path + "' was built for another kernel (its key is '" + k->key + "', expected '" + expectKey + "')");
  Napi::Object h = Napi::Object::New(env);
  h.DefineProperties({
      Napi::PropertyDescriptor::Value("path", Napi::String::New(env, k->path), napi_enumerable),
      Napi::PropertyDescriptor::Value("name", Napi::String::New(env, k->name), napi_enumerable),
  });
  napi_status s = napi_type_tag_object(env, h, &kKernelTag);
  if (s != napi_ok) throw Napi::Error::New(env, "load: internal: cannot tag the handle");
  Kernel* raw = k.release();
  s = napi_wrap(env, h, raw, finalizeKernel, nullptr, nullptr);
  if (s != napi_ok) {
    delete raw;
    throw Napi::Error::New(env, "load: internal: cannot wrap the handle");
  }
  return h;
}

Kernel* unwrapKernel(Napi::Env env, Napi::Value v, const char* fn) {
  bool ok = false;
  if (v.IsObject()) napi_check_object_type_tag(env, v, &kKernelTag, &ok);
  if (!ok) throw Napi::TypeError::New(env, std::string(fn) + ": the first argument must be a kernel handle returned by load()");
  void* p = nullptr;
  if (napi_unwrap(env, v, &p) != napi_ok || !p) throw Napi::TypeError::New(env, std::string(fn) + ": the kernel handle is not valid");
  return static_cast<Kernel*>(p);
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Kernel* k = unwrapKernel(env, info.Length() ? info[0] : env.Undefined(), "info");
  Napi::Object o = Napi::Object::New(env);
  o.Set("abi", Napi::Number::New(env, kAbi));
  o.Set("name", Napi::String::New(env, k->name));
  o.Set("dtype", Napi::String::New(env, k->f64 ? "float64" : "float32"));
  o.Set("tag", Napi::Number::New(env, k->tag));
  Napi::Array args = Napi::Array::New(env, k->args.size());
  for (size_t a = 0; a < k->args.size(); a++) {
    Napi::Object e = Napi::Object::New(env);
    e.Set("index", Napi::Number::New(env, double(k->args[a].index)));
    e.Set("dim", Napi::Number::New(env, double(k->args[a].dim)));
    e.Set("cat", Napi::Number::New(env, double(k->args[a].cat)));
    args.Set(uint32_t(a), e);
  }
  o.Set("args", args);
  Napi::Array outs = Napi::Array::New(env, k->outputs.size());
  for (size_t q = 0; q < k->outputs.size(); q++) {
    Napi::Object e = Napi::Object::New(env);
    e.Set("name", Napi::String::New(env, k->outputs[q].name));
    e.Set("kind", Napi::String::New(env, k->outputs[q].index ? "index" : "float"));
    e.Set("width", Napi::Number::New(env, double(k->outputs[q].width)));
    outs.Set(uint32_t(q), e);
  }
  o.Set("outputs", outs);
  o.Set("key", Napi::String::New(env, k->key));
  return o;
}

// ---------------------------------------------------------------------------------------------------
// The persistent thread pool. Workers are started on demand and live as long as the process (the pool
// is never destroyed, so process exit never joins or terminates them). One run at a time: a run posts
// a job, wakes the workers, works on blocks itself, then closes the job to late-comers and waits for
// the workers that joined.

// Batch dims (ABI.md): entry t of the batch reads input k at base + (its offset from the strides) and
// writes output o at base + t * outEntryBytes[o]. All of it checked by Run before any work item runs.
struct BatchInfo {
  std::vector<int64_t> shape;     // the broadcast batch shape
  std::vector<int64_t> strides;   // nIn x shape.size(): element strides by variable index (0: broadcast)
  std::vector<size_t> inBytes;    // element size per input slot
  std::vector<size_t> outEntryBytes;
  size_t nIn = 0, nOut = 0;
};

struct Job {
  run_fn run;
  const keopsc_call* base;
  const std::vector<int64_t>* cuts;  // block b = rows [cuts[b], cuts[b+1]) (of batch entry b / perBatch)
  size_t nblocks;
  const BatchInfo* batch = nullptr;  // batch dims: block b is row block b % perBatch of entry b / perBatch
  size_t perBatch = 1;
  std::atomic<size_t> next{0};
  std::atomic<int> status{0};
};

void workOn(Job* j) {
  std::vector<const void*> ins;
  std::vector<void*> outs;
  for (;;) {
    size_t b = j->next.fetch_add(1, std::memory_order_relaxed);
    if (b >= j->nblocks) return;
    keopsc_call c = *j->base;
    size_t blk = j->batch ? b % j->perBatch : b;
    c.r0 = (*j->cuts)[blk];
    c.r1 = (*j->cuts)[blk + 1];
    if (j->batch) {
      const BatchInfo& bi = *j->batch;
      const size_t nb = bi.shape.size();
      ins.assign(c.in, c.in + bi.nIn);
      outs.assign(c.out, c.out + bi.nOut);
      size_t t = b / j->perBatch, rem = t;
      for (size_t d = nb; d-- > 0;) {
        const int64_t i = int64_t(rem % size_t(bi.shape[d]));
        rem /= size_t(bi.shape[d]);
        for (size_t k = 0; k < bi.nIn; k++)
          if (ins[k]) ins[k] = static_cast<const char*>(ins[k]) + size_t(i * bi.strides[k * nb + d]) * bi.inBytes[k];
      }
      for (size_t o = 0; o < bi.nOut; o++) outs[o] = static_cast<char*>(outs[o]) + t * bi.outEntryBytes[o];
      c.in = ins.data();
      c.out = outs.data();
    }
    int r = j->run(&c);
    if (r != 0) {
      int expected = 0;
      j->status.compare_exchange_strong(expected, r);
      j->next.store(j->nblocks, std::memory_order_relaxed);
    }
  }
}

// Waiting: a thread that sleeps on a condition variable hands its CPU back, and on a virtual machine
// an idle CPU is halted, and waking it again can cost tens of microseconds, which a block-sparse run of a few
// hundred microseconds pays twice (the helper's start, the caller's wake at the end). So both sides
// first poll an atomic for a short, bounded time, yielding the CPU between polls: the caller while the
// helpers finish their last block, and a helper after its job, for the next one (back-to-back runs: a
// solver's iterations, a benchmark). Yielding keeps an otherwise idle CPU awake and costs nothing when
// other threads want it (a preempted helper, other processes on a busy machine: a busy-wait there
// made the slow runs slower). Past the bound they sleep as before, so an idle process costs nothing.
constexpr auto kSpinCaller = std::chrono::microseconds(100);
constexpr auto kSpinHelper = std::chrono::microseconds(200);

// Poll `done()`, yielding between polls, until it holds or `limit` has passed; returns done().
template <class F>
bool spinUntil(F done, std::chrono::microseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  for (int k = 0;; k++) {
    if (done()) return true;
    std::this_thread::yield();
    if ((k & 7) == 7 && std::chrono::steady_clock::now() >= until) return done();
  }
}

class Pool {
 public:
  size_t size() {
    std::lock_guard<std::mutex> lk(m_);
    return workers_.size();
  }
  // Run `j` with the calling thread and up to `helpers` workers.
  void run(Job* j, int helpers) {
    std::lock_guard<std::mutex> one(runMutex_);
    {
      std::lock_guard<std::mutex> lk(m_);
      // a new worker starts from the current generation, so it sees the job posted below
      while (int(workers_.size()) < helpers) workers_.emplace_back([this, g = generation_] { loop(g); });
      job_ = j;
      wanted_ = helpers;
      joined_ = 0;
      generation_++;
      posted_.store(generation_, std::memory_order_release);
    }
    cvWork_.notify_all();
    workOn(j);
    {
      std::lock_guard<std::mutex> lk(m_);
      wanted_ = 0;  // no late joiners
      job_ = nullptr;
    }
    // the helpers that joined finish their last block: spin, then sleep. active_ drops to 0 (under the
    // lock, after the helper's writes) once, and no helper joins this job again.
    if (spinUntil([this] { return active_.load(std::memory_order_acquire) == 0; }, kSpinCaller)) return;
    std::unique_lock<std::mutex> lk(m_);
    cvDone_.wait(lk, [this] { return active_.load(std::memory_order_relaxed) == 0; });
  }

 private:
  void loop(uint64_t seen) {
    std::unique_lock<std::mutex> lk(m_);
    for (;;) {
      if (generation_ == seen) {
        lk.unlock();
        spinUntil([&] { return posted_.load(std::memory_order_acquire) != seen; }, kSpinHelper);
        lk.lock();
      }
      cvWork_.wait(lk, [&] { return generation_ != seen; });
      seen = generation_;
      if (joined_ >= wanted_ || !job_) continue;
      joined_++;
      active_.fetch_add(1, std::memory_order_relaxed);
      Job* j = job_;
      lk.unlock();
      workOn(j);
      lk.lock();
      if (active_.fetch_sub(1, std::memory_order_acq_rel) == 1) cvDone_.notify_all();
    }
  }
  std::mutex runMutex_;
  std::mutex m_;
  std::condition_variable cvWork_, cvDone_;
  std::vector<std::thread> workers_;
  Job* job_ = nullptr;
  uint64_t generation_ = 0;
  std::atomic<uint64_t> posted_{0};  // generation_, readable without the lock (spinning helpers)
  int wanted_ = 0, joined_ = 0;
  std::atomic<int> active_{0};  // helpers inside workOn; changed under m_, read without it by the spinning caller
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: see above
  return *p;
}

Napi::Value PoolSize(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), double(pool().size())); }

// ---------------------------------------------------------------------------------------------------
// run: validation

const char* catName(int64_t cat) { return cat == 0 ? "i (M rows)" : cat == 1 ? "j (N rows)" : "parameter (1 row)"; }

bool overlaps(const Arr& a, const Arr& b) {
  if (!a.bytes || !b.bytes) return false;
  auto a0 = reinterpret_cast<uintptr_t>(a.data), b0 = reinterpret_cast<uintptr_t>(b.data);
  return a0 < b0 + b.bytes && b0 < a0 + a.bytes;
}

// Block boundaries over [0, rows): `nblocks` blocks of about equal weight, where a row weighs 1 plus
// the length of the reduction of the cluster(s) covering it (dense: all rows weigh the same).
std::vector<int64_t> splitRows(int64_t rows, size_t nblocks, const int32_t* out, const int32_t* slices, const int32_t* red, int64_t nc, double& total) {
  std::vector<int64_t> cuts;
  cuts.push_back(0);
  if (!out) {
    total = 0;
    for (size_t b = 1; b < nblocks; b++) {
      int64_t c = int64_t((__int128)rows * b / nblocks);
      if (c > cuts.back()) cuts.push_back(c);
    }
    if (rows > cuts.back()) cuts.push_back(rows);
    return cuts;
  }
  // piecewise-constant weights: sweep over the cluster boundaries
  std::vector<int64_t> bounds;
  bounds.reserve(size_t(2 * nc + 2));
  bounds.push_back(0);
  bounds.push_back(rows);
  for (int64_t c = 0; c < nc; c++) {
    bounds.push_back(out[2 * c]);
    bounds.push_back(out[2 * c + 1]);
  }
  std::sort(bounds.begin(), bounds.end());
  bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
  std::vector<double> delta(bounds.size() + 1, 0.0);
  for (int64_t c = 0; c < nc; c++) {
    if (out[2 * c] == out[2 * c + 1]) continue;
    double len = 0;
    for (int32_t l = c == 0 ? 0 : slices[c - 1]; l < slices[c]; l++) len += double(red[2 * l + 1]) - double(red[2 * l]);
    size_t s = size_t(std::lower_bound(bounds.begin(), bounds.end(), int64_t(out[2 * c])) - bounds.begin());
    size_t e = size_t(std::lower_bound(bounds.begin(), bounds.end(), int64_t(out[2 * c + 1])) - bounds.begin());
    delta[s] += len;
    delta[e] -= len;
  }
  std::vector<double> w(bounds.size(), 0.0);  // weight per row of segment [bounds[k], bounds[k+1])
  double cur = 0;
  total = 0;
  for (size_t k = 0; k + 1 < bounds.size(); k++) {
    cur += delta[k];
    w[k] = 1 + std::max(0.0, cur);
    total += w[k] * double(bounds[k + 1] - bounds[k]);
  }
  double target = total / double(nblocks), acc = 0;
  size_t b = 1;
  for (size_t k = 0; k + 1 < bounds.size() && b < nblocks; k++) {
    int64_t s = bounds[k], e = bounds[k + 1];
    double segW = w[k] * double(e - s);
    while (b < nblocks && acc + segW >= target * double(b)) {
      double need = target * double(b) - acc;
      int64_t cut = s + int64_t(std::ceil(need / w[k]));
      cut = std::min(std::max(cut, s), e);
      if (cut > cuts.back() && cut < rows) cuts.push_back(cut);
      b++;
    }
    acc += segW;
  }
  if (rows > cuts.back()) cuts.push_back(rows);
  return cuts;
}

Napi::Value Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Kernel* k = unwrapKernel(env, info.Length() ? info[0] : env.Undefined(), "run");
  const std::string pre = "kernel '" + k->name + "': ";
  if (info.Length() < 2 || !info[1].IsObject()) throw Napi::TypeError::New(env, pre + "run needs an options object { inputs, outputs, M, N, ranges?, threads? }");
  Napi::Object opt = info[1].As<Napi::Object>();

  // Phase 1: every property read (which may run user getters) happens here, before any pointer is
  // taken, so no JS code runs between validating an array and running the kernel on it.
  const RunArgs ro = readRunArgs(env, opt, k->args, k->outputs.size(), {"out", "slices", "red"}, {"threads", "minParallelPairs", "batchShape", "batchStrides"});
  Napi::Value tv = ro.extra[0], mp = ro.extra[1], rOut = ro.rangeVals[0], rSl = ro.rangeVals[1], rRed = ro.rangeVals[2];
  Napi::Value bShape = ro.extra[2], bStrides = ro.extra[3];

  // Phase 2: validation (no JS runs from here on)
  const RunSize size = runSize(env, ro.M, ro.N, k->tag, pre);
  const int64_t M = size.M, N = size.N, rows = size.rows, redLen = size.redLen;
  napi_typedarray_type ft = k->f64 ? napi_float64_array : napi_float32_array;
  const char* dtype = k->f64 ? "float64" : "float32";
  const size_t nInSlots = size_t(std::max<int64_t>(k->nIn, 1));

  // batch dims (ABI.md)
  const Batch bt = readBatch(env, bShape, bStrides, nInSlots, rows, ro.hasRanges, pre);
  const bool batched = bt.on;
  const int64_t B = bt.B;
  BatchInfo bi;
  bi.shape = bt.shape;
  bi.strides = bt.strides;

  // inputs
  if (!ro.inputs.IsArray()) throw Napi::TypeError::New(env, pre + "inputs must be an Array of typed arrays by variable index, got " + describe(env, ro.inputs));
  std::vector<const void*> inPtr(nInSlots, nullptr);
  std::vector<Arr> inArrs;
  for (size_t i = 0; i < k->args.size(); i++) {
    const ArgInfo& a = k->args[i];
    std::string what = pre + "input " + std::to_string(a.index);
    Napi::Value v = ro.inVals[i];
    if (v.IsUndefined() || v.IsNull())
      throw Napi::TypeError::New(env, what + " (dim " + std::to_string(a.dim) + ", category " + catName(a.cat) + ") is missing: the kernel reads it");
    Arr arr = typed(env, v, ft, what + " (the kernel is " + dtype + ")");
    const int64_t argRows = a.cat == 0 ? M : a.cat == 1 ? N : 1;
    if (!batched) {
      expectLength(env, arr, what, std::string(a.cat == 0 ? "M" : a.cat == 1 ? "N" : "1") + " x dim", argRows, a.dim);
    } else {
      expectBatchedLength(env, bt, arr, what, a.index, argRows, a.dim);
    }
    inPtr[size_t(a.index)] = arr.data;
    inArrs.push_back(arr);
  }

  // outputs
  if (!ro.outputs.IsArray()) throw Napi::TypeError::New(env, pre + "outputs must be an Array of typed arrays, got " + describe(env, ro.outputs));
  if (ro.outLen != k->outputs.size())
    throw Napi::RangeError::New(env, pre + "outputs has " + std::to_string(ro.outLen) + " arrays, the kernel writes " + std::to_string(k->outputs.size()));
  std::vector<void*> outPtr;
  std::vector<Arr> outArrs;
  for (size_t o = 0; o < k->outputs.size(); o++) {
    const OutInfo& oi = k->outputs[o];
    std::string what = pre + "output " + std::to_string(o) + " (" + oi.name + ")";
    Arr arr = typed(env, ro.outVals[o], oi.index ? napi_bigint64_array : ft, what);
    expectLength(env, arr, what, batched ? "batch entries x rows x width" : "rows x width", B * rows, oi.width);
    for (size_t i = 0; i < inArrs.size(); i++)
      if (overlaps(arr, inArrs[i])) throw Napi::RangeError::New(env, what + " shares memory with input " + std::to_string(k->args[i].index));
    for (size_t p = 0; p < outArrs.size(); p++)
      if (overlaps(arr, outArrs[p])) throw Napi::RangeError::New(env, what + " shares memory with output " + std::to_string(p));
    outPtr.push_back(arr.data);
    outArrs.push_back(arr);
  }

  // ranges
  keopsc_call call{};
  if (ro.hasRanges) {
    if (!ro.ranges.IsObject()) throw Napi::TypeError::New(env, pre + "ranges must be an object { out, slices, red } of Int32Arrays, got " + describe(env, ro.ranges));
    Arr out = typed(env, rOut, napi_int32_array, pre + "ranges.out");
    Arr sl = typed(env, rSl, napi_int32_array, pre + "ranges.slices");
    Arr red = typed(env, rRed, napi_int32_array, pre + "ranges.red");
    if (out.length % 2) throw Napi::RangeError::New(env, pre + "ranges.out has " + std::to_string(out.length) + " values; it must hold [start, end) pairs");
    if (red.length % 2) throw Napi::RangeError::New(env, pre + "ranges.red has " + std::to_string(red.length) + " values; it must hold [start, end) pairs");
    const int32_t* po = static_cast<const int32_t*>(out.data);
    const int32_t* ps = static_cast<const int32_t*>(sl.data);
    const int32_t* pr = static_cast<const int32_t*>(red.data);
    int64_t nc = int64_t(out.length / 2), nr = int64_t(red.length / 2);
    const char* rowsName = k->tag == 0 ? "M" : "N";
    const char* redName = k->tag == 0 ? "N" : "M";
    auto pairs = [&](const int32_t* p, int64_t n, int64_t max, const char* name, const char* maxName) {
      for (int64_t c = 0; c < n; c++) {
        int32_t s = p[2 * c], e = p[2 * c + 1];
        if (s >= 0 && s <= e && e <= max) continue;
        // the message is built only for a bad interval (building it for each one cost a fifth of a
        // small block-sparse run)
        std::string at = pre + "ranges." + name + "[" + std::to_string(c) + "] = [" + std::to_string(s) + ", " + std::to_string(e) + ")";
        if (s < 0) throw Napi::RangeError::New(env, at + " has a negative start");
        if (s > e) throw Napi::RangeError::New(env, at + " has start > end");
        throw Napi::RangeError::New(env, at + " is out of bounds for " + maxName + " = " + std::to_string(max));
      }
    };
    pairs(po, nc, rows, "out", rowsName);
    pairs(pr, nr, redLen, "red", redName);
    if (int64_t(sl.length) != nc)
      throw Napi::RangeError::New(env, pre + "ranges.slices has " + std::to_string(sl.length) + " entries but there are " + std::to_string(nc) + " clusters (one end offset per cluster)");
    int32_t prev = 0;
    for (int64_t c = 0; c < nc; c++) {
      if (ps[c] < prev)
        throw Napi::RangeError::New(env, pre + "ranges.slices must be non-decreasing, but slices[" + std::to_string(c) + "] = " + std::to_string(ps[c]) + " < " + std::to_string(prev));
      if (ps[c] > nr)
        throw Napi::RangeError::New(env, pre + "ranges.slices[" + std::to_string(c) + "] = " + std::to_string(ps[c]) + " is past the end of ranges.red (" + std::to_string(nr) + " intervals)");
      prev = ps[c];
    }
    // ranges_out == nullptr means "dense" (ABI.md), but an empty typed array's data pointer may be
    // null: zero clusters must still mean "no row is covered", so point empty arrays at a dummy
    static const int32_t kNone[2] = {0, 0};
    call.ranges_out = po ? po : kNone;
    call.slices = ps ? ps : kNone;
    call.red = pr ? pr : kNone;
    call.n_clusters = nc;
    call.n_red = nr;
  }

  // threads and the parallel threshold
  int64_t threads = tv.IsUndefined() ? std::max<int64_t>(1, std::thread::hardware_concurrency()) : count(env, tv, pre + "threads", 1024, 1);
  double minPairs = mp.IsUndefined() ? 100000.0 : double(count(env, mp, pre + "minParallelPairs", kMaxSize));

  // Phase 3: run, on raw pointers only
  call.in = inPtr.data();
  call.out = outPtr.data();
  call.M = M;
  call.N = N;
  if (rows == 0 || B == 0) return Napi::Number::New(env, 0);
  if (batched) {
    // work items: (batch entry, row block), on the pool; each reads its entry through the strides
    bi.nIn = inPtr.size();
    bi.nOut = outPtr.size();
    bi.inBytes.assign(bi.nIn, k->f64 ? 8 : 4);
    for (size_t o = 0; o < k->outputs.size(); o++) bi.outEntryBytes.push_back(size_t(rows) * size_t(k->outputs[o].width) * (k->outputs[o].index ? 8 : (k->f64 ? 8 : 4)));
    const double pairs = double(B) * double(rows) * double(std::max<int64_t>(redLen, 1));
    const bool parallel = threads > 1 && pairs >= minPairs;
    const int64_t perBatch = parallel ? std::min<int64_t>(rows, std::max<int64_t>(1, (threads * 4 + B - 1) / B)) : 1;
    double unused = 0;
    std::vector<int64_t> bcuts = splitRows(rows, size_t(perBatch), nullptr, nullptr, nullptr, 0, unused);
    Job job;
    job.run = k->run;
    job.base = &call;
    job.cuts = &bcuts;
    job.batch = &bi;
    job.perBatch = bcuts.size() - 1;
    job.nblocks = size_t(B) * job.perBatch;
    int used = parallel ? int(std::min<int64_t>(threads, int64_t(job.nblocks))) : 1;
    if (used > 1) pool().run(&job, used - 1);
    else workOn(&job);
    if (job.status.load() != 0) throw Napi::Error::New(env, pre + "keopsc_run returned " + std::to_string(job.status.load()));
    return Napi::Number::New(env, used);
  }
  const size_t perThread = 4;
  size_t nblocks = size_t(std::min<int64_t>(rows, threads * int64_t(perThread)));
  double weight = 0;
  std::vector<int64_t> cuts;
  int used = 1;
  double pairs = call.ranges_out ? -1 : double(rows) * double(std::max<int64_t>(redLen, 1));
  if (threads > 1 && (pairs < 0 || pairs >= minPairs)) {
    cuts = splitRows(rows, nblocks, call.ranges_out, call.slices, call.red, call.n_clusters, weight);
    if (pairs < 0) pairs = weight;
  }
  int status;
  if (threads == 1 || pairs < minPairs || cuts.size() <= 2) {
    call.r0 = 0;
    call.r1 = rows;
    status = k->run(&call);
  } else {
    Job job;
    job.run = k->run;
    job.base = &call;
    job.cuts = &cuts;
    job.nblocks = cuts.size() - 1;
    used = int(std::min<int64_t>(threads, int64_t(job.nblocks)));
    pool().run(&job, used - 1);
    status = job.status.load();
  }
  if (status != 0) throw Napi::Error::New(env, pre + "keopsc_run returned " + std::to_string(status));
  return Napi::Number::New(env, used);
}

// fd 2 to /dev/null and back, around driver calls that print noise (runtime/webgpu/node.ts).
Napi::Value MuteStderr(const Napi::CallbackInfo& info) {
  fflush(stderr);
  int saved = fcntl(2, F_DUPFD_CLOEXEC, 3);
  int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (saved < 0 || devnull < 0 || dup2(devnull, 2) < 0) {
    if (saved >= 0) close(saved);
    saved = -1;
  }
  if (devnull >= 0) close(devnull);
  return Napi::Number::New(info.Env(), saved);
}

Napi::Value RestoreStderr(const Napi::CallbackInfo& info) {
  int saved = info[0].As<Napi::Number>().Int32Value();
  if (saved >= 0) {
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
  }
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  keopscRegisterCuda(env, exports);  // cudaProbe, nvrtcCompile, cudaLoad, cudaRun, cudaRelease (cuda.cc)
  keopscRegisterCluster(env, exports);  // clusterGrid, labelCount, classSums, labelOrder, permuteRows, clusterRadii (cluster.cc)
  exports.Set("load", Napi::Function::New(env, Load, "load"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("run", Napi::Function::New(env, Run, "run"));
  exports.Set("poolSize", Napi::Function::New(env, PoolSize, "poolSize"));
  exports.Set("muteStderr", Napi::Function::New(env, MuteStderr, "muteStderr"));
  exports.Set("restoreStderr", Napi::Function::New(env, RestoreStderr, "restoreStderr"));
  exports.Set("abi", Napi::Number::New(env, kAbi));
  return exports;
}

}  // namespace

NODE_API_MODULE(keopsc_native, Init)
