// keopsc_native: the per-point passes of the clustering library (runtime/cluster), for the Node build.
// The TypeScript functions in runtime/cluster/index.ts are the definition: every function here gives
// byte-identical outputs (the same float64 operations in the same order; the build has no fast-math
// and no FMA contraction), and test/cluster-native.test.ts compares the two paths. TypeScript keeps
// the argument checks that produce the user's error messages; these functions check again, before any
// memory is touched, that every array has the type and length its pointers are used for and that
// every index is in range, and throw a TypeError/RangeError otherwise.
//
//   clusterGrid(data, n, d, sizes, labels) -> counts | null
//       grid labels (runtime/cluster gridCells): labels[i] = the rank of point i's cell
//       floor(x[i, a] / sizes[a]) in lexicographic order of the occupied cells; returns the points per
//       label (Int32Array), or null when a coordinate is NaN/infinite or overflows (floor(v / s) is
//       not finite) - TypeScript then throws the error naming it. data: Float32Array/Float64Array
//       (n x d), sizes: Float64Array (d), labels: Int32Array (n), written.
//   labelCount(labels, nlab) -> number
//       max label + 1 (or nlab when nlab >= 0), or -1 when a label is negative or not below nlab.
//   classSums(data, n, d, labels, C, sums, wsum, counts)
//       per-class means (float64 sums in point order, then one division) of unweighted points:
//       sums (Float64Array C x d), wsum (Float64Array C: the sizes), counts (Int32Array C), written.
//   labelOrder(labels, C, counts | null, perm, sorted)
//       the stable counting sort by label: perm (Int32Array n), sorted (Int32Array n), written.
//   permuteRows(src, width, perm, dst, scatter)
//       gather (dst row k = src row perm[k]) or scatter (dst row perm[k] = src row k) of rows of
//       `width` elements of any typed array; src and dst of the same type.
//   clusterRadii(rows, n, d, labels, centroids, radii) -> maxAbs
//       per class the largest distance from its centroid to one of its (sorted) rows, written to radii
//       (Float64Array C, zeroed by the caller), and the largest |coordinate|.
//   closeClusters(ca, Ca, cb, Cb, d, cutoff, radiiA, radiiB, scale) -> { rowStart, cols }
//       the centroid pairs that pass runtime/cluster/pairs.ts's test (radiiA/radiiB null: the plain
//       test), in compressed rows, through the same bucket grid over the cb centroids.
//   maskPairs(keep, Mc, Nc) -> { rowStart, cols }
//       the non-zero entries of a (Mc, Nc) Uint8Array mask, in compressed rows.
//   rangesFromPairs(ri, rj, rowStart, cols) -> { slices_i, redranges_j, slices_j, redranges_i }
//       KeOps's range arrays of kept cluster pairs (ri, rj: the clusters' [start, end) pairs).

#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "validate.h"

