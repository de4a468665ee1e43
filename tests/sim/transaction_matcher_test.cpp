// Matching communication ops into transactions: collectives by their order in the group,
// messages by their order between sender and receiver, whatever order the ops arrive in.
#include "sim/simulate/transaction_matcher.hpp"

#include <gtest/gtest.h>

namespace scaleplan {
namespace {

Op collective(std::uint32_t group) {
  Op op;
  op.kind = OpKind::collective;
  op.stream = Stream::dp_comm;
  op.group = group;
  op.bytes = 1e6;
  return op;
}

Op message(OpKind kind, int peer) {
  Op op;
  op.kind = kind;
  op.stream = kind == OpKind::send ? Stream::pp_send_next : Stream::pp_recv_prev;
  op.peer = peer;
  op.bytes = 1e3;
  return op;
}

// A matcher with the orders it gives each op, joined by rank and op as the scheduler does.
class Matching {
 public:
  explicit Matching(const Plan& plan) : matcher_(plan) {
    for (std::size_t r = 0; r < plan.ranks.size(); ++r)
      orders_.push_back(matcher_.orders(static_cast<int>(r)));
  }
  std::optional<std::uint32_t> join(int rank, std::uint32_t op) {
    return matcher_.join(rank, op, orders_[rank][op]);
  }
  const std::vector<Participant>& participants(std::uint32_t id) const {
    return matcher_.participants(id);
  }
  std::vector<Participant> release(std::uint32_t id) { return matcher_.release(id); }

 private:
  TransactionMatcher matcher_;
  std::vector<std::vector<std::uint32_t>> orders_;
};

// Three ranks: two all-reduces over all three, then rank 0 sends twice to rank 1, which receives
// twice; rank 2 also computes once.
Plan three_ranks() {
  Plan plan;
  plan.add_group({"all", {0, 1, 2}, {}});
  plan.ranks.resize(3);
  for (int r = 0; r < 3; ++r) {
    plan.ranks[r].rank = r;
    plan.ranks[r].device = r;
  }
  plan.ranks[2].ops.push_back(Op{});  // compute op 0 on rank 2
  for (int r = 0; r < 3; ++r) {
    plan.ranks[r].ops.push_back(collective(0));
    plan.ranks[r].ops.push_back(collective(0));
  }
  plan.ranks[0].ops.push_back(message(OpKind::send, 1));  // op 2
  plan.ranks[0].ops.push_back(message(OpKind::send, 1));  // op 3
  plan.ranks[1].ops.push_back(message(OpKind::recv, 0));  // op 2
  plan.ranks[1].ops.push_back(message(OpKind::recv, 0));  // op 3
  return plan;
}

TEST(TransactionMatcher, CollectivesMatchByTheirOrderInTheGroup) {
  const Plan plan = three_ranks();
  Matching matcher(plan);
  // Rank 0 reaches both all-reduces before the others reach any: neither completes.
  EXPECT_EQ(matcher.join(0, 0), std::nullopt);
  EXPECT_EQ(matcher.join(0, 1), std::nullopt);
  // The second all-reduce completes first, with each member's second op (rank 2's is op 2, after
  // its compute op), in rank order although rank 2 came before rank 1.
  EXPECT_EQ(matcher.join(2, 2), std::nullopt);
  const auto second = matcher.join(1, 1);
  ASSERT_TRUE(second);
  const std::vector<Participant> expected{{0, 1}, {1, 1}, {2, 2}};
  ASSERT_EQ(matcher.participants(*second).size(), 3u);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(matcher.participants(*second)[i].rank, expected[i].rank);
    EXPECT_EQ(matcher.participants(*second)[i].op, expected[i].op);
  }
  EXPECT_EQ(matcher.join(1, 0), std::nullopt);
  const auto first = matcher.join(2, 1);
  ASSERT_TRUE(first);
  EXPECT_NE(*first, *second);
  EXPECT_EQ(matcher.participants(*first).front().op, 0u);
}

TEST(TransactionMatcher, MessagesMatchByTheirOrderBetweenSenderAndReceiver) {
  const Plan plan = three_ranks();
  Matching matcher(plan);
  // The receiver's first receive waits for the first send, not the second.
  EXPECT_EQ(matcher.join(1, 2), std::nullopt);
  EXPECT_EQ(matcher.join(0, 3), std::nullopt);
  const auto first = matcher.join(0, 2);
  ASSERT_TRUE(first);
  EXPECT_EQ(matcher.participants(*first)[0].op, 2u);  // the send, rank 0
  EXPECT_EQ(matcher.participants(*first)[1].rank, 1);
  // The second send opened its own transaction when it came; the second receive completes it.
  const auto second = matcher.join(1, 3);
  ASSERT_TRUE(second);
  EXPECT_NE(*second, *first);
  // A released id goes to the next transaction to open: the first all-reduce's.
  const std::uint32_t released = *first;
  EXPECT_EQ(matcher.release(released).size(), 2u);
  EXPECT_EQ(matcher.join(0, 0), std::nullopt);
  EXPECT_EQ(matcher.join(1, 0), std::nullopt);
  EXPECT_EQ(matcher.join(2, 1), std::optional<std::uint32_t>{released});
}

TEST(TransactionMatcher, AGroupWaitsOnlyForItsListedMembers) {
  // One replica of two listed: the group of ranks 0 and 1 spans both replicas (rank 1 is rank
  // 0's copy), so the listed rank 0 completes its collective alone.
  Plan plan;
  plan.replicas = {2, 1};
  plan.add_group({"dp", {0, 1}, {}});
  plan.ranks.resize(1);
  plan.ranks[0].ops.push_back(collective(0));
  Matching matcher(plan);
  const auto alone = matcher.join(0, 0);
  ASSERT_TRUE(alone);
  EXPECT_EQ(matcher.participants(*alone).size(), 1u);
}

TEST(TransactionMatcher, ManyTransactionsWaitAtOnce) {
  // Two ranks, 500 all-reduces: rank 0 reaches them all before rank 1 reaches any, so 500 wait
  // at once (the waiting table grows several times); rank 1 then completes them from the last
  // to the first, and each pairs its op with rank 0's op of the same order.
  constexpr std::uint32_t count = 500;
  Plan plan;
  plan.add_group({"pair", {0, 1}, {}});
  plan.ranks.resize(2);
  for (int r = 0; r < 2; ++r) {
    plan.ranks[r].rank = r;
    plan.ranks[r].device = r;
    plan.ranks[r].ops.assign(count, collective(0));
  }
  Matching matcher(plan);
  for (std::uint32_t i = 0; i < count; ++i)
    ASSERT_EQ(matcher.join(0, i), std::nullopt);
  for (std::uint32_t i = count; i-- > 0;) {
    const auto done = matcher.join(1, i);
    ASSERT_TRUE(done) << i;
    const std::vector<Participant> both = matcher.release(*done);
    ASSERT_EQ(both.size(), 2u);
    EXPECT_EQ(both[0].op, i);
    EXPECT_EQ(both[1].op, i);
  }
}

}  // namespace
}  // namespace scaleplan
