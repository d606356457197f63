#pragma once

// Handshake fingerprints: what a sensor sends with its records so that the collector can count
// a handshake seen by several sensors once (docs/counting.md, "Overlapping sensors").

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "common/aggregate/record.h"
#include "common/packet/synack_event.h"

namespace synmap::common {

// The fingerprint of a handshake within its (client, server, server port) key: the low 32 bits
// of a bijective 64-bit mix (MurmurHash3's finaliser) of the client port and the server's ISN.
// The same SYN/ACK gives the same fingerprint at every capture point and in every process.
// Two distinct handshakes of one key share a fingerprint with probability 2^-32.
uint32_t HandshakeFingerprint(uint16_t client_port, uint32_t isn);

// Collects the handshakes a window counted as connections and hands them out in the order of
// the window's records (common::Batch::handshakes). Thread-compatible. About 56 bytes per
// handshake until Take().
class HandshakeRecorder {
 public:
  // Notes `event`, a SYN/ACK that SynAckTable::Add() counted as a new connection.
  void Add(const SynAckEvent& event);

  // The handshakes noted since the last call, in the order of `records` (sorted by key, as
  // SynAckTable::TakeRecords() gives them; each record's by capture time), offsets in whole
  // milliseconds after `start_ns`. Forgets them. Returns an empty vector when they do not
  // match the records' connections one for one, when one lies before `start_ns`, or when
  // there are more than kMaxHandshakesPerBatch (the batch then goes without fingerprints).
  std::vector<Handshake> Take(absl::Span<const Record> records, int64_t start_ns);

  size_t size() const { return pending_.size(); }

 private:
  struct Pending {
    RecordKey key;
    int64_t timestamp_ns = 0;
    uint32_t fingerprint = 0;
  };
  std::vector<Pending> pending_;
};

}  // namespace synmap::common
