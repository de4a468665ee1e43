#include "sim/engine/engine.hpp"

#include <gtest/gtest.h>

namespace scaleplan {
namespace {

struct Recorder final : EventHandler {
  Engine* engine = nullptr;
  std::vector<std::pair<SimTime, std::uint64_t>> seen;
  void on_event(std::uint64_t payload) override {
    seen.emplace_back(engine->now(), payload);
    // An event scheduling another at the same time runs after those already queued for it.
    if (payload == 1)
      engine->schedule_after(0, this, 99);
  }
};

TEST(Engine, OrdersByTimeThenBySchedulingOrder) {
  Engine engine;
  Recorder r;
  r.engine = &engine;
  engine.schedule_at(20, &r, 3);
  engine.schedule_at(10, &r, 1);
  engine.schedule_at(10, &r, 2);
  engine.schedule_at(5, &r, 0);
  EXPECT_EQ(engine.run(), 20);
  const std::vector<std::pair<SimTime, std::uint64_t>> expected{
      {5, 0}, {10, 1}, {10, 2}, {10, 99}, {20, 3}};
  EXPECT_EQ(r.seen, expected);
  EXPECT_EQ(engine.events_processed(), 5u);
}

TEST(Engine, RefusesThePast) {
  Engine engine;
  Recorder r;
  r.engine = &engine;
  engine.schedule_at(10, &r, 0);
  engine.run();
  EXPECT_THROW(engine.schedule_at(5, &r, 0), std::logic_error);
}

TEST(Engine, SameInputSameOrder) {
  auto run = [] {
    Engine engine;
    Recorder r;
    r.engine = &engine;
    for (std::uint64_t i = 0; i < 1000; ++i)
      engine.schedule_at(static_cast<SimTime>((i * 7919) % 97), &r, i);
    engine.run();
    return r.seen;
  };
  EXPECT_EQ(run(), run());
}

// Records when it is asked and, the first time, schedules an event at the same instant and asks
// again, as a model that starts work at the end of an instant does.
struct InstantEnds final : InstantEndHandler {
  Engine* engine = nullptr;
  Recorder* events = nullptr;
  std::vector<SimTime> seen;
  void on_instant_end() override {
    seen.push_back(engine->now());
    if (seen.size() == 1) {
      engine->schedule_after(0, events, 7);
      engine->at_instant_end(this);
    }
  }
};

TEST(Engine, AsksForTheEndOfAnInstantAfterItsLastEvent) {
  Engine engine;
  Recorder r;
  r.engine = &engine;
  InstantEnds ends;
  ends.engine = &engine;
  ends.events = &r;
  struct Asker final : EventHandler {
    Engine* engine = nullptr;
    InstantEndHandler* handler = nullptr;
    void on_event(std::uint64_t) override { engine->at_instant_end(handler); }
  } asker;
  asker.engine = &engine;
  asker.handler = &ends;
  engine.schedule_at(10, &asker, 0);
  engine.schedule_at(10, &r, 1);  // schedules 99 at 10
  engine.schedule_at(10, &r, 2);
  engine.schedule_at(20, &r, 3);
  EXPECT_EQ(engine.run(), 20);
  // Asked at 10 after every event of 10 (1, 2 and the 99 that 1 scheduled), before 20; the event
  // it scheduled at 10 runs before time moves on, and the second request is served after it.
  const std::vector<std::pair<SimTime, std::uint64_t>> expected{
      {10, 1}, {10, 2}, {10, 99}, {10, 7}, {20, 3}};
  EXPECT_EQ(r.seen, expected);
  EXPECT_EQ(ends.seen, (std::vector<SimTime>{10, 10}));
}

TEST(Time, ConversionRoundsUpAndRefusesAbsurdDurations) {
  EXPECT_EQ(to_sim_time(1e-12), 1);
  EXPECT_EQ(to_sim_time(0.4e-12), 1);
  EXPECT_EQ(to_sim_time(0), 0);
  EXPECT_THROW(to_sim_time(-1), std::domain_error);
  EXPECT_THROW(to_sim_time(1e9), std::overflow_error);
}

}  // namespace
}  // namespace scaleplan