namespace keopsc_cluster {

using namespace keopsc_args;

// A Float32Array or Float64Array (else TypeError naming `what`).
Arr floats(Napi::Env env, Napi::Value v, const std::string& what) {
  if (v.IsTypedArray()) {
    napi_typedarray_type t;
    napi_get_typedarray_info(env, v, &t, nullptr, nullptr, nullptr, nullptr);
    if (t == napi_float64_array) return typed(env, v, napi_float64_array, what);
  }
  return typed(env, v, napi_float32_array, what);
}

void expectLen(Napi::Env env, const Arr& a, size_t want, const std::string& what) {
  if (a.length != want) throw Napi::RangeError::New(env, what + " has " + std::to_string(a.length) + " values, expected " + std::to_string(want));
}

// A cloud's arguments (data, n, d) at info[k], info[k + 1], info[k + 2]: data holds n x d floats.
struct Cloud {
  Arr data;
  int64_t n, d;
};
Cloud cloud(Napi::Env env, const Napi::CallbackInfo& info, size_t k, const std::string& pre, const std::string& name) {
  Cloud c{floats(env, info[k], pre + name), 0, 0};
  c.n = count(env, info[k + 1], pre + "n", 2147483647.0);
  c.d = count(env, info[k + 2], pre + "d", 65536);
  expectLength(env, c.data, pre + name, "n x d", c.n, c.d);
  return c;
}

// A new Int32Array holding v.
Napi::Int32Array int32Array(Napi::Env env, const std::vector<int32_t>& v) {
  Napi::Int32Array out = Napi::Int32Array::New(env, v.size());
  if (!v.empty()) std::memcpy(out.Data(), v.data(), v.size() * sizeof(int32_t));
  return out;
}

template <typename T>
double at(const void* p, size_t k) {
  return double(static_cast<const T*>(p)[k]);
}

// ---------------------------------------------------------------------------------------------------
// clusterGrid

template <typename T>
Napi::Value grid(Napi::Env env, const T* data, int64_t n, int64_t d, const double* sizes, int32_t* labels) {
  if (n == 0) return Napi::Int32Array::New(env, 0);
  // per axis, the lowest cell and the span (floor is monotone: the extreme cells come from the extreme
  // coordinates); a bad coordinate anywhere makes the result null
  std::vector<double> cellLo(static_cast<size_t>(d)), span(static_cast<size_t>(d));
  double K = 1;
  for (int64_t a = 0; a < d; a++) {
    double lo = INFINITY, hi = -INFINITY;
    bool nan = false;
    for (int64_t i = 0; i < n; i++) {
      double v = double(data[i * d + a]);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      if (v != v) nan = true;
    }
    double cl = std::floor(lo / sizes[a]), ch = std::floor(hi / sizes[a]);
    if (nan || !std::isfinite(cl) || !std::isfinite(ch)) return env.Null();
    cellLo[size_t(a)] = cl;
    span[size_t(a)] = ch - cl + 1;
    K *= ch - cl + 1;
  }
  std::vector<int32_t> counts;
  if (K <= 4.0 * double(n) + 65536 && K < 2147483648.0) {
    // the linear key of each point's cell (first axis most significant), a counting table over the K
    // cells, and the occupied cells numbered in key order
    std::vector<int32_t> table(static_cast<size_t>(K), 0);
    for (int64_t i = 0; i < n; i++) {
      double key = 0;
      for (int64_t a = 0; a < d; a++) key = key * span[size_t(a)] + (std::floor(double(data[i * d + a]) / sizes[a]) - cellLo[size_t(a)]);
      labels[i] = int32_t(key);
      table[size_t(key)]++;
    }
    int32_t C = 0;
    for (auto& m : table)
      if (m != 0) {
        counts.push_back(m);
        m = C++;
      }
    for (int64_t i = 0; i < n; i++) labels[i] = table[size_t(labels[i])];
  } else {
    // too many cells for a table: sort the points by cell (the cell coordinates as doubles, compared
    // lexicographically) and number the distinct cells in that order
    std::vector<double> cell(static_cast<size_t>(n * d));
    for (int64_t i = 0; i < n; i++)
      for (int64_t a = 0; a < d; a++) cell[size_t(i * d + a)] = std::floor(double(data[i * d + a]) / sizes[a]);
    std::vector<int32_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    auto less = [&](int32_t p, int32_t q) {
      for (int64_t a = 0; a < d; a++) {
        double u = cell[size_t(p * d + a)], v = cell[size_t(q * d + a)];
        if (u != v) return u < v;
      }
      return false;
    };
    std::sort(order.begin(), order.end(), less);
    int32_t label = -1;
    for (int64_t k = 0; k < n; k++) {
      int32_t i = order[size_t(k)];
      if (k == 0 || less(order[size_t(k - 1)], i)) {
        label++;
        counts.push_back(0);
      }
      labels[i] = label;
      counts.back()++;
    }
  }
  return int32Array(env, counts);
}

Napi::Value ClusterGrid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string pre = "clusterGrid: ";
  const auto [data, n, d] = cloud(env, info, 0, pre, "data");
  Arr sizes = typed(env, info[3], napi_float64_array, pre + "sizes");
  Arr labels = typed(env, info[4], napi_int32_array, pre + "labels");
  expectLen(env, sizes, size_t(d), pre + "sizes");
  expectLen(env, labels, size_t(n), pre + "labels");
  const double* s = static_cast<const double*>(sizes.data);
  for (int64_t a = 0; a < d; a++)
    if (!(s[a] > 0) || !std::isfinite(s[a])) throw Napi::RangeError::New(env, pre + "sizes[" + std::to_string(a) + "] must be positive and finite");
  if (d == 0) {
    // one cell holds every point
    std::fill_n(static_cast<int32_t*>(labels.data), size_t(n), 0);
    Napi::Int32Array out = Napi::Int32Array::New(env, n > 0 ? 1 : 0);
    if (n > 0) out[0] = int32_t(n);
    return out;
  }
  int32_t* lab = static_cast<int32_t*>(labels.data);
  return data.type == napi_float64_array ? grid(env, static_cast<const double*>(data.data), n, d, s, lab) : grid(env, static_cast<const float*>(data.data), n, d, s, lab);
}

