#include "calibrate/cpu_backend.hpp"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>

#include <Eigen/Dense>

namespace scaleplan {

double steady_clock_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double thread_cpu_clock_s() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0)
    return "unknown host";
  return name;
}

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos && colon + 2 <= line.size())
        return line.substr(colon + 2);
    }
  }
  return "unknown CPU";
}

Environment CpuBackend::environment() const {
  Environment e;
  e.tool = "scaleplan-bench-cpu " SCALEPLAN_VERSION;
  e.backend = "cpu";
  e.device = cpu_model_name();
  e.blas = "Eigen " + std::to_string(EIGEN_WORLD_VERSION) + "." +
           std::to_string(EIGEN_MAJOR_VERSION) + "." + std::to_string(EIGEN_MINOR_VERSION) + ", " +
           std::to_string(Eigen::nbThreads()) + " thread(s)";
  e.hosts = {host_name()};
  return e;
}

std::optional<std::string> CpuBackend::unsupported(Dtype dtype) const {
  if (dtype == Dtype::fp32)
    return std::nullopt;
  return "the CPU backend times fp32 only (Eigen has no fast " + std::string(to_string(dtype)) +
         " GEMM)";
}

namespace {

// One trial of `body` on the clock the timing options name.
template <class Body>
double time_calls(const TimingOptions& timing, Body&& body) {
  if (timing.clock == SampleClock::thread_cpu)
    return time_trial(timing, thread_cpu_clock_s, body);
  return time_trial(timing, steady_clock_s, body);
}

// Reading one element of the result after timing keeps the compiler from dropping the work.
volatile float sink = 0;

}  // namespace

double CpuBackend::gemm_time_s(Dtype dtype, const GemmDims& d, const TimingOptions& timing) {
  if (auto why = unsupported(dtype))
    throw std::invalid_argument(*why);
  const auto m = static_cast<Eigen::Index>(d.m), n = static_cast<Eigen::Index>(d.n),
             k = static_cast<Eigen::Index>(d.k);
  std::vector<Eigen::MatrixXf> a, b, c;
  for (std::int64_t i = 0; i < d.batch; ++i) {
    a.push_back(Eigen::MatrixXf::Random(m, k));
    b.push_back(Eigen::MatrixXf::Random(k, n));
    c.push_back(Eigen::MatrixXf::Zero(m, n));
  }
  const double t = time_calls(timing, [&] {
    for (std::size_t i = 0; i < a.size(); ++i)
      c[i].noalias() = a[i] * b[i];
  });
  sink = c[0](0, 0);
  return t;
}

void CpuBackend::reserve_streams(std::int64_t elements) {
  const auto n = static_cast<std::size_t>(elements);
  if (a_.size() >= n)
    return;
  a_.assign(n, 0.0f);
  b_.resize(n);
  c_.resize(n);
  Eigen::Map<Eigen::VectorXf>(b_.data(), static_cast<Eigen::Index>(n)).setRandom();
  Eigen::Map<Eigen::VectorXf>(c_.data(), static_cast<Eigen::Index>(n)).setRandom();
}

double CpuBackend::copy_time_s(std::int64_t elements, const TimingOptions& timing) {
  reserve_streams(elements);
  const auto e = static_cast<Eigen::Index>(elements);
  Eigen::Map<Eigen::VectorXf> a(a_.data(), e);
  const Eigen::Map<const Eigen::VectorXf> b(b_.data(), e);
  const double t = time_calls(timing, [&] { a = b; });
  sink = a(0);
  return t;
}

double CpuBackend::triad_time_s(std::int64_t elements, const TimingOptions& timing) {
  reserve_streams(elements);
  const auto e = static_cast<Eigen::Index>(elements);
  Eigen::Map<Eigen::VectorXf> a(a_.data(), e);
  const Eigen::Map<const Eigen::VectorXf> b(b_.data(), e), c(c_.data(), e);
  const float scalar = 3;
  const double t = time_calls(timing, [&] { a = b + scalar * c; });
  sink = a(0);
  return t;
}

double CpuBackend::launch_time_s(const TimingOptions& timing) {
  Eigen::MatrixXf a = Eigen::MatrixXf::Random(1, 1), b = Eigen::MatrixXf::Random(1, 1);
  Eigen::MatrixXf c(1, 1);
  const double t = time_calls(timing, [&] {
    c.noalias() = a * b;
    a(0, 0) = c(0, 0) * 0.5f;
  });
  sink = c(0, 0);
  return t;
}

}  // namespace scaleplan
