#pragma once

// Waiting in tests for something a background thread or another process does that offers no
// event to wait on (a counter, a file, what a server presents).

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace synmap::testing {

// Polls `done` every `every` of real time until it holds (true) or `limit` has passed (false).
template <typename Predicate>
bool Eventually(Predicate done, absl::Duration limit = absl::Seconds(20),
                absl::Duration every = absl::Milliseconds(20)) {
  const absl::Time deadline = absl::Now() + limit;
  while (!done()) {
    if (absl::Now() > deadline) {
      return false;
    }
    absl::SleepFor(every);
  }
  return true;
}

}  // namespace synmap::testing
