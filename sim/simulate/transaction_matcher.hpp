// Matches communication ops into transactions: a collective's ops across the listed members of
// its group, by their order within the group; a send with its receive, by their order between
// the two ranks. Each op's place (its slot: the channel, a group or a sender and receiver, and
// its order there, as one dense number) is computed from the plan up front; the transactions
// still waiting for participants are found by slot in a small open-addressing table. Joining
// an op is O(1) expected.
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

  // Each communication op's slot, by rank and op (`none` for compute ops), moved out: the caller
  // keeps each beside the op's own state, where it is at hand when the op joins.
  std::vector<std::vector<std::uint32_t>> take_slots() { return std::move(slot_); }

  // Adds the communication op at `slot` (op `participant.op` of rank `participant.rank`) to its
  // transaction. Returns the transaction's id when this was the last participant it waited for
  // (ids are reused once released).
  std::optional<std::uint32_t> join(std::uint32_t slot, Participant participant);
  // A complete transaction's participants, ordered by rank and op whatever order they joined in.
  const std::vector<Participant>& participants(std::uint32_t id) const {
    return transactions_[id].participants;
  }
  // Frees the transaction's id for reuse and returns its participants.
  std::vector<Participant> release(std::uint32_t id);

  static constexpr std::uint32_t none = UINT32_MAX;

 private:
  struct Transaction {
    std::vector<Participant> participants;
    std::size_t expected = 0;
  };

  // The transactions waiting for participants, by slot: open addressing with linear probing,
  // sized to twice the most ever waiting at once, so that it stays in cache.
  class WaitingTable {
   public:
    // The transaction waiting at `slot`; `none` if there is none.
    std::uint32_t find(std::uint32_t slot) const;
    void insert(std::uint32_t slot, std::uint32_t transaction);
    void erase(std::uint32_t slot);

   private:
    struct Entry {
      std::uint32_t slot = none;
      std::uint32_t transaction = none;
    };
    std::size_t home(std::uint32_t slot) const;
    void grow();
    std::vector<Entry> entries_ = std::vector<Entry>(64);
    std::size_t size_ = 0;
  };

  std::uint32_t allocate();

  // Where an op waits: channels are the groups, then each (sender, receiver) pair; a channel
  // holds one slot per position in its order, channel c the slots from channel_begin_[c].
  std::vector<std::vector<std::uint32_t>> slot_;  // per rank, per op, until taken
  std::vector<std::uint32_t> channel_begin_;
  std::vector<std::uint32_t> expected_;  // per channel: the participants of each transaction
  WaitingTable waiting_;
  std::vector<Transaction> transactions_;
  std::vector<std::uint32_t> free_;
};

}  // namespace scaleplan
