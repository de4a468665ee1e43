#include "sim/simulate/transaction_matcher.hpp"

#include <algorithm>
#include <unordered_map>

namespace scaleplan {

TransactionMatcher::TransactionMatcher(const Plan& plan) {
  std::vector<int> slot_of_rank(plan.world_size(), -1);
  for (std::size_t i = 0; i < plan.ranks.size(); ++i)
    slot_of_rank[plan.ranks[i].rank] = static_cast<int>(i);
  // Channels: the groups first, each expecting its listed members; then the message pairs in
  // order of first appearance, each expecting a sender and a receiver.
  const auto groups = static_cast<std::uint32_t>(plan.groups.size());
  expected_.assign(groups, 0);
  for (std::uint32_t g = 0; g < groups; ++g) {
    for (int member : plan.groups[g].ranks)
      expected_[g] += slot_of_rank[member] >= 0 ? 1 : 0;
  }
  std::unordered_map<std::uint64_t, std::uint32_t> pair_channel;
  auto channel_of = [&](int rank, const Op& op) -> std::uint32_t {
    if (op.kind == OpKind::collective)
      return op.group;
    const bool send = op.kind == OpKind::send;
    const auto from = static_cast<std::uint32_t>(send ? rank : op.peer);
    const auto to = static_cast<std::uint32_t>(send ? op.peer : rank);
    const auto [it, inserted] = pair_channel.try_emplace(
        (std::uint64_t{from} << 32) | to, static_cast<std::uint32_t>(expected_.size()));
    if (inserted)
      expected_.push_back(2);
    return it->second;
  };
  // First each op's channel, and each channel's length: the most ops any rank puts on it.
  slot_.resize(plan.ranks.size());
  std::vector<std::uint32_t> length;
  std::vector<std::uint32_t> count;
  for (std::size_t r = 0; r < plan.ranks.size(); ++r) {
    const RankProgram& program = plan.ranks[r];
    slot_[r].assign(program.ops.size(), none);
    count.assign(expected_.size(), 0);
    for (std::size_t i = 0; i < program.ops.size(); ++i) {
      const Op& op = program.ops[i];
      if (op.kind == OpKind::compute)
        continue;
      const std::uint32_t channel = channel_of(program.rank, op);
      count.resize(expected_.size(), 0);
      ++count[channel];
      slot_[r][i] = channel;
    }
    length.resize(count.size(), 0);
    for (std::size_t c = 0; c < count.size(); ++c)
      length[c] = std::max(length[c], count[c]);
  }
  channel_begin_.assign(length.size() + 1, 0);
  for (std::size_t c = 0; c < length.size(); ++c)
    channel_begin_[c + 1] = channel_begin_[c] + length[c];
  // Then each op's slot: its channel's first, plus its order there among its rank's ops.
  for (std::size_t r = 0; r < plan.ranks.size(); ++r) {
    count.assign(expected_.size(), 0);
    for (std::uint32_t& slot : slot_[r]) {
      if (slot != none)
        slot = channel_begin_[slot] + count[slot]++;
    }
  }
}

std::optional<std::uint32_t> TransactionMatcher::join(std::uint32_t slot, Participant participant) {
  std::uint32_t id = waiting_.find(slot);
  if (id == none) {
    // The channel whose slots include this one.
    const auto channel = std::upper_bound(channel_begin_.begin(), channel_begin_.end(), slot) -
                         channel_begin_.begin() - 1;
    id = allocate();
    transactions_[id].expected = expected_[static_cast<std::size_t>(channel)];
    if (transactions_[id].expected > 1)
      waiting_.insert(slot, id);
  } else if (transactions_[id].participants.size() + 1 == transactions_[id].expected) {
    waiting_.erase(slot);
  }
  Transaction& t = transactions_[id];
  t.participants.push_back(participant);
  if (t.participants.size() < t.expected)
    return std::nullopt;
  std::sort(t.participants.begin(), t.participants.end());
  return id;
}

std::size_t TransactionMatcher::WaitingTable::home(std::uint32_t slot) const {
  // Fibonacci hashing: consecutive slots of a channel spread over the table.
  return static_cast<std::size_t>((std::uint64_t{slot} * 0x9e3779b97f4a7c15ull) >> 32) &
         (entries_.size() - 1);
}

std::uint32_t TransactionMatcher::WaitingTable::find(std::uint32_t slot) const {
  const std::size_t mask = entries_.size() - 1;
  for (std::size_t i = home(slot);; i = (i + 1) & mask) {
    if (entries_[i].slot == slot)
      return entries_[i].transaction;
    if (entries_[i].slot == none)
      return none;
  }
}

void TransactionMatcher::WaitingTable::insert(std::uint32_t slot, std::uint32_t transaction) {
  if (2 * (size_ + 1) > entries_.size())
    grow();
  const std::size_t mask = entries_.size() - 1;
  std::size_t i = home(slot);
  while (entries_[i].slot != none)
    i = (i + 1) & mask;
  entries_[i] = {slot, transaction};
  ++size_;
}

// Backward-shift deletion: the entries after the hole that could sit in it move up, so that no
// probe sequence is broken and no tombstones accumulate.
void TransactionMatcher::WaitingTable::erase(std::uint32_t slot) {
  const std::size_t mask = entries_.size() - 1;
  std::size_t hole = home(slot);
  while (entries_[hole].slot != slot)
    hole = (hole + 1) & mask;
  for (std::size_t next = (hole + 1) & mask; entries_[next].slot != none;
       next = (next + 1) & mask) {
    // The entry at `next` may fill the hole if its home is not cyclically in (hole, next].
    const std::size_t h = home(entries_[next].slot);
    const bool stays = hole <= next ? (hole < h && h <= next) : (hole < h || h <= next);
    if (!stays) {
      entries_[hole] = entries_[next];
      hole = next;
    }
  }
  entries_[hole] = Entry{};
  --size_;
}

void TransactionMatcher::WaitingTable::grow() {
  std::vector<Entry> old = std::move(entries_);
  entries_.assign(old.size() * 2, Entry{});
  size_ = 0;
  for (const Entry& e : old) {
    if (e.slot != none)
      insert(e.slot, e.transaction);
  }
}

std::uint32_t TransactionMatcher::allocate() {
  if (!free_.empty()) {
    const std::uint32_t id = free_.back();
    free_.pop_back();
    return id;
  }
  transactions_.emplace_back();
  return static_cast<std::uint32_t>(transactions_.size() - 1);
}

std::vector<Participant> TransactionMatcher::release(std::uint32_t id) {
  std::vector<Participant> participants = std::move(transactions_[id].participants);
  transactions_[id] = Transaction{};
  free_.push_back(id);
  return participants;
}

}  // namespace scaleplan
