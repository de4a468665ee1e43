// Matches communication ops into transactions: a collective's ops across the listed members of
// its group, by their order within the group; a send with its receive, by their order between
// the two ranks. Matching is by dense position, computed from the plan up front: joining an op is
// O(1), with no search and no hashing.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "sim/plan/plan.hpp"

namespace scaleplan {

// An op of a transaction: `rank` indexes Plan::ranks, `op` that rank's program.
struct Participant {
  int rank = 0;
  std::uint32_t op = 0;
  friend bool operator<(const Participant& a, const Participant& b) {
    return a.rank != b.rank ? a.rank < b.rank : a.op < b.op;
  }
};

class TransactionMatcher {
 public:
  // The plan must pass validate_plan and outlive the matcher.
  explicit TransactionMatcher(const Plan& plan);

  // Adds communication op `op` of `rank` to its transaction. Returns the transaction's id when
  // this was the last participant it waited for (ids are reused once released).
  std::optional<std::uint32_t> join(int rank, std::uint32_t op);
  // A complete transaction's participants, ordered by rank and op whatever order they joined in.
  const std::vector<Participant>& participants(std::uint32_t id) const {
    return transactions_[id].participants;
  }
  // Frees the transaction's id for reuse and returns its participants.
  std::vector<Participant> release(std::uint32_t id);

 private:
  struct Transaction {
    std::vector<Participant> participants;
    std::size_t expected = 0;
  };
  static constexpr std::uint32_t none = UINT32_MAX;

  std::uint32_t allocate();

  // Where an op waits: channels are the groups, then each (sender, receiver) pair; a channel
  // holds one slot per position in its order, channel c the slots from channel_begin_[c].
  std::vector<std::vector<std::uint32_t>> slot_;  // per rank, per op (communication ops only)
  std::vector<std::uint32_t> channel_begin_;
  std::vector<std::uint32_t> expected_;  // per channel: the participants of each transaction
  std::vector<std::uint32_t> open_;      // per slot: the transaction waiting there, or none
  std::vector<Transaction> transactions_;
  std::vector<std::uint32_t> free_;
};

}  // namespace scaleplan
