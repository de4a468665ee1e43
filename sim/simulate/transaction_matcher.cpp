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
  open_.assign(channel_begin_.back(), none);
}

std::optional<std::uint32_t> TransactionMatcher::join(int rank, std::uint32_t op) {
  const std::uint32_t slot = slot_[rank][op];
  std::uint32_t& waiting = open_[slot];
  if (waiting == none) {
    // The channel whose slots include this one.
    const auto channel = std::upper_bound(channel_begin_.begin(), channel_begin_.end(), slot) -
                         channel_begin_.begin() - 1;
    waiting = allocate();
    transactions_[waiting].expected = expected_[static_cast<std::size_t>(channel)];
  }
  const std::uint32_t id = waiting;
  Transaction& t = transactions_[id];
  t.participants.push_back({rank, op});
  if (t.participants.size() < t.expected)
    return std::nullopt;
  waiting = none;
  std::sort(t.participants.begin(), t.participants.end());
  return id;
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
