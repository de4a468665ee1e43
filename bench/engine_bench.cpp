// Events per second of the discrete-event Engine alone: handlers that do nothing but schedule
// their next event, so the figure is the queue and dispatch cost the simulator pays per event.
#include <benchmark/benchmark.h>

#include <vector>

#include "sim/engine/engine.hpp"

namespace scaleplan {
namespace {

// Reschedules itself a fixed, handler-specific delay later until the budget of events is spent.
class Ticker final : public EventHandler {
 public:
  Ticker(Engine& engine, SimTime period, std::uint64_t* budget)
      : engine_(&engine), period_(period), budget_(budget) {}
  void on_event(std::uint64_t payload) override {
    if (*budget_ == 0)
      return;
    --*budget_;
    engine_->schedule_after(period_, this, payload + 1);
  }

 private:
  Engine* engine_;
  SimTime period_;
  std::uint64_t* budget_;
};

// Arg: events pending in the queue at any time (the heap's size, so its depth).
void BM_EngineEvents(benchmark::State& state) {
  const auto pending = static_cast<std::size_t>(state.range(0));
  constexpr std::uint64_t events_per_run = 1 << 20;
  std::uint64_t events = 0;
  for (auto _ : state) {
    Engine engine;
    std::uint64_t budget = events_per_run;
    std::vector<Ticker> tickers;
    tickers.reserve(pending);
    for (std::size_t i = 0; i < pending; ++i) {
      // Periods 1000..1999 ps interleave the handlers so the heap really reorders.
      tickers.emplace_back(engine, static_cast<SimTime>(1000 + (i * 7919) % 1000), &budget);
      engine.schedule_at(static_cast<SimTime>(i), &tickers.back(), 0);
    }
    engine.run();
    events += engine.events_processed();
    benchmark::DoNotOptimize(engine.now());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(events));
  state.counters["events_per_s"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EngineEvents)->Arg(16)->Arg(1024)->Arg(65536)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace scaleplan

BENCHMARK_MAIN();
