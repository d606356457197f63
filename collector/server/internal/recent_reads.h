#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace synmap::collector::internal {

// Which socket recently read which first bytes (by a hash of them), so that a TLS handshake
// step can be traced to its connection by the bytes it is fed (handshake_peer.cc). Fixed size
// and lock-free: noting a read is one load and one compare-and-swap of a word; so is claiming.
//
// Slot i holds the reads not yet claimed whose hash has low bits i: 30 more bits of the hash (a
// tag), how many such reads there are, their socket, and when the last was noted. Claim() takes
// one read out. Reads of the same bytes by two sockets, both unclaimed, make the slot ambiguous
// (kSeveral): a lookup cannot tell the two apart, so it names neither rather than perhaps the
// wrong one, until every read of those bytes was claimed. TLS handshakes never share their
// first bytes (their random numbers); identical plain-TCP probes at once do. A read that is
// never claimed (its connection closed first) is forgotten once nothing read the same bytes for
// about a minute (kForgetAfterSeconds); a read whose slot another's bytes take is forgotten at
// once (its lookup answers kNone, or names the socket of a later read of the same bytes: that
// needs another read to land in its slot, one of 65,536, and the same bytes from another socket
// before its handshake step, which follows its read within milliseconds).
// Thread-safe. Constant-initialised (usable before main and while the process exits).
class RecentReads {
 public:
  static constexpr int kNone = -1;     // No read of these bytes is known.
  static constexpr int kSeveral = -2;  // Several sockets read these bytes: unknown which.
  // Sockets at or above this are not noted (the word has 20 bits for them).
  static constexpr int kMaxFd = (1 << 20) - 1;
  // Unclaimed reads are forgotten after this much time without another read of their bytes
  // (give or take one time unit: the word keeps time in units of kSecondsPerUnit).
  static constexpr uint64_t kSecondsPerUnit = 16;
  static constexpr uint64_t kForgetAfterSeconds = 4 * kSecondsPerUnit;

  // Notes that socket `fd` read bytes whose prefix hash is `hash`, at `now_seconds` (any
  // monotonic count of seconds).
  void Note(int fd, uint64_t hash, uint64_t now_seconds) {
    if (fd < 0 || fd >= kMaxFd) {
      return;
    }
    std::atomic<uint64_t>& slot = slots_[hash & (kSlots - 1)];
    const uint64_t tag = Tag(hash);
    const uint64_t now = Unit(now_seconds);
    const auto mine = static_cast<uint64_t>(fd);
    uint64_t old = slot.load(std::memory_order_acquire);
    for (;;) {
      uint64_t word = Pack(tag, now, 1, mine);
      if (Live(old, tag, now)) {
        const uint64_t count = Count(old) == kStuck ? kStuck : Count(old) + 1;
        word = Pack(tag, now, count, Socket(old) == mine ? mine : kSeveralSockets);
      }
      if (slot.compare_exchange_weak(old, word, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
        return;
      }
    }
  }

  // Takes one read of bytes of prefix hash `hash` out: returns its socket, kSeveral (sockets
  // that read these bytes are still unclaimed, or were when this one was noted) or kNone.
  int Claim(uint64_t hash, uint64_t now_seconds) {
    std::atomic<uint64_t>& slot = slots_[hash & (kSlots - 1)];
    const uint64_t tag = Tag(hash);
    uint64_t old = slot.load(std::memory_order_acquire);
    for (;;) {
      if (!Live(old, tag, Unit(now_seconds))) {
        return kNone;
      }
      const uint64_t count = Count(old);
      uint64_t word = old;  // A stuck count stays until the reads are forgotten.
      if (count == 1) {
        word = 0;
      } else if (count != kStuck) {
        word = Pack(tag, Time(old), count - 1, Socket(old));
      }
      if (slot.compare_exchange_weak(old, word, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
        return Socket(old) == kSeveralSockets ? kSeveral : static_cast<int>(Socket(old));
      }
    }
  }

 private:
  // A word: tag (30 bits) | time unit (8) | unclaimed reads (6) | socket (20). 0 = empty.
  static constexpr size_t kSlots = 65536;  // 16 bits of the hash pick the slot (512 KiB).
  static constexpr uint64_t kSocketMask = (uint64_t{1} << 20) - 1;
  static constexpr uint64_t kSeveralSockets = kSocketMask;
  static constexpr uint64_t kCountMask = (uint64_t{1} << 6) - 1;
  static constexpr uint64_t kStuck = kCountMask;  // So many reads that the count stopped.
  static constexpr uint64_t kTimeMask = (uint64_t{1} << 8) - 1;

  static uint64_t Tag(uint64_t hash) { return (hash >> 16) & ((uint64_t{1} << 30) - 1); }
  static uint64_t Unit(uint64_t seconds) { return (seconds / kSecondsPerUnit) & kTimeMask; }
  static uint64_t Pack(uint64_t tag, uint64_t time, uint64_t count, uint64_t socket) {
    return tag << 34 | time << 26 | count << 20 | socket;
  }
  static uint64_t Time(uint64_t word) { return (word >> 26) & kTimeMask; }
  static uint64_t Count(uint64_t word) { return (word >> 20) & kCountMask; }
  static uint64_t Socket(uint64_t word) { return word & kSocketMask; }
  // Whether `word` holds unclaimed reads of tag `tag` noted recently enough to count.
  static bool Live(uint64_t word, uint64_t tag, uint64_t now) {
    return Count(word) != 0 && (word >> 34) == tag &&
           ((now - Time(word)) & kTimeMask) < kForgetAfterSeconds / kSecondsPerUnit;
  }

  std::array<std::atomic<uint64_t>, kSlots> slots_{};
};

}  // namespace synmap::collector::internal