// ---------------------------------------------------------------------------------------------------
// labelCount, classSums, labelOrder

Napi::Value LabelCount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Arr labels = typed(env, info[0], napi_int32_array, "labelCount: labels");
  int64_t nlab = count(env, info[1], "labelCount: nlab", 2147483647.0, -1);
  const int32_t* lab = static_cast<const int32_t*>(labels.data);
  int64_t max = -1;
  for (size_t k = 0; k < labels.length; k++) {
    if (lab[k] < 0) return Napi::Number::New(env, -1);
    if (lab[k] > max) max = lab[k];
  }
  if (nlab >= 0) return Napi::Number::New(env, max >= nlab ? -1.0 : double(nlab));
  return Napi::Number::New(env, double(max + 1));
}

// Every label in [0, C) (else RangeError).
void checkLabels(Napi::Env env, const int32_t* lab, size_t n, int64_t C, const std::string& what) {
  for (size_t k = 0; k < n; k++)
    if (lab[k] < 0 || lab[k] >= C) throw Napi::RangeError::New(env, what + "[" + std::to_string(k) + "] = " + std::to_string(lab[k]) + " is not in [0, " + std::to_string(C) + ")");
}

template <typename T>
void sums(const T* data, int64_t n, int64_t d, const int32_t* lab, int64_t C, double* s, double* w, int32_t* counts) {
  for (int64_t i = 0; i < n; i++) {
    int64_t c = lab[i];
    w[c] += 1;
    counts[c]++;
    for (int64_t a = 0; a < d; a++) s[c * d + a] += double(data[i * d + a]);
  }
  for (int64_t c = 0; c < C; c++)
    for (int64_t a = 0; a < d; a++) s[c * d + a] /= w[c];
}

Napi::Value ClassSums(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string pre = "classSums: ";
  const auto [data, n, d] = cloud(env, info, 0, pre, "data");
  Arr labels = typed(env, info[3], napi_int32_array, pre + "labels");
  int64_t C = count(env, info[4], pre + "C", 2147483647.0);
  Arr s = typed(env, info[5], napi_float64_array, pre + "sums");
  Arr w = typed(env, info[6], napi_float64_array, pre + "wsum");
  Arr counts = typed(env, info[7], napi_int32_array, pre + "counts");
  expectLen(env, labels, size_t(n), pre + "labels");
  expectLength(env, s, pre + "sums", "C x d", C, d);
  expectLen(env, w, size_t(C), pre + "wsum");
  expectLen(env, counts, size_t(C), pre + "counts");
  const int32_t* lab = static_cast<const int32_t*>(labels.data);
  checkLabels(env, lab, size_t(n), C, pre + "labels");
  double* ps = static_cast<double*>(s.data);
  double* pw = static_cast<double*>(w.data);
  int32_t* pc = static_cast<int32_t*>(counts.data);
  std::fill_n(ps, s.length, 0.0);
  std::fill_n(pw, w.length, 0.0);
  std::fill_n(pc, counts.length, 0);
  if (data.type == napi_float64_array) sums(static_cast<const double*>(data.data), n, d, lab, C, ps, pw, pc);
  else sums(static_cast<const float*>(data.data), n, d, lab, C, ps, pw, pc);
  return env.Undefined();
}

