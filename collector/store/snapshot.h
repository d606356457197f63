#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/aggregate/record.h"
#include "common/batch/batch.h"
#include "common/packet/ip_address.h"

namespace synmap::collector {

// One aggregation key: (sensor, client, server, port), ids into StoreSnapshot::sensors and
// StoreSnapshot::ips. Every distinct key gets a dense id for the life of the store.
struct AggregateKey {
  uint32_t sensor = 0;
  uint32_t client = 0;
  uint32_t server = 0;
  uint16_t port = 0;
  friend bool operator==(const AggregateKey&, const AggregateKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const AggregateKey& k) {
    return H::combine(std::move(h), k.sensor, k.client, k.server, k.port);
  }
};

// The aggregate rows of one time bucket [start_ns, start_ns + width_ns), columnar (one entry
// per row in each vector, all the same length) so a scan reads only the columns it needs.
// One row per key; every record of a batch is in the bucket holding the batch's start, so a
// row's first/last seen may run past the bucket's end by up to overhang_ns (a batch that
// straddled the edge). Immutable once published in a snapshot.
struct AggregateBucket {
  int64_t start_ns = 0;
  int64_t width_ns = 0;
  int64_t overhang_ns = 0;    // Latest batch end past start_ns + width_ns; 0 if none.
  std::vector<uint32_t> key;  // Index into *StoreSnapshot::keys.
  std::vector<uint64_t> packets;
  std::vector<uint64_t> connections;
  // Of `connections`, those another sensor saw first (the same handshake fingerprint within the
  // overlap tolerance): merged answers count connections - duplicates; per-sensor answers
  // count connections. Always <= connections.
  std::vector<uint64_t> duplicates;
  std::vector<int64_t> first_seen_ns;
  std::vector<int64_t> last_seen_ns;
  // Key id -> row, for merging; used by the store only, and kept only while the bucket is being
  // written (empty once it settles, rebuilt before it changes again).
  absl::flat_hash_map<uint32_t, uint32_t> index;

  size_t size() const { return key.size(); }
};

// What the store knows about one sensor (the `synmap sensors` row). Plain data.
struct SensorState {
  std::string name;  // Certificate CN.
  // The site its data is filed under ("" = none): from its last Hello (its certificate's site,
  // else its --site). Applies to all of the sensor's rows, old ones included.
  std::string site;
  std::string peer_address;           // Last peer address seen, "" if never.
  bool connected = false;             // An ingest stream is open now (not persisted).
  common::SensorInfo hello;           // Last Hello.
  int64_t hello_ns = 0;               // Collector time of that Hello; 0 if none.
  int64_t last_commit_ns = 0;         // Collector time of the last committed batch.
  int64_t last_batch_end_ns = 0;      // Capture-time end of that batch.
  uint64_t last_seq = 0;              // Highest committed seq; 0 if none.
  uint64_t batches = 0;               // Batches committed in total.
  uint64_t records = 0;               // Records in them.
  common::CaptureStats totals;        // Sum of every committed batch's stats.
  common::SensorHealth health;        // Latest health, from a batch, heartbeat or hello.
  common::SensorHealth batch_health;  // Health carried by the last committed batch.
  int64_t last_heartbeat_ns = 0;      // Collector time of the last heartbeat; 0 if none.
};

// Another sensor whose handshakes a sensor also saw, and the clock offset between the two
// measured from those handshakes (docs/counting.md, "Overlapping sensors").
struct OverlapPeer {
  uint32_t peer = 0;              // Index into StoreSnapshot::sensors.
  uint64_t matches = 0;           // Handshakes both saw (since the collector started).
  int64_t median_offset_ns = 0;   // Median of (this sensor's capture time - the peer's) over
                                  // the last 255 matches: the skew of this sensor's clock.
  int64_t max_abs_offset_ns = 0;  // Largest |offset| over those matches.
  friend bool operator==(const OverlapPeer&, const OverlapPeer&) = default;
};

// Coverage facts of one sensor over a time window: sums over its batches that overlap it.
struct SensorWindowCoverage {
  uint32_t sensor = 0;  // Index into StoreSnapshot::sensors.
  uint64_t batches = 0;
  uint64_t last_seq = 0;  // Newest (highest seq) batch overlapping the window.
  int64_t last_batch_end_ns = 0;
  int64_t last_commit_ns = 0;
  int64_t first_batch_start_ns = 0;    // Earliest start among those batches.
  common::CaptureStats stats;          // Sums of per-batch stats.
  uint64_t spool_batches_dropped = 0;  // Sums of per-batch increases of the spool counters.
  uint64_t spool_records_dropped = 0;
};

// Whether the store's database is answering, as of a snapshot. While it is not, commits are
// refused (sensors keep their batches) and, with a database shared by several collectors,
// batches committed at the others since then are missing from this collector's answers.
struct StoreHealth {
  std::string backend;               // "sqlite" or "postgresql".
  bool available = true;             // The latest database operation succeeded.
  int64_t unavailable_since_ns = 0;  // First failure of the current outage; 0 when available.
  std::string problem;               // The latest failure's message, while unavailable.
  // Shared databases only: answers hold every batch committed at any collector before this
  // collector time. 0 when the store has one writer (its answers are always current).
  int64_t synced_ns = 0;
};

// A consistent, immutable view of the store at one instant: every batch committed before it
// was taken, and nothing after. Queries read it without locks while commits continue.
// Immutable, so thread-safe; shares bucket memory with the store (copy-on-write).
struct StoreSnapshot {
  // The requested window widened to bucket edges (0 = open), and the coarsest resolution of
  // the buckets in it (width plus overhang); the answer is exact for this window.
  int64_t answered_since_ns = 0;
  int64_t answered_until_ns = 0;
  int64_t resolution_ns = 0;
  // The buckets asked for (see SnapshotBuckets), sorted by start_ns.
  std::vector<std::shared_ptr<const AggregateBucket>> buckets;
  // Earliest bucket start and latest bucket end over ALL stored buckets (0 if none).
  int64_t stored_since_ns = 0;
  int64_t stored_until_ns = 0;
  // Key dictionary: id -> key. Holds at least every key id used by `buckets`.
  std::shared_ptr<const std::vector<AggregateKey>> keys;
  // Address dictionary: id -> address. Holds every address id used by `keys`.
  std::shared_ptr<const std::vector<common::IpAddress>> ips;
  // Every known sensor, index = sensor id.
  std::vector<SensorState> sensors;
  // Sensors with a batch overlapping the answered window, in sensor id order.
  std::vector<SensorWindowCoverage> coverage;
  // Per sensor (index = sensor id, may be shorter than `sensors`): the other sensors whose
  // handshakes it also saw, with the measured clock offsets.
  std::vector<std::vector<OverlapPeer>> overlap;
  // Whether merged answers deduplicate handshakes across sensors, and the tolerance (window
  // plus skew tolerance) within which two sightings are one handshake.
  bool overlap_enabled = false;
  int64_t overlap_tolerance_ns = 0;
  // Sightings counted whole since the store opened because what they could match had been
  // forgotten (AggregateIndex::overlap_late()).
  uint64_t overlap_late = 0;
  // The database's state when the snapshot was taken.
  StoreHealth store;
};

}  // namespace synmap::collector
