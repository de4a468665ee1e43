// CoreShare: holds a CPU rank that shares its host's cores with more ranks than there are cores
// (mpirun --oversubscribe) to its share of a core, as if it were a device of that size. The
// prediction takes each rank for a device of its own, calibrated with as many benchmark processes
// busy at once as the plan has ranks, each getting its share (docs/execute.md, "The closed loop on
// this machine"). Without the hold, a rank that waits (a pipeline stage in its bubble) yields its
// core, and the ranks still computing run up to ranks / cores times faster than calibrated: the
// 4-rank tp 2 · pp 2 plan on 2 cores measured 5 to 26 % faster than predicted.
//
// A token bucket: the rank earns `share` seconds of compute per second of the step, banks at most
// max_bank_s of it (a rank that waited may not catch up at a whole core), and spends the CPU time
// of each kernel. No clock of its own: the caller passes the times, so that it tests without one.
#pragma once

#include <algorithm>

namespace scaleplan {

class CoreShare {
 public:
  static constexpr double max_bank_s = 1e-3;

  // `share` in (0, 1]: 1 holds nothing back.
  explicit CoreShare(double share) : share_(share) {}
  double share() const { return share_; }
  // At the start of a step (`now_s` on the caller's clock): nothing banked.
  void restart(double now_s) {
    bank_s_ = 0;
    last_s_ = now_s;
  }
  // Seconds to wait, from `now_s`, before the next kernel may start (0: it may start now).
  double wait_s(double now_s) {
    if (share_ >= 1)
      return 0;
    bank_s_ = std::min(max_bank_s, bank_s_ + share_ * (now_s - last_s_));
    last_s_ = now_s;
    return bank_s_ >= 0 ? 0 : -bank_s_ / share_;
  }
  // A kernel took `cpu_s` seconds of this thread's CPU time.
  void spent(double cpu_s) {
    if (share_ < 1)
      bank_s_ -= cpu_s;
  }

 private:
  double share_ = 1;
  double bank_s_ = 0;
  double last_s_ = 0;
};

}  // namespace scaleplan
