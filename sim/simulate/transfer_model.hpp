// The network models a transaction (one collective, or one message) can cross the network by:
// flows sharing links max-min fairly (FlowTransferModel) or the alpha-beta fast path with its
// port queues (AlphaBetaTransferModel). The simulation picks one per route before the run
// (choose_network_models).
#pragma once

#include <cstdint>
#include <vector>

namespace scaleplan {

// Told when a transaction's data has arrived.
class TransactionDoneHandler {
 public:
  virtual void on_transaction_done(std::uint32_t transaction) = 0;

 protected:
  ~TransactionDoneHandler() = default;
};

class TransferModel {
 public:
  virtual ~TransferModel() = default;
  // Carries transaction `transaction`, whose route is `route` (a CommRoutes id), from now on.
  // Calls TransactionDoneHandler::on_transaction_done once it has arrived: from an engine event,
  // or from within start when the route moves nothing (a collective of one member).
  virtual void start(std::uint32_t transaction, std::uint32_t route) = 0;
  // Transactions started so far.
  virtual std::uint64_t transactions() const = 0;
  // Adds the bytes this model has put on each link (index: LinkId) to `link_bytes`.
  virtual void add_link_bytes(std::vector<double>& link_bytes) const = 0;
};

}  // namespace scaleplan
