#include "sim/simulate/transaction_matcher.hpp"

#include <algorithm>
#include <utility>

namespace scaleplan {

namespace {
constexpr std::uint64_t group_channel = std::uint64_t{1} << 63;
}  // namespace

TransactionMatcher::TransactionMatcher(const Plan& plan)
    : plan_(plan), listed_members_(plan.groups.size(), 0) {
  std::vector<char> listed(plan.world_size(), 0);
  for (const RankProgram& program : plan.ranks)
    listed[program.rank] = 1;
  for (std::size_t g = 0; g < plan.groups.size(); ++g) {
    for (int member : plan.groups[g].ranks)
      listed_members_[g] += listed[member] ? 1 : 0;
  }
}

TransactionMatcher::Key TransactionMatcher::key_of(std::size_t index, const Op& op,
                                                   std::uint32_t order) const {
  if (op.kind == OpKind::collective)
    return {group_channel | plan_.group_of(index, op), order};
  const bool send = op.kind == OpKind::send;
  const int self = plan_.ranks[index].rank, peer = plan_.peer_of(index, op);
  const auto from = static_cast<std::uint32_t>(send ? self : peer);
  const auto to = static_cast<std::uint32_t>(send ? peer : self);
  return {(std::uint64_t{from} << 32) | to, order};
}

std::vector<std::uint32_t> TransactionMatcher::orders(int rank) const {
  const auto index = static_cast<std::size_t>(rank);
  const std::vector<Op>& ops = plan_.ops_of(index);
  std::vector<std::uint32_t> orders(ops.size(), 0);
  std::vector<std::uint32_t> per_group(plan_.groups.size(), 0);
  // A rank sends to and receives from few peers (its pipeline neighbours): a short list.
  std::vector<std::pair<std::uint64_t, std::uint32_t>> per_pair;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    if (op.kind == OpKind::collective) {
      orders[i] = per_group[plan_.group_of(index, op)]++;
    } else if (op.kind != OpKind::compute) {
      const std::uint64_t channel = key_of(index, op, 0).channel;
      auto known = std::find_if(per_pair.begin(), per_pair.end(),
                                [&](const auto& pair) { return pair.first == channel; });
      if (known == per_pair.end())
        known = per_pair.insert(per_pair.end(), {channel, 0});
      orders[i] = known->second++;
    }
  }
  return orders;
}

std::optional<std::uint32_t> TransactionMatcher::join(int rank, std::uint32_t op,
                                                      std::uint32_t order) {
  const auto index = static_cast<std::size_t>(rank);
  const Op& planned = plan_.ops_of(index)[op];
  const Key key = key_of(index, planned, order);
  std::uint32_t id = waiting_.find(key);
  if (id == none) {
    id = allocate();
    transactions_[id].expected =
        planned.kind == OpKind::collective ? listed_members_[plan_.group_of(index, planned)] : 2;
    if (transactions_[id].expected > 1)
      waiting_.insert(key, id);
  } else if (transactions_[id].participants.size() + 1 == transactions_[id].expected) {
    waiting_.erase(key);
  }
  Transaction& t = transactions_[id];
  t.participants.push_back({rank, op});
  if (t.participants.size() < t.expected)
    return std::nullopt;
  std::sort(t.participants.begin(), t.participants.end());
  return id;
}

std::size_t TransactionMatcher::WaitingTable::home(const Key& key) const {
  // Fibonacci hashing of the channel, plus the order: a channel's next transactions sit side by
  // side, in the cache lines its last ones used.
  const std::uint64_t mixed = (key.channel ^ (key.channel >> 29)) * 0x9e3779b97f4a7c15ull;
  return static_cast<std::size_t>((mixed >> 32) + key.order) & (entries_.size() - 1);
}

std::uint32_t TransactionMatcher::WaitingTable::find(const Key& key) const {
  const std::size_t mask = entries_.size() - 1;
  for (std::size_t i = home(key);; i = (i + 1) & mask) {
    if (entries_[i].transaction == none)
      return none;
    if (entries_[i].key == key)
      return entries_[i].transaction;
  }
}

void TransactionMatcher::WaitingTable::insert(const Key& key, std::uint32_t transaction) {
  if (2 * (size_ + 1) > entries_.size())
    grow();
  const std::size_t mask = entries_.size() - 1;
  std::size_t i = home(key);
  while (entries_[i].transaction != none)
    i = (i + 1) & mask;
  entries_[i] = {key, transaction};
  ++size_;
}

// Backward-shift deletion: the entries after the hole that could sit in it move up, so that no
// probe sequence is broken and no tombstones accumulate.
void TransactionMatcher::WaitingTable::erase(const Key& key) {
  const std::size_t mask = entries_.size() - 1;
  std::size_t hole = home(key);
  while (!(entries_[hole].key == key && entries_[hole].transaction != none))
    hole = (hole + 1) & mask;
  for (std::size_t next = (hole + 1) & mask; entries_[next].transaction != none;
       next = (next + 1) & mask) {
    // The entry at `next` may fill the hole unless its home is cyclically in (hole, next].
    const std::size_t h = home(entries_[next].key);
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
    if (e.transaction != none)
      insert(e.key, e.transaction);
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