Napi::Value LabelOrder(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string pre = "labelOrder: ";
  Arr labels = typed(env, info[0], napi_int32_array, pre + "labels");
  int64_t C = count(env, info[1], pre + "C", 2147483647.0);
  bool hasCounts = !info[2].IsNull() && !info[2].IsUndefined();
  Arr counts = hasCounts ? typed(env, info[2], napi_int32_array, pre + "counts") : Arr{};
  Arr perm = typed(env, info[3], napi_int32_array, pre + "perm");
  Arr sorted = typed(env, info[4], napi_int32_array, pre + "sorted");
  const size_t n = labels.length;
  if (hasCounts) expectLen(env, counts, size_t(C), pre + "counts");
  expectLen(env, perm, n, pre + "perm");
  expectLen(env, sorted, n, pre + "sorted");
  const int32_t* lab = static_cast<const int32_t*>(labels.data);
  checkLabels(env, lab, n, C, pre + "labels");
  // class starts: from the labels, which also checks given counts (they must be the class sizes)
  std::vector<int64_t> start(static_cast<size_t>(C) + 1, 0);
  for (size_t k = 0; k < n; k++) start[size_t(lab[k]) + 1]++;
  if (hasCounts) {
    const int32_t* pc = static_cast<const int32_t*>(counts.data);
    for (int64_t c = 0; c < C; c++)
      if (pc[c] != start[size_t(c) + 1]) throw Napi::RangeError::New(env, pre + "counts[" + std::to_string(c) + "] is not the size of class " + std::to_string(c));
  }
  for (int64_t c = 0; c < C; c++) start[size_t(c) + 1] += start[size_t(c)];
  int32_t* ps = static_cast<int32_t*>(sorted.data);
  for (int64_t c = 0; c < C; c++) std::fill(ps + start[size_t(c)], ps + start[size_t(c) + 1], int32_t(c));
  int32_t* pp = static_cast<int32_t*>(perm.data);
  for (size_t k = 0; k < n; k++) pp[start[size_t(lab[k])]++] = int32_t(k);
  return env.Undefined();
}

// ---------------------------------------------------------------------------------------------------
// permuteRows, clusterRadii

template <typename T>
void move(const T* src, T* dst, const int32_t* perm, size_t rows, size_t width, bool scatter) {
  if (width == 1) {
    if (scatter)
      for (size_t k = 0; k < rows; k++) dst[perm[k]] = src[k];
    else
      for (size_t k = 0; k < rows; k++) dst[k] = src[perm[k]];
    return;
  }
  for (size_t k = 0; k < rows; k++) {
    const size_t p = size_t(perm[k]) * width, q = k * width;
    if (scatter) std::memcpy(dst + p, src + q, width * sizeof(T));
    else std::memcpy(dst + q, src + p, width * sizeof(T));
  }
}

Napi::Value PermuteRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string pre = "permuteRows: ";
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, pre + "src must be a typed array, got " + describe(env, info[0]));
  napi_typedarray_type type;
  napi_get_typedarray_info(env, info[0], &type, nullptr, nullptr, nullptr, nullptr);
  Arr src = typed(env, info[0], type, pre + "src");
  int64_t width = count(env, info[1], pre + "width", 2147483647.0);
  Arr perm = typed(env, info[2], napi_int32_array, pre + "perm");
  Arr dst = typed(env, info[3], type, pre + "dst");
  if (!info[4].IsBoolean()) throw Napi::TypeError::New(env, pre + "scatter must be a boolean, got " + describe(env, info[4]));
  const bool scatter = info[4].As<Napi::Boolean>().Value();
  const size_t rows = perm.length;
  if (width == 0 ? src.length != 0 : src.length % size_t(width) != 0) throw Napi::RangeError::New(env, pre + "src is not a whole number of rows of " + std::to_string(width));
  const size_t srcRows = width == 0 ? 0 : src.length / size_t(width);
  expectLength(env, dst, pre + "dst", "perm.length x width", int64_t(rows), width);
  // gather reads src rows perm[k]; scatter writes dst rows perm[k] and reads src rows k
  const size_t bound = scatter ? rows : srcRows;
  if (scatter && srcRows != rows && width != 0) throw Napi::RangeError::New(env, pre + "src has " + std::to_string(srcRows) + " rows, expected perm.length = " + std::to_string(rows));
  const int32_t* pp = static_cast<const int32_t*>(perm.data);
  if (width != 0)
    for (size_t k = 0; k < rows; k++)
      if (pp[k] < 0 || size_t(pp[k]) >= bound) throw Napi::RangeError::New(env, pre + "perm[" + std::to_string(k) + "] = " + std::to_string(pp[k]) + " is not a row index in [0, " + std::to_string(bound) + ")");
  if (width == 0 || rows == 0) return env.Undefined();
  switch (elementBytes(type)) {
    case 1: move(static_cast<const uint8_t*>(src.data), static_cast<uint8_t*>(dst.data), pp, rows, size_t(width), scatter); break;
    case 2: move(static_cast<const uint16_t*>(src.data), static_cast<uint16_t*>(dst.data), pp, rows, size_t(width), scatter); break;
    case 4: move(static_cast<const uint32_t*>(src.data), static_cast<uint32_t*>(dst.data), pp, rows, size_t(width), scatter); break;
    default: move(static_cast<const uint64_t*>(src.data), static_cast<uint64_t*>(dst.data), pp, rows, size_t(width), scatter); break;
  }
  return env.Undefined();
}

