// Matches communication ops into transactions: a collective's ops across the listed members of
// its group, by their order within the group; a send with its receive, by their order between
// the two ranks. An op's key is its channel (its group, or its sender and receiver) and its
// order there among its rank's ops, in program order; the transactions still waiting for
// participants are found by key in a small open-addressing table. Joining an op is O(1)
// expected.
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

  // For each op of program `rank` (compute ops: 0), its order on its channel among the rank's
  // ops; ranks that share a program (RankProgram::shares) get the same orders. The caller keeps
  // each beside the op's own state, where it is at hand when the op joins (computing it per rank,
  // as the caller prepares that rank, reads the plan once).
  std::vector<std::uint32_t> orders(int rank) const;

  // Adds communication op `op` of program `rank`, whose order orders() gave, to its
  // transaction. Returns the transaction's id when this was the last participant it waited for
  // (ids are reused once released).
  std::optional<std::uint32_t> join(int rank, std::uint32_t op, std::uint32_t order);
  // A complete transaction's participants, ordered by rank and op whatever order they joined in.
  const std::vector<Participant>& participants(std::uint32_t id) const {
    return transactions_[id].participants;
  }
  // Frees the transaction's id for reuse and returns its participants.
  std::vector<Participant> release(std::uint32_t id);

 private:
  static constexpr std::uint32_t none = UINT32_MAX;

  // A channel and an order on it. Channels: a group as (1 << 63) | group; a message's sender
  // and receiver ranks as (sender << 32) | receiver.
  struct Key {
    std::uint64_t channel = 0;
    std::uint32_t order = 0;
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct Transaction {
    std::vector<Participant> participants;
    std::size_t expected = 0;
  };

  // The transactions waiting for participants, by key: open addressing with linear probing,
  // at most half full, so that it stays small and in cache.
  class WaitingTable {
   public:
    // The transaction waiting at `key`; `none` if there is none.
    std::uint32_t find(const Key& key) const;
    void insert(const Key& key, std::uint32_t transaction);
    void erase(const Key& key);

   private:
    struct Entry {
      Key key;
      std::uint32_t transaction = none;  // none: an empty entry
    };
    std::size_t home(const Key& key) const;
    void grow();
    std::vector<Entry> entries_ = std::vector<Entry>(64);
    std::size_t size_ = 0;
  };

  // The key of op `op` of program `index` (an index into Plan::ranks).
  Key key_of(std::size_t index, const Op& op, std::uint32_t order) const;
  std::uint32_t allocate();

  const Plan& plan_;
  std::vector<std::uint32_t> listed_members_;  // per group: the participants of its collectives
  WaitingTable waiting_;
  std::vector<Transaction> transactions_;
  std::vector<std::uint32_t> free_;
};

}  // namespace scaleplan
