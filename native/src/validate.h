// keopsc_native: the checks of the caller's arguments shared by the CPU part (addon.cc) and the CUDA
// part (cuda.cc), so that both name a bad argument with the same words. Every check throws a
// Napi::TypeError (wrong kind of value) or Napi::RangeError (right kind, bad value) naming `what`.
#pragma once

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <vector>

namespace keopsc_args {

// d is an integer in [lo, hi]
inline bool isInt(double d, double lo, double hi) { return std::isfinite(d) && d == std::floor(d) && d >= lo && d <= hi; }

inline const char* typeName(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_uint8_clamped_array: return "Uint8ClampedArray";
    case napi_int16_array: return "Int16Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_biguint64_array: return "BigUint64Array";
    default: return "typed array";
  }
}

inline size_t elementBytes(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array:
    case napi_uint8_array:
    case napi_uint8_clamped_array: return 1;
    case napi_int16_array:
    case napi_uint16_array: return 2;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array: return 4;
    default: return 8;
  }
}

// What a value is, for error messages: "undefined", "Float32Array", "an Array", "a number", ...
inline std::string describe(Napi::Env env, Napi::Value v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsTypedArray()) {
    napi_typedarray_type t;
    napi_get_typedarray_info(env, v, &t, nullptr, nullptr, nullptr, nullptr);
    return typeName(t);
  }
  if (v.IsArray()) return "an Array";
  if (v.IsNumber()) return "a number";
  if (v.IsString()) return "a string";
  if (v.IsBoolean()) return "a boolean";
  if (v.IsBigInt()) return "a bigint";
  if (v.IsFunction()) return "a function";
  if (v.IsArrayBuffer()) return "an ArrayBuffer";
  if (v.IsDataView()) return "a DataView";
  return "an object";
}

// A typed array's memory, as checked by typed().
struct Arr {
  void* data = nullptr;
  size_t length = 0;  // elements
  size_t bytes = 0;
  napi_typedarray_type type = napi_int8_array;
};

// The typed array `v` must have type `want` (else TypeError naming `what`).
inline Arr typed(Napi::Env env, Napi::Value v, napi_typedarray_type want, const std::string& what) {
  Arr a;
  if (!v.IsTypedArray()) throw Napi::TypeError::New(env, what + " must be a " + typeName(want) + ", got " + describe(env, v));
  napi_value ab;
  size_t off;
  napi_get_typedarray_info(env, v, &a.type, &a.length, &a.data, &ab, &off);
  if (a.type != want) throw Napi::TypeError::New(env, what + " must be a " + typeName(want) + ", got " + typeName(a.type));
  a.bytes = a.length * elementBytes(want);
  return a;
}

// An integer number in [min, max] (else TypeError / RangeError).
inline int64_t count(Napi::Env env, Napi::Value v, const std::string& what, double max, double min = 0) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, what + " must be a number, got " + describe(env, v));
  double d = v.As<Napi::Number>().DoubleValue();
  if (!isInt(d, min, max)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", d);
    throw Napi::RangeError::New(env, what + " must be an integer in [" + std::to_string(int64_t(min)) + ", " + std::to_string(int64_t(max)) + "], got " + buf);
  }
  return int64_t(d);
}

// rows × width as a size, or SIZE_MAX on overflow (never equal to a real length).
inline size_t product(int64_t rows, int64_t width) {
  if (rows != 0 && uint64_t(width) > uint64_t(SIZE_MAX) / uint64_t(rows)) return SIZE_MAX;
  return size_t(rows) * size_t(width);
}

// `arr` must hold rows x width values (else RangeError "<what> has L values, expected <label> = rows x width = R").
inline void expectLength(Napi::Env env, const Arr& arr, const std::string& what, const std::string& label, int64_t rows, int64_t width) {
  size_t want = product(rows, width);
  if (arr.length != want)
    throw Napi::RangeError::New(env, what + " has " + std::to_string(arr.length) + " values, expected " + label + " = " + std::to_string(rows) + " x " + std::to_string(width) +
                                         " = " + (want == SIZE_MAX ? std::string("too many") : std::to_string(want)));
}