template <typename T>
double radii(const T* rows, int64_t n, int64_t d, const int32_t* lab, const double* cen, double* r) {
  double maxAbs = 0;
  for (int64_t i = 0; i < n; i++) {
    const int64_t c = lab[i];
    double s = 0;
    for (int64_t a = 0; a < d; a++) {
      const double v = double(rows[i * d + a]);
      const double diff = v - cen[c * d + a];
      s += diff * diff;
      if (std::fabs(v) > maxAbs) maxAbs = std::fabs(v);
    }
    const double q = std::sqrt(s);
    if (q > r[c]) r[c] = q;
  }
  return maxAbs;
}

Napi::Value ClusterRadii(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string pre = "clusterRadii: ";
  const auto [rows, n, d] = cloud(env, info, 0, pre, "rows");
  Arr labels = typed(env, info[3], napi_int32_array, pre + "labels");
  Arr cen = typed(env, info[4], napi_float64_array, pre + "centroids");
  Arr r = typed(env, info[5], napi_float64_array, pre + "radii");
  const int64_t C = int64_t(r.length);
  expectLen(env, labels, size_t(n), pre + "labels");
  expectLength(env, cen, pre + "centroids", "C x d", C, d);
  const int32_t* lab = static_cast<const int32_t*>(labels.data);
  checkLabels(env, lab, size_t(n), C, pre + "labels");
  const double* pc = static_cast<const double*>(cen.data);
  double* pr = static_cast<double*>(r.data);
  const double m = rows.type == napi_float64_array ? radii(static_cast<const double*>(rows.data), n, d, lab, pc, pr) : radii(static_cast<const float*>(rows.data), n, d, lab, pc, pr);
  return Napi::Number::New(env, m);
}

// ---------------------------------------------------------------------------------------------------
// closeClusters, maskPairs, rangesFromPairs (runtime/cluster/pairs.ts)

// Math.max of two doubles (NaN wins, as in JavaScript).
inline double jsMax(double a, double b) { return a != a || b != b ? NAN : (a > b ? a : b); }
inline double jsMin(double a, double b) { return a != a || b != b ? NAN : (a < b ? a : b); }

// The coordinates of a Float32Array/Float64Array as doubles (exact).
std::vector<double> doubles(const Arr& a) {
  std::vector<double> out(a.length);
  for (size_t k = 0; k < a.length; k++) out[k] = a.type == napi_float64_array ? at<double>(a.data, k) : at<float>(a.data, k);
  return out;
}

Napi::Object pairsObject(Napi::Env env, const std::vector<int32_t>& rowStart, const std::vector<int32_t>& cols) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("rowStart", int32Array(env, rowStart));
  o.Set("cols", int32Array(env, cols));
  return o;
}

