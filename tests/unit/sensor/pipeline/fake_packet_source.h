#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "sensor/capture/packet_source.h"

namespace synmap::sensor::testing {

// A frame for FakePacketSource: bytes plus capture time.
struct FakeFrame {
  std::vector<uint8_t> bytes;
  int64_t timestamp_ns = 0;
};

// A scripted PacketSource. The test queues steps (a burst of frames, a read timeout, the
// end); each Dispatch() call blocks until a step is queued, then plays exactly one.
// WaitIdle() returns once every queued step was played and the capture thread is back in
// Dispatch(), i.e. the pipeline has finished its work after the last step. Thread-safe.
class FakePacketSource final : public PacketSource {
 public:
  FakePacketSource(std::string name, bool live, int link_type = 1)
      : name_(std::move(name)), live_(live), link_type_(link_type) {}

  const std::string& name() const override { return name_; }
  bool is_live() const override { return live_; }
  const std::string& filter() const override { return filter_; }

  void PushFrames(std::vector<FakeFrame> frames) {
    absl::MutexLock lock(&mu_);
    steps_.push_back(Step{Step::kFrames, std::move(frames)});
  }
  void PushTimeout() {
    absl::MutexLock lock(&mu_);
    steps_.push_back(Step{Step::kTimeout, {}});
  }
  void PushEnd() {
    absl::MutexLock lock(&mu_);
    steps_.push_back(Step{Step::kEnd, {}});
  }
  void SetDrops(DropCounters drops) {
    absl::MutexLock lock(&mu_);
    drops_ = drops;
  }
  // True once every step was played and the capture thread waits for the next one (or the
  // source ended). False if that did not happen within `timeout`.
  bool WaitIdle(absl::Duration timeout = absl::Seconds(30)) {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(
                                    +[](FakePacketSource* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
                                      return s->steps_.empty() && (s->waiting_ || s->ended_);
                                    },
                                    this),
                                timeout);
  }

  absl::StatusOr<size_t> Dispatch(PacketHandler handler) override {
    Step step;
    {
      absl::MutexLock lock(&mu_);
      waiting_ = true;
      mu_.Await(absl::Condition(
          +[](FakePacketSource* s)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) { return !s->steps_.empty() || s->broken_; },
          this));
      waiting_ = false;
      // Like a live capture draining its buffer, queued steps still play after Break().
      if (steps_.empty()) {
        return absl::CancelledError("fake source broken");
      }
      step = std::move(steps_.front());
      steps_.pop_front();
      if (step.kind == Step::kEnd) {
        ended_ = true;
        return absl::OutOfRangeError("fake source ended");
      }
    }
    for (const FakeFrame& frame : step.frames) {
      CapturedPacket packet;
      packet.link_type = link_type_;
      packet.timestamp_ns = frame.timestamp_ns;
      packet.data = frame.bytes.data();
      packet.caplen = static_cast<uint32_t>(frame.bytes.size());
      packet.wire_length = packet.caplen;
      handler(packet);
    }
    return step.frames.size();
  }

  absl::StatusOr<DropCounters> Drops() override {
    absl::MutexLock lock(&mu_);
    return drops_;
  }

  void Break() override {
    absl::MutexLock lock(&mu_);
    broken_ = true;
  }

 private:
  struct Step {
    enum Kind { kFrames, kTimeout, kEnd } kind = kTimeout;
    std::vector<FakeFrame> frames;
  };

  const std::string name_;
  const bool live_;
  const int link_type_;
  const std::string filter_;
  absl::Mutex mu_;
  std::deque<Step> steps_ ABSL_GUARDED_BY(mu_);
  DropCounters drops_ ABSL_GUARDED_BY(mu_);
  bool waiting_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace synmap::sensor::testing
