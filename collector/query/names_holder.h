#pragma once

#include <memory>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "common/naming/name_table.h"

namespace synmap::collector {

// Holds the current names table; Set() swaps it (SIGHUP reload) while queries keep using the
// table they took. Owners of a table: this holder and every query running with it.
// Thread-safe.
class NamesHolder {
 public:
  explicit NamesHolder(std::shared_ptr<const common::NameTable> names) : names_(std::move(names)) {}
  NamesHolder(const NamesHolder&) = delete;
  NamesHolder& operator=(const NamesHolder&) = delete;

  // The current table (never null if constructed and Set with non-null tables).
  std::shared_ptr<const common::NameTable> Get() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return names_;
  }
  // Replaces the table; queries already running finish with the old one.
  void Set(std::shared_ptr<const common::NameTable> names) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    names_ = std::move(names);
  }

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const common::NameTable> names_ ABSL_GUARDED_BY(mu_);
};

}  // namespace synmap::collector