Napi::Value CloseClusters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string pre = "closeClusters: ";
  Arr caA = floats(env, info[0], pre + "ca");
  const int64_t Ca = count(env, info[1], pre + "Ca", 2147483646.0);
  Arr cbA = floats(env, info[2], pre + "cb");
  const int64_t Cb = count(env, info[3], pre + "Cb", 2147483647.0);
  const int64_t d = count(env, info[4], pre + "d", 65536);
  if (!info[5].IsNumber()) throw Napi::TypeError::New(env, pre + "cutoff must be a number, got " + describe(env, info[5]));
  const double cutoff = info[5].As<Napi::Number>().DoubleValue();
  const bool radii = !info[6].IsNull() && !info[6].IsUndefined();
  Arr rA = radii ? typed(env, info[6], napi_float64_array, pre + "radiiA") : Arr{};
  Arr rB = radii ? typed(env, info[7], napi_float64_array, pre + "radiiB") : Arr{};
  if (radii && !info[8].IsNumber()) throw Napi::TypeError::New(env, pre + "scale must be a number, got " + describe(env, info[8]));
  const double scale = radii ? info[8].As<Napi::Number>().DoubleValue() : 0;
  expectLength(env, caA, pre + "ca", "Ca x d", Ca, d);
  expectLength(env, cbA, pre + "cb", "Cb x d", Cb, d);
  if (radii) {
    expectLen(env, rA, size_t(Ca), pre + "radiiA");
    expectLen(env, rB, size_t(Cb), pre + "radiiB");
  }
  const std::vector<double> ca = doubles(caA), cb = doubles(cbA);
  const double* radiiA = static_cast<const double*>(rA.data);
  const double* radiiB = static_cast<const double*>(rB.data);
  std::vector<int32_t> rowStart(static_cast<size_t>(Ca) + 1, 0), cols;
  cols.reserve(size_t(4 * Ca));
  const double cut2 = cutoff * cutoff;
  auto testRow = [&](int64_t a, const int32_t* cand, size_t m) {
    const double ra = radii ? radiiA[a] : 0;
    for (size_t q = 0; q < m; q++) {
      const int32_t b = cand[q];
      double s = 0;
      for (int64_t k = 0; k < d; k++) {
        const double diff = ca[size_t(a * d + k)] - cb[size_t(b * d + k)];
        s += diff * diff;
      }
      bool ok;
      if (!radii) ok = s < cut2;
      else {
        const double bound = cutoff + ra + radiiB[b];
        ok = std::sqrt(s) < bound + 1e-12 * (bound + scale);
      }
      if (ok) cols.push_back(b);
    }
    if (cols.size() > 2147483647u) throw Napi::RangeError::New(env, pre + "more than 2^31 - 1 kept pairs");
  };
  double rMaxB = 0;
  if (radii)
    for (int64_t b = 0; b < Cb; b++) rMaxB = jsMax(rMaxB, radiiB[b]);
  auto half = [&](int64_t a) {
    if (!radii) return cutoff;
    const double t = cutoff + radiiA[a] + rMaxB;
    return t + 1e-12 * (t + scale);
  };
  bool finiteThresholds = std::isfinite(cutoff) && std::isfinite(rMaxB);
  if (radii)
    for (int64_t a = 0; a < Ca && finiteThresholds; a++) finiteThresholds = std::isfinite(radiiA[a]);
  if (!finiteThresholds || Cb <= 16 || d == 0) {
    std::vector<int32_t> all(static_cast<size_t>(Cb));
    std::iota(all.begin(), all.end(), 0);
    for (int64_t a = 0; a < Ca; a++) {
      testRow(a, all.data(), all.size());
      rowStart[size_t(a) + 1] = int32_t(cols.size());
    }
    return pairsObject(env, rowStart, cols);
  }
  // the finite b centroids and their bounding box
  std::vector<double> lo(static_cast<size_t>(d), INFINITY), hi(static_cast<size_t>(d), -INFINITY);
  std::vector<uint8_t> valid(static_cast<size_t>(Cb));
  double absMax = 0;
  for (int64_t b = 0; b < Cb; b++) {
    bool ok = true;
    for (int64_t k = 0; k < d; k++)
      if (!std::isfinite(cb[size_t(b * d + k)])) ok = false;
    valid[size_t(b)] = ok;
    if (ok)
      for (int64_t k = 0; k < d; k++) {
        const double v = cb[size_t(b * d + k)];
        if (v < lo[size_t(k)]) lo[size_t(k)] = v;
        if (v > hi[size_t(k)]) hi[size_t(k)] = v;
        absMax = jsMax(absMax, std::fabs(v));
      }
  }
  if (!(lo[0] <= hi[0])) return pairsObject(env, rowStart, {});  // no finite b centroid
  double extent = 0, meanHalf = 0;
  for (int64_t k = 0; k < d; k++) extent = jsMax(extent, hi[size_t(k)] - lo[size_t(k)]);
  for (int64_t a = 0; a < Ca; a++) meanHalf += half(a) / double(Ca);
  for (int64_t a = 0; a < Ca; a++)
    for (int64_t k = 0; k < d; k++)
      if (std::isfinite(ca[size_t(a * d + k)])) absMax = jsMax(absMax, std::fabs(ca[size_t(a * d + k)]));
  double H = jsMax(jsMax(meanHalf, extent * 0x1p-20), std::numeric_limits<double>::denorm_min());
  std::vector<double> G(static_cast<size_t>(d));
  for (;;) {
    double total = 1;
    for (int64_t k = 0; k < d; k++) total *= G[size_t(k)] = std::floor((hi[size_t(k)] - lo[size_t(k)]) / H) + 1;
    if (total <= 2.0 * double(Cb) + 64) break;
    H *= 2;
  }
  double bucketsD = 1;
  for (int64_t k = 0; k < d; k++) bucketsD *= G[size_t(k)];
  const size_t buckets = size_t(bucketsD);
  // counting sort of the valid b by bucket (b ascending within a bucket)
  std::vector<int64_t> bucketOf(static_cast<size_t>(Cb), 0);
  std::vector<int32_t> start(buckets + 1, 0);
  for (int64_t b = 0; b < Cb; b++) {
    if (!valid[size_t(b)]) continue;
    double key = 0;
    for (int64_t k = 0; k < d; k++) key = key * G[size_t(k)] + jsMin(G[size_t(k)] - 1, std::floor((cb[size_t(b * d + k)] - lo[size_t(k)]) / H));
    bucketOf[size_t(b)] = int64_t(key);
    start[size_t(key) + 1]++;
  }
  for (size_t q = 0; q < buckets; q++) start[q + 1] += start[q];
  std::vector<int32_t> list(static_cast<size_t>(start[buckets])), fillPos(start.begin(), start.end() - 1), allValid;
  allValid.reserve(list.size());
  for (int64_t b = 0; b < Cb; b++)
    if (valid[size_t(b)]) {
      list[size_t(fillPos[size_t(bucketOf[size_t(b)])]++)] = int32_t(b);
      allValid.push_back(int32_t(b));
    }
  // rows: visit the buckets of the box c_a +- t_a
  std::vector<int64_t> boxLo(static_cast<size_t>(d)), boxHi(static_cast<size_t>(d)), atB(static_cast<size_t>(d));
  std::vector<int32_t> cand(static_cast<size_t>(Cb));
  for (int64_t a = 0; a < Ca; a++) {
    bool empty = false;
    double volume = 1;
    const double t = half(a) * (1 + 1e-9) + 1e-9 * (absMax + H);
    for (int64_t k = 0; k < d && !empty; k++) {
      const double c = ca[size_t(a * d + k)];
      if (!std::isfinite(c)) empty = true;
      const double l = jsMax(0, std::floor((c - t - lo[size_t(k)]) / H));
      const double h = jsMin(G[size_t(k)] - 1, std::floor((c + t - lo[size_t(k)]) / H));
      if (!(l <= h)) empty = true;
      if (!empty) {
        boxLo[size_t(k)] = int64_t(l);
        boxHi[size_t(k)] = int64_t(h);
      }
      volume *= h - l + 1;
    }
    if (!empty) {
      if (volume >= double(list.size())) testRow(a, allValid.data(), allValid.size());
      else {
        size_t m = 0;
        atB = boxLo;
        for (;;) {
          int64_t key = 0;
          for (int64_t k = 0; k < d; k++) key = key * int64_t(G[size_t(k)]) + atB[size_t(k)];
          for (int32_t q = start[size_t(key)]; q < start[size_t(key) + 1]; q++) cand[m++] = list[size_t(q)];
          int64_t k = d - 1;
          while (k >= 0 && atB[size_t(k)] == boxHi[size_t(k)]) {
            atB[size_t(k)] = boxLo[size_t(k)];
            k--;
          }
          if (k < 0) break;
          atB[size_t(k)]++;
        }
        std::sort(cand.begin(), cand.begin() + std::ptrdiff_t(m));
        testRow(a, cand.data(), m);
      }
    }
    rowStart[size_t(a) + 1] = int32_t(cols.size());
  }
  return pairsObject(env, rowStart, cols);
}