// The largest size a run accepts: 2^53 - 1 (Number.MAX_SAFE_INTEGER).
constexpr double kMaxSize = 9007199254740991.0;

// The sizes of a run: M and N (options.M and options.N, checked), and for a kernel that reduces over j
// (tag 0) or over i (tag 1) its output rows and the length of its reduction.
struct RunSize {
  int64_t M, N, rows, redLen;
};
inline RunSize runSize(Napi::Env env, Napi::Value Mv, Napi::Value Nv, int tag, const std::string& pre) {
  RunSize s;
  s.M = count(env, Mv, pre + "M", kMaxSize);
  s.N = count(env, Nv, pre + "N", kMaxSize);
  s.rows = tag == 0 ? s.M : s.N;
  s.redLen = tag == 0 ? s.N : s.M;
  return s;
}

// Phase 1 of a run: every property read (which may run user getters) happens before any pointer is
// taken, so that no JS code runs between checking an array and using it. These reads never throw for a
// value of the wrong kind: they give undefined (or nothing), and phase 2 names the problem.

// inputs[args[i].index] for every argument of a kernel (`index` is a member of each); undefined
// where `inputs` is not an Array or is too short.
template <typename ArgList>
std::vector<Napi::Value> inputValues(Napi::Env env, Napi::Value inputs, const ArgList& args) {
  std::vector<Napi::Value> vals(args.size(), env.Undefined());
  if (inputs.IsArray()) {
    Napi::Array a = inputs.As<Napi::Array>();
    uint32_t len = a.Length();
    for (size_t i = 0; i < args.size(); i++)
      if (uint32_t(args[i].index) < len) vals[i] = a.Get(uint32_t(args[i].index));
  }
  return vals;
}

// The values of `outputs` when it is an Array of exactly `n` (else none); `length`: its length (0 when
// it is not an Array).
inline std::vector<Napi::Value> outputValues(Napi::Value outputs, size_t n, uint32_t& length) {
  std::vector<Napi::Value> vals;
  length = 0;
  if (outputs.IsArray()) {
    Napi::Array a = outputs.As<Napi::Array>();
    length = a.Length();
    if (length == n)
      for (uint32_t o = 0; o < length; o++) vals.push_back(a.Get(o));
  }
  return vals;
}

// The properties `keys` of `v`, in order, when it is an object (else undefined each).
inline std::vector<Napi::Value> properties(Napi::Env env, Napi::Value v, std::initializer_list<const char*> keys) {
  std::vector<Napi::Value> vals(keys.size(), env.Undefined());
  if (v.IsObject()) {
    Napi::Object o = v.As<Napi::Object>();
    size_t k = 0;
    for (const char* key : keys) vals[k++] = o.Get(key);
  }
  return vals;
}

// What phase 1 reads of a run's options object.
struct RunArgs {
  Napi::Value M, N, inputs, outputs, ranges;
  std::vector<Napi::Value> extra;      // the `extra` properties
  std::vector<Napi::Value> inVals;     // inputValues()
  std::vector<Napi::Value> outVals;    // outputValues()
  uint32_t outLen = 0;                 // the length of outputs (0 when not an Array)
  bool hasRanges = false;              // ranges is neither undefined nor null
  std::vector<Napi::Value> rangeVals;  // the properties `rangeKeys` of ranges
};

// Options M, N, inputs, outputs, ranges and then `extra`, then the values in inputs for the kernel's
// `args`, in outputs when it holds `nOut`, and in ranges.
template <typename ArgList>
RunArgs readRunArgs(Napi::Env env, Napi::Object opt, const ArgList& args, size_t nOut, std::initializer_list<const char*> rangeKeys,
                    std::initializer_list<const char*> extra = {}) {
  RunArgs r;
  r.M = opt.Get("M");
  r.N = opt.Get("N");
  r.inputs = opt.Get("inputs");
  r.outputs = opt.Get("outputs");
  r.ranges = opt.Get("ranges");
  r.extra = properties(env, opt, extra);
  r.inVals = inputValues(env, r.inputs, args);
  r.outVals = outputValues(r.outputs, nOut, r.outLen);
  r.hasRanges = !r.ranges.IsUndefined() && !r.ranges.IsNull();
  r.rangeVals = properties(env, r.ranges, rangeKeys);
  return r;
}


