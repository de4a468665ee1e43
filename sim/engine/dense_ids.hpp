// Dense numbers for sparse 64-bit keys: the first key seen is 0, the next new one 1, and so on,
// so that per-key state lives in a plain vector. Open addressing with linear probing in a table
// at most half full, whose slots hold the keys inline: a lookup touches one or two cache lines,
// where std::unordered_map follows a pointer to a node per key (a cluster of 131,072 devices has
// hundreds of thousands of ports). Expected O(1) per lookup; the numbers depend only on the order
// of first sight, so they are the same on every run.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace scaleplan {

class DenseIds {
 public:
  // The key's number, and whether it was new (then it is size() - 1).
  std::pair<std::uint32_t, bool> insert(std::uint64_t key) {
    if (2 * (size_ + 1) > slots_.size())
      grow();
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = home(key, mask);; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (slot.id == empty) {
        slot = {key, static_cast<std::uint32_t>(size_)};
        ++size_;
        return {slot.id, true};
      }
      if (slot.key == key)
        return {slot.id, false};
    }
  }
  std::size_t size() const { return size_; }

 private:
  static constexpr std::uint32_t empty = UINT32_MAX;
  struct Slot {
    std::uint64_t key = 0;
    std::uint32_t id = empty;
  };
  // Fibonacci hashing: keys that differ in a few bits (a port's kind, node and index) spread.
  static std::size_t home(std::uint64_t key, std::size_t mask) {
    return static_cast<std::size_t>(((key ^ (key >> 31)) * 0x9e3779b97f4a7c15ull) >> 20) & mask;
  }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});
    const std::size_t mask = slots_.size() - 1;
    for (const Slot& slot : old) {
      if (slot.id == empty)
        continue;
      std::size_t i = home(slot.key, mask);
      while (slots_[i].id != empty)
        i = (i + 1) & mask;
      slots_[i] = slot;
    }
  }

  std::vector<Slot> slots_;
  std::size_t size_ = 0;
};

}  // namespace scaleplan