Napi::Value MaskPairs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string pre = "maskPairs: ";
  Arr keep = typed(env, info[0], napi_uint8_array, pre + "keep");
  const int64_t Mc = count(env, info[1], pre + "Mc", 2147483646.0);
  const int64_t Nc = count(env, info[2], pre + "Nc", 2147483647.0);
  expectLength(env, keep, pre + "keep", "Mc x Nc", Mc, Nc);
  const uint8_t* k = static_cast<const uint8_t*>(keep.data);
  std::vector<int32_t> rowStart(static_cast<size_t>(Mc) + 1, 0), cols;
  for (int64_t a = 0; a < Mc; a++) {
    const uint8_t* row = k + a * Nc;
    for (int64_t b = 0; b < Nc; b++)
      if (row[b] != 0) {
        if (cols.size() >= 2147483647u) throw Napi::RangeError::New(env, pre + "more than 2^31 - 1 kept pairs");
        cols.push_back(int32_t(b));
      }
    rowStart[size_t(a) + 1] = int32_t(cols.size());
  }
  return pairsObject(env, rowStart, cols);
}

Napi::Value RangesFromPairs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string pre = "rangesFromPairs: ";
  Arr ri = typed(env, info[0], napi_int32_array, pre + "ri");
  Arr rj = typed(env, info[1], napi_int32_array, pre + "rj");
  Arr rs = typed(env, info[2], napi_int32_array, pre + "rowStart");
  Arr cs = typed(env, info[3], napi_int32_array, pre + "cols");
  if (ri.length % 2 != 0 || rj.length % 2 != 0) throw Napi::RangeError::New(env, pre + "ri and rj must hold [start, end) pairs");
  const size_t Mc = ri.length / 2, Nc = rj.length / 2, total = cs.length;
  expectLen(env, rs, Mc + 1, pre + "rowStart");
  const int32_t* rowStart = static_cast<const int32_t*>(rs.data);
  const int32_t* cols = static_cast<const int32_t*>(cs.data);
  if (rowStart[0] != 0 || size_t(rowStart[Mc]) != total) throw Napi::RangeError::New(env, pre + "rowStart must run from 0 to cols.length");
  for (size_t a = 0; a < Mc; a++)
    if (rowStart[a + 1] < rowStart[a]) throw Napi::RangeError::New(env, pre + "rowStart must be non-decreasing");
  for (size_t q = 0; q < total; q++)
    if (cols[q] < 0 || size_t(cols[q]) >= Nc) throw Napi::RangeError::New(env, pre + "cols[" + std::to_string(q) + "] is not a cluster of rj");
  const int32_t* pi = static_cast<const int32_t*>(ri.data);
  const int32_t* pj = static_cast<const int32_t*>(rj.data);
  Napi::Int32Array slicesI = Napi::Int32Array::New(env, Mc), redJ = Napi::Int32Array::New(env, 2 * total);
  Napi::Int32Array slicesJ = Napi::Int32Array::New(env, Nc), redI = Napi::Int32Array::New(env, 2 * total);
  if (Mc > 0) std::memcpy(slicesI.Data(), rowStart + 1, Mc * sizeof(int32_t));
  std::vector<int32_t> colPos(Nc, 0);
  int32_t* rJ = redJ.Data();
  for (size_t q = 0; q < total; q++) {
    const size_t b = size_t(cols[q]);
    rJ[2 * q] = pj[2 * b];
    rJ[2 * q + 1] = pj[2 * b + 1];
    colPos[b]++;
  }
  int32_t* sJ = slicesJ.Data();
  for (size_t b = 0, acc = 0; b < Nc; b++) {
    const int32_t c = colPos[b];
    colPos[b] = int32_t(acc);
    acc += size_t(c);
    sJ[b] = int32_t(acc);
  }
  int32_t* rI = redI.Data();
  for (size_t a = 0; a < Mc; a++)
    for (int32_t q = rowStart[a]; q < rowStart[a + 1]; q++) {
      const int32_t p = colPos[size_t(cols[q])]++;
      rI[2 * p] = pi[2 * a];
      rI[2 * p + 1] = pi[2 * a + 1];
    }
  Napi::Object o = Napi::Object::New(env);
  o.Set("slices_i", slicesI);
  o.Set("redranges_j", redJ);
  o.Set("slices_j", slicesJ);
  o.Set("redranges_i", redI);
  return o;
}

}  // namespace keopsc_cluster

void keopscRegisterCluster(Napi::Env env, Napi::Object exports) {
  using namespace keopsc_cluster;
  exports.Set("clusterGrid", Napi::Function::New(env, ClusterGrid, "clusterGrid"));
  exports.Set("labelCount", Napi::Function::New(env, LabelCount, "labelCount"));
  exports.Set("classSums", Napi::Function::New(env, ClassSums, "classSums"));
  exports.Set("labelOrder", Napi::Function::New(env, LabelOrder, "labelOrder"));
  exports.Set("permuteRows", Napi::Function::New(env, PermuteRows, "permuteRows"));
  exports.Set("clusterRadii", Napi::Function::New(env, ClusterRadii, "clusterRadii"));
  exports.Set("closeClusters", Napi::Function::New(env, CloseClusters, "closeClusters"));
  exports.Set("maskPairs", Napi::Function::New(env, MaskPairs, "maskPairs"));
  exports.Set("rangesFromPairs", Napi::Function::New(env, RangesFromPairs, "rangesFromPairs"));
}
