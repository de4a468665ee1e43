// Work shared between threads the way the planner and the sweeps share it: each thread takes the
// next item when it is done with its last (dynamic distribution, so that one slow item holds up
// only its own thread), the calling thread working as worker 0.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace scaleplan {

// `requested` threads, or every core (std::thread::hardware_concurrency) for 0 or less.
inline int worker_threads(int requested) {
  return requested > 0 ? requested
                       : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

// Calls body(i, worker) for every i in [0, count) on min(threads, count) threads, worker being
// 0 on the calling thread and 1, 2, ... on the others; stops taking items once stop() is true.
// The first exception a body throws stops the others taking items and is rethrown here once all
// have returned. Complexity: one atomic increment per item.
template <class Body, class Stop>
void parallel_for(std::size_t count, int threads, Body&& body, Stop&& stop) {
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  const auto worker = [&](int id) {
    for (;;) {
      if (failed.load() || stop())
        return;
      const std::size_t i = next.fetch_add(1);
      if (i >= count)
        return;
      try {
        body(i, id);
      } catch (...) {
        const std::lock_guard lock(error_mutex);
        if (!error)
          error = std::current_exception();
        failed = true;
      }
    }
  };
  const int helpers_wanted = static_cast<int>(
      std::min<std::size_t>(static_cast<std::size_t>(std::max(1, threads)), count));
  std::vector<std::thread> helpers;
  for (int t = 1; t < helpers_wanted; ++t)
    helpers.emplace_back(worker, t);
  worker(0);
  for (std::thread& t : helpers)
    t.join();
  if (error)
    std::rethrow_exception(error);
}

template <class Body>
void parallel_for(std::size_t count, int threads, Body&& body) {
  parallel_for(count, threads, std::forward<Body>(body), [] { return false; });
}

// make(i) for every i in [0, count) on `threads` threads (every core for 0 or less), the results
// in index order. Every item runs even when one throws; then the exception of the lowest index is
// rethrown, so that the same inputs give the same error whatever the threads' timing.
template <class Make>
auto parallel_map(std::size_t count, int threads, Make&& make) {
  using Result = decltype(make(std::size_t{0}));
  std::vector<std::optional<Result>> results(count);
  std::vector<std::exception_ptr> errors(count);
  parallel_for(count, worker_threads(threads), [&](std::size_t i, int) {
    try {
      results[i].emplace(make(i));
    } catch (...) {
      errors[i] = std::current_exception();
    }
  });
  for (const std::exception_ptr& error : errors) {
    if (error)
      std::rethrow_exception(error);
  }
  std::vector<Result> ordered;
  ordered.reserve(count);
  for (std::optional<Result>& r : results)
    ordered.push_back(std::move(*r));
  return ordered;
}

}  // namespace scaleplan