// Batch dims (ABI.md): batchShape (Float64Array of non-negative integers) and batchStrides
// (Float64Array, nInSlots x dims: the element strides of each input variable index, 0 where broadcast).
struct Batch {
  bool on = false;
  std::vector<int64_t> shape, strides;
  int64_t B = 1;
};
inline Batch readBatch(Napi::Env env, Napi::Value shapeV, Napi::Value stridesV, size_t nInSlots, int64_t rows, bool hasRanges, const std::string& pre) {
  Batch b;
  b.on = !shapeV.IsUndefined();
  if (!b.on && !stridesV.IsUndefined()) throw Napi::TypeError::New(env, pre + "batchStrides needs batchShape");
  if (!b.on) return b;
  Arr sh = typed(env, shapeV, napi_float64_array, pre + "batchShape");
  Arr st = typed(env, stridesV, napi_float64_array, pre + "batchStrides");
  const double* ps = static_cast<const double*>(sh.data);
  for (size_t d = 0; d < sh.length; d++) {
    if (!isInt(ps[d], 0, kMaxSize)) throw Napi::RangeError::New(env, pre + "batchShape[" + std::to_string(d) + "] = " + std::to_string(ps[d]) + " is not a non-negative integer");
    b.shape.push_back(int64_t(ps[d]));
    if (b.B != 0 && double(b.B) * ps[d] > kMaxSize) throw Napi::RangeError::New(env, pre + "batchShape has more than 2^53 entries");
    b.B *= int64_t(ps[d]);
  }
  if (st.length != nInSlots * sh.length)
    throw Napi::RangeError::New(env, pre + "batchStrides has " + std::to_string(st.length) + " values, expected " + std::to_string(nInSlots) + " inputs x " + std::to_string(sh.length) + " batch dims");
  const double* pst = static_cast<const double*>(st.data);
  for (size_t q = 0; q < st.length; q++) {
    if (!isInt(pst[q], 0, kMaxSize)) throw Napi::RangeError::New(env, pre + "batchStrides[" + std::to_string(q) + "] = " + std::to_string(pst[q]) + " is not a non-negative integer");
    b.strides.push_back(int64_t(pst[q]));
  }
  if (hasRanges) throw Napi::RangeError::New(env, pre + "ranges cannot be combined with batch dims (as KeOps)");
  if (double(b.B) * double(rows) > kMaxSize) throw Napi::RangeError::New(env, pre + "batch entries x rows exceeds 2^53");
  return b;
}
// Input `index` (argRows x dim per entry) must hold its last entry: the largest offset plus one entry.
inline void expectBatchedLength(Napi::Env env, const Batch& b, const Arr& arr, const std::string& what, int64_t index, int64_t argRows, int64_t dim) {
  if (b.B == 0) return;
  double last = double(argRows) * double(dim);
  for (size_t d = 0; d < b.shape.size(); d++) last += double(b.shape[d] - 1) * double(b.strides[size_t(index) * b.shape.size() + d]);
  if (double(arr.length) < last) throw Napi::RangeError::New(env, what + " has " + std::to_string(arr.length) + " values, but its batch strides read up to " + std::to_string(int64_t(last)));
}
// The start (in elements) of input `index` in batch entry t.
inline int64_t batchOffset(const Batch& b, size_t index, int64_t t) {
  int64_t off = 0;
  const size_t nb = b.shape.size();
  for (size_t d = nb; d-- > 0;) {
    off += (t % b.shape[d]) * b.strides[index * nb + d];
    t /= b.shape[d];
  }
  return off;
}

}  // namespace keopsc_args
